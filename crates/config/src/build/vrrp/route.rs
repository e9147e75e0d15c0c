//! Entries of `virtual_routes` and `static_routes` (`ip route add` syntax).

use std::net::IpAddr;
use std::time::Duration;

use super::Cx;
use super::instance::ifname_ok;
use super::ip::{Owner, Words, protocol, realms, scope, table, u8_tok, u32_tok};
use crate::build::cx::parse_i64;
use crate::model::common::IpPrefix;
use crate::model::vrrp::*;
use crate::tree::{Node, Token};

fn route_type(s: &str) -> Option<RouteType> {
    Some(match s {
        "unicast" => RouteType::Unicast,
        "local" => RouteType::Local,
        "broadcast" => RouteType::Broadcast,
        "anycast" => RouteType::Anycast,
        "multicast" => RouteType::Multicast,
        "blackhole" => RouteType::Blackhole,
        "unreachable" => RouteType::Unreachable,
        "prohibit" => RouteType::Prohibit,
        "throw" => RouteType::Throw,
        "nat" => RouteType::Nat,
        _ => return None,
    })
}

fn dst_prefix(text: &str, inet6: bool) -> Option<IpPrefix> {
    if text == "default" || text == "all" || text == "any" {
        let addr: IpAddr = if inet6 {
            std::net::Ipv6Addr::UNSPECIFIED.into()
        } else {
            std::net::Ipv4Addr::UNSPECIFIED.into()
        };
        return Some(IpPrefix { addr, len: 0 });
    }
    IpPrefix::parse(text)
}

/// `[lock] N` of a metric.
fn metric(cx: &mut Cx, w: &mut Words<'_>, opt: &Token) -> Option<Metric> {
    let mut v = w.value(cx, opt)?;
    let lock = v.text == "lock";
    if lock {
        v = w.value(cx, opt)?;
    }
    Some(Metric {
        value: u32_tok(cx, &opt.text, v)?,
        lock,
    })
}

/// `[lock] TIME` of a time metric: milliseconds, or with an `s`/`ms` suffix.
fn time_metric(cx: &mut Cx, w: &mut Words<'_>, opt: &Token) -> Option<TimeMetric> {
    let mut v = w.value(cx, opt)?;
    let lock = v.text == "lock";
    if lock {
        v = w.value(cx, opt)?;
    }
    let t = v.text.as_str();
    let (num, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 1)
    } else if let Some(n) = t.strip_suffix("msec").or_else(|| t.strip_suffix("msecs")) {
        (n, 1)
    } else if let Some(n) = t
        .strip_suffix("s")
        .or_else(|| t.strip_suffix("sec"))
        .or_else(|| t.strip_suffix("secs"))
    {
        (n, 1000)
    } else {
        (t, 1)
    };
    match parse_i64(num).and_then(|n| u64::try_from(n).ok()) {
        Some(n) => Some(TimeMetric {
            value: Duration::from_millis(n.saturating_mul(scale)),
            lock,
        }),
        None => {
            cx.error(
                v.loc,
                format!(
                    "`{}`: `{}` is not a time (milliseconds, or with s/ms)",
                    opt.text, v.text
                ),
            );
            None
        }
    }
}

fn on_off(cx: &mut Cx, tok: &Token, what: &str) -> Option<bool> {
    match tok.text.as_str() {
        "1" | "on" | "true" | "yes" | "enabled" => Some(true),
        "0" | "off" | "false" | "no" | "disabled" => Some(false),
        t => {
            cx.error(
                tok.loc,
                format!("`{what}`: expected 0/1 or enabled/disabled, got `{t}`"),
            );
            None
        }
    }
}

