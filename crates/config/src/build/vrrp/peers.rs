//! Parts of `vrrp_instance`: `unicast_peer` entries, `authentication`, `auth_hmac`, and the
//! one-family-per-instance rule.

use super::Cx;
use super::instance::Seen;
use crate::model::vrrp::*;
use crate::tree::Node;

/// One address family per instance: the first VIP or source address decides (else
/// `native_ipv6`); VIPs, the source address, peers and `mcast_dst_ip` of the other family are
/// dropped with an error. `virtual_ipaddress_excluded` may mix families.
pub(super) fn families(cx: &mut Cx, inst: &mut VrrpInstance, seen: &Seen) {
    let name = inst.name.clone();
    // Whichever comes first in the file decides, as keepalived reads them in order.
    let v4 = match (inst.virtual_ipaddresses.first(), inst.src_ip) {
        (Some(vip), Some(src)) if seen.src_loc < vip.loc => src.is_ipv4(),
        (Some(vip), _) => vip.addr.is_ipv4(),
        (None, Some(src)) => src.is_ipv4(),
        (None, None) => !inst.native_ipv6,
    };
    if inst.native_ipv6 && v4 && (inst.src_ip.is_some() || !inst.virtual_ipaddresses.is_empty()) {
        cx.error(
            inst.loc,
            format!("({name}) cannot specify `native_ipv6` with IPv4 addresses"),
        );
    }
    let fam = |a: std::net::IpAddr| if a.is_ipv4() { "IPv4" } else { "IPv6" };
    let want = if v4 { "IPv4" } else { "IPv6" };
    inst.virtual_ipaddresses.retain(|vip| {
        let ok = vip.addr.is_ipv4() == v4;
        if !ok {
            cx.error(
                vip.loc,
                format!("({name}) virtual_ipaddress {} is {} but the instance is {want} (use virtual_ipaddress_excluded to mix families) - ignored", vip.addr, fam(vip.addr.addr)),
            );
        }
        ok
    });
    if let Some(src) = inst.src_ip.filter(|a| a.is_ipv4() != v4) {
        cx.error(
            seen.src_loc,
            format!(
                "({name}) src address {src} must be of the instance's family ({want}) - ignored"
            ),
        );
        inst.src_ip = None;
    }
    inst.unicast_peers.retain(|p| {
        let ok = p.addr.is_ipv4() == v4;
        if !ok {
            cx.error(
                p.loc,
                format!(
                    "({name}) unicast peer {} must be of the instance's family ({want}) - ignored",
                    p.addr
                ),
            );
        }
        ok
    });
    if let Some(dst) = inst.mcast_dst_ip.filter(|a| a.is_ipv4() != v4) {
        cx.error(
            inst.loc,
            format!(
                "({name}) mcast_dst_ip {dst} must be of the instance's family ({want}) - ignored"
            ),
        );
        inst.mcast_dst_ip = None;
    }
}

pub(super) fn unicast_peer(cx: &mut Cx, e: &Node) -> Option<UnicastPeer> {
    let addr = cx.sockaddr_token("unicast_peer", &e.keyword)?;
    let mut peer = UnicastPeer {
        addr,
        min_ttl: None,
        max_ttl: None,
        loc: e.keyword.loc,
    };
    let mut i = 0;
    while let Some(tok) = e.args.get(i) {
        match tok.text.as_str() {
            "min_ttl" | "max_ttl" => {
                i += 1;
                let Some(v) = e.args.get(i) else {
                    cx.error(
                        tok.loc,
                        format!("`unicast_peer`: `{}` needs a value", tok.text),
                    );
                    return None;
                };
                let v = cx.int_token::<u8>(&tok.text, v, 0..=255)?;
                if tok.text == "min_ttl" {
                    peer.min_ttl = Some(v);
                } else {
                    peer.max_ttl = Some(v);
                }
            }
            other => {
                cx.error(
                    tok.loc,
                    format!("`unicast_peer` {addr}: unknown option `{other}`"),
                );
                return None;
            }
        }
        i += 1;
    }
    if let (Some(lo), Some(hi)) = (peer.min_ttl, peer.max_ttl)
        && lo > hi
    {
        cx.error(
            e.keyword.loc,
            format!("`unicast_peer` {addr}: min_ttl {lo} is greater than max_ttl {hi}"),
        );
        return None;
    }
    Some(peer)
}

