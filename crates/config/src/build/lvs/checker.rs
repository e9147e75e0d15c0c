//! Health checker blocks inside `real_server`.

use std::net::SocketAddr;
use std::time::Duration;

use super::vs::{CONNECT_TIMEOUT_MAX, TIMER_MAX, TIMER_MIN};
use crate::build::Cx;
use crate::diag::Loc;
use crate::model::common::Script;
use crate::model::lvs::*;
use crate::tree::Node;

#[rustfmt::skip]
const CONN_KEYWORDS: &[&str] = &[
    "connect_ip", "connect_port", "bindto", "bind_port", "bind_if", "connect_timeout", "fwmark",
];
#[rustfmt::skip]
const TCP_KEYWORDS: &[&str] = &[
    "connect_ip", "connect_port", "bindto", "bind_port", "bind_if", "connect_timeout", "fwmark", "retry",
    "delay_before_retry", "warmup", "delay_loop", "alpha", "log_all_failures",
];
#[rustfmt::skip]
const HTTP_KEYWORDS: &[&str] = &[
    "connect_ip", "connect_port", "bindto", "bind_port", "bind_if", "connect_timeout", "fwmark", "retry",
    "delay_before_retry", "warmup", "delay_loop", "alpha", "log_all_failures", "nb_get_retry", "virtualhost",
    "http_protocol", "enable_sni", "sni_name", "fast_recovery", "tls_compliant", "url",
];
#[rustfmt::skip]
const MISC_KEYWORDS: &[&str] = &[
    "retry", "delay_before_retry", "warmup", "delay_loop", "alpha", "log_all_failures", "misc_path",
    "misc_timeout", "misc_dynamic", "user",
];
#[rustfmt::skip]
const SMTP_KEYWORDS: &[&str] = &[
    "connect_ip", "connect_port", "bindto", "bind_port", "bind_if", "connect_timeout", "fwmark", "retry",
    "delay_before_retry", "warmup", "delay_loop", "alpha", "log_all_failures", "helo_name", "host",
];
#[rustfmt::skip]
const DNS_KEYWORDS: &[&str] = &[
    "connect_ip", "connect_port", "bindto", "bind_port", "bind_if", "connect_timeout", "fwmark", "retry",
    "delay_before_retry", "warmup", "delay_loop", "alpha", "log_all_failures", "type", "name",
];
#[rustfmt::skip]
const UDP_KEYWORDS: &[&str] = &[
    "connect_ip", "connect_port", "bindto", "bind_port", "bind_if", "connect_timeout", "fwmark", "retry",
    "delay_before_retry", "warmup", "delay_loop", "alpha", "log_all_failures", "payload", "require_reply",
    "min_reply_length", "max_reply_length",
];
const FILE_KEYWORDS: &[&str] = &["track_file", "dynamic", "weight"];
const BFD_KEYWORDS: &[&str] = &["name", "alpha"];

/// Values a checker configured itself (None = inherit from the real server).
#[derive(Default)]
struct CheckCfg {
    retry: Option<u32>,
    delay_before_retry: Option<Duration>,
    warmup: Option<Duration>,
    delay_loop: Option<Duration>,
    connect_timeout: Option<Duration>,
    alpha: Option<bool>,
}

/// A checker as parsed, before inherited values are resolved.
pub(super) struct CheckDraft {
    kind: CheckerKind,
    common: CheckCommon,
    cfg: CheckCfg,
    /// The checker type's default retry count.
    default_retry: u32,
    /// The checker type's default delay before retry (None: its delay_loop).
    default_dbr: Option<Duration>,
    /// MISC_CHECK's configured timeout.
    misc_timeout: Option<Duration>,
    /// SMTP hosts' configured connect timeouts.
    host_timeouts: Vec<Option<Duration>>,
    loc: crate::diag::Loc,
}

#[derive(Clone, Copy, PartialEq)]
enum Ty {
    Tcp,
    Http,
    Ssl,
    Misc,
    Smtp,
    Dns,
    Udp,
    Ping,
    File,
    Bfd,
}

