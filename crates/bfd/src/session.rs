//! One BFD session's state machine (RFC 5880 section 6.8): states, discriminators, negotiated
//! intervals, Poll/Final, the transmit, detection and reset timers.
//!
//! Behaviour follows keepalived 2.2.7's `bfd_scheduler.c` where the RFC leaves room: the
//! Desired Min TX sent is `idle_tx` until Up and `min_tx` once Up, a Poll Sequence starts on
//! entering Up when the two differ, intervals are renegotiated on a P or F bit or while not Up,
//! and a Down session forgets its peer (discriminator, state) one detection time after it went
//! Down. Where keepalived departs from the RFC this follows the RFC: the jitter is 0-25 % (10-25 %
//! only with a multiplier of 1; up to a fifth of it, at most [`TX_EARLY_MAX`], is taken by
//! sending early so that packets due close together share one wake-up), the detection timer restarts on every valid packet in Init as
//! well as Up, a peer's Required Min RX of 0 stops periodic transmission, and the local
//! discriminator is kept for the session's life (keepalived draws a new one on leaving Up, which
//! makes the peer's packets unknown until it times out).

use core::net::SocketAddr;
use core::time::Duration;
use std::collections::VecDeque;

use keepalived_clock::Instant;

use crate::action::{Action, Level, Log, SessionId, StateChange, Transmit};
use crate::config::SessionConfig;
use crate::engine::TX_EARLY_MAX;
use crate::stats::SessionStats;
use crate::wire::{Diag, Repr, State};

/// What a session hands back to the engine: the action queue and the seeded RNG.
pub(crate) struct Ctx<'a> {
    pub actions: &'a mut VecDeque<Action>,
    pub rng: &'a mut fastrand::Rng,
}

/// A read-only view of a session for dumps and tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionSnapshot {
    /// bfd.SessionState.
    pub state: State,
    /// bfd.RemoteSessionState.
    pub remote_state: State,
    /// bfd.LocalDiag.
    pub local_diag: Diag,
    /// The peer's last diagnostic.
    pub remote_diag: Diag,
    /// bfd.LocalDiscr.
    pub local_discr: u32,
    /// bfd.RemoteDiscr (0 when unknown).
    pub remote_discr: u32,
    /// The interval between our packets before jitter, µs.
    pub tx_interval_us: u32,
    /// The interval we expect between the peer's packets, µs.
    pub rx_interval_us: u32,
    /// Detection time: remote multiplier × rx interval, µs.
    pub detect_time_us: u64,
    /// The peer's Required Min RX, µs.
    pub remote_min_rx_us: u32,
    /// The peer's Desired Min TX, µs.
    pub remote_min_tx_us: u32,
    /// The peer's Detect Mult.
    pub remote_detect_mult: u8,
    /// A Poll Sequence is in progress.
    pub polling: bool,
    /// Counters.
    pub stats: SessionStats,
}

/// One session. Owned and driven by [`crate::Engine`].
#[derive(Debug)]
pub struct Session {
    pub(crate) id: SessionId,
    pub(crate) cfg: SessionConfig,
    pub(crate) local_discr: u32,
    pub(crate) src_port: u16,
    state: State,
    remote_state: State,
    remote_discr: u32,
    local_diag: Diag,
    remote_diag: Diag,
    remote_min_rx_us: u32,
    remote_min_tx_us: u32,
    remote_detect_mult: u8,
    remote_demand: bool,
    poll: bool,
    pending_final: bool,
    tx_interval_us: u32,
    rx_interval_us: u32,
    detect_time_us: u64,
    next_tx: Option<Instant>,
    detect_at: Option<Instant>,
    reset_at: Option<Instant>,
    admin_tx_until: Option<Instant>,
    last_rx: Option<Instant>,
    /// The deadline the engine's timer heap holds for this session.
    pub(crate) armed: Option<Instant>,
    /// The verdict trackers last heard (`None` before the first report).
    reported_up: Option<bool>,
    pub(crate) stats: SessionStats,
}

fn us(v: u64) -> Duration {
    Duration::from_micros(v)
}

