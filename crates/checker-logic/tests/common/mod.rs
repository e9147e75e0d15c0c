//! Test support for the checker logic: reading a configuration and a virtual-clock driver that
//! answers every `Run` through a closure.

#![allow(dead_code)]

use std::time::Duration;

use keepalived_checker_logic::{
    Action, CheckId, CheckPlan, CheckerEngine, Instant, Outcome, RsEvent, plan,
};
use keepalived_config::{PreprocessOptions, Severity, read_str};

/// The plan of a configuration that must read without errors.
pub fn plan_of(text: &str) -> CheckPlan {
    let read = read_str("test.conf", text, &PreprocessOptions::default());
    let errors: Vec<String> = read
        .diagnostics
        .items()
        .iter()
        .filter(|d| d.severity >= Severity::Error)
        .map(|d| read.sources.render(d))
        .collect();
    assert!(errors.is_empty(), "configuration errors: {errors:#?}");
    plan(&read.config)
}

/// Seconds as an instant.
pub fn at(secs: f64) -> Instant {
    Instant::from_duration(Duration::from_secs_f64(secs))
}

/// Seconds of an instant.
pub fn secs(t: Instant) -> f64 {
    t.since_epoch().as_secs_f64()
}

/// A driven engine on a virtual clock.
pub struct Sim {
    /// The engine.
    pub eng: CheckerEngine,
    /// Virtual now.
    pub now: Instant,
    /// Attempts in flight: (end time, check, outcome).
    inflight: Vec<(Instant, CheckId, Outcome)>,
    /// Every action drained, with its time.
    pub log: Vec<(Instant, Action)>,
    /// Violations of "never run twice at once" seen while driving.
    pub overlaps: usize,
}

impl Sim {
    /// An engine for the plan, started at 0.
    pub fn start(plan: CheckPlan, seed: u64) -> Self {
        let mut eng = CheckerEngine::new(plan, seed);
        eng.handle_start(Instant::ZERO);
        Self {
            eng,
            now: Instant::ZERO,
            inflight: Vec::new(),
            log: Vec::new(),
            overlaps: 0,
        }
    }

    /// Reports an outcome now (for passive checks) and drains.
    pub fn report(&mut self, check: CheckId, outcome: Outcome) {
        self.eng.handle_outcome(self.now, check, outcome);
    }

    /// Drives until `end`. `respond(now, check)` gives each started attempt its duration and
    /// outcome. Actions are drained into `log`.
    pub fn run_until(
        &mut self,
        end: Instant,
        mut respond: impl FnMut(Instant, CheckId) -> (Duration, Outcome),
    ) {
        loop {
            while let Some(a) = self.eng.poll_action() {
                if let Action::Run(id) = &a {
                    if self.inflight.iter().any(|(_, c, _)| c == id) {
                        self.overlaps += 1;
                    }
                    let (d, o) = respond(self.now, *id);
                    self.inflight.push((self.now + d, *id, o));
                }
                self.log.push((self.now, a));
            }
            let next_done = self.inflight.iter().map(|(t, _, _)| *t).min();
            let next = match (self.eng.poll_timeout(), next_done) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => match a.or(b) {
                    Some(t) => t,
                    None => break,
                },
            };
            if next > end {
                break;
            }
            self.now = next;
            if let Some(i) = self.inflight.iter().position(|(t, _, _)| *t == next) {
                let (_, id, o) = self.inflight.remove(i);
                self.eng.handle_outcome(next, id, o);
            } else {
                self.eng.handle_timeout(next);
            }
        }
        self.now = self.now.max(end);
        while let Some(a) = self.eng.poll_action() {
            self.log.push((self.now, a));
        }
    }

    /// Times (seconds) of every Run of `check`.
    pub fn runs(&self, check: CheckId) -> Vec<f64> {
        self.log
            .iter()
            .filter(|(_, a)| *a == Action::Run(check))
            .map(|(t, _)| secs(*t))
            .collect()
    }

    /// Every real-server event, with its time.
    pub fn events(&self) -> Vec<(f64, RsEvent)> {
        self.log
            .iter()
            .filter_map(|(t, a)| match a {
                Action::Event(e) => Some((secs(*t), e.clone())),
                _ => None,
            })
            .collect()
    }

    /// Non-initial events only.
    pub fn transitions(&self) -> Vec<(f64, RsEvent)> {
        self.events()
            .into_iter()
            .filter(|(_, e)| !e.initial)
            .collect()
    }
}

/// A passing attempt taking `d` seconds.
pub fn ok(d: f64) -> (Duration, Outcome) {
    (Duration::from_secs_f64(d), Outcome::Success)
}

/// A failing attempt taking `d` seconds.
pub fn fail(d: f64, why: &str) -> (Duration, Outcome) {
    (
        Duration::from_secs_f64(d),
        Outcome::Failure {
            reason: why.to_owned(),
        },
    )
}
