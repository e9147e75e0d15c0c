//! VRRP virtual MAC interfaces against the real kernel, in lab namespaces: what [`Vmacs`]
//! creates is read back with iproute2 (`ip -j -d link`, `ip -j addr`), sysfs and `/proc/sys`,
//! and a VRRP advert sent from the VMAC is captured on the peer with an `AF_PACKET` socket to
//! check its source MAC. Leftovers of a crashed run are replaced, other links of the same name
//! never touched. Needs root; skips with a message otherwise.

mod common;

use std::net::{IpAddr, Ipv6Addr};
use std::time::{Duration, Instant};

use common::in_netns;
use keepalived_net::{
    IpFamily, MacAddr, NetError, Rtnl, Vmac, VmacSpec, Vmacs, VrrpSocket, VrrpSocketConfig,
    eui64_link_local, ifindex, mac_str,
};
use lab::{Host, Lab};
use serde_json::Value;
use socket2::{Domain, Protocol, Socket, Type};

/// `ha1` and `ha2` joined by veth `eth0`, 192.0.2.1/24 and 192.0.2.2/24; an rtnetlink socket
/// in `ha1` and the index of its `eth0`.
fn setup() -> (Lab, Host, Host, Rtnl, u32) {
    let lab = Lab::new("kavmac").unwrap();
    let ha1 = lab.host("ha1").unwrap();
    let ha2 = lab.host("ha2").unwrap();
    lab.veth(&ha1, "eth0", &ha2, "eth0").unwrap();
    ha1.add_addr("eth0", "192.0.2.1/24").unwrap();
    ha2.add_addr("eth0", "192.0.2.2/24").unwrap();
    // eth0's own link-local address appears once the link is running (linkwatch may take up
    // to a second on a fresh veth); the IPv6 VMAC copies it.
    let ll = lab::wait_until(Duration::from_secs(3), Duration::from_millis(10), || {
        ha1.ip(["-6", "addr", "show", "dev", "eth0", "scope", "link"])
            .is_ok_and(|o| o.contains("fe80::"))
    });
    assert!(ll.is_some(), "eth0 never got a link-local address");
    let (rtnl, idx) = in_netns(&ha1, || (Rtnl::open().unwrap(), ifindex("eth0").unwrap()));
    (lab, ha1, ha2, rtnl, idx)
}

/// `ip -j -d link show dev NAME` on `host`.
fn link_json(host: &Host, name: &str) -> Value {
    let out = host.ip(["-j", "-d", "link", "show", "dev", name]).unwrap();
    let v: Value = serde_json::from_str(&out).unwrap();
    v[0].clone()
}

/// An integer sysctl in `host`'s namespace, e.g. `ipv4/conf/eth0/arp_ignore`.
fn sysctl(host: &Host, key: &str) -> i64 {
    let out = host
        .run_ok("cat", [format!("/proc/sys/net/{key}")])
        .unwrap();
    out.trim().parse().unwrap()
}

/// The MAC the kernel reports in sysfs (`ip netns exec` mounts the namespace's sysfs).
fn sysfs_mac(host: &Host, name: &str) -> String {
    host.run_ok("cat", [format!("/sys/class/net/{name}/address")])
        .unwrap()
        .trim()
        .to_owned()
}

/// The IPv6 addresses on `name`, with their `ip -j addr` entries.
fn v6_addrs(host: &Host, name: &str) -> Vec<Value> {
    let out = host.ip(["-j", "-6", "addr", "show", "dev", name]).unwrap();
    let v: Value = serde_json::from_str(&out).unwrap();
    v[0]["addr_info"].as_array().cloned().unwrap_or_default()
}

fn create(host: &Host, vmacs: Vmacs, rtnl: Rtnl, spec: VmacSpec) -> (Vmacs, Rtnl, Vmac) {
    in_netns(host, move || {
        let (mut vmacs, mut rtnl) = (vmacs, rtnl);
        let v = vmacs
            .create(&mut rtnl, &spec)
            .unwrap_or_else(|e| panic!("{spec:?}: {e}"));
        (vmacs, rtnl, v)
    })
}

