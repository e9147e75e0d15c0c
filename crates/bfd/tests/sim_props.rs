//! Property tests on the simulated wire: for many seeds of random intervals, multipliers, loss,
//! delay and reordering, sessions come Up, stay Up without loss, a silenced peer is declared
//! Down within the detection time (and not before it), and both ends come back.

use core::net::IpAddr;
use core::time::Duration;

use keepalived_bfd::sim::Wire;
use keepalived_bfd::{Diag, SessionConfig, SessionId, State};

const A: &str = "192.0.2.1";
const B: &str = "192.0.2.2";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

struct Pair {
    wire: Wire,
    a: SessionId,
    b: SessionId,
}

/// Two nodes with one session each way, random timers drawn from `rng`.
fn pair(seed: u64, rng: &mut fastrand::Rng, passive_b: bool) -> Pair {
    let mut wire = Wire::new(seed);
    wire.record_sent = false;
    let na = wire.add_node(ip(A), seed.wrapping_mul(3));
    let nb = wire.add_node(ip(B), seed.wrapping_mul(7).wrapping_add(1));
    let mut ca = SessionConfig::new("to_b", ip(B));
    let mut cb = SessionConfig::new("to_a", ip(A));
    for c in [&mut ca, &mut cb] {
        c.min_tx_us = rng.u32(10..=300) * 1000;
        c.min_rx_us = rng.u32(10..=300) * 1000;
        c.idle_tx_us = rng.u32(1000..=2000) * 1000;
        c.multiplier = rng.u8(2..=5);
    }
    cb.passive = passive_b;
    let a = wire.add_session(na, ca);
    let b = wire.add_session(nb, cb);
    Pair { wire, a, b }
}

#[test]
fn sessions_come_up_and_stay_up() {
    let mut rng = fastrand::Rng::with_seed(20);
    for seed in 0..60 {
        let mut p = pair(seed, &mut rng, seed % 3 == 0);
        p.wire.delay = Duration::from_micros(rng.u64(50..=2000));
        p.wire.delay_variation = Duration::from_micros(rng.u64(0..=1000));
        // Two idle intervals at most (the first packet is sent at once, the answer within one).
        p.wire.run_for(Duration::from_secs(5));
        assert!(
            p.wire.is_up(0, p.a) && p.wire.is_up(1, p.b),
            "seed {seed}: not Up after 5 s: {:?} / {:?}",
            p.wire.node(0).engine.session(p.a).map(|s| s.snapshot()),
            p.wire.node(1).engine.session(p.b).map(|s| s.snapshot()),
        );
        let ups = p.wire.node(0).events.len();
        p.wire.run_for(Duration::from_secs(60));
        assert_eq!(
            p.wire.node(0).events.len(),
            ups,
            "seed {seed}: a false Down without loss: {:?}",
            p.wire.node(0).events
        );
        // The negotiated intervals: each side sends at max(its min_tx, the other's min_rx).
        let sa = p.wire.node(0).engine.session(p.a).unwrap();
        let sb = p.wire.node(1).engine.session(p.b).unwrap();
        let (ca, cb) = (sa.config(), sb.config());
        let snap = sa.snapshot();
        assert_eq!(
            snap.tx_interval_us,
            ca.min_tx_us.max(cb.min_rx_us),
            "seed {seed}"
        );
        assert_eq!(
            snap.rx_interval_us,
            ca.min_rx_us.max(cb.min_tx_us),
            "seed {seed}"
        );
        assert_eq!(
            snap.detect_time_us,
            u64::from(cb.multiplier) * u64::from(snap.rx_interval_us)
        );
        assert!(!snap.polling, "seed {seed}: a Poll Sequence never ended");
    }
}

#[test]
fn sessions_come_up_through_loss_and_reordering() {
    let mut rng = fastrand::Rng::with_seed(21);
    for seed in 0..40 {
        let mut p = pair(seed, &mut rng, false);
        p.wire.loss = 0.2;
        p.wire.delay = Duration::from_millis(1);
        p.wire.delay_variation = Duration::from_millis(20);
        p.wire.run_for(Duration::from_secs(60));
        p.wire.loss = 0.0;
        p.wire.delay_variation = Duration::ZERO;
        p.wire.run_for(Duration::from_secs(10));
        assert!(
            p.wire.is_up(0, p.a) && p.wire.is_up(1, p.b),
            "seed {seed}: not Up 10 s after the loss stopped"
        );
    }
}

#[test]
fn a_silent_peer_goes_down_within_the_detection_time() {
    let mut rng = fastrand::Rng::with_seed(22);
    for seed in 0..60 {
        let mut p = pair(seed, &mut rng, false);
        p.wire.run_for(Duration::from_secs(5));
        assert!(p.wire.is_up(0, p.a), "seed {seed}");
        let detect = Duration::from_micros(
            p.wire
                .node(0)
                .engine
                .session(p.a)
                .unwrap()
                .snapshot()
                .detect_time_us,
        );
        // Let a random part of an interval pass, then B falls silent.
        p.wire.run_for(Duration::from_micros(rng.u64(0..=300_000)));
        let silenced = p.wire.now();
        p.wire.node_mut(1).frozen = true;
        p.wire.run_for(detect + Duration::from_millis(10));
        let node = p.wire.node(0);
        let (at, ev) = node.events.last().unwrap();
        assert!(!ev.up, "seed {seed}: no Down after the detection time");
        assert_eq!(ev.diag, Diag::ControlDetectionTimeExpired);
        let took = *at - silenced;
        assert!(
            took <= detect,
            "seed {seed}: Down {took:?} after silence, detection time {detect:?}"
        );
        // Not before the detection time since B's last packet (its last interval is at most
        // one rx interval before the silence).
        let rx_interval = Duration::from_micros(u64::from(
            node.engine.session(p.a).unwrap().snapshot().rx_interval_us,
        ));
        assert!(
            took + rx_interval + Duration::from_millis(1) >= detect,
            "seed {seed}: Down too early: {took:?} (detect {detect:?})"
        );
        assert!(
            node.logs
                .iter()
                .any(|(_, l)| l.text.starts_with("(to_b) Expired after")),
            "seed {seed}: no expiry log"
        );
        // B comes back: both sides Up again.
        p.wire.node_mut(1).frozen = false;
        p.wire.run_for(Duration::from_secs(10));
        assert!(
            p.wire.is_up(0, p.a) && p.wire.is_up(1, p.b),
            "seed {seed}: not Up again"
        );
    }
}

