use super::*;
use crate::wire::{Diag, State};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn sends(e: &mut Engine) -> Vec<crate::action::Transmit> {
    let mut v = Vec::new();
    while let Some(a) = e.poll_action() {
        if let Action::Send(t) = a {
            v.push(t);
        }
    }
    v
}

fn meta(src: &str) -> RxMeta {
    RxMeta {
        src: SocketAddr::new(ip(src), 49200),
        dst: None,
        ttl: Some(255),
        multihop: false,
    }
}

fn packet(state: State, your: u32, poll: bool, fin: bool, rx_us: u32) -> [u8; 24] {
    Repr {
        diag: Diag::None,
        state,
        poll,
        fin,
        cpi: false,
        demand: false,
        multipoint: false,
        detect_mult: 3,
        my_discr: 99,
        your_discr: your,
        desired_min_tx_us: 10_000,
        required_min_rx_us: rx_us,
        required_min_echo_rx_us: 0,
        auth: None,
    }
    .to_bytes()
}

#[test]
fn discriminators_and_ports_are_unique_and_duplicates_refused() {
    let mut e = Engine::new(7);
    let t = Instant::ZERO;
    let mut discrs = Vec::new();
    let mut ports = Vec::new();
    for i in 0..200u8 {
        let id = e
            .add_session(
                t,
                SessionConfig::new(format!("s{i}"), ip(&format!("198.18.0.{i}"))),
            )
            .unwrap();
        let s = e.session(id).unwrap();
        assert_ne!(s.snapshot().local_discr, 0);
        assert!(s.src_port() >= SOURCE_PORT_MIN);
        discrs.push(s.snapshot().local_discr);
        ports.push(s.src_port());
    }
    discrs.sort_unstable();
    discrs.dedup();
    ports.sort_unstable();
    ports.dedup();
    assert_eq!((discrs.len(), ports.len()), (200, 200));
    assert_eq!(
        e.add_session(t, SessionConfig::new("again", ip("198.18.0.5"))),
        Err(ConfigError::Duplicate { other: "s5".into() })
    );
    // The same neighbour over multihop is another session.
    let mut mh = SessionConfig::new("mh", ip("198.18.0.5"));
    mh.multihop = true;
    assert!(e.add_session(t, mh).is_ok());
}

#[test]
fn start_sends_at_once_unless_passive() {
    let mut e = Engine::new(1);
    e.add_session(Instant::ZERO, SessionConfig::new("a", ip("192.0.2.2")))
        .unwrap();
    let s = sends(&mut e);
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].dst.port(), 3784);
    assert_eq!(s[0].ttl, 255);
    let mut p = SessionConfig::new("p", ip("192.0.2.3"));
    p.passive = true;
    e.add_session(Instant::ZERO, p).unwrap();
    assert!(sends(&mut e).is_empty());
}

#[test]
fn remove_session_sends_admin_down_and_reports_down() {
    let mut e = Engine::new(1);
    let t = Instant::ZERO;
    let id = e
        .add_session(t, SessionConfig::new("a", ip("192.0.2.2")))
        .unwrap();
    let _ = sends(&mut e);
    let discr = e.session(id).unwrap().snapshot().local_discr;
    e.handle_datagram(
        t,
        &meta("192.0.2.2"),
        &packet(State::Init, discr, false, false, 10_000),
    )
    .unwrap();
    assert_eq!(e.session(id).unwrap().state(), State::Up);
    let _ = sends(&mut e);
    assert!(e.remove_session(t, id).is_some());
    let mut saw_down = false;
    let mut saw_admin = false;
    while let Some(a) = e.poll_action() {
        match a {
            Action::State(s) => saw_down |= !s.up,
            Action::Send(t) => {
                saw_admin |= Repr::parse(&t.payload).unwrap().state == State::AdminDown;
            }
            Action::Log(_) => {}
        }
    }
    assert!(saw_down && saw_admin);
    assert!(e.session(id).is_none());
    assert_eq!(e.poll_timeout(), None);
}

