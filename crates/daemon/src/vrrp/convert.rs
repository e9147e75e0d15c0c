//! From the configuration model to what the driver runs: one [`InstancePlan`] per
//! `vrrp_instance`, holding the engine's [`InstanceConfig`], the transport (multicast group or
//! unicast peers) and the addresses to install when master.
//!
//! Pure apart from the interface facts passed in ([`IfFacts`]), so it is unit-tested without a
//! network.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use keepalived_config::model::global::GlobalDefs;
use keepalived_config::model::vrrp::{
    AuthType, Broadcast, InitialState as CfgInitialState, VirtualAddress, VrrpInstance, VrrpVersion,
};
use keepalived_config::{Config, Loc};
use keepalived_net::AddrScope;
use keepalived_vrrp::{
    AddrList, Auth, Centisecs, ChecksumCaps, Family, GarpConfig, InitialState, InstanceConfig,
    Version,
};

/// What the conversion needs to know about this host's interfaces.
#[derive(Debug, Clone, Default)]
pub struct IfFacts {
    /// Addresses per existing interface, in the kernel's order (primary first).
    pub addrs: BTreeMap<String, Vec<IpAddr>>,
}

impl IfFacts {
    /// Whether `ifname` exists.
    pub fn exists(&self, ifname: &str) -> bool {
        self.addrs.contains_key(ifname)
    }

    /// The address adverts go out from when none is configured: the interface's first IPv4
    /// address, or its first IPv6 link-local address (keepalived's choice), else its first IPv6
    /// address.
    pub fn primary(&self, ifname: &str, family: Family) -> Option<IpAddr> {
        let addrs = self.addrs.get(ifname)?;
        match family {
            Family::V4 => addrs.iter().copied().find(IpAddr::is_ipv4),
            Family::V6 => addrs
                .iter()
                .copied()
                .find(|a| matches!(a, IpAddr::V6(v6) if v6.is_unicast_link_local()))
                .or_else(|| addrs.iter().copied().find(IpAddr::is_ipv6)),
        }
    }
}

/// Where an instance's adverts go.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Transport {
    /// To a multicast group.
    Multicast(IpAddr),
    /// To each peer, with this TTL / hop limit.
    Unicast {
        /// `unicast_peer` addresses.
        peers: Vec<IpAddr>,
        /// `unicast_ttl`.
        ttl: u8,
    },
}

/// One address to install on becoming master (and remove on leaving).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VipSpec {
    /// The interface (`dev`, default the instance's interface).
    pub dev: String,
    /// The address.
    pub addr: IpAddr,
    /// The prefix length.
    pub prefix_len: u8,
    /// `label`.
    pub label: Option<String>,
    /// `brd`, resolved to an address.
    pub broadcast: Option<Ipv4Addr>,
    /// `scope`.
    pub scope: AddrScope,
}

impl std::fmt::Display for VipSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{} dev {}", self.addr, self.prefix_len, self.dev)
    }
}

/// Everything the driver needs for one instance.
#[derive(Debug, Clone)]
pub struct InstancePlan {
    /// The engine's configuration.
    pub cfg: InstanceConfig,
    /// The interface adverts go out on.
    pub ifname: String,
    /// Whether the interface exists (if not, the instance starts in FAULT).
    pub iface_present: bool,
    /// Multicast group or unicast peers.
    pub transport: Transport,
    /// `virtual_ipaddress` and `virtual_ipaddress_excluded`, all installed when master.
    pub vips: Vec<VipSpec>,
}

/// A problem that prevents an instance from running, with where it was configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanError {
    /// Where.
    pub loc: Loc,
    /// What.
    pub message: String,
}

/// Converts every `vrrp_instance` of `config`.
pub fn plan(config: &Config, facts: &IfFacts) -> Result<Vec<InstancePlan>, Vec<PlanError>> {
    let mut plans = Vec::new();
    let mut errors = Vec::new();
    for inst in &config.vrrp.instances {
        match plan_instance(inst, &config.global.defs, facts) {
            Ok(p) => plans.push(p),
            Err(message) => errors.push(PlanError {
                loc: inst.loc,
                message: format!("({}) {message}", inst.name),
            }),
        }
    }
    if errors.is_empty() {
        Ok(plans)
    } else {
        Err(errors)
    }
}

