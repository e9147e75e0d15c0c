//! Entries of `virtual_rules` and `static_rules` (`ip rule add` syntax).

use super::Cx;
use super::instance::ifname_ok;
use super::ip::{Owner, Words, ip_proto, protocol, realms, table, u8_tok, u32_tok};
use crate::build::cx::parse_i64;
use crate::model::vrrp::*;
use crate::tree::Node;

/// One rule entry.
pub fn rule(cx: &mut Cx, node: &Node, owner: Owner) -> Option<VirtualRule> {
    if node.block.is_some() {
        cx.error(node.keyword.loc, "a rule entry does not take a block");
        return None;
    }
    let mut r = VirtualRule::new(node.keyword.loc);
    let mut ok = true;
    let mut w = Words::new(node);
    while let Some(opt) = w.next() {
        let res: Option<()> = (|| {
            let t = opt.text.as_str();
            match t {
                "from" | "to" => {
                    let v = w.value(cx, opt)?;
                    let a = match v.text.as_str() {
                        "all" | "any" | "default" => RuleAddr::All,
                        _ => RuleAddr::Prefix(cx.prefix_token(t, v)?),
                    };
                    if t == "from" {
                        r.from = Some(a);
                    } else {
                        r.to = Some(a);
                    }
                }
                "not" => r.invert = true,
                "table" | "lookup" => {
                    let v = w.value(cx, opt)?;
                    r.action = Some(RuleAction::Table(table(cx, v)?))
                }
                "goto" => {
                    let v = w.value(cx, opt)?;
                    r.action = Some(RuleAction::Goto(u32_tok(cx, t, v)?))
                }
                "nop" => r.action = Some(RuleAction::Nop),
                "blackhole" => r.action = Some(RuleAction::Blackhole),
                "unreachable" => r.action = Some(RuleAction::Unreachable),
                "prohibit" => r.action = Some(RuleAction::Prohibit),
                "priority" | "preference" | "pref" | "order" => {
                    let v = w.value(cx, opt)?;
                    r.priority = Some(u32_tok(cx, t, v)?)
                }
                "fwmark" => {
                    let v = w.value(cx, opt)?;
                    let num = |s: &str| parse_i64(s).and_then(|v| u32::try_from(v).ok());
                    let fm = match v.text.split_once('/') {
                        Some((m, k)) => num(m).zip(num(k)).map(|(m, k)| (m, Some(k))),
                        None => num(&v.text).map(|m| (m, None)),
                    };
                    match fm {
                        Some(fm) => r.fwmark = Some(fm),
                        None => {
                            cx.error(v.loc, format!("`fwmark`: `{}` is not MARK[/MASK]", v.text));
                            return None;
                        }
                    }
                }
                "iif" | "dev" | "oif" => {
                    let v = w.value(cx, opt)?;
                    if !ifname_ok(cx, v) {
                        return None;
                    }
                    if t == "oif" {
                        r.oif = Some(v.text.clone());
                    } else {
                        r.iif = Some(v.text.clone());
                    }
                }
                "tos" | "dsfield" => {
                    let v = w.value(cx, opt)?;
                    r.tos = Some(u8_tok(cx, t, v)?)
                }
                "realms" => {
                    let v = w.value(cx, opt)?;
                    r.realms = Some(realms(cx, v)?)
                }
                "suppress_prefixlength" | "sup_pl" => {
                    let v = w.value(cx, opt)?;
                    r.suppress_prefixlength = Some(u32_tok(cx, t, v)?)
                }
                "suppress_ifgroup" | "sup_group" => {
                    let v = w.value(cx, opt)?;
                    r.suppress_ifgroup = Some(u32_tok(cx, t, v)?)
                }
                "uidrange" => {
                    let v = w.value(cx, opt)?;
                    let num = |s: &str| parse_i64(s).and_then(|v| u32::try_from(v).ok());
                    match v.text.split_once('-').and_then(|(a, b)| num(a).zip(num(b))) {
                        Some((a, b)) if a <= b => r.uidrange = Some((a, b)),
                        _ => {
                            cx.error(v.loc, format!("`uidrange`: `{}` is not START-END", v.text));
                            return None;
                        }
                    }
                }
                "l3mdev" => r.l3mdev = true,
                "protocol" | "proto" => {
                    let v = w.value(cx, opt)?;
                    r.protocol = Some(protocol(cx, v)?)
                }
                "ip_proto" | "ipproto" => {
                    let v = w.value(cx, opt)?;
                    r.ip_proto = Some(ip_proto(cx, v)?)
                }
                "sport" | "dport" => {
                    let v = w.value(cx, opt)?;
                    let num = |s: &str| parse_i64(s).and_then(|v| u16::try_from(v).ok());
                    let pr = match v.text.split_once('-') {
                        Some((a, b)) => num(a).zip(num(b)),
                        None => num(&v.text).map(|p| (p, p)),
                    };
                    match pr {
                        Some((start, end)) if start <= end => {
                            let pr = Some(PortRange { start, end });
                            if t == "sport" {
                                r.sport = pr;
                            } else {
                                r.dport = pr;
                            }
                        }
                        _ => {
                            cx.error(
                                v.loc,
                                format!("`{t}`: `{}` is not PORT or START-END", v.text),
                            );
                            return None;
                        }
                    }
                }
                "inet6" => r.inet6 = true,
                "inet" => {}
                "no_track" => r.no_track = true,
                "track_group" if owner == Owner::Static => {
                    r.track_group = Some(w.value(cx, opt)?.text.clone())
                }
                other => {
                    cx.error(opt.loc, format!("unknown rule option `{other}`"));
                    return None;
                }
            }
            Some(())
        })();
        ok &= res.is_some();
    }
    let fam = |a: &Option<RuleAddr>| match a {
        Some(RuleAddr::Prefix(p)) => Some(p.is_ipv4()),
        _ => None,
    };
    if let (Some(f), Some(t)) = (fam(&r.from), fam(&r.to))
        && f != t
    {
        cx.error(
            node.keyword.loc,
            "rule: `from` and `to` are of different address families",
        );
        ok = false;
    }
    if r.inet6 && (fam(&r.from) == Some(true) || fam(&r.to) == Some(true)) {
        cx.error(node.keyword.loc, "rule: `inet6` with an IPv4 address");
        ok = false;
    }
    if r.priority.is_none() {
        cx.error(
            node.keyword.loc,
            "rule has no `priority`/`preference`; keepalived would pick 16384, which is probably not what you want",
        );
    }
    if r.track_group.is_some() && r.iif.is_none() {
        cx.error(
            node.keyword.loc,
            "a static rule with `track_group` needs `iif`/`dev`",
        );
        ok = false;
    }
    ok.then_some(r)
}
