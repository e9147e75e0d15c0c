//! A simulated network of [`Engine`]s: each node has links, each link sits on a numbered
//! segment, and adverts reach every other node's link on the same segment (after the latency,
//! unless either end is unplugged). Time jumps from event to event as in [`super::Lan`].

use core::time::Duration;
use std::collections::BTreeMap;

use super::{Logged, MAX_STEPS, logged};
use crate::engine::{Engine, EngineAction, GroupId, InstanceRef, LinkId};
use crate::state::{Event, State};
use crate::time::Instant;
use crate::track::TrackerUpdate;
use crate::wire::ip::RxMeta;

/// What happened, as recorded in [`Net::log`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetLogged {
    /// An instance's action.
    Instance {
        /// The instance.
        r: InstanceRef,
        /// Its VRID.
        vrid: u8,
        /// What.
        what: Logged,
    },
    /// A sync group's transition.
    Group {
        /// The group.
        group: GroupId,
        /// Old state.
        from: State,
        /// New state.
        to: State,
    },
}

/// One log line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetEntry {
    /// When.
    pub at: Instant,
    /// Which node.
    pub node: usize,
    /// What.
    pub what: NetLogged,
}

#[derive(Debug)]
struct Node {
    engine: Engine,
    /// Per link: its segment and whether it is plugged in.
    links: Vec<(usize, bool)>,
}

#[derive(Debug)]
struct Delivery {
    node: usize,
    link: LinkId,
    meta: RxMeta,
    bytes: Vec<u8>,
}

/// The simulated network. Build each node's engine with [`Net::engine_mut`] after
/// [`Net::add_link`]s.
#[derive(Debug, Default)]
pub struct Net {
    now: Instant,
    nodes: Vec<Node>,
    queue: BTreeMap<(Instant, u64), Delivery>,
    seq: u64,
    latency: Duration,
    log: Vec<NetEntry>,
}

impl Net {
    /// An empty network at time zero.
    #[must_use]
    pub fn new() -> Self {
        Net::default()
    }

    /// Adds a node with an empty engine.
    pub fn add_node(&mut self) -> usize {
        self.nodes.push(Node {
            engine: Engine::new(),
            links: Vec::new(),
        });
        self.nodes.len() - 1
    }

    /// Adds a link to `node`'s engine, plugged into `segment`.
    pub fn add_link(&mut self, node: usize, segment: usize) -> LinkId {
        let n = &mut self.nodes[node];
        let link = n.engine.add_link();
        n.links.push((segment, true));
        link
    }

    /// `node`'s engine, to add instances and groups.
    pub fn engine_mut(&mut self, node: usize) -> &mut Engine {
        &mut self.nodes[node].engine
    }

    /// `node`'s engine.
    #[must_use]
    pub fn engine(&self, node: usize) -> &Engine {
        &self.nodes[node].engine
    }

    /// The current virtual time.
    #[must_use]
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Sets the one-way latency.
    pub fn set_latency(&mut self, latency: Duration) {
        self.latency = latency;
    }

    /// Unplugs (`false`) or plugs back (`true`) a node's link: nothing crosses an unplugged
    /// link. The engine is not told; send it [`Event::InterfaceDown`] for that.
    pub fn plug(&mut self, node: usize, link: LinkId, plugged: bool) {
        if let Some(l) = self.nodes[node].links.get_mut(link) {
            l.1 = plugged;
        }
    }

    /// Starts `node`'s engine now.
    pub fn start(&mut self, node: usize) {
        let now = self.now;
        self.nodes[node].engine.handle_start(now);
        self.drain(node);
    }

    /// Calls `f` on `node`'s engine with the current time (a reload, say), then carries out
    /// the actions it queued; returns what `f` returned.
    pub fn apply<T>(&mut self, node: usize, f: impl FnOnce(&mut Engine, Instant) -> T) -> T {
        let now = self.now;
        let out = f(&mut self.nodes[node].engine, now);
        self.drain(node);
        out
    }

    /// Stops `node`'s engine now.
    pub fn shutdown(&mut self, node: usize) {
        let now = self.now;
        self.nodes[node].engine.handle_shutdown(now);
        self.drain(node);
    }

    /// Reports a tracker status to `node` now.
    pub fn tracker(&mut self, node: usize, update: TrackerUpdate) {
        let now = self.now;
        self.nodes[node].engine.handle_tracker(now, update);
        self.drain(node);
    }

    /// Gives `event` to one instance of `node` now.
    pub fn event(&mut self, node: usize, r: InstanceRef, event: Event) {
        let now = self.now;
        self.nodes[node].engine.handle_instance_event(now, r, event);
        self.drain(node);
    }

    /// The state of one instance.
    #[must_use]
    pub fn state(&self, node: usize, r: InstanceRef) -> State {
        self.nodes[node]
            .engine
            .instance(r)
            .map_or(State::Initialize, crate::Instance::state)
    }

    /// Everything that happened.
    #[must_use]
    pub fn log(&self) -> &[NetEntry] {
        &self.log
    }

