//! SIGHUP reload of the VRRP engine, for real: two keepalived-rs routers on a veth in network
//! namespaces (VRRPv3, advert_int 0.1).
//! * 1,000 reloads of an unchanged configuration on each router: no state transition, no gap in
//!   the master's adverts (captured by a raw VRRP socket in the backup's namespace) longer than
//!   1.5 intervals, RSS not growing. Each reload is waited for ("Reload finished") before the
//!   next SIGHUP, and a round (both routers) starts at most every 10 ms, so the reloads span
//!   about a hundred advert intervals.
//! * A reload that adds an instance, removes one and changes the addresses of a third: only
//!   those change (`ip monitor address` sees no event for the others' addresses).
//! * A configuration that cannot be read: refused, the old one keeps running; one with errors
//!   elsewhere: applied as keepalived applies it, the running instance untouched.
//!
//! Needs root (skips otherwise). Documentation addresses only.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::support::daemon::Daemon;
use crate::support::files::{TempDir, script, script_dir};
use crate::support::net::veth_pair;
use keepalived_net::{VrrpSocket, VrrpSocketConfig};
use lab::{Host, Lab, LabChild, wait_until};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

const POLL: Duration = Duration::from_millis(10);
/// Reloads after which RSS is measured again (see the 1,000-reload test).
const WARM_UP: usize = 10;
/// How long the 1,000-reload test captures adverts before reloading, for a baseline.
const BASELINE: Duration = Duration::from_secs(5);
/// The 1,000-reload test reloads both routers (one after the other, each waited for) at most
/// once per PACE.
const PACE: Duration = Duration::from_millis(10);

/// One `vrrp_instance` (VRRPv3, advert_int 0.1) with `vips` and `extra` lines.
fn instance(name: &str, vrid: u8, priority: u8, vips: &[&str], extra: &str) -> String {
    let vips: String = vips.iter().map(|v| format!("        {v}\n")).collect();
    format!(
        "vrrp_instance {name} {{\n    interface eth0\n    virtual_router_id {vrid}\n    \
         version 3\n    advert_int 0.1\n    priority {priority}\n{extra}    \
         virtual_ipaddress {{\n{vips}    }}\n}}\n"
    )
}

fn addr(s: &str) -> IpAddr {
    s.parse().expect("address")
}

/// Reads a daemon's log as it grows, line by line.
struct Tail {
    path: PathBuf,
    offset: u64,
    partial: String,
    lines: Vec<String>,
}

impl Tail {
    fn new(path: PathBuf) -> Tail {
        Tail {
            path,
            offset: 0,
            partial: String::new(),
            lines: Vec::new(),
        }
    }

    /// Reads what was appended; returns the index of the first new line.
    fn poll(&mut self) -> usize {
        let first = self.lines.len();
        let Ok(mut f) = File::open(&self.path) else {
            return first;
        };
        if f.seek(SeekFrom::Start(self.offset)).is_err() {
            return first;
        }
        let mut buf = String::new();
        if let Ok(n) = f.read_to_string(&mut buf) {
            self.offset += n as u64;
        }
        self.partial.push_str(&buf);
        while let Some(i) = self.partial.find('\n') {
            let line: String = self.partial.drain(..=i).collect();
            self.lines.push(line.trim_end().to_owned());
        }
        first
    }

    fn count(&self, from: usize, needle: &str) -> usize {
        self.lines[from..]
            .iter()
            .filter(|l| l.contains(needle))
            .count()
    }

    fn text(&self) -> String {
        self.lines.join("\n")
    }
}

/// The log file of a [`Daemon`] started as `name` in `dir`.
fn log_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.log"))
}

/// Resident set size of `pid` in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// RSS of the whole daemon: the supervising parent (which checks every reloaded
/// configuration too) plus its VRRP engine process.
fn daemon_rss_kib(d: &Daemon) -> u64 {
    let (parent, engine) = (rss_kib(d.child.id()), d.vrrp_pid().map_or(0, rss_kib));
    println!("RSS parent {parent} KiB + VRRP engine {engine} KiB");
    parent + engine
}

