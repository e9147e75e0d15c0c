//! The daemon's checkers with real servers in a network namespace: a real server whose TCP_CHECK
//! fails is removed (and `notify_down` runs), comes back when its server returns (`notify_up`),
//! an HTTP_GET against a server that is not there removes its real server, and the missing IPVS
//! of this kernel is one warning, not a stop. Needs root (skips otherwise).

use std::time::Duration;

use crate::support::count_processes;
use crate::support::daemon::Daemon;
use crate::support::files::{TempDir, script, script_dir};
use lab::{Host, Lab, wait_until};

use crate::support::servers::{http_server, listening};

const POLL: Duration = Duration::from_millis(50);

#[test]
fn failing_real_server_is_removed_notified_and_restored() {
    if Lab::skip_unless_root() {
        return;
    }
    if !lab::have_program("python3") {
        eprintln!("skipping: python3 not installed");
        return;
    }
    let lab = Lab::new("kvchk").expect("lab");
    let host = lab.host("lb").expect("host");
    host.link_set_up("lo").expect("lo up");
    let dir = script_dir("checkers");
    let notify_log = dir.0.join("notify.log");
    let notify = script(
        &dir.0,
        "notify.sh",
        &format!("echo \"$1\" >> {}", notify_log.display()),
    );
    let conf = format!(
        "global_defs {{\n    script_user root\n}}\n\
         virtual_server 192.0.2.100 80 {{\n    delay_loop 1\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n\
         real_server 127.0.0.1 18080 {{\n        notify_down \"{n} down\"\n        notify_up \"{n} up\"\n\
         TCP_CHECK {{\n            connect_timeout 1\n            retry 1\n            delay_before_retry 1\n        }}\n    }}\n\
         real_server 127.0.0.1 18081 {{\n        HTTP_GET {{\n            url {{\n                path /\n                status_code 200\n            }}\n\
         connect_timeout 1\n        }}\n    }}\n}}\n",
        n = notify.display()
    );
    let mut server = http_server(&host, &dir.0, 18080);
    assert!(
        wait_until(Duration::from_secs(5), POLL, || listening(&host, 18080)).is_some(),
        "http.server did not start"
    );
    let daemon = Daemon::start(&host, &dir.0, "lb", &conf, &[]);
    let logged = |needle: &str, secs: u64| {
        wait_until(Duration::from_secs(secs), POLL, || daemon.logged(needle)).is_some()
    };
    assert!(logged("IPVS is not available", 5), "{}", daemon.log());
    // Nothing listens on 18081: its HTTP_GET fails twice (retry 1) and it is removed.
    assert!(
        logged("Removing service [127.0.0.1]:tcp:18081", 10),
        "{}",
        daemon.log()
    );
    assert!(!daemon.logged("Removing service [127.0.0.1]:tcp:18080"));
    // The balancer's decisions are logged even without IPVS in the kernel.
    assert!(
        daemon.logged("IPVS: add service tcp 192.0.2.100:80 scheduler rr"),
        "{}",
        daemon.log()
    );
    assert!(
        logged(
            "IPVS: remove real server 127.0.0.1:18081 from tcp 192.0.2.100:80",
            2
        ),
        "{}",
        daemon.log()
    );
    server.kill();
    assert!(
        logged("Removing service [127.0.0.1]:tcp:18080", 10),
        "{}",
        daemon.log()
    );
    let _server = http_server(&host, &dir.0, 18080);
    assert!(
        logged("Adding service [127.0.0.1]:tcp:18080", 10),
        "{}",
        daemon.log()
    );
    let lines = || {
        std::fs::read_to_string(&notify_log)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let notified = wait_until(Duration::from_secs(3), POLL, || lines().len() >= 2);
    assert!(notified.is_some(), "notify lines: {:?}", lines());
    assert_eq!(lines(), ["down", "up"], "{}", daemon.log());
}

/// An HTTP server on 127.0.0.1:`port` in `host`'s namespace, run by a thread of this test: it
/// answers 200, or 500 while `failing` is set, and records when each request arrived.
struct CountingServer {
    failing: std::sync::Arc<std::sync::atomic::AtomicBool>,
    requests: std::sync::Arc<std::sync::Mutex<Vec<std::time::Instant>>>,
}

impl CountingServer {
    fn start(host: &Host, port: u16) -> CountingServer {
        use std::io::{Read as _, Write as _};
        use std::sync::atomic::Ordering;

        let failing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let ns = std::fs::File::open(format!("/run/netns/{}", host.netns())).expect("netns");
        let (f, r) = (failing.clone(), requests.clone());
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            nix::sched::setns(&ns, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
            let listener = std::net::TcpListener::bind(("127.0.0.1", port)).expect("bind");
            let _ = ready_tx.send(());
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let mut buf = [0u8; 1024];
                let _ = conn.read(&mut buf);
                if let Ok(mut v) = r.lock() {
                    v.push(std::time::Instant::now());
                }
                let status = if f.load(Ordering::SeqCst) {
                    "500 Internal Server Error"
                } else {
                    "200 OK"
                };
                let _ = write!(conn, "HTTP/1.0 {status}\r\nContent-Length: 2\r\n\r\nok");
            }
        });
        ready_rx
            .recv_timeout(Duration::from_secs(5))
            .expect("server ready");
        CountingServer { failing, requests }
    }

    fn set_failing(&self) -> std::time::Instant {
        self.failing
            .store(true, std::sync::atomic::Ordering::SeqCst);
        std::time::Instant::now()
    }

    fn requests_since(&self, t: std::time::Instant) -> Vec<std::time::Instant> {
        self.requests
            .lock()
            .map(|v| v.iter().copied().filter(|at| *at >= t).collect())
            .unwrap_or_default()
    }
}

