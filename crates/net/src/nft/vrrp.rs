//! The VRRP accept-mode firewall as keepalived 2.2.7 programs it (observed with `nft list
//! ruleset` and its `--debug=netlink` listing): tables `ip NAME` and `ip6 NAME`, base chains
//! `in` and `out` at the configured priority, set `vips`, for IPv6 the `neighbor-discovery`
//! set that lets NS/NA pass and the link-local chains and sets (`vips_link_local` keyed by
//! address and interface index, `vips_link_local_name` by address and interface name), each
//! part created by the batch that first needs it. Every change is one batch: set elements
//! only, once the parts exist. The VMAC rules are in [`vmac`].

mod vmac;

pub use vmac::FwVmac;

use std::collections::BTreeSet;
use std::io;
use std::net::{IpAddr, Ipv6Addr};

use super::codec::{Base, Batch, Expr, Family, Hook, MetaKey, SET_CONSTANT, SetSpec, Verdict};
use super::{Nft, NftError};

/// nftables data type numbers (nftables' datatypes.h).
const TYPE_IPADDR: u32 = 7;
const TYPE_IP6ADDR: u32 = 8;
const TYPE_IFINDEX: u32 = 20;
const TYPE_ICMP6_TYPE: u32 = 29;
const TYPE_IFNAME: u32 = 41;
const TYPE_BITS: u32 = 6;
/// nft's byte order hints for a set's key.
const HOST_ENDIAN: u32 = 1;
const BIG_ENDIAN: u32 = 2;
/// `IFNAMSIZ`.
const IFNAMSIZ: usize = 16;

/// Where and how the rules go (`nftables`, `nftables_priority`, `nftables_counters`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirewallConfig {
    /// The tables' name (`keepalived` by default).
    pub table: String,
    /// The base chains' priority (-1 by default).
    pub priority: i32,
    /// A counter on every rule.
    pub counters: bool,
}

/// One address to drop traffic to and from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FwAddr {
    /// An IPv4 or global IPv6 address (set `vips`).
    Ip(IpAddr),
    /// A link-local IPv6 address on the interface of that index (set `vips_link_local`).
    LinkLocal(Ipv6Addr, u32),
    /// A link-local IPv6 address on the interface of that name (set `vips_link_local_name`).
    LinkLocalByName(Ipv6Addr, String),
}

impl FwAddr {
    fn family(&self) -> Family {
        match self {
            FwAddr::Ip(IpAddr::V4(_)) => Family::Ip,
            _ => Family::Ip6,
        }
    }

    fn set(&self) -> &'static str {
        match self {
            FwAddr::Ip(_) => "vips",
            FwAddr::LinkLocal(..) => "vips_link_local",
            FwAddr::LinkLocalByName(..) => "vips_link_local_name",
        }
    }

    fn key(&self) -> Vec<u8> {
        match self {
            FwAddr::Ip(IpAddr::V4(a)) => a.octets().to_vec(),
            FwAddr::Ip(IpAddr::V6(a)) => a.octets().to_vec(),
            FwAddr::LinkLocal(a, ifindex) => {
                let mut k = a.octets().to_vec();
                k.extend_from_slice(&ifindex.to_ne_bytes());
                k
            }
            FwAddr::LinkLocalByName(a, name) => {
                let mut k = a.octets().to_vec();
                let mut n = [0u8; IFNAMSIZ];
                for (d, s) in n.iter_mut().zip(name.bytes().take(IFNAMSIZ - 1)) {
                    *d = s;
                }
                k.extend_from_slice(&n);
                k
            }
        }
    }
}

/// Which parts of the tables exist (keepalived's `ipv4_table_setup` and friends).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Parts {
    ip_table: bool,
    ip_vips: bool,
    ip6_table: bool,
    ip6_vips: bool,
    ll_index: bool,
    ll_name: bool,
    ip_igmp: bool,
    ip6_igmp: bool,
}

/// The firewall of one VRRP process: what exists, what is in the sets, the socket.
#[derive(Debug)]
pub struct VrrpFirewall {
    cfg: FirewallConfig,
    parts: Parts,
    installed: BTreeSet<FwAddr>,
    vmacs: BTreeSet<FwVmac>,
    nft: Option<Nft>,
}

