//! One VRRP instance: the state machine of RFC 9568 §6.4 (and RFC 3768 §6.4 for v2) with
//! keepalived's additions (Fault, Stop, `state MASTER`, `preempt_delay`, `down_timer_adverts`,
//! the gratuitous ARP schedule).
//!
//! Inputs: [`Instance::handle_start`], [`Instance::handle_packet`] /
//! [`Instance::handle_datagram`], [`Instance::handle_timeout`], [`Instance::handle_event`].
//! Outputs: [`Instance::poll_action`] (drain after every input) and [`Instance::poll_timeout`]
//! (read after draining; call `handle_timeout` at that instant). Every transition goes through
//! one function, `transition`, so the state, the timers, the counters and the
//! [`Action::StateChanged`] record never disagree.
//!
//! Choices where the RFC leaves room, and why:
//! * `state MASTER` follows keepalived 2.2.7 (`vrrp_init_state`): below priority 255 it starts
//!   in Backup with the full Master_Down_Interval, exactly as `state BACKUP` does, so it never
//!   claims mastership over a live master it has not heard yet. Only the address owner becomes
//!   master at once.
//! * A master hearing a lower-priority advert (or equal priority from a lower address) sends an
//!   advert at once, as keepalived does ("forcing a new election"): after a partition heals, the
//!   lesser master steps down within one network delay instead of one advert interval.
//! * The address owner processes adverts like any master rather than dropping them (RFC 9568
//!   §7.1 lets it drop them), so two routers misconfigured as owners still elect one master.
//! * Leaving Master for Fault sends a priority-0 advert (useful when the fault comes from
//!   tracking; harmless when the link is down and the send fails).
//! * FAULT has causes ([`FaultCause`]: the interface, tracked objects, the sync group); the
//!   instance enters Fault when the first appears and leaves it only when the last is gone.
//! * A sync group member ("gated" by the engine) does not become master by itself when its
//!   Master_Down_Timer fires: it records that it wants to ([`Instance::wants_master`]), re-arms
//!   the timer, and lets the group decide (keepalived: the group goes master only when every
//!   member wants to, preferring backup to avoid thrashing).

mod ah;
mod reconfig;
mod rx;

pub use reconfig::ReconfigureError;

use core::net::IpAddr;
use core::time::Duration;
use std::collections::VecDeque;

use crate::action::Action;
use crate::config::InstanceConfig;
use crate::error::ConfigError;
use crate::state::{Event, FaultCause, FaultCauses, Reason, State};
use crate::stats::InstanceStats;
use crate::time::Instant;
use crate::timer::{Timer, TimerTable};
use crate::timing::{self, Centisecs};
use crate::wire::vrrp::{Auth, Repr};
use ah::AhCounter;

/// Priority of the address owner.
pub const PRIORITY_OWNER: u8 = 255;
/// Priority of a resigning master's advert.
pub const PRIORITY_STOP: u8 = 0;

/// A VRRP instance. See the module documentation.
#[derive(Debug, Clone)]
pub struct Instance {
    cfg: InstanceConfig,
    state: State,
    /// Effective priority (configured priority adjusted by tracking).
    priority: u8,
    /// Master_Adver_Interval: learned from the master in v3 Backup, ours otherwise.
    master_adver_int: Centisecs,
    /// The source address of the master we last accepted an advert from.
    master_addr: Option<IpAddr>,
    /// Why the instance is (or, once started, will be) in Fault; empty when it may run.
    faults: FaultCauses,
    /// A sync group member: a fired Master_Down_Timer only sets `wants_master`.
    sync_gate: bool,
    /// A gated member whose Master_Down_Timer fired without a master heard since.
    wants_master: bool,
    /// Until this instant a Backup keeps accepting a lower-priority master (`preempt_delay`).
    preempt_deadline: Option<Instant>,
    /// The reason the armed Master_Down_Timer will give when it fires.
    down_reason: Reason,
    timers: TimerTable,
    actions: VecDeque<Action>,
    stats: InstanceStats,
    /// `auth_type AH`: the sequence numbers (unused otherwise).
    ah: AhCounter,
}

