//! A simulated wire for protocol tests: several engines, each with one address, exchanging their
//! packets on a virtual clock with configurable loss, delay, delay variation (which reorders)
//! and TTL decrement. Nodes can be muted (their packets are lost: a silent peer) or frozen
//! (they neither receive nor run timers: a stopped process).

use core::net::{IpAddr, SocketAddr};
use core::time::Duration;

use keepalived_clock::Instant;

use crate::action::{Action, Log, SessionId, StateChange, Transmit};
use crate::config::{MULTIHOP_PORT, SessionConfig};
use crate::engine::{Engine, RxMeta};
use crate::error::RxError;

/// One simulated host.
#[derive(Debug)]
pub struct Node {
    /// Its address.
    pub addr: IpAddr,
    /// Its engine.
    pub engine: Engine,
    /// Every state change it reported, with the time.
    pub events: Vec<(Instant, StateChange)>,
    /// Every log line, with the time.
    pub logs: Vec<(Instant, Log)>,
    /// Every packet it sent, with the time.
    pub sent: Vec<(Instant, Transmit)>,
    /// Every receive error, with the time.
    pub rx_errors: Vec<(Instant, RxError)>,
    /// Its packets are lost.
    pub muted: bool,
    /// It does nothing (packets to it are lost).
    pub frozen: bool,
}

#[derive(Debug)]
struct Flight {
    at: Instant,
    seq: u64,
    to: usize,
    meta: RxMeta,
    payload: Vec<u8>,
}

/// The wire and its nodes.
#[derive(Debug)]
pub struct Wire {
    now: Instant,
    nodes: Vec<Node>,
    flights: Vec<Flight>,
    seq: u64,
    rng: fastrand::Rng,
    /// Probability that a packet is lost, 0..=1.
    pub loss: f64,
    /// Fixed one-way delay.
    pub delay: Duration,
    /// Extra random delay, 0..=`delay_variation` (packets can overtake each other).
    pub delay_variation: Duration,
    /// Hops between the nodes: the TTL a packet arrives with is the sent TTL minus this.
    pub hops: u8,
    /// Keep the sent packets in [`Node::sent`] (off for long runs).
    pub record_sent: bool,
}

impl Wire {
    /// An empty wire at time zero; `seed` drives loss and delay variation.
    #[must_use]
    pub fn new(seed: u64) -> Wire {
        Wire {
            now: Instant::ZERO,
            nodes: Vec::new(),
            flights: Vec::new(),
            seq: 0,
            rng: fastrand::Rng::with_seed(seed),
            loss: 0.0,
            delay: Duration::from_micros(100),
            delay_variation: Duration::ZERO,
            hops: 0,
            record_sent: true,
        }
    }

    /// The virtual time.
    #[must_use]
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Adds a host with address `addr` and an engine seeded with `seed`.
    pub fn add_node(&mut self, addr: IpAddr, seed: u64) -> usize {
        self.nodes.push(Node {
            addr,
            engine: Engine::new(seed),
            events: Vec::new(),
            logs: Vec::new(),
            sent: Vec::new(),
            rx_errors: Vec::new(),
            muted: false,
            frozen: false,
        });
        self.nodes.len() - 1
    }

    /// Adds a session on `node` now.
    pub fn add_session(&mut self, node: usize, cfg: SessionConfig) -> SessionId {
        let now = self.now;
        let id = match self.nodes[node].engine.add_session(now, cfg) {
            Ok(id) => id,
            Err(e) => panic!("sim: session refused: {e}"),
        };
        self.drain(node);
        id
    }

    /// A node.
    #[must_use]
    pub fn node(&self, i: usize) -> &Node {
        &self.nodes[i]
    }

    /// A node, mutably (to mute, freeze, or call its engine; call [`drain`](Self::drain) after).
    pub fn node_mut(&mut self, i: usize) -> &mut Node {
        &mut self.nodes[i]
    }