fn remove(host: &Host, vmacs: Vmacs, rtnl: Rtnl, v: Vmac) -> (Vmacs, Rtnl) {
    in_netns(host, move || {
        let (mut vmacs, mut rtnl) = (vmacs, rtnl);
        vmacs.remove(&mut rtnl, &v).unwrap();
        (vmacs, rtnl)
    })
}

#[test]
fn ipv4_vmac_is_a_private_macvlan_with_keepalived_sysctls() {
    lab::require_root!();
    let (_lab, ha1, _ha2, rtnl, eth0) = setup();
    assert_eq!(sysctl(&ha1, "ipv4/conf/eth0/arp_ignore"), 0);
    assert_eq!(sysctl(&ha1, "ipv4/conf/eth0/arp_filter"), 0);

    let (vmacs, rtnl, v) = create(
        &ha1,
        Vmacs::new(),
        rtnl,
        VmacSpec::new(eth0, 51, IpFamily::V4),
    );
    assert_eq!(v.name, "vrrp.51");
    assert_eq!(v.parent, eth0);
    assert_eq!(sysfs_mac(&ha1, "vrrp.51"), "00:00:5e:00:01:33");
    let j = link_json(&ha1, "vrrp.51");
    assert_eq!(j["ifindex"], v.ifindex);
    assert_eq!(j["link"], "eth0");
    assert_eq!(j["linkinfo"]["info_kind"], "macvlan");
    assert_eq!(j["linkinfo"]["info_data"]["mode"], "private");
    assert_eq!(j["inet6_addr_gen_mode"], "none");
    let flags = j["flags"].to_string();
    assert!(flags.contains("\"UP\""), "{flags}");
    // `ip -d link` in words, as the brief asks.
    let text = ha1.ip(["-d", "link", "show", "dev", "vrrp.51"]).unwrap();
    assert!(text.contains("macvlan mode private"), "{text}");

    // keepalived 2.2.7's values, read in a lab: on the VMAC and on its parent.
    for (key, want) in [
        ("ipv4/conf/vrrp.51/arp_ignore", 1),
        ("ipv4/conf/vrrp.51/accept_local", 1),
        ("ipv4/conf/vrrp.51/rp_filter", 0),
        ("ipv4/conf/vrrp.51/promote_secondaries", 1),
        ("ipv6/conf/vrrp.51/disable_ipv6", 1),
        ("ipv4/conf/eth0/arp_ignore", 1),
        ("ipv4/conf/eth0/arp_filter", 1),
    ] {
        assert_eq!(sysctl(&ha1, key), want, "{key}");
    }
    assert!(v6_addrs(&ha1, "vrrp.51").is_empty());

    // A second VMAC on the same parent, with a configured name and MAC.
    let spec = VmacSpec::new(eth0, 52, IpFamily::V4)
        .with_name("vip52")
        .with_mac([0x02, 0x11, 0x22, 0x33, 0x44, 52]);
    let (vmacs, rtnl, v2) = create(&ha1, vmacs, rtnl, spec);
    assert_eq!(sysfs_mac(&ha1, "vip52"), "02:11:22:33:44:34");
    assert_eq!(vmacs.vmacs().len(), 2);

    // The parent keeps its ARP settings while one VMAC remains, and gets its own back after.
    let (vmacs, rtnl) = remove(&ha1, vmacs, rtnl, v);
    assert!(!ha1.iface_exists("vrrp.51"));
    assert_eq!(sysctl(&ha1, "ipv4/conf/eth0/arp_ignore"), 1);
    let (vmacs, _rtnl) = remove(&ha1, vmacs, rtnl, v2);
    assert!(!ha1.iface_exists("vip52"));
    assert_eq!(sysctl(&ha1, "ipv4/conf/eth0/arp_ignore"), 0);
    assert_eq!(sysctl(&ha1, "ipv4/conf/eth0/arp_filter"), 0);
    assert!(vmacs.vmacs().is_empty());
    assert!(ha1.iface_exists("eth0"));
}

