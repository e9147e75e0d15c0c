//! Reloading a running [`CheckerEngine`] with a new plan: what did not change keeps its state.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use keepalived_config::model::lvs::VsIdentity;

use super::{CheckState, CheckerEngine, RsStatus, VsStatus, WEIGHT_MAX};
use crate::event::{Action, RsEvent, RsEventKind};
use crate::plan::{CheckId, CheckPlan, Key, RsId};
use crate::time::Instant;

/// What a reload kept: for each check of the old plan, its id in the new one (`None`: removed).
/// The driver uses it to route the outcomes of attempts still in flight.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reloaded {
    /// Old [`CheckId`] index → new id.
    pub checks: Vec<Option<CheckId>>,
    /// Checks carried over with their state.
    pub kept: usize,
    /// New checks (scheduled within their warmup).
    pub started: usize,
    /// Old checks dropped.
    pub dropped: usize,
}

impl CheckerEngine {
    /// Replaces the plan at `now` (a configuration reload). A check whose type, options, target
    /// and timings are unchanged keeps its state: verdict, retry count, dynamic weight, file
    /// value, counters, its next run (or the attempt in flight, whose outcome is then reported
    /// under its new id, see [`Reloaded::checks`]). New checks start within their warmup as at
    /// start-up; removed ones are forgotten (a late outcome under an old id is then stray).
    ///
    /// Real servers are matched by virtual server identity and address. Each one is judged
    /// again from its checks; one whose state or effective weight differs from before gets an
    /// event (a real server new to the configuration gets an `initial` one, as at start-up).
    /// Before [`handle_start`](Self::handle_start), only the plan is replaced.
    pub fn reload(&mut self, now: Instant, plan: CheckPlan) -> Reloaded {
        let mut out = Reloaded {
            checks: vec![None; self.plan.checks.len()],
            ..Reloaded::default()
        };
        // Old checks by identity; the type-specific options are compared within a bucket.
        let mut by_key: HashMap<Key, Vec<usize>> = HashMap::new();
        for (i, spec) in self.plan.checks.iter().enumerate() {
            by_key.entry(spec.key()).or_default().push(i);
        }
        let mut old_states = std::mem::take(&mut self.checks);
        let mut states = Vec::with_capacity(plan.checks.len());
        let mut fresh = Vec::new();
        for (j, spec) in plan.checks.iter().enumerate() {
            let found = by_key.get_mut(&spec.key()).and_then(|bucket| {
                let pos = bucket.iter().position(|&i| {
                    self.plan
                        .checks
                        .get(i)
                        .is_some_and(|old| old.kind == spec.kind)
                })?;
                Some(bucket.swap_remove(pos))
            });
            match found.and_then(|i| Some((i, old_states.get_mut(i)?))) {
                Some((i, st)) => {
                    states.push(std::mem::take(st));
                    if let Some(slot) = out.checks.get_mut(i) {
                        *slot = Some(CheckId(j));
                    }
                    out.kept += 1;
                }
                None => {
                    states.push(CheckState::default());
                    fresh.push(j);
                    out.started += 1;
                }
            }
        }
        out.dropped = self.plan.checks.len() - out.kept;

        // Real servers: matched by virtual server identity, then address (at the same place
        // in the virtual server first: a reload rarely reorders them).
        // Virtual servers at the same place first; a map only for those that moved.
        let mut old_vs: Option<HashMap<&VsIdentity, usize>> = None;
        let mut previous: Vec<Option<RsStatus>> = Vec::with_capacity(plan.servers.len());
        for (j, vs) in plan.virtual_servers.iter().enumerate() {
            let old = match self.plan.virtual_servers.get(j) {
                Some(o) if o.identity == vs.identity => Some(o),
                _ => {
                    let map = old_vs.get_or_insert_with(|| {
                        self.plan
                            .virtual_servers
                            .iter()
                            .enumerate()
                            .map(|(i, v)| (&v.identity, i))
                            .collect()
                    });
                    map.get(&vs.identity)
                        .and_then(|&i| self.plan.virtual_servers.get(i))
                }
            };
            let old_range = old.map_or(0..0, |v| v.servers.clone());
            for (k, id) in vs.servers.clone().enumerate() {
                let Some(addr) = plan.servers.get(id).map(|s| s.address) else {
                    previous.push(None);
                    continue;
                };
                let at = |i: &usize| self.plan.servers.get(*i).is_some_and(|s| s.address == addr);
                let same_place = old_range.start + k;
                let found = if old_range.contains(&same_place) && at(&same_place) {
                    Some(same_place)
                } else {
                    old_range.clone().find(at)
                };
                previous.push(found.and_then(|i| self.servers.get(i).copied()));
            }
        }
        drop(old_vs);

        self.plan = plan;
        self.checks = states;
        self.servers = self
            .plan
            .servers
            .iter()
            .map(|s| RsStatus {
                up: false,
                weight: s.weight.min(WEIGHT_MAX),
            })
            .collect();
        self.vss = self
            .plan
            .virtual_servers
            .iter()
            .map(|v| VsStatus {
                servers: v.servers.len(),
                ..VsStatus::default()
            })
            .collect();
        // Timers: the kept checks' next runs, then the new checks within their warmup.
        let mut timers = BinaryHeap::new();
        for (i, st) in self.checks.iter().enumerate() {
            if let (Some(due), false) = (st.due, st.running) {
                timers.push(Reverse((due, CheckId(i))));
            }
        }
        self.timers = timers;
        // Suspension is per virtual server index: the caller sets it again.
        self.suspended.clear();
        if !self.started {
            return out;
        }
        self.unpark(now);
        for j in fresh {
            if self.plan.checks.get(j).is_some_and(|s| !s.is_passive()) {
                let due = self.warmup_due(now, j);
                self.schedule(CheckId(j), due);
            }
        }
        for (i, prev) in previous.into_iter().enumerate() {
            self.rejudge(RsId(i), prev);
        }
        out
    }