fn global_version(defs: &GlobalDefs) -> Option<VrrpVersion> {
    match defs.vrrp_version {
        3 => Some(VrrpVersion::V3),
        2 => Some(VrrpVersion::V2),
        _ => None,
    }
}

fn clamp_u8(n: u32) -> u8 {
    u8::try_from(n).unwrap_or(u8::MAX)
}

fn nonzero(d: Option<Duration>) -> Option<Duration> {
    d.filter(|d| !d.is_zero())
}

fn plan_instance(
    inst: &VrrpInstance,
    defs: &GlobalDefs,
    facts: &IfFacts,
) -> Result<InstancePlan, String> {
    let ifname = inst
        .interface
        .clone()
        .ok_or("no interface configured (vrf-only instances are not supported yet)")?;
    let family = if inst.is_ipv6() {
        Family::V6
    } else {
        Family::V4
    };
    let version = match inst.effective_version(global_version(defs)) {
        VrrpVersion::V2 => Version::V2,
        VrrpVersion::V3 => Version::V3,
    };
    let advert = inst.effective_advert_int(inst.effective_version(global_version(defs)));
    let adver_int = Centisecs(u16::try_from(advert.as_millis() / 10).unwrap_or(u16::MAX));
    let iface_present = facts.exists(&ifname);
    let primary_addr = match inst.src_ip {
        Some(a) => a,
        None => match facts.primary(&ifname, family) {
            Some(a) => a,
            // No interface (the instance starts in FAULT), or no IPv6 link-local address yet
            // (the kernel then picks the source when sending).
            None if !iface_present || family == Family::V6 => match family {
                Family::V4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                Family::V6 => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
            },
            None => {
                return Err(format!(
                    "interface {ifname} has no {} address to send adverts from",
                    if family == Family::V4 { "IPv4" } else { "IPv6" }
                ));
            }
        },
    };
    if Family::of(&primary_addr) != family {
        return Err(format!(
            "source address {primary_addr} is not of the instance's family"
        ));
    }

    let mut advertised = Vec::new();
    let mut vips = Vec::new();
    for va in &inst.virtual_ipaddresses {
        if Family::of(&va.addr.addr) == family {
            advertised.push(va.addr.addr);
        }
        vips.push(vip_spec(va, &ifname)?);
    }
    for va in &inst.virtual_ipaddresses_excluded {
        vips.push(vip_spec(va, &ifname)?);
    }
    let addrs = match family {
        Family::V4 => AddrList::V4(
            advertised
                .iter()
                .filter_map(|a| match a {
                    IpAddr::V4(v4) => Some(*v4),
                    IpAddr::V6(_) => None,
                })
                .collect(),
        ),
        Family::V6 => AddrList::V6(
            advertised
                .iter()
                .filter_map(|a| match a {
                    IpAddr::V6(v6) => Some(*v6),
                    IpAddr::V4(_) => None,
                })
                .collect(),
        ),
    };

    let mut cfg = InstanceConfig::new(
        inst.name.clone(),
        inst.virtual_router_id,
        version,
        primary_addr,
        addrs,
    );
    cfg.priority = inst.effective_priority();
    cfg.adver_int = adver_int;
    cfg.preempt = inst.preempt;
    cfg.preempt_delay = inst.preempt_delay;
    cfg.initial_state = match inst.state {
        CfgInitialState::Master => InitialState::Master,
        CfgInitialState::Backup => InitialState::Backup,
    };
    // The instance's default (3) defers to the global `vrrp_down_timer_adverts`.
    cfg.down_timer_adverts = if inst.down_timer_adverts == 3 {
        clamp_u8(defs.vrrp_down_timer_adverts).max(1)
    } else {
        inst.down_timer_adverts
    };
    cfg.check_ttl = !inst.is_unicast();
    cfg.strict_addr_check = inst.strict_mode.unwrap_or(defs.vrrp_strict);
    cfg.checksum = ChecksumCaps {
        v3_checksum_as_v2: inst.v3_checksum_as_v2 || defs.v3_checksum_as_v2,
        ..ChecksumCaps::default()
    };
    if let (Some(auth), Version::V2) = (&inst.authentication, version) {
        cfg.auth = match auth.auth_type {
            AuthType::Pass => Auth::simple(auth.pass.as_bytes()),
            AuthType::Ah => return Err("auth_type AH is not supported".to_owned()),
        };
    }
    let g = &inst.garp;
    cfg.garp = GarpConfig {
        master_delay: nonzero(Some(g.master_delay.unwrap_or(defs.vrrp_garp_master_delay))),
        master_repeat: clamp_u8(g.master_repeat.unwrap_or(defs.vrrp_garp_master_repeat)),
        master_refresh: nonzero(g.master_refresh.or(defs.vrrp_garp_master_refresh)),
        master_refresh_repeat: clamp_u8(
            g.master_refresh_repeat
                .unwrap_or(defs.vrrp_garp_master_refresh_repeat),
        ),
    };
    cfg.validate().map_err(|e| e.to_string())?;

    let transport = if inst.is_unicast() {
        Transport::Unicast {
            peers: inst.unicast_peers.iter().map(|p| p.addr).collect(),
            ttl: inst.unicast_ttl,
        }
    } else {
        Transport::Multicast(inst.mcast_dst_ip.unwrap_or(match family {
            Family::V4 => defs.vrrp_mcast_group4,
            Family::V6 => defs.vrrp_mcast_group6,
        }))
    };
    Ok(InstancePlan {
        cfg,
        ifname,
        iface_present,
        transport,
        vips,
    })
}

