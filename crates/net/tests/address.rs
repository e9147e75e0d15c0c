//! Interface addresses over rtnetlink against the real kernel, in a lab
//! namespace; what we add and remove is read back both with our own dump and
//! with iproute2 (`ip -j addr`). Needs root; skips with a message otherwise.

mod common;

use std::net::{IpAddr, Ipv4Addr};

use common::in_netns;
use keepalived_net::{AddrScope, AddrSpec, NetError, Rtnl, ifindex};
use lab::{Host, Lab};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A host `ha1` whose `eth0` is a veth to `ha2`, with an rtnetlink socket
/// and the index of `eth0`, both from inside `ha1`.
fn setup() -> (Lab, Host, Rtnl, u32) {
    let lab = Lab::new("kanet").unwrap();
    let ha1 = lab.host("ha1").unwrap();
    let ha2 = lab.host("ha2").unwrap();
    lab.veth(&ha1, "eth0", &ha2, "eth0").unwrap();
    let (rtnl, idx) = in_netns(&ha1, || (Rtnl::open().unwrap(), ifindex("eth0").unwrap()));
    (lab, ha1, rtnl, idx)
}

fn errno(err: &NetError) -> Option<i32> {
    match err {
        NetError::Netlink { source, .. } => source.raw_os_error(),
        _ => None,
    }
}

/// The label `ip` shows for `addr`, if any.
fn ip_label(host: &Host, addr: &str) -> Option<String> {
    let json = host.ip(["-j", "addr", "show", "dev", "eth0"]).unwrap();
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    value[0]["addr_info"]
        .as_array()?
        .iter()
        .find(|a| a["local"] == addr)
        .and_then(|a| a["label"].as_str().map(str::to_owned))
}

#[test]
fn ipv4_add_with_label_read_back_and_remove() {
    lab::require_root!();
    let (_lab, ha1, mut rtnl, idx) = setup();
    let vip = ip("192.0.2.10");
    let spec = AddrSpec::new(idx, vip, 24)
        .with_label("eth0:vip")
        .with_broadcast(Ipv4Addr::new(192, 0, 2, 255));
    rtnl.add_addr(&spec).unwrap();

    assert!(ha1.addrs("eth0").unwrap().contains(&(vip, 24)));
    assert_eq!(ip_label(&ha1, "192.0.2.10").as_deref(), Some("eth0:vip"));
    let ours = rtnl.addrs(Some(idx)).unwrap();
    let info = ours.iter().find(|a| a.addr == vip).expect("listed");
    assert_eq!(info.prefix_len, 24);
    assert_eq!(info.label.as_deref(), Some("eth0:vip"));
    assert_eq!(info.broadcast, Some(Ipv4Addr::new(192, 0, 2, 255)));
    assert_eq!(info.scope, AddrScope::Universe);
    assert_eq!(info.ifindex, idx);
    // The whole-namespace dump has it too, and lo's 127.0.0.1.
    let all = rtnl.addrs(None).unwrap();
    assert!(all.iter().any(|a| a.addr == vip));
    assert!(all.iter().any(|a| a.addr == ip("127.0.0.1")));

    // Adding it twice is EEXIST.
    let again = rtnl.add_addr(&spec).unwrap_err();
    assert_eq!(errno(&again), Some(libc::EEXIST), "{again}");

    rtnl.del_addr(&spec).unwrap();
    assert!(!ha1.addrs("eth0").unwrap().iter().any(|(a, _)| *a == vip));
    assert!(!rtnl.addrs(Some(idx)).unwrap().iter().any(|a| a.addr == vip));
    // Removing what is not there is EADDRNOTAVAIL.
    let gone = rtnl.del_addr(&spec).unwrap_err();
    assert_eq!(errno(&gone), Some(libc::EADDRNOTAVAIL), "{gone}");
}

#[test]
fn ipv4_scope_and_host_prefix() {
    lab::require_root!();
    let (_lab, ha1, mut rtnl, idx) = setup();
    let spec = AddrSpec::new(idx, ip("203.0.113.5"), 32).with_scope(AddrScope::Link);
    rtnl.add_addr(&spec).unwrap();
    assert!(
        ha1.addrs("eth0")
            .unwrap()
            .contains(&(ip("203.0.113.5"), 32))
    );
    let info = rtnl
        .addrs(Some(idx))
        .unwrap()
        .into_iter()
        .find(|a| a.addr == spec.addr)
        .unwrap();
    assert_eq!(info.scope, AddrScope::Link);
    // Without a label the kernel reports the interface name.
    assert_eq!(info.label.as_deref(), Some("eth0"));
    rtnl.del_addr(&spec).unwrap();
    assert!(!ha1.has_addr(spec.addr));
}

#[test]
fn ipv6_add_nodad_read_back_and_remove() {
    lab::require_root!();
    let (_lab, ha1, mut rtnl, idx) = setup();
    let vip = ip("2001:db8::10");
    let spec = AddrSpec::new(idx, vip, 64);
    rtnl.add_addr(&spec).unwrap();
    assert!(ha1.addrs("eth0").unwrap().contains(&(vip, 64)));
    let info = rtnl
        .addrs(Some(idx))
        .unwrap()
        .into_iter()
        .find(|a| a.addr == vip)
        .unwrap();
    assert_eq!(info.prefix_len, 64);
    assert_eq!(info.flags & 0x02, 0x02, "nodad");
    assert_eq!(info.flags & 0x40, 0, "not tentative");
    rtnl.del_addr(&spec).unwrap();
    assert!(!ha1.has_addr(vip));
}

#[test]
fn bad_requests_are_refused() {
    lab::require_root!();
    let (_lab, _ha1, mut rtnl, idx) = setup();
    // Refused before reaching the kernel.
    let labelled_v6 = AddrSpec::new(idx, ip("2001:db8::10"), 64).with_label("eth0:x");
    assert!(matches!(
        rtnl.add_addr(&labelled_v6),
        Err(NetError::InvalidArgument(_))
    ));
    // Refused by the kernel: no such interface.
    let nowhere = AddrSpec::new(9999, ip("198.51.100.1"), 24);
    let err = rtnl.add_addr(&nowhere).unwrap_err();
    assert_eq!(errno(&err), Some(libc::ENODEV), "{err}");
    // The socket is still usable after an error.
    assert!(rtnl.addrs(Some(idx)).is_ok());
}