#[test]
fn retries_are_counted_and_spaced_by_delay_before_retry() {
    if Lab::skip_unless_root() {
        return;
    }
    let lab = Lab::new("kvretry").expect("lab");
    let host = lab.host("lb").expect("host");
    host.link_set_up("lo").expect("lo up");
    let dir = TempDir::new("retry");
    let server = CountingServer::start(&host, 18090);
    let conf = "virtual_server 192.0.2.100 80 {\n    delay_loop 2\n    lb_algo rr\n    lb_kind NAT\n    \
                protocol TCP\n    real_server 127.0.0.1 18090 {\n        HTTP_GET {\n            url {\n                \
                path /\n                status_code 200\n            }\n            connect_timeout 1\n            \
                retry 2\n            delay_before_retry 1\n        }\n    }\n}\n";
    let daemon = Daemon::start(&host, &dir.0, "lb", conf, &[]);
    // Healthy for a while: requests arrive, nothing is removed.
    assert!(
        wait_until(Duration::from_secs(5), POLL, || !server
            .requests_since(std::time::Instant::now() - Duration::from_secs(10))
            .is_empty())
        .is_some(),
        "no check reached the server\n{}",
        daemon.log()
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(!daemon.logged("Removing service"), "{}", daemon.log());
    let flipped = server.set_failing();
    let removed = wait_until(Duration::from_secs(8), Duration::from_millis(10), || {
        daemon.logged("Removing service [127.0.0.1]:tcp:18090")
    });
    assert!(removed.is_some(), "{}", daemon.log());
    let failing = server.requests_since(flipped);
    // The first failing attempt, then `retry 2` more, `delay_before_retry 1` apart; then down.
    assert_eq!(
        failing.len(),
        3,
        "failing attempts before removal: {failing:?}"
    );
    for pair in failing.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            (Duration::from_millis(900)..Duration::from_millis(1500)).contains(&gap),
            "attempts {gap:?} apart, not delay_before_retry (1 s)"
        );
    }
}

#[test]
fn hanging_misc_check_is_killed_at_misc_timeout_and_fails() {
    if Lab::skip_unless_root() {
        return;
    }
    let lab = Lab::new("kvmisc").expect("lab");
    let host = lab.host("lb").expect("host");
    host.link_set_up("lo").expect("lo up");
    let dir = script_dir("misc");
    let marker = format!("{}.5", 3000 + std::process::id() % 1000);
    let hang = script(&dir.0, "hang.sh", &format!("exec sleep {marker}"));
    let conf = format!(
        "global_defs {{\n    script_user root\n}}\n\
         virtual_server 192.0.2.100 80 {{\n    delay_loop 5\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n\
         real_server 127.0.0.1 18091 {{\n        MISC_CHECK {{\n            misc_path \"{}\"\n            misc_timeout 1\n        }}\n    }}\n}}\n",
        hang.display()
    );
    let daemon = Daemon::start(&host, &dir.0, "lb", &conf, &[]);
    let needle = format!("sleep {marker}");
    let started = wait_until(Duration::from_secs(7), Duration::from_millis(5), || {
        count_processes(&needle) > 0
    });
    assert!(started.is_some(), "MISC_CHECK never ran\n{}", daemon.log());
    let killed = wait_until(
        Duration::from_millis(1800),
        Duration::from_millis(10),
        || count_processes(&needle) == 0,
    );
    assert!(
        killed.is_some(),
        "not killed at misc_timeout\n{}",
        daemon.log()
    );
    let removed = wait_until(Duration::from_secs(2), POLL, || {
        daemon.logged("Removing service [127.0.0.1]:tcp:18091")
    });
    assert!(removed.is_some(), "{}", daemon.log());
}

