//! `global_defs`: the VRRP keywords, the per-process scheduling keywords, netlink buffers,
//! `umask`, `random_seed` and `include_check`.

use std::net::IpAddr;
use std::time::Duration;

use super::{flag, no_block, one_string, opt_bool};
use crate::build::Cx;
use crate::model::global::*;
use crate::tree::Node;

/// The VRRP, process and miscellaneous keywords; false when `node` is not one of them.
pub fn keyword(cx: &mut Cx, node: &Node, d: &mut GlobalDefs) -> bool {
    let name = node.name();
    // vrrp_*, checker_*, bfd_* process settings.
    for (prefix, which) in [("vrrp_", 0), ("checker_", 1), ("bfd_", 2)] {
        if let Some(rest) = name.strip_prefix(prefix)
            && matches!(
                rest,
                "priority"
                    | "no_swap"
                    | "rt_priority"
                    | "cpu_affinity"
                    | "rlimit_rttime"
                    | "rlimit_rtime"
            )
        {
            let settings = match which {
                0 => &mut d.vrrp_process,
                1 => &mut d.checker_process,
                _ => &mut d.bfd_process,
            };
            process_setting(cx, node, rest, settings);
            return true;
        }
    }
    match name {
        "max_auto_priority" => {
            no_block(cx, node);
            cx.at_most(node, 1);
            if node.args.is_empty() {
                d.max_auto_priority = 99;
            } else if let Some(p) = cx.int::<i32>(node, 0, -1..=99) {
                d.max_auto_priority = p;
            }
        }
        "min_auto_priority_delay" => {
            no_block(cx, node);
            cx.at_most(node, 1);
            if let Some(us) = cx.int::<u32>(node, 0, 1..=10_000_000) {
                d.min_auto_priority_delay = Duration::from_micros(us.into());
            }
        }
        "v3_checksum_as_v2" => set_bool(cx, node, &mut d.v3_checksum_as_v2),
        "vrrp_mcast_group4" => mcast_group(cx, node, true, &mut d.vrrp_mcast_group4),
        "vrrp_mcast_group6" => mcast_group(cx, node, false, &mut d.vrrp_mcast_group6),
        "vrrp_garp_master_delay" => {
            if let Some(s) = whole_secs(cx, node, 4294) {
                d.vrrp_garp_master_delay = s;
            }
        }
        "vrrp_garp_master_repeat" => set_repeat(cx, node, &mut d.vrrp_garp_master_repeat),
        "vrrp_garp_master_refresh" => {
            no_block(cx, node);
            cx.at_most(node, 1);
            let v = cx.int::<u32>(node, 0, 0..=u32::MAX).unwrap_or(0);
            d.vrrp_garp_master_refresh = (v > 0).then(|| Duration::from_secs(v.into()));
        }
        "vrrp_garp_master_refresh_repeat" => {
            set_repeat(cx, node, &mut d.vrrp_garp_master_refresh_repeat)
        }
        "vrrp_garp_lower_prio_delay" => {
            if let Some(s) = whole_secs(cx, node, 4294) {
                d.vrrp_garp_lower_prio_delay = s;
                d.explicit.garp_lower_prio_delay = true;
            }
        }
        "vrrp_garp_lower_prio_repeat" => {
            no_block(cx, node);
            cx.at_most(node, 1);
            if let Some(v) = cx.int::<u32>(node, 0, 0..=i32::MAX as u32) {
                d.vrrp_garp_lower_prio_repeat = v;
                d.explicit.garp_lower_prio_repeat = true;
            }
        }
        "vrrp_garp_interval" => garp_interval(cx, node, &mut d.vrrp_garp_interval),
        "vrrp_gna_interval" => garp_interval(cx, node, &mut d.vrrp_gna_interval),
        "vrrp_min_garp" => {
            if opt_bool(cx, node) == Some(true) {
                d.vrrp_min_garp = true;
                // Only values still at their defaults change, as keepalived does.
                if d.vrrp_garp_master_repeat == VRRP_GARP_REPEAT {
                    d.vrrp_garp_master_repeat = 1;
                }
                if d.vrrp_garp_master_refresh_repeat == VRRP_GARP_REFRESH_REPEAT {
                    d.vrrp_garp_master_refresh_repeat = 0;
                }
                if d.vrrp_garp_master_delay == VRRP_GARP_DELAY {
                    d.vrrp_garp_master_delay = Duration::ZERO;
                }
            }
        }
        "vrrp_garp_extra_if" | "vrrp_vmac_garp_intvl" => garp_extra_if(cx, node, d),
        "vrrp_down_timer_adverts" => {
            no_block(cx, node);
            cx.at_most(node, 1);
            if let Some(v) = cx.int::<u32>(node, 0, 1..=100) {
                d.vrrp_down_timer_adverts = v;
            }
        }
        "vrrp_lower_prio_no_advert" => set_bool(cx, node, &mut d.vrrp_lower_prio_no_advert),
        "vrrp_higher_prio_send_advert" => set_bool(cx, node, &mut d.vrrp_higher_prio_send_advert),
        "vrrp_version" => {
            no_block(cx, node);
            cx.at_most(node, 1);
            if let Some(v) = cx.int::<u8>(node, 0, 2..=3) {
                d.vrrp_version = v;
            }
        }
        "vrrp_check_unicast_src" => d.vrrp_check_unicast_src = flag(cx, node),
        "vrrp_skip_check_adv_addr" => d.vrrp_skip_check_adv_addr = flag(cx, node),
        "vrrp_strict" => d.vrrp_strict = flag(cx, node),
        "vrrp_notify_priority_changes" => set_bool(cx, node, &mut d.vrrp_notify_priority_changes),
        "vrrp_netlink_cmd_rcv_bufs" => rcv_bufs(cx, node, &mut d.vrrp_netlink_cmd_rcv_bufs),
        "vrrp_netlink_cmd_rcv_bufs_force" => {
            set_bool(cx, node, &mut d.vrrp_netlink_cmd_rcv_bufs.force)
        }
        "vrrp_netlink_monitor_rcv_bufs" => rcv_bufs(cx, node, &mut d.vrrp_netlink_monitor_rcv_bufs),
        "vrrp_netlink_monitor_rcv_bufs_force" => {
            set_bool(cx, node, &mut d.vrrp_netlink_monitor_rcv_bufs.force)
        }
        "process_monitor_rcv_bufs" => rcv_bufs(cx, node, &mut d.process_monitor_rcv_bufs),
        "process_monitor_rcv_bufs_force" => {
            set_bool(cx, node, &mut d.process_monitor_rcv_bufs.force)
        }
        "lvs_netlink_cmd_rcv_bufs" => rcv_bufs(cx, node, &mut d.lvs_netlink_cmd_rcv_bufs),
        "lvs_netlink_cmd_rcv_bufs_force" => {
            set_bool(cx, node, &mut d.lvs_netlink_cmd_rcv_bufs.force)
        }
        "lvs_netlink_monitor_rcv_bufs" => rcv_bufs(cx, node, &mut d.lvs_netlink_monitor_rcv_bufs),
        "lvs_netlink_monitor_rcv_bufs_force" => {
            set_bool(cx, node, &mut d.lvs_netlink_monitor_rcv_bufs.force)
        }
        "rs_init_notifies" => set_bool(cx, node, &mut d.rs_init_notifies),
        "vrrp_rx_bufs_policy" => rx_bufs_policy(cx, node, d),
        "vrrp_rx_bufs_multiplier" => {
            no_block(cx, node);
            if node.args.len() > 1 {
                cx.error(
                    node.args_loc(),
                    "`vrrp_rx_bufs_multiplier` takes one number",
                );
            } else if let Some(v) = cx.int::<u32>(node, 0, 1..=u32::MAX) {
                d.vrrp_rx_bufs_multiplier = v;
            }
        }
        "vrrp_watchdog_timeout" => watchdog_timeout(cx, node, &mut d.vrrp_watchdog_timeout),
        "checker_watchdog_timeout" => {
            watchdog_timeout(cx, node, &mut d.checker_watchdog_timeout);
        }
        "metrics_listen" => metrics_listen(cx, node, &mut d.metrics_listen),
        "control_socket" => {
            if let Some(text) = one_string(cx, node) {
                if text.starts_with('/') && !text.ends_with('/') {
                    d.control_socket = Some(text.into());
                } else {
                    cx.error(
                        node.args_loc(),
                        format!("`control_socket` expects an absolute file path, got `{text}`"),
                    );
                }
            }
        }
        "control_socket_group" => {
            if let Some(text) = one_string(cx, node) {
                d.control_socket_group = Some(text);
            }
        }
        "vrrp_startup_delay" => startup_delay(cx, node, &mut d.vrrp_startup_delay),
        "vrrp_delay_after_boot" => startup_delay(cx, node, &mut d.vrrp_delay_after_boot),
        "log_unknown_vrids" => d.log_unknown_vrids = flag(cx, node),
        "vrrp_owner_ignore_adverts" => set_bool(cx, node, &mut d.vrrp_owner_ignore_adverts),
        "vmac_prefix" => {
            if d.vmac_prefix != "vrrp" {
                no_block(cx, node);
                cx.error(node.keyword.loc, "`vmac_prefix` already specified; ignored");
            } else if let Some(p) = one_string(cx, node) {
                d.vmac_prefix = p;
            }
        }
        "vmac_addr_prefix" => {
            if d.explicit.vmac_addr_prefix {
                no_block(cx, node);
                cx.error(
                    node.keyword.loc,
                    "`vmac_addr_prefix` already specified; ignored",
                );
            } else if let Some(p) = one_string(cx, node) {
                d.vmac_addr_prefix = p;
                d.explicit.vmac_addr_prefix = true;
            }
        }
        "umask" => {
            no_block(cx, node);
            if let Some(mask) = umask(cx, node) {
                d.umask = Umask(mask);
            }
        }
        "random_seed" => {
            no_block(cx, node);
            cx.at_most(node, 1);
            if let Some(v) = cx.int::<u32>(node, 0, 0..=u32::MAX) {
                d.random_seed = Some(v);
            }
        }
        "include_check" => {
            no_block(cx, node);
            if let Some(ic) = include_check(cx, node, d.include_check) {
                d.include_check = Some(ic);
            }
        }
        _ => return false,
    }
    true
}

