//! The `nftables_ipvs` marking rules as keepalived 2.2.7 programs them (check_nftables.c):
//! tables `ip NAME` / `ip6 NAME` (`keepalived_ipvs` by default), one base chain `in` (filter,
//! hook input, `nftables_ipvs_priority`), and per protocol a map `tcp_map` / `udp_map` /
//! `sctp_map` of `daddr . dport` ranges to a mark with the rule
//! `meta l4proto P meta mark set ip daddr . P dport map @P_map counter return`.
//! Each part is created by the batch that first needs it; every change is one batch of map
//! elements (deletions, then additions).

use std::collections::BTreeSet;
use std::io;
use std::net::IpAddr;

use super::codec::{Base, Batch, Expr, Family, Hook, MapElement, MapSpec, MetaKey, Verdict};
use super::{Nft, NftError};

/// nftables data type numbers (nftables' datatypes.h).
const TYPE_IPADDR: u32 = 7;
const TYPE_IP6ADDR: u32 = 8;
const TYPE_INET_SERVICE: u32 = 13;
const TYPE_MARK: u32 = 19;
const TYPE_BITS: u32 = 6;
/// `NFT_REG_1`, and the 32-bit register right after an IPv4 address in it (`NFT_REG32_01`);
/// after an IPv6 address the next 16-byte register (`NFT_REG_2`) starts at the same place
/// as `NFT_REG32_04`.
const REG_1: u32 = 1;
const REG32_01: u32 = 9;
const REG_2: u32 = 2;

/// Where the rules go (`nftables_ipvs`, `nftables_ipvs_priority`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpvsMarkConfig {
    /// The tables' name (`keepalived_ipvs` by default).
    pub table: String,
    /// The base chain's priority (-1 by default).
    pub priority: i32,
    /// A counter on the rules (`nftables_counters`, as keepalived).
    pub counters: bool,
}

/// One marked range: packets of `protocol` to an address in `first..=last` and port `port`
/// get `mark`. Both ends are of the same family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MarkEntry {
    /// IP protocol number: 6 (TCP), 17 (UDP) or 132 (SCTP).
    pub protocol: u8,
    /// First address.
    pub first: IpAddr,
    /// Last address (inclusive).
    pub last: IpAddr,
    /// Destination port.
    pub port: u16,
    /// The mark.
    pub mark: u32,
}

impl MarkEntry {
    fn family(&self) -> Family {
        if self.first.is_ipv4() {
            Family::Ip
        } else {
            Family::Ip6
        }
    }

    fn element(&self) -> MapElement {
        MapElement {
            key: key(self.first, self.port),
            key_end: key(self.last, self.port),
            data: self.mark.to_ne_bytes().to_vec(),
        }
    }
}

/// Address then port, each padded to 4 bytes (a concatenated key's layout).
fn key(addr: IpAddr, port: u16) -> Vec<u8> {
    let mut k = match addr {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    };
    k.extend_from_slice(&port.to_be_bytes());
    k.extend_from_slice(&[0, 0]);
    k
}

/// The map of a protocol (keepalived's `ipvs_map_name`).
pub fn map_name(protocol: u8) -> &'static str {
    match protocol {
        6 => "tcp_map",
        17 => "udp_map",
        _ => "sctp_map",
    }
}

/// The marking rules of one checker process: which parts exist, what is in the maps.
#[derive(Debug)]
pub struct IpvsMarks {
    cfg: IpvsMarkConfig,
    /// `(family, None)`: the table and chain; `(family, Some(protocol))`: its map and rule.
    parts: BTreeSet<(Family, Option<u8>)>,
    installed: BTreeSet<MarkEntry>,
    nft: Option<Nft>,
}

