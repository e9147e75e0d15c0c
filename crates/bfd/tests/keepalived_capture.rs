//! Packets captured from Debian's keepalived 2.2.7 (two `bfd_instance`s, 50 ms × 3, idle_tx
//! 1000 ms, in two network namespaces, captured with tcpdump; the last packets are from after one
//! side was frozen): `tests/data/keepalived-2.2.7-session.jsonl`. The codec must read every one,
//! accept it, and write it back byte for byte; and an engine configured as keepalived's side A,
//! fed side B's packets at their captured times, must take keepalived A's path: Down, Init, Up,
//! answering B's Poll with a Final at once, then expire after the freeze.

#![allow(
    clippy::disallowed_methods,
    reason = "reads the captured packets from tests/data"
)]

use std::net::{IpAddr, SocketAddr};

use keepalived_bfd::{Action, Diag, Engine, Instant, Repr, RxMeta, SessionConfig, State, Transmit};
use serde::Deserialize;

#[derive(Deserialize)]
struct Captured {
    t_us: u64,
    src: SocketAddr,
    dst: SocketAddr,
    ttl: u8,
    hex: String,
}

fn load() -> Vec<(Captured, Vec<u8>)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/keepalived-2.2.7-session.jsonl"
    );
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            let c: Captured = serde_json::from_str(l).unwrap();
            let bytes = (0..c.hex.len() / 2)
                .map(|i| u8::from_str_radix(&c.hex[2 * i..2 * i + 2], 16).unwrap())
                .collect();
            (c, bytes)
        })
        .collect()
}

#[test]
fn keepalived_packets_parse_pass_the_checks_and_round_trip() {
    let packets = load();
    assert!(packets.len() >= 40);
    let mut seen = Vec::new();
    for (c, bytes) in &packets {
        let r = Repr::parse(bytes).unwrap();
        assert_eq!(r.check_reception(), Ok(()), "{}", c.hex);
        assert_eq!(&r.to_bytes()[..], &bytes[..]);
        assert_eq!(c.ttl, 255, "keepalived sends single-hop IPv4 with TTL 255");
        assert_eq!(c.dst.port(), 3784);
        // keepalived 2.2.7 lets the kernel choose the source port (here 36618 and 47256): it
        // does not keep to RFC 5881's 49152-65535, which this engine does.
        assert_eq!(r.detect_mult, 3);
        assert_eq!(r.required_min_rx_us, 50_000);
        // keepalived: idle_tx while not Up, min_tx once Up.
        let want_tx = if r.state == State::Up {
            50_000
        } else {
            1_000_000
        };
        assert_eq!(r.desired_min_tx_us, want_tx, "{r:?}");
        seen.push((r.state, r.poll, r.fin));
    }
    for want in [
        (State::Down, false, false),
        (State::Init, false, false),
        (State::Up, true, false),
        (State::Up, false, true),
        (State::Up, false, false),
    ] {
        assert!(seen.contains(&want), "no {want:?} in the capture");
    }
}

#[test]
fn an_engine_as_side_a_follows_keepalived_a() {
    let packets = load();
    let a_addr: IpAddr = "192.0.2.1".parse().unwrap();
    let b_addr: IpAddr = "192.0.2.2".parse().unwrap();
    let mut cfg = SessionConfig::new("b_a", b_addr);
    cfg.min_rx_us = 50_000;
    cfg.min_tx_us = 50_000;
    cfg.idle_tx_us = 1_000_000;
    cfg.multiplier = 3;
    let mut engine = Engine::new(2207);
    let id = engine.add_session(Instant::ZERO, cfg).unwrap();
    let ours = engine.session(id).unwrap().snapshot().local_discr;
    let theirs_for_a = Repr::parse(&packets[0].1).unwrap().my_discr;
    let mut sent: Vec<(Instant, Transmit)> = Vec::new();
    let mut events = Vec::new();
    let mut logs = Vec::new();
    let mut drain = |engine: &mut Engine, now: Instant| {
        while let Some(a) = engine.poll_action() {
            match a {
                Action::Send(t) => sent.push((now, t)),
                Action::State(s) => events.push((now, s.up, s.diag)),
                Action::Log(l) => logs.push(l.text),
            }
        }
    };
    drain(&mut engine, Instant::ZERO);
    let mut last_rx = Instant::ZERO;
    for (c, bytes) in packets.iter().filter(|(c, _)| c.src.ip() == b_addr) {
        let at = Instant::from_nanos(c.t_us * 1000);
        while let Some(t) = engine.poll_timeout().filter(|t| *t <= at) {
            engine.handle_timeout(t);
            drain(&mut engine, t);
        }
        // B's packets name keepalived A's discriminator: make them name ours.
        let mut r = Repr::parse(bytes).unwrap();
        if r.your_discr == theirs_for_a {
            r.your_discr = ours;
        }
        let meta = RxMeta {
            src: c.src,
            dst: Some(a_addr),
            ttl: Some(c.ttl),
            multihop: false,
        };
        engine.handle_datagram(at, &meta, &r.to_bytes()).unwrap();
        drain(&mut engine, at);
        last_rx = at;
    }
    // After B froze: expiry one detection time (3 × 50 ms) after its last packet.
    let end = last_rx + core::time::Duration::from_secs(1);
    while let Some(t) = engine.poll_timeout().filter(|t| *t <= end) {
        engine.handle_timeout(t);
        drain(&mut engine, t);
    }
    let states: Vec<(State, bool, bool)> = sent
        .iter()
        .map(|(_, t)| {
            let r = Repr::parse(&t.payload).unwrap();
            (r.state, r.poll, r.fin)
        })
        .collect();
    // Keepalived A's path: Down, Init, then Up with a Final answering B's Poll at once.
    let first_up = states.iter().position(|s| s.0 == State::Up).unwrap();
    assert_eq!(states[first_up], (State::Up, false, true), "{states:?}");
    assert!(states[..first_up].contains(&(State::Init, false, false)));
    assert_eq!(events[0], (Instant::ZERO, false, Diag::None));
    assert!(events[1].1, "{events:?}");
    let (down_at, up, diag) = events[2];
    assert!(!up);
    assert_eq!(diag, Diag::ControlDetectionTimeExpired);
    assert_eq!(down_at - last_rx, core::time::Duration::from_millis(150));
    assert!(logs.contains(&"(b_a) Expired after 150 ms (0 usec overdue)".to_string()));
    assert!(logs.contains(&"(b_a) Entering Up state".to_string()));
}
