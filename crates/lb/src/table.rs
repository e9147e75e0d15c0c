//! The desired IPVS table: one [`Service`] per virtual server address (a
//! `virtual_server_group` expands to one per address of its ranges, and one per fwmark), each
//! with the [`Dest`]inations its real servers' health calls for:
//!
//! * a real server that is up is a destination with its effective weight; one that is down is
//!   removed, or kept with weight 0 with `inhibit_on_failure`;
//! * quorum: when the summed weight of the live real servers falls below `quorum - hysteresis`
//!   the quorum is lost (the `sorry_server` replaces the real servers), and it is regained at
//!   `quorum + hysteresis` or more; `sorry_server_inhibit` keeps the sorry server with weight 0
//!   while the quorum holds.
//!
//! Pure: the health and the previous quorum states come in as arguments.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use keepalived_config::Config;

use crate::fwmark::{Marks, families};
use keepalived_config::model::lvs::{
    ForwardingMethod, Granularity, IpFamily, Protocol, SchedFlags, Scheduler, TunnelChecksum,
    TunnelType, VirtualServer, VsAddress, VsgEntry,
};

/// `IP_VS_SVC_F_PERSISTENT`.
pub const SVC_F_PERSISTENT: u32 = 0x0001;
/// `IP_VS_SVC_F_HASHED`.
pub const SVC_F_HASHED: u32 = 0x0002;
/// `IP_VS_SVC_F_ONEPACKET`.
pub const SVC_F_ONEPACKET: u32 = 0x0004;
/// `IP_VS_SVC_F_SCHED1` (sh-fallback, mh-fallback, flag-1).
pub const SVC_F_SCHED1: u32 = 0x0008;
/// `IP_VS_SVC_F_SCHED2` (sh-port, mh-port, flag-2).
pub const SVC_F_SCHED2: u32 = 0x0010;
/// `IP_VS_SVC_F_SCHED3` (flag-3).
pub const SVC_F_SCHED3: u32 = 0x0020;

/// How a service is identified in the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServiceKey {
    /// Protocol, address and port.
    Addr {
        /// TCP, UDP or SCTP.
        protocol: Proto,
        /// The virtual address and port.
        addr: SocketAddr,
    },
    /// A firewall mark (and the family of the packets it marks).
    Fwmark {
        /// The mark.
        mark: u32,
        /// IPv6 (`inet6`) rather than IPv4.
        ipv6: bool,
    },
}

/// Layer 4 protocol of an address service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Proto {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
}

impl From<Protocol> for Proto {
    fn from(p: Protocol) -> Self {
        match p {
            Protocol::Tcp => Proto::Tcp,
            Protocol::Udp => Proto::Udp,
            Protocol::Sctp => Proto::Sctp,
        }
    }
}

/// A service's settings (what `ipvsadm -E` can change).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    /// The scheduler's kernel name (`rr`, `wlc`, ...).
    pub scheduler: String,
    /// `IP_VS_SVC_F_*` flags.
    pub flags: u32,
    /// Persistence timeout in seconds (with [`SVC_F_PERSISTENT`]).
    pub timeout: u32,
    /// Persistence granularity: an IPv4 netmask as a host-order u32, or an IPv6 prefix length.
    pub netmask: u32,
    /// `persistence_engine`.
    pub pe_name: Option<String>,
}

/// How packets reach a destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Forward {
    /// NAT (`IP_VS_CONN_F_MASQ`).
    Masq,
    /// Direct routing (`IP_VS_CONN_F_DROUTE`).
    Route,
    /// Tunnelling (`IP_VS_CONN_F_TUNNEL`) with its encapsulation.
    Tunnel {
        /// IPIP, GUE or GRE.
        kind: TunnelType,
        /// The GUE port.
        port: u16,
        /// Checksum option.
        checksum: TunnelChecksum,
    },
}

impl From<ForwardingMethod> for Forward {
    fn from(m: ForwardingMethod) -> Self {
        match m {
            ForwardingMethod::Nat => Forward::Masq,
            ForwardingMethod::Dr => Forward::Route,
            ForwardingMethod::Tun {
                kind,
                port,
                checksum,
            } => Forward::Tunnel {
                kind,
                port: port.unwrap_or(0),
                checksum,
            },
        }
    }
}