/// One route entry.
pub fn route(cx: &mut Cx, node: &Node, owner: Owner) -> Option<VirtualRoute> {
    if node.block.is_some() {
        cx.error(node.keyword.loc, "a route entry does not take a block");
        return None;
    }
    let mut r = VirtualRoute::new(
        IpPrefix {
            addr: std::net::Ipv4Addr::UNSPECIFIED.into(),
            len: 0,
        },
        node.keyword.loc,
    );
    let inet6 = node.words().any(|t| t.text == "inet6");
    let mut dst_seen = false;
    let mut ok = true;
    let mut w = Words::new(node);
    let mut via_inet6 = false;
    while let Some(opt) = w.next() {
        let res: Option<()> = (|| {
            let t = opt.text.as_str();
            if let Some(rt) = route_type(t) {
                if dst_seen {
                    cx.error(
                        opt.loc,
                        format!("route type `{t}` must come before the destination"),
                    );
                    return None;
                }
                r.route_type = rt;
                return Some(());
            }
            match t {
                "to" => {
                    let v = w.value(cx, opt)?;
                    let v = match route_type(&v.text) {
                        Some(rt) => {
                            r.route_type = rt;
                            w.value(cx, opt)?
                        }
                        None => v,
                    };
                    set_dst(cx, &mut r, &mut dst_seen, v, inet6)?;
                }
                "src" => {
                    let v = w.value(cx, opt)?;
                    r.src = Some(cx.ip_token("src", v)?)
                }
                "from" => {
                    let v = w.value(cx, opt)?;
                    r.from = Some(cx.prefix_token("from", v)?)
                }
                "via" | "gw" => {
                    if t == "gw" {
                        cx.error(opt.loc, "`gw` for routes is deprecated; use `via`");
                    }
                    let mut v = w.value(cx, opt)?;
                    if v.text == "inet" || v.text == "inet6" {
                        via_inet6 = v.text == "inet6";
                        v = w.value(cx, opt)?;
                    }
                    r.via = Some(cx.ip_token(t, v)?);
                }
                "or" => {
                    cx.error(opt.loc, "`or` for routes is deprecated; use `nexthop`");
                    let v = w.value(cx, opt)?;
                    r.or = Some(cx.ip_token("or", v)?)
                }
                "dev" | "oif" => {
                    let v = w.value(cx, opt)?;
                    if !ifname_ok(cx, v) {
                        return None;
                    }
                    r.dev = Some(v.text.clone());
                }
                "scope" => {
                    let v = w.value(cx, opt)?;
                    r.scope = Some(scope(cx, v)?)
                }
                "table" | "lookup" => {
                    let v = w.value(cx, opt)?;
                    r.table = Some(table(cx, v)?)
                }
                "metric" | "priority" | "preference" => {
                    let v = w.value(cx, opt)?;
                    r.metric = Some(u32_tok(cx, t, v)?)
                }
                "protocol" | "proto" => {
                    let v = w.value(cx, opt)?;
                    r.protocol = Some(protocol(cx, v)?)
                }
                "tos" | "dsfield" => {
                    let v = w.value(cx, opt)?;
                    r.tos = Some(u8_tok(cx, t, v)?)
                }
                "realms" => {
                    let v = w.value(cx, opt)?;
                    r.realms = Some(realms(cx, v)?)
                }
                "mtu" => r.metrics.mtu = Some(metric(cx, &mut w, opt)?),
                "hoplimit" => r.metrics.hoplimit = Some(metric(cx, &mut w, opt)?),
                "advmss" => r.metrics.advmss = Some(metric(cx, &mut w, opt)?),
                "reordering" => r.metrics.reordering = Some(metric(cx, &mut w, opt)?),
                "window" => r.metrics.window = Some(metric(cx, &mut w, opt)?),
                "cwnd" => r.metrics.cwnd = Some(metric(cx, &mut w, opt)?),
                "ssthresh" => r.metrics.ssthresh = Some(metric(cx, &mut w, opt)?),
                "initcwnd" => r.metrics.initcwnd = Some(metric(cx, &mut w, opt)?),
                "initrwnd" => r.metrics.initrwnd = Some(metric(cx, &mut w, opt)?),
                "rtt" => r.metrics.rtt = Some(time_metric(cx, &mut w, opt)?),
                "rttvar" => r.metrics.rttvar = Some(time_metric(cx, &mut w, opt)?),
                "rto_min" => r.metrics.rto_min = Some(time_metric(cx, &mut w, opt)?),
                "features" => {
                    let v = w.value(cx, opt)?;
                    if v.text != "ecn" {
                        cx.error(
                            v.loc,
                            format!("`features`: unknown feature `{}` (expected ecn)", v.text),
                        );
                        return None;
                    }
                    r.metrics.features_ecn = true;
                }
                "quickack" => {
                    let v = w.value(cx, opt)?;
                    r.metrics.quickack = Some(on_off(cx, v, t)?)
                }
                "fastopen_no_cookie" => {
                    let v = w.value(cx, opt)?;
                    r.metrics.fastopen_no_cookie = Some(on_off(cx, v, t)?)
                }
                "congctl" => {
                    let mut v = w.value(cx, opt)?;
                    let lock = v.text == "lock";
                    if lock {
                        v = w.value(cx, opt)?;
                    }
                    r.metrics.congctl = Some((v.text.clone(), lock));
                }
                "pref" => {
                    let v = w.value(cx, opt)?;
                    r.pref = Some(cx.choice_token(
                        "pref",
                        v,
                        &[
                            ("low", RoutePref::Low),
                            ("medium", RoutePref::Medium),
                            ("high", RoutePref::High),
                        ],
                    )?);
                }
                "ttl-propagate" => {
                    let v = w.value(cx, opt)?;
                    r.ttl_propagate = Some(on_off(cx, v, t)?)
                }
                "onlink" => r.onlink = true,
                "vrf" => r.vrf = Some(w.value(cx, opt)?.text.clone()),
                "nexthop" => {
                    r.nexthops.push(nexthop(cx, &mut w)?);
                    if let Some(next) = w.peek().filter(|n| n.text != "nexthop") {
                        cx.error(
                            next.loc,
                            format!(
                                "route has trailing nonsense after nexthops: `{}`",
                                next.text
                            ),
                        );
                        w.i = w.toks.len();
                        return None;
                    }
                }
                "append" => r.append = true,
                "inet6" => r.inet6 = true,
                "inet" => {}
                "no_track" => r.no_track = true,
                "track_group" if owner == Owner::Static => {
                    r.track_group = Some(w.value(cx, opt)?.text.clone())
                }
                "encap" => {
                    cx.error(opt.loc, "`encap` routes are not supported");
                    w.i = w.toks.len();
                    return None;
                }
                _ if !dst_seen => set_dst(cx, &mut r, &mut dst_seen, opt, inet6)?,
                other => {
                    cx.error(opt.loc, format!("unknown route option `{other}`"));
                    return None;
                }
            }
            Some(())
        })();
        ok &= res.is_some();
    }
    if !dst_seen {
        cx.error(node.keyword.loc, "route without a destination - skipped");
        return None;
    }
    let v4 = r.dst.is_ipv4();
    let family_err = |cx: &mut Cx, what: &str, a: IpAddr| {
        cx.error(
            node.keyword.loc,
            format!(
                "route to {}: {what} {a} is of the other address family",
                r.dst
            ),
        );
    };
    if let Some(a) = r.src.filter(|a| a.is_ipv4() != v4) {
        family_err(cx, "src", a);
        ok = false;
    }
    if let Some(a) = r.via.filter(|a| a.is_ipv4() != v4 && !(v4 && via_inet6)) {
        family_err(cx, "via", a);
        ok = false;
    }
    if let Some(a) = r.or.filter(|a| a.is_ipv4() != v4) {
        family_err(cx, "or", a);
        ok = false;
    }
    if r.inet6 && v4 && r.dst.len != 0 {
        cx.error(
            node.keyword.loc,
            format!("route to {}: `inet6` with an IPv4 destination", r.dst),
        );
        ok = false;
    }
    // Routes are tracked unless `no_track`, and tracking needs the interface.
    let tracked = !r.no_track;
    if tracked && r.dev.is_none() {
        cx.error(
            node.keyword.loc,
            format!("route to {}: cannot be tracked with no interface (`dev`) given; add `dev` or `no_track`", r.dst),
        );
        if r.track_group.is_some() {
            cx.error(
                node.keyword.loc,
                format!(
                    "route to {}: a static route with `track_group` needs `dev`",
                    r.dst
                ),
            );
            ok = false;
        }
    }
    if tracked && r.protocol.is_some_and(|p| p != 18) {
        cx.error(
            node.keyword.loc,
            format!("route to {}: a tracked route must use protocol keepalived (18); add `no_track` to use another", r.dst),
        );
    }
    ok.then_some(r)
}

