//! Tests of the `vrrp_script` trackers: the hysteresis alone, then real scripts on real timers.

use std::time::{Duration, Instant};

use keepalived_vrrp::{TrackerId, TrackerUpdate, TrackerValue};
use tokio::sync::mpsc;

use super::*;
use crate::services::script::tests::{TempDir, argv, root_env};

/// Feeds `results` (`+` success, `-` failure) and returns what was reported: `U` Up, `D`
/// Down, `.` nothing.
fn feed(h: &mut Hysteresis, results: &str) -> String {
    results
        .chars()
        .map(|c| match h.record(c == '+') {
            Some(true) => 'U',
            Some(false) => 'D',
            None => '.',
        })
        .collect()
}

#[test]
fn first_success_is_reported() {
    // The issue's script (rise 1, fall 2): the first success must reach the engine, which
    // holds a weight-0 instance in INIT until then.
    let mut h = Hysteresis::new(1, 2, false);
    assert!(
        !h.is_up(),
        "unknown (one success from Up) before the first result"
    );
    assert_eq!(feed(&mut h, "+"), "U");
    assert!(h.is_up());
    assert_eq!(
        feed(&mut h, "++"),
        "..",
        "successes while Up report nothing"
    );
    // With rise 3, one success is still enough at start (keepalived: result = rise - 1).
    let mut h = Hysteresis::new(3, 5, false);
    assert_eq!(feed(&mut h, "+"), "U");
}

#[test]
fn first_failure_is_reported() {
    let mut h = Hysteresis::new(3, 5, false);
    assert_eq!(feed(&mut h, "-"), "D", "the first failure counts alone");
    assert!(!h.is_up());
    assert_eq!(
        feed(&mut h, "--"),
        "..",
        "failures while Down report nothing"
    );
    assert_eq!(
        feed(&mut h, "++-++"),
        ".....",
        "a failure restarts the rise"
    );
    assert_eq!(feed(&mut h, "+"), "U", "rise 3 after the first failure");
}

#[test]
fn init_fail_needs_rise_successes_and_reports_no_failure() {
    let mut h = Hysteresis::new(2, 2, true);
    assert!(!h.is_up(), "init_fail starts Down");
    assert_eq!(
        feed(&mut h, "-"),
        ".",
        "Down is already known: not reported again"
    );
    assert_eq!(feed(&mut h, "+"), ".", "init_fail needs rise successes");
    assert_eq!(feed(&mut h, "+"), "U");
    let mut h = Hysteresis::new(1, 1, true);
    assert_eq!(feed(&mut h, "--+"), "..U", "rise 1: the first success");
}

#[test]
fn fall_and_rise_after_the_first_result() {
    let mut h = Hysteresis::new(3, 2, false);
    assert_eq!(feed(&mut h, "+"), "U");
    assert_eq!(
        feed(&mut h, "-+"),
        "..",
        "a success resets the failure count"
    );
    assert_eq!(feed(&mut h, "--"), ".D", "fall = 2");
    assert_eq!(
        feed(&mut h, "++-"),
        "...",
        "a failure resets the success count"
    );
    assert_eq!(feed(&mut h, "+++"), "..U", "rise = 3");
    // fall 1: every first failure while Up turns it Down; rise 1 likewise.
    let mut h = Hysteresis::new(1, 1, false);
    assert_eq!(feed(&mut h, "+-+-"), "UDUD");
    // The issue's rise 1, fall 2.
    let mut h = Hysteresis::new(1, 2, false);
    assert_eq!(feed(&mut h, "+-+--+"), "U...DU");
}

#[test]
fn verdicts_are_keepalived_texts() {
    assert_eq!(verdict(&RunOutcome::Exited(0)), "succeeded");
    assert_eq!(
        verdict(&RunOutcome::Exited(3)),
        "failed (exited with status 3)"
    );
    assert_eq!(
        verdict(&RunOutcome::Signalled(9)),
        "failed (due to signal 9)"
    );
    assert_eq!(verdict(&RunOutcome::TimedOut), "timed_out");
}

fn tracker(name: &str, words: &[&str], interval_ms: u64, timeout_ms: u64) -> ScriptTrackerConfig {
    let script = root_env()
        .prepare_as(format!("VRRP_Script({name})"), &argv(words), None, None)
        .expect("prepare");
    ScriptTrackerConfig {
        name: name.to_owned(),
        script,
        interval: Duration::from_millis(interval_ms),
        timeout: Duration::from_millis(timeout_ms),
        rise: 1,
        fall: 1,
        init_fail: false,
    }
}

async fn next(rx: &mut mpsc::UnboundedReceiver<TrackerUpdate>, within: Duration) -> TrackerUpdate {
    tokio::time::timeout(within, rx.recv())
        .await
        .expect("an update in time")
        .expect("the channel is open")
}

