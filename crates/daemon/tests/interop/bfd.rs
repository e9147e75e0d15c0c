//! BFD on the wire with Debian's keepalived 2.2.7 (issue 20): keepalived-rs on ha1, keepalived on
//! ha2, one session each way at 50 ms × 3 (detection time 150 ms).
//!
//! - `track_bfd` (weight 0): the VRRP instance stays in FAULT until the session is Up, then
//!   becomes master; each time the peer freezes (SIGSTOP of all its processes) the instance
//!   releases its VIP within the detection time + 100 ms (measured once the session is back at
//!   150 ms: it comes Up at `idle_tx`, then polls down), and takes it again when the peer
//!   thaws and the session comes back; the metrics count the expiries;
//! - BFD_CHECK: the real server follows the session (added when it is Up, removed within the
//!   detection time + 100 ms of the freeze; no IPVS here, so the checker's log says it);
//! - `-B`: no BFD process, so the tracking instance stays in FAULT.
//!
//! Measurements are printed as `interop: case=bfd-... takeover_ms=... bound_ms=...`.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::support::{Router, report, skip_reason_for, two_hosts, wait_from};

/// Detection time of the sessions (50 ms × 3) plus the 100 ms.
const BOUND: Duration = Duration::from_millis(250);
/// Freezes per run, for a median and a worst case.
const ROUNDS: usize = 5;
const FINE: Duration = Duration::from_millis(1);
const VIP: &str = "192.0.2.100";

/// A `bfd_instance b1` from `local` to `peer` at 50 ms × 3.
pub fn bfd_instance(local: &str, peer: &str) -> String {
    format!(
        "bfd_instance b1 {{\n    neighbor_ip {peer}\n    source_ip {local}\n    min_rx 50\n    \
         min_tx 50\n    idle_tx 1000\n    multiplier 3\n}}\n"
    )
}

fn tracking_instance() -> String {
    format!(
        "vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    \
         priority 100\n    version 3\n    advert_int 0.1\n    track_bfd {{\n        b1\n    }}\n    \
         virtual_ipaddress {{\n        {VIP}/24\n    }}\n}}\n"
    )
}

fn vip() -> IpAddr {
    VIP.parse().expect("vip")
}

/// The metrics endpoint's answer, fetched inside `host` (Python's urllib: no curl needed).
fn scrape(host: &lab::Host) -> String {
    let script = "import urllib.request, sys\n\
                  sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:9165/metrics', \
                  timeout=10).read().decode())\n";
    host.run_ok("python3", ["-c", script]).unwrap_or_default()
}

