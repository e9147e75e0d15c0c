//! `virtual_server` and `real_server` blocks, and the resolution of inherited values.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use super::checker::{self, CheckDraft};
use crate::build::Cx;
use crate::model::lvs::*;
use crate::tree::Node;

#[rustfmt::skip]
const VS_KEYWORDS: &[&str] = &[
    "ip_family", "retry", "delay_before_retry", "warmup", "connect_timeout", "delay_loop", "inhibit_on_failure",
    "lb_algo", "lvs_sched", "hashed", "ops", "flag-1", "flag-2", "flag-3", "sh-port", "sh-fallback", "mh-port",
    "mh-fallback", "lb_kind", "lvs_method", "persistence_engine", "persistence_timeout",
    "persistence_granularity", "protocol", "ha_suspend", "smtp_alert", "virtualhost", "snmp_name", "alpha",
    "omega", "quorum_up", "quorum_down", "quorum", "hysteresis", "weight", "sorry_server",
    "sorry_server_inhibit", "sorry_server_lvs_method", "real_server",
];

#[rustfmt::skip]
const RS_KEYWORDS: &[&str] = &[
    "weight", "lvs_method", "uthreshold", "lthreshold", "inhibit_on_failure", "notify_up", "notify_down",
    "alpha", "retry", "delay_before_retry", "warmup", "connect_timeout", "delay_loop", "smtp_alert",
    "virtualhost", "snmp_name", "TCP_CHECK", "HTTP_GET", "SSL_GET", "MISC_CHECK", "SMTP_CHECK", "DNS_CHECK",
    "UDP_CHECK", "PING_CHECK", "FILE_CHECK", "BFD_CHECK",
];

const SCHEDULERS: &[(&str, Scheduler)] = &[
    ("rr", Scheduler::Rr),
    ("wrr", Scheduler::Wrr),
    ("lc", Scheduler::Lc),
    ("wlc", Scheduler::Wlc),
    ("lblc", Scheduler::Lblc),
    ("sh", Scheduler::Sh),
    ("mh", Scheduler::Mh),
    ("dh", Scheduler::Dh),
    ("fo", Scheduler::Fo),
    ("ovf", Scheduler::Ovf),
    ("lblcr", Scheduler::Lblcr),
    ("sed", Scheduler::Sed),
    ("nq", Scheduler::Nq),
    ("twos", Scheduler::Twos),
];

/// The largest IPVS weight (INT_MAX).
const WEIGHT_MAX: u32 = i32::MAX as u32;
/// IPVS's default persistence timeout.
pub(super) const DEFAULT_PERSISTENCE: Duration = Duration::from_secs(360);
/// The largest `persistence_timeout` (31 days).
const MAX_PERSISTENCE: u32 = 2_678_400;
/// `connect_timeout` range in seconds (keepalived stores micro-seconds in an unsigned int).
pub(super) const CONNECT_TIMEOUT_MAX: f64 = 4294.967295;
/// Upper bound for other timers.
pub(super) const TIMER_MAX: f64 = 18_446_744_073_709.0;
/// Smallest non-zero timer.
pub(super) const TIMER_MIN: f64 = 0.000001;

/// Values a real server configured itself (None = inherit from the virtual server).
#[derive(Default)]
pub(super) struct RsCfg {
    pub(super) weight: Option<u32>,
    pub(super) method: Option<ForwardingMethod>,
    pub(super) inhibit: Option<bool>,
    pub(super) alpha: Option<bool>,
    pub(super) retry: Option<u32>,
    pub(super) delay_before_retry: Option<Duration>,
    pub(super) warmup: Option<Duration>,
    pub(super) connect_timeout: Option<Duration>,
    pub(super) delay_loop: Option<Duration>,
}

pub(super) struct RsDraft {
    pub(super) rs: RealServer,
    pub(super) cfg: RsCfg,
    /// The virtual server's method when the real server started, if it was configured by then.
    pub(super) vs_method_at_start: Option<ForwardingMethod>,
    pub(super) checkers: Vec<CheckDraft>,
}

