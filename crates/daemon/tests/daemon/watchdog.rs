//! The watchdog (issue 16), with real processes in network namespaces:
//!
//! - our master (v3, `advert_int 0.1`) beside Debian's keepalived as backup: SIGSTOP of our
//!   VRRP engine alone (the parent runs on): the peer takes over, ours releases the VIP within
//!   2 s of the freeze (the bound asserted), a new engine runs (its pid in the `-r` file), the
//!   frozen one is gone, and afterwards exactly one host holds the VIP;
//! - a fake systemd (a datagram socket as `NOTIFY_SOCKET`, `WATCHDOG_USEC=2000000`): `WATCHDOG=1`
//!   arrives at least every second, also while an engine is frozen and replaced, stops while the
//!   parent itself is frozen, and comes back after it (no engine is blamed for the parent's own
//!   silence);
//! - what must not trip it: dumps to a FIFO nobody reads, 60 s notify scripts, reloads; the
//!   engine keeps its pid and the VIP.
//!
//! Measurements are printed as `watchdog: ...` lines (`--nocapture`). Needs root.

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::daemon::{Daemon, alive, read_pid, signal};
use crate::support::files::TempDir;
use crate::support::{Router, VIP4, holders, skip_reason_for, two_hosts, wait_from};

const POLL: Duration = Duration::from_millis(5);

fn vip() -> std::net::IpAddr {
    VIP4.parse().expect("vip")
}

/// One instance, v3 `advert_int 0.1`, with `extra_global` in `global_defs` and `extra_inst`
/// in the instance.
fn conf(router_id: &str, priority: u8, extra_global: &str, extra_inst: &str) -> String {
    format!(
        "global_defs {{\n    router_id {router_id}\n{extra_global}}}\n\
         vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    \
         priority {priority}\n    version 3\n    advert_int 0.1\n{extra_inst}    \
         virtual_ipaddress {{\n        {VIP4}/24 dev eth0\n    }}\n}}\n"
    )
}

/// Polls `f` every 20 ms until it gives a value or `timeout` passed.
fn poll_for<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let end = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= end {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn skip(keepalived: bool) -> bool {
    if let Some(reason) = skip_reason_for(keepalived, true) {
        eprintln!("skipped: {reason}");
        return true;
    }
    false
}

/// Waits until the daemon's VRRP engine is up and its instance holds the VIP on `host`.
fn wait_master(d: &Daemon, host: &lab::Host) -> u32 {
    let up = poll_for(Duration::from_secs(15), || {
        d.vrrp_pid().filter(|_| host.has_addr(vip()))
    });
    up.unwrap_or_else(|| panic!("never master:\n{}", d.log()))
}

#[test]
fn a_frozen_vrrp_engine_releases_its_vip_and_is_replaced() {
    if skip(true) {
        return;
    }
    let net = two_hosts("kawd1");
    let (ha1, ha2) = (net.hosts[0].clone(), net.hosts[1].clone());
    let dir = TempDir::new("watchdog-freeze");
    let ours = Daemon::start(&ha1, &dir.0, "ours", &conf("ha1", 150, "", ""), &[]);
    let old = wait_master(&ours, &ha1);
    let peer = Router::keepalived(&ha2, &conf("ha2", 100, "", ""));
    let backup = poll_for(Duration::from_secs(10), || {
        peer.logged("Entering BACKUP STATE").then_some(())
    });
    assert!(backup.is_some(), "{}", peer.describe());
    // The peer has heard us: it is backup, we alone hold the VIP.
    let settled = crate::support::wait_sole_holder(
        &net.hosts,
        0,
        vip(),
        Duration::from_secs(10),
        Duration::from_secs(1),
    );
    assert!(settled.is_some(), "{}\n{}", ours.log(), peer.describe());

    let t0 = Instant::now();
    signal("STOP", old);
    // Both watched in one loop, so each time is its own.
    let (mut released, mut taken) = (None, None);
    let _ = wait_from(t0, Duration::from_secs(5), POLL, || {
        if released.is_none() && !ha1.has_addr(vip()) {
            released = Some(t0.elapsed());
        }
        if taken.is_none() && ha2.has_addr(vip()) {
            taken = Some(t0.elapsed());
        }
        released.is_some() && taken.is_some()
    });
    let released = released.unwrap_or_else(|| panic!("VIP never released:\n{}", ours.log()));
    let taken = taken.unwrap_or_else(|| panic!("peer never took over:\n{}", peer.describe()));
    eprintln!(
        "watchdog: event=vrrp-freeze released_ms={} peer_took_over_ms={}",
        released.as_millis(),
        taken.as_millis()
    );
    assert!(
        released <= Duration::from_secs(2),
        "VIP held {released:?} after the freeze:\n{}",
        ours.log()
    );
    // Killed, logged as hung with its silence, replaced by a new engine in the pid file.
    let replaced = poll_for(Duration::from_secs(5), || {
        ours.vrrp_pid().filter(|&p| p != old)
    });
    let new = replaced.unwrap_or_else(|| panic!("no new engine:\n{}", ours.log()));
    assert!(!alive(old), "the hung engine {old} still runs");
    let log = ours.log();
    assert!(
        log.contains(&format!("VRRP child process({old}) hung (silent for ")),
        "{log}"
    );
    assert!(log.contains("killing it"), "{log}");
    assert!(
        log.contains("(killed by the watchdog): Respawning"),
        "{log}"
    );
    // Afterwards one host holds the VIP (ours again: it preempts the lower peer).
    let one = crate::support::wait_sole_holder(
        &net.hosts,
        0,
        vip(),
        Duration::from_secs(10),
        Duration::from_secs(1),
    );
    assert!(
        one.is_some(),
        "{:?}\n{}",
        holders(&net.hosts, vip()),
        ours.log()
    );
    assert_eq!(ours.vrrp_pid(), Some(new), "{}", ours.log());
    assert_eq!(ours.log().matches("hung (silent for").count(), 1);
}

/// Collects what a fake systemd receives on its notify socket, with arrival times.
fn fake_systemd(path: &Path) -> Arc<Mutex<Vec<(Instant, String)>>> {
    let sock = UnixDatagram::bind(path).expect("notify socket");
    let got = Arc::new(Mutex::new(Vec::new()));
    let out = got.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = sock.recv(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            out.lock().expect("lock").push((Instant::now(), text));
        }
    });
    got
}

