//! `global_defs`: the LVS (`lvs_timeouts`, `lvs_sync_daemon`) and firewall (`vrrp_iptables`,
//! `vrrp_ipsets`, `nftables*`) keywords.

use std::net::IpAddr;
use std::time::Duration;

use super::no_block;
use crate::build::Cx;
use crate::model::global::*;
use crate::tree::Node;

/// Linux's limit on IPVS sync daemon interface names (IP_VS_IFNAME_MAXLEN - 1).
const MAX_SYNCD_IFNAME: usize = 15;
/// IPVS's largest connection timeout (31 days).
const LVS_MAX_TIMEOUT: u32 = 86_400 * 31;
/// nftables' limit on table names (NFT_TABLE_MAXNAMELEN - 1).
const MAX_NFT_TABLE: usize = 255;
/// keepalived's limit on iptables chain names.
const MAX_IPTABLES_CHAIN: usize = 27;

pub(super) fn lvs_timeouts(cx: &mut Cx, node: &Node, d: &mut GlobalDefs) {
    no_block(cx, node);
    if node.args.len() < 2 {
        cx.error(
            node.keyword.loc,
            "`lvs_timeouts` needs at least one of tcp|tcpfin|udp SECS",
        );
        return;
    }
    let mut i = 0;
    while let Some(tok) = node.args.get(i) {
        let slot = match tok.text.as_str() {
            "tcp" => &mut d.lvs_timeouts.tcp,
            "tcpfin" => &mut d.lvs_timeouts.tcpfin,
            "udp" => &mut d.lvs_timeouts.udp,
            other => {
                cx.error(
                    tok.loc,
                    format!(
                        "unknown `lvs_timeouts` option `{other}` (expected tcp, tcpfin or udp)"
                    ),
                );
                i += 1;
                continue;
            }
        };
        match node.args.get(i + 1) {
            None => cx.error(tok.loc, format!("no value for `lvs_timeouts {}`", tok.text)),
            Some(v) => {
                let what = format!("lvs_timeouts {}", tok.text);
                if let Some(secs) = cx.int_token::<u32>(&what, v, 0..=LVS_MAX_TIMEOUT) {
                    *slot = Some(Duration::from_secs(secs.into()));
                }
            }
        }
        i += 2;
    }
}

