//! The checker engine: schedules every check of a [`CheckPlan`] (warmup, `delay_loop`, retries),
//! judges outcomes, and turns them into real-server events. Sans-I/O: time comes in as `now`,
//! randomness from a seed.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use keepalived_config::model::lvs::{CheckerKind, FileCheck};

use super::event::{Action, FailedAttempt, Outcome, RsEvent, RsEventKind};
use super::plan::{CheckId, CheckPlan, RsId};
use super::time::Instant;

mod reload;
mod suspend;
pub use reload::Reloaded;

/// The largest weight IPVS takes (INT_MAX); effective weights are limited to `0..=WEIGHT_MAX`.
pub const WEIGHT_MAX: u32 = i32::MAX as u32;

/// Counters of one check.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CheckStats {
    /// Attempts started ([`Action::Run`] issued).
    pub runs: u64,
    /// Passing outcomes.
    pub successes: u64,
    /// Failing outcomes.
    pub failures: u64,
    /// Outcomes ignored: for an active check that was not running, or of a kind that does not
    /// fit the checker (a file value for a TCP check).
    pub stray: u64,
    /// When the last outcome that counted (a success or a failure) came in.
    pub last_outcome: Option<Instant>,
}

/// A real server's current state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RsStatus {
    /// All its checkers pass.
    pub up: bool,
    /// Effective weight (kept up to date while down too).
    pub weight: u32,
}

/// What a virtual server's quorum logic needs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VsStatus {
    /// Its real servers.
    pub servers: usize,
    /// How many are up.
    pub up: usize,
    /// The sum of the effective weights of those that are up.
    pub up_weight: u64,
}

/// One check's scheduling state.
#[derive(Clone, Debug, Default)]
struct CheckState {
    /// `None` until the first verdict; then whether the checker passes.
    verdict: Option<bool>,
    /// The last weight asked for by a `misc_dynamic` script.
    dyn_weight: Option<u32>,
    /// The last value of a FILE_CHECK's file.
    file_value: Option<i64>,
    /// Failed attempts in the current retry series.
    failures: u32,
    /// An attempt was started and its outcome is not in yet.
    running: bool,
    /// When the next attempt starts (active checks, not running).
    due: Option<Instant>,
    /// The last failure, for event reasons.
    reason: String,
    stats: CheckStats,
    /// Came due while every virtual server depending on it was suspended (`ha_suspend`):
    /// runs as soon as one of them resumes.
    parked: bool,
}

/// The health-check state machine of a whole configuration.
///
/// # Driving it
/// Call [`handle_start`](Self::handle_start) once, then after every input
/// ([`handle_timeout`](Self::handle_timeout) at [`poll_timeout`](Self::poll_timeout), or
/// [`handle_outcome`](Self::handle_outcome) when an attempt ends) drain
/// [`poll_action`](Self::poll_action) until `None` and read `poll_timeout` again.
///
/// # Semantics (keepalived.conf(5))
/// * An active check first runs at a random point in `0..warmup` after start (drawn from the
///   seeded PRNG, in check order), then `delay_loop` after each verdict-bearing attempt ends.
/// * While a checker is up (or has no verdict yet and no `alpha`), a failed attempt is retried `retry` times,
///   `delay_before_retry` apart; the checker fails when all `retry + 1` attempts failed. A
///   failed checker is tried every `delay_loop` without retries; one pass brings it back.
/// * A check is never started again before its outcome is reported (no overlap), so
///   `delay_loop` counts from the end of an attempt, as in keepalived.
/// * A real server is up when every checker passes; before a checker's first verdict it passes
///   unless `alpha` is set. Without checkers it is always up.
/// * Effective weight: the configured weight, plus for each `misc_dynamic` MISC_CHECK
///   `asked - configured`, plus for each `dynamic` FILE_CHECK `value * weight` (negated with
///   `reverse`), limited to `0..=WEIGHT_MAX`.
/// * FILE_CHECK: with weight 0 a non-zero value fails the checker; otherwise it fails when
///   `value * weight` (negated with `reverse`) is at or below -2147483648.
#[derive(Debug)]
pub struct CheckerEngine {
    plan: CheckPlan,
    rng: fastrand::Rng,
    started: bool,
    checks: Vec<CheckState>,
    servers: Vec<RsStatus>,
    vss: Vec<VsStatus>,
    timers: BinaryHeap<Reverse<(Instant, CheckId)>>,
    actions: VecDeque<Action>,
    /// Per virtual server: its checks are suspended (`ha_suspend`, VIP not here).
    suspended: Vec<bool>,
}