/// Parses a `lb_kind` / `lvs_method` statement.
fn forwarding(cx: &mut Cx, node: &Node) -> Option<ForwardingMethod> {
    let base = cx.choice(node, 0, &[("NAT", 0u8), ("DR", 1), ("TUN", 2)])?;
    match base {
        0 | 1 => {
            cx.at_most(node, 1);
            return Some(if base == 0 {
                ForwardingMethod::Nat
            } else {
                ForwardingMethod::Dr
            });
        }
        _ => {}
    }
    let (mut kind, mut port, mut checksum) = (TunnelType::Ipip, None, TunnelChecksum::Nocsum);
    let mut words = node.args.iter().skip(1);
    while let Some(w) = words.next() {
        match w.text.as_str() {
            "type" => {
                let Some(t) = words.next() else {
                    cx.error(
                        w.loc,
                        format!("`{}`: missing tunnel type after `type`", node.name()),
                    );
                    return None;
                };
                kind = cx.choice_token(
                    "tunnel type",
                    t,
                    &[
                        ("ipip", TunnelType::Ipip),
                        ("gue", TunnelType::Gue),
                        ("gre", TunnelType::Gre),
                    ],
                )?;
            }
            "port" => {
                let Some(t) = words.next() else {
                    cx.error(
                        w.loc,
                        format!("`{}`: missing port after `port`", node.name()),
                    );
                    return None;
                };
                port = Some(cx.int_token::<u16>("tunnel port", t, 1..=65535)?);
            }
            "nocsum" => checksum = TunnelChecksum::Nocsum,
            "csum" => checksum = TunnelChecksum::Csum,
            "remcsum" => checksum = TunnelChecksum::Remcsum,
            other => {
                cx.error(
                    w.loc,
                    format!("`{}`: invalid tunnel option `{other}`", node.name()),
                );
                return None;
            }
        }
    }
    if (kind == TunnelType::Gue) != port.is_some() {
        cx.error(
            node.args_loc(),
            "gue tunnels require a port, and other tunnel types cannot have one",
        );
        return None;
    }
    if kind == TunnelType::Ipip && checksum != TunnelChecksum::Nocsum {
        cx.error(
            node.args_loc(),
            "ipip tunnels do not support a checksum option",
        );
        return None;
    }
    if kind == TunnelType::Gre && checksum == TunnelChecksum::Remcsum {
        cx.error(
            node.args_loc(),
            "gre tunnels do not support the remote checksum option",
        );
        return None;
    }
    Some(ForwardingMethod::Tun {
        kind,
        port,
        checksum,
    })
}

/// `IP [PORT]` of a real or sorry server (port 0 when omitted).
fn server_addr(cx: &mut Cx, node: &Node, what: &str) -> Option<SocketAddr> {
    let ip = cx.arg(node, 0)?;
    let Ok(ip) = ip.text.parse::<IpAddr>() else {
        cx.error(
            ip.loc,
            format!("invalid {what} address `{}` - skipping", ip.text),
        );
        return None;
    };
    let port = match node.args.get(1) {
        Some(t) => cx.int_token::<u16>(what, t, 0..=65535)?,
        None => 0,
    };
    cx.at_most(node, 2);
    Some(SocketAddr::new(ip, port))
}

fn opt_bool(cx: &mut Cx, node: &Node) -> bool {
    cx.at_most(node, 1);
    cx.bool_opt(node, 0)
}

fn no_args(cx: &mut Cx, node: &Node) {
    cx.at_most(node, 0);
}