impl Session {
    pub(crate) fn new(id: SessionId, cfg: SessionConfig, local_discr: u32, src_port: u16) -> Self {
        let idle = cfg.idle_tx_us;
        Session {
            id,
            cfg,
            local_discr,
            src_port,
            state: State::Down,
            remote_state: State::Down,
            remote_discr: 0,
            local_diag: Diag::None,
            remote_diag: Diag::None,
            remote_min_rx_us: 1,
            remote_min_tx_us: 0,
            remote_detect_mult: 0,
            remote_demand: false,
            poll: false,
            pending_final: false,
            tx_interval_us: idle,
            rx_interval_us: 0,
            detect_time_us: 0,
            next_tx: None,
            detect_at: None,
            reset_at: None,
            admin_tx_until: None,
            last_rx: None,
            reported_up: None,
            armed: None,
            stats: SessionStats::default(),
        }
    }

    /// The session's handle.
    #[must_use]
    pub fn id(&self) -> SessionId {
        self.id
    }

    /// Its configuration.
    #[must_use]
    pub fn config(&self) -> &SessionConfig {
        &self.cfg
    }

    /// bfd.SessionState.
    #[must_use]
    pub fn state(&self) -> State {
        self.state
    }

    /// The source port the session sends from.
    #[must_use]
    pub fn src_port(&self) -> u16 {
        self.src_port
    }

    /// A copy of the session's variables and counters.
    #[must_use]
    pub fn snapshot(&self) -> SessionSnapshot {
        SessionSnapshot {
            state: self.state,
            remote_state: self.remote_state,
            local_diag: self.local_diag,
            remote_diag: self.remote_diag,
            local_discr: self.local_discr,
            remote_discr: self.remote_discr,
            tx_interval_us: self.tx_interval_us,
            rx_interval_us: self.rx_interval_us,
            detect_time_us: self.detect_time_us,
            remote_min_rx_us: self.remote_min_rx_us,
            remote_min_tx_us: self.remote_min_tx_us,
            remote_detect_mult: self.remote_detect_mult,
            polling: self.poll,
            stats: self.stats,
        }
    }