impl CheckerEngine {
    /// An engine for `plan`; `seed` drives the warmup spread (same seed, same schedule).
    pub fn new(plan: CheckPlan, seed: u64) -> Self {
        let checks = vec![CheckState::default(); plan.checks.len()];
        let servers = plan
            .servers
            .iter()
            .map(|s| RsStatus {
                up: false,
                weight: s.weight.min(WEIGHT_MAX),
            })
            .collect();
        let vss = plan
            .virtual_servers
            .iter()
            .map(|v| VsStatus {
                servers: v.servers.len(),
                ..VsStatus::default()
            })
            .collect();
        Self {
            plan,
            rng: fastrand::Rng::with_seed(seed),
            started: false,
            checks,
            servers,
            vss,
            timers: BinaryHeap::new(),
            actions: VecDeque::new(),
            suspended: Vec::new(),
        }
    }

    /// The plan this engine runs.
    pub fn plan(&self) -> &CheckPlan {
        &self.plan
    }

    /// Starts checking at `now`: schedules every active check within its warmup and queues an
    /// initial [`RsEvent`] (`initial: true`) per real server. Outcomes of passive checks
    /// (FILE_CHECK, BFD_CHECK) reported before this count in the initial states. Later calls do
    /// nothing.
    pub fn handle_start(&mut self, now: Instant) {
        if self.started {
            return;
        }
        self.started = true;
        for i in 0..self.plan.checks.len() {
            let Some(spec) = self.plan.checks.get(i) else {
                continue;
            };
            if spec.is_passive() {
                continue;
            }
            let warmup = u64::try_from(spec.timing.warmup.as_nanos()).unwrap_or(u64::MAX);
            let delay = if warmup == 0 {
                0
            } else {
                self.rng.u64(0..warmup)
            };
            let due = Instant::from_nanos(now.as_nanos().saturating_add(delay));
            self.schedule(CheckId(i), due);
        }
        for i in 0..self.servers.len() {
            let (up, weight, _) = self.evaluate(RsId(i));
            let Some(s) = self.plan.servers.get(i) else {
                continue;
            };
            if let Some(st) = self.servers.get_mut(i) {
                *st = RsStatus { up, weight };
            }
            if up && let Some(v) = self.vss.get_mut(s.vs) {
                v.up += 1;
                v.up_weight += u64::from(weight);
            }
            let reason = if up {
                "starting up".to_owned()
            } else {
                "alpha: down until every checker has passed".to_owned()
            };
            self.actions.push_back(Action::Event(RsEvent {
                server: RsId(i),
                vs: s.vs,
                rs: s.rs,
                address: s.address,
                kind: if up {
                    RsEventKind::Up
                } else {
                    RsEventKind::Down
                },
                weight,
                reason,
                check: None,
                notify: None,
                initial: true,
            }));
        }
    }