/// Builds a checker block. `None`: `node` is not a checker keyword; `Some(None)`: a checker
/// with errors, dropped.
pub(super) fn build_checker(
    cx: &mut Cx,
    node: &Node,
    rs_addr: SocketAddr,
) -> Option<Option<CheckDraft>> {
    let (ty, block, known): (Ty, &'static str, &'static [&'static str]) = match node.name() {
        "TCP_CHECK" => (Ty::Tcp, "TCP_CHECK", TCP_KEYWORDS),
        "HTTP_GET" => (Ty::Http, "HTTP_GET", HTTP_KEYWORDS),
        "SSL_GET" => (Ty::Ssl, "SSL_GET", HTTP_KEYWORDS),
        "MISC_CHECK" => (Ty::Misc, "MISC_CHECK", MISC_KEYWORDS),
        "SMTP_CHECK" => (Ty::Smtp, "SMTP_CHECK", SMTP_KEYWORDS),
        "DNS_CHECK" => (Ty::Dns, "DNS_CHECK", DNS_KEYWORDS),
        "UDP_CHECK" => (Ty::Udp, "UDP_CHECK", UDP_KEYWORDS),
        "PING_CHECK" => (Ty::Ping, "PING_CHECK", TCP_KEYWORDS),
        "FILE_CHECK" => (Ty::File, "FILE_CHECK", FILE_KEYWORDS),
        "BFD_CHECK" => (Ty::Bfd, "BFD_CHECK", BFD_KEYWORDS),
        _ => return None,
    };
    cx.mark("real_server", node);
    cx.at_most(node, 0);
    Some(build(cx, node, ty, block, known, rs_addr))
}

fn build(
    cx: &mut Cx,
    node: &Node,
    ty: Ty,
    block: &'static str,
    known: &'static [&'static str],
    rs_addr: SocketAddr,
) -> Option<CheckDraft> {
    let mut common = CheckCommon::default();
    let mut cfg = CheckCfg::default();
    let mut http = HttpCheck::default();
    let mut http_vhost: Option<String> = None;
    let mut misc_path: Option<Script> = None;
    let mut misc_user: Option<(String, Option<String>)> = None;
    let mut misc_timeout = None;
    let mut misc_dynamic = false;
    let mut smtp = SmtpCheck {
        helo_name: "smtpchecker.keepalived.org".into(),
        hosts: Vec::new(),
    };
    let mut host_timeouts = Vec::new();
    let mut dns = DnsCheck {
        query_type: DnsType::Soa,
        name: ".".into(),
    };
    let mut udp = UdpCheck {
        payload: None,
        require_reply: false,
        reply_pattern: None,
        min_reply_length: 0,
        max_reply_length: 255,
    };
    let mut file = FileCheck {
        track_file: String::new(),
        dynamic: false,
        weight: 1,
        reverse: false,
        loc: Loc::default(),
    };
    let mut bfd_name: Option<(String, Loc)> = None;
    let mut ok = true;
    let conn = !matches!(ty, Ty::Misc | Ty::File | Ty::Bfd);
    let timers = !matches!(ty, Ty::File | Ty::Bfd);
    for child in cx.block(node).unwrap_or(&[]) {
        let name = child.name();
        let handled = (conn
            && conn_keyword(cx, child, &mut common, &mut cfg.connect_timeout, rs_addr))
            || (timers && timer_keyword(cx, child, &mut common, &mut cfg))
            || match (ty, name) {
                (Ty::Bfd, "alpha") => {
                    cx.at_most(child, 1);
                    cfg.alpha = Some(cx.bool_opt(child, 0));
                    true
                }
                (Ty::Http | Ty::Ssl, _) => {
                    super::http::http_keyword(cx, child, &mut http, &mut http_vhost, &mut cfg.retry)
                }
                (Ty::Misc, "misc_path") => {
                    if misc_path.is_some() {
                        cx.error(child.loc(), "misc_path already specified - replacing");
                    }
                    misc_path = cx.script(child, 0).or(misc_path.take());
                    true
                }
                (Ty::Misc, "misc_timeout") => {
                    misc_timeout = cx.secs(child, 0, 0.0, f64::from(u32::MAX)).or(misc_timeout);
                    true
                }
                (Ty::Misc, "misc_dynamic") => {
                    cx.at_most(child, 0);
                    misc_dynamic = true;
                    true
                }
                (Ty::Misc, "user") => {
                    if let Some(u) = cx.string(child) {
                        misc_user = Some((u, child.args.get(1).map(|t| t.text.clone())));
                    }
                    cx.at_most(child, 2);
                    true
                }
                (Ty::Smtp, "helo_name") => {
                    cx.at_most(child, 1);
                    if let Some(h) = cx.string(child) {
                        smtp.helo_name = h;
                    }
                    true
                }
                (Ty::Smtp, "host") => {
                    let (host, timeout) = smtp_host(cx, child, rs_addr);
                    if let Some(h) = host {
                        smtp.hosts.push(h);
                        host_timeouts.push(timeout);
                    }
                    true
                }
                (Ty::Dns, "type") => {
                    cx.at_most(child, 1);
                    if let Some(tok) = cx.arg(child, 0) {
                        let t = match tok.text.to_ascii_uppercase().as_str() {
                            "A" => Some(DnsType::A),
                            "NS" => Some(DnsType::Ns),
                            "CNAME" => Some(DnsType::Cname),
                            "SOA" => Some(DnsType::Soa),
                            "MX" => Some(DnsType::Mx),
                            "TXT" => Some(DnsType::Txt),
                            "AAAA" => Some(DnsType::Aaaa),
                            _ => None,
                        };
                        match t {
                            Some(t) => dns.query_type = t,
                            None => cx.error(
                                tok.loc,
                                format!("unknown DNS check type `{}` (expected A, NS, CNAME, SOA, MX, TXT or AAAA) - ignoring", tok.text),
                            ),
                        }
                    }
                    true
                }
                (Ty::Dns, "name") => {
                    cx.at_most(child, 1);
                    if let Some(n) = cx.string(child) {
                        dns.name = n;
                    }
                    true
                }
                (Ty::Udp, "payload") => {
                    if cx.arg(child, 0).is_some() {
                        match super::hex::parse_hex(child, false) {
                            Some(p) => udp.payload = Some(p.data),
                            None => cx.error(
                                child.args_loc(),
                                "invalid hex string for UDP_CHECK payload",
                            ),
                        }
                    }
                    true
                }
                (Ty::Udp, "require_reply") => {
                    udp.require_reply = true;
                    if !child.args.is_empty() {
                        match super::hex::parse_hex(child, true) {
                            Some(p) => udp.reply_pattern = Some(p),
                            None => cx.error(
                                child.args_loc(),
                                "invalid hex string for UDP_CHECK require_reply",
                            ),
                        }
                    }
                    true
                }
                (Ty::Udp, "min_reply_length") => {
                    udp.min_reply_length =
                        cx.int(child, 0, 0..=65535).unwrap_or(udp.min_reply_length);
                    true
                }
                (Ty::Udp, "max_reply_length") => {
                    udp.max_reply_length =
                        cx.int(child, 0, 0..=65535).unwrap_or(udp.max_reply_length);
                    true
                }
                (Ty::File, "track_file") => {
                    cx.at_most(child, 1);
                    if let Some(n) = cx.string(child) {
                        file.track_file = n;
                        file.loc = child.loc();
                    }
                    true
                }
                (Ty::File, "dynamic") => {
                    cx.at_most(child, 0);
                    file.dynamic = true;
                    true
                }
                (Ty::File, "weight") => {
                    if let Some(w) = cx.int(child, 0, -2147483647..=2147483647) {
                        file.weight = w;
                        file.reverse = false;
                        match child.args.get(1) {
                            Some(t) if t.text == "reverse" => file.reverse = true,
                            Some(t) => cx.error(
                                t.loc,
                                format!(
                                    "FILE_CHECK weight: unknown option `{}` (expected reverse)",
                                    t.text
                                ),
                            ),
                            None => {}
                        }
                        cx.at_most(child, 2);
                    }
                    true
                }
                (Ty::Bfd, "name") => {
                    cx.at_most(child, 1);
                    bfd_name = cx
                        .string(child)
                        .map(|n| (n, child.loc()))
                        .or(bfd_name.take());
                    true
                }
                _ => false,
            };
        if handled {
            cx.mark(block, child);
        } else {
            cx.unknown(child, block, known);
        }
    }
    let loc = node.loc();
    let (kind, default_retry, default_dbr) = match ty {
        Ty::Tcp => (CheckerKind::Tcp, 1, Some(Duration::from_secs(1))),
        Ty::Ping => (CheckerKind::Ping, 1, Some(Duration::from_secs(1))),
        Ty::Http | Ty::Ssl => {
            if http.urls.is_empty() {
                cx.error(
                    loc,
                    format!("{block} checker has no url specified - ignoring"),
                );
                ok = false;
            }
            http.virtualhost = http_vhost;
            let k = if ty == Ty::Http {
                CheckerKind::Http(Box::new(http))
            } else {
                CheckerKind::Ssl(Box::new(http))
            };
            (k, 1, Some(Duration::from_secs(3)))
        }
        Ty::Misc => {
            let Some(mut script) = misc_path else {
                cx.error(
                    loc,
                    "MISC_CHECK: no script path (misc_path) specified - skipping",
                );
                return None;
            };
            // Words after misc_path's script are not a user (that is `user`).
            (script.user, script.group) = match misc_user {
                Some((user, group)) => (Some(user), group),
                None => (None, None),
            };
            (
                CheckerKind::Misc(Box::new(MiscCheck {
                    script,
                    timeout: Duration::ZERO,
                    dynamic: misc_dynamic,
                })),
                0,
                Some(Duration::from_secs(1)),
            )
        }
        Ty::Smtp => (
            CheckerKind::Smtp(Box::new(smtp)),
            1,
            Some(Duration::from_secs(1)),
        ),
        Ty::Dns => (CheckerKind::Dns(dns), 3, None),
        Ty::Udp => {
            if udp.min_reply_length > udp.max_reply_length {
                cx.error(
                    loc,
                    format!(
                        "UDP_CHECK min_reply_length {} > max_reply_length {} - will always fail",
                        udp.min_reply_length, udp.max_reply_length
                    ),
                );
            }
            (
                CheckerKind::Udp(Box::new(udp)),
                1,
                Some(Duration::from_secs(1)),
            )
        }
        Ty::File => {
            if file.track_file.is_empty() {
                cx.error(loc, "FILE_CHECK has no track_file specified - ignoring");
                return None;
            }
            (CheckerKind::File(file), 1, Some(Duration::from_secs(1)))
        }
        Ty::Bfd => {
            let Some((name, name_loc)) = bfd_name else {
                cx.error(loc, "BFD_CHECK has no name specified - ignoring");
                return None;
            };
            (
                CheckerKind::Bfd(BfdCheck {
                    name,
                    loc: name_loc,
                }),
                1,
                Some(Duration::from_secs(1)),
            )
        }
    };
    if !ok {
        return None;
    }
    Some(CheckDraft {
        kind,
        common,
        cfg,
        default_retry,
        default_dbr,
        misc_timeout,
        host_timeouts,
        loc,
    })
}