fn set_bool(cx: &mut Cx, node: &Node, out: &mut bool) {
    if let Some(v) = opt_bool(cx, node) {
        *out = v;
    }
}

fn whole_secs(cx: &mut Cx, node: &Node, max: u32) -> Option<Duration> {
    no_block(cx, node);
    cx.at_most(node, 1);
    cx.int::<u32>(node, 0, 0..=max)
        .map(|s| Duration::from_secs(s.into()))
}

fn set_repeat(cx: &mut Cx, node: &Node, out: &mut u32) {
    no_block(cx, node);
    cx.at_most(node, 1);
    if let Some(mut v) = cx.int::<u32>(node, 0, 0..=u32::MAX) {
        if v == 0 {
            cx.error(
                node.args_loc(),
                format!("`{}` must be greater than 0; using 1", node.name()),
            );
            v = 1;
        }
        *out = v;
    }
}

fn mcast_group(cx: &mut Cx, node: &Node, v4: bool, out: &mut IpAddr) {
    no_block(cx, node);
    cx.at_most(node, 1);
    let Some(ip) = cx.ip(node, 0) else { return };
    let loc = node.args_loc();
    if ip.is_ipv4() != v4 {
        cx.error(
            loc,
            format!(
                "`{}`: {ip} is not an IPv{} address",
                node.name(),
                if v4 { 4 } else { 6 }
            ),
        );
    } else if !ip.is_multicast() {
        cx.error(
            loc,
            format!("`{}`: {ip} is not a multicast address", node.name()),
        );
    } else {
        *out = ip;
    }
}