pub(super) fn lvs_sync_daemon(cx: &mut Cx, node: &Node, d: &mut GlobalDefs) {
    no_block(cx, node);
    if d.lvs_sync_daemon.is_some() {
        cx.error(
            node.keyword.loc,
            "`lvs_sync_daemon` already specified; ignored",
        );
        return;
    }
    let Some(ifname) = cx.arg(node, 0) else {
        return;
    };
    if ifname.text.chars().count() > MAX_SYNCD_IFNAME {
        cx.error(
            ifname.loc,
            format!(
                "`lvs_sync_daemon` interface name `{}` is too long",
                ifname.text
            ),
        );
        return;
    }
    let mut sd = LvsSyncDaemon {
        interface: ifname.text.clone(),
        instance: None,
        syncid: None,
        maxlen: None,
        port: 8848,
        ttl: 1,
        group: IpAddr::V4(std::net::Ipv4Addr::new(224, 0, 0, 81)),
        loc: node.keyword.loc,
    };
    let mut i = 1;
    while let Some(tok) = node.args.get(i) {
        let value = node.args.get(i + 1);
        let what = format!("lvs_sync_daemon {}", tok.text);
        let need = |cx: &mut Cx| {
            if value.is_none() {
                cx.error(tok.loc, format!("no value for `{what}`"));
            }
            value
        };
        match tok.text.as_str() {
            "inst" => {
                if let Some(v) = need(cx) {
                    if sd.instance.is_some() {
                        cx.error(
                            v.loc,
                            "`lvs_sync_daemon` instance already specified; ignored",
                        );
                    } else {
                        sd.instance = Some(v.text.clone());
                    }
                }
            }
            "id" => {
                if let Some(v) = need(cx) {
                    sd.syncid = cx.int_token::<u8>(&what, v, 0..=255).or(sd.syncid);
                }
            }
            "maxlen" => {
                if let Some(v) = need(cx) {
                    sd.maxlen = cx.int_token::<u16>(&what, v, 1..=65_507).or(sd.maxlen);
                }
            }
            "port" => {
                if let Some(v) = need(cx) {
                    sd.port = cx
                        .int_token::<u16>(&what, v, 1..=u16::MAX)
                        .unwrap_or(sd.port);
                }
            }
            "ttl" => {
                if let Some(v) = need(cx) {
                    sd.ttl = cx.int_token::<u8>(&what, v, 1..=255).unwrap_or(sd.ttl);
                }
            }
            "group" => {
                if let Some(v) = need(cx)
                    && let Some(ip) = cx.ip_token(&what, v)
                {
                    if ip.is_multicast() {
                        sd.group = ip;
                    } else {
                        cx.error(
                            v.loc,
                            format!("`lvs_sync_daemon` group `{ip}` is not a multicast address"),
                        );
                    }
                }
            }
            // Backward compatibility: `lvs_sync_daemon IF INSTANCE [SYNCID]`.
            _ if i == 1 => {
                sd.instance = Some(tok.text.clone());
                i += 1;
                continue;
            }
            _ if i == 2 => {
                if let Some(id) = cx.int_token::<u8>("lvs_sync_daemon syncid", tok, 0..=255) {
                    cx.error(tok.loc, "write `id` before the `lvs_sync_daemon` sync id");
                    sd.syncid = Some(id);
                }
                i += 1;
                continue;
            }
            other => {
                cx.error(
                    tok.loc,
                    format!("unknown `lvs_sync_daemon` option `{other}`"),
                );
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    d.lvs_sync_daemon = Some(sd);
}

pub(super) fn vrrp_iptables(cx: &mut Cx, node: &Node, d: &mut GlobalDefs) {
    no_block(cx, node);
    cx.at_most(node, 2);
    if d.vrrp_iptables.is_some() {
        cx.error(
            node.keyword.loc,
            "`vrrp_iptables` already specified; ignored",
        );
        return;
    }
    for tok in node.args.iter().take(2) {
        if tok.text.len() > MAX_IPTABLES_CHAIN {
            cx.error(
                tok.loc,
                format!(
                    "iptables chain name `{}` is too long (at most {MAX_IPTABLES_CHAIN})",
                    tok.text
                ),
            );
            return;
        }
    }
    d.vrrp_iptables = Some(match (node.args.first(), node.args.get(1)) {
        (None, _) => IptablesChains {
            in_chain: "INPUT".into(),
            out_chain: Some("OUTPUT".into()),
        },
        (Some(i), o) => IptablesChains {
            in_chain: i.text.clone(),
            out_chain: o.map(|t| t.text.clone()),
        },
    });
}

pub(super) fn vrrp_ipsets(cx: &mut Cx, node: &Node, d: &mut GlobalDefs) {
    no_block(cx, node);
    cx.at_most(node, 6);
    const MAX: usize = 30; // IPSET_MAXNAMELEN - 2
    if let Some(long) = node.args.iter().find(|t| t.text.len() > MAX) {
        cx.error(
            long.loc,
            format!("ipset name `{}` is too long (at most {MAX})", long.text),
        );
        return;
    }
    let arg = |i: usize| node.args.get(i).map(|t| t.text.clone());
    let Some(address) = arg(0) else {
        d.vrrp_ipsets = Some(VrrpIpsets::Disabled);
        return;
    };
    let cut = |s: &str, n: usize| s.chars().take(n).collect::<String>();
    let address6 = arg(1).unwrap_or_else(|| format!("{}6", cut(&address, MAX)));
    let address_iface6 = arg(2).unwrap_or_else(|| {
        let base = address6.strip_suffix('6').unwrap_or(&address6);
        format!("{}_if6", cut(base, MAX + 1 - 4))
    });
    let igmp = arg(3).unwrap_or_else(|| format!("{}_igmp", cut(&address, MAX + 1 - 5)));
    let mld = arg(4).unwrap_or_else(|| format!("{}_mld", cut(&address, MAX + 1 - 4)));
    d.vrrp_ipsets = Some(VrrpIpsets::Sets {
        address,
        address6,
        address_iface6,
        igmp,
        mld,
        vmac_nd: arg(5),
    });
}

pub(super) fn nft_table(
    cx: &mut Cx,
    node: &Node,
    current: &Option<String>,
    default: &str,
) -> Option<String> {
    no_block(cx, node);
    cx.at_most(node, 1);
    if current.is_some() {
        cx.error(
            node.keyword.loc,
            format!("`{}` already specified; ignored", node.name()),
        );
        return None;
    }
    match node.args.first() {
        None => Some(default.to_owned()),
        Some(t) if t.text.len() > MAX_NFT_TABLE => {
            cx.error(
                t.loc,
                format!("nftables table name is too long (at most {MAX_NFT_TABLE})"),
            );
            None
        }
        Some(t) => Some(t.text.clone()),
    }
}

pub(super) fn set_nft_priority(cx: &mut Cx, node: &Node, out: &mut i32) {
    no_block(cx, node);
    cx.at_most(node, 1);
    if let Some(p) = cx.int::<i32>(node, 0, i32::MIN..=i32::MAX) {
        *out = p;
    }
}
