//! Gratuitous ARP and unsolicited neighbour advertisements against the real
//! kernel: `ha1` announces a VIP, and `ha2`'s neighbour table (`ip -j neigh`)
//! must show it at the announced MAC, first at `ha1`'s own MAC, then, after
//! a second announcement from a VRRP virtual MAC (a failover), at that one.
//! The peer accepts unsolicited announcements (`arp_accept=1`; for IPv6
//! `accept_untracked_na=1`, which Linux honours only on a router, so the
//! peer also forwards). Needs root; skips with a message otherwise.

mod common;

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use common::in_netns;
use keepalived_net::{Garp, MacAddr, NetError};
use lab::{Host, Lab};

/// The VRRP virtual MAC of VRID 7.
const VMAC: MacAddr = [0x00, 0x00, 0x5e, 0x00, 0x01, 0x07];

fn mac_str(mac: MacAddr) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The MAC of `ifname` on `host`, as `ip -j link` shows it.
fn link_mac(host: &Host, ifname: &str) -> String {
    let json = host.ip(["-j", "link", "show", "dev", ifname]).unwrap();
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    value[0]["address"].as_str().unwrap().to_owned()
}

/// The link-layer address `host`'s neighbour table holds for `dst` on eth0.
fn neigh_mac(host: &Host, dst: &str) -> Option<String> {
    let json = host.ip(["-j", "neigh", "show", "dev", "eth0"]).unwrap();
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    value
        .as_array()?
        .iter()
        .find(|n| n["dst"] == dst)
        .and_then(|n| n["lladdr"].as_str().map(str::to_owned))
}

/// Waits (up to 3 s) until `host` maps `dst` to `mac`; on failure, shows
/// the whole table.
fn assert_neigh(host: &Host, dst: &str, mac: &str) {
    let found = lab::wait_until(Duration::from_secs(3), Duration::from_millis(20), || {
        neigh_mac(host, dst).as_deref() == Some(mac)
    });
    assert!(
        found.is_some(),
        "{} never mapped {dst} to {mac}; table: {}",
        host.name(),
        host.ip(["neigh", "show", "dev", "eth0"])
            .unwrap_or_default()
    );
}

/// `ha1` and `ha2` joined by a veth `eth0`, with 192.0.2.1/24 and
/// 192.0.2.2/24 and 2001:db8::1/64 and 2001:db8::2/64, `ha2` accepting
/// unsolicited ARP and NA (an untracked NA creates an entry only on a
/// router, hence `forwarding=1`). `None` if the kernel lacks `accept_untracked_na`
/// and `v6` is wanted.
fn setup(v6: bool) -> Option<(Lab, Host, Host)> {
    let lab = Lab::new("kagarp").unwrap();
    let ha1 = lab.host("ha1").unwrap();
    let ha2 = lab.host("ha2").unwrap();
    lab.veth(&ha1, "eth0", &ha2, "eth0").unwrap();
    ha1.add_addr("eth0", "192.0.2.1/24").unwrap();
    ha2.add_addr("eth0", "192.0.2.2/24").unwrap();
    ha2.sysctl("net.ipv4.conf.all.arp_accept", "1").unwrap();
    ha2.sysctl("net.ipv4.conf.eth0.arp_accept", "1").unwrap();
    if v6 {
        if ha2
            .sysctl("net.ipv6.conf.eth0.accept_untracked_na", "1")
            .is_err()
        {
            eprintln!("skipping: this kernel has no accept_untracked_na (Linux < 5.18)");
            return None;
        }
        ha2.sysctl("net.ipv6.conf.eth0.forwarding", "1").unwrap();
        ha1.ip(["addr", "add", "2001:db8::1/64", "dev", "eth0", "nodad"])
            .unwrap();
        ha2.ip(["addr", "add", "2001:db8::2/64", "dev", "eth0", "nodad"])
            .unwrap();
    }
    Some((lab, ha1, ha2))
}

#[test]
fn gratuitous_arp_fills_the_peer_neighbour_table() {
    lab::require_root!();
    let (_lab, ha1, ha2) = setup(false).unwrap();
    let garp = in_netns(&ha1, || Garp::open("eth0").unwrap());
    let own = link_mac(&ha1, "eth0");
    assert_eq!(mac_str(garp.mac()), own);
    assert_eq!(garp.ifname(), "eth0");

    assert_eq!(neigh_mac(&ha2, "192.0.2.10"), None);
    garp.send_arp(Ipv4Addr::new(192, 0, 2, 10)).unwrap();
    assert_neigh(&ha2, "192.0.2.10", &own);

    // A takeover announces the same VIP from the virtual MAC: the peer's
    // entry moves to it at once (a gratuitous ARP overrides).
    let vgarp = in_netns(&ha1, || Garp::open("eth0").unwrap().with_mac(VMAC));
    vgarp.announce(Ipv4Addr::new(192, 0, 2, 10).into()).unwrap();
    assert_neigh(&ha2, "192.0.2.10", &mac_str(VMAC));
    // Other VIPs are untouched by it.
    assert_eq!(neigh_mac(&ha2, "192.0.2.11"), None);
}

#[test]
fn unsolicited_na_fills_the_peer_neighbour_table() {
    lab::require_root!();
    let Some((_lab, ha1, ha2)) = setup(true) else {
        return;
    };
    // The link-local address appears when the link comes up.
    let has_ll = lab::wait_until(Duration::from_secs(3), Duration::from_millis(20), || {
        ha1.ip(["-6", "addr", "show", "dev", "eth0", "scope", "link"])
            .is_ok_and(|out| out.contains("fe80::"))
    });
    assert!(has_ll.is_some(), "ha1 has no link-local address");
    let garp = in_netns(&ha1, || Garp::open("eth0").unwrap());
    let src = garp.source_v6().expect("link-local source");
    assert!(src.is_unicast_link_local(), "{src}");
    let own = link_mac(&ha1, "eth0");

    let vip: Ipv6Addr = "2001:db8::10".parse().unwrap();
    assert_eq!(neigh_mac(&ha2, "2001:db8::10"), None);
    garp.send_na(vip).unwrap();
    assert_neigh(&ha2, "2001:db8::10", &own);

    // The Override flag lets a takeover from the virtual MAC, sent from a
    // global source this time, replace the entry.
    let vgarp = in_netns(&ha1, || {
        Garp::open("eth0")
            .unwrap()
            .with_mac(VMAC)
            .with_source_v6("2001:db8::1".parse().unwrap())
    });
    vgarp.announce(vip.into()).unwrap();
    assert_neigh(&ha2, "2001:db8::10", &mac_str(VMAC));
}

#[test]
fn bad_interfaces_and_down_links_are_errors() {
    lab::require_root!();
    let (_lab, ha1, _ha2) = setup(false).unwrap();
    let missing = in_netns(&ha1, || Garp::open("nosuch0").map(drop));
    assert!(
        matches!(missing, Err(NetError::NoSuchInterface { .. })),
        "{missing:?}"
    );
    let garp = in_netns(&ha1, || Garp::open("eth0").unwrap());
    ha1.link_set_down("eth0").unwrap();
    let err = garp.send_arp(Ipv4Addr::new(192, 0, 2, 10)).unwrap_err();
    match &err {
        NetError::Socket { source, ifname, .. } => {
            assert_eq!(source.raw_os_error(), Some(libc::ENETDOWN), "{err}");
            assert_eq!(ifname, "eth0");
        }
        other => panic!("unexpected {other}"),
    }
}
