//! Scheduling of the checker logic on a virtual clock: warmup spread, delay_loop cadence,
//! retries and their spacing, no overlapping runs, log_all_failures.

mod common;

use std::collections::BTreeSet;
use std::fmt::Write;

use common::{Sim, at, fail, ok, plan_of, secs};
use keepalived_checker_logic::{Action, CheckId, CheckerEngine, Instant, Outcome, RsEventKind};

/// One virtual server with one real server with one TCP_CHECK; `opts` separated by `;`.
fn one_tcp(opts: &str) -> String {
    let opts = opts.replace(';', "\n");
    format!(
        "virtual_server 192.0.2.1 80 {{
            protocol TCP
            lb_algo rr
            lb_kind NAT
            delay_loop 10
            real_server 198.51.100.10 80 {{
                TCP_CHECK {{
                    {opts}
                }}
            }}
        }}"
    )
}

#[test]
fn warmup_spreads_first_runs_within_the_warmup_and_is_seeded() {
    let mut conf = String::from(
        "virtual_server 192.0.2.1 80 {\n protocol TCP\n lb_algo rr\n lb_kind NAT\n delay_loop 10\n",
    );
    for i in 0..200 {
        let _ = writeln!(
            conf,
            " real_server 198.51.100.{} {} {{ TCP_CHECK {{ warmup 10 }} }}",
            i % 250 + 1,
            1000 + i
        );
    }
    conf.push_str("}\n");
    let plan = plan_of(&conf);
    assert_eq!(plan.checks.len(), 200);
    let first_runs = |seed: u64| -> Vec<f64> {
        let mut eng = CheckerEngine::new(plan.clone(), seed);
        eng.handle_start(at(5.0));
        let mut firsts = vec![f64::NAN; 200];
        while let Some(t) = eng.poll_timeout() {
            if t > at(100.0) {
                break;
            }
            eng.handle_timeout(t);
            while let Some(a) = eng.poll_action() {
                if let Action::Run(id) = a {
                    firsts[id.0] = secs(t);
                }
            }
        }
        firsts
    };
    let a = first_runs(1);
    assert!(a.iter().all(|t| (5.0..15.0).contains(t)), "{a:?}");
    let buckets: BTreeSet<u64> = a.iter().map(|t| (*t - 5.0) as u64).collect();
    assert_eq!(
        buckets.len(),
        10,
        "every second of the warmup gets some first runs"
    );
    assert_eq!(a, first_runs(1), "same seed, same schedule");
    assert_ne!(a, first_runs(2), "another seed, another spread");
}

#[test]
fn warmup_zero_runs_at_once() {
    let mut sim = Sim::start(plan_of(&one_tcp("warmup 0")), 7);
    sim.run_until(at(0.0), |_, _| ok(0.5));
    assert_eq!(sim.runs(CheckId(0)), vec![0.0]);
}

#[test]
fn delay_loop_counts_from_the_end_of_each_attempt() {
    let mut sim = Sim::start(plan_of(&one_tcp("warmup 0")), 7);
    sim.run_until(at(50.0), |_, _| ok(1.0));
    assert_eq!(sim.runs(CheckId(0)), vec![0.0, 11.0, 22.0, 33.0, 44.0]);
    let stats = sim.eng.check_stats(CheckId(0)).unwrap();
    assert_eq!((stats.runs, stats.successes, stats.failures), (5, 5, 0));
    assert!(
        sim.transitions().is_empty(),
        "passing checks of an up server send nothing"
    );
}

#[test]
fn failures_are_retried_retry_times_delay_before_retry_apart() {
    let plan = plan_of(&one_tcp("warmup 0; retry 2; delay_before_retry 3"));
    let mut sim = Sim::start(plan, 7);
    sim.run_until(at(40.0), |_, _| fail(0.0, "connection refused"));
    // Three attempts (1 + retry 2) three seconds apart, then one per delay_loop while down.
    assert_eq!(sim.runs(CheckId(0)), vec![0.0, 3.0, 6.0, 16.0, 26.0, 36.0]);
    let tr = sim.transitions();
    assert_eq!(tr.len(), 1, "{tr:?}");
    let (t, ev) = &tr[0];
    assert_eq!(*t, 6.0);
    assert_eq!(ev.kind, RsEventKind::Down);
    assert_eq!(
        ev.reason,
        "TCP_CHECK 198.51.100.10:80 failed: connection refused (attempt 3 of 3)"
    );
    assert_eq!(ev.check, Some(CheckId(0)));
}

#[test]
fn a_pass_during_retries_resets_the_series() {
    let plan = plan_of(&one_tcp("warmup 0; retry 1; delay_before_retry 2"));
    let mut sim = Sim::start(plan, 7);
    let mut n = 0;
    // fail, pass, fail, pass, ...: never two failures in a row, so never down.
    sim.run_until(at(60.0), |_, _| {
        n += 1;
        if n % 2 == 1 {
            fail(0.0, "timeout")
        } else {
            ok(0.0)
        }
    });
    assert_eq!(
        sim.runs(CheckId(0)),
        vec![
            0.0, 2.0, 12.0, 14.0, 24.0, 26.0, 36.0, 38.0, 48.0, 50.0, 60.0
        ]
    );
    assert!(sim.transitions().is_empty());
}