fn garp_interval(cx: &mut Cx, node: &Node, out: &mut Duration) {
    secs_warn_large(cx, node, 0.000_001, 1.0, out);
}

/// `vrrp_watchdog_timeout` / `checker_watchdog_timeout`: zero (off) or from
/// [`MIN_WATCHDOG_TIMEOUT`] up to keepalived's largest timer; anything else is an error and
/// the default stays.
fn watchdog_timeout(cx: &mut Cx, node: &Node, out: &mut Duration) {
    no_block(cx, node);
    cx.at_most(node, 1);
    if let Some(v) = cx.secs(node, 0, 0.0, 4294.0) {
        if !v.is_zero() && v < MIN_WATCHDOG_TIMEOUT {
            cx.error(
                node.args_loc(),
                format!(
                    "`{}` must be 0 (off) or at least {} s; keeping {} s",
                    node.name(),
                    MIN_WATCHDOG_TIMEOUT.as_secs_f64(),
                    out.as_secs_f64()
                ),
            );
        } else {
            *out = v;
        }
    }
}

/// `metrics_listen ADDRESS:PORT`: an IPv4 or bracketed IPv6 address and a port other than 0;
/// anything else is an error at its place and the value before it stays.
fn metrics_listen(cx: &mut Cx, node: &Node, out: &mut Option<std::net::SocketAddr>) {
    let Some(text) = one_string(cx, node) else {
        return;
    };
    match text.parse::<std::net::SocketAddr>() {
        Ok(addr) if addr.port() != 0 => *out = Some(addr),
        _ => cx.error(
            node.args_loc(),
            format!(
                "`metrics_listen` expects ADDRESS:PORT (`127.0.0.1:9165`, `[::1]:9165`), got `{text}`"
            ),
        ),
    }
}

