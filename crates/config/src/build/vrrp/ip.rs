//! Entries of `virtual_ipaddress`, `virtual_ipaddress_excluded` and `static_ipaddress`, and
//! the word helpers shared with the route and rule entries (`route.rs`, `rule.rs`). Each entry is one line: the tree gives its first
//! word as the node's keyword and the rest as arguments.

use super::Cx;
use super::instance::ifname_ok;
use crate::build::cx::parse_i64;
use crate::model::common::IpPrefix;
use crate::model::vrrp::*;
use crate::tree::{Node, Token};

/// Whose entry this is: `track_group` is for static entries only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// `static_ipaddress`, `static_routes`, `static_rules`.
    Static,
    /// A `vrrp_instance`.
    Instance,
}

/// Words of one entry with a cursor.
pub(super) struct Words<'n> {
    pub(super) toks: Vec<&'n Token>,
    pub(super) i: usize,
}

impl<'n> Words<'n> {
    pub(super) fn new(node: &'n Node) -> Self {
        Self {
            toks: node.words().collect(),
            i: 0,
        }
    }
    pub(super) fn next(&mut self) -> Option<&'n Token> {
        let t = self.toks.get(self.i).copied();
        self.i += 1;
        t
    }
    pub(super) fn peek(&self) -> Option<&'n Token> {
        self.toks.get(self.i).copied()
    }
    /// The value after option `opt`, or an error.
    pub(super) fn value(&mut self, cx: &mut Cx, opt: &Token) -> Option<&'n Token> {
        let v = self.next();
        if v.is_none() {
            cx.error(opt.loc, format!("`{}` needs a value", opt.text));
        }
        v
    }
}

pub(super) fn scope(cx: &mut Cx, tok: &Token) -> Option<Scope> {
    let s = match tok.text.as_str() {
        "global" | "universe" => Scope::Global,
        "site" => Scope::Site,
        "link" => Scope::Link,
        "host" => Scope::Host,
        "nowhere" => Scope::Nowhere,
        t => {
            match parse_i64(t).and_then(|v| u8::try_from(v).ok()) {
                Some(0) => Scope::Global,
                Some(200) => Scope::Site,
                Some(253) => Scope::Link,
                Some(254) => Scope::Host,
                Some(255) => Scope::Nowhere,
                Some(v) => Scope::Other(v),
                None => {
                    cx.error(tok.loc, format!("unknown scope `{t}` (expected global, site, link, host, nowhere or 0..255)"));
                    return None;
                }
            }
        }
    };
    Some(s)
}

pub(super) fn table(cx: &mut Cx, tok: &Token) -> Option<TableId> {
    match tok.text.as_str() {
        "default" => Some(253),
        "main" => Some(254),
        "local" => Some(255),
        t => match parse_i64(t).and_then(|v| u32::try_from(v).ok()) {
            Some(v) => Some(v),
            None => {
                cx.error(
                    tok.loc,
                    format!("unknown routing table `{t}` (use a number, default, main or local)"),
                );
                None
            }
        },
    }
}

pub(super) fn protocol(cx: &mut Cx, tok: &Token) -> Option<u8> {
    let v = match tok.text.as_str() {
        "redirect" => 1,
        "kernel" => 2,
        "boot" => 3,
        "static" => 4,
        "gated" => 8,
        "ra" => 9,
        "mrt" => 10,
        "zebra" => 11,
        "bird" => 12,
        "dnrouted" => 13,
        "xorp" => 14,
        "ntk" => 15,
        "dhcp" => 16,
        "keepalived" => 18,
        "babel" => 42,
        "bgp" => 186,
        "isis" => 187,
        "ospf" => 188,
        "rip" => 189,
        "eigrp" => 192,
        t => match parse_i64(t).and_then(|v| u8::try_from(v).ok()) {
            Some(v) => v,
            None => {
                cx.error(tok.loc, format!("unknown routing protocol `{t}`"));
                return None;
            }
        },
    };
    Some(v)
}

pub(super) fn ip_proto(cx: &mut Cx, tok: &Token) -> Option<u8> {
    let v = match tok.text.to_ascii_lowercase().as_str() {
        "icmp" => 1,
        "tcp" => 6,
        "udp" => 17,
        "ipv6-icmp" | "icmpv6" => 58,
        "sctp" => 132,
        t => match parse_i64(t).and_then(|v| u8::try_from(v).ok()) {
            Some(v) => v,
            None => {
                cx.error(tok.loc, format!("unknown IP protocol `{}`", tok.text));
                return None;
            }
        },
    };
    Some(v)
}