/// Builds a `virtual_server` block; `None` when it is dropped.
pub(super) fn build_vs(cx: &mut Cx, node: &Node) -> Option<VirtualServer> {
    let first = cx.arg(node, 0)?;
    let address = match first.text.as_str() {
        "group" => VsAddress::Group(cx.arg(node, 1)?.text.clone()),
        "fwmark" => VsAddress::Fwmark(cx.int(node, 1, 0..=u32::MAX)?),
        text => {
            let Ok(ip) = text.parse::<IpAddr>() else {
                cx.error(
                    first.loc,
                    format!("invalid virtual server address `{text}` - skipping"),
                );
                return None;
            };
            let port = match node.args.get(1) {
                Some(t) => cx.int_token::<u16>("virtual_server port", t, 0..=65535)?,
                None => 0,
            };
            VsAddress::Ip(SocketAddr::new(ip, port))
        }
    };
    cx.at_most(node, 2);
    let mut vs = VirtualServer::new(address, node.loc());
    let mut af: Option<IpFamily> = match &vs.address {
        VsAddress::Ip(sa) => Some(IpFamily::of(&sa.ip())),
        _ => None,
    };
    let mut sched_set = false;
    let mut method_set = false;
    let mut sorry_method: Option<ForwardingMethod> = None;
    let n_rs = node
        .children()
        .iter()
        .filter(|c| c.name() == "real_server")
        .count();
    let mut rss: Vec<RsDraft> = Vec::with_capacity(n_rs);
    for child in cx.block(node).unwrap_or(&[]) {
        let name = child.name();
        match name {
            "ip_family" => {
                let Some(f) = cx.choice(
                    child,
                    0,
                    &[("inet", IpFamily::Inet), ("inet6", IpFamily::Inet6)],
                ) else {
                    continue;
                };
                if af.is_some_and(|a| a != f) {
                    cx.error(
                        child.args_loc(),
                        "ip_family conflicts with the family of the virtual server's addresses",
                    );
                    continue;
                }
                af = Some(f);
                vs.ip_family = Some(f);
            }
            "retry" => vs.retry = cx.int(child, 0, 1..=u32::MAX).or(vs.retry),
            "delay_before_retry" => {
                vs.delay_before_retry = cx.secs(child, 0, 0.0, TIMER_MAX).or(vs.delay_before_retry)
            }
            "warmup" => vs.warmup = cx.secs(child, 0, 0.0, TIMER_MAX).or(vs.warmup),
            "connect_timeout" => {
                vs.connect_timeout = cx
                    .secs(child, 0, TIMER_MIN, CONNECT_TIMEOUT_MAX)
                    .unwrap_or(vs.connect_timeout)
            }
            "delay_loop" => {
                vs.delay_loop = cx
                    .secs(child, 0, TIMER_MIN, TIMER_MAX)
                    .unwrap_or(vs.delay_loop)
            }
            "inhibit_on_failure" => {
                no_args(cx, child);
                vs.inhibit_on_failure = true;
            }
            "lb_algo" | "lvs_sched" => {
                if let Some(s) = cx.choice(child, 0, SCHEDULERS) {
                    vs.lb_algo = s;
                    sched_set = true;
                }
            }
            "hashed" | "ops" | "flag-1" | "flag-2" | "flag-3" | "sh-port" | "sh-fallback"
            | "mh-port" | "mh-fallback" => {
                no_args(cx, child);
                let f = &mut vs.sched_flags;
                let sh = sched_set && vs.lb_algo == Scheduler::Sh;
                let mh = sched_set && vs.lb_algo == Scheduler::Mh;
                match name {
                    "ops" => f.ops = true,
                    "flag-1" => f.flag_1 = true,
                    "flag-2" => f.flag_2 = true,
                    "flag-3" => f.flag_3 = true,
                    "sh-port" | "sh-fallback" | "hashed" if sh => {
                        f.sh_port |= name == "sh-port";
                        f.sh_fallback |= name == "sh-fallback";
                        f.hashed |= name == "hashed";
                    }
                    "mh-port" | "mh-fallback" if mh => {
                        f.mh_port |= name == "mh-port";
                        f.mh_fallback |= name == "mh-fallback";
                    }
                    _ => cx.error(
                        child.loc(),
                        format!("`{name}` only applies to the sh (or, for mh-*, the mh) scheduler set before it - ignoring"),
                    ),
                }
            }
            "lb_kind" | "lvs_method" => {
                if let Some(m) = forwarding(cx, child) {
                    vs.lb_kind = m;
                    method_set = true;
                }
            }
            "persistence_engine" => {
                cx.at_most(child, 1);
                vs.persistence_engine = cx.string(child).or(vs.persistence_engine.take());
            }
            "persistence_timeout" => {
                cx.at_most(child, 1);
                if child.args.is_empty() {
                    vs.persistence_timeout = Some(DEFAULT_PERSISTENCE);
                } else if let Some(t) = cx.int(child, 0, 1..=MAX_PERSISTENCE) {
                    vs.persistence_timeout = Some(Duration::from_secs(u64::from(t)));
                }
            }
            "persistence_granularity" => {
                cx.at_most(child, 1);
                let Some(tok) = cx.arg(child, 0) else {
                    continue;
                };
                let fam = af.unwrap_or(if tok.text.contains('.') {
                    IpFamily::Inet
                } else {
                    IpFamily::Inet6
                });
                let g = match fam {
                    IpFamily::Inet6 => cx
                        .int_token::<u8>("persistence_granularity", tok, 1..=128)
                        .map(Granularity::PrefixLen),
                    IpFamily::Inet => match tok.text.parse::<Ipv4Addr>() {
                        Ok(m) => Some(Granularity::Netmask(m)),
                        Err(_) => {
                            cx.error(
                                tok.loc,
                                format!("invalid IPv4 persistence_granularity `{}`", tok.text),
                            );
                            None
                        }
                    },
                };
                if let Some(g) = g {
                    vs.persistence_granularity = Some(g);
                    af.get_or_insert(fam);
                    vs.persistence_timeout.get_or_insert(DEFAULT_PERSISTENCE);
                }
            }
            "protocol" => {
                cx.at_most(child, 1);
                let Some(tok) = cx.arg(child, 0) else {
                    continue;
                };
                let p = match tok.text.to_ascii_uppercase().as_str() {
                    "TCP" => Protocol::Tcp,
                    "UDP" => Protocol::Udp,
                    "SCTP" => Protocol::Sctp,
                    _ => {
                        cx.error(
                            tok.loc,
                            format!(
                                "unknown protocol `{}` (expected TCP, UDP or SCTP) - ignoring",
                                tok.text
                            ),
                        );
                        continue;
                    }
                };
                vs.protocol = p;
                vs.protocol_configured = true;
            }
            "ha_suspend" => {
                no_args(cx, child);
                vs.ha_suspend = true;
            }
            "smtp_alert" => vs.smtp_alert = Some(opt_bool(cx, child)),
            "virtualhost" => {
                cx.at_most(child, 1);
                vs.virtualhost = cx.string(child).or(vs.virtualhost.take());
            }
            "snmp_name" => {
                cx.at_most(child, 1);
                vs.snmp_name = cx.string(child).or(vs.snmp_name.take());
            }
            "alpha" => {
                no_args(cx, child);
                vs.alpha = true;
            }
            "omega" => {
                no_args(cx, child);
                vs.omega = true;
            }
            "quorum_up" | "quorum_down" => {
                let slot = if name == "quorum_up" {
                    &mut vs.quorum_up
                } else {
                    &mut vs.quorum_down
                };
                if slot.is_some() {
                    cx.error(
                        child.loc(),
                        format!("`{name}` script already specified - ignoring"),
                    );
                } else {
                    *slot = cx.script(child, 0);
                }
            }
            "quorum" => {
                vs.quorum = cx.int(child, 0, 1..=u32::MAX).unwrap_or(1);
            }
            "hysteresis" => vs.hysteresis = cx.int(child, 0, 0..=u32::MAX).unwrap_or(vs.hysteresis),
            "weight" => vs.weight = cx.int(child, 0, 1..=WEIGHT_MAX).unwrap_or(vs.weight),
            "sorry_server" => {
                if let Some(address) = server_addr(cx, child, "sorry server") {
                    vs.sorry_server = Some(SorryServer {
                        address,
                        inhibit: false,
                        lvs_method: vs.lb_kind,
                        loc: child.loc(),
                    });
                    sorry_method = method_set.then_some(vs.lb_kind);
                }
            }
            "sorry_server_inhibit" => {
                no_args(cx, child);
                match vs.sorry_server.as_mut() {
                    Some(s) => s.inhibit = true,
                    None => cx.error(
                        child.loc(),
                        "sorry_server_inhibit used before or without sorry_server - ignoring",
                    ),
                }
            }
            "sorry_server_lvs_method" => {
                if vs.sorry_server.is_none() {
                    cx.error(
                        child.loc(),
                        "sorry_server_lvs_method used before or without sorry_server - ignoring",
                    );
                } else if let Some(m) = forwarding(cx, child) {
                    sorry_method = Some(m);
                }
            }
            "real_server" => {
                cx.mark("virtual_server", child);
                if let Some(rs) = build_rs(cx, child, &vs, method_set) {
                    // keepalived checks the family when the real server block ends.
                    let tunnel = rs
                        .cfg
                        .method
                        .or(rs.vs_method_at_start)
                        .is_some_and(|m| m.is_tunnel());
                    let fam = IpFamily::of(&rs.rs.address.ip());
                    if !tunnel {
                        match af {
                            None => af = Some(fam),
                            Some(a) if a != fam => {
                                cx.error(
                                    child.loc(),
                                    format!(
                                        "address family of virtual server and real server {} don't match - skipping real server",
                                        rs.rs.address.ip()
                                    ),
                                );
                                continue;
                            }
                            _ => {}
                        }
                    }
                    rss.push(rs);
                }
                continue;
            }
            _ => {
                cx.unknown(child, "virtual_server", VS_KEYWORDS);
                continue;
            }
        }
        cx.mark("virtual_server", child);
    }
    super::resolve::finish_vs(cx, node, vs, af, sched_set, method_set, sorry_method, rss)
}