/// A destination's settings (what `ipvsadm -e` can change).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dest {
    /// Forwarding method.
    pub forward: Forward,
    /// Weight (0: no new connections).
    pub weight: u32,
    /// `uthreshold` (0: none).
    pub u_threshold: u32,
    /// `lthreshold` (0: none).
    pub l_threshold: u32,
}

/// A service and its destinations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceEntry {
    /// The settings.
    pub service: Service,
    /// The destinations by address and port.
    pub dests: BTreeMap<SocketAddr, Dest>,
}

/// A whole table.
pub type Table = BTreeMap<ServiceKey, ServiceEntry>;

/// A real server's health as the checkers see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Health {
    /// Up: all its checkers pass.
    pub up: bool,
    /// Its effective weight (configured, adjusted by dynamic checkers).
    pub weight: u32,
}

/// Whether a virtual server's quorum holds (state kept between rebuilds, for the hysteresis).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Quorum {
    /// Enough live weight (the initial state).
    #[default]
    Held,
    /// Too little live weight: the sorry server serves.
    Lost,
}

/// The desired table for `config` with `health(vs, rs)` for each real server (`None`: use the
/// configured weight, up) and the virtual servers' previous quorum states (`quorum`, indexed
/// like `config.lvs.virtual_servers`, updated in place).
pub fn desired(
    config: &Config,
    health: &dyn Fn(usize, usize) -> Option<Health>,
    quorum: &mut Vec<Quorum>,
) -> Table {
    let marks = Marks::plan(config, &Marks::default());
    desired_marked(config, &marks, health, quorum)
}

/// [`desired`] with the groups' `nftables_ipvs` marks (a marked group is one fwmark service
/// per family instead of one service per address).
pub fn desired_marked(
    config: &Config,
    marks: &Marks,
    health: &dyn Fn(usize, usize) -> Option<Health>,
    quorum: &mut Vec<Quorum>,
) -> Table {
    quorum.resize(config.lvs.virtual_servers.len(), Quorum::Held);
    // Built as lists and turned into maps in bulk: configurations are usually in order, and a
    // sorted bulk build costs a fraction of one search per insert (a reload of 10,000 real
    // servers recomputes them all).
    let mut entries = Vec::with_capacity(config.lvs.virtual_servers.len());
    for (v, vs) in config.lvs.virtual_servers.iter().enumerate() {
        let keys = service_keys(config, marks, vs);
        if keys.is_empty() {
            continue;
        }
        let mut live_weight: u64 = 0;
        let mut list = Vec::with_capacity(vs.real_servers.len() + 1);
        for (r, rs) in vs.real_servers.iter().enumerate() {
            let h = health(v, r).unwrap_or(Health {
                up: true,
                weight: rs.weight,
            });
            if h.up {
                live_weight += u64::from(h.weight);
            }
            let weight = match (h.up, rs.inhibit_on_failure) {
                (true, _) => h.weight,
                (false, true) => 0,
                (false, false) => continue,
            };
            list.push((
                rs.address,
                Dest {
                    forward: rs.lvs_method.into(),
                    weight,
                    u_threshold: rs.uthreshold,
                    l_threshold: rs.lthreshold,
                },
            ));
        }
        let state = &mut quorum[v];
        let q = u64::from(vs.quorum);
        let h = u64::from(vs.hysteresis);
        *state = match *state {
            Quorum::Held if live_weight < q.saturating_sub(h) => Quorum::Lost,
            Quorum::Lost if live_weight >= q + h => Quorum::Held,
            s => s,
        };
        if let Some(sorry) = &vs.sorry_server {
            let lost = *state == Quorum::Lost;
            if lost || sorry.inhibit {
                if lost {
                    // keepalived takes the real servers out while the sorry server serves.
                    list.clear();
                }
                list.push((
                    sorry.address,
                    Dest {
                        forward: sorry.lvs_method.into(),
                        weight: u32::from(lost),
                        u_threshold: 0,
                        l_threshold: 0,
                    },
                ));
            }
        }
        // On equal addresses the later entry wins (the sorry server over a real server).
        let dests: BTreeMap<SocketAddr, Dest> = list.into_iter().collect();
        let service = service_of(vs);
        let last = keys.len().saturating_sub(1);
        let mut entry = Some(ServiceEntry { service, dests });
        for (i, key) in keys.into_iter().enumerate() {
            // The last key takes the entry itself: most virtual servers have one key.
            let e = if i == last {
                entry.take()
            } else {
                entry.clone()
            };
            if let Some(e) = e {
                entries.push((key, e));
            }
        }
    }
    // On equal keys the later virtual server wins.
    entries.into_iter().collect()
}

