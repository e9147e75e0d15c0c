//! Reconfiguring a running instance in place (a reload that changed its parameters but not its
//! identity): the state, the timers and the counters are kept, and each change takes effect the
//! way keepalived applies it on reload.

use super::{Instance, PRIORITY_OWNER};
use crate::config::InstanceConfig;
use crate::error::ConfigError;
use crate::state::State;
use crate::time::Instant;
use crate::timer::Timer;
use crate::timing::Version;

/// Why an instance cannot take a new configuration in place.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReconfigureError {
    /// The new configuration is invalid.
    Config(ConfigError),
    /// The VRID, family, version or address ownership (priority 255) differs: it is another
    /// virtual router, to be removed and added instead.
    Identity,
}

impl core::fmt::Display for ReconfigureError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ReconfigureError::Config(e) => e.fmt(f),
            ReconfigureError::Identity => {
                f.write_str("VRID, family, version or address ownership changed")
            }
        }
    }
}

impl std::error::Error for ReconfigureError {}

impl InstanceConfig {
    /// Whether an instance running `self` can take `other` in place: same VRID, family and
    /// version, and both or neither the address owner.
    #[must_use]
    pub fn same_identity(&self, other: &InstanceConfig) -> bool {
        self.vrid == other.vrid
            && self.family() == other.family()
            && self.version == other.version
            && (self.priority == PRIORITY_OWNER) == (other.priority == PRIORITY_OWNER)
    }
}

impl Instance {
    /// Takes `cfg` without leaving the current state. A master keeps its Adver_Timer unless the
    /// new interval ends sooner; a backup moves its Master_Down_Timer by the change of
    /// Master_Down_Interval (as for a priority change); the gratuitous ARP refresh is re-armed
    /// or stopped. Addresses, authentication and the other options apply from the next advert
    /// sent or received. The configured priority is not applied here: the effective priority
    /// depends on tracking, so the caller (the engine) gives it as a priority change.
    ///
    /// # Errors
    /// `cfg` is invalid or is another virtual router ([`ReconfigureError::Identity`]); the
    /// instance is unchanged.
    pub fn reconfigure(
        &mut self,
        now: Instant,
        cfg: InstanceConfig,
    ) -> Result<(), ReconfigureError> {
        cfg.validate().map_err(ReconfigureError::Config)?;
        if !self.cfg.same_identity(&cfg) {
            return Err(ReconfigureError::Identity);
        }
        let old_down = self.master_down_interval();
        let old_refresh = self.cfg.garp.master_refresh;
        self.cfg = cfg;
        match self.state {
            State::Master => {
                self.master_adver_int = self.cfg.adver_int;
                let next = now + self.cfg.adver_int.as_duration();
                if self.timers.get(Timer::Adver).is_none_or(|at| at > next) {
                    self.timers.set(Timer::Adver, next);
                }
                if self.cfg.garp.master_refresh != old_refresh {
                    match self.cfg.garp.master_refresh {
                        Some(every) => self.timers.set(Timer::GarpRefresh, now + every),
                        None => self.timers.stop(Timer::GarpRefresh),
                    }
                }
            }
            State::Backup => {
                // v3 backups keep the interval learned from the master; v2 has only ours.
                if self.cfg.version == Version::V2 {
                    self.master_adver_int = self.cfg.adver_int;
                }
                if let Some(at) = self.timers.get(Timer::MasterDown) {
                    let at = at - old_down + self.master_down_interval();
                    self.timers.set(Timer::MasterDown, at.max(now));
                }
            }
            State::Fault | State::Stop | State::Initialize => {
                self.master_adver_int = self.cfg.adver_int;
            }
        }
        Ok(())
    }
}
