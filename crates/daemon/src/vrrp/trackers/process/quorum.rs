//! A `vrrp_track_process`'s status from its process count: Up when
//! `quorum <= count <= quorum_max`, with `fork_delay` / `terminate_delay` holding back a change
//! caused by a fork / an exit. Pure: time is an argument.

use std::time::{Duration, Instant};

use keepalived_config::model::vrrp::TrackProcess;

/// What changed the count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cause {
    /// A process started or stopped matching by `exec` or a name change, or a rescan that
    /// cannot tell: the status follows at once.
    Immediate,
    /// A matching process forked (or a `/proc` scan found more matches): a change of status
    /// waits `fork_delay`.
    Fork,
    /// A matching process exited (or a `/proc` scan found fewer): a change of status waits
    /// `terminate_delay`.
    Exit,
}

/// The status of one tracked process set.
///
/// As keepalived: a change that a fork (or exit) would cause is reported only if it still
/// holds `fork_delay` (or `terminate_delay`) later, so a daemon that forks a short-lived
/// helper, or is restarted, does not make the instance bounce. A count back on the side of the
/// reported status cancels the pending change; other counts leave it pending (they cannot
/// hurry it). With nothing pending, a change caused by an exec or a name change is reported
/// at once.
#[derive(Clone, Debug)]
pub(crate) struct Quorum {
    min: u32,
    max: u32,
    fork_delay: Duration,
    terminate_delay: Duration,
    up: bool,
    deadline: Option<Instant>,
}

impl Quorum {
    /// The status of `tp` with `count` matching processes at start (no delay).
    pub(crate) fn new(tp: &TrackProcess, count: usize) -> Self {
        let mut q = Self {
            min: tp.quorum,
            max: tp.quorum_max.unwrap_or(u32::MAX),
            fork_delay: tp.fork_delay,
            terminate_delay: tp.terminate_delay,
            up: false,
            deadline: None,
        };
        q.up = q.in_quorum(count);
        q
    }

    /// The status last reported.
    pub(crate) fn is_up(&self) -> bool {
        self.up
    }

    fn in_quorum(&self, count: usize) -> bool {
        let count = u32::try_from(count).unwrap_or(u32::MAX);
        self.min <= count && count <= self.max
    }

    /// The count is now `count`, because of `cause`; returns the new status to report, if any.
    #[must_use]
    pub(crate) fn handle_count(
        &mut self,
        now: Instant,
        count: usize,
        cause: Cause,
    ) -> Option<bool> {
        let want = self.in_quorum(count);
        if want == self.up {
            self.deadline = None;
            return None;
        }
        if self.deadline.is_some() {
            return None;
        }
        let delay = match cause {
            Cause::Immediate => Duration::ZERO,
            Cause::Fork => self.fork_delay,
            Cause::Exit => self.terminate_delay,
        };
        if delay.is_zero() {
            self.deadline = None;
            self.up = want;
            return Some(want);
        }
        self.deadline = Some(now + delay);
        None
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next, if at all.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }

    /// A pending delay may have run out; returns the new status to report, if any.
    #[must_use]
    pub(crate) fn handle_timeout(&mut self, now: Instant, count: usize) -> Option<bool> {
        if self.deadline.is_none_or(|d| d > now) {
            return None;
        }
        self.deadline = None;
        let want = self.in_quorum(count);
        (want != self.up).then(|| {
            self.up = want;
            want
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(min: u32, max: Option<u32>, fork_ms: u64, term_ms: u64, count: usize) -> Quorum {
        Quorum::new(
            &TrackProcess {
                name: "t".into(),
                loc: keepalived_config::Loc::default(),
                process: "p".into(),
                params: Vec::new(),
                param_match: None,
                weight: 0,
                reverse: false,
                quorum: min,
                quorum_max: max,
                fork_delay: Duration::from_millis(fork_ms),
                terminate_delay: Duration::from_millis(term_ms),
                full_command: false,
            },
            count,
        )
    }

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn quorum_and_quorum_max_without_delays() {
        let t = Instant::now();
        let mut s = q(2, Some(3), 0, 0, 0);
        assert!(!s.is_up());
        assert_eq!(s.handle_count(t, 1, Cause::Immediate), None);
        assert_eq!(s.handle_count(t, 2, Cause::Fork), Some(true));
        assert_eq!(s.handle_count(t, 3, Cause::Immediate), None);
        assert_eq!(s.handle_count(t, 4, Cause::Fork), Some(false));
        assert_eq!(s.handle_count(t, 3, Cause::Exit), Some(true));
        assert_eq!(s.handle_count(t, 1, Cause::Exit), Some(false));
        assert_eq!(s.poll_timeout(), None);
        // quorum_max 0: up only when none runs.
        assert!(q(0, Some(0), 0, 0, 0).is_up());
        assert!(!q(0, Some(0), 0, 0, 1).is_up());
        assert!(q(1, None, 0, 0, usize::MAX).is_up());
    }

    #[test]
    fn terminate_delay_holds_the_down_and_a_restart_cancels_it() {
        let t = Instant::now();
        let mut s = q(1, None, 0, 500, 1);
        assert!(s.is_up());
        assert_eq!(s.handle_count(t, 0, Cause::Exit), None);
        assert_eq!(s.poll_timeout(), Some(t + 500 * MS));
        assert_eq!(s.handle_timeout(t + 499 * MS, 0), None);
        // A new process (exec) within the delay: no change, timer gone.
        assert_eq!(s.handle_count(t + 100 * MS, 1, Cause::Immediate), None);
        assert_eq!(s.poll_timeout(), None);
        assert!(s.is_up());
        // Not restarted: down when the delay runs out.
        assert_eq!(s.handle_count(t + 600 * MS, 0, Cause::Exit), None);
        assert_eq!(s.handle_timeout(t + 1100 * MS, 0), Some(false));
        assert_eq!(s.poll_timeout(), None);
        // Exec-caused changes are not delayed.
        assert_eq!(
            s.handle_count(t + 1200 * MS, 1, Cause::Immediate),
            Some(true)
        );
        assert_eq!(
            s.handle_count(t + 1300 * MS, 0, Cause::Immediate),
            Some(false)
        );
    }

    #[test]
    fn fork_delay_absorbs_a_fork_then_exec() {
        let t = Instant::now();
        let mut s = q(1, Some(1), 300, 0, 1);
        assert!(s.is_up());
        // The daemon forks a helper: 2 > quorum_max, held back.
        assert_eq!(s.handle_count(t, 2, Cause::Fork), None);
        // A second fork keeps the first deadline.
        assert_eq!(s.handle_count(t + 100 * MS, 3, Cause::Fork), None);
        assert_eq!(s.poll_timeout(), Some(t + 300 * MS));
        // The helpers exec other programs: back to 1, nothing to report (at 2 the change
        // stays pending).
        assert_eq!(s.handle_count(t + 150 * MS, 2, Cause::Immediate), None);
        assert_eq!(s.poll_timeout(), Some(t + 300 * MS));
        assert_eq!(s.handle_count(t + 160 * MS, 1, Cause::Immediate), None);
        assert_eq!(s.poll_timeout(), None);
        assert_eq!(s.handle_timeout(t + 400 * MS, 1), None);
        // A fork that stays: down after the delay.
        assert_eq!(s.handle_count(t + 500 * MS, 2, Cause::Fork), None);
        assert_eq!(s.handle_timeout(t + 800 * MS, 2), Some(false));
        // An exit back to quorum is immediate (terminate_delay 0).
        assert_eq!(s.handle_count(t + 900 * MS, 1, Cause::Exit), Some(true));
    }

    #[test]
    fn an_immediate_change_does_not_hurry_a_pending_one() {
        let t = Instant::now();
        let mut s = q(1, None, 0, 500, 2);
        assert_eq!(s.handle_count(t, 1, Cause::Exit), None);
        assert_eq!(s.handle_count(t, 0, Cause::Exit), None);
        assert!(s.poll_timeout().is_some());
        // The timeout fires at the deadline with whatever the count is then.
        assert_eq!(s.handle_timeout(t + 500 * MS, 0), Some(false));
        assert_eq!(
            s.handle_count(t + 600 * MS, 1, Cause::Immediate),
            Some(true)
        );
        assert_eq!(s.handle_count(t + 700 * MS, 0, Cause::Exit), None);
        assert_eq!(s.handle_count(t + 800 * MS, 0, Cause::Immediate), None);
        assert_eq!(s.poll_timeout(), Some(t + 1200 * MS));
        assert_eq!(s.handle_timeout(t + 1200 * MS, 0), Some(false));
        assert_eq!(s.poll_timeout(), None);
    }
}
