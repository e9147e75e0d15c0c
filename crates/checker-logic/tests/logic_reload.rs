//! Reloading a running checker engine: unchanged checks keep their state (verdict, retry
//! count, counters, next run, the attempt in flight), new ones start, removed ones go, and only
//! real servers whose state or weight changed get an event.

mod common;

use common::{at, plan_of};
use keepalived_checker_logic::{Action, CheckId, Outcome, RsEvent, RsEventKind};

fn conf(rs1_weight: u32, third_vs: &str) -> String {
    format!(
        "virtual_server 192.0.2.1 80 {{
            protocol TCP
    lb_algo rr
    lb_kind NAT
            delay_loop 10
            real_server 198.51.100.1 80 {{
                weight {rs1_weight}
                TCP_CHECK {{
                    warmup 0
                    retry 2
                    delay_before_retry 1
                }}
            }}
            real_server 198.51.100.2 80 {{
                TCP_CHECK {{
                    warmup 0
                    retry 0
                }}
            }}
        }}
        {third_vs}"
    )
}

const OLD_VS: &str = "virtual_server 192.0.2.2 80 {
    protocol TCP
    lb_algo rr
    lb_kind NAT
    real_server 198.51.100.3 80 {
        TCP_CHECK {
            warmup 0
        }
    }
}";

const NEW_VS: &str = "virtual_server 192.0.2.3 80 {
    protocol TCP
    lb_algo rr
    lb_kind NAT
    real_server 198.51.100.4 80 {
        weight 7
        TCP_CHECK {
            warmup 5
        }
    }
}";

fn drain(eng: &mut keepalived_checker_logic::CheckerEngine) -> (Vec<CheckId>, Vec<RsEvent>) {
    let (mut runs, mut events) = (Vec::new(), Vec::new());
    while let Some(a) = eng.poll_action() {
        match a {
            Action::Run(id) => runs.push(id),
            Action::Event(e) => events.push(e),
            Action::LogFailure(_) => {}
        }
    }
    (runs, events)
}

fn failure() -> Outcome {
    Outcome::Failure {
        reason: "connection refused".to_owned(),
    }
}

#[test]
fn a_reload_keeps_unchanged_checks_and_reports_only_what_changed() {
    let mut eng = keepalived_checker_logic::CheckerEngine::new(plan_of(&conf(1, OLD_VS)), 1);
    eng.handle_start(at(0.0));
    let (_, initial) = drain(&mut eng);
    assert_eq!(initial.len(), 3);
    eng.handle_timeout(at(0.0));
    let (runs, _) = drain(&mut eng);
    assert_eq!(runs, [CheckId(0), CheckId(1), CheckId(2)]);
    // rs1: first attempt fails (1 of 3, still up); rs2: fails for good; rs3 passes, but its
    // attempt is still in flight at the reload.
    eng.handle_outcome(at(0.5), CheckId(0), failure());
    eng.handle_outcome(at(0.5), CheckId(1), failure());
    let (_, evs) = drain(&mut eng);
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0].kind, RsEventKind::Down);
    assert_eq!(eng.poll_timeout(), Some(at(1.5)), "rs1's retry");

    // Reload: rs1's weight 1 -> 3, the second virtual server replaced by a third.
    let r = eng.reload(at(1.0), plan_of(&conf(3, NEW_VS)));
    assert_eq!(r.checks, [Some(CheckId(0)), Some(CheckId(1)), None]);
    assert_eq!((r.kept, r.started, r.dropped), (2, 1, 1));
    let (runs, evs) = drain(&mut eng);
    assert!(runs.is_empty());
    let got: Vec<_> = evs
        .iter()
        .map(|e| (e.address.to_string(), e.kind, e.weight, e.initial))
        .collect();
    assert_eq!(
        got,
        [
            (
                "198.51.100.1:80".to_owned(),
                RsEventKind::Weight(3),
                3,
                false
            ),
            ("198.51.100.4:80".to_owned(), RsEventKind::Up, 7, true),
        ],
        "rs2 stays down without an event"
    );
    let st = eng.check_stats(CheckId(0)).expect("stats");
    assert_eq!((st.runs, st.failures), (1, 1), "counters kept");
    assert_eq!(eng.verdict(CheckId(1)), Some(false), "rs2's verdict kept");
    assert_eq!(eng.vs_status(0).map(|v| (v.up, v.up_weight)), Some((1, 3)));
    // The kept retry timer still fires at 1.5; the new check runs within its 5 s warmup.
    assert_eq!(eng.poll_timeout(), Some(at(1.5)));
    // The retry series continues: two more failures (attempts 2 and 3 of 3) take rs1 down.
    eng.handle_timeout(at(1.5));
    assert_eq!(drain(&mut eng).0, [CheckId(0)]);
    eng.handle_outcome(at(1.6), CheckId(0), failure());
    assert!(drain(&mut eng).1.is_empty(), "attempt 2 of 3");
    eng.handle_timeout(at(2.6));
    assert_eq!(drain(&mut eng).0, [CheckId(0)]);
    eng.handle_outcome(at(2.7), CheckId(0), failure());
    let (_, evs) = drain(&mut eng);
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0].kind, RsEventKind::Down);
    assert!(
        evs[0].reason.contains("attempt 3 of 3"),
        "{}",
        evs[0].reason
    );
    // The new check is scheduled.
    eng.handle_timeout(at(7.0));
    assert!(drain(&mut eng).0.contains(&CheckId(2)));
}

#[test]
fn an_attempt_in_flight_at_a_reload_reports_under_its_new_id() {
    let mut eng = keepalived_checker_logic::CheckerEngine::new(plan_of(&conf(1, OLD_VS)), 1);
    eng.handle_start(at(0.0));
    eng.handle_timeout(at(0.0));
    let _ = drain(&mut eng);
    // The first virtual server goes: the old check 2 (rs3) becomes check 0.
    let r = eng.reload(at(0.2), plan_of(OLD_VS));
    assert_eq!(r.checks, [None, None, Some(CheckId(0))]);
    assert!(eng.is_running(CheckId(0)));
    assert!(drain(&mut eng).1.is_empty(), "rs3 unchanged");
    eng.handle_outcome(at(0.3), CheckId(0), failure());
    let (_, evs) = drain(&mut eng);
    assert_eq!(evs.len(), 0, "attempt 1 of 4: still up");
    assert_eq!(eng.check_stats(CheckId(0)).map(|s| s.failures), Some(1));
}