pub(super) fn realms(cx: &mut Cx, tok: &Token) -> Option<Realms> {
    let num = |s: &str| parse_i64(s).and_then(|v| u32::try_from(v).ok());
    let r = match tok.text.split_once('/') {
        Some((a, b)) => num(a).zip(num(b)).map(|(from, to)| Realms {
            from: Some(from),
            to,
        }),
        None => num(&tok.text).map(|to| Realms { from: None, to }),
    };
    if r.is_none() {
        cx.error(
            tok.loc,
            format!("`realms`: `{}` is not REALM or FROM/TO (numbers)", tok.text),
        );
    }
    r
}

pub(super) fn u32_tok(cx: &mut Cx, what: &str, tok: &Token) -> Option<u32> {
    cx.int_token::<u32>(what, tok, 0..=u32::MAX)
}

pub(super) fn u8_tok(cx: &mut Cx, what: &str, tok: &Token) -> Option<u8> {
    cx.int_token::<u8>(what, tok, 0..=255)
}

/// One address entry.
pub fn address(cx: &mut Cx, node: &Node, owner: Owner) -> Option<VirtualAddress> {
    if node.block.is_some() {
        cx.error(node.keyword.loc, "an address entry does not take a block");
        return None;
    }
    let head = &node.keyword;
    let Some(addr) = IpPrefix::parse(&head.text) else {
        cx.error(
            head.loc,
            format!(
                "`{}` is not an IP address or address/prefix - skipped",
                head.text
            ),
        );
        return None;
    };
    let mut a = VirtualAddress::new(addr, head.loc);
    let mut w = Words::new(node);
    w.next();
    let mut ok = true;
    while let Some(opt) = w.next() {
        let r: Option<()> = (|| {
            match opt.text.as_str() {
                "brd" | "broadcast" => {
                    let v = w.value(cx, opt)?;
                    a.broadcast = Some(match v.text.as_str() {
                        "+" => Broadcast::Set,
                        "-" => Broadcast::Clear,
                        _ => Broadcast::Addr(cx.ip_token("brd", v)?),
                    });
                }
                "dev" => {
                    let v = w.value(cx, opt)?;
                    if !ifname_ok(cx, v) {
                        return None;
                    }
                    a.dev = Some(v.text.clone());
                }
                "scope" => {
                    let v = w.value(cx, opt)?;
                    a.scope = Some(scope(cx, v)?)
                }
                "label" => a.label = Some(w.value(cx, opt)?.text.clone()),
                "peer" => {
                    let v = w.value(cx, opt)?;
                    a.peer = Some(cx.prefix_token("peer", v)?)
                }
                "home" => a.home = true,
                "-nodad" | "nodad" => a.nodad = true,
                "mngtmpaddr" => a.mngtmpaddr = true,
                "noprefixroute" => a.noprefixroute = true,
                "autojoin" => a.autojoin = true,
                "no_track" => a.no_track = true,
                "track_group" if owner == Owner::Static => {
                    a.track_group = Some(w.value(cx, opt)?.text.clone())
                }
                "preferred_lft" => {
                    let v = w.value(cx, opt)?;
                    a.preferred_lft = Some(if v.text == "forever" {
                        PreferredLft::Forever
                    } else {
                        PreferredLft::Secs(u32_tok(cx, "preferred_lft", v)?)
                    });
                }
                "use_vmac" if owner == Owner::Instance => {
                    let name = match w.peek() {
                        Some(t) if !is_address_option(&t.text) => {
                            w.next();
                            Some(t.text.clone())
                        }
                        _ => None,
                    };
                    a.use_vmac = Some(name);
                }
                other => {
                    cx.error(
                        opt.loc,
                        format!("unknown option `{other}` for IP address {}", head.text),
                    );
                    return None;
                }
            }
            Some(())
        })();
        ok &= r.is_some();
    }
    if let Some(p) = a.peer {
        if head.text.contains('/') {
            cx.error(
                head.loc,
                format!(
                    "{}: cannot give a prefix length together with `peer`",
                    head.text
                ),
            );
            ok = false;
        }
        if a.broadcast.is_some() {
            cx.error(
                head.loc,
                format!("{}: cannot give both `brd` and `peer`", head.text),
            );
            ok = false;
        }
        if p.is_ipv4() != addr.is_ipv4() {
            cx.error(
                head.loc,
                format!(
                    "{}: peer {} is of the other address family",
                    head.text, p.addr
                ),
            );
            ok = false;
        }
    }
    if let Some(Broadcast::Addr(b)) = a.broadcast
        && b.is_ipv4() != addr.is_ipv4()
    {
        cx.error(
            head.loc,
            format!(
                "{}: broadcast {b} is of the other address family",
                head.text
            ),
        );
        ok = false;
    }
    ok.then_some(a)
}

fn is_address_option(s: &str) -> bool {
    matches!(
        s,
        "brd"
            | "broadcast"
            | "dev"
            | "scope"
            | "label"
            | "peer"
            | "home"
            | "-nodad"
            | "nodad"
            | "mngtmpaddr"
            | "noprefixroute"
            | "autojoin"
            | "no_track"
            | "track_group"
            | "preferred_lft"
    )
}
