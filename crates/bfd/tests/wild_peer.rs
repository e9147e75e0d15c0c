//! A scripted peer that brings a session Up and then changes its intervals and multiplier wildly
//! (zero, one microsecond, u32::MAX, random), with and without Poll. The session must answer
//! every Poll with a Final at once, apply the new intervals after a Poll, stop periodic packets
//! while the peer asks for none (Required Min RX 0), stay Up while the peer keeps sending faster
//! than any detection time, and never ask for a timeout in the past.

use core::net::{IpAddr, SocketAddr};
use core::time::Duration;

use keepalived_bfd::{Action, Diag, Engine, Instant, Repr, RxMeta, SessionConfig, State};

const PEER_DISCR: u32 = 0xfeed_0001;

fn peer_packet(state: State, your: u32, tx: u32, rx: u32, mult: u8, poll: bool) -> [u8; 24] {
    Repr {
        diag: Diag::None,
        state,
        poll,
        fin: false,
        cpi: false,
        demand: false,
        multipoint: false,
        detect_mult: mult,
        my_discr: PEER_DISCR,
        your_discr: your,
        desired_min_tx_us: tx,
        required_min_rx_us: rx,
        required_min_echo_rx_us: 0,
        auth: None,
    }
    .to_bytes()
}

struct Run {
    engine: Engine,
    now: Instant,
    sent: Vec<(Instant, Repr)>,
    events: Vec<bool>,
}

impl Run {
    fn drain(&mut self) {
        while let Some(a) = self.engine.poll_action() {
            match a {
                Action::Send(t) => self.sent.push((self.now, Repr::parse(&t.payload).unwrap())),
                Action::State(s) => self.events.push(s.up),
                Action::Log(_) => {}
            }
        }
        if let Some(t) = self.engine.poll_timeout() {
            assert!(t >= self.now, "timeout in the past");
        }
    }

    /// Runs timers up to `until`.
    fn advance(&mut self, until: Instant) {
        while let Some(t) = self.engine.poll_timeout().filter(|t| *t <= until) {
            self.now = t.max(self.now);
            self.engine.handle_timeout(self.now);
            self.drain();
        }
        self.now = until;
    }

    fn rx(&mut self, bytes: &[u8]) {
        let meta = RxMeta {
            src: SocketAddr::new("192.0.2.2".parse().unwrap(), 49200),
            dst: Some("192.0.2.1".parse().unwrap()),
            ttl: Some(255),
            multihop: false,
        };
        self.engine.handle_datagram(self.now, &meta, bytes).unwrap();
        self.drain();
    }
}

fn interval(rng: &mut fastrand::Rng) -> u32 {
    match rng.u8(0..6) {
        0 => 0,
        1 => 1,
        2 => u32::MAX,
        3 => rng.u32(..),
        _ => rng.u32(1..=2000) * 1000,
    }
}

#[test]
fn wild_intervals_are_handled_by_poll_and_final() {
    let mut expiries = 0;
    for seed in 0..30u64 {
        let mut rng = fastrand::Rng::with_seed(seed);
        let ip: IpAddr = "192.0.2.2".parse().unwrap();
        let mut cfg = SessionConfig::new("wild", ip);
        cfg.source = Some("192.0.2.1".parse().unwrap());
        cfg.min_tx_us = 20_000;
        cfg.min_rx_us = 20_000;
        let mut run = Run {
            engine: Engine::new(seed),
            now: Instant::ZERO,
            sent: Vec::new(),
            events: Vec::new(),
        };
        let id = run.engine.add_session(run.now, cfg).unwrap();
        run.drain();
        let local = run.engine.session(id).unwrap().snapshot().local_discr;
        // Handshake.
        run.rx(&peer_packet(State::Down, 0, 1_000_000, 20_000, 3, false));
        run.advance(run.now + Duration::from_millis(1));
        run.rx(&peer_packet(State::Up, local, 20_000, 20_000, 3, false));
        assert_eq!(run.engine.session(id).unwrap().state(), State::Up);
        // The peer now sends every 5 ms (faster than any detection time of this session, whose
        // min_rx is 20 ms) with wild values; a quarter of the packets carry a Poll.
        let mut last = (20_000u32, 20_000u32, 3u8);
        for step in 0..2_000 {
            run.advance(run.now + Duration::from_millis(5));
            let poll = rng.u8(0..4) == 0;
            let (tx, rx, mult) = if poll || rng.bool() {
                (interval(&mut rng), interval(&mut rng), rng.u8(1..=255))
            } else {
                last
            };
            let before = run.sent.len();
            run.rx(&peer_packet(State::Up, local, tx, rx, mult, poll));
            let snap = run.engine.session(id).unwrap().snapshot();
            assert_eq!(snap.state, State::Up, "seed {seed} step {step}: not Up");
            if poll {
                let answer = run.sent.get(before).map(|(_, r)| r);
                assert!(
                    answer.is_some_and(|r| r.fin && !r.poll),
                    "seed {seed} step {step}: Poll not answered by Final: {answer:?}"
                );
                // After a Poll the intervals follow the peer's values (RFC 5880 6.8.3).
                assert_eq!(snap.tx_interval_us, 20_000u32.max(rx));
                assert_eq!(snap.rx_interval_us, 20_000u32.max(tx));
                assert_eq!(
                    snap.detect_time_us,
                    u64::from(mult) * u64::from(20_000u32.max(tx))
                );
                last = (tx, rx, mult);
            }
            if snap.remote_min_rx_us == 0 {
                // RFC 5880 6.8.3: no periodic packets while the peer asks for none.
                let t0 = run.sent.len();
                run.advance(run.now + Duration::from_millis(4));
                assert_eq!(
                    run.sent.len(),
                    t0,
                    "seed {seed}: sent while RemoteMinRx is 0"
                );
            }
        }
        assert_eq!(
            run.events,
            vec![false, true],
            "seed {seed}: {:?}",
            run.events
        );
        // The peer falls silent: Down within the detection time last agreed.
        let detect =
            Duration::from_micros(run.engine.session(id).unwrap().snapshot().detect_time_us);
        // (Only when it is short enough to simulate cheaply: our packets go out every 20 ms.)
        if detect <= Duration::from_secs(60) {
            run.advance(run.now + detect);
            let s = run.engine.session(id).unwrap().snapshot();
            assert_eq!(
                s.state,
                State::Down,
                "seed {seed}: not Down after {detect:?}"
            );
            assert_eq!(s.local_diag, Diag::ControlDetectionTimeExpired);
            expiries += 1;
        }
    }
    assert!(
        expiries >= 5,
        "too few runs ended with a checked expiry: {expiries}"
    );
}
