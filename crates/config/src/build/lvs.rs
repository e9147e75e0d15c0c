//! Builders for the lvs part of the configuration: `SSL`, `virtual_server_group`,
//! `virtual_server` (in [`vs`]) and health checkers (in [`checker`]).

mod checker;
mod hex;
mod http;
mod resolve;
mod vs;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::Cx;
use crate::model::Config;
use crate::model::lvs::*;
use crate::tree::{Node, Token};

/// Top-level keywords this part owns.
pub const TOP_KEYWORDS: &[&str] = &["SSL", "virtual_server_group", "virtual_server"];

const SSL_KEYWORDS: &[&str] = &["password", "ca", "certificate", "key"];

/// Builds a top-level statement if it belongs to this part; returns false otherwise.
pub fn build_top(cx: &mut Cx, node: &Node, out: &mut LvsConfig) -> bool {
    match node.name() {
        "SSL" => build_ssl(cx, node, out),
        "virtual_server_group" => {
            if let Some(g) = build_vsg(cx, node) {
                out.virtual_server_groups.push(g);
            }
        }
        "virtual_server" => {
            if let Some(v) = vs::build_vs(cx, node) {
                out.virtual_servers.push(v);
            }
        }
        _ => return false,
    }
    true
}

fn build_ssl(cx: &mut Cx, node: &Node, out: &mut LvsConfig) {
    if out.ssl.is_some() {
        cx.error(node.loc(), "SSL context already specified - replacing");
    }
    let mut ssl = SslConfig {
        loc: node.loc(),
        ..Default::default()
    };
    for child in cx.block(node).unwrap_or(&[]) {
        let slot = match child.name() {
            "password" => &mut ssl.password,
            "ca" => &mut ssl.ca,
            "certificate" => &mut ssl.certificate,
            "key" => &mut ssl.key,
            _ => {
                cx.unknown(child, "SSL", SSL_KEYWORDS);
                continue;
            }
        };
        cx.mark("SSL", child);
        let Some(value) = cx.string(child) else {
            continue;
        };
        if slot.is_some() {
            cx.error(
                child.loc(),
                format!("SSL {} already specified - replacing", child.name()),
            );
        }
        *slot = Some(value);
    }
    out.ssl = Some(ssl);
}

fn build_vsg(cx: &mut Cx, node: &Node) -> Option<VirtualServerGroup> {
    let name = cx.string(node)?;
    cx.at_most(node, 1);
    let mut group = VirtualServerGroup {
        name,
        entries: Vec::new(),
        loc: node.loc(),
    };
    let (mut v4, mut v6, mut fwmark_no_family) = (false, false, false);
    for entry in cx.block(node).unwrap_or(&[]) {
        if entry.name() == "fwmark" {
            let Some(mark) = cx.int(entry, 0, 0..=u32::MAX) else {
                continue;
            };
            let family = match entry.args.get(1) {
                None => {
                    fwmark_no_family = true;
                    None
                }
                Some(t) => match cx.choice_token(
                    "fwmark",
                    t,
                    &[("inet", IpFamily::Inet), ("inet6", IpFamily::Inet6)],
                ) {
                    Some(f) => {
                        v4 |= f == IpFamily::Inet;
                        v6 |= f == IpFamily::Inet6;
                        Some(f)
                    }
                    None => continue,
                },
            };
            cx.at_most(entry, 2);
            group.entries.push(VsgEntry::Fwmark { mark, family });
            continue;
        }
        let port = match entry.args.first() {
            Some(t) => match cx.int_token::<u16>("virtual_server_group port", t, 0..=65535) {
                Some(p) => p,
                None => continue,
            },
            None => 0,
        };
        cx.at_most(entry, 1);
        if entry.block.is_some() {
            cx.error(
                entry.loc(),
                format!("`{}` does not take a block", entry.name()),
            );
        }
        let Some((first, last)) = parse_range(cx, &entry.keyword) else {
            continue;
        };
        v4 |= first.is_ipv4();
        v6 |= first.is_ipv6();
        group.entries.push(VsgEntry::Range { first, last, port });
    }
    if group.entries.is_empty() {
        cx.error(
            node.loc(),
            format!(
                "virtual server group {} has no entries - removing",
                group.name
            ),
        );
        return None;
    }
    if v4 && v6 && fwmark_no_family {
        cx.error(
            node.loc(),
            format!("virtual server group {} cannot have IPv4, IPv6 and fwmark without family - removing", group.name),
        );
        return None;
    }
    Some(group)
}