fn vip_spec(va: &VirtualAddress, ifname: &str) -> Result<VipSpec, String> {
    let broadcast = match (va.broadcast, va.addr.addr) {
        (None, _) | (_, IpAddr::V6(_)) => None,
        (Some(Broadcast::Addr(IpAddr::V4(b))), _) => Some(b),
        (Some(Broadcast::Addr(IpAddr::V6(b))), _) => {
            return Err(format!("broadcast {b} for {} is not IPv4", va.addr));
        }
        (Some(Broadcast::Set), IpAddr::V4(a)) => {
            Some(Ipv4Addr::from(u32::from(a) | host_mask(va.addr.len)))
        }
        (Some(Broadcast::Clear), IpAddr::V4(a)) => {
            Some(Ipv4Addr::from(u32::from(a) & !host_mask(va.addr.len)))
        }
    };
    Ok(VipSpec {
        dev: va.dev.clone().unwrap_or_else(|| ifname.to_owned()),
        addr: va.addr.addr,
        prefix_len: va.addr.len,
        label: va.label.clone().filter(|_| va.addr.is_ipv4()),
        broadcast,
        scope: va
            .scope
            .map_or(AddrScope::Universe, |s| AddrScope::from(s.number())),
    })
}

fn host_mask(len: u8) -> u32 {
    u32::MAX.checked_shr(u32::from(len)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Config {
        let read = keepalived_config::read_str("k.conf", text, &Default::default());
        assert!(
            !read.diagnostics.has_errors(),
            "{:?}",
            read.render_diagnostics()
        );
        read.config
    }

    fn facts() -> IfFacts {
        let mut f = IfFacts::default();
        f.addrs.insert(
            "eth0".into(),
            vec![
                "192.0.2.1".parse().unwrap(),
                "2001:db8::1".parse().unwrap(),
                "fe80::1".parse().unwrap(),
            ],
        );
        f
    }

    #[test]
    fn v2_instance_with_defaults_and_options() {
        let c = read(
            "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority 150\n \
             advert_int 2\n nopreempt\n authentication {\n auth_type PASS\n auth_pass secret12\n }\n \
             virtual_ipaddress {\n 192.0.2.100/24 brd + dev eth1 label eth1:v scope link\n 192.0.2.101\n }\n}\n",
        );
        let plans = plan(&c, &facts()).unwrap();
        let p = &plans[0];
        assert_eq!(p.cfg.name, "VI_1");
        assert_eq!(p.cfg.vrid, 51);
        assert_eq!(p.cfg.priority, 150);
        assert_eq!(p.cfg.version, Version::V2);
        assert_eq!(p.cfg.adver_int, Centisecs(200));
        assert!(!p.cfg.preempt);
        assert_eq!(p.cfg.auth, Auth::simple(b"secret12"));
        assert_eq!(p.cfg.primary_addr, "192.0.2.1".parse::<IpAddr>().unwrap());
        assert_eq!(p.cfg.garp.master_repeat, 5);
        assert_eq!(p.cfg.garp.master_delay, Some(Duration::from_secs(5)));
        assert_eq!(
            p.transport,
            Transport::Multicast("224.0.0.18".parse().unwrap())
        );
        assert_eq!(p.vips.len(), 2);
        assert_eq!(p.vips[0].dev, "eth1");
        assert_eq!(p.vips[0].prefix_len, 24);
        assert_eq!(p.vips[0].broadcast, Some(Ipv4Addr::new(192, 0, 2, 255)));
        assert_eq!(p.vips[0].label.as_deref(), Some("eth1:v"));
        assert_eq!(p.vips[0].scope, AddrScope::Link);
        assert_eq!(p.vips[1].dev, "eth0");
        assert_eq!(p.vips[1].prefix_len, 32);
        assert!(p.iface_present);
    }

    #[test]
    fn v3_ipv6_unicast_and_garp_globals() {
        let c = read(
            "global_defs {\n vrrp_garp_master_delay 0\n vrrp_garp_master_repeat 2\n }\n\
             vrrp_instance VI_6 {\n state MASTER\n interface eth0\n virtual_router_id 7\n \
             advert_int 0.05\n unicast_peer {\n 2001:db8::2\n }\n unicast_ttl 10\n \
             virtual_ipaddress {\n 2001:db8::100/64\n }\n}\n",
        );
        let p = &plan(&c, &facts()).unwrap()[0];
        assert_eq!(p.cfg.version, Version::V3);
        assert_eq!(p.cfg.adver_int, Centisecs(5));
        assert_eq!(p.cfg.priority, 255);
        assert_eq!(p.cfg.initial_state, InitialState::Master);
        assert_eq!(p.cfg.primary_addr, "fe80::1".parse::<IpAddr>().unwrap());
        assert_eq!(p.cfg.garp.master_delay, None);
        assert_eq!(p.cfg.garp.master_repeat, 2);
        assert!(!p.cfg.check_ttl);
        assert_eq!(
            p.transport,
            Transport::Unicast {
                peers: vec!["2001:db8::2".parse().unwrap()],
                ttl: 10
            }
        );
    }

    #[test]
    fn missing_interface_is_planned_for_fault_and_src_ip_wins() {
        let c = read(
            "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n \
             mcast_src_ip 192.0.2.9\n virtual_ipaddress {\n 192.0.2.100\n }\n}\n",
        );
        let p = &plan(&c, &facts()).unwrap()[0];
        assert_eq!(p.cfg.primary_addr, "192.0.2.9".parse::<IpAddr>().unwrap());
        let p = &plan(&c, &IfFacts::default()).unwrap()[0];
        assert!(!p.iface_present);
    }

    #[test]
    fn interface_without_address_is_an_error() {
        let c = read(
            "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n \
             virtual_ipaddress {\n 192.0.2.100\n }\n}\n",
        );
        let mut f = IfFacts::default();
        f.addrs.insert("eth0".into(), vec![]);
        let errs = plan(&c, &f).unwrap_err();
        assert!(errs[0].message.contains("(VI_1)"), "{errs:?}");
    }
}
