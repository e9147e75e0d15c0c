//! A simulated LAN of VRRP routers on a virtual clock, for tests and benchmarks.
//!
//! Each node is a [`Router`] (its instances share one interface). Time jumps from one event to
//! the next (a delivery or the earliest timer of any node), so an hour of protocol runs in
//! milliseconds. Adverts are really emitted and parsed, so the codec runs on every hop. Links
//! have a latency (default zero), a per-direction loss probability drawn from a seeded PRNG, and
//! nodes can be partitioned, frozen (as with SIGSTOP: no timers, nothing received) and restarted.
//! Everything that happens is appended to [`Lan::log`].
//!
//! [`Net`] does the same for [`crate::Engine`]s: nodes with several links, each link on a
//! segment, so sync groups and shared trackers can be exercised across interfaces.

mod engine;

pub use engine::{Net, NetEntry, NetLogged};

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use core::time::Duration;
use std::collections::BTreeMap;

use crate::action::Action;
use crate::config::InstanceConfig;
use crate::demux::Router;
use crate::instance::Instance;
use crate::state::{Event, Reason, State};
use crate::time::Instant;
use crate::wire::ip::RxMeta;

/// The VRRP IPv4 multicast group.
pub const MCAST_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// The VRRP IPv6 multicast group.
pub const MCAST_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);

/// A small deterministic PRNG (SplitMix64), seeded explicitly.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator with `seed`.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A value in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        // 53 random bits as a fraction in [0, 1).
        #[allow(clippy::cast_precision_loss)]
        let x = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        x < p
    }
}

/// What happened, as recorded in the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Logged {
    /// An advert was sent with this priority.
    Sent {
        /// The priority advertised.
        priority: u8,
    },
    /// A state change.
    State {
        /// Old state.
        from: State,
        /// New state.
        to: State,
        /// Why.
        reason: Reason,
    },
    /// Virtual addresses added.
    AddVips,
    /// Virtual addresses removed.
    DelVips,
    /// A gratuitous burst.
    Gratuitous {
        /// Messages.
        count: u8,
    },
    /// The effective priority changed.
    Priority {
        /// Old priority.
        from: u8,
        /// New priority.
        to: u8,
    },
    /// A master heard a lower-priority advert.
    RxLowerPriority {
        /// Its sender.
        from: IpAddr,
        /// Its priority.
        priority: u8,
    },
    /// An accepted advert with something odd.
    Warning(String),
    /// A received advert was dropped.
    Dropped(String),
}

/// One log line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// When.
    pub at: Instant,
    /// Which node.
    pub node: usize,
    /// Which VRID.
    pub vrid: u8,
    /// What.
    pub what: Logged,
}

#[derive(Debug)]
struct Node {
    name: String,
    configs: Vec<InstanceConfig>,
    router: Router,
    frozen: bool,
    group: u32,
}

#[derive(Debug)]
struct Delivery {
    to: usize,
    meta: RxMeta,
    bytes: Vec<u8>,
}

/// The simulated LAN.
#[derive(Debug)]
pub struct Lan {
    now: Instant,
    nodes: Vec<Node>,
    queue: BTreeMap<(Instant, u64), Delivery>,
    seq: u64,
    latency: Duration,
    loss: BTreeMap<(usize, usize), f64>,
    default_loss: f64,
    rng: SplitMix64,
    log: Vec<Entry>,
}

/// Steps one `run_until` may take before the simulator decides the protocol is live-locked.
const MAX_STEPS: u64 = 50_000_000;

