//! The engine: every session of one BFD process, the receive demultiplexer (RFC 5880 section
//! 6.8.6, RFC 5881/5883 ports and TTL), the seeded RNG and the ordered action queue.

use core::cmp::Reverse;
use core::net::{IpAddr, SocketAddr};
use std::collections::{BTreeMap, BinaryHeap, VecDeque};

use keepalived_clock::Instant;

use crate::action::{Action, SessionId};
use crate::config::{SOURCE_PORT_MIN, SessionConfig};
use crate::error::{ConfigError, RxError};
use crate::session::{Ctx, Session};
use crate::stats::GlobalStats;
use crate::wire::Repr;

/// How far ahead [`Engine::handle_timeout`] looks for transmissions it may send early: due
/// packets are gathered into fewer wake-ups of the driver (each session sends at most a
/// twentieth of its interval early, within the RFC 5880 section 6.8.7 jitter; detection and
/// reset timers never run early).
pub const TX_EARLY_MAX: core::time::Duration = core::time::Duration::from_millis(5);

/// What the driver knows about a received datagram besides its payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RxMeta {
    /// Source address and port.
    pub src: SocketAddr,
    /// The local address it was sent to (`IP_PKTINFO`), if known.
    pub dst: Option<IpAddr>,
    /// Received TTL / hop limit (`IP_RECVTTL`), if known; unknown skips the check, as
    /// keepalived does when no control message came.
    pub ttl: Option<u8>,
    /// Received on the multihop port 4784 (else the single-hop port 3784).
    pub multihop: bool,
}

/// Every session, driven by the caller's clock. See the crate documentation for the drain rule.
///
/// Costs are logarithmic in the number of sessions: sessions by handle and by discriminator in
/// ordered maps (ordered, so actions come out in the same order on every run), deadlines in a
/// heap whose outdated entries are dropped when they reach the top.
#[derive(Debug)]
pub struct Engine {
    sessions: BTreeMap<SessionId, Session>,
    by_discr: BTreeMap<u32, SessionId>,
    timers: BinaryHeap<Reverse<(Instant, SessionId)>>,
    next_id: u32,
    rng: fastrand::Rng,
    actions: VecDeque<Action>,
    stats: GlobalStats,
    /// Scratch list of [`handle_timeout`](Self::handle_timeout), kept to reuse its allocation.
    touched: Vec<SessionId>,
}

impl Engine {
    /// An engine without sessions; `seed` feeds discriminators, source ports and jitter.
    #[must_use]
    pub fn new(seed: u64) -> Engine {
        Engine {
            sessions: BTreeMap::new(),
            by_discr: BTreeMap::new(),
            timers: BinaryHeap::new(),
            next_id: 0,
            rng: fastrand::Rng::with_seed(seed),
            actions: VecDeque::new(),
            stats: GlobalStats::default(),
            touched: Vec::new(),
        }
    }

    fn parts(&mut self) -> (&mut BTreeMap<SessionId, Session>, Ctx<'_>) {
        (
            &mut self.sessions,
            Ctx {
                actions: &mut self.actions,
                rng: &mut self.rng,
            },
        )
    }

    /// Records a session's current deadline in the heap if it changed, then drops outdated
    /// entries from the top so that [`poll_timeout`](Self::poll_timeout) can peek.
    fn rearm(&mut self, id: SessionId) {
        if let Some(s) = self.sessions.get_mut(&id) {
            let t = s.poll_timeout();
            if t != s.armed {
                s.armed = t;
                if let Some(t) = t {
                    self.timers.push(Reverse((t, id)));
                }
            }
        }
        self.tidy();
    }

    fn tidy(&mut self) {
        while let Some(Reverse((t, id))) = self.timers.peek() {
            if self.sessions.get(id).is_some_and(|s| s.armed == Some(*t)) {
                break;
            }
            self.timers.pop();
        }
    }

