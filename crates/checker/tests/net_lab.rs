//! Probes across a real link in a lab (root). PING_CHECK: echo replies from a host that
//! exists, IPv4 and IPv6, over raw and unprivileged datagram sockets; failures within the
//! timeout for an absent address and for a host that ignores echo requests; `bindto`,
//! `bind_if` and `fwmark`. UDP_CHECK: source options seen by the server, port and host
//! unreachable from the network (not loopback).

use std::net::IpAddr;
use std::time::{Duration, Instant};

use keepalived_checker::probe::ping::{self, IcmpSocketKind, PingFailure, PingReply};
use keepalived_checker::probe::udp::{self, Endpoint, UdpFailure, UdpOptions};
use lab::{Host, Lab};
use nix::sched::{CloneFlags, setns};

/// Creates a std socket inside `host`'s namespace (it stays there wherever it is used).
fn socket_in<T: Send + 'static>(host: &Host, f: impl FnOnce() -> T + Send + 'static) -> T {
    in_netns(host, move |_| f())
}

/// Runs `f` on a fresh thread that has joined `host`'s network namespace, with a tokio
/// runtime of its own.
fn in_netns<T, F>(host: &Host, f: F) -> T
where
    T: Send + 'static,
    F: FnOnce(&tokio::runtime::Runtime) -> T + Send + 'static,
{
    let path = format!("/run/netns/{}", host.netns());
    std::thread::spawn(move || {
        let ns = std::fs::File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
        setns(&ns, CloneFlags::CLONE_NEWNET).unwrap_or_else(|e| panic!("setns {path}: {e}"));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        f(&rt)
    })
    .join()
    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// `cli` (192.0.2.1, 2001:db8::1) and `srv` (192.0.2.2, 2001:db8::2) on one veth.
fn two_hosts() -> (Lab, Host, Host) {
    let lab = Lab::new("ckping").unwrap();
    let (cli, srv) = lab
        .two_hosts(
            "cli",
            &["192.0.2.1/24", "2001:db8::1/64"],
            "srv",
            &["192.0.2.2/24", "2001:db8::2/64"],
        )
        .unwrap();
    (lab, cli, srv)
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn ping_from(
    cli: &Host,
    ep: Endpoint,
    kind: IcmpSocketKind,
) -> (Result<PingReply, PingFailure>, Duration) {
    in_netns(cli, move |rt| {
        let t = Instant::now();
        let r = rt.block_on(ping::ping(&ep, kind));
        (r, t.elapsed())
    })
}

#[test]
fn echo_replies_over_raw_and_datagram_sockets() {
    lab::require_root!();
    let (_lab, cli, _srv) = two_hosts();
    for dst in ["192.0.2.2", "2001:db8::2"] {
        let ep = ping::target(ip(dst), Duration::from_secs(2));
        // A fresh namespace's ping_group_range is "1 0": no group may open ping sockets, so
        // Auto falls back to a raw socket, and Datagram alone is refused.
        let (r, _) = ping_from(&cli, ep.clone(), IcmpSocketKind::Auto);
        assert_eq!(
            r.expect(dst).kind,
            IcmpSocketKind::Raw,
            "{dst}: auto -> raw"
        );
        let (r, _) = ping_from(&cli, ep.clone(), IcmpSocketKind::Datagram);
        assert!(matches!(r, Err(PingFailure::Socket(_))), "{dst}: {r:?}");
    }
    cli.sysctl("net.ipv4.ping_group_range", "0 2147483647")
        .unwrap();
    for dst in ["192.0.2.2", "2001:db8::2"] {
        let ep = ping::target(ip(dst), Duration::from_secs(2));
        let (r, _) = ping_from(&cli, ep.clone(), IcmpSocketKind::Auto);
        assert_eq!(
            r.expect(dst).kind,
            IcmpSocketKind::Datagram,
            "{dst}: auto -> dgram"
        );
        let (r, _) = ping_from(&cli, ep.clone(), IcmpSocketKind::Raw);
        assert_eq!(r.expect(dst).kind, IcmpSocketKind::Raw, "{dst}: raw forced");
    }
}

#[test]
fn no_answer_fails_within_the_timeout() {
    lab::require_root!();
    let (_lab, cli, srv) = two_hosts();
    let timeout = Duration::from_millis(800);
    // An address nobody has (neighbour resolution fails), then a host that ignores echoes.
    for dst in ["192.0.2.99", "2001:db8::99"] {
        for kind in [IcmpSocketKind::Raw, IcmpSocketKind::Auto] {
            let (r, took) = ping_from(&cli, ping::target(ip(dst), timeout), kind);
            assert!(
                matches!(
                    r,
                    Err(PingFailure::Timeout(_) | PingFailure::Unreachable(_))
                ),
                "{dst}: {r:?}"
            );
            assert!(
                took < timeout + Duration::from_millis(500),
                "{dst}: {took:?}"
            );
        }
    }
    srv.sysctl("net.ipv4.icmp_echo_ignore_all", "1").unwrap();
    srv.sysctl("net.ipv6.icmp.echo_ignore_all", "1").unwrap();
    for dst in ["192.0.2.2", "2001:db8::2"] {
        let (r, took) = ping_from(&cli, ping::target(ip(dst), timeout), IcmpSocketKind::Raw);
        assert!(matches!(r, Err(PingFailure::Timeout(_))), "{dst}: {r:?}");
        assert!(took >= timeout && took < timeout + Duration::from_millis(500));
    }
}

#[test]
fn bindto_bind_if_and_fwmark_are_applied() {
    lab::require_root!();
    let (lab, cli, _srv) = two_hosts();
    // A second link to a third host: bind_if picks which link the echo leaves by.
    let far = lab.host("far").unwrap();
    lab.veth(&cli, "eth1", &far, "eth0").unwrap();
    cli.add_addr("eth1", "198.51.100.1/24").unwrap();
    far.add_addr("eth0", "198.51.100.2/24").unwrap();
    let base = ping::target(ip("198.51.100.2"), Duration::from_millis(800));
    let via = |bind_if: &str, bindto: Option<&str>| Endpoint {
        bind_if: Some(bind_if.to_owned()),
        bindto: bindto.map(ip),
        ..base.clone()
    };
    let (r, _) = ping_from(
        &cli,
        via("eth1", Some("198.51.100.1")),
        IcmpSocketKind::Auto,
    );
    r.expect("right interface and source");
    // Bound to eth0, the kernel takes 198.51.100.2 as on that link, where nobody has it.
    let (r, _) = ping_from(&cli, via("eth0", None), IcmpSocketKind::Auto);
    assert!(r.is_err(), "{r:?}");
    // A source address the host does not have cannot be bound.
    let (r, _) = ping_from(&cli, via("eth1", Some("203.0.113.9")), IcmpSocketKind::Auto);
    assert!(matches!(r, Err(PingFailure::Setup(_))), "{r:?}");

    // fwmark: only marked packets have a route to 203.0.113.0/24 (policy routing).
    far.add_addr("eth0", "203.0.113.2/24").unwrap();
    cli.ip(["rule", "add", "fwmark", "7", "lookup", "100"])
        .unwrap();
    cli.ip([
        "route",
        "add",
        "203.0.113.0/24",
        "dev",
        "eth1",
        "table",
        "100",
    ])
    .unwrap();
    let marked = |mark: Option<u32>| Endpoint {
        fwmark: mark,
        ..ping::target(ip("203.0.113.2"), Duration::from_millis(800))
    };
    let (r, _) = ping_from(&cli, marked(None), IcmpSocketKind::Auto);
    assert!(
        matches!(r, Err(PingFailure::Setup(_))),
        "unmarked: no route: {r:?}"
    );
    let (r, _) = ping_from(&cli, marked(Some(7)), IcmpSocketKind::Auto);
    r.expect("marked: routed by the fwmark rule");
}

#[test]
fn udp_across_the_link() {
    lab::require_root!();
    let (_lab, cli, srv) = two_hosts();
    let server = socket_in(&srv, || {
        std::net::UdpSocket::bind("192.0.2.2:5000").unwrap()
    });
    server
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let echo = std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        let (n, peer) = server.recv_from(&mut buf).unwrap();
        server.send_to(&buf[..n], peer).unwrap();
        peer
    });
    let opts = UdpOptions {
        payload: Some(b"ping".to_vec()),
        require_reply: true,
        reply_pattern: None,
        min_reply_length: 4,
        max_reply_length: 4,
    };
    let ep = Endpoint {
        bindto: Some(ip("192.0.2.1")),
        bind_port: Some(40_000),
        bind_if: Some("eth0".to_owned()),
        ..Endpoint::new("192.0.2.2:5000".parse().unwrap(), Duration::from_secs(2))
    };
    let o = opts.clone();
    let r = in_netns(&cli, move |rt| rt.block_on(udp::check(&ep, &o)));
    r.expect("echo across the link");
    assert_eq!(
        echo.join().unwrap(),
        "192.0.2.1:40000".parse().unwrap(),
        "source options"
    );

    // Port unreachable from the far host's kernel, with or without require_reply.
    for require_reply in [true, false] {
        let o = UdpOptions {
            require_reply,
            ..opts.clone()
        };
        let ep = Endpoint::new("192.0.2.2:5001".parse().unwrap(), Duration::from_secs(2));
        let r = in_netns(&cli, move |rt| rt.block_on(udp::check(&ep, &o)));
        assert!(matches!(r, Err(UdpFailure::Unreachable(_))), "{r:?}");
    }

    // Nobody has 192.0.2.99: neighbour resolution fails after about 3 s and the kernel reports
    // host unreachable, which fails the check even without require_reply (hence keepalived's
    // advice of a connect_timeout of at least 4 s).
    let o = UdpOptions {
        require_reply: false,
        ..opts
    };
    let ep = Endpoint::new("192.0.2.99:5000".parse().unwrap(), Duration::from_secs(6));
    let t = Instant::now();
    let r = in_netns(&cli, move |rt| rt.block_on(udp::check(&ep, &o)));
    assert!(matches!(r, Err(UdpFailure::Unreachable(_))), "{r:?}");
    assert!(t.elapsed() < Duration::from_secs(6));
}