impl Lan {
    /// An empty LAN at time zero with a PRNG seeded by `seed`.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Lan {
            now: Instant::ZERO,
            nodes: Vec::new(),
            queue: BTreeMap::new(),
            seq: 0,
            latency: Duration::ZERO,
            loss: BTreeMap::new(),
            default_loss: 0.0,
            rng: SplitMix64::new(seed),
            log: Vec::new(),
        }
    }

    /// Adds a node with these instances (not started). Panics on an invalid configuration: this
    /// is test support.
    pub fn add_node(&mut self, name: &str, configs: Vec<InstanceConfig>) -> usize {
        let router = build_router(&configs);
        self.nodes.push(Node {
            name: name.to_owned(),
            configs,
            router,
            frozen: false,
            group: 0,
        });
        self.nodes.len() - 1
    }

    /// The current virtual time.
    #[must_use]
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Sets the one-way latency of every link.
    pub fn set_latency(&mut self, latency: Duration) {
        self.latency = latency;
    }

    /// Sets the loss probability of every link without its own setting.
    pub fn set_loss_all(&mut self, p: f64) {
        self.default_loss = p;
    }

    /// Sets the loss probability from `from` to `to`.
    pub fn set_loss(&mut self, from: usize, to: usize, p: f64) {
        self.loss.insert((from, to), p);
    }

    /// Splits the LAN: nodes in different groups no longer hear each other (nodes not listed
    /// form one more group).
    pub fn partition(&mut self, groups: &[&[usize]]) {
        for n in &mut self.nodes {
            n.group = u32::MAX;
        }
        for (g, members) in (0u32..).zip(groups) {
            for &m in *members {
                if let Some(n) = self.nodes.get_mut(m) {
                    n.group = g;
                }
            }
        }
    }

    /// Joins all partitions.
    pub fn heal(&mut self) {
        for n in &mut self.nodes {
            n.group = 0;
        }
    }

    /// Starts every instance of `node` now.
    pub fn start(&mut self, node: usize) {
        let now = self.now;
        self.nodes[node].router.handle_start(now);
        self.drain(node);
    }

    /// Freezes `node`, as SIGSTOP does: its timers stop and it receives nothing.
    pub fn freeze(&mut self, node: usize) {
        self.nodes[node].frozen = true;
    }

    /// Thaws `node`: overdue timers fire at once.
    pub fn thaw(&mut self, node: usize) {
        self.nodes[node].frozen = false;
    }

    /// Replaces `node`'s instances by fresh ones, started now (a crashed router restarted).
    pub fn restart(&mut self, node: usize) {
        let fresh = build_router(&self.nodes[node].configs);
        self.nodes[node].router = fresh;
        self.nodes[node].frozen = false;
        self.start(node);
    }

    /// Gives `event` to every instance of `node` now.
    pub fn event(&mut self, node: usize, event: Event) {
        let now = self.now;
        self.nodes[node].router.handle_event(now, event);
        self.drain(node);
    }

    /// The router of `node`.
    #[must_use]
    pub fn router(&self, node: usize) -> &Router {
        &self.nodes[node].router
    }

    /// The instance of `node` for `vrid` (the first family that has it).
    #[must_use]
    pub fn instance(&self, node: usize, vrid: u8) -> &Instance {
        let r = &self.nodes[node].router;
        let found = r.instances().iter().find(|i| i.config().vrid == vrid);
        found.unwrap_or_else(|| panic!("node {node} has no VRID {vrid}"))
    }

    /// The state of `node`'s instance for `vrid`.
    #[must_use]
    pub fn state(&self, node: usize, vrid: u8) -> State {
        self.instance(node, vrid).state()
    }

    /// The nodes (not frozen) whose `vrid` instance is Master.
    #[must_use]
    pub fn masters(&self, vrid: u8) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&n| !self.nodes[n].frozen && self.state(n, vrid) == State::Master)
            .collect()
    }

    /// Whether `node` holds `vrid`'s virtual addresses (after its last AddVips / DelVips).
    #[must_use]
    pub fn holds_vips(&self, node: usize, vrid: u8) -> bool {
        self.log
            .iter()
            .rev()
            .filter(|e| e.node == node && e.vrid == vrid)
            .find_map(|e| match e.what {
                Logged::AddVips => Some(true),
                Logged::DelVips => Some(false),
                _ => None,
            })
            .unwrap_or(false)
    }

    /// Everything that happened.
    #[must_use]
    pub fn log(&self) -> &[Entry] {
        &self.log
    }

    /// The times `node` sent adverts for `vrid`, with their priority.
    #[must_use]
    pub fn adverts(&self, node: usize, vrid: u8) -> Vec<(Instant, u8)> {
        self.log
            .iter()
            .filter(|e| e.node == node && e.vrid == vrid)
            .filter_map(|e| match e.what {
                Logged::Sent { priority } => Some((e.at, priority)),
                _ => None,
            })
            .collect()
    }

    /// The state changes of `node` for `vrid`: (when, to, reason).
    #[must_use]
    pub fn transitions(&self, node: usize, vrid: u8) -> Vec<(Instant, State, Reason)> {
        self.log
            .iter()
            .filter(|e| e.node == node && e.vrid == vrid)
            .filter_map(|e| match e.what {
                Logged::State { to, reason, .. } => Some((e.at, to, reason)),
                _ => None,
            })
            .collect()
    }

    /// A node's name.
    #[must_use]
    pub fn name(&self, node: usize) -> &str {
        &self.nodes[node].name
    }

    /// Runs the LAN for `d` of virtual time.
    pub fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        self.run_until(until);
    }

    /// Runs the LAN until `until` (inclusive), then sets the clock to `until`.
    pub fn run_until(&mut self, until: Instant) {
        let mut steps = 0u64;
        while self.step(until) {
            steps += 1;
            assert!(steps < MAX_STEPS, "simulation live-locked at {}", self.now);
        }
        self.now = self.now.max(until);
    }

    /// Processes the earliest event at or before `until`; false if there is none.
    fn step(&mut self, until: Instant) -> bool {
        let delivery = self.queue.keys().next().map(|k| k.0);
        let timer = (0..self.nodes.len())
            .filter(|&n| !self.nodes[n].frozen)
            .filter_map(|n| self.nodes[n].router.poll_timeout().map(|t| (t, n)))
            .min();
        // Deliveries win ties: a packet arriving at the very instant a timer fires is handled
        // first.
        let take_delivery = match (delivery, timer) {
            (Some(d), Some((t, _))) => d <= t,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if take_delivery {
            let Some(((at, _), d)) = self.queue.pop_first() else {
                return false;
            };
            if at > until {
                self.queue.insert((at, self.seq), d);
                self.seq += 1;
                return false;
            }
            self.now = self.now.max(at);
            self.deliver(d);
            true
        } else if let Some((t, n)) = timer.filter(|(t, _)| *t <= until) {
            self.now = self.now.max(t);
            let now = self.now;
            self.nodes[n].router.handle_timeout(now);
            self.drain(n);
            true
        } else {
            false
        }
    }

    fn deliver(&mut self, d: Delivery) {
        let now = self.now;
        let node = &mut self.nodes[d.to];
        if node.frozen {
            return;
        }
        let handled = if is_whole_ip(&d.bytes) {
            node.router.handle_ip_datagram(now, &d.bytes)
        } else {
            node.router.handle_datagram(now, &d.meta, &d.bytes)
        };
        if let Err(e) = handled {
            let vrid = d.bytes.get(1).copied().unwrap_or(0);
            self.log.push(Entry {
                at: now,
                node: d.to,
                vrid,
                what: Logged::Dropped(e.to_string()),
            });
        }
        self.drain(d.to);
    }

    fn drain(&mut self, n: usize) {
        let mut pending = Vec::new();
        self.nodes[n]
            .router
            .drain(|id, action| pending.push((id, action)));
        for (id, action) in pending {
            let Some(inst) = self.nodes[n].router.instance(id) else {
                continue;
            };
            let vrid = inst.config().vrid;
            let src = inst.config().primary_addr;
            let (what, advert) = logged(action, src);
            if let Some((meta, bytes)) = advert {
                self.broadcast(n, meta, &bytes);
            }
            self.log.push(Entry {
                at: self.now,
                node: n,
                vrid,
                what,
            });
        }
    }

    fn broadcast(&mut self, from: usize, meta: RxMeta, bytes: &[u8]) {
        for to in 0..self.nodes.len() {
            if to == from || self.nodes[to].group != self.nodes[from].group {
                continue;
            }
            let p = self
                .loss
                .get(&(from, to))
                .copied()
                .unwrap_or(self.default_loss);
            if p > 0.0 && self.rng.chance(p) {
                continue;
            }
            self.queue.insert(
                (self.now + self.latency, self.seq),
                Delivery {
                    to,
                    meta,
                    bytes: bytes.to_vec(),
                },
            );
            self.seq += 1;
        }
    }
}

