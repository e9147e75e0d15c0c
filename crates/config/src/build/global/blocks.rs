//! Builders of `track_group`, `garp_group`, `linkbeat_interfaces`, `interface_up_down_delays`
//! and `bfd_instance`.

use std::time::Duration;

use super::{flag, no_block, opt_bool};
use crate::build::Cx;
use crate::build::cx::parse_secs;
use crate::model::global::*;
use crate::tree::Node;

const TRACK_GROUP_KEYWORDS: &[&str] = &["group"];
const GARP_GROUP_KEYWORDS: &[&str] = &["garp_interval", "gna_interval", "interface", "interfaces"];
const BFD_KEYWORDS: &[&str] = &[
    "source_ip",
    "neighbor_ip",
    "neighbour_ip",
    "min_rx",
    "min_tx",
    "idle_tx",
    "multiplier",
    "passive",
    "ttl",
    "hoplimit",
    "max_hops",
    "multihop",
    "weight",
    "vrrp",
    "checker",
];
/// keepalived's limit on BFD instance names (BFD_INAME_MAX - 1).
const MAX_BFD_NAME: usize = 31;

/// `track_group NAME { group { INSTANCE ... } }`.
pub fn track_group(cx: &mut Cx, node: &Node, out: &mut GlobalConfig) {
    let Some(children) = cx.block(node) else {
        return;
    };
    if node.args.len() != 1 {
        cx.error(
            node.keyword.loc,
            "`track_group` needs exactly one name; group skipped",
        );
        return;
    }
    let Some(name) = node.args.first() else {
        return;
    };
    if out.track_group(&name.text).is_some() {
        cx.error(
            name.loc,
            format!("track_group `{}` already defined; skipped", name.text),
        );
        return;
    }
    let mut group: Option<Vec<String>> = None;
    for child in children {
        match child.name() {
            "group" => {
                cx.mark("track_group", child);
                if group.is_some() {
                    cx.error(
                        child.keyword.loc,
                        format!("`group` already specified for track_group `{}`", name.text),
                    );
                    continue;
                }
                let Some(members) = cx.block(child) else {
                    continue;
                };
                cx.at_most(child, 0);
                let names: Vec<String> = members
                    .iter()
                    .flat_map(|m| m.words().map(|t| t.text.clone()))
                    .collect();
                if names.is_empty() {
                    cx.error(
                        child.keyword.loc,
                        format!("track_group `{}` has an empty `group` block", name.text),
                    );
                } else {
                    group = Some(names);
                }
            }
            _ => cx.unknown(child, "track_group", TRACK_GROUP_KEYWORDS),
        }
    }
    match group {
        Some(instances) => out.track_groups.push(TrackGroup {
            name: name.text.clone(),
            instances,
            loc: node.keyword.loc,
        }),
        None => cx.error(
            node.keyword.loc,
            format!("track_group `{}` has no members; removed", name.text),
        ),
    }
}

/// `garp_group { garp_interval S gna_interval S interface IF | interfaces { IF ... } }`.
pub fn garp_group(cx: &mut Cx, node: &Node, out: &mut GlobalConfig) {
    let Some(children) = cx.block(node) else {
        return;
    };
    cx.at_most(node, 0);
    let mut g = GarpGroup {
        garp_interval: None,
        gna_interval: None,
        interfaces: Vec::new(),
        aggregate: false,
        loc: node.keyword.loc,
    };
    for child in children {
        let name = child.name();
        match name {
            "garp_interval" | "gna_interval" => {
                no_block(cx, child);
                cx.at_most(child, 1);
                let what = format!("garp_group {name}");
                if let Some(tok) = cx.arg(child, 0) {
                    // keepalived's limit: INT_MAX micro-seconds.
                    if let Some(d) = cx.secs_token(&what, tok, 0.0, 2147.483647) {
                        if d >= Duration::from_secs(1) {
                            cx.warning(
                                tok.loc,
                                format!("`{name}` is very large ({} s)", d.as_secs_f64()),
                            );
                        }
                        if name == "garp_interval" {
                            g.garp_interval = Some(d);
                        } else {
                            g.gna_interval = Some(d);
                        }
                    }
                }
            }
            "interface" => {
                no_block(cx, child);
                if let Some(tok) = cx.arg(child, 0) {
                    cx.at_most(child, 1);
                    add_garp_interface(cx, out, &mut g, tok);
                }
            }
            "interfaces" => {
                let Some(list) = cx.block(child) else {
                    cx.mark("garp_group", child);
                    continue;
                };
                cx.at_most(child, 0);
                let words: Vec<_> = list.iter().flat_map(|m| m.words()).collect();
                if words.is_empty() {
                    cx.error(child.keyword.loc, "empty garp_group `interfaces` block");
                }
                g.aggregate = true;
                for tok in words {
                    add_garp_interface(cx, out, &mut g, tok);
                }
            }
            _ => {
                cx.unknown(child, "garp_group", GARP_GROUP_KEYWORDS);
                continue;
            }
        }
        cx.mark("garp_group", child);
    }
    if g.garp_interval.is_none() && g.gna_interval.is_none() {
        cx.error(
            node.keyword.loc,
            "garp_group has no `garp_interval` or `gna_interval`; removed",
        );
        return;
    }
    out.garp_groups.push(g);
}