fn build_rs(cx: &mut Cx, node: &Node, vs: &VirtualServer, method_set: bool) -> Option<RsDraft> {
    let address = server_addr(cx, node, "real server")?;
    let mut d = RsDraft {
        rs: RealServer {
            address,
            weight: 1,
            lvs_method: vs.lb_kind,
            uthreshold: 0,
            lthreshold: 0,
            inhibit_on_failure: false,
            notify_up: None,
            notify_down: None,
            alpha: false,
            retry: None,
            delay_before_retry: None,
            warmup: None,
            connect_timeout: vs.connect_timeout,
            delay_loop: vs.delay_loop,
            smtp_alert: None,
            virtualhost: None,
            snmp_name: None,
            checkers: Vec::new(),
            loc: node.loc(),
        },
        cfg: RsCfg::default(),
        vs_method_at_start: method_set.then_some(vs.lb_kind),
        checkers: Vec::with_capacity(node.children().len().min(2)),
    };
    let (rs, cfg) = (&mut d.rs, &mut d.cfg);
    for child in node.children() {
        let name = child.name();
        match name {
            "weight" => cfg.weight = cx.int(child, 0, 0..=WEIGHT_MAX).or(cfg.weight),
            "lvs_method" => cfg.method = forwarding(cx, child).or(cfg.method),
            "uthreshold" => rs.uthreshold = cx.int(child, 0, 0..=u32::MAX).unwrap_or(rs.uthreshold),
            "lthreshold" => rs.lthreshold = cx.int(child, 0, 0..=u32::MAX).unwrap_or(rs.lthreshold),
            "inhibit_on_failure" => cfg.inhibit = Some(opt_bool(cx, child)),
            "notify_up" | "notify_down" => {
                let slot = if name == "notify_up" {
                    &mut rs.notify_up
                } else {
                    &mut rs.notify_down
                };
                if slot.is_some() {
                    cx.error(
                        child.loc(),
                        format!("`{name}` script already specified - ignoring"),
                    );
                } else {
                    *slot = cx.script(child, 0);
                }
            }
            "alpha" => cfg.alpha = Some(opt_bool(cx, child)),
            "retry" => cfg.retry = cx.int(child, 0, 1..=u32::MAX).or(cfg.retry),
            "delay_before_retry" => {
                cfg.delay_before_retry =
                    cx.secs(child, 0, 0.0, TIMER_MAX).or(cfg.delay_before_retry)
            }
            "warmup" => cfg.warmup = cx.secs(child, 0, 0.0, TIMER_MAX).or(cfg.warmup),
            "connect_timeout" => {
                cfg.connect_timeout = cx
                    .secs(child, 0, TIMER_MIN, CONNECT_TIMEOUT_MAX)
                    .or(cfg.connect_timeout)
            }
            "delay_loop" => {
                cfg.delay_loop = cx.secs(child, 0, TIMER_MIN, TIMER_MAX).or(cfg.delay_loop)
            }
            "smtp_alert" => rs.smtp_alert = Some(opt_bool(cx, child)),
            "virtualhost" => {
                cx.at_most(child, 1);
                rs.virtualhost = cx.string(child).or(rs.virtualhost.take());
            }
            "snmp_name" => {
                cx.at_most(child, 1);
                rs.snmp_name = cx.string(child).or(rs.snmp_name.take());
            }
            _ => {
                match checker::build_checker(cx, child, rs.address) {
                    Some(Some(c)) => d.checkers.push(c),
                    Some(None) => {}
                    None => cx.unknown(child, "real_server", RS_KEYWORDS),
                }
                continue;
            }
        }
        cx.mark("real_server", child);
    }
    Some(d)
}