/// The results the script logged, one character per run (`0` success, `1` failure).
fn results(log: &std::path::Path) -> String {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .collect()
}

#[tokio::test]
async fn rise_and_fall_follow_a_file() {
    let dir = TempDir::new("risefall");
    let state = dir.join("state");
    let log = dir.join("log");
    std::fs::write(&state, "0").expect("write");
    let body = format!(
        "r=$(cat {s})\necho $r >> {l}\nexit $r",
        s = state.display(),
        l = log.display()
    );
    let path = dir.script("check.sh", &body);
    let mut cfg = tracker("chk", &[path.to_str().unwrap_or_default()], 250, 1000);
    cfg.rise = 2;
    cfg.fall = 2;
    assert_eq!(cfg.initial_value(), None);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let id = TrackerId(7);
    let _trackers = spawn_script_trackers(vec![(id, cfg)], tx);

    let u = next(&mut rx, Duration::from_secs(2)).await;
    assert_eq!(
        u,
        TrackerUpdate {
            id,
            value: TrackerValue::Up
        },
        "the first success is reported"
    );
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(rx.try_recv().is_err(), "successes while Up report nothing");
    assert!(results(&log).len() >= 2, "{}", results(&log));

    std::fs::write(&state, "1").expect("write");
    let u = next(&mut rx, Duration::from_secs(3)).await;
    assert_eq!(
        u,
        TrackerUpdate {
            id,
            value: TrackerValue::Down
        }
    );
    let seen = results(&log);
    assert!(
        seen.ends_with("011"),
        "Down after exactly two failures: {seen}"
    );

    std::fs::write(&state, "0").expect("write");
    let u = next(&mut rx, Duration::from_secs(3)).await;
    assert_eq!(
        u,
        TrackerUpdate {
            id,
            value: TrackerValue::Up
        }
    );
    let seen = results(&log);
    assert!(
        seen.ends_with("1100"),
        "Up after exactly two successes: {seen}"
    );

    // One failure between successes changes nothing.
    std::fs::write(&state, "1").expect("write");
    while !results(&log).ends_with('1') {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    std::fs::write(&state, "0").expect("write");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        rx.try_recv().is_err(),
        "one failure is not a fall: {}",
        results(&log)
    );
}

#[tokio::test]
async fn init_fail_starts_down_and_needs_rise_successes() {
    let dir = TempDir::new("initfail");
    let log = dir.join("log");
    let path = dir.script("ok.sh", &format!("echo 0 >> {}\nexit 0", log.display()));
    let mut cfg = tracker("chk", &[path.to_str().unwrap_or_default()], 200, 1000);
    cfg.init_fail = true;
    cfg.rise = 3;
    assert_eq!(cfg.initial_value(), Some(TrackerValue::Down));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let _trackers = spawn_script_trackers(vec![(TrackerId(0), cfg)], tx);
    let u = next(&mut rx, Duration::from_secs(3)).await;
    assert_eq!(u.value, TrackerValue::Up);
    assert_eq!(results(&log), "000", "Up after the third success");
}