fn add_garp_interface(
    cx: &mut Cx,
    out: &GlobalConfig,
    g: &mut GarpGroup,
    tok: &crate::tree::Token,
) {
    let taken = out
        .garp_groups
        .iter()
        .chain(std::iter::once(&*g))
        .flat_map(|x| &x.interfaces)
        .any(|i| i.name == tok.text);
    if taken {
        cx.error(
            tok.loc,
            format!(
                "garp_group already specified for interface `{}`; ignored",
                tok.text
            ),
        );
        return;
    }
    g.interfaces.push(GarpGroupInterface {
        name: tok.text.clone(),
        loc: tok.loc,
    });
}

/// `linkbeat_interfaces { IFNAME [MII|ETHTOOL|IOCTL] ... }`.
pub fn linkbeat_interfaces(cx: &mut Cx, node: &Node, out: &mut GlobalConfig) {
    let Some(children) = cx.block(node) else {
        return;
    };
    cx.at_most(node, 0);
    for child in children {
        no_block(cx, child);
        let mut kind = LinkbeatType::Auto;
        if let Some(tok) = child.args.first() {
            let table = [
                ("MII", LinkbeatType::Mii),
                ("ETHTOOL", LinkbeatType::Ethtool),
                ("IOCTL", LinkbeatType::Ioctl),
            ];
            match cx.choice_token("linkbeat_interfaces", tok, &table) {
                Some(k) => kind = k,
                None => continue,
            }
            if let Some(extra) = child.args.get(1) {
                cx.error(
                    extra.loc,
                    format!("extra word `{}` in linkbeat interface", extra.text),
                );
            }
        }
        out.linkbeat_interfaces.push(LinkbeatInterface {
            interface: child.name().to_owned(),
            kind,
            loc: child.keyword.loc,
        });
    }
}

/// `interface_up_down_delays { IFNAME DOWN [UP] ... }`.
pub fn interface_up_down_delays(cx: &mut Cx, node: &Node, out: &mut GlobalConfig) {
    let Some(children) = cx.block(node) else {
        return;
    };
    cx.at_most(node, 0);
    for child in children {
        no_block(cx, child);
        let what = format!("{} up/down delay", child.name());
        let Some(down_tok) = child.args.first() else {
            cx.warning(
                child.keyword.loc,
                format!("no delays given for `{}`; ignored", child.name()),
            );
            continue;
        };
        if let Some(extra) = child.args.get(2) {
            cx.warning(
                extra.loc,
                format!(
                    "too many delays for `{}`; `{}` ignored",
                    child.name(),
                    extra.text
                ),
            );
        }
        let Some(down) = cx.secs_token(&what, down_tok, 0.0, 255.0) else {
            continue;
        };
        let up = match child.args.get(1) {
            None => Duration::ZERO,
            Some(tok) => match cx.secs_token(&what, tok, 0.0, 255.0) {
                Some(d) => d,
                None => continue,
            },
        };
        out.interface_up_down_delays.push(InterfaceUpDownDelay {
            interface: child.name().to_owned(),
            down,
            up,
            loc: child.keyword.loc,
        });
    }
}