    /// The adverts `node` sent for instance `r`: (when, priority).
    #[must_use]
    pub fn adverts(&self, node: usize, r: InstanceRef) -> Vec<(Instant, u8)> {
        self.instance_log(node, r)
            .filter_map(|(at, what)| match what {
                Logged::Sent { priority } => Some((at, *priority)),
                _ => None,
            })
            .collect()
    }

    /// The transitions of instance `r` of `node`: (when, to).
    #[must_use]
    pub fn transitions(&self, node: usize, r: InstanceRef) -> Vec<(Instant, State)> {
        self.instance_log(node, r)
            .filter_map(|(at, what)| match what {
                Logged::State { to, .. } => Some((at, *to)),
                _ => None,
            })
            .collect()
    }

    /// The transitions of group `g` of `node`: (when, from, to).
    #[must_use]
    pub fn group_transitions(&self, node: usize, g: GroupId) -> Vec<(Instant, State, State)> {
        self.log
            .iter()
            .filter(|e| e.node == node)
            .filter_map(|e| match e.what {
                NetLogged::Group { group, from, to } if group == g => Some((e.at, from, to)),
                _ => None,
            })
            .collect()
    }

    fn instance_log(
        &self,
        node: usize,
        r: InstanceRef,
    ) -> impl Iterator<Item = (Instant, &Logged)> + '_ {
        self.log
            .iter()
            .filter(move |e| e.node == node)
            .filter_map(move |e| match &e.what {
                NetLogged::Instance { r: x, what, .. } if *x == r => Some((e.at, what)),
                _ => None,
            })
    }

    /// Runs the network for `d` of virtual time.
    pub fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        self.run_until(until);
    }

    /// Runs the network until `until` (inclusive), then sets the clock to `until`.
    pub fn run_until(&mut self, until: Instant) {
        let mut steps = 0u64;
        while self.step(until) {
            steps += 1;
            assert!(steps < MAX_STEPS, "simulation live-locked at {}", self.now);
        }
        self.now = self.now.max(until);
    }

    fn step(&mut self, until: Instant) -> bool {
        let delivery = self.queue.keys().next().map(|k| k.0);
        let timer = (0..self.nodes.len())
            .filter_map(|n| self.nodes[n].engine.poll_timeout().map(|t| (t, n)))
            .min();
        let take_delivery = match (delivery, timer) {
            (Some(d), Some((t, _))) => d <= t,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if take_delivery {
            match self.queue.first_key_value() {
                Some(((at, _), _)) if *at <= until => {}
                _ => return false,
            }
            let Some(((at, _), d)) = self.queue.pop_first() else {
                return false;
            };
            self.now = self.now.max(at);
            if !self.nodes[d.node].links.get(d.link).is_some_and(|l| l.1) {
                return true;
            }
            let now = self.now;
            // A failed datagram is counted by the engine; nothing more to log here.
            let engine = &mut self.nodes[d.node].engine;
            let _ = if super::is_whole_ip(&d.bytes) {
                engine.handle_ip_datagram(now, d.link, &d.bytes)
            } else {
                engine.handle_datagram(now, d.link, &d.meta, &d.bytes)
            };
            self.drain(d.node);
            true
        } else if let Some((t, n)) = timer.filter(|(t, _)| *t <= until) {
            self.now = self.now.max(t);
            let now = self.now;
            self.nodes[n].engine.handle_timeout(now);
            self.drain(n);
            true
        } else {
            false
        }
    }

    fn drain(&mut self, node: usize) {
        let mut pending = Vec::new();
        self.nodes[node].engine.drain(|a| pending.push(a));
        for action in pending {
            let what = match action {
                EngineAction::Group { group, from, to } => NetLogged::Group { group, from, to },
                EngineAction::Instance(r, action) => {
                    let Some(inst) = self.nodes[node].engine.instance(r) else {
                        continue;
                    };
                    let vrid = inst.config().vrid;
                    let (what, advert) = logged(action, inst.config().primary_addr);
                    if let Some((meta, bytes)) = advert {
                        self.broadcast(node, r.link, meta, &bytes);
                    }
                    NetLogged::Instance { r, vrid, what }
                }
            };
            self.log.push(NetEntry {
                at: self.now,
                node,
                what,
            });
        }
    }

    fn broadcast(&mut self, from: usize, link: LinkId, meta: RxMeta, bytes: &[u8]) {
        let Some(&(segment, true)) = self.nodes[from].links.get(link) else {
            return;
        };
        for to in 0..self.nodes.len() {
            if to == from {
                continue;
            }
            for (l, &(seg, plugged)) in self.nodes[to].links.iter().enumerate() {
                if seg != segment || !plugged {
                    continue;
                }
                self.queue.insert(
                    (self.now + self.latency, self.seq),
                    Delivery {
                        node: to,
                        link: l,
                        meta,
                        bytes: bytes.to_vec(),
                    },
                );
                self.seq += 1;
            }
        }
    }
}
