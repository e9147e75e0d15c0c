//! `vrrp_script` trackers: each script runs every `interval` on its own task and is killed at
//! `timeout`; exit status 0 is a success, anything else a failure; `rise`/`fall` hysteresis
//! turns results into Up/Down, and each change goes to the engine as a [`TrackerUpdate`].
//!
//! As in keepalived, a script still running when its next interval comes is not started a
//! second time (that run is skipped). Without `init_fail` the script starts Up and its first
//! result decides at once; with `init_fail` it starts Down and needs `rise` successes.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use keepalived_config::model::vrrp::VrrpScript;
use keepalived_vrrp::{TrackerId, TrackerUpdate, TrackerValue};
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{info, warn};

use crate::services::script::{PreparedScript, RunOutcome, ScriptEnv, ScriptError};

/// One `vrrp_script`, ready to run.
#[derive(Debug, Clone)]
pub struct ScriptTrackerConfig {
    /// The `vrrp_script`'s name.
    pub name: String,
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
            name: script.name.clone(),
            script: prepared,
            interval,
            timeout: script.timeout.unwrap_or(interval),
            rise: script.rise.max(1),
            fall: script.fall.max(1),
            init_fail: script.init_fail,
        })
    }

    /// The status to give the engine before the first result: Down with `init_fail`, else
    /// none (the first result is always reported).
    pub fn initial_value(&self) -> Option<TrackerValue> {
        self.init_fail.then_some(TrackerValue::Down)
    }
}

/// `rise`/`fall` hysteresis over a script's results, counted as keepalived counts them: one
/// number from 0 to `rise + fall - 1`, Up from `rise` on. A success while Down moves one step
/// towards `rise` (the `rise`-th in a row turns it Up, straight to the top); a failure while Up
/// moves one step down (the `fall`-th in a row turns it Down, straight to 0). Without
/// `init_fail` the count starts at `rise - 1`, one success from Up, and the first result is
/// reported whatever it is: a success turns it Up, a failure Down. With `init_fail` it starts
/// at 0 (Down, already known to the engine): failures report nothing, `rise` successes are
/// needed.
#[derive(Debug, Clone)]
pub struct Hysteresis {
    rise: u32,
    fall: u32,
    /// keepalived's `result`: below `rise` Down, from `rise` up to `rise + fall - 1` Up.
    result: u32,
    /// No result yet and no `init_fail`: the first result is reported, success or failure.
    first: bool,
}

impl Hysteresis {
    /// One success from Up, the first result decisive (or Down, needing `rise` successes,
    /// with `init_fail`).
    pub fn new(rise: u32, fall: u32, init_fail: bool) -> Self {
        let rise = rise.max(1);
        Hysteresis {
            rise,
            fall: fall.max(1),
            result: if init_fail { 0 } else { rise - 1 },
            first: !init_fail,
        }
    }

    /// True while Up.
    #[cfg(test)]
    pub fn is_up(&self) -> bool {
        self.result >= self.rise
    }

    /// Records one result; returns the status to report (`true` Up) when it is one.
    pub fn record(&mut self, success: bool) -> Option<bool> {
        let first = std::mem::take(&mut self.first);
        let top = self.rise + self.fall - 1;
        if success {
            if self.result + 1 < self.rise {
                self.result += 1;
                return None;
            }
            let turned_up = self.result < self.rise;
            self.result = top;
            return turned_up.then_some(true);
        }
        if self.result > self.rise {
            self.result -= 1;
            return None;
        }
        let turned_down = self.result == self.rise || first;
        self.result = 0;
        turned_down.then_some(false)
    }
}

/// What keepalived logs after `VRRP_Script(NAME) ` when a result changes the status:
/// `succeeded`, `failed (exited with status N)`, `failed (due to signal N)`, `timed_out`.
pub fn verdict(outcome: &RunOutcome) -> String {
    match outcome {
        RunOutcome::Exited(0) => "succeeded".to_owned(),
        RunOutcome::Exited(code) => format!("failed (exited with status {code})"),
        RunOutcome::Signalled(sig) => format!("failed (due to signal {sig})"),
        RunOutcome::TimedOut => "timed_out".to_owned(),
        RunOutcome::NotStarted(_) => format!("failed ({outcome})"),
    }
}

/// The running trackers; dropping this (or [`ScriptTrackers::stop`]) ends them and kills any
/// script still running.
#[derive(Debug, Default)]
pub struct ScriptTrackers {
    handles: Vec<JoinHandle<()>>,
    /// How many of its scripts are running now.
    running: Arc<AtomicUsize>,
}

impl ScriptTrackers {
    /// Whether a run of its script is going on now (the metrics' `keepalived_script_state`).
    pub fn running(&self) -> bool {
        self.running.load(Ordering::Relaxed) > 0
    }

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
/// [`TrackerUpdate`], starting with the first result unless `init_fail` (the initial Down is
/// not sent: see [`ScriptTrackerConfig::initial_value`]). Must be called inside a tokio runtime. A task ends
/// when `tx`'s receiver is gone.
pub fn spawn_script_trackers(
    scripts: Vec<(TrackerId, ScriptTrackerConfig)>,
    tx: UnboundedSender<TrackerUpdate>,
) -> ScriptTrackers {
    let running = Arc::new(AtomicUsize::new(0));
    let handles = scripts
        .into_iter()
        .map(|(id, cfg)| tokio::spawn(track(id, cfg, tx.clone(), running.clone())))
        .collect();
    ScriptTrackers { handles, running }
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

async fn track(
    id: TrackerId,
    cfg: ScriptTrackerConfig,
    tx: UnboundedSender<TrackerUpdate>,
    running: Arc<AtomicUsize>,
) {
    let label = cfg.script.label().to_owned();
    let mut state = Hysteresis::new(cfg.rise, cfg.fall, cfg.init_fail);
    let mut next = Instant::now();
    let mut last_kind = None;
    // keepalived's `last_status` starts at 0: the first non-zero exit is logged too.
    let mut last_status = 0;
    let mut warned_overlap = false;
    loop {
        tokio::time::sleep_until(next).await;
        if tx.is_closed() {
            return;
        }
        running.fetch_add(1, Ordering::Relaxed);
        let outcome = cfg.script.run(&[], Some(cfg.timeout)).await;
        running.fetch_sub(1, Ordering::Relaxed);
        let k = kind(&outcome);
        if let RunOutcome::Exited(status) = outcome
            && status != last_status
        {
            info!("Script `{}` now returning {status}", cfg.name);
            last_status = status;
        }
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
            info!("{label} {}", verdict(&outcome));
            let value = if up {
                TrackerValue::Up
            } else {
                TrackerValue::Down
            };
            if tx.send(TrackerUpdate { id, value }).is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests;