#[tokio::test]
async fn first_failure_without_init_fail_reports_down_at_once() {
    let mut cfg = tracker("chk", &["false"], 200, 1000);
    cfg.fall = 3;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let start = Instant::now();
    let _trackers = spawn_script_trackers(vec![(TrackerId(1), cfg)], tx);
    let u = next(&mut rx, Duration::from_secs(2)).await;
    assert_eq!(u.value, TrackerValue::Down);
    // At once: from the first run, well before a second one (interval 1 s) could count.
    assert!(
        start.elapsed() < Duration::from_millis(800),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn timed_out_run_is_a_failure_and_never_overlaps_the_next() {
    let dir = TempDir::new("overlap");
    let pids = dir.join("pids");
    let log = dir.join("log");
    // Each run checks that no earlier run is still alive, records itself, and hangs.
    let body = format!(
        "for p in $(cat {p} 2>/dev/null); do kill -0 $p 2>/dev/null && echo overlap >> {l}; done\n\
         echo $$ >> {p}\necho start >> {l}\nexec sleep 60",
        p = pids.display(),
        l = log.display()
    );
    let path = dir.script("hang.sh", &body);
    // The timeout is longer than the interval: the next start must wait for the kill.
    let cfg = tracker("hang", &[path.to_str().unwrap_or_default()], 200, 300);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let start = Instant::now();
    let _trackers = spawn_script_trackers(vec![(TrackerId(2), cfg)], tx);
    let u = next(&mut rx, Duration::from_secs(2)).await;
    assert_eq!(u.value, TrackerValue::Down);
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(300), "{took:?}");
    assert!(
        took < Duration::from_millis(400),
        "not killed at the timeout: {took:?}"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(!text.contains("overlap"), "{text}");
    let starts = text.matches("start").count();
    // Starts at 0, 400, 800, 1200 ms (the 200 ms ticks inside a run are skipped).
    assert!(
        (3..=4).contains(&starts),
        "{starts} starts in 1.4 s:\n{text}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_hanging_script_delays_nothing_else() {
    let dir = TempDir::new("independent");
    let state = dir.join("state");
    std::fs::write(&state, "0").expect("write");
    let flip = dir.script("flip.sh", &format!("exit $(cat {})", state.display()));
    let hang = tracker("hang", &["sleep", "60"], 1000, 60_000);
    let quick = tracker("quick", &[flip.to_str().unwrap_or_default()], 100, 1000);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let _trackers = spawn_script_trackers(vec![(TrackerId(0), hang), (TrackerId(1), quick)], tx);
    let first = next(&mut rx, Duration::from_secs(1)).await;
    assert_eq!(
        first,
        TrackerUpdate {
            id: TrackerId(1),
            value: TrackerValue::Up
        },
        "the quick script's first success"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    std::fs::write(&state, "1").expect("write");
    let start = Instant::now();
    let u = next(&mut rx, Duration::from_secs(2)).await;
    assert_eq!(
        u,
        TrackerUpdate {
            id: TrackerId(1),
            value: TrackerValue::Down
        }
    );
    assert!(
        start.elapsed() < Duration::from_millis(300),
        "{:?}",
        start.elapsed()
    );
    // And the runtime thread itself stays responsive.
    let mut worst = Duration::ZERO;
    for _ in 0..30 {
        let t = Instant::now();
        tokio::time::sleep(Duration::from_millis(10)).await;
        worst = worst.max(t.elapsed());
    }
    // A blocked runtime would stall for the hanging script's 60 s.
    assert!(worst < Duration::from_millis(900), "a tick took {worst:?}");
}

#[tokio::test]
async fn stopping_the_trackers_kills_running_scripts() {
    let dir = TempDir::new("stop");
    let pids = dir.join("pids");
    let path = dir.script(
        "hang.sh",
        &format!("echo $$ >> {}\nexec sleep 60", pids.display()),
    );
    let cfg = tracker("hang", &[path.to_str().unwrap_or_default()], 1000, 60_000);
    let (tx, _rx) = mpsc::unbounded_channel();
    let trackers = spawn_script_trackers(vec![(TrackerId(0), cfg)], tx);
    let deadline = Instant::now() + Duration::from_secs(2);
    while !pids.exists() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let pid: i32 = std::fs::read_to_string(&pids)
        .unwrap_or_default()
        .trim()
        .parse()
        .expect("the script started");
    trackers.stop();
    let deadline = Instant::now() + Duration::from_secs(2);
    while std::path::Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "script {pid} survived"
    );
}

#[test]
fn config_from_the_model() {
    let text = "vrrp_script chk {\n script \"/bin/true x\"\n interval 2\n rise 3\n fall 4\n \
                init_fail\n user nobody\n}\nvrrp_script chk2 {\n script /bin/true\n}\n";
    let read = keepalived_config::read_str("t.conf", text, &Default::default());
    let env = root_env();
    let scripts = &read.config.vrrp.scripts;
    let chk = scripts.iter().find(|s| s.name == "chk").expect("chk");
    let cfg = ScriptTrackerConfig::from_model(chk, &env).expect("config");
    assert_eq!(cfg.interval, Duration::from_secs(2));
    assert_eq!(
        cfg.timeout,
        Duration::from_secs(2),
        "timeout defaults to the interval"
    );
    assert_eq!((cfg.rise, cfg.fall, cfg.init_fail), (3, 4, true));
    assert_eq!(cfg.script.argv(), ["/bin/true", "x"]);
    assert_eq!(cfg.script.credentials().uid, 65534);
    assert_eq!(cfg.script.label(), "VRRP_Script(chk)");
    let chk2 = scripts.iter().find(|s| s.name == "chk2").expect("chk2");
    let cfg = ScriptTrackerConfig::from_model(chk2, &env).expect("config");
    assert_eq!((cfg.rise, cfg.fall, cfg.init_fail), (1, 1, false));
    assert_eq!(
        cfg.script.credentials().uid,
        0,
        "the global script_user root"
    );
}

#[test]
fn next_start_skips_the_slots_a_run_overlapped() {
    let t0 = tokio::time::Instant::now();
    let ms = Duration::from_millis;
    assert_eq!(next_start(t0, ms(100), t0 + ms(50)), t0 + ms(100));
    assert_eq!(next_start(t0, ms(100), t0 + ms(100)), t0 + ms(200));
    assert_eq!(next_start(t0, ms(100), t0 + ms(350)), t0 + ms(400));
}
