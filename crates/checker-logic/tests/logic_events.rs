//! Real-server events of the checker logic: alpha, several checkers, shared checks, dynamic
//! weights (MISC_CHECK, FILE_CHECK), and a randomized property: no state is reported twice.

mod common;

use std::collections::HashMap;

use common::{Sim, at, fail, ok, plan_of};
use keepalived_checker_logic::{
    Action, CheckId, CheckerEngine, Instant, Outcome, RsEvent, RsEventKind, RsId,
};

/// A virtual server header with the keywords the reader wants.
fn vs(addr: &str, body: &str) -> String {
    format!(
        "virtual_server {addr} {{
            protocol TCP
            lb_algo rr
            lb_kind NAT
            delay_loop 10
            {body}
        }}\n"
    )
}

fn kinds(evs: &[(f64, RsEvent)]) -> Vec<(f64, usize, RsEventKind)> {
    evs.iter().map(|(t, e)| (*t, e.server.0, e.kind)).collect()
}

#[test]
fn without_alpha_a_server_starts_up_and_the_first_pass_sends_nothing() {
    let plan = plan_of(&vs(
        "192.0.2.1 80",
        "real_server 198.51.100.10 80 {
            TCP_CHECK {
                warmup 0
            }
        }",
    ));
    let mut sim = Sim::start(plan, 1);
    sim.run_until(at(30.0), |_, _| ok(0.1));
    let evs = sim.events();
    assert_eq!(kinds(&evs), vec![(0.0, 0, RsEventKind::Up)]);
    assert!(evs[0].1.initial && evs[0].1.notify.is_none() && evs[0].1.weight == 1);
    assert_eq!(sim.eng.vs_status(0).unwrap().up, 1);
}

#[test]
fn with_alpha_a_server_starts_down_and_comes_up_after_its_first_pass() {
    let plan = plan_of(&vs(
        "192.0.2.1 80",
        "real_server 198.51.100.10 80 {
            weight 3
            notify_up \"/bin/echo up\"
            notify_down \"/bin/echo down\"
            TCP_CHECK {
                warmup 0
                alpha
                retry 3
            }
        }",
    ));
    let mut sim = Sim::start(plan, 1);
    let mut n = 0;
    sim.run_until(at(40.0), |_, _| {
        n += 1;
        if n <= 2 {
            fail(0.5, "refused")
        } else {
            ok(0.5)
        }
    });
    let evs = sim.events();
    assert_eq!(
        kinds(&evs),
        vec![(0.0, 0, RsEventKind::Down), (21.5, 0, RsEventKind::Up)],
        "down from the start; failures while down are not retried; up at the first pass"
    );
    assert!(evs[0].1.initial);
    let up = &evs[1].1;
    assert_eq!(up.weight, 3);
    assert_eq!(
        up.notify.as_ref().map(|s| s.command.as_str()),
        Some("/bin/echo up")
    );
    assert_eq!(up.reason, "TCP_CHECK 198.51.100.10:80 succeeded");
    assert_eq!(sim.eng.vs_status(0).unwrap().up_weight, 3);
}

#[test]
fn a_server_is_up_only_while_every_checker_passes() {
    let plan = plan_of(&vs(
        "192.0.2.1 80",
        "real_server 198.51.100.10 80 {
            notify_down \"/bin/echo down\"
            TCP_CHECK {
                warmup 0
                retry 0
            }
            HTTP_GET {
                warmup 0
                retry 0
                url {
                    path /health
                }
            }
        }",
    ));
    let (tcp, http) = (CheckId(0), CheckId(1));
    let mut sim = Sim::start(plan, 1);
    // TCP fails from 0 to 25 s, HTTP from 15 s to 45 s; each attempt takes 1 s.
    sim.run_until(at(80.0), |now, c| {
        let t = now.since_epoch().as_secs_f64();
        let bad = if c == tcp {
            t < 25.0
        } else {
            (15.0..45.0).contains(&t)
        };
        if bad {
            fail(1.0, if c == tcp { "refused" } else { "status 503" })
        } else {
            ok(1.0)
        }
    });
    let evs = sim.transitions();
    assert_eq!(
        kinds(&evs),
        vec![(1.0, 0, RsEventKind::Down), (56.0, 0, RsEventKind::Up)]
    );
    assert_eq!(evs[0].1.check, Some(tcp));
    assert!(
        evs[0]
            .1
            .reason
            .starts_with("TCP_CHECK 198.51.100.10:80 failed: refused")
    );
    assert_eq!(
        evs[0].1.notify.as_ref().map(|s| s.command.as_str()),
        Some("/bin/echo down")
    );
    assert_eq!(
        evs[1].1.check,
        Some(http),
        "the last checker to pass brings it up"
    );
    let _ = http;
}