/// The session's detection time in a scrape.
fn detection_us(text: &str) -> Option<f64> {
    let series = "keepalived_bfd_session_detection_time_microseconds\
                  {bfd_instance=\"b1\",neighbor=\"192.0.2.2\"} ";
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.parse().ok())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[test]
fn track_bfd_faults_within_detection_time_of_a_frozen_keepalived() {
    if skip_reason_for(true, true).is_some() {
        return;
    }
    let net = two_hosts("kaibfdv");
    let (ha1, ha2) = (&net.hosts[0], &net.hosts[1]);
    let mut peer = Router::keepalived(ha2, &bfd_instance("192.0.2.2", "192.0.2.1"));
    let ours = Router::ours(
        ha1,
        &format!(
            "global_defs {{\n    metrics_listen 127.0.0.1:9165\n}}\n{}{}",
            bfd_instance("192.0.2.1", "192.0.2.2"),
            tracking_instance()
        ),
    );
    let up = wait_from(Instant::now(), Duration::from_secs(15), FINE * 20, || {
        ha1.has_addr(vip())
    });
    assert!(
        up.is_some(),
        "the instance never became master\n{}{}",
        ours.describe(),
        peer.describe()
    );
    assert!(ours.logged("(b1) Entering Up state"), "{}", ours.describe());
    // Before the session was Up, the instance was in FAULT (a session not yet Up is down).
    let out = ours.output().to_lowercase();
    let fault = out.find("(vi_1) entering fault state");
    let master = out.find("(vi_1) entering master state");
    assert!(
        fault.is_some() && fault < master,
        "FAULT before MASTER expected\n{out}"
    );

    let mut took = Vec::new();
    for round in 0..ROUNDS {
        // Up comes at idle_tx (1 s × 3); the Poll Sequence to 50 ms follows. Freeze only once
        // the detection time is 150 ms again.
        let fast = wait_from(Instant::now(), Duration::from_secs(10), FINE * 50, || {
            detection_us(&scrape(ha1)) == Some(150_000.0)
        });
        assert!(
            fast.is_some(),
            "round {round}: never back to 150 ms\n{}",
            ours.describe()
        );
        let t0 = peer.freeze();
        let gone = wait_from(t0, Duration::from_secs(3), FINE, || !ha1.has_addr(vip()));
        let Some(d) = gone else {
            panic!("round {round}: the VIP stayed\n{}", ours.describe());
        };
        report("bfd-track", "ours-vs-keepalived", "fault", d, BOUND);
        took.push(d);
        peer.thaw();
        let back = wait_from(Instant::now(), Duration::from_secs(10), FINE * 10, || {
            ha1.has_addr(vip())
        });
        assert!(
            back.is_some(),
            "round {round}: the instance never came back\n{}{}",
            ours.describe(),
            peer.describe()
        );
    }
    let worst = *took.iter().max().expect("rounds");
    eprintln!(
        "interop: case=bfd-track detection median_ms={} worst_ms={}",
        median(took.clone()).as_millis(),
        worst.as_millis()
    );
    assert!(
        worst <= BOUND,
        "a fault took {worst:?} (> {BOUND:?}): {took:?}\n{}",
        ours.describe()
    );
    // The metrics count what happened: every freeze was an expiry and a way down.
    let labels = "{bfd_instance=\"b1\",neighbor=\"192.0.2.2\"}";
    let text = scrape(ha1);
    let value = |name: &str| {
        text.lines().find_map(|l| {
            l.strip_prefix(&format!("{name}{labels} "))?
                .parse::<f64>()
                .ok()
        })
    };
    assert_eq!(value("keepalived_bfd_session_up"), Some(1.0), "{text}");
    assert!(
        value("keepalived_bfd_session_expired_total") >= Some(ROUNDS as f64),
        "{text}"
    );
    assert!(
        value("keepalived_bfd_session_up_transitions_total") > Some(ROUNDS as f64),
        "{text}"
    );
    assert!(
        text.contains("keepalived_engine_up{engine=\"bfd\"} 1"),
        "{text}"
    );
    assert!(ours.logged("VRRP_Instance(VI_1) Tracked BFD instance b1 is DOWN"));
    assert!(ours.logged("VRRP_Instance(VI_1) Tracked BFD instance b1 is UP"));
    // keepalived saw our session too.
    assert!(peer.logged("(b1) Entering Up state"), "{}", peer.describe());
}

#[test]
fn bfd_check_takes_a_real_server_out_and_back() {
    if skip_reason_for(true, true).is_some() {
        return;
    }
    let net = two_hosts("kaibfdc");
    let (ha1, ha2) = (&net.hosts[0], &net.hosts[1]);
    let mut peer = Router::keepalived(ha2, &bfd_instance("192.0.2.2", "192.0.2.1"));
    let vs = "virtual_server 192.0.2.100 80 {\n    protocol TCP\n    \
              real_server 192.0.2.2 80 {\n        BFD_CHECK {\n            name b1\n        \
              }\n    }\n}\n";
    let ours = Router::ours(
        ha1,
        &format!(
            "global_defs {{\n    metrics_listen 127.0.0.1:9165\n}}\n{}{vs}",
            bfd_instance("192.0.2.1", "192.0.2.2")
        ),
    );
    let added = "Adding service [192.0.2.2]:tcp:80";
    let removed = "Removing service [192.0.2.2]:tcp:80";
    let up = wait_from(Instant::now(), Duration::from_secs(15), FINE * 20, || {
        ours.logged(added)
    });
    assert!(up.is_some(), "never added\n{}", ours.describe());
    let fast = wait_from(Instant::now(), Duration::from_secs(10), FINE * 50, || {
        detection_us(&scrape(ha1)) == Some(150_000.0)
    });
    assert!(fast.is_some(), "never at 150 ms\n{}", ours.describe());
    // keepalived-ctl status shows the session.
    let socket = ours.run_dir().join("ka.ctl");
    let s = crate::support::ctl_status(ha1, &socket);
    let b1 = &s["bfd_sessions"][0];
    assert_eq!(
        (
            b1["name"].as_str(),
            b1["neighbor"].as_str(),
            b1["state"].as_str()
        ),
        (Some("b1"), Some("192.0.2.2"), Some("Up")),
        "{s}"
    );
    assert_eq!(b1["detect_time_ms"], 150.0, "{s}");
    let t0 = peer.freeze();
    let gone = wait_from(t0, Duration::from_secs(3), FINE, || ours.logged(removed));
    let Some(d) = gone else {
        panic!("never removed\n{}", ours.describe());
    };
    report("bfd-check", "ours-vs-keepalived", "removed", d, BOUND);
    // The log is read from a file: allow for its polling.
    assert!(
        d <= BOUND + Duration::from_millis(50),
        "{d:?}\n{}",
        ours.describe()
    );
    peer.thaw();
    let back = wait_from(Instant::now(), Duration::from_secs(10), FINE * 10, || {
        ours.count_logged(added) >= 2
    });
    assert!(back.is_some(), "never added again\n{}", ours.describe());
}