fn hup(child: &LabChild) {
    let pid = i32::try_from(child.id()).expect("pid");
    kill(Pid::from_raw(pid), Signal::SIGHUP).expect("SIGHUP");
}

/// Sends SIGHUP and waits for the reload to finish; returns its duration as logged.
fn reload_and_wait(child: &LabChild, tail: &mut Tail, timeout: Duration) -> Option<Duration> {
    let from = tail.lines.len();
    hup(child);
    let deadline = Instant::now() + timeout;
    loop {
        tail.poll();
        for line in &tail.lines[from..] {
            if let Some(rest) = line.split("Reload finished in ").nth(1) {
                let usec: u64 = rest.split_whitespace().next()?.parse().ok()?;
                return Some(Duration::from_micros(usec));
            }
            if line.contains("Reload failed") {
                return None;
            }
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// One advert seen: when, from whom, VRID, priority.
type Seen = (Instant, IpAddr, u8, u8);

/// A raw VRRP socket in a host's namespace, recording every advert until stopped.
struct Capture {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Vec<Seen>>,
}

impl Capture {
    fn start(host: &Host) -> Capture {
        use nix::sched::{CloneFlags, setns};
        let ns = File::open(format!("/run/netns/{}", host.netns())).expect("netns");
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            setns(&ns, CloneFlags::CLONE_NEWNET).expect("setns");
            let socket = VrrpSocket::open(&VrrpSocketConfig::v4("eth0")).expect("raw socket");
            let _ = ready_tx.send(());
            let mut seen = Vec::new();
            let mut buf = vec![0u8; 2048];
            while !flag.load(Ordering::Relaxed) {
                if let Ok(Some(rx)) = socket.recv_timeout(&mut buf, Duration::from_millis(50)) {
                    let at = Instant::now();
                    if let Some(p) = buf.get(rx.payload.clone())
                        && p.len() >= 3
                    {
                        seen.push((at, rx.src, p[1], p[2]));
                    }
                }
            }
            seen
        });
        ready_rx
            .recv_timeout(Duration::from_secs(5))
            .expect("capture ready");
        Capture { stop, thread }
    }

    fn finish(self) -> Vec<Seen> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("capture thread")
    }
}

/// The longest gap between consecutive adverts from `src` for `vrid` received in `from..to`,
/// and their number.
fn max_gap(seen: &[Seen], src: IpAddr, vrid: u8, from: Instant, to: Instant) -> (Duration, usize) {
    let times: Vec<Instant> = seen
        .iter()
        .filter(|s| s.1 == src && s.2 == vrid && s.0 >= from && s.0 <= to)
        .map(|s| s.0)
        .collect();
    let gap = times
        .windows(2)
        .map(|w| w[1] - w[0])
        .max()
        .unwrap_or_default();
    (gap, times.len())
}

/// Starts ha1 (priority 150) and ha2 (100) on `conf1` / `conf2` and waits until ha1 holds
/// `vip` and both have settled.
fn start_pair(
    ha1: &Host,
    ha2: &Host,
    dir: &Path,
    conf1: &str,
    conf2: &str,
    vip: IpAddr,
) -> (Daemon, Daemon) {
    let master = Daemon::start(ha1, dir, "ha1", conf1, &[]);
    std::thread::sleep(Duration::from_millis(200));
    let backup = Daemon::start(ha2, dir, "ha2", conf2, &[]);
    let up = wait_until(Duration::from_secs(10), POLL, || ha1.has_addr(vip));
    assert!(
        up.is_some(),
        "ha1 never became master:\n{}\n{}",
        master.log(),
        backup.log()
    );
    // Let start-up elections finish before anything is measured.
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        !ha2.has_addr(vip),
        "ha2 holds the VIP too:\n{}",
        backup.log()
    );
    (master, backup)
}

