//! The invariants an instance keeps after every drain, whatever the inputs.

use core::net::IpAddr;

use keepalived_vrrp::timer::Timer;
use keepalived_vrrp::{Action, Centisecs, Instance, Instant, Repr, State};

use super::{MCAST_V4, MCAST_V6};

/// Which kind of input the actions answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input {
    /// `handle_timeout`.
    Timeout,
    /// A received message.
    Rx,
    /// Start-up or an event.
    Other,
}

/// Follows one instance's actions and checks them against its state.
#[derive(Clone, Debug)]
pub struct Checker {
    state: State,
    vips_held: bool,
    last_now: Instant,
    /// `poll_timeout` after the previous input.
    last_timeout: Option<Instant>,
}

impl Default for Checker {
    fn default() -> Self {
        Self::new()
    }
}

impl Checker {
    /// A checker for an instance in Initialize.
    pub fn new() -> Self {
        Checker {
            state: State::Initialize,
            vips_held: false,
            last_now: Instant::ZERO,
            last_timeout: None,
        }
    }

    /// Checks the `actions` drained after `input` at `now`, then the instance's state and timers.
    ///
    /// * State changes chain (`from` is the previous `to`); addresses are added only on
    ///   entering Master and held exactly while Master; adverts with a non-zero priority and
    ///   gratuitous bursts come only from a master, priority-0 adverts only on leaving Master for
    ///   Fault or Stop; every advert emits and parses back unchanged.
    /// * Master_Down_Timer is armed exactly in Backup, Adver_Timer exactly in Master, nothing
    ///   outside Backup and Master.
    /// * `poll_timeout` is never before `now`, and after `handle_timeout(now)` or a received
    ///   advert strictly after it, unless it was already due (a driver would otherwise spin; an
    ///   advert never makes a backup take over at once). Only `state MASTER`'s start-up timer
    ///   is due at once.
    /// * `become_master - release_master` is 1 in Master, 0 otherwise.
    pub fn check(
        &mut self,
        inst: &Instance,
        actions: &[Action],
        now: Instant,
        input: Input,
    ) -> Result<(), String> {
        if now < self.last_now {
            return Err(format!("time went backwards: {} < {}", now, self.last_now));
        }
        self.last_now = now;
        for a in actions {
            self.action(inst, a)?;
        }
        let state = inst.state();
        if state != self.state {
            return Err(format!(
                "state {state} without a StateChanged (last seen {})",
                self.state
            ));
        }
        if self.vips_held != (state == State::Master) {
            return Err(format!("{state} with VIPs held = {}", self.vips_held));
        }
        let armed = |t| inst.timer(t).is_some();
        if armed(Timer::MasterDown) != (state == State::Backup) {
            return Err(format!(
                "{state} with Master_Down_Timer {:?}",
                inst.timer(Timer::MasterDown)
            ));
        }
        if armed(Timer::Adver) != (state == State::Master) {
            return Err(format!(
                "{state} with Adver_Timer {:?}",
                inst.timer(Timer::Adver)
            ));
        }
        if state != State::Master && (armed(Timer::GarpDelay) || armed(Timer::GarpRefresh)) {
            return Err(format!("{state} with a gratuitous ARP timer armed"));
        }
        if let Some(t) = inst.timer(Timer::Adver) {
            let int = inst.config().adver_int.as_duration();
            if t > now + int {
                return Err(format!("Adver_Timer {t} beyond now + advert_int {int:?}"));
            }
        }
        let timeout = inst.poll_timeout();
        let was_due = self.last_timeout == Some(now);
        self.last_timeout = timeout;
        match timeout {
            Some(t) if t < now => return Err(format!("poll_timeout {t} in the past")),
            Some(t) if input == Input::Timeout && t == now => {
                return Err(format!("poll_timeout {t} still due after handle_timeout"));
            }
            Some(t) if input == Input::Rx && t == now && !was_due => {
                return Err(format!(
                    "poll_timeout {t} due at once after a received advert"
                ));
            }
            _ => {}
        }
        let s = inst.stats();
        let held = s.become_master.checked_sub(s.release_master);
        if held != Some(u64::from(state == State::Master)) {
            return Err(format!(
                "{state} with become_master {} and release_master {}",
                s.become_master, s.release_master
            ));
        }
        Ok(())
    }

    fn action(&mut self, inst: &Instance, a: &Action) -> Result<(), String> {
        match a {
            Action::StateChanged { from, to, .. } => {
                if *from != self.state {
                    return Err(format!("StateChanged from {from}, but was {}", self.state));
                }
                if from == to {
                    return Err(format!("StateChanged {from} -> {to}"));
                }
                self.state = *to;
            }
            Action::AddVips => {
                if self.vips_held || self.state != State::Master {
                    return Err(format!(
                        "AddVips in {} (held {})",
                        self.state, self.vips_held
                    ));
                }
                self.vips_held = true;
            }
            Action::DelVips => {
                if !self.vips_held || self.state == State::Master {
                    return Err(format!(
                        "DelVips in {} (held {})",
                        self.state, self.vips_held
                    ));
                }
                self.vips_held = false;
            }
            Action::SendGratuitous { .. } if self.state != State::Master => {
                return Err(format!("gratuitous ARP in {}", self.state));
            }
            Action::SendAdvert { repr, checksum, .. } => {
                let ok_state = if repr.priority == 0 {
                    matches!(self.state, State::Fault | State::Stop) && self.vips_held
                } else {
                    self.state == State::Master && repr.priority == inst.priority()
                };
                if !ok_state {
                    return Err(format!(
                        "advert with priority {} in {}",
                        repr.priority, self.state
                    ));
                }
                let cfg = inst.config();
                if repr.vrid != cfg.vrid
                    || repr.version != cfg.version
                    || repr.addrs != cfg.vips
                    || repr.adver_int != cfg.adver_int
                {
                    return Err(format!("advert does not match the configuration: {repr:?}"));
                }
                let src = cfg.primary_addr;
                let dst: IpAddr = match src {
                    IpAddr::V4(_) => MCAST_V4.into(),
                    IpAddr::V6(_) => MCAST_V6.into(),
                };
                let bytes = repr
                    .to_bytes(src, dst, *checksum)
                    .map_err(|e| format!("advert does not emit: {e}"))?;
                let back = Repr::parse_bytes(&bytes, src, dst, *checksum)
                    .map_err(|e| format!("own advert does not parse: {e}"))?;
                if back != *repr {
                    return Err(format!("advert changes through the codec: {back:?}"));
                }
            }
            Action::Warning(_) => {}
            #[allow(unreachable_patterns)]
            _ => {}
        }
        Ok(())
    }
}
