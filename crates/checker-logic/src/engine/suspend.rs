//! `ha_suspend`: a virtual server's checks pause while its address is not on this host.

use super::CheckerEngine;
use crate::plan::CheckId;
use crate::time::Instant;

impl CheckerEngine {
    /// Suspends (`true`) or resumes the checks of virtual server `vs` (configuration index)
    /// at `now`. A check shared with a virtual server that is not suspended keeps running. A
    /// suspended check's attempt in flight finishes and counts; its next run waits. On resume,
    /// each check that came due meanwhile runs at once; the others keep their schedule. The
    /// real servers keep their state meanwhile (no events). Cleared by a
    /// [`reload`](Self::reload): set it again for the new configuration.
    pub fn set_suspended(&mut self, now: Instant, vs: usize, suspended: bool) {
        if self.suspended.len() < self.vss.len() {
            self.suspended.resize(self.vss.len(), false);
        }
        let Some(slot) = self.suspended.get_mut(vs) else {
            return;
        };
        if *slot == suspended {
            return;
        }
        *slot = suspended;
        if suspended {
            return;
        }
        self.unpark(now);
    }

    /// Whether virtual server `vs` is suspended.
    pub fn is_vs_suspended(&self, vs: usize) -> bool {
        self.suspended.get(vs).copied().unwrap_or(false)
    }

    /// Schedules at `now` every parked check that may run again.
    pub(super) fn unpark(&mut self, now: Instant) {
        for i in 0..self.checks.len() {
            let id = CheckId(i);
            let parked = self.checks.get(i).is_some_and(|c| c.parked);
            if parked && !self.is_suspended(id) {
                if let Some(st) = self.checks.get_mut(i) {
                    st.parked = false;
                }
                self.schedule(id, now);
            }
        }
    }

    /// A check is suspended when every real server depending on it belongs to a suspended
    /// virtual server.
    pub(super) fn is_suspended(&self, id: CheckId) -> bool {
        if !self.suspended.iter().any(|s| *s) {
            return false;
        }
        let Some(spec) = self.plan.checks.get(id.0) else {
            return false;
        };
        spec.dependents.iter().all(|rs| {
            self.plan
                .servers
                .get(rs.0)
                .is_some_and(|s| self.is_vs_suspended(s.vs))
        })
    }
}