#[test]
fn a_real_server_shared_by_two_virtual_servers_is_checked_once() {
    if Lab::skip_unless_root() {
        return;
    }
    let lab = Lab::new("kvshare").expect("lab");
    let host = lab.host("lb").expect("host");
    host.link_set_up("lo").expect("lo up");
    let dir = TempDir::new("share");
    let server = CountingServer::start(&host, 18092);
    let vs = |addr: &str| {
        format!(
            "virtual_server {addr} 80 {{\n    delay_loop 1\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n    \
             real_server 127.0.0.1 18092 {{\n        HTTP_GET {{\n            url {{\n                path /\n            \
             }}\n            connect_timeout 1\n        }}\n    }}\n}}\n"
        )
    };
    let conf = vs("192.0.2.100") + &vs("192.0.2.101");
    let daemon = Daemon::start(&host, &dir.0, "lb", &conf, &[]);
    assert!(
        wait_until(Duration::from_secs(5), POLL, || daemon
            .logged("identical checks shared"))
        .is_some(),
        "{}",
        daemon.log()
    );
    assert!(
        daemon.logged("1 checks of 2 real servers (1 identical checks shared)"),
        "{}",
        daemon.log()
    );
    std::thread::sleep(Duration::from_secs(2));
    let t0 = std::time::Instant::now();
    std::thread::sleep(Duration::from_secs(4));
    let n = server.requests_since(t0).len();
    // delay_loop 1 s counted from the end of each attempt: about 4 requests in 4 s, not 8.
    assert!(
        (3..=5).contains(&n),
        "{n} requests in 4 s\n{}",
        daemon.log()
    );
}

/// `ha_suspend`: the checks of a virtual server whose address is not on this host do not run;
/// they start when the address is added (seen through rtnetlink notifications) and stop again
/// when it is removed.
#[test]
fn ha_suspend_runs_checks_only_while_the_address_is_here() {
    ha_suspend_scenario(
        "has",
        "",
        "virtual_server 192.0.2.50 80",
        "192.0.2.50",
        "192.0.2.50",
    );
}

/// `ha_suspend` on a `virtual_server group`: suspended while no address of the group's ranges
/// is on this host; one address in the middle of a range resumes it.
#[test]
fn ha_suspend_of_a_group_follows_any_address_of_its_ranges() {
    ha_suspend_scenario(
        "hgs",
        "virtual_server_group web {\n    192.0.2.60-62 80\n    203.0.113.9 80\n}\n",
        "virtual_server group web",
        "group web",
        "192.0.2.61",
    );
}

/// Runs `head` (a `virtual_server` line, after the `groups` blocks) with `ha_suspend`, checks
/// it is suspended (logged as `label`), adds `addr`, checks it resumes, removes it again. `tag`
/// names the lab and the directory (tests run in parallel).
fn ha_suspend_scenario(tag: &str, groups: &str, head: &str, label: &str, addr: &str) {
    if Lab::skip_unless_root() {
        return;
    }
    let lab = Lab::new(&format!("kv{tag}")).expect("lab");
    let host = lab.host("lb").expect("host");
    host.link_set_up("lo").expect("lo up");
    let dir = script_dir(&format!("{tag}suspend"));
    let runs = dir.0.join("runs.log");
    let check = script(
        &dir.0,
        "check.sh",
        &format!("echo run >> {}", runs.display()),
    );
    let conf = format!(
        "global_defs {{\n    script_user root\n}}\n\
         {groups}{head} {{\n    delay_loop 1\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n\
         ha_suspend\n    real_server 127.0.0.1 18090 {{\n        MISC_CHECK {{\n            misc_path {}\n\
         warmup 0\n        }}\n    }}\n}}\n",
        check.display()
    );
    let count = || {
        std::fs::read_to_string(&runs)
            .unwrap_or_default()
            .lines()
            .count()
    };
    let daemon = Daemon::start(&host, &dir.0, "lb", &conf, &[]);
    let logged = |needle: &str, secs: u64| {
        wait_until(Duration::from_secs(secs), POLL, || daemon.logged(needle)).is_some()
    };
    assert!(
        logged(&format!("VS {label} is not on this host: suspending"), 5),
        "{}",
        daemon.log()
    );
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(count(), 0, "suspended: no check ran\n{}", daemon.log());
    let vip = format!("{addr}/32");
    host.run_ok("ip", ["addr", "add", &vip, "dev", "lo"])
        .expect("add the VIP");
    assert!(
        logged(&format!("VS {label} is on this host: resuming"), 5),
        "{}",
        daemon.log()
    );
    assert!(
        wait_until(Duration::from_secs(5), POLL, || count() >= 2).is_some(),
        "checks run once the address is here\n{}",
        daemon.log()
    );
    host.run_ok("ip", ["addr", "del", &vip, "dev", "lo"])
        .expect("remove the VIP");
    assert!(
        wait_until(Duration::from_secs(5), POLL, || {
            daemon.log().matches("suspending its checks").count() == 2
        })
        .is_some(),
        "{}",
        daemon.log()
    );
    std::thread::sleep(Duration::from_millis(1500));
    let settled = count();
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(count(), settled, "suspended again\n{}", daemon.log());
}

