//! VRRP raw sockets against the real kernel: in a lab of two hosts joined by
//! a veth, `ha1` sends adverts built with `keepalived_vrrp`'s codec and `ha2`
//! receives and parses them, checking TTL / hop limit 255, source and
//! destination, for IPv4 and IPv6, multicast and unicast.
//! Needs root; skips with a message otherwise.

mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use common::in_netns;
use keepalived_net::{
    NetError, Received, VRRP_GROUP_V4, VRRP_GROUP_V6, VRRP_TTL, VrrpSocket, VrrpSocketConfig,
};
use keepalived_vrrp::wire::ip::parse_datagram;
use keepalived_vrrp::{AddrList, Auth, Centisecs, ChecksumCaps, Repr, Version};
use lab::{Host, Lab};

const WAIT: Duration = Duration::from_secs(5);

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Two hosts with `eth0` joined by a veth, and the given addresses.
fn two_hosts(ha1_addrs: &[&str], ha2_addrs: &[&str]) -> (Lab, Host, Host) {
    let lab = Lab::new("kanet").unwrap();
    let (ha1, ha2) = lab.two_hosts("ha1", ha1_addrs, "ha2", ha2_addrs).unwrap();
    (lab, ha1, ha2)
}

fn open_in(host: &Host, config: VrrpSocketConfig) -> VrrpSocket {
    in_netns(host, move || VrrpSocket::open(&config)).unwrap()
}

fn advert_v4(vrid: u8, priority: u8) -> Repr {
    Repr {
        version: Version::V3,
        vrid,
        priority,
        adver_int: Centisecs(100),
        auth: Auth::None,
        addrs: AddrList::V4(vec![Ipv4Addr::new(192, 0, 2, 100)]),
    }
}

fn advert_v6(vrid: u8, priority: u8) -> Repr {
    Repr {
        version: Version::V3,
        vrid,
        priority,
        adver_int: Centisecs(100),
        auth: Auth::None,
        addrs: AddrList::V6(vec!["2001:db8::100".parse::<Ipv6Addr>().unwrap()]),
    }
}

/// Receives one datagram within [`WAIT`], or panics.
fn recv_one(sock: &VrrpSocket, buf: &mut [u8]) -> Received {
    sock.recv_timeout(buf, WAIT)
        .expect("recv")
        .expect("no advert within 5 s")
}

/// Parses what `rx` says arrived in `buf` as an advert.
fn parse(rx: &Received, buf: &[u8]) -> Repr {
    let dst = rx.dst.expect("destination known");
    Repr::parse_bytes(
        &buf[rx.payload.clone()],
        rx.src,
        dst,
        ChecksumCaps::default(),
    )
    .expect("a valid advert")
}

#[test]
fn ipv4_multicast_advert_arrives_with_ttl_255_from_chosen_source() {
    lab::require_root!();
    let (_lab, ha1, ha2) = two_hosts(&["192.0.2.1/24", "192.0.2.3/24"], &["192.0.2.2/24"]);
    let rx = open_in(&ha2, VrrpSocketConfig::v4("eth0"));
    let src = ip("192.0.2.3"); // a secondary address: mcast_src_ip must win
    let tx = open_in(&ha1, VrrpSocketConfig::v4("eth0").with_src(src));
    assert_eq!(tx.group(), Some(VRRP_GROUP_V4.into()));

    let sent = advert_v4(51, 150);
    let bytes = sent
        .to_bytes(src, VRRP_GROUP_V4.into(), ChecksumCaps::default())
        .unwrap();
    assert_eq!(tx.send(&bytes).unwrap(), bytes.len());

    let mut buf = [0u8; 2048];
    let got = recv_one(&rx, &mut buf);
    assert_eq!(got.src, src);
    assert_eq!(got.dst, Some(VRRP_GROUP_V4.into()));
    assert_eq!(got.ttl, Some(VRRP_TTL));
    assert_eq!(got.ifindex, Some(rx.ifindex()));
    assert!(!got.truncated);
    assert_eq!(got.payload.len(), bytes.len());
    assert_eq!(&buf[got.payload.clone()], &bytes[..]);
    assert_eq!(parse(&got, &buf), sent);

    // The engine's own IPv4 parser reads the same from the whole datagram.
    let (meta, msg) = parse_datagram(&buf[..got.len]).unwrap();
    assert_eq!(meta.src, src);
    assert_eq!(meta.dst, IpAddr::from(VRRP_GROUP_V4));
    assert_eq!(meta.ttl, 255);
    assert_eq!(msg, &bytes[..]);

    // Multicast loopback is off: the sender does not hear itself.
    assert_eq!(
        tx.recv_timeout(&mut buf, Duration::from_millis(300))
            .unwrap(),
        None
    );
}