#[test]
fn without_the_bfd_process_a_tracking_instance_stays_in_fault() {
    if skip_reason_for(true, true).is_some() {
        return;
    }
    let net = two_hosts("kaibfdn");
    let (ha1, ha2) = (&net.hosts[0], &net.hosts[1]);
    let peer = Router::keepalived(ha2, &bfd_instance("192.0.2.2", "192.0.2.1"));
    let conf = format!(
        "{}{}",
        bfd_instance("192.0.2.1", "192.0.2.2"),
        tracking_instance()
    );
    let ours = Router::start_with_args(crate::support::Impl::Ours, ha1, "ha1", &conf, &["-B"]);
    let fault = wait_from(Instant::now(), Duration::from_secs(10), FINE * 20, || {
        ours.output()
            .to_lowercase()
            .contains("(vi_1) entering fault state")
    });
    assert!(fault.is_some(), "{}", ours.describe());
    std::thread::sleep(Duration::from_secs(2));
    assert!(!ha1.has_addr(vip()), "{}", ours.describe());
    assert!(!ours.logged("BFD child process"), "{}", ours.describe());
    drop(peer);
}

#[test]
fn a_killed_bfd_process_is_restarted_and_its_sessions_count_down_until_up() {
    if skip_reason_for(true, true).is_some() {
        return;
    }
    let net = two_hosts("kaibfdr");
    let (ha1, ha2) = (&net.hosts[0], &net.hosts[1]);
    let peer = Router::keepalived(ha2, &bfd_instance("192.0.2.2", "192.0.2.1"));
    let ours = Router::ours(
        ha1,
        &format!(
            "{}{}",
            bfd_instance("192.0.2.1", "192.0.2.2"),
            tracking_instance()
        ),
    );
    let up = wait_from(Instant::now(), Duration::from_secs(15), FINE * 20, || {
        ha1.has_addr(vip())
    });
    assert!(up.is_some(), "{}{}", ours.describe(), peer.describe());
    // -b: the BFD child's pid file.
    let pid_file = ours.run_dir().join("bfd.pid");
    let read_pid = || {
        std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
    };
    let first = read_pid().expect("bfd pid file");
    assert!(ours.pids().contains(&first), "{first} is not ours");
    let t0 = Instant::now();
    let _ = std::process::Command::new("kill")
        .args(["-KILL", &first.to_string()])
        .status();
    // The VRRP process loses the events: the session counts as down, the VIP goes at once.
    let gone = wait_from(t0, Duration::from_secs(3), FINE, || !ha1.has_addr(vip()));
    let Some(d) = gone else {
        panic!("the VIP stayed\n{}", ours.describe());
    };
    report("bfd-restart", "ours-vs-keepalived", "fault", d, BOUND);
    assert!(d <= BOUND, "{d:?}\n{}", ours.describe());
    // A new BFD process, its session Up again, and the instance back.
    let back = wait_from(Instant::now(), Duration::from_secs(15), FINE * 20, || {
        ha1.has_addr(vip())
    });
    assert!(back.is_some(), "{}{}", ours.describe(), peer.describe());
    let second = read_pid().expect("bfd pid file");
    assert_ne!(first, second);
    assert!(
        ours.logged("BFD events: lost the BFD process"),
        "{}",
        ours.describe()
    );
}