    /// Adds and starts a session (Down; it sends at once unless passive). Refuses one whose
    /// neighbour, source and port kind another session already has (keepalived's rule).
    pub fn add_session(
        &mut self,
        now: Instant,
        cfg: SessionConfig,
    ) -> Result<SessionId, ConfigError> {
        cfg.validate()?;
        if let Some(other) = self.sessions.values().find(|s| {
            s.cfg.neighbor == cfg.neighbor
                && s.cfg.source == cfg.source
                && s.cfg.multihop == cfg.multihop
        }) {
            return Err(ConfigError::Duplicate {
                other: other.cfg.name.clone(),
            });
        }
        let discr = loop {
            let d = self.rng.u32(1..);
            if !self.by_discr.contains_key(&d) {
                break d;
            }
        };
        // RFC 5881 section 4: a source port in 49152-65535, unique among the sessions when the
        // range allows.
        let mut port = self.rng.u16(SOURCE_PORT_MIN..);
        for _ in 0..64 {
            if !self.sessions.values().any(|s| s.src_port == port) {
                break;
            }
            port = self.rng.u16(SOURCE_PORT_MIN..);
        }
        let id = SessionId(self.next_id);
        self.next_id = self.next_id.wrapping_add(1);
        let mut session = Session::new(id, cfg, discr, port);
        let mut cx = Ctx {
            actions: &mut self.actions,
            rng: &mut self.rng,
        };
        session.start(now, &mut cx);
        self.sessions.insert(id, session);
        self.by_discr.insert(discr, id);
        self.rearm(id);
        Ok(id)
    }

    /// Removes a session; an Up session first sends AdminDown once so the peer goes Down with
    /// "Neighbor Signaled Session Down" rather than waiting for its detection time.
    pub fn remove_session(&mut self, now: Instant, id: SessionId) -> Option<SessionConfig> {
        let (sessions, mut cx) = self.parts();
        let mut s = sessions.remove(&id)?;
        s.set_admin_down(now, true, &mut cx);
        self.by_discr.remove(&s.local_discr);
        self.tidy();
        Some(s.cfg)
    }

    /// Changes a session's timers, TTL, max_hops or passive flag in place (a reload): state and
    /// discriminators are kept, and an Up session renegotiates with a Poll Sequence. A new
    /// neighbour, source or port kind is refused ([`ConfigError::IdentityChanged`]).
    pub fn reconfigure(
        &mut self,
        now: Instant,
        id: SessionId,
        cfg: SessionConfig,
    ) -> Result<(), ConfigError> {
        cfg.validate()?;
        let (sessions, mut cx) = self.parts();
        let s = sessions.get_mut(&id).ok_or(ConfigError::UnknownSession)?;
        if (s.cfg.neighbor, s.cfg.source, s.cfg.multihop)
            != (cfg.neighbor, cfg.source, cfg.multihop)
        {
            return Err(ConfigError::IdentityChanged);
        }
        s.reconfigure(now, cfg, &mut cx);
        self.rearm(id);
        Ok(())
    }

    /// Holds a session in AdminDown (`true`) or releases it to Down (`false`).
    pub fn set_admin_down(&mut self, now: Instant, id: SessionId, down: bool) -> bool {
        let (sessions, mut cx) = self.parts();
        match sessions.get_mut(&id) {
            Some(s) => {
                s.set_admin_down(now, down, &mut cx);
                self.rearm(id);
                true
            }
            None => false,
        }
    }