#[test]
fn ipv4_without_source_uses_the_primary_address() {
    lab::require_root!();
    let (_lab, ha1, ha2) = two_hosts(&["192.0.2.1/24", "192.0.2.3/24"], &["192.0.2.2/24"]);
    let rx = open_in(&ha2, VrrpSocketConfig::v4("eth0"));
    let tx = open_in(&ha1, VrrpSocketConfig::v4("eth0"));
    let primary = ip("192.0.2.1");
    let sent = advert_v4(7, 100);
    let bytes = sent
        .to_bytes(primary, VRRP_GROUP_V4.into(), ChecksumCaps::default())
        .unwrap();
    tx.send(&bytes).unwrap();
    let mut buf = [0u8; 2048];
    let got = recv_one(&rx, &mut buf);
    assert_eq!(got.src, primary);
    assert_eq!(got.ttl, Some(255));
    assert_eq!(parse(&got, &buf), sent);
}

#[test]
fn ipv4_unicast_advert_has_ttl_255() {
    lab::require_root!();
    let (_lab, ha1, ha2) = two_hosts(&["192.0.2.1/24"], &["192.0.2.2/24"]);
    // keepalived's unicast_peer: no group joined on either side.
    let rx = open_in(&ha2, VrrpSocketConfig::v4("eth0").with_group(None));
    let src = ip("192.0.2.1");
    let dst = ip("192.0.2.2");
    let tx = open_in(
        &ha1,
        VrrpSocketConfig::v4("eth0").with_group(None).with_src(src),
    );
    assert!(tx.send(&[0; 8]).is_err(), "no group to send to");
    let sent = advert_v4(9, 200);
    let bytes = sent.to_bytes(src, dst, ChecksumCaps::default()).unwrap();
    tx.send_to(&bytes, dst).unwrap();
    let mut buf = [0u8; 2048];
    let got = recv_one(&rx, &mut buf);
    assert_eq!(got.src, src);
    assert_eq!(got.dst, Some(dst));
    assert_eq!(got.ttl, Some(255));
    assert_eq!(parse(&got, &buf), sent);

    // A buffer too small for the datagram: cut, and said so.
    tx.send_to(&bytes, dst).unwrap();
    let mut small = [0u8; 24];
    let got = recv_one(&rx, &mut small);
    assert!(got.truncated);
    assert_eq!(got.len, 24);
    assert_eq!(got.payload, 20..24);
    assert_eq!(got.ttl, Some(255));
}

#[test]
fn ipv6_multicast_advert_arrives_with_hop_limit_255_and_destination() {
    lab::require_root!();
    let (_lab, ha1, ha2) = two_hosts(&["2001:db8::1/64"], &["2001:db8::2/64"]);
    let rx = open_in(&ha2, VrrpSocketConfig::v6("eth0"));
    let src = ip("2001:db8::1");
    let tx = open_in(&ha1, VrrpSocketConfig::v6("eth0").with_src(src));
    assert_eq!(tx.group(), Some(VRRP_GROUP_V6.into()));

    let sent = advert_v6(51, 150);
    // The kernel recomputes the checksum (IPV6_CHECKSUM), so even a zero
    // checksum field would do; emit a correct one anyway.
    let bytes = sent
        .to_bytes(src, VRRP_GROUP_V6.into(), ChecksumCaps::default())
        .unwrap();
    tx.send(&bytes).unwrap();

    let mut buf = [0u8; 2048];
    let got = recv_one(&rx, &mut buf);
    assert_eq!(got.src, src);
    assert_eq!(got.dst, Some(VRRP_GROUP_V6.into()));
    assert_eq!(got.ttl, Some(VRRP_TTL));
    assert_eq!(got.ifindex, Some(rx.ifindex()));
    assert_eq!(got.payload, 0..bytes.len());
    // Parsing verifies the checksum over the IPv6 pseudo-header.
    assert_eq!(parse(&got, &buf), sent);

    assert_eq!(
        tx.recv_timeout(&mut buf, Duration::from_millis(300))
            .unwrap(),
        None,
        "multicast loopback is off"
    );
}