/// The connection keywords; false when `node` is not one.
fn conn_keyword(
    cx: &mut Cx,
    node: &Node,
    common: &mut CheckCommon,
    timeout: &mut Option<Duration>,
    rs_addr: SocketAddr,
) -> bool {
    match node.name() {
        "connect_ip" => {
            cx.at_most(node, 1);
            if let Some(ip) = cx.ip(node, 0) {
                if common.bindto.is_some_and(|b| b.is_ipv4() != ip.is_ipv4()) {
                    cx.error(node.args_loc(), format!("connect_ip address {ip} does not match address family of bindto - skipping"));
                } else {
                    common.connect_ip = Some(ip);
                }
            }
        }
        "connect_port" => {
            cx.at_most(node, 1);
            common.connect_port = cx.int(node, 0, 1..=65535).or(common.connect_port);
        }
        "bindto" => {
            cx.at_most(node, 1);
            if let Some(ip) = cx.ip(node, 0) {
                let dst = common.connect_ip.unwrap_or(rs_addr.ip());
                if dst.is_ipv4() != ip.is_ipv4() {
                    cx.error(node.args_loc(), format!("bindto address {ip} does not match address family of connect_ip - skipping"));
                } else {
                    common.bindto = Some(ip);
                }
            }
        }
        "bind_port" => {
            cx.at_most(node, 1);
            common.bind_port = cx.int(node, 0, 1..=65535).or(common.bind_port);
        }
        "bind_if" => {
            cx.at_most(node, 1);
            if let Some(tok) = cx.arg(node, 0) {
                if tok.text.len() > 15 {
                    cx.error(
                        tok.loc,
                        format!("interface name `{}` is too long - ignoring", tok.text),
                    );
                } else {
                    common.bind_if = Some(tok.text.clone());
                }
            }
        }
        "connect_timeout" => {
            *timeout = cx
                .secs(node, 0, TIMER_MIN, CONNECT_TIMEOUT_MAX)
                .or(*timeout)
        }
        "fwmark" => common.fwmark = cx.int(node, 0, 0..=u32::MAX).or(common.fwmark),
        _ => return false,
    }
    true
}