fn startup_delay(cx: &mut Cx, node: &Node, out: &mut Duration) {
    secs_warn_large(cx, node, 0.000_000_001, 60.0, out);
}

/// A `<TIMER>` up to keepalived's 4294 s, with a warning from `large` seconds on.
fn secs_warn_large(cx: &mut Cx, node: &Node, min: f64, large: f64, out: &mut Duration) {
    no_block(cx, node);
    cx.at_most(node, 1);
    if let Some(v) = cx.secs(node, 0, min, 4294.0) {
        *out = v;
        if v.as_secs_f64() >= large {
            cx.warning(
                node.args_loc(),
                format!("`{}` is very large ({} s)", node.name(), v.as_secs_f64()),
            );
        }
    }
}

fn garp_extra_if(cx: &mut Cx, node: &Node, d: &mut GlobalDefs) {
    no_block(cx, node);
    if node.name() == "vrrp_vmac_garp_intvl" {
        cx.error(
            node.keyword.loc,
            "`vrrp_vmac_garp_intvl` is deprecated; use `vrrp_garp_extra_if`",
        );
    }
    let mut all = false;
    let mut secs = None;
    for tok in &node.args {
        if tok.text == "all" {
            all = true;
        } else {
            match cx.int_token::<u32>(node.name(), tok, 1..=86_400) {
                Some(s) => secs = Some(s),
                None => return,
            }
        }
    }
    match secs {
        Some(s) => {
            d.vrrp_garp_extra_if = Some(GarpExtraIf {
                interval: Duration::from_secs(s.into()),
                all,
            })
        }
        None => cx.error(
            node.keyword.loc,
            format!("`{}` needs an interval in seconds", node.name()),
        ),
    }
}

