//! Helpers for the engine tests: two segments (192.0.2.0/24 and 198.51.100.0/24), one VRID per
//! segment.

use core::net::Ipv4Addr;

use keepalived_vrrp::sim::Net;
use keepalived_vrrp::{
    AddrList, Engine, Instance, InstanceConfig, InstanceRef, Tracked, TrackerId, TrackerUpdate,
    TrackerValue, Version,
};

/// Host `host`'s address on `segment` (0: 192.0.2.host, 1: 198.51.100.host).
pub fn seg_addr(segment: usize, host: u8) -> Ipv4Addr {
    match segment {
        0 => Ipv4Addr::new(192, 0, 2, host),
        _ => Ipv4Addr::new(198, 51, 100, host),
    }
}

/// The VRID used on `segment`.
pub fn seg_vrid(segment: usize) -> u8 {
    10 + u8::try_from(segment).unwrap()
}

/// A VRRPv2 instance of `host` on `segment` with `priority`.
pub fn seg_cfg(segment: usize, host: u8, priority: u8) -> InstanceConfig {
    let mut c = InstanceConfig::new(
        format!("VI_{segment}"),
        seg_vrid(segment),
        Version::V2,
        seg_addr(segment, host).into(),
        AddrList::V4(vec![seg_addr(segment, 100)]),
    );
    c.priority = priority;
    c
}

/// Adds to `net` a node `host` with one instance per segment in `priorities` (segment i gets
/// `priorities[i]`) and the given tracks; returns the node and its instances.
pub fn node(
    net: &mut Net,
    host: u8,
    priorities: &[u8],
    tracks: &[Vec<Tracked>],
) -> (usize, Vec<InstanceRef>) {
    let n = net.add_node();
    let mut refs = Vec::new();
    for (seg, &p) in priorities.iter().enumerate() {
        let link = net.add_link(n, seg);
        let inst = Instance::new(seg_cfg(seg, host, p)).unwrap();
        let t = tracks.get(seg).cloned().unwrap_or_default();
        refs.push(net.engine_mut(n).add_instance(link, inst, t).unwrap());
    }
    (n, refs)
}

/// A status update.
pub fn upd(id: usize, value: TrackerValue) -> TrackerUpdate {
    TrackerUpdate {
        id: TrackerId(id),
        value,
    }
}

/// An engine with one link and one instance (192.0.2.1, `priority`) tracking `tracks`.
pub fn single(priority: u8, tracks: Vec<Tracked>) -> (Engine, InstanceRef) {
    let mut e = Engine::new();
    let link = e.add_link();
    let inst = Instance::new(seg_cfg(0, 1, priority)).unwrap();
    let r = e.add_instance(link, inst, tracks).unwrap();
    (e, r)
}