    /// When a newly started check first runs: a random point within its warmup after `now`.
    pub(super) fn warmup_due(&mut self, now: Instant, check: usize) -> Instant {
        let warmup = self.plan.checks.get(check).map_or(0, |s| {
            u64::try_from(s.timing.warmup.as_nanos()).unwrap_or(u64::MAX)
        });
        let delay = if warmup == 0 {
            0
        } else {
            self.rng.u64(0..warmup)
        };
        Instant::from_nanos(now.as_nanos().saturating_add(delay))
    }

    /// Judges real server `rs` after a reload and queues its event: `initial` for a new one,
    /// a transition when its state or weight differs from `prev`.
    fn rejudge(&mut self, rs: RsId, prev: Option<RsStatus>) {
        let (up, weight, failing) = self.evaluate(rs);
        let Some(s) = self.plan.servers.get(rs.0) else {
            return;
        };
        if let Some(st) = self.servers.get_mut(rs.0) {
            *st = RsStatus { up, weight };
        }
        if up && let Some(v) = self.vss.get_mut(s.vs) {
            v.up += 1;
            v.up_weight += u64::from(weight);
        }
        let failure = || {
            failing
                .and_then(|c| self.checks.get(c.0))
                .map(|c| c.reason.clone())
                .filter(|r| !r.is_empty())
                .unwrap_or_else(|| "a new checker has not passed yet (alpha)".to_owned())
        };
        let (kind, reason, notify, initial) = match prev {
            None => (
                if up {
                    RsEventKind::Up
                } else {
                    RsEventKind::Down
                },
                "added by a reload".to_owned(),
                None,
                true,
            ),
            Some(p) if p.up && !up => (RsEventKind::Down, failure(), s.notify_down.clone(), false),
            Some(p) if !p.up && up => (
                RsEventKind::Up,
                "its failing checkers were removed by a reload".to_owned(),
                s.notify_up.clone(),
                false,
            ),
            Some(p) if up && p.weight != weight => (
                RsEventKind::Weight(weight),
                format!("reload changed the weight from {} to {weight}", p.weight),
                None,
                false,
            ),
            Some(_) => return,
        };
        self.actions.push_back(Action::Event(RsEvent {
            server: rs,
            vs: s.vs,
            rs: s.rs,
            address: s.address,
            kind,
            weight,
            reason,
            check: None,
            notify,
            initial,
        }));
    }
}