/// `bfd_instance NAME { ... }`.
pub fn bfd_instance(cx: &mut Cx, node: &Node, out: &mut GlobalConfig) {
    let Some(children) = cx.block(node) else {
        return;
    };
    let Some(name_tok) = cx.arg(node, 0) else {
        return;
    };
    cx.at_most(node, 1);
    let name = name_tok.text.clone();
    if name.chars().count() > MAX_BFD_NAME {
        cx.error(
            name_tok.loc,
            format!("BFD instance name `{name}` is longer than {MAX_BFD_NAME} characters; skipped"),
        );
        return;
    }
    if out.bfd_instance(&name).is_some() {
        cx.error(
            name_tok.loc,
            format!("BFD instance `{name}` already defined; skipped"),
        );
        return;
    }
    let mut neighbor = None;
    let mut source = None;
    let mut b = BfdInstance {
        name: name.clone(),
        neighbor_ip: std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        source_ip: None,
        min_rx: Duration::from_millis(10),
        min_tx: Duration::from_millis(10),
        idle_tx: Duration::from_millis(1000),
        multiplier: 5,
        passive: false,
        ttl: 0,
        max_hops: 0,
        multihop: false,
        weight: 0,
        weight_reverse: false,
        notify_vrrp: false,
        notify_checker: false,
        loc: node.keyword.loc,
    };
    let mut ttl = None;
    let mut bad_neighbor = false;
    for child in children {
        let kw = child.name();
        match kw {
            "neighbor_ip" | "neighbour_ip" | "source_ip" => {
                no_block(cx, child);
                cx.at_most(child, 1);
                match cx.ip(child, 0) {
                    Some(ip) if kw == "source_ip" => source = Some((ip, child.args_loc())),
                    Some(ip) => neighbor = Some((ip, child.args_loc())),
                    None if kw != "source_ip" => bad_neighbor = true,
                    None => {}
                }
            }
            "min_rx" | "min_tx" | "idle_tx" => {
                no_block(cx, child);
                cx.at_most(child, 1);
                let (min_ms, slot) = match kw {
                    "min_rx" => (1.0, &mut b.min_rx),
                    "min_tx" => (1.0, &mut b.min_tx),
                    _ => (1000.0, &mut b.idle_tx),
                };
                // Milliseconds with micro-second resolution: read as seconds, then scale.
                if let Some(tok) = cx.arg(child, 0) {
                    let max_ms = f64::from(u32::MAX / 1000);
                    match parse_secs(&tok.text) {
                        Some(ms) if ms.as_secs_f64() >= min_ms && ms.as_secs_f64() <= max_ms => {
                            // Parsed as if seconds: scale down to milliseconds.
                            *slot = Duration::from_nanos(
                                u64::try_from(ms.as_micros()).unwrap_or(u64::MAX),
                            );
                            let sensible = if kw == "idle_tx" { 10_000.0 } else { 1000.0 };
                            if ms.as_secs_f64() > sensible {
                                cx.warning(tok.loc, format!("`{kw}` {} ms is larger than the sensible maximum {sensible} ms", tok.text));
                            }
                        }
                        Some(_) => cx.error(
                            tok.loc,
                            format!(
                                "`{kw}` must be between {min_ms} and {max_ms} ms, got {}",
                                tok.text
                            ),
                        ),
                        None => cx.error(
                            tok.loc,
                            format!("`{kw}` expects a time in milliseconds, got `{}`", tok.text),
                        ),
                    }
                }
            }
            "multiplier" => {
                no_block(cx, child);
                cx.at_most(child, 1);
                if let Some(v) = cx.int::<u8>(child, 0, 1..=255) {
                    b.multiplier = v;
                }
            }
            "passive" => b.passive = flag(cx, child),
            "ttl" | "hoplimit" => {
                no_block(cx, child);
                cx.at_most(child, 1);
                if let Some(v) = cx.int::<u8>(child, 0, 1..=255) {
                    ttl = Some(v);
                }
            }
            "max_hops" => {
                no_block(cx, child);
                cx.at_most(child, 1);
                if let Some(v) = cx.int::<i16>(child, 0, -1..=255) {
                    b.max_hops = v;
                }
            }
            "multihop" => {
                if let Some(v) = opt_bool(cx, child) {
                    b.multihop = v;
                }
            }
            "weight" => {
                no_block(cx, child);
                cx.at_most(child, 2);
                if let Some(v) = cx.int::<i32>(child, 0, -253..=253) {
                    b.weight = v;
                }
                if let Some(tok) = child.args.get(1) {
                    if tok.text == "reverse" {
                        b.weight_reverse = true;
                    } else {
                        cx.error(
                            tok.loc,
                            format!(
                                "unknown BFD weight option `{}` (expected reverse)",
                                tok.text
                            ),
                        );
                    }
                }
            }
            "vrrp" => b.notify_vrrp = flag(cx, child),
            "checker" => b.notify_checker = flag(cx, child),
            _ => {
                cx.unknown(child, "bfd_instance", BFD_KEYWORDS);
                continue;
            }
        }
        cx.mark("bfd_instance", child);
    }
    if bad_neighbor {
        cx.error(
            node.keyword.loc,
            format!("BFD instance `{name}` has a malformed neighbor address; instance ignored"),
        );
        return;
    }
    let Some((nbr, _)) = neighbor else {
        cx.error(
            node.keyword.loc,
            format!("BFD instance `{name}` has no `neighbor_ip`; instance disabled"),
        );
        return;
    };
    b.neighbor_ip = nbr;
    if let Some((src, loc)) = source {
        if src.is_ipv4() != nbr.is_ipv4() {
            cx.error(loc, format!("BFD instance `{name}`: source {src} and neighbor {nbr} are not of the same family; instance disabled"));
            return;
        }
        b.source_ip = Some(src);
    }
    if out
        .bfd_instances
        .iter()
        .any(|o| o.neighbor_ip == b.neighbor_ip && o.source_ip == b.source_ip)
    {
        cx.error(node.keyword.loc, format!("BFD instance `{name}` duplicates the neighbor/source address of another instance; ignored"));
        return;
    }
    b.ttl = ttl.unwrap_or(if nbr.is_ipv4() { 255 } else { 64 });
    if b.max_hops > i16::from(b.ttl) {
        cx.error(
            node.keyword.loc,
            format!(
                "BFD instance `{name}`: max_hops exceeds ttl/hoplimit; using {}",
                b.ttl
            ),
        );
        b.max_hops = i16::from(b.ttl);
    }
    if !b.notify_vrrp && !b.notify_checker {
        b.notify_vrrp = true;
        b.notify_checker = true;
    }
    out.bfd_instances.push(b);
}