#[test]
fn one_check_serves_every_virtual_server_sharing_the_real_server() {
    let rs = "real_server 198.51.100.10 80 {
            TCP_CHECK {
                warmup 0
                retry 0
            }
        }";
    let other_port = "real_server 198.51.100.10 80 {
            TCP_CHECK {
                warmup 0
                retry 0
                connect_port 81
            }
        }";
    let conf = vs("192.0.2.1 80", rs) + &vs("192.0.2.2 80", rs) + &vs("192.0.2.3 80", other_port);
    let plan = plan_of(&conf);
    assert_eq!(plan.checks.len(), 2, "the third server checks another port");
    assert_eq!(plan.merged, 1);
    assert_eq!(plan.checks[0].dependents, vec![RsId(0), RsId(1)]);
    assert_eq!(plan.servers[1].checks, vec![CheckId(0)]);
    let mut sim = Sim::start(plan, 1);
    sim.run_until(at(35.0), |now, c| {
        if c == CheckId(0) && now >= at(10.0) {
            fail(0.0, "refused")
        } else {
            ok(0.0)
        }
    });
    assert_eq!(
        sim.runs(CheckId(0)),
        vec![0.0, 10.0, 20.0, 30.0],
        "one run per cycle"
    );
    let evs = sim.transitions();
    assert_eq!(
        kinds(&evs),
        vec![(10.0, 0, RsEventKind::Down), (10.0, 1, RsEventKind::Down)]
    );
    assert_eq!((evs[0].1.vs, evs[1].1.vs), (0, 1));
    assert_eq!(sim.eng.vs_status(2).unwrap().up, 1);
    assert_eq!(sim.eng.vs_status(0).unwrap().up, 0);
}

#[test]
fn misc_dynamic_sets_the_weight_from_the_exit_code() {
    let plan = plan_of(&vs(
        "192.0.2.1 80",
        "real_server 198.51.100.10 80 {
            weight 5
            MISC_CHECK {
                misc_path \"/usr/local/bin/check 198.51.100.10\"
                misc_dynamic
                warmup 0
            }
        }",
    ));
    assert_eq!(
        plan.checks[0].describe(),
        "MISC_CHECK `/usr/local/bin/check 198.51.100.10`"
    );
    let mut sim = Sim::start(plan, 1);
    // exit 12, 12, 0, 1 (fail; retry 0 is MISC_CHECK's default), 5, 2
    let script = [
        Outcome::Weight(10),
        Outcome::Weight(10),
        Outcome::Success,
        Outcome::Failure {
            reason: "exit status 1".into(),
        },
        Outcome::Weight(3),
        Outcome::Weight(0),
    ];
    let mut i = 0;
    sim.run_until(at(55.0), |_, _| {
        let o = script.get(i).cloned().unwrap_or(Outcome::Success);
        i += 1;
        (std::time::Duration::ZERO, o)
    });
    let evs = sim.transitions();
    assert_eq!(
        kinds(&evs),
        vec![
            (0.0, 0, RsEventKind::Weight(10)),
            (30.0, 0, RsEventKind::Down),
            (40.0, 0, RsEventKind::Up),
            (50.0, 0, RsEventKind::Weight(0)),
        ]
    );
    assert_eq!(
        evs[2].1.weight, 3,
        "up with the weight the script asked for"
    );
}

#[test]
fn file_check_weights_and_failures() {
    let conf = "track_file load {
            file /run/keepalived-test/load
        }
        track_file gate {
            file /run/keepalived-test/gate
        }\n"
    .to_owned()
        + &vs(
            "192.0.2.1 80",
            "real_server 198.51.100.10 80 {
                weight 10
                FILE_CHECK {
                    track_file load
                    dynamic
                    weight 2 reverse
                }
            }
            real_server 198.51.100.11 80 {
                FILE_CHECK {
                    track_file gate
                    weight 0
                }
            }",
        );
    let plan = plan_of(&conf);
    let (load, gate) = (CheckId(0), CheckId(1));
    assert!(plan.checks[0].is_passive());
    assert_eq!(
        plan.checks[0].track_file.as_deref(),
        Some(std::path::Path::new("/run/keepalived-test/load"))
    );
    let mut eng = CheckerEngine::new(plan, 1);
    // Values known before the start count in the initial state.
    eng.handle_outcome(Instant::ZERO, load, Outcome::FileValue(2));
    eng.handle_start(Instant::ZERO);
    assert_eq!(
        eng.poll_timeout(),
        None,
        "passive checks are never scheduled"
    );
    let mut evs = Vec::new();
    let mut step = |eng: &mut CheckerEngine, c: CheckId, o: Outcome| {
        eng.handle_outcome(at(1.0), c, o);
        while let Some(a) = eng.poll_action() {
            match a {
                Action::Event(e) => evs.push((e.server.0, e.kind, e.weight)),
                other => panic!("unexpected {other:?}"),
            }
        }
    };
    step(&mut eng, gate, Outcome::FileValue(0));
    step(&mut eng, load, Outcome::FileValue(-20)); // 10 + 40
    step(&mut eng, load, Outcome::FileValue(-20)); // unchanged
    step(&mut eng, load, Outcome::FileValue(100)); // 10 - 200: limited to 0
    step(&mut eng, gate, Outcome::FileValue(1)); // weight 0: non-zero fails
    step(&mut eng, load, Outcome::FileValue(i64::MAX / 4)); // far below INT_MIN: fails
    step(
        &mut eng,
        gate,
        Outcome::Failure {
            reason: "cannot watch".into(),
        },
    ); // still down
    step(&mut eng, gate, Outcome::FileValue(0));
    assert_eq!(
        evs,
        vec![
            (0, RsEventKind::Up, 6),
            (1, RsEventKind::Up, 1),
            (0, RsEventKind::Weight(50), 50),
            (0, RsEventKind::Weight(0), 0),
            (1, RsEventKind::Down, 1),
            (0, RsEventKind::Down, 0),
            (1, RsEventKind::Up, 1),
        ]
    );
    let stats = eng.check_stats(gate).unwrap();
    assert_eq!((stats.runs, stats.successes, stats.failures), (0, 2, 2));
}