    /// Executes a node's queued actions.
    pub fn drain(&mut self, i: usize) {
        let now = self.now;
        while let Some(a) = self.nodes[i].engine.poll_action() {
            match a {
                Action::Send(t) => self.transmit(i, t),
                Action::State(s) => self.nodes[i].events.push((now, s)),
                Action::Log(l) => self.nodes[i].logs.push((now, l)),
            }
        }
        if let Some(t) = self.nodes[i].engine.poll_timeout() {
            assert!(t >= now, "sim: node {i} asks for a timeout in the past");
        }
    }

    fn transmit(&mut self, from: usize, t: Transmit) {
        let now = self.now;
        let node = &self.nodes[from];
        let src = SocketAddr::new(t.src.unwrap_or(node.addr), t.src_port);
        if self.record_sent {
            self.nodes[from].sent.push((now, t.clone()));
        }
        if self.nodes[from].muted || (self.loss > 0.0 && self.rng.f64() < self.loss) {
            return;
        }
        let Some(to) = self.nodes.iter().position(|n| n.addr == t.dst.ip()) else {
            return;
        };
        let extra = if self.delay_variation.is_zero() {
            Duration::ZERO
        } else {
            let nanos = u64::try_from(self.delay_variation.as_nanos()).unwrap_or(u64::MAX);
            Duration::from_nanos(self.rng.u64(0..=nanos))
        };
        self.seq += 1;
        self.flights.push(Flight {
            at: now + self.delay + extra,
            seq: self.seq,
            to,
            meta: RxMeta {
                src,
                dst: Some(t.dst.ip()),
                ttl: Some(t.ttl.saturating_sub(self.hops)),
                multihop: t.dst.port() == MULTIHOP_PORT,
            },
            payload: t.payload.to_vec(),
        });
    }

    /// Puts raw bytes on the wire to `to`, arriving at `at`.
    pub fn inject(&mut self, at: Instant, to: usize, meta: RxMeta, payload: Vec<u8>) {
        self.seq += 1;
        self.flights.push(Flight {
            at,
            seq: self.seq,
            to,
            meta,
            payload,
        });
    }

    fn next_event(&self) -> Option<Instant> {
        let f = self.flights.iter().map(|f| f.at).min();
        let t = self
            .nodes
            .iter()
            .filter(|n| !n.frozen)
            .filter_map(|n| n.engine.poll_timeout())
            .min();
        [f, t].into_iter().flatten().min()
    }

    /// Runs every event up to and including `until`, then sets the clock to `until`.
    pub fn run_until(&mut self, until: Instant) {
        while let Some(t) = self.next_event() {
            if t > until {
                break;
            }
            self.now = t.max(self.now);
            self.step_at();
        }
        self.now = until.max(self.now);
    }

    /// Runs for `d` of virtual time.
    pub fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        self.run_until(until);
    }

    fn step_at(&mut self) {
        let now = self.now;
        // Deliveries due now, in arrival order (then send order).
        let mut due: Vec<Flight> = Vec::new();
        let mut i = 0;
        while i < self.flights.len() {
            if self.flights[i].at <= now {
                due.push(self.flights.swap_remove(i));
            } else {
                i += 1;
            }
        }
        due.sort_by_key(|f| (f.at, f.seq));
        for f in due {
            if self.nodes[f.to].frozen {
                continue;
            }
            if let Err(e) = self.nodes[f.to]
                .engine
                .handle_datagram(now, &f.meta, &f.payload)
            {
                self.nodes[f.to].rx_errors.push((now, e));
            }
            self.drain(f.to);
        }
        for i in 0..self.nodes.len() {
            if self.nodes[i].frozen {
                continue;
            }
            if self.nodes[i]
                .engine
                .poll_timeout()
                .is_some_and(|t| t <= now)
            {
                self.nodes[i].engine.handle_timeout(now);
                self.drain(i);
            }
        }
    }

    /// Whether `node`'s session `id` is Up.
    #[must_use]
    pub fn is_up(&self, node: usize, id: SessionId) -> bool {
        self.nodes[node]
            .engine
            .session(id)
            .is_some_and(|s| s.state() == crate::wire::State::Up)
    }
}