fn rcv_bufs(cx: &mut Cx, node: &Node, out: &mut NetlinkBufs) {
    no_block(cx, node);
    cx.at_most(node, 1);
    if let Some(v) = cx.int::<u32>(node, 0, 0..=u32::MAX)
        && v > 0
    {
        out.size = Some(v);
    }
}

fn rx_bufs_policy(cx: &mut Cx, node: &Node, d: &mut GlobalDefs) {
    no_block(cx, node);
    if node.args.is_empty() {
        cx.error(
            node.keyword.loc,
            "`vrrp_rx_bufs_policy` needs MTU, ADVERT or a size",
        );
        return;
    }
    let (mut mtu, mut advert, mut size) = match d.vrrp_rx_bufs_policy {
        RxBufsPolicy::System => (false, false, None),
        RxBufsPolicy::Mtu => (true, false, None),
        RxBufsPolicy::Advert => (false, true, None),
        RxBufsPolicy::Size(s) => (false, false, Some(s)),
    };
    for tok in &node.args {
        if tok.text.eq_ignore_ascii_case("MTU") {
            mtu = true;
        } else if tok.text.eq_ignore_ascii_case("ADVERT") {
            advert = true;
        } else if let Some(s) = cx.int_token::<u32>("vrrp_rx_bufs_policy", tok, 0..=u32::MAX) {
            size = Some(s);
        }
    }
    d.vrrp_rx_bufs_policy = match (size, mtu, advert) {
        (Some(s), m, a) => {
            if m || a {
                cx.error(
                    node.args_loc(),
                    "`vrrp_rx_bufs_policy` cannot have both a size and a policy; policy ignored",
                );
            }
            RxBufsPolicy::Size(s)
        }
        (None, true, a) => {
            if a {
                cx.error(
                    node.args_loc(),
                    "`vrrp_rx_bufs_policy` cannot be both MTU and ADVERT; ADVERT ignored",
                );
            }
            RxBufsPolicy::Mtu
        }
        (None, false, true) => RxBufsPolicy::Advert,
        (None, false, false) => d.vrrp_rx_bufs_policy,
    };
}

fn process_setting(cx: &mut Cx, node: &Node, what: &str, p: &mut ProcessSettings) {
    let process = node.name().split('_').next().unwrap_or("");
    match what {
        "priority" => {
            no_block(cx, node);
            cx.at_most(node, 1);
            if let Some(v) = cx.int::<i8>(node, 0, -20..=19) {
                p.priority = v;
            }
        }
        "no_swap" => p.no_swap = flag(cx, node),
        "rt_priority" => {
            no_block(cx, node);
            cx.at_most(node, 1);
            if let Some(v) = cx.int::<i64>(node, 0, i64::from(i32::MIN)..=i64::from(i32::MAX)) {
                let clamped = v.clamp(1, 99);
                if clamped != v {
                    cx.error(
                        node.args_loc(),
                        format!(
                            "{process} real-time priority {v} is outside 1..99; using {clamped}"
                        ),
                    );
                }
                p.rt_priority = u8::try_from(clamped).ok();
            }
        }
        "cpu_affinity" => {
            no_block(cx, node);
            if node.args.is_empty() {
                cx.error(
                    node.keyword.loc,
                    format!("`{}` needs at least one CPU number", node.name()),
                );
                return;
            }
            let mut cpus = Vec::new();
            for tok in &node.args {
                match cx.int_token::<u32>(node.name(), tok, 0..=1023) {
                    Some(c) => cpus.push(c),
                    None => {
                        p.cpu_affinity.clear();
                        return;
                    }
                }
            }
            p.cpu_affinity = cpus;
        }
        _ => {
            // rlimit_rttime, and the deprecated rlimit_rtime.
            no_block(cx, node);
            cx.at_most(node, 1);
            if what == "rlimit_rtime" {
                cx.warning(
                    node.keyword.loc,
                    format!(
                        "`{}` is deprecated; use `{process}_rlimit_rttime`",
                        node.name()
                    ),
                );
            }
            if let Some(v) = cx.int::<u32>(node, 0, 1..=u32::MAX) {
                p.rlimit_rttime = v.max(2);
            }
        }
    }
}

