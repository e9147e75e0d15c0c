//! `vrrp_script` trackers: each script runs every `interval` on its own task and is killed at
//! `timeout`; exit status 0 is a success, anything else a failure; `rise`/`fall` hysteresis
//! turns results into Up/Down, and each change goes to the engine as a [`TrackerUpdate`].
//!
//! As in keepalived, a script still running when its next interval comes is not started a
//! second time (that run is skipped). Without `init_fail` the script starts Up and its first
//! result decides at once; with `init_fail` it starts Down and needs `rise` successes.

use std::sync::Arc;
use std::time::Duration;

use keepalived_config::model::vrrp::VrrpScript;
use keepalived_vrrp::{TrackerId, TrackerUpdate, TrackerValue};
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{info, warn};

use crate::script::{PreparedScript, RunOutcome, ScriptEnv, ScriptError};

/// One `vrrp_script`, ready to run.
#[derive(Debug, Clone)]
pub struct ScriptTrackerConfig {
    /// The command and who runs it.
    pub script: Arc<PreparedScript>,
    /// Time between the starts of two runs.
    pub interval: Duration,
    /// A run still going after this long is killed and counts as a failure.
    pub timeout: Duration,
    /// Consecutive successes that turn a Down script Up (at least 1).
    pub rise: u32,
    /// Consecutive failures that turn an Up script Down (at least 1).
    pub fall: u32,
    /// Start Down instead of Up.
    pub init_fail: bool,
}

impl ScriptTrackerConfig {
    /// Builds the tracker of `script` (its `user`/`group`, else the global defaults of `env`).
    pub fn from_model(script: &VrrpScript, env: &ScriptEnv) -> Result<Self, ScriptError> {
        let (user, group) = match &script.user {
            Some(u) => (Some(u.as_str()), script.group.as_deref()),
            None => (
                script.script.user.as_deref(),
                script.script.group.as_deref(),
            ),
        };
        let prepared = env.prepare_as(
            format!("VRRP_Script({})", script.name),
            &script.script.argv,
            user,
            group,
        )?;
        let interval = script.interval.max(Duration::from_millis(1));
        Ok(ScriptTrackerConfig {
            script: prepared,
            interval,
            timeout: script.timeout.unwrap_or(interval),
            rise: script.rise.max(1),
            fall: script.fall.max(1),
            init_fail: script.init_fail,
        })
    }

    /// The status the engine should assume before the first report.
    pub fn initial_value(&self) -> TrackerValue {
        if self.init_fail {
            TrackerValue::Down
        } else {
            TrackerValue::Up
        }
    }
}

/// `rise`/`fall` hysteresis over a script's results.
#[derive(Debug, Clone)]
pub struct Hysteresis {
    rise: u32,
    fall: u32,
    up: bool,
    /// Consecutive results disagreeing with `up`.
    streak: u32,
    /// No result yet and no `init_fail`: the first result decides alone.
    first: bool,
}

impl Hysteresis {
    /// Starts Up (or Down with `init_fail`).
    pub fn new(rise: u32, fall: u32, init_fail: bool) -> Self {
        Hysteresis {
            rise: rise.max(1),
            fall: fall.max(1),
            up: !init_fail,
            streak: 0,
            first: !init_fail,
        }
    }

    /// True while Up.
    #[cfg(test)]
    pub fn is_up(&self) -> bool {
        self.up
    }

    /// Records one result; returns the new status when it changed.
    pub fn record(&mut self, success: bool) -> Option<bool> {
        if std::mem::take(&mut self.first) && !success {
            self.up = false;
            self.streak = 0;
            return Some(false);
        }
        if success == self.up {
            self.streak = 0;
            return None;
        }
        self.streak += 1;
        let needed = if self.up { self.fall } else { self.rise };
        if self.streak < needed {
            return None;
        }
        self.up = success;
        self.streak = 0;
        Some(success)
    }
}

/// The running trackers; dropping this (or [`ScriptTrackers::stop`]) ends them and kills any
/// script still running.
#[derive(Debug, Default)]
pub struct ScriptTrackers {
    handles: Vec<JoinHandle<()>>,
}

impl ScriptTrackers {
    /// Ends every tracker (running scripts have their process group killed).
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for ScriptTrackers {
    fn drop(&mut self) {
        for h in &self.handles {
            h.abort();
        }
    }
}

/// Starts one task per script; each change of a script's status is sent on `tx` as a
/// [`TrackerUpdate`] (the initial status is not sent: see
/// [`ScriptTrackerConfig::initial_value`]). Must be called inside a tokio runtime. A task ends
/// when `tx`'s receiver is gone.
pub fn spawn_script_trackers(
    scripts: Vec<(TrackerId, ScriptTrackerConfig)>,
    tx: UnboundedSender<TrackerUpdate>,
) -> ScriptTrackers {
    let handles = scripts
        .into_iter()
        .map(|(id, cfg)| tokio::spawn(track(id, cfg, tx.clone())))
        .collect();
    ScriptTrackers { handles }
}

/// What kind of result a run had, to log only when it changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Success,
    Failure,
    Timeout,
    NotStarted,
}

fn kind(outcome: &RunOutcome) -> Kind {
    match outcome {
        RunOutcome::Exited(0) => Kind::Success,
        RunOutcome::Exited(_) | RunOutcome::Signalled(_) => Kind::Failure,
        RunOutcome::TimedOut => Kind::Timeout,
        RunOutcome::NotStarted(_) => Kind::NotStarted,
    }
}

/// The first start after `now` on the grid `last + k * interval` (k >= 1): a start that falls
/// while the script is still running is skipped, not moved.
fn next_start(last: Instant, interval: Duration, now: Instant) -> Instant {
    let next = last + interval;
    if next > now {
        return next;
    }
    let behind = now.duration_since(next).as_nanos() / interval.as_nanos().max(1);
    let skipped = u32::try_from(behind + 1).unwrap_or(u32::MAX);
    next + interval.saturating_mul(skipped)
}

async fn track(id: TrackerId, cfg: ScriptTrackerConfig, tx: UnboundedSender<TrackerUpdate>) {
    let label = cfg.script.label().to_owned();
    let mut state = Hysteresis::new(cfg.rise, cfg.fall, cfg.init_fail);
    let mut next = Instant::now();
    let mut last_kind = None;
    let mut warned_overlap = false;
    loop {
        tokio::time::sleep_until(next).await;
        if tx.is_closed() {
            return;
        }
        let outcome = cfg.script.run(&[], Some(cfg.timeout)).await;
        let k = kind(&outcome);
        if !warned_overlap && next + cfg.interval < Instant::now() {
            warned_overlap = true;
            warn!("{label} ran longer than its interval; the starts it overlapped are skipped");
        }
        if last_kind != Some(k) && k == Kind::Timeout {
            warn!("{label} timed out after {:?}", cfg.timeout);
        }
        last_kind = Some(k);
        next = next_start(next, cfg.interval, Instant::now());
        if let Some(up) = state.record(outcome.is_success()) {
            let value = if up {
                info!("{label} succeeded");
                TrackerValue::Up
            } else {
                info!("{label} failed ({outcome})");
                TrackerValue::Down
            };
            if tx.send(TrackerUpdate { id, value }).is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
#[path = "track_script_tests.rs"]
mod tests;
