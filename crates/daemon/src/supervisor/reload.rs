//! The parent's reloads: one configuration check at a time with SIGHUPs queued
//! ([`ReloadQueue`]); a valid configuration passed on to the engines (SIGHUP), the engines it
//! no longer needs stopped, those it needs started; and which engines have still to report the
//! end of their reload before systemd hears `READY=1` again ([`ReloadWait`]).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use keepalived_ctl::proto::ReloadOutcome;
use sd_notify::NotifyState;
use tokio::time::Instant;
use tracing::{error, info, warn};

use super::wanted;
use crate::services::cli::Engine;
use crate::services::load::Loaded;
use crate::services::loader::{self, Source};
use crate::services::{netns, ready};

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

/// The reload side of the parent's loop.
impl super::Supervisor<'_> {
    /// Reads and checks the configuration again, off the main loop.
    pub(super) fn start_reload(&self) -> tokio::task::JoinHandle<Result<Loaded, Vec<String>>> {
        info!("Reload requested: checking the configuration");
        ready::notify_reloading();
        let source = Source {
            path: self.cli.use_file.clone(),
            opts: self.opts.clone(),
        };
        // On a nice-19 thread, as the engines read it: never competing with an advert.
        tokio::spawn(async move {
            match loader::load_in_background(&source).await {
                Ok(checked) => checked.map_err(|refused| refused.lines),
                Err(e) => Err(vec![e]),
            }
        })
    }

    /// Applies a checked reload: SIGHUP to the engines, the engines the new configuration needs
    /// started; on errors, only logs them.
    pub(super) fn finish_reload(
        &mut self,
        done: Result<Result<Loaded, Vec<String>>, tokio::task::JoinError>,
    ) {
        let mut errors = Vec::new();
        match done {
            Ok(Ok(checked))
                if !netns::unchangeable(
                    self.cli,
                    &self.checked.config.global,
                    &checked.config.global,
                )
                .is_empty() =>
            {
                let global = (&self.checked.config.global, &checked.config.global);
                for line in netns::unchangeable(self.cli, global.0, global.1) {
                    warn!("{line}");
                    errors.push(line);
                }
                error!(
                    "Reload failed: {} changes what a reload cannot change; keeping the running configuration",
                    self.cli.use_file.display()
                );
            }
            Ok(Ok(checked)) => {
                for line in &checked.warnings {
                    warn!("{line}");
                }
                let wanted = wanted(self.cli, &checked.config);
                self.checked = Arc::new(checked);
                self.refresh_timings();
                self.retire_unwanted(&wanted);
                // Those signalled now report the end of their reload; those started now, that
                // they are up (see `reload_done`).
                let signalled = self
                    .slots
                    .iter()
                    .filter(|s| !s.retired)
                    .filter_map(|s| s.running.as_ref());
                self.reload_wait = Some(ReloadWait::new(signalled.map(|r| r.pid), Instant::now()));
                self.signal_all(libc::SIGHUP);
                for engine in wanted {
                    self.add(engine);
                }
                info!("Reload: configuration passed on to the child processes");
                self.metrics.reloaded(true);
                self.metrics.listen(self.metrics_addr());
                self.open_control();
                self.reload_applied = true;
                self.reload_done();
                return;
            }
            Ok(Err(rendered)) => {
                for line in &rendered {
                    error!("{line}");
                }
                error!(
                    "Reload failed: {} has errors; keeping the running configuration",
                    self.cli.use_file.display()
                );
                errors = rendered;
            }
            Err(e) => {
                error!("Reload failed: {e}");
                errors.push(e.to_string());
            }
        }
        self.metrics.reloaded(false);
        self.answer_reload(ReloadOutcome {
            applied: false,
            errors,
        });
        // Nothing was passed on: ready again at once (unless an earlier reload is still
        // being applied by the engines).
        if self.reload_wait.is_none() {
            ready::notify(&[NotifyState::Ready]);
        }
    }

    /// Stops the engines a reloaded configuration no longer needs (SIGTERM; not restarted).
    pub(super) fn retire_unwanted(&mut self, wanted: &[Engine]) {
        for slot in &mut self.slots {
            if slot.retired || wanted.contains(&slot.engine) {
                continue;
            }
            slot.retired = true;
            slot.restart_at = None;
            self.metrics.retired(slot.engine);
            let Some(r) = &slot.running else {
                info!(
                    "Reload: the {} child process is no longer needed",
                    slot.engine.title()
                );
                continue;
            };
            info!(
                "Reload: the {} child process is no longer needed: stopping it, pid={}",
                slot.engine.title(),
                r.pid
            );
            if let Err(e) = keepalived_net::send_signal(r.pid, libc::SIGTERM) {
                warn!(
                    "cannot signal the {} child process ({}): {e}",
                    slot.engine.title(),
                    r.pid
                );
            }
        }
    }

    /// Sends READY=1 once the reload passed on to the engines is done: every engine signalled
    /// reported its end (or went away), every engine running is up, and no further
    /// configuration check is in progress.
    pub(super) fn reload_done(&mut self) {
        let Some(wait) = &self.reload_wait else {
            return;
        };
        let all_up = self
            .slots
            .iter()
            .filter(|s| !s.retired)
            .filter_map(|s| s.running.as_ref())
            .all(|r| r.ready);
        if wait.complete() && all_up && !self.queue.busy() {
            self.reload_wait = None;
            self.answer_applied_reload();
            info!("Reload complete: every child process has reloaded");
            ready::notify(&[NotifyState::Ready, NotifyState::Status("running")]);
        }
    }

    /// Answers the control socket's reload requests waiting for the reload just decided.
    pub(super) fn answer_reload(&mut self, outcome: ReloadOutcome) {
        for w in self.reload_waiters.drain(..) {
            let _ = w.send(outcome.clone());
        }
    }

    /// Answers those waiting for an applied reload, once the engines applied it.
    pub(super) fn answer_applied_reload(&mut self) {
        if std::mem::take(&mut self.reload_applied) {
            self.answer_reload(ReloadOutcome {
                applied: true,
                errors: Vec::new(),
            });
        }
    }

    pub(super) fn mark_reloaded(&mut self, pid: u32, engine: Engine) {
        let ours = self
            .slots
            .iter()
            .any(|s| s.engine == engine && s.running.as_ref().is_some_and(|r| r.pid == pid));
        if !ours {
            warn!(
                "reload report from pid {pid}, not our {} child; ignored",
                engine.title()
            );
            return;
        }
        if let Some(wait) = &mut self.reload_wait {
            wait.done(pid);
        }
        self.reload_done();
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