/// `umask NUMBER` (decimal, 0octal or 0xhex) or `umask BIT|BIT...`.
fn umask(cx: &mut Cx, node: &Node) -> Option<u32> {
    let first = cx.arg(node, 0)?;
    if first.text.starts_with(|c: char| c.is_ascii_digit()) {
        cx.at_most(node, 1);
        let t = &first.text;
        let v = if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
            u32::from_str_radix(hex, 16).ok()
        } else if t.len() > 1 && t.starts_with('0') {
            u32::from_str_radix(&t[1..], 8).ok()
        } else {
            t.parse::<u32>().ok()
        };
        return match v {
            Some(m) if m & !0o777 == 0 => Some(m),
            _ => {
                cx.error(first.loc, format!("invalid umask value `{t}`"));
                None
            }
        };
    }
    const BITS: &[(&str, u32)] = &[
        ("IRUSR", 0o400),
        ("IWUSR", 0o200),
        ("IXUSR", 0o100),
        ("IRWXU", 0o700),
        ("IRGRP", 0o040),
        ("IWGRP", 0o020),
        ("IXGRP", 0o010),
        ("IRWXG", 0o070),
        ("IROTH", 0o004),
        ("IWOTH", 0o002),
        ("IXOTH", 0o001),
        ("IRWXO", 0o007),
    ];
    let mut mask = 0;
    let mut need_bit = true;
    for tok in &node.args {
        for part in tok.text.split_inclusive('|') {
            let (name, bar) = match part.strip_suffix('|') {
                Some(n) => (n, true),
                None => (part, false),
            };
            if !name.is_empty() {
                if !need_bit {
                    cx.error(
                        tok.loc,
                        format!(
                            "invalid umask syntax `{}` (bits are separated by `|`)",
                            tok.text
                        ),
                    );
                    return None;
                }
                match BITS.iter().find(|(b, _)| *b == name) {
                    Some((_, v)) => mask |= v,
                    None => {
                        cx.error(tok.loc, format!("unknown umask bit `{name}`"));
                        return None;
                    }
                }
                need_bit = false;
            }
            if bar {
                if need_bit {
                    cx.error(tok.loc, format!("invalid umask syntax `{}`", tok.text));
                    return None;
                }
                need_bit = true;
            }
        }
    }
    if need_bit {
        cx.error(node.args_loc(), "umask is missing a bit after `|`");
        return None;
    }
    Some(mask)
}

/// `include_check [[+|-]OPTION ...]`.
fn include_check(cx: &mut Cx, node: &Node, current: Option<IncludeCheck>) -> Option<IncludeCheck> {
    let all = IncludeCheck {
        readable: true,
        matched: true,
        wildcard_match: true,
        brace_match: true,
    };
    if node.args.is_empty() {
        return Some(all);
    }
    let mut ic = current.unwrap_or_default();
    for tok in &node.args {
        let (add, name) = match tok.text.strip_prefix('-') {
            Some(n) => (false, n),
            None => (true, tok.text.strip_prefix('+').unwrap_or(&tok.text)),
        };
        let flag = match name {
            "readable" => &mut ic.readable,
            "match" => &mut ic.matched,
            "wildcard_match" => &mut ic.wildcard_match,
            "brace_match" => &mut ic.brace_match,
            _ => {
                cx.error(
                    tok.loc,
                    format!("unknown `include_check` option `{}` (expected readable, match, wildcard_match or brace_match)", tok.text),
                );
                return None;
            }
        };
        *flag = add;
        // match, wildcard_match and brace_match include the readable check.
        if add && name != "readable" {
            ic.readable = true;
        }
    }
    Some(ic)
}