#[test]
fn reconfigure_polls_when_up_and_refuses_a_new_identity() {
    let mut e = Engine::new(3);
    let t = Instant::ZERO;
    let cfg = SessionConfig::new("a", ip("192.0.2.2"));
    let id = e.add_session(t, cfg.clone()).unwrap();
    let discr = e.session(id).unwrap().snapshot().local_discr;
    e.handle_datagram(
        t,
        &meta("192.0.2.2"),
        &packet(State::Init, discr, false, false, 10_000),
    )
    .unwrap();
    // Finish the Poll Sequence of entering Up.
    e.handle_datagram(
        t,
        &meta("192.0.2.2"),
        &packet(State::Up, discr, false, true, 10_000),
    )
    .unwrap();
    assert!(!e.session(id).unwrap().snapshot().polling);
    let slower = SessionConfig {
        min_tx_us: 300_000,
        ..cfg.clone()
    };
    e.reconfigure(t, id, slower).unwrap();
    let s = e.session(id).unwrap().snapshot();
    assert!(s.polling);
    // Not applied before the Final.
    assert_eq!(s.tx_interval_us, 10_000);
    e.handle_datagram(
        t,
        &meta("192.0.2.2"),
        &packet(State::Up, discr, false, true, 10_000),
    )
    .unwrap();
    assert_eq!(e.session(id).unwrap().snapshot().tx_interval_us, 300_000);
    let moved = SessionConfig {
        neighbor: ip("192.0.2.9"),
        ..cfg
    };
    assert_eq!(
        e.reconfigure(t, id, moved),
        Err(ConfigError::IdentityChanged)
    );
}

#[test]
fn remote_min_rx_zero_stops_periodic_packets() {
    let mut e = Engine::new(4);
    let t = Instant::ZERO;
    let id = e
        .add_session(t, SessionConfig::new("a", ip("192.0.2.2")))
        .unwrap();
    let _ = sends(&mut e);
    e.handle_datagram(
        t,
        &meta("192.0.2.2"),
        &packet(State::Down, 0, false, false, 0),
    )
    .unwrap();
    let _ = sends(&mut e);
    let mut now = t;
    for _ in 0..10 {
        let Some(next) = e.poll_timeout() else { break };
        now = next;
        e.handle_timeout(now);
        assert!(sends(&mut e).is_empty(), "sent while RemoteMinRx is 0");
    }
    // A Poll is still answered.
    let discr = e.session(id).unwrap().snapshot().local_discr;
    e.handle_datagram(
        now,
        &meta("192.0.2.2"),
        &packet(State::Init, discr, true, false, 0),
    )
    .unwrap();
    let s = sends(&mut e);
    assert_eq!(s.len(), 1);
    assert!(Repr::parse(&s[0].payload).unwrap().fin);
}

#[test]
fn jitter_stays_within_the_rfc_bounds() {
    for (mult, low, high) in [(3u8, 750u64, 1000u64), (1, 750, 900)] {
        let mut e = Engine::new(u64::from(mult));
        let mut cfg = SessionConfig::new("a", ip("192.0.2.2"));
        cfg.multiplier = mult;
        e.add_session(Instant::ZERO, cfg).unwrap();
        let _ = sends(&mut e);
        let mut last = Instant::ZERO;
        let (mut min, mut max) = (u64::MAX, 0);
        for _ in 0..500 {
            let next = e.poll_timeout().unwrap();
            e.handle_timeout(next);
            assert_eq!(sends(&mut e).len(), 1);
            let gap = u64::try_from((next - last).as_millis()).unwrap();
            min = min.min(gap);
            max = max.max(gap);
            last = next;
        }
        // idle_tx 1 s: 75-100 % (75-90 % with a multiplier of 1), spread over the range.
        assert!(min >= low && max <= high, "mult {mult}: {min}..{max}");
        assert!(
            min < low + 20 && max > high - 20,
            "mult {mult}: {min}..{max}"
        );
    }
}