/// The times of the `WATCHDOG=1` received between `from` and `to`.
fn pings(got: &Mutex<Vec<(Instant, String)>>, from: Instant, to: Instant) -> Vec<Instant> {
    got.lock()
        .expect("lock")
        .iter()
        .filter(|(t, m)| *t >= from && *t <= to && m.lines().any(|l| l == "WATCHDOG=1"))
        .map(|(t, _)| *t)
        .collect()
}

/// The longest gap between `from`, the pings and `to`.
fn longest_gap(from: Instant, pings: &[Instant], to: Instant) -> Duration {
    let mut all = vec![from];
    all.extend_from_slice(pings);
    all.push(to);
    all.windows(2)
        .map(|w| w[1] - w[0])
        .max()
        .unwrap_or_default()
}

#[test]
fn systemd_watchdog_pings_go_on_through_an_engine_hang_and_stop_with_the_parent() {
    if skip(false) {
        return;
    }
    let net = two_hosts("kawd2");
    let ha1 = net.hosts[0].clone();
    let dir = TempDir::new("watchdog-systemd");
    let notify = dir.0.join("notify.sock");
    let got = fake_systemd(&notify);
    let ours = Daemon::start_with(
        &ha1,
        &dir.0,
        "ours",
        &conf("ha1", 150, "", ""),
        &[],
        &[
            ("NOTIFY_SOCKET", notify.as_os_str()),
            ("WATCHDOG_USEC", "2000000".as_ref()),
        ],
    );
    let old = wait_master(&ours, &ha1);
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs(2));
    // An engine hangs and is replaced; the parent's pings go on.
    signal("STOP", old);
    let replaced = poll_for(Duration::from_secs(5), || {
        ours.vrrp_pid().filter(|&p| p != old)
    });
    assert!(replaced.is_some(), "{}", ours.log());
    std::thread::sleep(Duration::from_secs(1));
    let before_parent = Instant::now();
    let seen = pings(&got, start, before_parent);
    let gap = longest_gap(start, &seen, before_parent);
    eprintln!(
        "watchdog: event=systemd pings={} longest_gap_ms={}",
        seen.len(),
        gap.as_millis()
    );
    assert!(gap <= Duration::from_secs(1), "gap {gap:?}: {seen:?}");

    // The parent itself stops: so do the pings.
    let parent = ours.child.id();
    signal("STOP", parent);
    let frozen_at = Instant::now();
    std::thread::sleep(Duration::from_millis(2500));
    let thawed_at = Instant::now();
    signal("CONT", parent);
    let during = pings(&got, frozen_at + Duration::from_millis(100), thawed_at);
    assert!(
        during.is_empty(),
        "WATCHDOG=1 from a stopped parent: {during:?}"
    );
    std::thread::sleep(Duration::from_secs(2));
    let after = pings(&got, thawed_at, Instant::now());
    assert!(
        after.len() >= 2,
        "no pings after the parent resumed: {after:?}"
    );
    // The engines answered all along: none was blamed for the parent's silence.
    assert_eq!(
        ours.log().matches("hung (silent for").count(),
        1,
        "{}",
        ours.log()
    );
    assert_eq!(ours.vrrp_pid(), replaced, "{}", ours.log());
    // Engines never talk to systemd: every message came from the parent.
    let text: Vec<String> = got
        .lock()
        .expect("lock")
        .iter()
        .map(|(_, m)| m.clone())
        .collect();
    assert!(text.iter().any(|m| m.contains("READY=1")), "{text:?}");
}

#[test]
fn dumps_to_a_fifo_slow_scripts_and_reloads_do_not_trip_it() {
    if skip(false) {
        return;
    }
    let net = two_hosts("kawd3");
    let ha1 = net.hosts[0].clone();
    let dir = TempDir::new("watchdog-quiet");
    let fifo = dir.0.join("state.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    assert!(made, "mkfifo");
    let global = format!(
        "    script_user root\n    state_dump_file {}\n    stats_dump_file {}\n",
        fifo.display(),
        fifo.display()
    );
    let inst = "    notify_master \"/bin/sleep 60\"\n    notify \"/bin/sleep 60\"\n";
    let text = conf("ha1", 150, &global, inst);
    let ours = Daemon::start(&ha1, &dir.0, "ours", &text, &[]);
    let pid = wait_master(&ours, &ha1);
    let parent = ours.child.id();
    let end = Instant::now() + Duration::from_secs(8);
    let mut lost = false;
    let mut round = 0;
    while Instant::now() < end {
        match round % 3 {
            0 => signal("USR1", parent),
            1 => signal("USR2", parent),
            _ => signal("HUP", parent),
        }
        round += 1;
        for _ in 0..10 {
            lost |= !ha1.has_addr(vip());
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let log = ours.log();
    assert!(!log.contains("hung (silent for"), "{log}");
    assert_eq!(ours.vrrp_pid(), Some(pid), "{log}");
    assert!(!lost, "the VIP went away:\n{log}");
    assert!(log.contains("Reload finished"), "{log}");
    eprintln!("watchdog: event=quiet rounds={round} engine_kept=true");
    let _ = read_pid(&ours.pid_file);
}