    /// One received UDP payload. Returns the session it went to, or why it was dropped (also
    /// counted in [`stats`](Self::stats)).
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        meta: &RxMeta,
        payload: &[u8],
    ) -> Result<SessionId, RxError> {
        let r = self.receive(now, meta, payload);
        match &r {
            Ok(_) => self.stats.rx_ok = self.stats.rx_ok.saturating_add(1),
            Err(e) => self.stats.count(e),
        }
        r
    }

    fn receive(
        &mut self,
        now: Instant,
        meta: &RxMeta,
        payload: &[u8],
    ) -> Result<SessionId, RxError> {
        let repr = Repr::parse(payload)?;
        repr.check_reception()?;
        let by_discr = &self.by_discr;
        let sessions = &mut self.sessions;
        let mut cx = Ctx {
            actions: &mut self.actions,
            rng: &mut self.rng,
        };
        let session = if repr.your_discr != 0 {
            by_discr
                .get(&repr.your_discr)
                .and_then(|id| sessions.get_mut(id))
                .ok_or(RxError::UnknownDiscriminator {
                    your_discr: repr.your_discr,
                })?
        } else {
            let src = meta.src.ip();
            sessions
                .values_mut()
                .find(|s| {
                    s.cfg.neighbor == src
                        && s.cfg.multihop == meta.multihop
                        && (s.cfg.source.is_none()
                            || meta.dst.is_none()
                            || s.cfg.source == meta.dst)
                })
                .ok_or(RxError::NoSession { src })?
        };
        let verdict = Self::session_checks(session, meta, &repr);
        if let Err(e) = verdict {
            session.stats.rx_dropped = session.stats.rx_dropped.saturating_add(1);
            return Err(e);
        }
        session.handle_packet(now, &repr, &mut cx);
        let id = session.id;
        self.rearm(id);
        Ok(id)
    }

    fn session_checks(s: &Session, meta: &RxMeta, repr: &Repr) -> Result<(), RxError> {
        if s.cfg.multihop != meta.multihop {
            return Err(RxError::WrongPort);
        }
        if let (Some(ttl), Some(min)) = (meta.ttl.filter(|t| *t != 0), s.cfg.min_rx_ttl())
            && ttl < min
        {
            return Err(RxError::BadTtl { ttl, min });
        }
        if repr.auth.is_some() {
            return Err(RxError::AuthNotConfigured);
        }
        if s.state() == crate::wire::State::AdminDown {
            return Err(RxError::AdminDown);
        }
        Ok(())
    }

    /// Runs every timer due at `now`, and sends early the packets due within a session's
    /// early margin ([`TX_EARLY_MAX`] at most), so that one wake-up serves them all (spurious
    /// calls are harmless).
    pub fn handle_timeout(&mut self, now: Instant) {
        let horizon = now + TX_EARLY_MAX;
        let mut touched = core::mem::take(&mut self.touched);
        while let Some(Reverse((t, id))) = self.timers.peek().copied() {
            if t > horizon {
                break;
            }
            self.timers.pop();
            let (sessions, mut cx) = self.parts();
            if let Some(s) = sessions.get_mut(&id).filter(|s| s.armed == Some(t)) {
                s.armed = None;
                s.handle_timeout(now, &mut cx);
                touched.push(id);
            }
        }
        // Re-armed after the scan: a session looked at but not due yet goes back in the heap
        // with the same deadline, which the loop above must not see again.
        for id in touched.drain(..) {
            self.rearm(id);
        }
        self.touched = touched;
        self.tidy();
    }

    /// The next queued action. Drain until `None` after every `handle_*` and `add_*` call,
    /// executing the actions in order; then read [`poll_timeout`](Self::poll_timeout).
    #[must_use]
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next, if ever.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.peek().map(|Reverse((t, _))| *t)
    }

    /// Global receive counters.
    #[must_use]
    pub fn stats(&self) -> &GlobalStats {
        &self.stats
    }

    /// A session by handle.
    #[must_use]
    pub fn session(&self, id: SessionId) -> Option<&Session> {
        self.sessions.get(&id)
    }

    /// A session by `bfd_instance` name.
    #[must_use]
    pub fn session_by_name(&self, name: &str) -> Option<&Session> {
        self.sessions.values().find(|s| s.cfg.name == name)
    }

    /// Every session, in the order added.
    pub fn sessions(&self) -> impl Iterator<Item = &Session> {
        self.sessions.values()
    }
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