#[test]
fn all_rp_filter_is_moved_to_the_interfaces_and_restored() {
    lab::require_root!();
    let (_lab, ha1, _ha2, rtnl, eth0) = setup();
    ha1.sysctl("net.ipv4.conf.all.rp_filter", "2").unwrap();
    ha1.sysctl("net.ipv4.conf.default.rp_filter", "0").unwrap();
    ha1.sysctl("net.ipv4.conf.eth0.rp_filter", "1").unwrap();
    let (vmacs, rtnl, v) = create(
        &ha1,
        Vmacs::new(),
        rtnl,
        VmacSpec::new(eth0, 9, IpFamily::V4),
    );
    assert_eq!(sysctl(&ha1, "ipv4/conf/all/rp_filter"), 0);
    assert_eq!(sysctl(&ha1, "ipv4/conf/default/rp_filter"), 2);
    assert_eq!(sysctl(&ha1, "ipv4/conf/eth0/rp_filter"), 2);
    assert_eq!(sysctl(&ha1, "ipv4/conf/vrrp.9/rp_filter"), 0);
    remove(&ha1, vmacs, rtnl, v);
    assert_eq!(sysctl(&ha1, "ipv4/conf/all/rp_filter"), 2);
    assert_eq!(sysctl(&ha1, "ipv4/conf/default/rp_filter"), 0);
    assert_eq!(sysctl(&ha1, "ipv4/conf/eth0/rp_filter"), 1);
}

#[test]
fn ipv6_vmac_gets_the_parents_link_local_and_no_generated_one() {
    lab::require_root!();
    let (_lab, ha1, _ha2, rtnl, eth0) = setup();
    let parent_mac = sysfs_mac(&ha1, "eth0");
    let parent_ll: Ipv6Addr = v6_addrs(&ha1, "eth0")
        .iter()
        .find(|a| a["scope"] == "link")
        .map(|a| a["local"].as_str().unwrap().parse().unwrap())
        .expect("eth0 has a link-local address");

    let (vmacs, rtnl, v) = create(
        &ha1,
        Vmacs::new(),
        rtnl,
        VmacSpec::new(eth0, 7, IpFamily::V6),
    );
    assert_eq!(sysfs_mac(&ha1, "vrrp.7"), "00:00:5e:00:02:07");
    assert_eq!(v.link_local, Some(parent_ll));
    let addrs = v6_addrs(&ha1, "vrrp.7");
    assert_eq!(addrs.len(), 1, "only the parent's link-local: {addrs:?}");
    assert_eq!(addrs[0]["local"], parent_ll.to_string());
    assert_eq!(addrs[0]["prefixlen"], 64);
    assert_eq!(addrs[0]["scope"], "link");
    assert_eq!(
        addrs[0]["preferred_life_time"], 0,
        "deprecated: {:?}",
        addrs[0]
    );
    // Not the EUI-64 address of the shared virtual MAC (RFC 5798 §7.4).
    let generated = eui64_link_local(&v.mac);
    assert_ne!(addrs[0]["local"], generated.to_string());
    assert_eq!(link_json(&ha1, "vrrp.7")["inet6_addr_gen_mode"], "none");
    // IPv4 sysctls are an IPv4 instance's business only.
    assert_eq!(sysctl(&ha1, "ipv4/conf/eth0/arp_ignore"), 0);

    // A configured source, and the EUI-64 fallback when the parent has no link-local.
    let (vmacs, rtnl) = remove(&ha1, vmacs, rtnl, v);
    let src: Ipv6Addr = "fe80::5".parse().unwrap();
    let spec = VmacSpec::new(eth0, 8, IpFamily::V6).with_link_local(src);
    let (vmacs, rtnl, v) = create(&ha1, vmacs, rtnl, spec);
    assert_eq!(v6_addrs(&ha1, "vrrp.8")[0]["local"], "fe80::5");
    let (vmacs, rtnl) = remove(&ha1, vmacs, rtnl, v);
    ha1.ip(["addr", "flush", "dev", "eth0", "scope", "link"])
        .unwrap();
    let (vmacs, rtnl, v) = create(&ha1, vmacs, rtnl, VmacSpec::new(eth0, 9, IpFamily::V6));
    let mac: Vec<u8> = parent_mac
        .split(':')
        .map(|h| u8::from_str_radix(h, 16).unwrap())
        .collect();
    let want = eui64_link_local(&MacAddr::try_from(mac.as_slice()).unwrap());
    assert_eq!(v.link_local, Some(want));
    assert_eq!(v6_addrs(&ha1, "vrrp.9")[0]["local"], want.to_string());
    remove(&ha1, vmacs, rtnl, v);
}