/// The timing keywords every launched checker has; false when `node` is not one.
fn timer_keyword(cx: &mut Cx, node: &Node, common: &mut CheckCommon, cfg: &mut CheckCfg) -> bool {
    match node.name() {
        "retry" => cfg.retry = cx.int(node, 0, 0..=u32::MAX).or(cfg.retry),
        "delay_before_retry" => {
            cfg.delay_before_retry = cx.secs(node, 0, 0.0, TIMER_MAX).or(cfg.delay_before_retry)
        }
        "warmup" => cfg.warmup = cx.secs(node, 0, 0.0, TIMER_MAX).or(cfg.warmup),
        "delay_loop" => cfg.delay_loop = cx.secs(node, 0, TIMER_MIN, TIMER_MAX).or(cfg.delay_loop),
        "alpha" => {
            cx.at_most(node, 1);
            cfg.alpha = Some(cx.bool_opt(node, 0));
        }
        "log_all_failures" => {
            cx.at_most(node, 1);
            common.log_all_failures = cx.bool_opt(node, 0);
        }
        _ => return false,
    }
    true
}

fn smtp_host(
    cx: &mut Cx,
    node: &Node,
    rs_addr: SocketAddr,
) -> (Option<SmtpHost>, Option<Duration>) {
    let mut common = CheckCommon::default();
    let mut timeout = None;
    for child in cx.block(node).unwrap_or(&[]) {
        if conn_keyword(cx, child, &mut common, &mut timeout, rs_addr) {
            cx.mark("host", child);
        } else {
            cx.unknown(child, "host", CONN_KEYWORDS);
        }
    }
    let host = SmtpHost {
        connect_ip: common.connect_ip,
        connect_port: common.connect_port,
        bindto: common.bindto,
        bind_port: common.bind_port,
        bind_if: common.bind_if,
        connect_timeout: Duration::ZERO,
        fwmark: common.fwmark,
        loc: node.loc(),
    };
    (Some(host), timeout)
}