#[test]
fn passive_sessions_wait_for_the_peer() {
    let mut wire = Wire::new(5);
    let na = wire.add_node(ip(A), 1);
    let nb = wire.add_node(ip(B), 2);
    let mut ca = SessionConfig::new("p", ip(B));
    ca.passive = true;
    let mut cb = SessionConfig::new("q", ip(A));
    cb.passive = true;
    let a = wire.add_session(na, ca);
    let b = wire.add_session(nb, cb);
    wire.run_for(Duration::from_secs(30));
    assert!(wire.node(0).sent.is_empty() && wire.node(1).sent.is_empty());
    assert_eq!(wire.node(0).engine.session(a).unwrap().state(), State::Down);
    // One side stops being passive: both come up.
    let now = wire.now();
    wire.node_mut(1).engine.set_admin_down(now, b, true);
    wire.drain(1);
    wire.run_for(Duration::from_secs(1));
    let cfg = wire.node(1).engine.session(b).unwrap().config().clone();
    let now = wire.now();
    wire.node_mut(1).engine.remove_session(now, b);
    wire.drain(1);
    let active = SessionConfig {
        passive: false,
        ..cfg
    };
    let b = wire.add_session(nb, active);
    wire.run_for(Duration::from_secs(5));
    assert!(wire.is_up(0, a) && wire.is_up(1, b));
}

#[test]
fn admin_down_peer_takes_the_session_down_without_a_tracker_event() {
    let mut rng = fastrand::Rng::with_seed(23);
    let mut p = pair(9, &mut rng, false);
    p.wire.run_for(Duration::from_secs(5));
    assert!(p.wire.is_up(0, p.a));
    let events = p.wire.node(0).events.len();
    let now = p.wire.now();
    p.wire.node_mut(1).engine.set_admin_down(now, p.b, true);
    p.wire.drain(1);
    p.wire.run_for(Duration::from_millis(50));
    let s = p.wire.node(0).engine.session(p.a).unwrap().snapshot();
    assert_eq!(s.state, State::Down);
    assert_eq!(s.local_diag, Diag::NeighborSignaledDown);
    // RFC 5882 3.2 / keepalived: an AdminDown peer is not reported to trackers as a failure.
    assert_eq!(p.wire.node(0).events.len(), events);
    // B's own tracker heard Down (it was Up).
    assert!(!p.wire.node(1).events.last().unwrap().1.up);
    let now = p.wire.now();
    p.wire.node_mut(1).engine.set_admin_down(now, p.b, false);
    p.wire.drain(1);
    p.wire.run_for(Duration::from_secs(5));
    assert!(p.wire.is_up(0, p.a) && p.wire.is_up(1, p.b));
}

#[test]
fn multihop_sessions_check_max_hops() {
    for (hops, max_hops, up) in [(3u8, 3u8, true), (4, 3, false), (200, 255, true)] {
        let mut wire = Wire::new(11);
        wire.hops = hops;
        let na = wire.add_node(ip(A), 1);
        let nb = wire.add_node(ip(B), 2);
        let mut ca = SessionConfig::new("m", ip(B));
        let mut cb = SessionConfig::new("n", ip(A));
        for c in [&mut ca, &mut cb] {
            c.multihop = true;
            c.max_hops = max_hops;
        }
        let a = wire.add_session(na, ca);
        let b = wire.add_session(nb, cb);
        wire.run_for(Duration::from_secs(5));
        assert_eq!(wire.is_up(0, a) && wire.is_up(1, b), up, "hops {hops}");
        let sent = &wire.node(0).sent[0].1;
        assert_eq!(sent.dst.port(), keepalived_bfd::MULTIHOP_PORT);
        assert!(sent.src_port >= keepalived_bfd::SOURCE_PORT_MIN);
        assert_eq!(wire.node(1).engine.stats().bad_ttl > 0, !up);
    }
}

#[test]
fn ipv6_sessions_use_keepalived_hop_limit() {
    for (hops, up) in [(0u8, true), (1, false)] {
        let mut wire = Wire::new(12);
        wire.hops = hops;
        let na = wire.add_node(ip("2001:db8::1"), 1);
        let nb = wire.add_node(ip("2001:db8::2"), 2);
        let a = wire.add_session(na, SessionConfig::new("v6a", ip("2001:db8::2")));
        let b = wire.add_session(nb, SessionConfig::new("v6b", ip("2001:db8::1")));
        wire.run_for(Duration::from_secs(5));
        // keepalived's IPv6 default: hop limit 64 sent, and required with max_hops 0.
        assert_eq!(wire.node(0).sent[0].1.ttl, 64);
        assert_eq!(wire.is_up(0, a) && wire.is_up(1, b), up, "hops {hops}");
    }
}
