//! `ha_suspend` in the checker logic: a suspended virtual server's checks stop running (a check
//! shared with a running virtual server goes on), and resume at once when it is resumed.

mod common;

use common::{at, plan_of};
use keepalived_checker_logic::{Action, CheckId, CheckerEngine, Outcome};

fn vs(addr: &str, rs: &str) -> String {
    format!(
        "virtual_server {addr} 80 {{
            lb_algo rr
            lb_kind NAT
            protocol TCP
            delay_loop 10
            ha_suspend
            real_server {rs} 80 {{
                TCP_CHECK {{
                    warmup 0
                }}
            }}
        }}\n"
    )
}

fn runs(eng: &mut CheckerEngine) -> Vec<CheckId> {
    let mut out = Vec::new();
    while let Some(a) = eng.poll_action() {
        if let Action::Run(id) = a {
            out.push(id);
        }
    }
    out
}

#[test]
fn suspended_checks_wait_and_resume_at_once() {
    // Check 0: 198.51.100.1 (first VS only); check 1: 198.51.100.2, shared by the second and
    // third virtual servers.
    let text = vs("192.0.2.1", "198.51.100.1")
        + &vs("192.0.2.2", "198.51.100.2")
        + &vs("192.0.2.3", "198.51.100.2");
    let mut eng = CheckerEngine::new(plan_of(&text), 1);
    eng.handle_start(at(0.0));
    eng.handle_timeout(at(0.0));
    assert_eq!(runs(&mut eng), [CheckId(0), CheckId(1)]);
    eng.set_suspended(at(0.5), 0, true);
    eng.set_suspended(at(0.5), 1, true);
    eng.handle_outcome(at(1.0), CheckId(0), Outcome::Success);
    eng.handle_outcome(at(1.0), CheckId(1), Outcome::Success);
    eng.handle_timeout(at(11.0));
    assert_eq!(
        runs(&mut eng),
        [CheckId(1)],
        "shared with the third virtual server"
    );
    eng.handle_outcome(at(11.5), CheckId(1), Outcome::Success);
    eng.handle_timeout(at(30.0));
    assert_eq!(runs(&mut eng), [CheckId(1)]);
    assert_eq!(
        eng.poll_timeout(),
        None,
        "check 0 is parked, check 1 running"
    );
    eng.set_suspended(at(35.0), 0, false);
    assert_eq!(eng.poll_timeout(), Some(at(35.0)));
    eng.handle_timeout(at(35.0));
    assert_eq!(runs(&mut eng), [CheckId(0)]);
}
