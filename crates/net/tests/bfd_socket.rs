//! BFD UDP sockets against the real kernel: in a lab of two hosts joined by a veth, a session's
//! sender on `ha1` reaches the listener on `ha2` from its own source port, with the TTL / hop
//! limit it asked for (255 single-hop, lower for multihop), the destination address and the
//! interface reported, for IPv4 and IPv6. Needs root; skips with a message otherwise.

mod common;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use common::in_netns;
use keepalived_net::{BfdListener, BfdReceived, BfdSender, IpFamily, ifindex};
use lab::{Host, Lab};

const WAIT: Duration = Duration::from_secs(5);
/// A BFD control packet's 24 bytes (version 1, Down, multiplier 3, discriminator 1).
const PACKET: [u8; 24] = [
    0x20, 0x40, 3, 24, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0x0f, 0x42, 0x40, 0, 0x0f, 0x42, 0x40, 0, 0, 0, 0,
];

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn recv_one(l: &BfdListener) -> (BfdReceived, Vec<u8>) {
    let mut buf = [0u8; 1500];
    loop {
        match l.recv(&mut buf) {
            Ok(rx) => return (rx, buf[..rx.len].to_vec()),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                assert!(l.wait_readable(WAIT).unwrap(), "nothing within {WAIT:?}");
            }
            Err(e) => panic!("recv: {e}"),
        }
    }
}

fn exchange(
    ha1: &Host,
    ha2: &Host,
    family: IpFamily,
    port: u16,
    src: IpAddr,
    dst: IpAddr,
    ttl: u8,
) {
    let listener = in_netns(ha2, move || BfdListener::open(family, port)).unwrap();
    let sender = in_netns(ha1, move || BfdSender::open(family, Some(src), 49200, ttl)).unwrap();
    assert_eq!(sender.local(), SocketAddr::new(src, 49200));
    let n = sender.send_to(&PACKET, SocketAddr::new(dst, port)).unwrap();
    assert_eq!(n, PACKET.len());
    let (rx, bytes) = recv_one(&listener);
    assert_eq!(bytes, PACKET);
    assert!(!rx.truncated);
    assert_eq!(rx.src, SocketAddr::new(src, 49200));
    assert_eq!(rx.dst, Some(dst));
    assert_eq!(rx.ttl, Some(ttl));
    let eth0 = in_netns(ha2, || ifindex("eth0")).unwrap();
    assert_eq!(rx.ifindex, Some(eth0));
}

#[test]
fn single_hop_and_multihop_ipv4_carry_ttl_destination_and_port() {
    lab::require_root!();
    let lab = Lab::new("kabfd").unwrap();
    let (ha1, ha2) = lab
        .two_hosts(
            "ha1",
            &["192.0.2.1/24", "192.0.2.3/24"],
            "ha2",
            &["192.0.2.2/24"],
        )
        .unwrap();
    // A secondary address as source: the bound address wins over the primary.
    exchange(
        &ha1,
        &ha2,
        IpFamily::V4,
        3784,
        ip("192.0.2.3"),
        ip("192.0.2.2"),
        255,
    );
    exchange(
        &ha1,
        &ha2,
        IpFamily::V4,
        4784,
        ip("192.0.2.1"),
        ip("192.0.2.2"),
        250,
    );
}

#[test]
fn ipv6_reports_hop_limit_and_destination() {
    lab::require_root!();
    let lab = Lab::new("kabfd").unwrap();
    let (ha1, ha2) = lab
        .two_hosts("ha1", &["2001:db8::1/64"], "ha2", &["2001:db8::2/64"])
        .unwrap();
    // The lab adds IPv6 addresses with `nodad`: they can be bound at once.
    exchange(
        &ha1,
        &ha2,
        IpFamily::V6,
        3784,
        ip("2001:db8::1"),
        ip("2001:db8::2"),
        64,
    );
    exchange(
        &ha1,
        &ha2,
        IpFamily::V6,
        4784,
        ip("2001:db8::1"),
        ip("2001:db8::2"),
        255,
    );
}

#[test]
fn a_taken_source_port_is_an_error_naming_it() {
    lab::require_root!();
    let lab = Lab::new("kabfd").unwrap();
    let h = lab.host("h").unwrap();
    let (a, b) = in_netns(&h, || {
        let a = BfdSender::open(IpFamily::V4, None, 50000, 255);
        let b = BfdSender::open(IpFamily::V4, None, 50000, 255);
        (a.map(|_| ()), b.map(|_| ()))
    });
    a.unwrap();
    let err = b.unwrap_err().to_string();
    assert!(err.contains("50000"), "{err}");
}