impl Instance {
    /// A new instance in Initialize, after validating `cfg`.
    pub fn new(cfg: InstanceConfig) -> Result<Self, ConfigError> {
        cfg.validate()?;
        Ok(Instance {
            priority: cfg.priority,
            master_adver_int: cfg.adver_int,
            cfg,
            state: State::Initialize,
            master_addr: None,
            faults: FaultCauses::NONE,
            sync_gate: false,
            wants_master: false,
            preempt_deadline: None,
            down_reason: Reason::MasterDown,
            timers: TimerTable::default(),
            actions: VecDeque::new(),
            stats: InstanceStats::default(),
            ah: AhCounter::default(),
        })
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &InstanceConfig {
        &self.cfg
    }

    /// The current state.
    #[must_use]
    pub fn state(&self) -> State {
        self.state
    }

    /// The effective priority.
    #[must_use]
    pub fn priority(&self) -> u8 {
        self.priority
    }

    /// Master_Adver_Interval (learned from the master in v3 Backup).
    #[must_use]
    pub fn master_adver_int(&self) -> Centisecs {
        self.master_adver_int
    }

    /// The address of the master last heard (ourselves when Master).
    #[must_use]
    pub fn master_addr(&self) -> Option<IpAddr> {
        if self.state == State::Master {
            Some(self.cfg.primary_addr)
        } else {
            self.master_addr
        }
    }

    /// Skew_Time for our priority and the current Master_Adver_Interval.
    #[must_use]
    pub fn skew_time(&self) -> Duration {
        timing::skew_time(self.cfg.version, self.priority, self.master_adver_int)
    }

    /// Master_Down_Interval for our priority and the current Master_Adver_Interval.
    #[must_use]
    pub fn master_down_interval(&self) -> Duration {
        timing::master_down_interval(
            self.cfg.version,
            self.priority,
            self.master_adver_int,
            self.cfg.down_timer_adverts,
        )
    }

    /// Why the instance is in Fault (or would be once started).
    #[must_use]
    pub fn fault_causes(&self) -> FaultCauses {
        self.faults
    }

    /// For a sync group member: its Master_Down_Timer fired and no master has been heard since,
    /// so it would be master were it not for the group.
    #[must_use]
    pub fn wants_master(&self) -> bool {
        self.wants_master
    }

    /// Makes the instance a sync group member (see the module documentation) or not.
    pub(crate) fn set_sync_gate(&mut self, gated: bool) {
        self.sync_gate = gated;
        if !gated {
            self.wants_master = false;
        }
    }

    /// The group moves this member: Backup to Master or Master to Backup. Other combinations are
    /// ignored. Returns whether it moved.
    pub(crate) fn sync_to(&mut self, now: Instant, to: State) -> bool {
        match (self.state, to) {
            (State::Backup, State::Master) | (State::Master, State::Backup) => {
                self.transition(now, to, Reason::SyncGroup);
                true
            }
            _ => false,
        }
    }

    /// `auth_type AH`: the last sequence number sent or accepted (0 after start-up).
    #[must_use]
    pub fn ah_seq(&self) -> u32 {
        self.ah.seq
    }

    /// The counters.
    #[must_use]
    pub fn stats(&self) -> &InstanceStats {
        &self.stats
    }

    /// The deadline of one timer (for tests and state dumps).
    #[must_use]
    pub fn timer(&self, timer: Timer) -> Option<Instant> {
        self.timers.get(timer)
    }

    /// The next effect to carry out. Drain until `None` after every `handle_*` call.
    #[must_use]
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// Drains every pending action into `sink`, in order, then returns the next timeout.
    pub fn drain(&mut self, mut sink: impl FnMut(Action)) -> Option<Instant> {
        while let Some(action) = self.actions.pop_front() {
            sink(action);
        }
        self.poll_timeout()
    }

    /// When to call [`Instance::handle_timeout`] next. Read after draining the actions; it
    /// changes only when a `handle_*` method is called.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next_timeout()
    }