    /// The earliest of the session's timers.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        [self.next_tx, self.detect_at, self.reset_at]
            .into_iter()
            .flatten()
            .min()
    }

    fn log(&self, cx: &mut Ctx<'_>, level: Level, text: String) {
        cx.actions.push_back(Action::Log(Log { level, text }));
    }

    /// Tells trackers the verdict, unless they already have it (an Up after a peer's AdminDown,
    /// which was not reported, is not repeated).
    fn report(&mut self, cx: &mut Ctx<'_>) {
        let up = self.state == State::Up;
        if self.reported_up == Some(up) {
            return;
        }
        self.reported_up = Some(up);
        cx.actions.push_back(Action::State(StateChange {
            session: self.id,
            name: self.cfg.name.clone(),
            up: self.state == State::Up,
            state: self.state,
            diag: self.local_diag,
        }));
    }

    /// Starts the session in Down: reports Down (so trackers start down, as keepalived's
    /// start-up event does) and, unless passive, sends at once.
    pub(crate) fn start(&mut self, now: Instant, cx: &mut Ctx<'_>) {
        self.report(cx);
        if !self.cfg.passive {
            self.send(now, cx);
            self.schedule_tx(now, cx);
        }
    }

    /// Whether periodic transmission runs now (RFC 5880 section 6.8.7, keepalived's passive).
    fn periodic_allowed(&self, now: Instant) -> bool {
        match self.state {
            State::AdminDown => self.admin_tx_until.is_some_and(|t| now < t),
            State::Down if self.cfg.passive => false,
            _ => {
                self.remote_min_rx_us != 0
                    && !(self.remote_demand
                        && self.state == State::Up
                        && self.remote_state == State::Up)
            }
        }
    }

    /// How much earlier than its scheduled time a transmission may go when the engine
    /// coalesces timers ([`TX_EARLY_MAX`] at most, a fifth of the allowed jitter).
    fn tx_early(&self) -> Duration {
        us(u64::from(self.tx_interval_us / 20)).min(TX_EARLY_MAX)
    }

    fn jittered(&self, cx: &mut Ctx<'_>) -> Duration {
        let interval = self.tx_interval_us;
        // RFC 5880 section 6.8.7: reduce by 0-25 % (with DetectMult 1, by 10-25 %). The random
        // part stops short of 25 % by what `tx_early` may still take off when the engine sends
        // a packet early to share a wake-up with others.
        let low = if self.cfg.multiplier == 1 {
            interval / 10
        } else {
            0
        };
        let early = u32::try_from(self.tx_early().as_micros()).unwrap_or(0);
        let high = (interval / 4).saturating_sub(early).max(low);
        let jitter = cx.rng.u32(low..=high);
        us(u64::from(interval.saturating_sub(jitter).max(1)))
    }

    fn schedule_tx(&mut self, now: Instant, cx: &mut Ctx<'_>) {
        self.next_tx = if self.periodic_allowed(now) {
            Some(now + self.jittered(cx))
        } else {
            None
        };
    }

    fn desired_min_tx_us(&self) -> u32 {
        if self.state == State::Up {
            self.cfg.min_tx_us
        } else {
            self.cfg.idle_tx_us
        }
    }

    fn send(&mut self, _now: Instant, cx: &mut Ctx<'_>) {
        // keepalived: a Final answering a Poll carries our new parameters too, which ends our
        // own Poll Sequence (RFC 5880 section 6.8.3 allows it).
        if self.poll && self.pending_final {
            self.poll = false;
        }
        let repr = Repr {
            diag: self.local_diag,
            state: self.state,
            poll: self.poll,
            fin: self.pending_final,
            cpi: false,
            demand: false,
            multipoint: false,
            detect_mult: self.cfg.multiplier,
            my_discr: self.local_discr,
            your_discr: self.remote_discr,
            desired_min_tx_us: self.desired_min_tx_us(),
            required_min_rx_us: self.cfg.min_rx_us,
            required_min_echo_rx_us: 0,
            auth: None,
        };
        self.pending_final = false;
        self.stats.tx = self.stats.tx.saturating_add(1);
        cx.actions.push_back(Action::Send(Transmit {
            session: self.id,
            src: self.cfg.source,
            src_port: self.src_port,
            dst: SocketAddr::new(self.cfg.neighbor, self.cfg.port()),
            ttl: self.cfg.ttl,
            payload: repr.to_bytes(),
        }));
    }

    fn idle_tx_interval(&mut self) {
        self.tx_interval_us = self.cfg.idle_tx_us.max(self.remote_min_rx_us);
    }

    fn start_poll(&mut self, cx: &mut Ctx<'_>) {
        self.log(
            cx,
            Level::Debug,
            format!("({}) Starting poll sequence", self.cfg.name),
        );
        if !self.pending_final {
            self.poll = true;
            self.stats.polls = self.stats.polls.saturating_add(1);
        }
    }

    /// A valid packet for this session (the engine has done every check of section 6.8.6 that
    /// does not depend on the state machine).
    pub(crate) fn handle_packet(&mut self, now: Instant, p: &Repr, cx: &mut Ctx<'_>) {
        self.stats.rx = self.stats.rx.saturating_add(1);
        let old_tx = self.tx_interval_us;
        let old_detect = self.detect_time_us;

        self.remote_discr = p.my_discr;
        self.remote_state = p.state;
        self.remote_diag = p.diag;
        self.remote_min_rx_us = p.required_min_rx_us;
        self.remote_min_tx_us = p.desired_min_tx_us;
        self.remote_demand = p.demand;
        self.remote_detect_mult = p.detect_mult;
        if p.fin {
            self.poll = false;
        }

        // Renegotiate on P or F, or whenever not Up (keepalived's rule; RFC 5880 6.8.3).
        if self.state != State::Up || p.poll || p.fin {
            if self.remote_state == State::Up && matches!(self.state, State::Init | State::Up) {
                self.tx_interval_us = self.cfg.min_tx_us.max(self.remote_min_rx_us);
            } else {
                self.idle_tx_interval();
            }
            self.rx_interval_us = self.cfg.min_rx_us.max(self.remote_min_tx_us);
        }
        // RFC 5880 6.8.4: the remote multiplier times the agreed receive interval.
        self.detect_time_us =
            u64::from(self.remote_detect_mult).saturating_mul(u64::from(self.rx_interval_us));
        if self.detect_time_us != old_detect {
            let pad = " ".repeat(self.cfg.name.len() + 2);
            self.log(
                cx,
                Level::Info,
                format!(
                    "{pad} Detection time is {} us (was {old_detect} us)",
                    self.detect_time_us
                ),
            );
        }

        // The state machine (RFC 5880 6.8.6, the table at its end).
        match (self.state, self.remote_state) {
            (State::Init | State::Up, State::AdminDown) => {
                self.enter_down(now, Diag::NeighborSignaledDown, cx);
            }
            (State::Down, State::Down) => self.enter_init(now, cx),
            (State::Down, State::Init) | (State::Init, State::Init | State::Up) => {
                self.enter_up(now, cx);
            }
            (State::Up, State::Down) => self.enter_down(now, Diag::NeighborSignaledDown, cx),
            _ => {}
        }

        // A shorter interval takes effect now rather than after the packet already scheduled.
        if self.tx_interval_us < old_tx && self.next_tx.is_some() {
            self.schedule_tx(now, cx);
        }
        if !self.periodic_allowed(now) {
            self.next_tx = None;
        } else if self.next_tx.is_none() {
            self.schedule_tx(now, cx);
        }
        if p.poll {
            // RFC 5880 6.8.6: answer a Poll with a Final at once, outside the periodic timing.
            self.pending_final = true;
            self.send(now, cx);
        }
        self.last_rx = Some(now);
        if matches!(self.state, State::Init | State::Up) {
            self.detect_at = Some(now + us(self.detect_time_us));
        }
    }

    fn enter_down(&mut self, now: Instant, diag: Diag, cx: &mut Ctx<'_>) {
        let was_up = self.state == State::Up;
        if was_up {
            self.log(
                cx,
                Level::Warning,
                format!(
                    "({}) Entering Down state (Local diagnostic - {}, Remote diagnostic - {})",
                    self.cfg.name,
                    diag.text(),
                    self.remote_diag.text()
                ),
            );
            self.stats.down = self.stats.down.saturating_add(1);
        }
        self.state = State::Down;
        self.local_diag = diag;
        self.reset_at = Some(now + us(self.detect_time_us));
        self.detect_at = None;
        // RFC 5880 6.8.3: while not Up, Desired Min TX is at least one second (idle_tx).
        self.idle_tx_interval();
        if self.cfg.passive {
            self.next_tx = None;
        }
        // keepalived tells its trackers nothing when the peer went AdminDown (RFC 5882 3.2:
        // an AdminDown peer is not a failed path).
        if was_up && self.remote_state != State::AdminDown {
            self.report(cx);
        }
    }

    fn rise(&mut self, now: Instant) {
        self.local_diag = Diag::None;
        self.reset_at = None;
        if self.detect_at.is_none() {
            self.detect_at = Some(now + us(self.detect_time_us));
        }
    }

    fn enter_init(&mut self, now: Instant, cx: &mut Ctx<'_>) {
        self.state = State::Init;
        self.rise(now);
        if self.cfg.passive && self.next_tx.is_none() {
            self.schedule_tx(now, cx);
        }
    }

    fn enter_up(&mut self, now: Instant, cx: &mut Ctx<'_>) {
        self.state = State::Up;
        self.rise(now);
        self.stats.up = self.stats.up.saturating_add(1);
        self.log(
            cx,
            Level::Info,
            format!("({}) Entering Up state", self.cfg.name),
        );
        if self.cfg.idle_tx_us != self.cfg.min_tx_us {
            self.start_poll(cx);
        }
        self.report(cx);
    }

    /// Runs every timer due at `now`, and the transmit timer if it is due within
    /// [`tx_early`](Self::tx_early) of `now`. Spurious calls are harmless.
    pub(crate) fn handle_timeout(&mut self, now: Instant, cx: &mut Ctx<'_>) {
        if self.detect_at.is_some_and(|t| t <= now) {
            self.detect_at = None;
            self.expire(now, cx);
        }
        if self.reset_at.is_some_and(|t| t <= now) {
            self.reset_at = None;
            // keepalived's bfd_reset_thread: forget the peer once it has been silent a detection
            // time in Down (RFC 5880 6.8.1, bfd.RemoteDiscr).
            self.remote_state = State::Down;
            self.remote_discr = 0;
            self.remote_diag = Diag::None;
            self.remote_demand = false;
            self.poll = false;
            self.pending_final = false;
            self.idle_tx_interval();
        }
        if self.next_tx.is_some_and(|t| t <= now + self.tx_early()) {
            self.next_tx = None;
            if self.periodic_allowed(now) {
                self.send(now, cx);
            }
            self.schedule_tx(now, cx);
        }
    }

    fn expire(&mut self, now: Instant, cx: &mut Ctx<'_>) {
        self.stats.expired = self.stats.expired.saturating_add(1);
        if self.state == State::Up {
            let dead = self
                .last_rx
                .map_or(Duration::ZERO, |t| now.saturating_duration_since(t));
            let dead_us = u64::try_from(dead.as_micros()).unwrap_or(u64::MAX);
            self.log(
                cx,
                Level::Warning,
                format!(
                    "({}) Expired after {} ms ({} usec overdue)",
                    self.cfg.name,
                    dead_us / 1000,
                    dead_us.saturating_sub(self.detect_time_us)
                ),
            );
        }
        self.remote_discr = 0;
        self.enter_down(now, Diag::ControlDetectionTimeExpired, cx);
    }

    /// Applies a new configuration with the same neighbour, source and port kind (the engine
    /// checks). A change of min_tx, min_rx, idle_tx or multiplier while Up starts a Poll
    /// Sequence; the new intervals take effect when the peer's Final arrives (RFC 5880 6.8.3).
    pub(crate) fn reconfigure(&mut self, now: Instant, cfg: SessionConfig, cx: &mut Ctx<'_>) {
        let timers_changed = (cfg.min_tx_us, cfg.min_rx_us, cfg.idle_tx_us, cfg.multiplier)
            != (
                self.cfg.min_tx_us,
                self.cfg.min_rx_us,
                self.cfg.idle_tx_us,
                self.cfg.multiplier,
            );
        self.cfg = cfg;
        match self.state {
            State::Up if timers_changed => self.start_poll(cx),
            State::Down | State::Init => {
                self.idle_tx_interval();
                if self.state == State::Down && self.cfg.passive {
                    self.next_tx = None;
                } else if self.next_tx.is_none() {
                    self.schedule_tx(now, cx);
                }
            }
            _ => {}
        }
    }

    /// Takes the session administratively down (`down`) or back to Down (`!down`). Going down
    /// sends AdminDown for one detection time (RFC 5880 6.8.16) and reports Down if it was Up.
    pub(crate) fn set_admin_down(&mut self, now: Instant, down: bool, cx: &mut Ctx<'_>) {
        if down == (self.state == State::AdminDown) {
            return;
        }
        if down {
            let was_up = self.state == State::Up;
            self.state = State::AdminDown;
            self.local_diag = Diag::AdministrativelyDown;
            self.detect_at = None;
            self.reset_at = None;
            self.log(
                cx,
                Level::Warning,
                format!("({}) Entering AdminDown state", self.cfg.name),
            );
            let hold = self
                .detect_time_us
                .max(u64::from(self.tx_interval_us))
                .max(1);
            self.admin_tx_until = Some(now + us(hold));
            self.send(now, cx);
            self.schedule_tx(now, cx);
            if was_up {
                self.report(cx);
            }
        } else {
            self.admin_tx_until = None;
            self.state = State::Down;
            self.local_diag = Diag::None;
            self.idle_tx_interval();
            self.next_tx = None;
            if !self.cfg.passive {
                self.send(now, cx);
                self.schedule_tx(now, cx);
            }
        }
    }
}