fn service_of(vs: &VirtualServer) -> Service {
    let mut flags = sched_flags(vs.lb_algo, vs.sched_flags);
    let timeout = vs
        .persistence_timeout
        .map_or(0, |t| u32::try_from(t.as_secs()).unwrap_or(u32::MAX));
    if vs.persistence_timeout.is_some() {
        flags |= SVC_F_PERSISTENT;
    }
    let netmask = match vs.persistence_granularity {
        Some(Granularity::Netmask(m)) => u32::from(m),
        Some(Granularity::PrefixLen(p)) => u32::from(p),
        None if is_ipv6(vs) => 128,
        None => u32::MAX,
    };
    Service {
        scheduler: scheduler_name(vs.lb_algo).to_owned(),
        flags,
        timeout,
        netmask,
        pe_name: vs.persistence_engine.clone(),
    }
}

fn is_ipv6(vs: &VirtualServer) -> bool {
    match &vs.address {
        VsAddress::Ip(a) => a.is_ipv6(),
        _ => vs.ip_family == Some(IpFamily::Inet6),
    }
}

/// The kernel's name of a scheduler.
pub fn scheduler_name(s: Scheduler) -> &'static str {
    match s {
        Scheduler::Rr => "rr",
        Scheduler::Wrr => "wrr",
        Scheduler::Lc => "lc",
        Scheduler::Wlc => "wlc",
        Scheduler::Lblc => "lblc",
        Scheduler::Lblcr => "lblcr",
        Scheduler::Sh => "sh",
        Scheduler::Dh => "dh",
        Scheduler::Sed => "sed",
        Scheduler::Nq => "nq",
        Scheduler::Fo => "fo",
        Scheduler::Ovf => "ovf",
        Scheduler::Mh => "mh",
        Scheduler::Twos => "twos",
    }
}

fn sched_flags(s: Scheduler, f: SchedFlags) -> u32 {
    let mut flags = 0;
    let mut set = |on: bool, bit: u32| {
        if on {
            flags |= bit;
        }
    };
    set(f.hashed, SVC_F_HASHED);
    set(f.ops, SVC_F_ONEPACKET);
    set(f.flag_1, SVC_F_SCHED1);
    set(f.flag_2, SVC_F_SCHED2);
    set(f.flag_3, SVC_F_SCHED3);
    match s {
        Scheduler::Sh => {
            set(f.sh_fallback, SVC_F_SCHED1);
            set(f.sh_port, SVC_F_SCHED2);
        }
        Scheduler::Mh => {
            set(f.mh_fallback, SVC_F_SCHED1);
            set(f.mh_port, SVC_F_SCHED2);
        }
        _ => {}
    }
    flags
}

/// The kernel services of one virtual server.
fn service_keys(config: &Config, marks: &Marks, vs: &VirtualServer) -> Vec<ServiceKey> {
    let protocol = Proto::from(vs.protocol);
    match &vs.address {
        VsAddress::Ip(addr) => vec![ServiceKey::Addr {
            protocol,
            addr: *addr,
        }],
        VsAddress::Fwmark(mark) => vec![ServiceKey::Fwmark {
            mark: *mark,
            ipv6: vs.ip_family == Some(IpFamily::Inet6),
        }],
        VsAddress::Group(name) => {
            let Some(group) = config
                .lvs
                .virtual_server_groups
                .iter()
                .find(|g| &g.name == name)
            else {
                return Vec::new();
            };
            if let Some(mark) = marks.get(name, protocol) {
                let (v4, v6) = families(group);
                let mut keys = Vec::new();
                for (has, ipv6) in [(v4, false), (v6, true)] {
                    if has {
                        keys.push(ServiceKey::Fwmark { mark, ipv6 });
                    }
                }
                return keys;
            }
            let mut keys = Vec::new();
            for e in &group.entries {
                match e {
                    VsgEntry::Range { first, last, port } => {
                        for addr in range(*first, *last) {
                            keys.push(ServiceKey::Addr {
                                protocol,
                                addr: SocketAddr::new(addr, *port),
                            });
                        }
                    }
                    VsgEntry::Fwmark { mark, family } => keys.push(ServiceKey::Fwmark {
                        mark: *mark,
                        ipv6: *family == Some(IpFamily::Inet6),
                    }),
                }
            }
            keys
        }
    }
}