#[test]
fn the_timer_heap_stays_small() {
    // 50 sessions Up with a peer answering every packet at once, for 10 000 wakeups: outdated
    // heap entries are dropped as they surface, so the heap stays within a few entries a session.
    let mut e = Engine::new(9);
    let t = Instant::ZERO;
    let mut ids = Vec::new();
    for i in 0..50u8 {
        let mut c = SessionConfig::new(format!("s{i}"), ip(&format!("198.18.0.{i}")));
        c.min_tx_us = 10_000;
        c.min_rx_us = 10_000;
        ids.push(e.add_session(t, c).unwrap());
    }
    let _ = sends(&mut e);
    for (i, id) in ids.iter().enumerate() {
        let discr = e.session(*id).unwrap().snapshot().local_discr;
        // Down then Up: we go Init, then Up at the fast rate (the peer is Up).
        let m = meta(&format!("198.18.0.{i}"));
        e.handle_datagram(t, &m, &packet(State::Down, 0, false, false, 10_000))
            .unwrap();
        e.handle_datagram(t, &m, &packet(State::Up, discr, false, false, 10_000))
            .unwrap();
    }
    let _ = sends(&mut e);
    let mut max_len = 0;
    for _ in 0..10_000 {
        let now = e.poll_timeout().unwrap();
        e.handle_timeout(now);
        for s in sends(&mut e) {
            let r = Repr::parse(&s.payload).unwrap();
            let m = RxMeta {
                src: SocketAddr::new(s.dst.ip(), 49200),
                ..meta("192.0.2.2")
            };
            e.handle_datagram(
                now,
                &m,
                &packet(State::Up, r.my_discr, false, r.poll, 10_000),
            )
            .unwrap();
        }
        let _ = sends(&mut e);
        max_len = max_len.max(e.timers.len());
    }
    let states: Vec<_> = e
        .sessions()
        .map(|s| (s.state(), s.snapshot().stats))
        .collect();
    assert!(e.sessions().all(|s| s.state() == State::Up), "{states:?}");
    assert!(max_len <= 200, "heap grew to {max_len}");
}

#[test]
fn packets_due_close_together_share_a_wakeup_within_the_jitter_bounds() {
    // 100 sessions Up at 50 ms, the peer answering at once: every session's gaps stay within
    // 75-100 % of the interval, and the wake-ups are a fraction of the packets sent.
    let mut e = Engine::new(11);
    let t = Instant::ZERO;
    let mut ids = Vec::new();
    for i in 0..100u8 {
        let mut c = SessionConfig::new(format!("s{i}"), ip(&format!("198.18.1.{i}")));
        c.min_tx_us = 50_000;
        c.min_rx_us = 50_000;
        ids.push(e.add_session(t, c).unwrap());
    }
    let _ = sends(&mut e);
    for (i, id) in ids.iter().enumerate() {
        let discr = e.session(*id).unwrap().snapshot().local_discr;
        let m = meta(&format!("198.18.1.{i}"));
        e.handle_datagram(t, &m, &packet(State::Down, 0, false, false, 50_000))
            .unwrap();
        e.handle_datagram(t, &m, &packet(State::Up, discr, false, false, 50_000))
            .unwrap();
    }
    let _ = sends(&mut e);
    let mut last: BTreeMap<SocketAddr, Instant> = BTreeMap::new();
    let (mut wakeups, mut sent, mut min_gap, mut max_gap) = (0u32, 0u32, u64::MAX, 0u64);
    let end = t + core::time::Duration::from_secs(20);
    while let Some(now) = e.poll_timeout().filter(|n| *n < end) {
        wakeups += 1;
        e.handle_timeout(now);
        for s in sends(&mut e) {
            let r = Repr::parse(&s.payload).unwrap();
            // Gaps are measured once the Poll Sequence to 50 ms is over.
            if !r.poll
                && r.desired_min_tx_us == 50_000
                && let Some(prev) = last.insert(s.dst, now)
            {
                let gap = u64::try_from((now - prev).as_micros()).unwrap();
                min_gap = min_gap.min(gap);
                max_gap = max_gap.max(gap);
                sent += 1;
            }
            let m = RxMeta {
                src: SocketAddr::new(s.dst.ip(), 49200),
                ..meta("192.0.2.2")
            };
            e.handle_datagram(
                now,
                &m,
                &packet(State::Up, r.my_discr, false, r.poll, 50_000),
            )
            .unwrap();
        }
        let _ = sends(&mut e);
    }
    assert!(e.sessions().all(|s| s.state() == State::Up));
    assert!(sent > 35_000, "{sent} packets");
    assert!(
        (37_500..=50_000).contains(&min_gap) && max_gap <= 50_000,
        "gaps {min_gap}..{max_gap} us"
    );
    // Without coalescing every packet is a wake-up of its own.
    assert!(wakeups * 3 < sent, "{wakeups} wake-ups for {sent} packets");
}
