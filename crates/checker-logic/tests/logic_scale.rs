//! The checker logic at scale: tens of thousands of checks every second on a virtual clock,
//! each run exactly once per cycle. Set `CHECKER_SCALE_TARGETS` to change the count (the
//! report's figures use 50,000 in release mode).

#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "a benchmark: measures the engine's CPU time on the wall clock; the target count comes from the environment"
)]

mod common;

use common::{at, plan_of};
use keepalived_checker_logic::{Action, CheckerEngine, Instant, Outcome};
use std::fmt::Write;

#[test]
fn every_check_runs_once_per_delay_loop_at_scale() {
    let n: usize = std::env::var("CHECKER_SCALE_TARGETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let mut conf = String::new();
    for v in 0..n.div_ceil(1000) {
        let _ = writeln!(
            conf,
            "virtual_server 192.0.2.{} 80 {{\n protocol TCP\n lb_algo rr\n lb_kind NAT\n delay_loop 1",
            v + 1
        );
        for r in 0..1000.min(n - v * 1000) {
            let _ = writeln!(
                conf,
                " real_server 198.51.{}.{} {} {{\n  TCP_CHECK {{\n   connect_timeout 1\n  }}\n }}",
                100 + v / 50,
                v % 50 + 1,
                1000 + r
            );
        }
        conf.push_str("}\n");
    }
    let t0 = std::time::Instant::now();
    let plan = plan_of(&conf);
    let t_plan = t0.elapsed();
    assert_eq!(plan.checks.len(), n);
    let mut eng = CheckerEngine::new(plan, 42);
    let t1 = std::time::Instant::now();
    eng.handle_start(Instant::ZERO);
    let mut runs = 0u64;
    let end = at(60.0);
    let mut started = Vec::new();
    loop {
        while let Some(a) = eng.poll_action() {
            if let Action::Run(id) = a {
                started.push(id);
            }
        }
        // Attempts end at once (the engine, not the network, is measured here).
        let Some(t) = eng.poll_timeout() else { break };
        if t > end {
            break;
        }
        eng.handle_timeout(t);
        while let Some(a) = eng.poll_action() {
            if let Action::Run(id) = a {
                started.push(id);
            }
        }
        for id in started.drain(..) {
            runs += 1;
            eng.handle_outcome(t, id, Outcome::Success);
        }
    }
    let t_run = t1.elapsed();
    // First run within the first second (warmup = delay_loop), then one per second.
    assert_eq!(runs, 60 * n as u64);
    eprintln!(
        "{n} checks: plan {t_plan:?}; {runs} runs and outcomes in {t_run:?} ({:.0} per second)",
        runs as f64 / t_run.as_secs_f64()
    );
}
