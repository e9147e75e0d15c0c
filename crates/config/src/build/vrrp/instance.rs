//! `vrrp_instance NAME { ... }`.

use std::time::Duration;

use super::{
    Cx, flag, ip, notify_keyword, notify_script, opt_bool, peers, route, rule, track_list,
};
use crate::diag::Loc;
use crate::model::vrrp::*;
use crate::tree::Node;

const BLOCK: &str = "vrrp_instance";

/// Every keyword of `vrrp_instance`.
pub const KEYWORDS: &[&str] = &[
    "use_vmac",
    "use_vmac_addr",
    "vmac_xmit_base",
    "use_ipvlan",
    "unicast_peer",
    "unicast_fault_no_peer",
    "check_unicast_src",
    "old_unicast_checksum",
    "native_ipv6",
    "state",
    "interface",
    "vrf",
    "dont_track_primary",
    "track_interface",
    "track_script",
    "track_file",
    "track_process",
    "track_bfd",
    "mcast_src_ip",
    "unicast_src_ip",
    "mcast_dst_ip",
    "track_src_ip",
    "virtual_router_id",
    "unicast_ttl",
    "version",
    "priority",
    "advert_int",
    "virtual_ipaddress",
    "virtual_ipaddress_excluded",
    "no_virtual_ipaddress",
    "promote_secondaries",
    "linkbeat_use_polling",
    "v3_checksum_as_v2",
    "virtual_routes",
    "virtual_rules",
    "accept",
    "no_accept",
    "skip_check_adv_addr",
    "strict_mode",
    "preempt",
    "nopreempt",
    "preempt_delay",
    "debug",
    "notify_backup",
    "notify_master",
    "notify_fault",
    "notify_stop",
    "notify_deleted",
    "notify",
    "notify_master_rx_lower_pri",
    "smtp_alert",
    "notify_priority_changes",
    "lvs_sync_daemon_interface",
    "garp_master_delay",
    "garp_master_refresh",
    "garp_master_repeat",
    "garp_master_refresh_repeat",
    "garp_lower_prio_delay",
    "garp_lower_prio_repeat",
    "down_timer_adverts",
    "timer_expired_backup",
    "thread_timer_expired",
    "garp_extra_if",
    "vmac_garp_intvl",
    "lower_prio_no_advert",
    "higher_prio_send_advert",
    "owner_ignore_adverts",
    "kernel_rx_buf_size",
    "authentication",
    "auth_hmac",
];