impl IpvsMarks {
    /// Nothing installed yet (the socket is opened on first use).
    pub fn new(cfg: IpvsMarkConfig) -> IpvsMarks {
        IpvsMarks {
            cfg,
            parts: BTreeSet::new(),
            installed: BTreeSet::new(),
            nft: None,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &IpvsMarkConfig {
        &self.cfg
    }

    /// What the maps hold.
    pub fn installed(&self) -> &BTreeSet<MarkEntry> {
        &self.installed
    }

    /// Brings the maps to `want` in one batch (the parts it needs created; the first batch
    /// also deletes tables of our name left by an earlier run). Returns the batch's message
    /// count (0: nothing to do). On error the kernel applied nothing, and the next call
    /// deletes the tables and builds them again with all of `want`.
    ///
    /// # Errors
    /// The socket cannot be had, a table of the name is owned by another live process, or
    /// the kernel refused the batch (the error names the message).
    pub fn sync(&mut self, want: &BTreeSet<MarkEntry>) -> Result<usize, NftError> {
        let fresh = self.parts.is_empty();
        if fresh && want.is_empty() {
            self.installed.clear();
            return Ok(0);
        }
        let mut batch = Batch::new();
        let mut parts = self.parts.clone();
        if fresh {
            self.installed.clear();
            self.replace_stale(&mut batch)?;
        }
        let gone: Vec<&MarkEntry> = self.installed.difference(want).collect();
        let new: Vec<&MarkEntry> = want.difference(&self.installed).collect();
        self.elements(&mut batch, &gone, false);
        for e in &new {
            self.setup_for(&mut batch, &mut parts, e);
        }
        self.elements(&mut batch, &new, true);
        if batch.is_empty() {
            return Ok(0);
        }
        if let Err(e) = self.socket()?.apply(&batch) {
            self.parts.clear();
            return Err(e);
        }
        self.parts = parts;
        self.installed = want.clone();
        Ok(batch.len())
    }

    /// Deletes the tables (at stop).
    ///
    /// # Errors
    /// As [`IpvsMarks::sync`].
    pub fn remove_tables(&mut self) -> Result<(), NftError> {
        let mut batch = Batch::new();
        for family in [Family::Ip, Family::Ip6] {
            if self.parts.contains(&(family, None)) {
                batch.del_table(family, &self.cfg.table);
            }
        }
        self.parts.clear();
        self.installed.clear();
        if batch.is_empty() {
            return Ok(());
        }
        self.socket()?.apply(&batch)
    }

    fn socket(&mut self) -> Result<&mut Nft, NftError> {
        if self.nft.is_none() {
            self.nft = Some(Nft::open()?);
        }
        self.nft
            .as_mut()
            .ok_or_else(|| NftError::Io(io::ErrorKind::NotConnected.into()))
    }

    fn replace_stale(&mut self, batch: &mut Batch) -> Result<(), NftError> {
        let table = self.cfg.table.clone();
        let nft = self.socket()?;
        for family in [Family::Ip, Family::Ip6] {
            if let Some(info) = nft.table(family, &table)? {
                if info.owned() {
                    return Err(NftError::Refused {
                        what: format!(
                            "table {family} {table} is owned by another process (netlink port {}); left alone",
                            info.owner.map_or_else(|| "?".to_owned(), |p| p.to_string())
                        ),
                        source: io::Error::from_raw_os_error(libc::EPERM),
                    });
                }
                batch.del_table(family, &table);
            }
        }
        Ok(())
    }

    fn setup_for(&self, b: &mut Batch, parts: &mut BTreeSet<(Family, Option<u8>)>, e: &MarkEntry) {
        let f = e.family();
        let t = self.cfg.table.as_str();
        if parts.insert((f, None)) {
            b.add_table(f, t);
            b.add_base_chain(f, t, "in", Hook::Input, self.cfg.priority);
        }
        if parts.insert((f, Some(e.protocol))) {
            let (addr_type, addr_len, daddr, port_reg) = match f {
                Family::Ip => (TYPE_IPADDR, 4, 16, REG32_01),
                Family::Ip6 => (TYPE_IP6ADDR, 16, 24, REG_2),
            };
            let name = map_name(e.protocol);
            b.add_map(
                f,
                t,
                &MapSpec {
                    name: name.to_owned(),
                    key_type: (addr_type << TYPE_BITS) | TYPE_INET_SERVICE,
                    fields: vec![addr_len, 2],
                    data_type: TYPE_MARK,
                    data_len: 4,
                },
            );
            let proto = match e.protocol {
                6 => "tcp",
                17 => "udp",
                _ => "sctp",
            };
            let mut exprs = vec![
                Expr::Meta {
                    key: MetaKey::L4Proto,
                    dreg: REG_1,
                },
                Expr::CmpEq {
                    sreg: REG_1,
                    data: vec![e.protocol],
                },
                Expr::Payload {
                    base: Base::Network,
                    offset: daddr,
                    len: addr_len,
                    dreg: REG_1,
                },
                // The destination port is at offset 2 in TCP, UDP and SCTP headers alike.
                Expr::Payload {
                    base: Base::Transport,
                    offset: 2,
                    len: 2,
                    dreg: port_reg,
                },
                Expr::LookupMap {
                    sreg: REG_1,
                    dreg: REG_1,
                    set: name.to_owned(),
                },
                Expr::MetaSet {
                    key: MetaKey::Mark,
                    sreg: REG_1,
                },
            ];
            if self.cfg.counters {
                exprs.push(Expr::Counter);
            }
            exprs.push(Expr::Verdict(Verdict::Return));
            let counter = if self.cfg.counters { " counter" } else { "" };
            b.add_rule(
                f,
                t,
                "in",
                &exprs,
                &format!(
                    "meta l4proto {proto} meta mark set {f} daddr . {proto} dport map @{name}{counter} return"
                ),
            );
        }
    }

    fn elements(&self, b: &mut Batch, entries: &[&MarkEntry], add: bool) {
        for family in [Family::Ip, Family::Ip6] {
            for protocol in [6u8, 17, 132] {
                let els: Vec<MapElement> = entries
                    .iter()
                    .filter(|e| e.family() == family && e.protocol == protocol)
                    .map(|e| e.element())
                    .collect();
                if !els.is_empty() {
                    b.map_elements(add, family, &self.cfg.table, map_name(protocol), &els);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_address_then_port_padded_to_four_bytes() {
        let e = MarkEntry {
            protocol: 6,
            first: "192.0.2.10".parse().expect("addr"),
            last: "192.0.2.20".parse().expect("addr"),
            port: 80,
            mark: 1000,
        };
        let el = e.element();
        assert_eq!(el.key, [192, 0, 2, 10, 0, 80, 0, 0]);
        assert_eq!(el.key_end, [192, 0, 2, 20, 0, 80, 0, 0]);
        assert_eq!(el.data, 1000u32.to_ne_bytes());
        let e6 = MarkEntry {
            first: "2001:db8::1".parse().expect("addr"),
            last: "2001:db8::1".parse().expect("addr"),
            ..e
        };
        assert_eq!(e6.element().key.len(), 20);
        assert_eq!(e6.family(), Family::Ip6);
    }

    #[test]
    fn parts_are_built_once_per_family_and_protocol() {
        let m = IpvsMarks::new(IpvsMarkConfig {
            table: "keepalived_ipvs".to_owned(),
            priority: -1,
            counters: true,
        });
        let mut parts = BTreeSet::new();
        let mut b = Batch::new();
        let e = MarkEntry {
            protocol: 6,
            first: "192.0.2.10".parse().expect("addr"),
            last: "192.0.2.10".parse().expect("addr"),
            port: 80,
            mark: 1000,
        };
        m.setup_for(&mut b, &mut parts, &e);
        m.setup_for(&mut b, &mut parts, &MarkEntry { port: 443, ..e });
        m.setup_for(&mut b, &mut parts, &MarkEntry { protocol: 17, ..e });
        let what: Vec<&str> = (0..b.len()).filter_map(|i| b.what(i)).collect();
        assert_eq!(
            what,
            [
                "add table ip keepalived_ipvs",
                "add chain ip keepalived_ipvs in { type filter hook input priority -1; policy accept; }",
                "add map ip keepalived_ipvs tcp_map",
                "add rule ip keepalived_ipvs in meta l4proto tcp meta mark set ip daddr . tcp dport map @tcp_map counter return",
                "add map ip keepalived_ipvs udp_map",
                "add rule ip keepalived_ipvs in meta l4proto udp meta mark set ip daddr . udp dport map @udp_map counter return",
            ]
        );
    }
}