#[test]
fn leftovers_are_replaced_and_strangers_left_alone() {
    lab::require_root!();
    let (_lab, ha1, _ha2, rtnl, eth0) = setup();
    // A crashed run's VMAC: right name and MAC, wrong mode, down.
    ha1.ip([
        "link",
        "add",
        "vrrp.52",
        "link",
        "eth0",
        "address",
        "00:00:5e:00:01:34",
        "type",
        "macvlan",
        "mode",
        "bridge",
    ])
    .unwrap();
    let old = link_json(&ha1, "vrrp.52")["ifindex"].as_u64().unwrap();
    // Another daemon's VMAC (a VRRP MAC, other name) is listed but not touched by create.
    ha1.ip([
        "link",
        "add",
        "vrrp.99",
        "link",
        "eth0",
        "address",
        "00:00:5e:00:01:63",
        "type",
        "macvlan",
        "mode",
        "private",
    ])
    .unwrap();
    // Not a VMAC at all, under the name an instance wants.
    ha1.ip([
        "link", "add", "vrrp.53", "type", "veth", "peer", "name", "p53",
    ])
    .unwrap();

    let (vmacs, mut rtnl, v) = create(
        &ha1,
        Vmacs::new(),
        rtnl,
        VmacSpec::new(eth0, 52, IpFamily::V4),
    );
    assert_ne!(u64::from(v.ifindex), old, "re-created");
    assert_eq!(
        link_json(&ha1, "vrrp.52")["linkinfo"]["info_data"]["mode"],
        "private"
    );

    let mut listed: Vec<String> = rtnl
        .vrrp_macvlans()
        .unwrap()
        .into_iter()
        .map(|l| l.name)
        .collect();
    listed.sort();
    assert_eq!(listed, ["vrrp.52", "vrrp.99"]);

    let (vmacs, rtnl, err) = in_netns(&ha1, move || {
        let (mut vmacs, mut rtnl) = (vmacs, rtnl);
        let err = vmacs
            .create(&mut rtnl, &VmacSpec::new(eth0, 53, IpFamily::V4))
            .unwrap_err();
        (vmacs, rtnl, err)
    });
    assert!(matches!(err, NetError::InvalidArgument(_)), "{err}");
    assert!(ha1.iface_exists("vrrp.53"), "a veth must never be deleted");
    assert_eq!(vmacs.vmacs().len(), 1);

    // Removing leftovers by hand: ours goes, the stranger stays and is reported.
    let mut rtnl = rtnl;
    assert!(
        rtnl.remove_leftover_vmac("vrrp.99", &[0, 0, 0x5e, 0, 1, 99])
            .unwrap()
    );
    assert!(!ha1.iface_exists("vrrp.99"));
    assert!(!rtnl.remove_leftover_vmac("vrrp.99", &[0; 6]).unwrap());
    assert!(rtnl.remove_leftover_vmac("vrrp.53", &[0; 6]).is_err());
    assert!(ha1.iface_exists("vrrp.53"));

    // Shutdown removes what is left.
    let (vmacs, _rtnl) = in_netns(&ha1, move || {
        let (mut vmacs, mut rtnl) = (vmacs, rtnl);
        vmacs.remove_all(&mut rtnl).unwrap();
        (vmacs, rtnl)
    });
    assert!(vmacs.vmacs().is_empty());
    assert!(!ha1.iface_exists("vrrp.52"));
    assert_eq!(sysctl(&ha1, "ipv4/conf/eth0/arp_ignore"), 0);
}

/// An `AF_PACKET` socket in `host` that sees every frame of the namespace.
fn packet_socket(host: &Host) -> Socket {
    let sock = in_netns(host, || {
        // ETH_P_ALL in network byte order.
        let all = i32::from(0x0003u16.to_be());
        Socket::new(Domain::PACKET, Type::RAW, Some(Protocol::from(all))).unwrap()
    });
    sock.set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    sock
}

/// A VRRP frame seen on the wire: Ethernet source, EtherType, IP source.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    mac: MacAddr,
    ethertype: u16,
    src: IpAddr,
}