/// Resolves a checker's inherited values from its real server (already resolved itself).
pub(super) fn resolve(d: CheckDraft, rs: &RealServer, vs: &VirtualServer) -> Checker {
    let CheckDraft {
        mut kind,
        mut common,
        cfg,
        default_retry,
        default_dbr,
        misc_timeout,
        host_timeouts,
        loc,
    } = d;
    common.alpha = cfg.alpha.unwrap_or(rs.alpha);
    common.retry = cfg.retry.or(rs.retry).unwrap_or(default_retry);
    common.connect_timeout = cfg.connect_timeout.unwrap_or(rs.connect_timeout);
    common.delay_loop = cfg.delay_loop.unwrap_or(rs.delay_loop);
    common.warmup = cfg.warmup.or(rs.warmup).unwrap_or(common.delay_loop);
    common.delay_before_retry = cfg
        .delay_before_retry
        .or(rs.delay_before_retry)
        .or(default_dbr)
        .unwrap_or(common.delay_loop);
    match &mut kind {
        CheckerKind::Http(h) | CheckerKind::Ssl(h) if h.virtualhost.is_none() => {
            h.virtualhost = rs.virtualhost.clone().or_else(|| vs.virtualhost.clone());
        }
        CheckerKind::Misc(m) => {
            m.timeout = misc_timeout
                .filter(|t| !t.is_zero())
                .unwrap_or(common.delay_loop);
        }
        CheckerKind::Smtp(s) => {
            for (h, t) in s.hosts.iter_mut().zip(host_timeouts) {
                h.connect_timeout = t.unwrap_or(common.connect_timeout);
            }
        }
        _ => {}
    }
    Checker { kind, common, loc }
}