/// What the builder noticed beyond the model's fields.
#[derive(Default)]
pub(super) struct Seen {
    pub(super) vrid: bool,
    /// A keyword that only makes sense with unicast peers.
    pub(super) unicast_kw: Option<(Loc, &'static str)>,
    pub(super) unicast_ttl: Option<Loc>,
    pub(super) src_loc: Loc,
}

/// Builds an instance; `Err` with the reason when it must be dropped (no `virtual_router_id`).
pub fn build(cx: &mut Cx, node: &Node, name: &str) -> Result<VrrpInstance, Box<DroppedInstance>> {
    let mut inst = VrrpInstance::new(name, node.args.first().map_or(node.keyword.loc, |t| t.loc));
    let mut seen = Seen::default();
    for n in node.children() {
        if KEYWORDS.contains(&n.name()) {
            // A bad value is reported by `keyword`; the keyword itself is known.
            let _ = keyword(cx, n, &mut inst, &mut seen);
            cx.mark(BLOCK, n);
        } else {
            cx.unknown(n, BLOCK, KEYWORDS);
        }
    }
    if !seen.vrid {
        let reason = format!(
            "({name}) the virtual router id must be set (`virtual_router_id`); instance dropped"
        );
        cx.error(inst.loc, reason.clone());
        return Err(Box::new(DroppedInstance {
            reason,
            instance: inst,
        }));
    }
    peers::families(cx, &mut inst, &seen);
    if inst.unicast_peers.is_empty() {
        // With `unicast_fault_no_peer` keepalived holds the instance in FAULT instead.
        if let Some((loc, kw)) = seen.unicast_kw.filter(|_| !inst.unicast_fault_no_peer) {
            cx.error(loc, format!("({name}) A unicast keyword has been specified without any unicast peers (`{kw}`). Defaulting to multicast."));
        }
        if let Some(loc) = seen.unicast_ttl {
            cx.error(
                loc,
                format!("({name}) cannot use `unicast_ttl` without unicast peers - reset"),
            );
            inst.unicast_ttl = 255;
        }
    }
    Ok(inst)
}

/// One known keyword; `None` when its value was unusable (already reported).
fn keyword(cx: &mut Cx, n: &Node, inst: &mut VrrpInstance, seen: &mut Seen) -> Option<()> {
    let name = inst.name.clone();
    if !matches!(
        n.name(),
        "track_interface"
            | "track_script"
            | "track_file"
            | "track_process"
            | "track_bfd"
            | "unicast_peer"
            | "virtual_ipaddress"
            | "virtual_ipaddress_excluded"
            | "virtual_routes"
            | "virtual_rules"
            | "authentication"
            | "auth_hmac"
    ) {
        cx.no_block(n);
    }
    if notify_keyword(cx, n, &mut inst.notify) {
        return Some(());
    }
    match n.name() {
        "use_vmac" => {
            cx.at_most(n, 2);
            let mut vmac = UseVmac::default();
            for tok in &n.args {
                if let Some(mac) = parse_mac(&tok.text) {
                    if mac.len() < 5 || mac.len() > 6 {
                        cx.error(
                            tok.loc,
                            format!(
                                "`use_vmac`: MAC address `{}` must have 5 or 6 octets",
                                tok.text
                            ),
                        );
                    } else if mac[..5] == [0, 0, 0x5e, 0, 1] || mac[..5] == [0, 0, 0x5e, 0, 2] {
                        cx.error(
                            tok.loc,
                            format!("`use_vmac`: MAC address `{}` must not be an RFC 5798 VRRP address - ignored", tok.text),
                        );
                    } else {
                        vmac.mac = Some(mac);
                    }
                } else if vmac.ifname.is_none() && vmac.mac.is_none() {
                    if ifname_ok(cx, tok) {
                        vmac.ifname = Some(tok.text.clone());
                    }
                } else {
                    cx.error(
                        tok.loc,
                        format!("`use_vmac`: `{}` is not a MAC address", tok.text),
                    );
                }
            }
            inst.use_vmac = Some(vmac);
        }
        "use_vmac_addr" => inst.use_vmac_addr = flag(cx, n),
        "vmac_xmit_base" => inst.vmac_xmit_base = flag(cx, n),
        "use_ipvlan" => {
            let mut ipvlan = UseIpvlan::default();
            for tok in &n.args {
                match tok.text.as_str() {
                    "bridge" => ipvlan.mode = IpvlanMode::Bridge,
                    "private" => ipvlan.mode = IpvlanMode::Private,
                    "vepa" => ipvlan.mode = IpvlanMode::Vepa,
                    t => match crate::model::common::IpPrefix::parse(t) {
                        Some(p) if ipvlan.addr.is_none() => ipvlan.addr = Some(p),
                        None if ipvlan.ifname.is_none() && ipvlan.addr.is_none() => {
                            if ifname_ok(cx, tok) {
                                ipvlan.ifname = Some(t.to_owned());
                            }
                        }
                        _ => cx.error(tok.loc, format!("`use_ipvlan`: unexpected `{t}`")),
                    },
                }
            }
            inst.use_ipvlan = Some(ipvlan);
        }
        "unicast_peer" => {
            // Even an empty block (its entries conditioned out) asks for unicast.
            seen.unicast_kw
                .get_or_insert((n.keyword.loc, "unicast_peer"));
            for e in cx.block(n).unwrap_or(&[]) {
                if let Some(p) = peers::unicast_peer(cx, e) {
                    inst.unicast_peers.push(p);
                }
            }
        }
        "unicast_fault_no_peer" => inst.unicast_fault_no_peer = flag(cx, n),
        "check_unicast_src" => {
            inst.check_unicast_src = flag(cx, n);
            seen.unicast_kw
                .get_or_insert((n.keyword.loc, "check_unicast_src"));
        }
        "old_unicast_checksum" => {
            cx.at_most(n, 1);
            seen.unicast_kw
                .get_or_insert((n.keyword.loc, "old_unicast_checksum"));
            inst.old_unicast_checksum = match n.args.first() {
                None => Some(OldUnicastChecksum::Always),
                Some(t) if t.text == "never" => Some(OldUnicastChecksum::Never),
                Some(t) => {
                    cx.error(t.loc, format!("`old_unicast_checksum`: unknown mode `{}` (expected `never`) - ignored", t.text));
                    None
                }
            };
        }
        "native_ipv6" => inst.native_ipv6 = flag(cx, n),
        "state" => {
            cx.at_most(n, 1);
            let tok = cx.arg(n, 0)?;
            match tok.text.as_str() {
                "MASTER" => inst.state = InitialState::Master,
                "BACKUP" => {
                    if inst.state == InitialState::Master {
                        cx.warning(
                            tok.loc,
                            format!("({name}) state previously set as MASTER - BACKUP ignored"),
                        );
                    } else {
                        inst.state = InitialState::Backup;
                    }
                }
                other => {
                    cx.error(
                        tok.loc,
                        format!("({name}) unknown state `{other}` (expected MASTER or BACKUP), using BACKUP"),
                    );
                    inst.state = InitialState::Backup;
                }
            }
        }
        "interface" => {
            cx.at_most(n, 1);
            let tok = cx.arg(n, 0)?;
            if ifname_ok(cx, tok) {
                if inst.vrf.is_some() {
                    cx.error(
                        tok.loc,
                        format!("({name}) cannot specify both `vrf` and `interface`"),
                    );
                }
                inst.interface = Some(tok.text.clone());
                inst.interface_loc = tok.loc;
            }
        }
        "vrf" => {
            cx.at_most(n, 1);
            let tok = cx.arg(n, 0)?;
            if inst.interface.is_some() {
                cx.error(
                    tok.loc,
                    format!("({name}) cannot specify both `vrf` and `interface` - `vrf` ignored"),
                );
            } else if ifname_ok(cx, tok) {
                inst.vrf = Some(tok.text.clone());
            }
        }
        "dont_track_primary" => inst.dont_track_primary = flag(cx, n),
        "track_interface" => inst.track_interfaces.extend(track_list(cx, n, 253)),
        "track_script" => inst.track_scripts.extend(track_list(cx, n, 253)),
        "track_file" => inst.track_files.extend(track_list(cx, n, 254)),
        "track_process" => inst.track_processes.extend(track_list(cx, n, 254)),
        "track_bfd" => inst.track_bfds.extend(track_list(cx, n, 253)),
        "mcast_src_ip" | "unicast_src_ip" => {
            cx.at_most(n, 1);
            let tok = cx.arg(n, 0)?;
            let valid = tok
                .text
                .split(['-', '/'])
                .next()
                .is_some_and(|a| a.parse::<std::net::IpAddr>().is_ok());
            if !valid {
                cx.error(
                    tok.loc,
                    format!("({name}) malformed src address `{}` - skipped", tok.text),
                );
                return None;
            }
            let addr = cx.sockaddr_token(n.name(), tok)?;
            inst.src_ip = Some(addr);
            seen.src_loc = tok.loc;
            if n.name() == "unicast_src_ip" {
                seen.unicast_kw
                    .get_or_insert((n.keyword.loc, "unicast_src_ip"));
            }
        }
        "mcast_dst_ip" => {
            cx.at_most(n, 1);
            let tok = cx.arg(n, 0)?;
            let addr = cx.ip_token("mcast_dst_ip", tok)?;
            if !addr.is_multicast() {
                cx.error(
                    tok.loc,
                    format!("({name}) `mcast_dst_ip` {addr} is not a multicast address - ignored"),
                );
                return None;
            }
            if let std::net::IpAddr::V6(a6) = addr
                && a6.segments()[0] & 0xff0f != 0xff02
            {
                cx.error(
                    tok.loc,
                    format!(
                        "({name}) IPv6 `mcast_dst_ip` {addr} must be link-local (ffX2::) - ignored"
                    ),
                );
                return None;
            }
            inst.mcast_dst_ip = Some(addr);
        }
        "track_src_ip" => inst.track_src_ip = flag(cx, n),
        "virtual_router_id" => {
            cx.at_most(n, 1);
            inst.virtual_router_id = cx.int(n, 0, 1u8..=255)?;
            seen.vrid = true;
        }
        "unicast_ttl" => {
            cx.at_most(n, 1);
            inst.unicast_ttl = cx.int(n, 0, 0u8..=255)?;
            seen.unicast_ttl = Some(n.keyword.loc);
        }
        "version" => {
            cx.at_most(n, 1);
            inst.version =
                Some(cx.choice(n, 0, &[("2", VrrpVersion::V2), ("3", VrrpVersion::V3)])?);
        }
        "priority" => {
            cx.at_most(n, 1);
            let tok = cx.arg(n, 0)?;
            match cx.int_token::<u8>("priority", tok, 1..=255) {
                Some(p) => inst.priority = Some(p),
                None => inst.priority = Some(100),
            }
        }
        "advert_int" => {
            cx.at_most(n, 1);
            inst.advert_int = cx.secs(n, 0, 0.01, 255.0)?;
        }
        "virtual_ipaddress" | "virtual_ipaddress_excluded" => {
            let excluded = n.name() == "virtual_ipaddress_excluded";
            for e in cx.block(n).unwrap_or(&[]) {
                if let Some(a) = ip::address(cx, e, ip::Owner::Instance) {
                    if excluded {
                        inst.virtual_ipaddresses_excluded.push(a);
                    } else {
                        inst.virtual_ipaddresses.push(a);
                    }
                }
            }
        }
        "no_virtual_ipaddress" => inst.no_virtual_ipaddress = flag(cx, n),
        "promote_secondaries" => inst.promote_secondaries = flag(cx, n),
        "linkbeat_use_polling" => {
            flag(cx, n);
            cx.error(n.keyword.loc, format!("({name}) `linkbeat_use_polling` in a vrrp_instance is deprecated; use `linkbeat_interfaces`"));
            inst.linkbeat_use_polling = true;
        }
        "v3_checksum_as_v2" => inst.v3_checksum_as_v2 = flag(cx, n),
        "virtual_routes" => {
            for e in cx.block(n).unwrap_or(&[]) {
                if let Some(r) = route::route(cx, e, ip::Owner::Instance) {
                    inst.virtual_routes.push(r);
                }
            }
        }
        "virtual_rules" => {
            for e in cx.block(n).unwrap_or(&[]) {
                if let Some(r) = rule::rule(cx, e, ip::Owner::Instance) {
                    inst.virtual_rules.push(r);
                }
            }
        }
        "accept" => inst.accept = Some(flag(cx, n)),
        "no_accept" => inst.accept = Some(!flag(cx, n)),
        "skip_check_adv_addr" => inst.skip_check_adv_addr = opt_bool(cx, n),
        "strict_mode" => inst.strict_mode = opt_bool(cx, n),
        "preempt" => inst.preempt = flag(cx, n),
        "nopreempt" => inst.preempt = !flag(cx, n),
        "preempt_delay" => {
            cx.at_most(n, 1);
            inst.preempt_delay = cx.secs(n, 0, 0.0, 1000.0)?;
        }
        "debug" => {
            cx.at_most(n, 1);
            inst.debug = cx.int(n, 0, 0u8..=4)?;
        }
        "notify_deleted" => {
            cx.at_most(n, 3);
            let script = if n.args.is_empty() {
                None
            } else {
                cx.script(n, 0)
            };
            inst.notify_deleted = Some(NotifyDeleted { script });
        }
        "notify_master_rx_lower_pri" => notify_script(cx, n, &mut inst.notify_master_rx_lower_pri),
        "smtp_alert" => inst.smtp_alert = opt_bool(cx, n),
        "notify_priority_changes" => inst.notify_priority_changes = opt_bool(cx, n),
        "lvs_sync_daemon_interface" => {
            cx.at_most(n, 1);
            let tok = cx.arg(n, 0)?;
            cx.error(
                n.keyword.loc,
                format!("({name}) `lvs_sync_daemon_interface` in a vrrp_instance is deprecated; use global `lvs_sync_daemon`"),
            );
            inst.lvs_sync_daemon_interface = Some(tok.text.clone());
        }
        "garp_master_delay" => inst.garp.master_delay = Some(whole_secs(cx, n, 0, u32::MAX)?),
        "garp_master_refresh" => inst.garp.master_refresh = Some(whole_secs(cx, n, 0, u32::MAX)?),
        "garp_lower_prio_delay" => {
            inst.garp.lower_prio_delay = Some(whole_secs(cx, n, 0, u32::MAX)?)
        }
        "garp_master_repeat" => inst.garp.master_repeat = Some(repeat(cx, n)?),
        "garp_master_refresh_repeat" => inst.garp.master_refresh_repeat = Some(repeat(cx, n)?),
        "garp_lower_prio_repeat" => inst.garp.lower_prio_repeat = Some(repeat(cx, n)?),
        "garp_extra_if" => {
            cx.at_most(n, 2);
            let all = n.args.first().is_some_and(|t| t.text == "all");
            let i = usize::from(all);
            let interval = cx
                .int(n, i, 0u32..=86400)
                .map(|s| Duration::from_secs(u64::from(s)))?;
            inst.garp.extra_if = Some(GarpExtraIf { interval, all });
        }
        "vmac_garp_intvl" => {
            cx.at_most(n, 2);
            cx.error(
                n.keyword.loc,
                "`vmac_garp_intvl` is deprecated; use `garp_extra_if`",
            );
            let interval = cx
                .int(n, 0, 0u32..=86400)
                .map(|s| Duration::from_secs(u64::from(s)))?;
            let all = match n.args.get(1) {
                None => false,
                Some(t) if t.text == "all" => true,
                Some(t) => {
                    cx.error(
                        t.loc,
                        format!("`vmac_garp_intvl`: unknown option `{}`", t.text),
                    );
                    false
                }
            };
            inst.garp.extra_if = Some(GarpExtraIf { interval, all });
        }
        "down_timer_adverts" => {
            cx.at_most(n, 1);
            inst.down_timer_adverts = cx.int(n, 0, 1u8..=100)?;
        }
        "timer_expired_backup" => inst.timer_expired_backup = flag(cx, n),
        "thread_timer_expired" => inst.thread_timer_expired = flag(cx, n),
        "lower_prio_no_advert" => inst.lower_prio_no_advert = opt_bool(cx, n),
        "higher_prio_send_advert" => inst.higher_prio_send_advert = opt_bool(cx, n),
        "owner_ignore_adverts" => inst.owner_ignore_adverts = flag(cx, n),
        "kernel_rx_buf_size" => {
            cx.at_most(n, 1);
            inst.kernel_rx_buf_size = Some(
                cx.int(n, 0, 0i64..=i64::from(u32::MAX))
                    .and_then(|v| u64::try_from(v).ok())?,
            );
        }
        "authentication" => peers::authentication(cx, n, inst),
        "auth_hmac" => peers::auth_hmac(cx, n, inst),
        _ => {}
    }
    Some(())
}

/// An interface name: at most 15 bytes, no `/` or blanks.
pub(super) fn ifname_ok(cx: &mut Cx, tok: &crate::tree::Token) -> bool {
    let t = &tok.text;
    if t.is_empty()
        || t.len() > 15
        || t.contains('/')
        || t.chars().any(char::is_whitespace)
        || t == "."
        || t == ".."
    {
        cx.error(tok.loc, format!("`{t}` is not a valid interface name"));
        return false;
    }
    true
}

/// `aa:bb:cc:dd:ee[:ff]` as octets.
fn parse_mac(s: &str) -> Option<Vec<u8>> {
    if !s.contains(':') {
        return None;
    }
    s.split(':')
        .map(|p| {
            if p.len() <= 2 {
                u8::from_str_radix(p, 16).ok()
            } else {
                None
            }
        })
        .collect()
}

/// Whole seconds within `lo..=hi`.
fn whole_secs(cx: &mut Cx, n: &Node, lo: u32, hi: u32) -> Option<Duration> {
    cx.at_most(n, 1);
    cx.int(n, 0, lo..=hi)
        .map(|s| Duration::from_secs(u64::from(s)))
}

/// A `garp_*_repeat` count: keepalived wants at least 1.
fn repeat(cx: &mut Cx, n: &Node) -> Option<u32> {
    cx.at_most(n, 1);
    let tok = cx.arg(n, 0)?;
    let v = cx.int_token::<u32>(n.name(), tok, 0..=u32::MAX)?;
    if v == 0 {
        cx.error(
            tok.loc,
            format!("`{}` must be greater than 0, using 1", n.name()),
        );
        return Some(1);
    }
    Some(v)
}