#[test]
fn retry_zero_fails_on_the_first_failure_and_recovery_is_immediate() {
    let plan = plan_of(&one_tcp("warmup 0; retry 0"));
    let mut sim = Sim::start(plan, 7);
    let mut n = 0;
    sim.run_until(at(25.0), |_, _| {
        n += 1;
        if n == 1 {
            fail(0.5, "timeout")
        } else {
            ok(0.5)
        }
    });
    let tr: Vec<_> = sim
        .transitions()
        .into_iter()
        .map(|(t, e)| (t, e.kind))
        .collect();
    assert_eq!(tr, vec![(0.5, RsEventKind::Down), (11.0, RsEventKind::Up)]);
}

#[test]
fn a_slow_check_is_never_started_twice() {
    // Attempts take 25 s with a 10 s delay_loop; the driver also calls handle_timeout every
    // second for nothing.
    let plan = plan_of(&one_tcp("warmup 0"));
    let mut eng = CheckerEngine::new(plan, 3);
    eng.handle_start(Instant::ZERO);
    let mut runs = Vec::new();
    let mut running_since: Option<u64> = None;
    for s in 0..=120u64 {
        let now = at(s as f64);
        if running_since.is_some_and(|t0| s == t0 + 25) {
            eng.handle_outcome(now, CheckId(0), Outcome::Success);
            running_since = None;
        }
        eng.handle_timeout(now);
        while let Some(a) = eng.poll_action() {
            if let Action::Run(id) = a {
                assert!(running_since.is_none(), "started twice at {s}");
                assert!(eng.is_running(id));
                running_since = Some(s);
                runs.push(s);
            }
        }
    }
    assert_eq!(runs, vec![0, 35, 70, 105]);
    // The attempt started at 105 ends at 121; a second outcome nobody asked for is counted and
    // ignored.
    eng.handle_outcome(at(121.0), CheckId(0), Outcome::Success);
    eng.handle_outcome(at(122.0), CheckId(0), Outcome::Success);
    assert_eq!(eng.check_stats(CheckId(0)).unwrap().stray, 1);
    assert_eq!(
        eng.poll_timeout(),
        Some(at(131.0)),
        "the stray result moved nothing"
    );
}

#[test]
fn log_all_failures_reports_each_failed_attempt_while_up() {
    let plan = plan_of(&one_tcp(
        "warmup 0; retry 2; delay_before_retry 1; log_all_failures",
    ));
    let mut sim = Sim::start(plan, 7);
    sim.run_until(at(30.0), |_, _| fail(0.0, "refused"));
    let logged: Vec<(f64, u32, u32)> = sim
        .log
        .iter()
        .filter_map(|(t, a)| match a {
            Action::LogFailure(f) => Some((secs(*t), f.attempt, f.attempts)),
            _ => None,
        })
        .collect();
    // Attempts 1..3 while up; none once the checker is down (12 s, 22 s).
    assert_eq!(logged, vec![(0.0, 1, 3), (1.0, 2, 3), (2.0, 3, 3)]);
    // Without the option nothing is logged.
    let mut quiet = Sim::start(
        plan_of(&one_tcp("warmup 0; retry 2; delay_before_retry 1")),
        7,
    );
    quiet.run_until(at(30.0), |_, _| fail(0.0, "refused"));
    assert!(
        !quiet
            .log
            .iter()
            .any(|(_, a)| matches!(a, Action::LogFailure(_)))
    );
}

#[test]
fn check_defaults_follow_the_virtual_and_real_server() {
    let plan = plan_of(
        "virtual_server 192.0.2.1 80 {
            protocol TCP
            lb_algo rr
            lb_kind NAT
            delay_loop 7
            retry 4
            real_server 198.51.100.10 8080 {
                delay_before_retry 2
                TCP_CHECK {
                    connect_ip 203.0.113.5
                    connect_timeout 3
                    bindto 198.51.100.1
                    fwmark 9
                }
                HTTP_GET {
                    url {
                        path /
                    }
                }
            }
        }",
    );
    let tcp = &plan.checks[0];
    assert_eq!(tcp.target.connect, "203.0.113.5:8080".parse().unwrap());
    assert_eq!(tcp.target.bindto, Some("198.51.100.1".parse().unwrap()));
    assert_eq!(tcp.target.fwmark, Some(9));
    assert_eq!(tcp.timing.delay_loop.as_secs(), 7);
    assert_eq!(
        tcp.timing.warmup.as_secs(),
        7,
        "warmup defaults to the delay_loop"
    );
    assert_eq!(tcp.timing.retry, 4);
    assert_eq!(tcp.timing.delay_before_retry.as_secs(), 2);
    assert_eq!(tcp.attempt_timeout().as_secs(), 3);
    assert_eq!(tcp.describe(), "TCP_CHECK 203.0.113.5:8080");
    assert_eq!(plan.checks[1].type_name(), "HTTP_GET");
    assert_eq!(
        plan.checks[1].target.connect,
        "198.51.100.10:8080".parse().unwrap()
    );
    assert_eq!(plan.servers[0].checks.len(), 2);
    assert_eq!(plan.server_id(0, 0).map(|r| r.0), Some(0));
    assert_eq!(plan.server_id(0, 1), None);
}
