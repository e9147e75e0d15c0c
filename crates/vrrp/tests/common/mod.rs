//! Helpers shared by the simulation tests.
#![allow(dead_code)]

use core::net::{Ipv4Addr, Ipv6Addr};
use core::time::Duration;

pub mod engine;

use keepalived_vrrp::sim::Lan;
use keepalived_vrrp::{AddrList, Centisecs, InstanceConfig, Instant, State, Version};

pub const VRID: u8 = 51;

/// Router `n`'s address: 10.0.0.n.
pub fn addr(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, n)
}

/// A VRRPv2 instance of router `n` with `priority` (advert_int 1 s).
pub fn v2(n: u8, priority: u8) -> InstanceConfig {
    let mut c = InstanceConfig::new(
        format!("VI_{n}"),
        VRID,
        Version::V2,
        addr(n).into(),
        AddrList::V4(vec![Ipv4Addr::new(10, 0, 0, 100)]),
    );
    c.priority = priority;
    c
}

/// A VRRPv3 IPv4 instance of router `n` with `priority` and `adver_int`.
pub fn v3(n: u8, priority: u8, adver_int: Centisecs) -> InstanceConfig {
    let mut c = v2(n, priority);
    c.version = Version::V3;
    c.adver_int = adver_int;
    c
}

/// A VRRPv3 IPv6 instance of router `n`.
pub fn v3_ipv6(n: u8, priority: u8) -> InstanceConfig {
    let mut c = InstanceConfig::new(
        format!("VI6_{n}"),
        VRID,
        Version::V3,
        Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, u16::from(n)).into(),
        AddrList::V6(vec!["2001:db8::100".parse().unwrap()]),
    );
    c.priority = priority;
    c
}

/// A LAN with one node per configuration, all started at time zero.
pub fn lan(configs: Vec<InstanceConfig>) -> Lan {
    let mut lan = Lan::new(1);
    for (i, c) in configs.into_iter().enumerate() {
        let n = lan.add_node(&format!("r{i}"), vec![c]);
        lan.start(n);
    }
    lan
}

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

pub fn at_secs(s: u64) -> Instant {
    Instant::from_millis(s * 1000)
}

/// The first time `node` entered `state` for VRID at or after `after`.
pub fn entered(lan: &Lan, node: usize, state: State, after: Instant) -> Option<Instant> {
    lan.transitions(node, VRID)
        .into_iter()
        .find(|(at, to, _)| *at >= after && *to == state)
        .map(|(at, _, _)| at)
}

/// The last advert `node` sent at or before `at`.
pub fn last_advert_before(lan: &Lan, node: usize, at: Instant) -> Instant {
    lan.adverts(node, VRID)
        .into_iter()
        .filter(|(t, _)| *t <= at)
        .map(|(t, _)| t)
        .next_back()
        .expect("an advert")
}

/// Asserts exactly `node` is master and it alone holds the VIPs.
pub fn assert_sole_master(lan: &Lan, node: usize, nodes: usize) {
    assert_eq!(lan.masters(VRID), vec![node], "at {}", lan.now());
    for n in 0..nodes {
        assert_eq!(
            lan.holds_vips(n, VRID),
            n == node,
            "node {n} VIPs at {}",
            lan.now()
        );
    }
}