/// The first VRRP (IP protocol 112) frame `sock` receives within `timeout`.
fn capture_vrrp(sock: &Socket, timeout: Duration) -> Option<Seen> {
    use std::io::Read;
    let start = Instant::now();
    let mut frame = [0u8; 2048];
    while start.elapsed() < timeout {
        let Ok(n) = (&mut &*sock).read(&mut frame) else {
            continue;
        };
        let frame = &frame[..n];
        if frame.len() < 14 + 20 {
            continue;
        }
        let ethertype = u16::from_be_bytes([frame[12], frame[13]]);
        let (proto, src) = match ethertype {
            0x0800 => {
                let a: [u8; 4] = frame[26..30].try_into().unwrap();
                (frame[14 + 9], IpAddr::from(a))
            }
            0x86dd if frame.len() >= 14 + 40 => {
                let a: [u8; 16] = frame[22..38].try_into().unwrap();
                (frame[14 + 6], IpAddr::from(a))
            }
            _ => continue,
        };
        if proto == 112 {
            let mut mac = [0; 6];
            mac.copy_from_slice(&frame[6..12]);
            return Some(Seen {
                mac,
                ethertype,
                src,
            });
        }
    }
    None
}

/// A VRRPv3 advert for `vrid` with one address (its content does not matter here).
fn advert(vrid: u8) -> [u8; 12] {
    [0x31, vrid, 100, 1, 0, 100, 0, 0, 192, 0, 2, 100]
}

#[test]
fn adverts_sent_on_the_vmac_carry_the_virtual_mac() {
    lab::require_root!();
    let (_lab, ha1, ha2, rtnl, eth0) = setup();
    let eth0_mac = sysfs_mac(&ha1, "eth0");
    let (vmacs, rtnl, v4) = create(
        &ha1,
        Vmacs::new(),
        rtnl,
        VmacSpec::new(eth0, 51, IpFamily::V4),
    );
    let (vmacs, rtnl, v6) = create(&ha1, vmacs, rtnl, VmacSpec::new(eth0, 52, IpFamily::V6));
    let ll = v6.link_local.unwrap();
    let sock = packet_socket(&ha2);

    // For contrast: from the parent, the parent's MAC.
    let s = in_netns(&ha1, || {
        VrrpSocket::open(&VrrpSocketConfig::v4("eth0")).unwrap()
    });
    s.send(&advert(1)).unwrap();
    let seen = capture_vrrp(&sock, Duration::from_secs(2)).expect("advert from eth0");
    assert_eq!(mac_str(&seen.mac), eth0_mac);

    // IPv4 from the VMAC: the virtual MAC, and the parent's address as the IP source.
    let s = in_netns(&ha1, || {
        VrrpSocket::open(&VrrpSocketConfig::v4("vrrp.51")).unwrap()
    });
    s.send(&advert(51)).unwrap();
    let seen = capture_vrrp(&sock, Duration::from_secs(2)).expect("IPv4 advert from vrrp.51");
    assert_eq!(seen.mac, v4.mac);
    assert_eq!(mac_str(&seen.mac), "00:00:5e:00:01:33");
    assert_eq!(seen.ethertype, 0x0800);
    assert_eq!(seen.src, "192.0.2.1".parse::<IpAddr>().unwrap());

    // IPv6 from the VMAC, from its link-local address.
    let s = in_netns(&ha1, move || {
        VrrpSocket::open(&VrrpSocketConfig::v6("vrrp.52").with_src(IpAddr::V6(ll))).unwrap()
    });
    s.send(&advert(52)).unwrap();
    let seen = capture_vrrp(&sock, Duration::from_secs(2)).expect("IPv6 advert from vrrp.52");
    assert_eq!(mac_str(&seen.mac), "00:00:5e:00:02:34");
    assert_eq!(seen.ethertype, 0x86dd);
    assert_eq!(seen.src, IpAddr::V6(ll));
    drop(s);

    in_netns(&ha1, move || {
        let (mut vmacs, mut rtnl) = (vmacs, rtnl);
        vmacs.remove_all(&mut rtnl).unwrap();
    });
    assert!(!ha1.iface_exists("vrrp.51") && !ha1.iface_exists("vrrp.52"));
}