#[test]
fn thousand_unchanged_reloads_change_nothing() {
    if lab::skip_unless_root() {
        return;
    }
    let reloads: usize = std::env::var("RELOADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let lab = Lab::new("krl").expect("lab");
    let (ha1, ha2) = veth_pair(&lab);
    let dir = TempDir::new("reload-many");
    let flag = dir.0.join("weight");
    std::fs::write(&flag, "0\n").expect("track file");
    let common = format!(
        "track_file tf {{\n    file {}\n    weight 1\n}}\n",
        flag.display()
    );
    // No delayed second GARP burst (garp_master_delay 0): any burst seen would be the reload's.
    let extra = "    garp_master_delay 0\n    track_file {\n        tf\n    }\n";
    let conf1 = format!(
        "{common}{}",
        instance("VI_1", 51, 150, &["192.0.2.100/24"], extra)
    );
    let conf2 = format!(
        "{common}{}",
        instance("VI_1", 51, 100, &["192.0.2.100/24"], extra)
    );
    let vip = addr("192.0.2.100");
    let (mut master, mut backup) = start_pair(&ha1, &ha2, &dir.0, &conf1, &conf2, vip);
    let mut tails = [
        Tail::new(log_path(&dir.0, "ha1")),
        Tail::new(log_path(&dir.0, "ha2")),
    ];
    tails[0].poll();
    tails[1].poll();
    let marks = [tails[0].lines.len(), tails[1].lines.len()];
    let rss_first = [daemon_rss_kib(&master), daemon_rss_kib(&backup)];

    let capture = Capture::start(&ha2);
    // A baseline without reloads: the gaps this machine gives anyway.
    let baseline_from = Instant::now();
    std::thread::sleep(BASELINE);
    let started = Instant::now();
    let mut durations = Vec::with_capacity(2 * reloads);
    // RSS after the first reloads too: the first one starts the blocking thread that reads the
    // configuration and warms the allocator, a one-off; growth after that would be a leak.
    let mut rss_warm = rss_first;
    for i in 0..reloads {
        let round = Instant::now();
        if i == WARM_UP.min(reloads) {
            rss_warm = [daemon_rss_kib(&master), daemon_rss_kib(&backup)];
        }
        for (n, d) in [&master, &backup].into_iter().enumerate() {
            let took = reload_and_wait(&d.child, &mut tails[n], Duration::from_secs(10));
            let Some(took) = took else {
                panic!(
                    "reload {i} of ha{} did not finish:\n{}",
                    n + 1,
                    tails[n].lines[tails[n].lines.len().saturating_sub(30)..].join("\n")
                );
            };
            durations.push(took);
        }
        // At most one round per PACE, so the reloads span many advert intervals.
        if let Some(rest) = PACE.checked_sub(round.elapsed()) {
            std::thread::sleep(rest);
        }
    }
    let elapsed = started.elapsed();
    // One more second of adverts after the last reload.
    std::thread::sleep(Duration::from_secs(1));
    let seen = capture.finish();
    let rss_last = [daemon_rss_kib(&master), daemon_rss_kib(&backup)];
    tails[0].poll();
    tails[1].poll();

    let end = Instant::now();
    let (gap, adverts) = max_gap(&seen, addr("192.0.2.1"), 51, started, end);
    let (baseline_gap, _) = max_gap(&seen, addr("192.0.2.1"), 51, baseline_from, started);
    let backup_adverts = max_gap(&seen, addr("192.0.2.2"), 51, baseline_from, end).1;
    durations.sort_unstable();
    let mean = durations.iter().sum::<Duration>() / u32::try_from(durations.len()).unwrap_or(1);
    let p99 = durations[durations.len() * 99 / 100];
    let max = durations.last().copied().unwrap_or_default();
    let transitions = [
        tails[0].count(marks[0], "Entering"),
        tails[1].count(marks[1], "Entering"),
    ];
    println!(
        "reload figures: {reloads} reloads per router (2 routers, each waited for, a round at \
         most every {PACE:?}), {:.1} s in all; duration per reload mean {:.2} ms, p99 {:.2} ms, max {:.2} ms; master adverts \
         captured {adverts} (backup sent {backup_adverts}), largest gap {:.1} ms (bound 150 ms; {:.1} ms in {BASELINE:?} without reloads); \
         transitions ha1 {} ha2 {}; RSS ha1 {} -> {} (after {WARM_UP} reloads) -> {} KiB, \
         ha2 {} -> {} -> {} KiB",
        elapsed.as_secs_f64(),
        mean.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3,
        gap.as_secs_f64() * 1e3,
        baseline_gap.as_secs_f64() * 1e3,
        transitions[0],
        transitions[1],
        rss_first[0],
        rss_warm[0],
        rss_last[0],
        rss_first[1],
        rss_warm[1],
        rss_last[1],
    );
    assert_eq!(
        transitions,
        [0, 0],
        "state transitions during reloads:\n{}\n---\n{}",
        tails[0].lines[marks[0]..].join("\n"),
        tails[1].lines[marks[1]..].join("\n")
    );
    assert_eq!(backup_adverts, 0, "the backup sent adverts");
    // At 10 adverts a second there must be about that many: none missing, and no extra
    // advert per reload (that would be 1,000 more).
    let window = end - started;
    let expected = window.as_secs_f64() * 10.0;
    assert!(
        adverts as f64 > expected * 0.9 && (adverts as f64) < expected * 1.1 + 2.0,
        "{adverts} adverts in {window:?}"
    );
    let bound = Duration::from_millis(150);
    if baseline_gap <= bound {
        assert!(
            gap <= bound,
            "an advert gap of {gap:?} (> 1.5 advert intervals; {baseline_gap:?} without reloads)"
        );
    } else {
        // The machine alone already delays adverts beyond the bound (the daemon is not
        // real-time here): then reloads must not make it worse by more than an interval.
        eprintln!(
            "WARNING: {baseline_gap:?} advert gaps without any reload: this machine is too \
             loaded for the 150 ms bound; checking against the baseline instead"
        );
        assert!(
            gap <= baseline_gap + Duration::from_millis(100),
            "an advert gap of {gap:?} ({baseline_gap:?} without reloads)"
        );
    }
    assert!(ha1.has_addr(vip) && !ha2.has_addr(vip));
    assert_eq!(tails[0].count(marks[0], "Reload failed"), 0);
    assert_eq!(tails[0].count(marks[0], "gratuitous ARPs"), 0);
    for n in 0..2 {
        // Loose: after the warm-up, allow 1 MiB for the allocators' high-water marks (a leak of
        // 1 KiB a reload would exceed it); from the very start, 4 MiB for each of the two
        // processes (both read every configuration).
        assert!(
            rss_last[n] <= rss_warm[n] + 1024 && rss_last[n] <= rss_first[n] + 8192,
            "RSS of ha{} grew from {} (start) and {} (after {WARM_UP} reloads) to {} KiB",
            n + 1,
            rss_first[n],
            rss_warm[n],
            rss_last[n]
        );
    }
    master.child.signal("TERM").expect("TERM");
    backup.child.signal("TERM").expect("TERM");
    assert!(master.child.wait_timeout(Duration::from_secs(10)).is_some());
    assert!(backup.child.wait_timeout(Duration::from_secs(10)).is_some());
}

/// `ip monitor address` in a host, writing to a file until dropped.
struct Monitor {
    child: LabChild,
    path: PathBuf,
}

impl Monitor {
    fn start(host: &Host, path: PathBuf) -> Monitor {
        let mut cmd = host.command("ip");
        cmd.args(["-o", "monitor", "address"])
            .stdin(Stdio::null())
            .stdout(File::create(&path).expect("monitor file"))
            .stderr(Stdio::null());
        let child = LabChild::spawn(&mut cmd).expect("ip monitor");
        // Give it time to subscribe.
        std::thread::sleep(Duration::from_millis(300));
        Monitor { child, path }
    }

    /// The events so far: (deleted, address).
    fn events(&self) -> Vec<(bool, String)> {
        let text = std::fs::read_to_string(&self.path).unwrap_or_default();
        text.lines()
            .filter_map(|l| {
                let deleted = l.starts_with("Deleted");
                let mut words = l.split_whitespace();
                words.find(|w| *w == "inet")?;
                let a = words.next()?.split('/').next()?.to_owned();
                Some((deleted, a))
            })
            .collect()
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        self.child.kill();
    }
}

#[test]
fn reload_adds_removes_and_changes_only_those() {
    if lab::skip_unless_root() {
        return;
    }
    let lab = Lab::new("krc").expect("lab");
    let (ha1, ha2) = veth_pair(&lab);
    let dir = TempDir::new("reload-diff");
    // ha1 also has static addresses and a sync group (VI_1 and VI_4).
    let statics = |addrs: &[&str]| {
        let lines: String = addrs
            .iter()
            .map(|a| format!("    {a} dev eth0\n"))
            .collect();
        format!(
            "static_ipaddress {{\n{lines}}}\nvrrp_sync_group G {{\n    group {{\n        VI_1\n        VI_4\n    }}\n}}\n"
        )
    };
    let conf = |prio: u8| {
        [
            instance("VI_1", 51, prio, &["192.0.2.100/24", "192.0.2.110/24"], ""),
            instance("VI_2", 52, prio, &["192.0.2.102/24"], ""),
            instance("VI_4", 54, prio, &["192.0.2.104/24"], ""),
        ]
        .concat()
    };
    let conf1 = format!(
        "{}{}",
        statics(&["198.51.100.1/24", "198.51.100.2/24"]),
        conf(150)
    );
    let vip = addr("192.0.2.100");
    let (mut master, mut backup) = start_pair(&ha1, &ha2, &dir.0, &conf1, &conf(100), vip);
    for a in ["192.0.2.110", "192.0.2.102", "192.0.2.104", "198.51.100.2"] {
        assert!(ha1.has_addr(addr(a)), "{a} not on ha1:\n{}", master.log());
    }
    let mut tails = [
        Tail::new(log_path(&dir.0, "ha1")),
        Tail::new(log_path(&dir.0, "ha2")),
    ];
    tails[0].poll();
    tails[1].poll();
    let marks = [tails[0].lines.len(), tails[1].lines.len()];

    // VI_1: .110 replaced by .101 (.100 kept); VI_2 removed; VI_3 added; VI_4 unchanged; the
    // static 198.51.100.2 replaced by .3 (.1 kept); the sync group unchanged.
    let new = [
        statics(&["198.51.100.1/24", "198.51.100.3/24"]),
        instance("VI_1", 51, 150, &["192.0.2.100/24", "192.0.2.101/24"], ""),
        instance("VI_3", 53, 150, &["192.0.2.103/24"], ""),
        instance("VI_4", 54, 150, &["192.0.2.104/24"], ""),
    ]
    .concat();
    let monitor = Monitor::start(&ha1, dir.0.join("monitor.txt"));
    std::fs::write(dir.0.join("ha1.conf"), new).expect("write config");
    let took = reload_and_wait(&master.child, &mut tails[0], Duration::from_secs(10));
    assert!(took.is_some(), "reload failed:\n{}", tails[0].text());
    // VI_3 becomes master after its Master_Down_Interval (about 0.35 s); ha2 takes VI_2 over
    // on ha1's priority-0 advert.
    let v3 = wait_until(Duration::from_secs(3), POLL, || {
        ha1.has_addr(addr("192.0.2.103"))
    });
    assert!(v3.is_some(), "VI_3 never started:\n{}", tails[0].text());
    let v2 = wait_until(Duration::from_secs(3), POLL, || {
        ha2.has_addr(addr("192.0.2.102"))
    });
    assert!(v2.is_some(), "ha2 did not take VI_2 over");
    std::thread::sleep(Duration::from_millis(500));
    let events = monitor.events();
    drop(monitor);
    tails[0].poll();
    tails[1].poll();
    let new_lines = tails[0].lines[marks[0]..].join("\n");
    println!(
        "reload diff: took {:.2} ms; address events on ha1: {events:?}",
        took.unwrap_or_default().as_secs_f64() * 1e3
    );

    let mut got = events.clone();
    got.sort();
    got.dedup();
    let expect: Vec<(bool, String)> = vec![
        (false, "192.0.2.101".into()),
        (false, "192.0.2.103".into()),
        (false, "198.51.100.3".into()),
        (true, "192.0.2.102".into()),
        (true, "192.0.2.110".into()),
        (true, "198.51.100.2".into()),
    ];
    assert_eq!(got, expect, "address events: {events:?}\n{new_lines}");
    // Nothing else moved: the unchanged addresses are there, the others' states stayed.
    assert!(ha1.has_addr(addr("192.0.2.100")) && ha1.has_addr(addr("192.0.2.104")));
    assert!(!ha1.has_addr(addr("192.0.2.110")) && !ha1.has_addr(addr("192.0.2.102")));
    assert!(
        new_lines.contains("Reload: added: VI_3; removed: VI_2; changed: VI_1; unchanged: 1"),
        "{new_lines}"
    );
    assert!(new_lines.contains("(VI_2) sent 0 priority"), "{new_lines}");
    assert!(!new_lines.contains("VRRP_Group(G)"), "{new_lines}");
    for name in ["VI_1", "VI_4"] {
        assert!(
            !new_lines.contains(&format!("({name}) Entering")),
            "{name} changed state:\n{new_lines}"
        );
    }
    assert!(
        new_lines.contains("(VI_3) Entering MASTER STATE"),
        "{new_lines}"
    );
    let backup_lines = tails[1].lines[marks[1]..].join("\n");
    assert!(
        backup_lines.contains("(VI_2) Entering MASTER STATE")
            && !backup_lines.contains("(VI_1) Entering")
            && !backup_lines.contains("(VI_4) Entering"),
        "{backup_lines}"
    );
    master.child.signal("TERM").expect("TERM");
    backup.child.signal("TERM").expect("TERM");
    let status = master.child.wait_timeout(Duration::from_secs(10));
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
    // Clean stop: every address of ours is gone.
    for a in [
        "192.0.2.100",
        "192.0.2.101",
        "192.0.2.103",
        "192.0.2.104",
        "198.51.100.1",
        "198.51.100.3",
    ] {
        assert!(!ha1.has_addr(addr(a)), "{a} left on ha1");
    }
    let _ = backup.child.wait_timeout(Duration::from_secs(10));
}

#[test]
fn reload_keeps_the_old_config_only_when_it_cannot_be_used() {
    if lab::skip_unless_root() {
        return;
    }
    let lab = Lab::new("kri").expect("lab");
    let (ha1, ha2) = veth_pair(&lab);
    let dir = TempDir::new("reload-bad");
    let vip = addr("192.0.2.100");
    let conf = |prio: u8| instance("VI_1", 51, prio, &["192.0.2.100/24"], "");
    let (mut master, mut backup) = start_pair(&ha1, &ha2, &dir.0, &conf(150), &conf(100), vip);
    let mut tail = Tail::new(log_path(&dir.0, "ha1"));
    tail.poll();
    let mark = tail.lines.len();

    // A file that cannot be read: refused, the running configuration stays.
    let conf_path = dir.0.join("ha1.conf");
    let moved = dir.0.join("ha1.conf.moved");
    std::fs::rename(&conf_path, &moved).expect("move config away");
    assert!(
        reload_and_wait(&master.child, &mut tail, Duration::from_secs(10)).is_none(),
        "an unreadable configuration was accepted:\n{}",
        tail.text()
    );
    std::thread::sleep(Duration::from_millis(500));
    tail.poll();
    let lines = tail.lines[mark..].join("\n");
    println!("unreadable reload logged:\n{lines}");
    assert!(lines.contains("Reload failed"), "{lines}");
    assert!(lines.contains("cannot read configuration file"), "{lines}");
    assert!(!lines.contains("Entering"), "{lines}");
    assert!(master.child.is_running());
    assert!(ha1.has_addr(vip) && !ha2.has_addr(vip));
    std::fs::rename(&moved, &conf_path).expect("move config back");

    // Mistakes in another instance and an unknown keyword: as keepalived, the reload applies
    // what can run; VI_1 is untouched, the bad instance (line 14: VRID 300) is dropped with its
    // place, the unknown keyword (line 10) is named.
    let mark = tail.lines.len();
    let bad = format!(
        "{}    no_such_keyword\n}}\n\
         vrrp_instance VI_BAD {{\n    interface eth0\n    virtual_router_id 300\n    \
         priority 50\n    virtual_ipaddress {{\n        192.0.2.101/24\n    }}\n}}\n",
        conf(150).trim_end().trim_end_matches('}')
    );
    std::fs::write(&conf_path, &bad).expect("write config");
    let applied = reload_and_wait(&master.child, &mut tail, Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(500));
    tail.poll();
    let lines = tail.lines[mark..].join("\n");
    println!("reload with errors logged:\n{lines}\nconfig:\n{bad}");
    assert!(applied.is_some(), "{lines}");
    assert!(
        lines.contains("ha1.conf:10:"),
        "no place for the keyword:\n{lines}"
    );
    assert!(
        lines.contains("ha1.conf:14:"),
        "no place for the VRID:\n{lines}"
    );
    assert!(!lines.contains("Entering"), "{lines}");
    assert!(ha1.has_addr(vip) && !ha2.has_addr(vip));
    assert!(!ha1.has_addr(addr("192.0.2.101")) && !ha2.has_addr(addr("192.0.2.101")));
    let mark = tail.lines.len();

    // Still serving reloads: a good configuration (new priority) is taken in place.
    std::fs::write(dir.0.join("ha1.conf"), conf(200)).expect("write config");
    let ok = reload_and_wait(&master.child, &mut tail, Duration::from_secs(10));
    assert!(ok.is_some(), "{}", tail.text());
    tail.poll();
    let lines = tail.lines[mark..].join("\n");
    assert!(lines.contains("changed: VI_1"), "{lines}");
    assert!(!lines.contains("Entering"), "{lines}");

    master.child.signal("TERM").expect("TERM");
    let status = master.child.wait_timeout(Duration::from_secs(10));
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
    let _ = backup.child.signal("TERM");
    let _ = backup.child.wait_timeout(Duration::from_secs(10));
}

#[test]
fn reloads_arriving_during_a_reload_are_coalesced_and_the_last_config_wins() {
    if lab::skip_unless_root() {
        return;
    }
    let lab = Lab::new("krq").expect("lab");
    let (ha1, ha2) = veth_pair(&lab);
    let dir = TempDir::new("reload-burst");
    let vip = addr("192.0.2.100");
    let conf = |prio: u8, vips: &[&str]| instance("VI_1", 51, prio, vips, "");
    let (mut master, mut backup) = start_pair(
        &ha1,
        &ha2,
        &dir.0,
        &conf(150, &["192.0.2.100/24"]),
        &conf(100, &["192.0.2.100/24"]),
        vip,
    );
    let mut tail = Tail::new(log_path(&dir.0, "ha1"));
    tail.poll();
    let mark = tail.lines.len();
    // 20 SIGHUPs back to back; the configuration changes before the last one.
    const BURST: usize = 20;
    for i in 0..BURST {
        if i == BURST - 1 {
            std::fs::write(
                dir.0.join("ha1.conf"),
                conf(150, &["192.0.2.100/24", "192.0.2.120/24"]),
            )
            .expect("write config");
        }
        hup(&master.child);
    }
    let applied = wait_until(Duration::from_secs(10), POLL, || {
        ha1.has_addr(addr("192.0.2.120"))
    });
    assert!(applied.is_some(), "the last configuration was not applied");
    // Let every queued reload finish.
    let settled = wait_until(Duration::from_secs(10), POLL, || {
        tail.poll();
        tail.count(mark, "Reloading") == tail.count(mark, "Reload finished")
    });
    assert!(settled.is_some(), "{}", tail.text());
    std::thread::sleep(Duration::from_millis(300));
    tail.poll();
    let reloads = tail.count(mark, "Reloading");
    println!("{BURST} SIGHUPs in a burst gave {reloads} reload(s)");
    assert!((1..=BURST).contains(&reloads), "{reloads} reloads");
    assert_eq!(
        tail.count(mark, "Reloading"),
        tail.count(mark, "Reload finished")
    );
    assert_eq!(tail.count(mark, "Entering"), 0, "{}", tail.text());
    assert!(ha1.has_addr(vip));
    master.child.signal("TERM").expect("TERM");
    let _ = master.child.wait_timeout(Duration::from_secs(10));
    let _ = backup.child.signal("TERM");
    let _ = backup.child.wait_timeout(Duration::from_secs(10));
}

#[test]
fn failed_script_keeps_its_status_across_unchanged_reloads() {
    if lab::skip_unless_root() {
        return;
    }
    let lab = Lab::new("krs").expect("lab");
    let (ha1, ha2) = veth_pair(&lab);
    // Scripts run as root must not live in a world-writable directory.
    let dir = script_dir("reload-script");
    // Fails, a second after it starts: a restarted tracker would leave ha1 without the
    // script's weight for that second, and ha1 (150) would take over from ha2 (100).
    let check = script(&dir.0, "check.sh", "sleep 1\nexit 1");
    let conf1 = |interval: u32| {
        format!(
            "global_defs {{\n    script_user root\n}}\nvrrp_script chk {{\n    script \"{}\"\n    \
             interval {interval}\n    weight -100\n}}\n{}",
            check.display(),
            instance(
                "VI_1",
                51,
                150,
                &["192.0.2.100/24"],
                "    track_script {\n        chk\n    }\n"
            )
        )
    };
    let vip = addr("192.0.2.100");
    let master = Daemon::start(&ha1, &dir.0, "ha1", &conf1(60), &[]);
    let backup = Daemon::start(
        &ha2,
        &dir.0,
        "ha2",
        &instance("VI_1", 51, 100, &["192.0.2.100/24"], ""),
        &[],
    );
    let moved = wait_until(Duration::from_secs(10), POLL, || {
        ha2.has_addr(vip) && !ha1.has_addr(vip)
    });
    assert!(moved.is_some(), "{}\n{}", master.log(), backup.log());
    std::thread::sleep(Duration::from_secs(1));
    let mut tail = Tail::new(log_path(&dir.0, "ha1"));
    tail.poll();
    let mark = tail.lines.len();
    for _ in 0..5 {
        let ok = reload_and_wait(&master.child, &mut tail, Duration::from_secs(10));
        assert!(ok.is_some(), "{}", tail.text());
        std::thread::sleep(Duration::from_millis(500));
    }
    // Past the second a restarted script would have needed.
    std::thread::sleep(Duration::from_millis(1000));
    tail.poll();
    let lines = tail.lines[mark..].join("\n");
    assert_eq!(tail.count(mark, "Entering"), 0, "{lines}");
    assert_eq!(tail.count(mark, "VRRP_Script(chk)"), 0, "{lines}");
    assert!(ha2.has_addr(vip) && !ha1.has_addr(vip));

    // Control: a redefined script is a new tracked object, without a status until its first
    // result; for that second ha1 runs at 150 and takes over, then gives way again.
    std::fs::write(dir.0.join("ha1.conf"), conf1(61)).expect("write config");
    let mark = tail.lines.len();
    assert!(reload_and_wait(&master.child, &mut tail, Duration::from_secs(10)).is_some());
    let flapped = wait_until(Duration::from_secs(3), POLL, || {
        tail.poll();
        tail.count(mark, "Entering MASTER STATE") > 0
    });
    println!(
        "redefined script: ha1 took over while it had no status: {}",
        flapped.is_some()
    );
    assert!(flapped.is_some(), "{}", tail.lines[mark..].join("\n"));
}
