//! The parent's reload bookkeeping: one configuration check at a time with SIGHUPs queued
//! ([`ReloadQueue`]), and which engines have still to report the end of their reload before
//! systemd hears `READY=1` again ([`ReloadWait`]).

use std::collections::BTreeSet;
use std::time::Duration;

use tokio::time::Instant;

/// How long the parent waits for the engines to report the end of a reload before it tells
/// systemd `READY=1` anyway: a stuck engine never holds the daemon in `RELOADING` for good.
pub const RELOAD_REPORT_TIMEOUT: Duration = Duration::from_secs(20);

/// One check at a time; SIGHUPs during it are queued as one more reload (which reads the file
/// as it is then).
#[derive(Debug, Default)]
pub struct ReloadQueue {
    running: bool,
    queued: bool,
}

impl ReloadQueue {
    /// A SIGHUP arrived: whether to start a reload now (otherwise it is queued).
    pub fn request(&mut self) -> bool {
        if self.running {
            self.queued = true;
            false
        } else {
            self.running = true;
            true
        }
    }

    /// The reload in progress ended: whether to start the queued one now.
    pub fn finished(&mut self) -> bool {
        self.running = std::mem::take(&mut self.queued);
        self.running
    }

    /// Whether a check is in progress.
    pub fn busy(&self) -> bool {
        self.running
    }
}

/// The engines (by pid) that were sent SIGHUP and have not yet reported the end of their
/// reload, and when the parent stops waiting for them.
#[derive(Debug)]
pub struct ReloadWait {
    pending: BTreeSet<u32>,
    deadline: Instant,
}

impl ReloadWait {
    /// Waits for `pids` until `now` + [`RELOAD_REPORT_TIMEOUT`].
    pub fn new(pids: impl IntoIterator<Item = u32>, now: Instant) -> ReloadWait {
        ReloadWait {
            pending: pids.into_iter().collect(),
            deadline: now + RELOAD_REPORT_TIMEOUT,
        }
    }

    /// Engine `pid` reported the end of its reload, or went away: it is no longer waited for.
    pub fn done(&mut self, pid: u32) {
        self.pending.remove(&pid);
    }

    /// Whether every engine has reported.
    pub fn complete(&self) -> bool {
        self.pending.is_empty()
    }

    /// When the parent stops waiting.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// The engines still waited for.
    pub fn pending(&self) -> impl Iterator<Item = u32> + '_ {
        self.pending.iter().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reloads_during_a_reload_are_queued_as_one() {
        let mut q = ReloadQueue::default();
        assert!(q.request());
        assert!(q.busy());
        assert!(!q.request());
        assert!(!q.request());
        // The queued one starts when the first ends; nothing after it.
        assert!(q.finished());
        assert!(!q.finished());
        assert!(!q.busy());
        assert!(q.request());
        assert!(!q.finished());
        assert!(q.request());
    }

    #[test]
    fn a_reload_is_complete_once_every_engine_reported_or_left() {
        let now = Instant::now();
        let mut w = ReloadWait::new([10, 20], now);
        assert!(!w.complete());
        assert_eq!(w.deadline(), now + RELOAD_REPORT_TIMEOUT);
        w.done(10);
        // A report from a pid not waited for changes nothing.
        w.done(30);
        assert_eq!(w.pending().collect::<Vec<_>>(), [20]);
        w.done(20);
        assert!(w.complete());
        assert!(ReloadWait::new([], now).complete());
    }
}