fn build_router(configs: &[InstanceConfig]) -> Router {
    let mut router = Router::new();
    for c in configs {
        let inst = Instance::new(c.clone()).unwrap_or_else(|e| panic!("invalid config: {e}"));
        router
            .add(inst)
            .unwrap_or_else(|e| panic!("cannot add instance: {e}"));
    }
    router
}

/// Whether a delivery is a whole IPv4 datagram (an advert behind an IPsec AH) rather than a
/// VRRP message, whose first nibble is its version, 2 or 3.
fn is_whole_ip(bytes: &[u8]) -> bool {
    bytes.first().is_some_and(|b| b >> 4 == 4)
}

/// The log line for `action` of an instance sending from `src`, and for an advert, the
/// datagram to multicast (emitted, so the codec runs): the VRRP message, or with `auth_type AH`
/// the whole IPv4 datagram.
fn logged(action: Action, src: IpAddr) -> (Logged, Option<(RxMeta, Vec<u8>)>) {
    let what = match action {
        Action::SendAdvert { repr, checksum, ah } => {
            let dst: IpAddr = match src {
                IpAddr::V4(_) => MCAST_V4.into(),
                IpAddr::V6(_) => MCAST_V6.into(),
            };
            let mut bytes = repr
                .to_bytes(src, dst, checksum)
                .unwrap_or_else(|e| panic!("engine produced an unsendable advert: {e}"));
            if let (Some(seal), IpAddr::V4(s4), IpAddr::V4(d4)) = (ah, src, dst) {
                bytes = crate::wire::ah::emit_datagram(&bytes, s4, d4, 255, &seal, false)
                    .unwrap_or_else(|| panic!("advert too long for AH"));
            }
            let sent = Logged::Sent {
                priority: repr.priority,
            };
            return (sent, Some((RxMeta { src, dst, ttl: 255 }, bytes)));
        }
        Action::AddVips => Logged::AddVips,
        Action::DelVips => Logged::DelVips,
        Action::SendGratuitous { count } => Logged::Gratuitous { count },
        Action::StateChanged { from, to, reason } => Logged::State { from, to, reason },
        Action::Warning(w) => Logged::Warning(w.to_string()),
        Action::PriorityChanged { from, to } => Logged::Priority { from, to },
        Action::MasterRxLowerPriority { from, priority } => {
            Logged::RxLowerPriority { from, priority }
        }
    };
    (what, None)
}