/// The addresses `first..=last` (at most 65,536; a range of another shape gives `first`).
fn range(first: IpAddr, last: IpAddr) -> Vec<IpAddr> {
    const MAX: u128 = 65_536;
    match (first, last) {
        (IpAddr::V4(a), IpAddr::V4(b)) if u32::from(a) <= u32::from(b) => {
            let (a, b) = (u32::from(a), u32::from(b));
            (a..=b)
                .take(MAX as usize)
                .map(|n| IpAddr::V4(Ipv4Addr::from(n)))
                .collect()
        }
        (IpAddr::V6(a), IpAddr::V6(b)) if u128::from(a) <= u128::from(b) => {
            let (a, b) = (u128::from(a), u128::from(b));
            let end = b.min(a.saturating_add(MAX - 1));
            (a..=end).map(|n| IpAddr::V6(Ipv6Addr::from(n))).collect()
        }
        _ => vec![first],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_later_duplicate_virtual_server_wins_as_with_inserts() {
        let text = "virtual_server 192.0.2.1 80 {\n lb_algo rr\n lb_kind NAT\n protocol TCP\n \
                    real_server 198.51.100.2 80 {\n weight 1\n }\n \
                    real_server 198.51.100.1 80 {\n weight 2\n }\n \
                    real_server 198.51.100.2 80 {\n weight 3\n }\n}\n\
                    virtual_server 192.0.2.1 80 {\n lb_algo wrr\n lb_kind NAT\n protocol TCP\n \
                    real_server 198.51.100.1 80 {\n weight 4\n }\n \
                    real_server 198.51.100.1 80 {\n weight 5\n }\n}\n";
        let c = keepalived_config::read_str("t.conf", text, &Default::default()).config;
        let t = desired(&c, &|_, _| None, &mut Vec::new());
        assert_eq!(t.len(), 1);
        let e = t.values().next().expect("entry");
        assert_eq!(e.service.scheduler, "wrr");
        // (The reader itself drops a duplicated real server, keeping the first.)
        let w: Vec<u32> = e.dests.values().map(|d| d.weight).collect();
        assert_eq!(w, [4]);
    }

    #[test]
    fn with_nftables_ipvs_a_group_is_one_fwmark_service_per_family() {
        let text = "global_defs {\n nftables_ipvs\n}\n\
                    virtual_server_group g {\n 192.0.2.10-19 80\n 2001:db8::1 80\n}\n\
                    virtual_server group g {\n lb_algo rr\n lb_kind NAT\n protocol TCP\n \
                    real_server 198.51.100.1 8080 {\n weight 2\n }\n}\n";
        let c = keepalived_config::read_str("t.conf", text, &Default::default()).config;
        let t = desired(&c, &|_, _| None, &mut Vec::new());
        let keys: Vec<ServiceKey> = t.keys().copied().collect();
        assert_eq!(
            keys,
            [
                ServiceKey::Fwmark {
                    mark: 1000,
                    ipv6: false
                },
                ServiceKey::Fwmark {
                    mark: 1000,
                    ipv6: true
                }
            ]
        );
        assert!(t.values().all(|e| e.dests.len() == 1));
        // Without it: one service per address.
        let c = keepalived_config::read_str(
            "t.conf",
            &text.replace(" nftables_ipvs\n", ""),
            &Default::default(),
        )
        .config;
        assert_eq!(desired(&c, &|_, _| None, &mut Vec::new()).len(), 11);
    }
}