fn set_dst(
    cx: &mut Cx,
    r: &mut VirtualRoute,
    dst_seen: &mut bool,
    tok: &Token,
    inet6: bool,
) -> Option<()> {
    if *dst_seen {
        cx.error(
            tok.loc,
            format!("route has two destinations (`{}`)", tok.text),
        );
        return None;
    }
    match dst_prefix(&tok.text, inet6) {
        Some(p) => {
            r.dst = p;
            *dst_seen = true;
            Some(())
        }
        None => {
            cx.error(
                tok.loc,
                format!(
                    "`{}` is neither a route option nor a destination address/prefix",
                    tok.text
                ),
            );
            None
        }
    }
}

fn nexthop(cx: &mut Cx, w: &mut Words<'_>) -> Option<NextHop> {
    let mut nh = NextHop::default();
    while let Some(t) = w.peek() {
        match t.text.as_str() {
            "via" | "gw" => {
                w.next();
                let mut v = w.value(cx, t)?;
                if v.text == "inet" || v.text == "inet6" {
                    v = w.value(cx, t)?;
                }
                nh.via = Some(cx.ip_token("nexthop via", v)?);
            }
            "dev" => {
                w.next();
                let v = w.value(cx, t)?;
                if !ifname_ok(cx, v) {
                    return None;
                }
                nh.dev = Some(v.text.clone());
            }
            "weight" => {
                w.next();
                let v = w.value(cx, t)?;
                nh.weight = Some(cx.int_token::<u16>("nexthop weight", v, 1..=256)?);
            }
            "onlink" => {
                w.next();
                nh.onlink = true;
            }
            "realms" => {
                w.next();
                let v = w.value(cx, t)?;
                nh.realms = Some(realms(cx, v)?);
            }
            _ => break,
        }
    }
    Some(nh)
}