pub(super) fn authentication(cx: &mut Cx, n: &Node, inst: &mut VrrpInstance) {
    let mut auth_type = None;
    let mut pass = None;
    for e in cx.block(n).unwrap_or(&[]) {
        cx.no_block(e);
        match e.name() {
            "auth_type" => {
                cx.at_most(e, 1);
                if let Some(t) = cx.choice(e, 0, &[("PASS", AuthType::Pass), ("AH", AuthType::Ah)])
                {
                    auth_type = Some(t);
                    cx.mark("authentication", e);
                }
            }
            "auth_pass" => {
                cx.at_most(e, 1);
                if let Some(tok) = cx.arg(e, 0) {
                    if tok.text.len() > 8 {
                        cx.error(
                            tok.loc,
                            "`auth_pass` is longer than 8 characters; keepalived truncates it to 8",
                        );
                    }
                    pass = Some(tok.text.chars().take(8).collect::<String>());
                    cx.mark("authentication", e);
                }
            }
            _ => cx.unknown(e, "authentication", &["auth_type", "auth_pass"]),
        }
    }
    match (auth_type, pass) {
        (Some(auth_type), Some(pass)) => {
            inst.authentication = Some(Authentication { auth_type, pass })
        }
        (Some(_), None) => {
            cx.error(
                n.keyword.loc,
                format!(
                    "({}) authentication specified but no password given - ignored",
                    inst.name
                ),
            );
        }
        (None, _) => {
            cx.error(
                n.keyword.loc,
                format!(
                    "({}) authentication without `auth_type` - ignored",
                    inst.name
                ),
            );
        }
    }
}

pub(super) fn auth_hmac(cx: &mut Cx, n: &Node, inst: &mut VrrpInstance) {
    const KW: &[&str] = &["key", "active_key", "time_window", "anti_replay", "mode"];
    let mut h = AuthHmac::default();
    for e in cx.block(n).unwrap_or(&[]) {
        cx.no_block(e);
        let ok = match e.name() {
            "key" => {
                cx.at_most(e, 2);
                let id = cx.int(e, 0, 0u32..=u32::MAX);
                let secret = cx.arg(e, 1).map(|t| t.text.clone());
                match (id, secret) {
                    (Some(id), Some(secret)) => {
                        if h.keys.iter().any(|k| k.id == id) {
                            cx.error(
                                e.keyword.loc,
                                format!("`auth_hmac`: key {id} is defined twice"),
                            );
                            false
                        } else {
                            h.keys.push(HmacKey { id, secret });
                            true
                        }
                    }
                    _ => false,
                }
            }
            "active_key" => {
                cx.at_most(e, 1);
                h.active_key = cx.int(e, 0, 0u32..=u32::MAX);
                h.active_key.is_some()
            }
            "time_window" => {
                cx.at_most(e, 1);
                h.time_window = cx.secs(e, 0, 0.0, 86400.0);
                h.time_window.is_some()
            }
            "anti_replay" => {
                cx.at_most(e, 1);
                h.anti_replay = cx.bool_opt(e, 0);
                true
            }
            "mode" => {
                cx.at_most(e, 1);
                h.mode = cx.string(e);
                h.mode.is_some()
            }
            _ => {
                cx.unknown(e, "auth_hmac", KW);
                false
            }
        };
        if ok {
            cx.mark("auth_hmac", e);
        }
    }
    if let Some(active) = h.active_key
        && !h.keys.iter().any(|k| k.id == active)
    {
        cx.error(
            n.keyword.loc,
            format!("`auth_hmac`: active_key {active} is not one of the keys"),
        );
    }
    inst.auth_hmac = Some(h);
}