/// Randomized: several servers sharing checks, random pass/fail/weights and durations. Per
/// server, Up and Down alternate, a Weight change comes only while up and with a new weight,
/// and the status and per-virtual-server counts agree with the events.
#[test]
fn events_never_repeat_a_state() {
    let mut conf = String::new();
    for v in 0..3 {
        let mut body = String::new();
        for r in 0..4 {
            let alpha = if (v + r) % 3 == 0 { "alpha" } else { "" };
            body.push_str(&format!(
                "real_server 198.51.100.{} 80 {{
                    weight {}
                    TCP_CHECK {{
                        retry {}
                        delay_before_retry 1
                        {alpha}
                    }}
                    MISC_CHECK {{
                        misc_path \"/bin/check {r}\"
                        misc_dynamic
                        delay_loop 7
                    }}
                }}\n",
                10 + r,
                r + 1,
                r % 3,
            ));
        }
        conf += &vs(&format!("192.0.2.{} 80", v + 1), &body);
    }
    let plan = plan_of(&conf);
    // Per real server: the MISC_CHECK is shared by the 3 services, the TCP_CHECK by the 2
    // without alpha (alpha is part of a check's identity).
    assert_eq!(plan.checks.len(), 12);
    let mut transitions = 0;
    for seed in 0..200u64 {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut sim = Sim::start(plan.clone(), seed);
        sim.run_until(at(600.0), |_, _| {
            let d = std::time::Duration::from_millis(rng.u64(0..4000));
            let o = match rng.u8(0..10) {
                0..=3 => Outcome::Success,
                4..=6 => Outcome::Failure { reason: "x".into() },
                _ => Outcome::Weight(rng.u32(0..6)),
            };
            (d, o)
        });
        assert_eq!(sim.overlaps, 0);
        transitions += sim.transitions().len();
        let mut last: HashMap<usize, (bool, u32)> = HashMap::new();
        for (_, e) in sim.events() {
            let prev = last.get(&e.server.0).copied();
            let next = match (prev, e.kind) {
                (None, RsEventKind::Up | RsEventKind::Down) => {
                    assert!(e.initial, "seed {seed}: first event is the initial state");
                    (e.kind == RsEventKind::Up, e.weight)
                }
                (Some((false, _)), RsEventKind::Up) => (true, e.weight),
                (Some((true, _)), RsEventKind::Down) => (false, e.weight),
                (Some((true, w)), RsEventKind::Weight(n)) => {
                    assert_ne!(w, n, "seed {seed}: weight event without a change");
                    assert_eq!(n, e.weight);
                    (true, n)
                }
                (p, k) => panic!("seed {seed}: {k:?} after {p:?} for server {}", e.server.0),
            };
            assert!(!e.initial || prev.is_none());
            last.insert(e.server.0, next);
        }
        for (v, vsp) in plan.virtual_servers.iter().enumerate() {
            let mut up = 0;
            let mut weight = 0u64;
            for id in vsp.servers.clone() {
                let st = sim.eng.server_status(RsId(id)).unwrap();
                assert_eq!(last.get(&id).map(|l| l.0), Some(st.up), "seed {seed}");
                if st.up {
                    up += 1;
                    weight += u64::from(st.weight);
                    assert_eq!(last.get(&id).map(|l| l.1), Some(st.weight), "seed {seed}");
                }
            }
            let s = sim.eng.vs_status(v).unwrap();
            assert_eq!(
                (s.servers, s.up, s.up_weight),
                (4, up, weight),
                "seed {seed}"
            );
        }
    }
    assert!(
        transitions > 10_000,
        "the scenarios move servers: {transitions}"
    );
}