    /// Starts the instance (RFC 9568 §6.4.1 Startup event). Ignored unless in Initialize or Stop.
    pub fn handle_start(&mut self, now: Instant) {
        if !matches!(self.state, State::Initialize | State::Stop) {
            return;
        }
        self.preempt_deadline =
            (!self.cfg.preempt_delay.is_zero()).then(|| now + self.cfg.preempt_delay);
        if let Some(cause) = self.first_fault() {
            self.transition(now, State::Fault, cause.raised_reason());
        } else {
            self.enter_active(now, Reason::Startup);
        }
    }

    /// Handles every timer due at `now`. Calling it early or twice is harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.timers.expire(Timer::MasterDown, now) && self.state == State::Backup {
            // RFC 9568 §6.4.2 (510): Master_Down_Timer fires -> Master.
            if self.sync_gate {
                // The group decides; keep timing out while nobody is heard.
                self.wants_master = true;
                self.timers
                    .set(Timer::MasterDown, now + self.master_down_interval());
            } else {
                let reason = self.down_reason;
                self.transition(now, State::Master, reason);
            }
        }
        if self.timers.expire(Timer::Adver, now) && self.state == State::Master {
            // RFC 9568 §6.4.3 (830): Adver_Timer fires -> send, reset.
            self.send_advert(self.priority);
            self.timers
                .set(Timer::Adver, now + self.cfg.adver_int.as_duration());
        }
        if self.timers.expire(Timer::GarpDelay, now) && self.state == State::Master {
            self.actions.push_back(Action::SendGratuitous {
                count: self.cfg.garp.master_repeat,
            });
        }
        if self.timers.expire(Timer::GarpRefresh, now) && self.state == State::Master {
            self.actions.push_back(Action::SendGratuitous {
                count: self.cfg.garp.master_refresh_repeat,
            });
            if let Some(every) = self.cfg.garp.master_refresh {
                self.timers.set(Timer::GarpRefresh, now + every);
            }
        }
    }

    /// Handles an event from outside the protocol.
    pub fn handle_event(&mut self, now: Instant, event: Event) {
        match event {
            Event::InterfaceDown => self.raise_fault(now, FaultCause::Interface),
            Event::InterfaceUp => self.clear_fault(now, FaultCause::Interface),
            Event::FaultRaised(cause) => self.raise_fault(now, cause),
            Event::FaultCleared(cause) => self.clear_fault(now, cause),
            Event::Shutdown => {
                if !matches!(self.state, State::Initialize | State::Stop) {
                    self.transition(now, State::Stop, Reason::Shutdown);
                }
            }
            Event::PriorityChanged(p) => self.change_priority(now, p),
        }
    }

    fn first_fault(&self) -> Option<FaultCause> {
        [
            FaultCause::Interface,
            FaultCause::Tracker,
            FaultCause::SyncGroup,
        ]
        .into_iter()
        .find(|c| self.faults.contains(*c))
    }

    fn raise_fault(&mut self, now: Instant, cause: FaultCause) {
        self.faults.insert(cause);
        if matches!(self.state, State::Backup | State::Master) {
            self.transition(now, State::Fault, cause.raised_reason());
        }
    }

    fn clear_fault(&mut self, now: Instant, cause: FaultCause) {
        let had = self.faults.contains(cause);
        self.faults.remove(cause);
        if had && self.faults.is_empty() && self.state == State::Fault {
            self.enter_active(now, cause.cleared_reason());
        }
    }

    fn change_priority(&mut self, now: Instant, p: u8) {
        if self.cfg.priority == PRIORITY_OWNER {
            return;
        }
        let p = p.clamp(1, PRIORITY_OWNER - 1);
        if p == self.priority {
            return;
        }
        let from = self.priority;
        let old_down = self.master_down_interval();
        self.priority = p;
        if self.state != State::Initialize {
            // Not a change worth reporting before the instance has run.
            self.actions
                .push_back(Action::PriorityChanged { from, to: p });
        }
        match self.state {
            State::Master => {
                // Advertise the new priority at once, so backups re-evaluate now.
                self.send_advert(p);
                self.timers
                    .set(Timer::Adver, now + self.cfg.adver_int.as_duration());
            }
            State::Backup => {
                // Skew_Time depends on the priority: move the running Master_Down_Timer by the
                // difference, as keepalived does.
                if let Some(at) = self.timers.get(Timer::MasterDown) {
                    let at = at - old_down + self.master_down_interval();
                    self.timers.set(Timer::MasterDown, at.max(now));
                }
            }
            _ => {}
        }
    }

    /// Start-up or recovery from Fault: RFC 9568 §6.4.1. Only the address owner becomes master
    /// at once; every other instance, `state MASTER` included, starts in Backup with the full
    /// Master_Down_Interval (keepalived's `vrrp_init_state`), so a live master is heard first.
    fn enter_active(&mut self, now: Instant, reason: Reason) {
        self.master_adver_int = self.cfg.adver_int;
        self.master_addr = None;
        if self.cfg.priority == PRIORITY_OWNER {
            self.transition(now, State::Master, Reason::AddressOwner);
        } else {
            self.transition(now, State::Backup, reason);
        }
    }

    /// The one place state changes: timers, VIPs, counters and the record.
    fn transition(&mut self, now: Instant, to: State, reason: Reason) {
        let from = self.state;
        self.state = to;
        self.wants_master = false;
        self.timers.stop_all();
        self.actions
            .push_back(Action::StateChanged { from, to, reason });
        if from == State::Master {
            self.stats.release_master += 1;
            if matches!(to, State::Stop | State::Fault) {
                // RFC 9568 §6.4.3 (805): resign with priority 0.
                self.send_advert(PRIORITY_STOP);
            }
            self.actions.push_back(Action::DelVips);
        }
        match to {
            State::Master => {
                self.master_adver_int = self.cfg.adver_int;
                self.ah.on_master();
                self.stats.become_master += 1;
                self.stats.new_master_reason = reason.new_master_reason();
                // RFC 9568 §6.4.1 (330-345) / §6.4.2 (520-535): advert, addresses, gratuitous
                // ARP / NA, Adver_Timer.
                self.send_advert(self.priority);
                self.actions.push_back(Action::AddVips);
                self.actions.push_back(Action::SendGratuitous {
                    count: self.cfg.garp.master_repeat,
                });
                self.timers
                    .set(Timer::Adver, now + self.cfg.adver_int.as_duration());
                if let Some(delay) = self.cfg.garp.master_delay {
                    self.timers.set(Timer::GarpDelay, now + delay);
                }
                if let Some(every) = self.cfg.garp.master_refresh {
                    self.timers.set(Timer::GarpRefresh, now + every);
                }
            }
            State::Backup => {
                self.down_reason = Reason::MasterDown;
                self.timers
                    .set(Timer::MasterDown, now + self.master_down_interval());
            }
            State::Fault | State::Stop | State::Initialize => {
                self.master_addr = None;
            }
        }
    }

    /// Queues an advert with `priority` and counts it.
    fn send_advert(&mut self, priority: u8) {
        self.stats.advert_sent += 1;
        if priority == PRIORITY_STOP {
            self.stats.pri_zero_sent += 1;
        }
        let repr = Repr {
            version: self.cfg.version,
            vrid: self.cfg.vrid,
            priority,
            adver_int: self.cfg.adver_int,
            auth: self.cfg.auth,
            addrs: self.cfg.vips.clone(),
        };
        let ah = (self.cfg.auth == Auth::IpAh).then(|| self.ah.next_seal(self.cfg.ah_key));
        self.actions.push_back(Action::SendAdvert {
            repr,
            checksum: self.cfg.checksum,
            ah,
        });
    }
}

#[cfg(test)]
mod tests;