/// `omega`: at shutdown the `notify_down` of each live real server and the `quorum_down` of a
/// virtual server whose quorum holds run before the daemon exits; without `omega` they do not.
#[test]
fn omega_runs_the_down_notifications_at_shutdown() {
    if Lab::skip_unless_root() {
        return;
    }
    let lab = Lab::new("kvomg").expect("lab");
    let host = lab.host("lb").expect("host");
    host.link_set_up("lo").expect("lo up");
    let dir = script_dir("omega");
    let out = dir.0.join("notified.log");
    let note = script(
        &dir.0,
        "note.sh",
        &format!("echo \"$1\" >> {}", out.display()),
    );
    let vs = |addr: &str, omega: &str, tag: &str| {
        format!(
            "virtual_server {addr} 80 {{\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n    {omega}\n\
             quorum_down \"{s} quorum-{tag}\"\n\
             real_server 127.0.0.1 18100 {{\n        notify_down \"{s} down-{tag}\"\n    }}\n}}\n",
            s = note.display()
        )
    };
    let conf = format!(
        "global_defs {{\n    script_user root\n}}\n{}{}",
        vs("192.0.2.60", "omega", "omega"),
        vs("192.0.2.61", "", "plain")
    );
    let mut daemon = Daemon::start(&host, &dir.0, "lb", &conf, &[]);
    assert!(
        wait_until(Duration::from_secs(5), POLL, || daemon.logged(
            "IPVS: add real server 127.0.0.1:18100 to tcp 192.0.2.61:80"
        ))
        .is_some(),
        "{}",
        daemon.log()
    );
    daemon.child.signal("TERM").expect("SIGTERM");
    assert!(
        daemon.child.wait_timeout(Duration::from_secs(10)).is_some(),
        "{}",
        daemon.log()
    );
    let mut lines: Vec<String> = std::fs::read_to_string(&out)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect();
    lines.sort();
    assert_eq!(lines, ["down-omega", "quorum-omega"], "{}", daemon.log());
}

/// The nice value (field 19 of /proc/PID/task/TID/stat) of each thread of `pid`.
fn thread_nice_values(pid: u32) -> Vec<i64> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|t| {
            let stat = std::fs::read_to_string(t.path().join("stat")).ok()?;
            let rest = &stat[stat.rfind(')')? + 2..];
            // `rest` starts at field 3 (state): field 19 is its 17th.
            rest.split_whitespace().nth(19 - 3)?.parse().ok()
        })
        .collect()
}

#[test]
fn checker_process_settings_are_applied_to_the_checker_engine() {
    if Lab::skip_unless_root() {
        return;
    }
    let lab = Lab::new("kvcsch").expect("lab");
    let host = lab.host("lb").expect("host");
    host.link_set_up("lo").expect("lo up");
    let dir = TempDir::new("checker-sched");
    let conf = "global_defs {\n    checker_priority 7\n    checker_cpu_affinity 0\n}\n\
                virtual_server 192.0.2.62 80 {\n    delay_loop 1\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n\
                real_server 127.0.0.1 18110 {\n        TCP_CHECK {\n            connect_timeout 1\n        }\n    }\n}\n";
    let mut daemon = Daemon::start(&host, &dir.0, "lb", conf, &[]);
    let started = wait_until(Duration::from_secs(5), POLL, || {
        daemon.checker_pid().is_some() && daemon.logged("IPVS is not available")
    });
    assert!(started.is_some(), "no checker engine\n{}", daemon.log());
    let pid = daemon.checker_pid().expect("checker pid");
    // Every thread of the checker engine (its runtime runs the signal loop and the checks), not
    // the supervising parent.
    let nice = thread_nice_values(pid);
    assert!(!nice.is_empty(), "threads: {nice:?}");
    assert!(
        nice.iter().all(|&n| n == 7),
        "checker threads' nice: {nice:?}"
    );
    assert_eq!(thread_nice_values(daemon.child.id()).first(), Some(&0));
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    assert!(
        status.lines().any(|l| l == "Cpus_allowed_list:\t0"),
        "checker_cpu_affinity 0 not applied:\n{status}"
    );
    daemon.child.kill();
}