    /// Starts every check due at or before `now` ([`Action::Run`] each). Spurious or early
    /// calls are harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(Reverse((due, id))) = self.timers.peek().copied() {
            if due > now {
                break;
            }
            self.timers.pop();
            let suspended = self.is_suspended(id);
            let Some(st) = self.checks.get_mut(id.0) else {
                continue;
            };
            if st.running || st.due != Some(due) {
                continue;
            }
            st.due = None;
            if suspended {
                st.parked = true;
                continue;
            }
            st.running = true;
            st.stats.runs += 1;
            self.actions.push_back(Action::Run(id));
        }
    }

    /// Reports how an attempt of `check` ended (for passive checks: a new status at any time).
    /// Unknown ids and outcomes for active checks that are not running are counted and ignored.
    pub fn handle_outcome(&mut self, now: Instant, check: CheckId, outcome: Outcome) {
        // Disjoint fields: the spec is read while the check's state is written.
        let (Some(spec), Some(st)) = (self.plan.checks.get(check.0), self.checks.get_mut(check.0))
        else {
            return;
        };
        let passive = spec.is_passive();
        let file = match &spec.kind {
            CheckerKind::File(f) => Some(f),
            _ => None,
        };
        let stray = (!passive && !st.running)
            || (matches!(outcome, Outcome::FileValue(_)) && file.is_none());
        if stray {
            st.stats.stray += 1;
            return;
        }
        st.running = false;
        let old = (st.verdict, st.dyn_weight, st.file_value);
        // Some(reason) for a failed attempt.
        let failure = match outcome {
            Outcome::FileValue(v) => {
                st.file_value = Some(v);
                file.and_then(|f| file_failure(f, v))
            }
            Outcome::Weight(w) => {
                if matches!(&spec.kind, CheckerKind::Misc(m) if m.dynamic) {
                    st.dyn_weight = Some(w);
                }
                None
            }
            Outcome::Success => None,
            Outcome::Failure { reason } => Some(reason),
        };
        st.stats.last_outcome = Some(now);
        let timing = &spec.timing;
        let mut next = timing.delay_loop;
        match failure {
            None => {
                st.stats.successes += 1;
                st.failures = 0;
                st.verdict = Some(true);
            }
            Some(reason) => {
                st.stats.failures += 1;
                let was_down = !st.verdict.unwrap_or(!spec.alpha);
                st.failures = st.failures.saturating_add(1);
                let attempt = st.failures;
                let attempts = timing.retry.saturating_add(1);
                let describe = spec.describe();
                st.reason = if passive || was_down {
                    format!("{describe} failed: {reason}")
                } else {
                    format!("{describe} failed: {reason} (attempt {attempt} of {attempts})")
                };
                if spec.log_all_failures && !was_down {
                    self.actions.push_back(Action::LogFailure(FailedAttempt {
                        check,
                        attempt,
                        attempts,
                        reason,
                    }));
                }
                if passive || was_down || attempt > timing.retry {
                    st.failures = 0;
                    st.verdict = Some(false);
                } else {
                    next = timing.delay_before_retry;
                }
            }
        }
        let changed = old != (st.verdict, st.dyn_weight, st.file_value);
        if !passive {
            let due = now + next;
            st.due = Some(due);
            self.timers.push(Reverse((due, check)));
        }
        if changed && self.started {
            self.fan_out(check);
        }
    }

    /// The next action to execute, in order; drain until `None` after every `handle_*` call.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next (`None`: nothing
    /// scheduled, e.g. every check is running). Read it after draining the actions.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.peek().map(|Reverse((t, _))| *t)
    }

    /// The current state of a real server (`None` for an unknown id).
    pub fn server_status(&self, id: RsId) -> Option<RsStatus> {
        self.servers.get(id.0).copied()
    }

    /// How many real servers of virtual server `vs` (configuration index) are up, and their
    /// total weight: the input of quorum decisions.
    pub fn vs_status(&self, vs: usize) -> Option<VsStatus> {
        self.vss.get(vs).copied()
    }

    /// The counters of one check.
    pub fn check_stats(&self, id: CheckId) -> Option<CheckStats> {
        self.checks.get(id.0).map(|c| c.stats)
    }

    /// True while an attempt of `id` is running (its outcome not reported yet).
    pub fn is_running(&self, id: CheckId) -> bool {
        self.checks.get(id.0).is_some_and(|c| c.running)
    }

    /// The check's verdict: `None` before its first, else whether it passes.
    pub fn verdict(&self, id: CheckId) -> Option<bool> {
        self.checks.get(id.0).and_then(|c| c.verdict)
    }

    fn schedule(&mut self, id: CheckId, due: Instant) {
        if let Some(st) = self.checks.get_mut(id.0) {
            st.due = Some(due);
            self.timers.push(Reverse((due, id)));
        }
    }

    /// Re-judges every real server depending on `check` and queues the events.
    fn fan_out(&mut self, check: CheckId) {
        let Some(spec) = self.plan.checks.get(check.0) else {
            return;
        };
        for &rs in &spec.dependents {
            let (up, weight, failing) = self.evaluate(rs);
            let (Some(old), Some(s)) =
                (self.servers.get(rs.0).copied(), self.plan.servers.get(rs.0))
            else {
                continue;
            };
            let (kind, reason, notify) = match (old.up, up) {
                (true, false) => {
                    // Name the check that just failed if it did, else the first failing one.
                    let culprit = if self.checks.get(check.0).and_then(|c| c.verdict) == Some(false)
                    {
                        check
                    } else {
                        failing.unwrap_or(check)
                    };
                    let reason = self
                        .checks
                        .get(culprit.0)
                        .map(|c| c.reason.clone())
                        .unwrap_or_default();
                    (RsEventKind::Down, reason, s.notify_down.clone())
                }
                (false, true) => (
                    RsEventKind::Up,
                    format!("{} succeeded", spec.describe()),
                    s.notify_up.clone(),
                ),
                (true, true) if weight != old.weight => (
                    RsEventKind::Weight(weight),
                    format!(
                        "{} changed the weight from {} to {weight}",
                        spec.describe(),
                        old.weight
                    ),
                    None,
                ),
                _ => {
                    if let Some(st) = self.servers.get_mut(rs.0) {
                        st.weight = weight;
                    }
                    continue;
                }
            };
            if let Some(v) = self.vss.get_mut(s.vs) {
                if old.up {
                    v.up = v.up.saturating_sub(1);
                    v.up_weight = v.up_weight.saturating_sub(u64::from(old.weight));
                }
                if up {
                    v.up += 1;
                    v.up_weight += u64::from(weight);
                }
            }
            if let Some(st) = self.servers.get_mut(rs.0) {
                *st = RsStatus { up, weight };
            }
            self.actions.push_back(Action::Event(RsEvent {
                server: rs,
                vs: s.vs,
                rs: s.rs,
                address: s.address,
                kind,
                weight,
                reason,
                check: Some(check),
                notify,
                initial: false,
            }));
        }
    }

    /// A real server's state from its checks: (up, effective weight, first failing check).
    fn evaluate(&self, rs: RsId) -> (bool, u32, Option<CheckId>) {
        let Some(s) = self.plan.servers.get(rs.0) else {
            return (false, 0, None);
        };
        let base = i64::from(s.weight);
        let mut weight = base;
        let mut failing = None;
        for &check in &s.checks {
            let (Some(st), Some(spec)) = (self.checks.get(check.0), self.plan.checks.get(check.0))
            else {
                continue;
            };
            let pass = st.verdict.unwrap_or(!spec.alpha);
            if !pass && failing.is_none() {
                failing = Some(check);
            }
            match &spec.kind {
                CheckerKind::Misc(m) if m.dynamic => {
                    if let Some(w) = st.dyn_weight {
                        weight = weight.saturating_add(i64::from(w) - base);
                    }
                }
                CheckerKind::File(f) if f.dynamic => {
                    if let Some(v) = st.file_value {
                        weight = weight.saturating_add(file_adjustment(f, v));
                    }
                }
                _ => {}
            }
        }
        let weight = u32::try_from(weight.clamp(0, i64::from(WEIGHT_MAX))).unwrap_or(0);
        (failing.is_none(), weight, failing)
    }
}

/// FILE_CHECK: the value times the weight multiplier, negated with `reverse` (0 with weight 0).
fn file_adjustment(f: &FileCheck, value: i64) -> i64 {
    let a = value.saturating_mul(i64::from(f.weight));
    if f.reverse { a.saturating_neg() } else { a }
}

/// FILE_CHECK: why this value fails the checker, or `None` when it passes.
fn file_failure(f: &FileCheck, value: i64) -> Option<String> {
    if f.weight == 0 {
        return (value != 0)
            .then(|| format!("file holds {value} (weight 0: non-zero is a failure)"));
    }
    let a = file_adjustment(f, value);
    (a <= i64::from(i32::MIN))
        .then(|| format!("file holds {value}, weighted {a}: at or below -2147483648"))
}