/// Parses a group address entry: `IP`, `IP/LEN`, `IP-IP`, or `IP-LAST` (last octet, or last
/// 16-bit group in hex for IPv6).
fn parse_range(cx: &mut Cx, tok: &Token) -> Option<(IpAddr, IpAddr)> {
    let text = tok.text.as_str();
    let bad = |cx: &mut Cx, what: &str| {
        cx.error(
            tok.loc,
            format!("virtual_server_group: {what} `{text}` - skipping"),
        );
        None
    };
    if let Some((addr, len)) = text.split_once('/') {
        let Ok(ip) = addr.parse::<IpAddr>() else {
            return bad(cx, "invalid address");
        };
        let max = if ip.is_ipv4() { 32 } else { 128 };
        let len = match len.parse::<u32>() {
            Ok(l) if (1..=max).contains(&l) => l,
            _ => return bad(cx, "invalid netmask"),
        };
        return match ip {
            IpAddr::V4(a) => {
                let host = if len == 32 { 0 } else { u32::MAX >> len };
                let n = u32::from(a);
                if n & host != 0 {
                    return bad(cx, "address mask bits not empty in");
                }
                Some((ip, IpAddr::V4(Ipv4Addr::from(n | host))))
            }
            IpAddr::V6(a) => {
                let host = if len == 128 { 0 } else { u128::MAX >> len };
                let n = u128::from(a);
                if n & host != 0 {
                    return bad(cx, "address mask bits not empty in");
                }
                Some((ip, IpAddr::V6(Ipv6Addr::from(n | host))))
            }
        };
    }
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some((ip, ip));
    }
    let Some((start, end)) = text.rsplit_once('-') else {
        return bad(cx, "invalid address");
    };
    let Ok(first) = start.parse::<IpAddr>() else {
        return bad(cx, "invalid address");
    };
    let last = match (first, end.parse::<IpAddr>()) {
        (IpAddr::V4(_), Ok(e @ IpAddr::V4(_))) | (IpAddr::V6(_), Ok(e @ IpAddr::V6(_))) => e,
        (_, Ok(_)) => return bad(cx, "range address families do not match in"),
        (IpAddr::V4(a), Err(_)) => match end.parse::<u8>() {
            Ok(octet) => IpAddr::V4(Ipv4Addr::from((u32::from(a) & !0xff) | u32::from(octet))),
            Err(_) => return bad(cx, "invalid range end in"),
        },
        (IpAddr::V6(a), Err(_)) => match u16::from_str_radix(end, 16) {
            Ok(g) if !end.is_empty() && end.len() <= 4 => {
                IpAddr::V6(Ipv6Addr::from((u128::from(a) & !0xffff) | u128::from(g)))
            }
            _ => return bad(cx, "invalid range end in"),
        },
    };
    let ok = match (first, last) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            u32::from(a) < u32::from(b) || (end.contains('.') && a == b)
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            u128::from(a) < u128::from(b) || (end.contains(':') && a == b)
        }
        _ => false,
    };
    if !ok {
        return bad(
            cx,
            "address range end is not greater than address range start in",
        );
    }
    Some((first, last))
}

/// Cross-block checks of this part: virtual servers naming groups.
pub fn validate(cx: &mut Cx, config: &mut Config) {
    if config.lvs.virtual_servers.is_empty() {
        return;
    }
    // keepalived 2.2.7 only logs a virtual server naming an unknown group, and drops it.
    let lvs = &mut config.lvs;
    lvs.virtual_servers.retain(|v| match &v.address {
        VsAddress::Group(name) if !lvs.virtual_server_groups.iter().any(|g| &g.name == name) => {
            cx.warning(
                v.loc,
                format!(
                    "Virtual server group {name} specified but not configured - ignoring virtual server"
                ),
            );
            false
        }
        _ => true,
    });
    checker_references(cx, config);
    let config = &*config;
    let lvs = &config.lvs;
    let groups: HashMap<&str, &VirtualServerGroup> = lvs
        .virtual_server_groups
        .iter()
        .map(|g| (g.name.as_str(), g))
        .collect();
    for v in &lvs.virtual_servers {
        if let VsAddress::Group(name) = &v.address
            && let Some(group) = groups.get(name.as_str())
        {
            resolve::validate_group_use(cx, v, group);
        }
    }
}

/// FILE_CHECK and BFD_CHECK name top-level blocks (`track_file`, `bfd_instance`) that must
/// exist: keepalived reports the name where it is given, and drops the checker.
fn checker_references(cx: &mut Cx, config: &mut Config) {
    let files: std::collections::HashSet<String> = config
        .vrrp
        .track_files
        .iter()
        .map(|f| f.name.clone())
        .collect();
    let bfds: std::collections::HashSet<String> = config
        .global
        .bfd_instances
        .iter()
        .map(|b| b.name.clone())
        .collect();
    for rs in config
        .lvs
        .virtual_servers
        .iter_mut()
        .flat_map(|v| &mut v.real_servers)
    {
        let address = rs.address;
        rs.checkers.retain(|checker| match &checker.kind {
            CheckerKind::File(f) if !files.contains(&f.track_file) => {
                cx.error(
                    f.loc,
                    format!(
                        "track_file {} not found (FILE_CHECK of {address}: no track_file block of that name) - checker ignored",
                        f.track_file
                    ),
                );
                false
            }
            CheckerKind::Bfd(b) if !bfds.contains(&b.name) => {
                cx.error(
                    b.loc,
                    format!(
                        "BFD_CHECK of {address} - BFD {} not configured - checker ignored",
                        b.name
                    ),
                );
                false
            }
            _ => true,
        });
    }
}