#[test]
fn ipv6_kernel_fills_in_the_checksum() {
    lab::require_root!();
    let (_lab, ha1, ha2) = two_hosts(&["2001:db8::1/64"], &["2001:db8::2/64"]);
    let rx = open_in(&ha2, VrrpSocketConfig::v6("eth0"));
    let src = ip("2001:db8::1");
    let tx = open_in(&ha1, VrrpSocketConfig::v6("eth0").with_src(src));
    let sent = advert_v6(3, 100);
    let mut bytes = sent
        .to_bytes(src, VRRP_GROUP_V6.into(), ChecksumCaps::default())
        .unwrap();
    bytes[6] = 0;
    bytes[7] = 0;
    tx.send(&bytes).unwrap();
    let mut buf = [0u8; 2048];
    let got = recv_one(&rx, &mut buf);
    assert_eq!(parse(&got, &buf), sent);
}

#[test]
fn ipv6_unicast_advert_has_hop_limit_255() {
    lab::require_root!();
    let (_lab, ha1, ha2) = two_hosts(&["2001:db8::1/64"], &["2001:db8::2/64"]);
    let rx = open_in(&ha2, VrrpSocketConfig::v6("eth0").with_group(None));
    let src = ip("2001:db8::1");
    let dst = ip("2001:db8::2");
    let tx = open_in(
        &ha1,
        VrrpSocketConfig::v6("eth0").with_group(None).with_src(src),
    );
    let sent = advert_v6(9, 200);
    let bytes = sent.to_bytes(src, dst, ChecksumCaps::default()).unwrap();
    tx.send_to(&bytes, dst).unwrap();
    let mut buf = [0u8; 2048];
    let got = recv_one(&rx, &mut buf);
    assert_eq!(got.src, src);
    assert_eq!(got.dst, Some(dst));
    assert_eq!(got.ttl, Some(255));
    assert_eq!(parse(&got, &buf), sent);
}

#[test]
fn bad_configurations_are_refused() {
    // Checked before any socket is made, so this needs no root.
    let missing = VrrpSocket::open(&VrrpSocketConfig::v4("no-such-if0"));
    assert!(matches!(missing, Err(NetError::NoSuchInterface { .. })));
    let mixed = VrrpSocketConfig::v4("lo").with_group(Some(VRRP_GROUP_V6.into()));
    assert!(matches!(
        VrrpSocket::open(&mixed),
        Err(NetError::InvalidArgument(_))
    ));
    let v6_src_on_v4 = VrrpSocketConfig::v4("lo").with_src(ip("2001:db8::1"));
    assert!(matches!(
        VrrpSocket::open(&v6_src_on_v4),
        Err(NetError::InvalidArgument(_))
    ));
}

#[test]
fn wrong_family_destination_and_empty_socket() {
    lab::require_root!();
    let (_lab, ha1, _ha2) = two_hosts(&["192.0.2.1/24"], &["192.0.2.2/24"]);
    let tx = open_in(&ha1, VrrpSocketConfig::v4("eth0"));
    let err = tx.send_to(&[0; 8], ip("2001:db8::2")).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    // Non-blocking: nothing queued is WouldBlock at once.
    let mut buf = [0u8; 64];
    let err = tx.recv(&mut buf).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
    assert!(!tx.wait_readable(Duration::from_millis(50)).unwrap());
}