impl VrrpFirewall {
    /// A firewall with nothing installed yet (the socket is opened on first use).
    pub fn new(cfg: FirewallConfig) -> VrrpFirewall {
        VrrpFirewall {
            cfg,
            parts: Parts::default(),
            installed: BTreeSet::new(),
            vmacs: BTreeSet::new(),
            nft: None,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &FirewallConfig {
        &self.cfg
    }

    /// Netlink messages sent so far.
    pub fn messages_sent(&self) -> u64 {
        self.nft.as_ref().map_or(0, |n| n.messages_sent)
    }

    /// Whether `addr` is in its set.
    pub fn contains(&self, addr: &FwAddr) -> bool {
        self.installed.contains(addr)
    }

    /// Puts `addrs` into their sets (creating the parts they need, and replacing a stale
    /// table left by an earlier run when no part exists yet), in one batch. An address
    /// already in is skipped. On error the kernel applied nothing; the next call deletes
    /// whatever tables of the name exist and builds them again with every address that should
    /// be in (so a failure, or a table removed by hand, heals on the next transition).
    ///
    /// # Errors
    /// The socket cannot be had, a table of that name is owned by another process, or the
    /// kernel refused the batch (the error names the message).
    pub fn add(&mut self, addrs: &[FwAddr]) -> Result<usize, NftError> {
        let fresh = self.parts == Parts::default();
        let mut todo: Vec<FwAddr> = if fresh {
            self.installed.iter().cloned().collect()
        } else {
            Vec::new()
        };
        for a in addrs {
            if (fresh || !self.installed.contains(a)) && !todo.contains(a) {
                todo.push(a.clone());
            }
        }
        if todo.is_empty() {
            return Ok(0);
        }
        let result = self.try_add(fresh, &todo);
        if result.is_err() {
            self.parts = Parts::default();
        }
        result
    }

    fn try_add(&mut self, fresh: bool, todo: &[FwAddr]) -> Result<usize, NftError> {
        let vmacs: Vec<FwVmac> = if fresh {
            self.vmacs.iter().copied().collect()
        } else {
            Vec::new()
        };
        self.rebuild(fresh, todo, &vmacs)
    }

    /// Takes `addrs` out of their sets in one batch (those not in are skipped). On error they
    /// count as out, and the tables are built again on the next add.
    ///
    /// # Errors
    /// As [`VrrpFirewall::add`].
    pub fn remove(&mut self, addrs: &[FwAddr]) -> Result<usize, NftError> {
        let todo: Vec<FwAddr> = addrs
            .iter()
            .filter(|a| self.installed.contains(*a))
            .cloned()
            .collect();
        if todo.is_empty() {
            return Ok(0);
        }
        for a in &todo {
            self.installed.remove(a);
        }
        if self.parts == Parts::default() {
            return Ok(0);
        }
        let mut batch = Batch::new();
        let refs: Vec<&FwAddr> = todo.iter().collect();
        self.elements(&mut batch, &refs, false);
        if let Err(e) = self.socket()?.apply(&batch) {
            // The tables are not what we made (changed by hand?): built again on the next add.
            self.parts = Parts::default();
            return Err(e);
        }
        Ok(batch.len())
    }

    /// Deletes the tables this firewall created (at stop).
    ///
    /// # Errors
    /// As [`VrrpFirewall::add`].
    pub fn remove_tables(&mut self) -> Result<(), NftError> {
        let mut batch = Batch::new();
        if self.parts.ip_table {
            batch.del_table(Family::Ip, &self.cfg.table);
        }
        if self.parts.ip6_table {
            batch.del_table(Family::Ip6, &self.cfg.table);
        }
        if batch.is_empty() {
            return Ok(());
        }
        self.socket()?.apply(&batch)?;
        self.parts = Parts::default();
        self.installed.clear();
        self.vmacs.clear();
        Ok(())
    }

    fn socket(&mut self) -> Result<&mut Nft, NftError> {
        if self.nft.is_none() {
            self.nft = Some(Nft::open()?);
        }
        self.nft
            .as_mut()
            .ok_or_else(|| NftError::Io(io::ErrorKind::NotConnected.into()))
    }

    /// Adds the deletion of existing tables of our name to `batch` (keepalived does this in
    /// the batch that first creates its tables).
    fn replace_stale(&mut self, batch: &mut Batch) -> Result<(), NftError> {
        let table = self.cfg.table.clone();
        let nft = self.socket()?;
        for family in [Family::Ip, Family::Ip6] {
            if let Some(info) = nft.table(family, &table)? {
                if info.owned() {
                    return Err(owned(family, &table, info.owner));
                }
                batch.del_table(family, &table);
            }
        }
        Ok(())
    }

    fn setup_for(&self, b: &mut Batch, parts: &mut Parts, addr: &FwAddr) {
        let t = self.cfg.table.as_str();
        let prio = self.cfg.priority;
        match addr.family() {
            Family::Ip => {
                if !parts.ip_vips {
                    if !parts.ip_table {
                        b.add_table(Family::Ip, t);
                        b.add_base_chain(Family::Ip, t, "out", Hook::Output, prio);
                        parts.ip_table = true;
                    }
                    b.add_base_chain(Family::Ip, t, "in", Hook::Input, prio);
                    b.add_set(Family::Ip, t, &set("vips", TYPE_IPADDR, 4, BIG_ENDIAN));
                    self.lookup_rule(b, Family::Ip, "in", "vips", false, None);
                    self.lookup_rule(b, Family::Ip, "out", "vips", true, None);
                    parts.ip_vips = true;
                }
            }
            Family::Ip6 => {
                if !parts.ip6_vips {
                    self.setup_ip6(b, parts);
                }
                match addr {
                    FwAddr::LinkLocal(..) if !parts.ll_index => {
                        self.setup_link_local(b, false);
                        parts.ll_index = true;
                    }
                    FwAddr::LinkLocalByName(..) if !parts.ll_name => {
                        self.setup_link_local(b, true);
                        parts.ll_name = true;
                    }
                    _ => {}
                }
            }
        }
    }

    fn setup_ip6(&self, b: &mut Batch, parts: &mut Parts) {
        let t = self.cfg.table.as_str();
        let prio = self.cfg.priority;
        let f = Family::Ip6;
        if !parts.ip6_table {
            b.add_table(f, t);
            b.add_base_chain(f, t, "out", Hook::Output, prio);
            parts.ip6_table = true;
        }
        b.add_base_chain(f, t, "in", Hook::Input, prio);
        b.add_chain(f, t, "in_link_local");
        b.add_chain(f, t, "out_link_local");
        b.add_set(f, t, &set("vips", TYPE_IP6ADDR, 16, BIG_ENDIAN));
        let mut nd = set("neighbor-discovery", TYPE_ICMP6_TYPE, 1, HOST_ENDIAN);
        nd.flags = SET_CONSTANT;
        b.add_set(f, t, &nd);
        // ND_NEIGHBOR_SOLICIT, ND_NEIGHBOR_ADVERT
        b.add_elements(f, t, "neighbor-discovery", &[vec![135], vec![136]]);
        for (chain, ll, saddr) in [
            ("in", "in_link_local", false),
            ("out", "out_link_local", true),
        ] {
            let nd_rule = vec![
                Expr::Payload {
                    base: Base::Network,
                    offset: 6,
                    len: 1,
                    dreg: 1,
                },
                Expr::CmpEq {
                    sreg: 1,
                    data: vec![58],
                },
                Expr::Payload {
                    base: Base::Transport,
                    offset: 0,
                    len: 1,
                    dreg: 1,
                },
                Expr::Lookup {
                    sreg: 1,
                    set: "neighbor-discovery".to_owned(),
                },
            ];
            self.rule(
                b,
                f,
                chain,
                nd_rule,
                Verdict::Accept,
                "icmpv6 type @neighbor-discovery accept",
            );
            let mut mask = vec![0u8; 16];
            mask[0] = 0xff;
            mask[1] = 0xc0;
            let mut fe80 = vec![0u8; 16];
            fe80[0] = 0xfe;
            fe80[1] = 0x80;
            let goto = vec![
                addr_load(Family::Ip6, saddr),
                Expr::Bitwise {
                    sreg: 1,
                    dreg: 1,
                    mask,
                    xor: vec![0u8; 16],
                },
                Expr::CmpEq {
                    sreg: 1,
                    data: fe80,
                },
            ];
            let dir = if saddr { "saddr" } else { "daddr" };
            self.rule(
                b,
                f,
                chain,
                goto,
                Verdict::Goto(ll.to_owned()),
                &format!("ip6 {dir} fe80::/10 goto {ll}"),
            );
        }
        self.lookup_rule(b, f, "in", "vips", false, None);
        self.lookup_rule(b, f, "out", "vips", true, None);
        parts.ip6_vips = true;
    }

    fn setup_link_local(&self, b: &mut Batch, by_name: bool) {
        let t = self.cfg.table.as_str();
        let (name, if_type, if_len) = if by_name {
            ("vips_link_local_name", TYPE_IFNAME, IFNAMSIZ as u32)
        } else {
            ("vips_link_local", TYPE_IFINDEX, 4)
        };
        let key_type = (TYPE_IP6ADDR << TYPE_BITS) | if_type;
        b.add_set(
            Family::Ip6,
            t,
            &set(name, key_type, 16 + if_len, HOST_ENDIAN),
        );
        let (iif, oif) = if by_name {
            (MetaKey::IifName, MetaKey::OifName)
        } else {
            (MetaKey::Iif, MetaKey::Oif)
        };
        self.lookup_rule(b, Family::Ip6, "in_link_local", name, false, Some(iif));
        self.lookup_rule(b, Family::Ip6, "out_link_local", name, true, Some(oif));
    }

    /// `ip[6] {s|d}addr [. iif/oif] @set drop`.
    fn lookup_rule(
        &self,
        b: &mut Batch,
        f: Family,
        chain: &str,
        set: &str,
        saddr: bool,
        meta: Option<MetaKey>,
    ) {
        let mut exprs = vec![addr_load(f, saddr)];
        if let Some(key) = meta {
            exprs.push(Expr::Meta { key, dreg: 2 });
        }
        exprs.push(Expr::Lookup {
            sreg: 1,
            set: set.to_owned(),
        });
        let dir = if saddr { "saddr" } else { "daddr" };
        let m = match meta {
            Some(MetaKey::Iif) => " . iif",
            Some(MetaKey::Oif) => " . oif",
            Some(MetaKey::IifName) => " . iifname",
            Some(MetaKey::OifName) => " . oifname",
            Some(MetaKey::Mark) => " . mark",
            Some(MetaKey::L4Proto) => " . l4proto",
            Some(MetaKey::OifKind) => " . oifkind",
            None => "",
        };
        let what = format!("{f} {dir}{m} @{set} drop");
        self.rule(b, f, chain, exprs, Verdict::Drop, &what);
    }

    fn rule(
        &self,
        b: &mut Batch,
        f: Family,
        chain: &str,
        mut exprs: Vec<Expr>,
        v: Verdict,
        what: &str,
    ) {
        if self.cfg.counters {
            exprs.push(Expr::Counter);
        }
        exprs.push(Expr::Verdict(v));
        b.add_rule(f, &self.cfg.table, chain, &exprs, what);
    }

    /// One element message per set, in keepalived's order (ip vips, ip6 vips, link-local by
    /// index, by name).
    fn elements(&self, b: &mut Batch, addrs: &[&FwAddr], add: bool) {
        let t = self.cfg.table.as_str();
        for (family, set_name) in [
            (Family::Ip, "vips"),
            (Family::Ip6, "vips"),
            (Family::Ip6, "vips_link_local"),
            (Family::Ip6, "vips_link_local_name"),
        ] {
            let keys: Vec<Vec<u8>> = addrs
                .iter()
                .filter(|a| a.family() == family && a.set() == set_name)
                .map(|a| a.key())
                .collect();
            if keys.is_empty() {
                continue;
            }
            if add {
                b.add_elements(family, t, set_name, &keys);
            } else {
                b.del_elements(family, t, set_name, &keys);
            }
        }
    }
}

/// Deletes the `ip` and `ip6` tables named `table` if they exist and no live process owns them
/// (what a VRRP engine that died left); returns how many were deleted.
///
/// # Errors
/// As [`VrrpFirewall::add`]; an owned table is an error naming it.
pub fn remove_leftover_tables(table: &str) -> Result<usize, NftError> {
    let mut nft = Nft::open()?;
    let mut batch = Batch::new();
    for family in [Family::Ip, Family::Ip6] {
        if let Some(info) = nft.table(family, table)? {
            if info.owned() {
                return Err(owned(family, table, info.owner));
            }
            batch.del_table(family, table);
        }
    }
    nft.apply(&batch)?;
    Ok(batch.len())
}

fn owned(family: Family, table: &str, port: Option<u32>) -> NftError {
    NftError::Refused {
        what: format!(
            "table {family} {table} is owned by another process (netlink port {}); left alone",
            port.map_or_else(|| "?".to_owned(), |p| p.to_string())
        ),
        source: io::Error::from_raw_os_error(libc::EPERM),
    }
}

fn set(name: &str, key_type: u32, key_len: u32, byteorder: u32) -> SetSpec {
    SetSpec {
        name: name.to_owned(),
        key_type,
        key_len,
        flags: 0,
        byteorder,
    }
}

/// Loads the source or destination address into register 1.
fn addr_load(f: Family, saddr: bool) -> Expr {
    let (offset, len) = match (f, saddr) {
        (Family::Ip, true) => (12, 4),
        (Family::Ip, false) => (16, 4),
        (Family::Ip6, true) => (8, 16),
        (Family::Ip6, false) => (24, 16),
    };
    Expr::Payload {
        base: Base::Network,
        offset,
        len,
        dreg: 1,
    }
}
