//! `bfd-bench`: keepalived-rs's BFD process against Debian's keepalived 2.2.7's, in one lab:
//! N sessions at 50 ms × 3 between the two daemons (ours in one namespace, keepalived in the
//! other), so both carry the same load. Over the measuring window it reads each side's BFD
//! process CPU time, the whole daemon tree's, their PSS, and the Down transitions in both logs;
//! `--soak` runs 10 minutes with every core busy and counts false Downs. See [`Opts`].

use std::fs::File;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use lab::{Host, Lab, LabChild};

use crate::vrrp_bench::procs;

/// Command-line options of `bfd-bench`.
#[derive(Debug, Parser)]
#[command(
    name = "bfd-bench",
    about = "N BFD sessions at 50 ms x 3: keepalived-rs's BFD process against keepalived's"
)]
pub struct Opts {
    /// Number of sessions (keepalived's side uses 198.18.1.1 to 198.18.1.N)
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u16).range(1..=250))]
    pub sessions: u16,
    /// Length of the measuring window, in seconds [default: 60, or 600 with --soak]
    #[arg(long)]
    pub secs: Option<u64>,
    /// Soak: 600 s (unless --secs) with a busy loop per core in the root namespace; every Down
    /// in the window is a false one
    #[arg(long)]
    pub soak: bool,
    /// Keep every core busy during the window (implied by --soak)
    #[arg(long)]
    pub load: bool,
    /// min_rx and min_tx in milliseconds
    #[arg(long, default_value_t = 50)]
    pub interval_ms: u32,
    /// Detection multiplier
    #[arg(long, default_value_t = 3)]
    pub multiplier: u8,
    /// Exit 1 when a target is missed (CPU ratio at most 0.5, no Down of ours in the window)
    #[arg(long)]
    pub check: bool,
    /// keepalived-rs binary [default: build target/release/keepalived-rs first]
    #[arg(long = "bin", value_name = "PATH")]
    pub bin: Option<PathBuf>,
    /// keepalived binary
    #[arg(long, value_name = "PATH", default_value = "/usr/sbin/keepalived")]
    pub keepalived: PathBuf,
    /// Directory for configurations, pid files and daemon logs [default: <target>/bfd-bench]
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// The CPU ratio the issue asks for: ours at most half of keepalived's.
pub const TARGET_RATIO: f64 = 0.5;

/// Entry point of the `bfd-bench` binary.
pub fn main_entry() -> ExitCode {
    let opts = Opts::parse();
    if !lab::is_root() {
        eprintln!("bfd-bench: needs root (network namespaces)");
        return ExitCode::from(2);
    }
    crate::vrrp_bench::catch_signals();
    match run(&opts) {
        Ok(_) if crate::vrrp_bench::interrupted() => ExitCode::from(130),
        Ok(met) if met || !opts.check => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("bfd-bench: {e}");
            ExitCode::from(2)
        }
    }
}

/// Which daemon a side runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Ours,
    Keepalived,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Ours => "keepalived-rs",
            Side::Keepalived => "keepalived",
        }
    }
    fn tag(self) -> &'static str {
        match self {
            Side::Ours => "ours",
            Side::Keepalived => "keepalived",
        }
    }
}

/// The address of session `i` (1-based) on keepalived's side.
fn peer_addr(i: u16) -> Ipv4Addr {
    Ipv4Addr::new(198, 18, 1, u8::try_from(i).unwrap_or(u8::MAX))
}

/// Our side's one address.
const OURS_ADDR: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);

/// The configuration of one side: a `bfd_instance` per session, nothing else.
fn config(side: Side, opts: &Opts) -> String {
    let mut text = String::new();
    for i in 1..=opts.sessions {
        let (neighbor, source) = match side {
            Side::Ours => (peer_addr(i), OURS_ADDR),
            Side::Keepalived => (OURS_ADDR, peer_addr(i)),
        };
        let iv = opts.interval_ms;
        text.push_str(&format!(
            "bfd_instance s{i} {{\n    neighbor_ip {neighbor}\n    source_ip {source}\n    \
             min_rx {iv}\n    min_tx {iv}\n    idle_tx 1000\n    multiplier {}\n}}\n",
            opts.multiplier
        ));
    }
    text
}

/// One running daemon and its files.
struct Daemon {
    side: Side,
    child: LabChild,
    log: PathBuf,
    bfd_pid_file: PathBuf,
}

impl Daemon {
    fn start(
        host: &Host,
        side: Side,
        bin: &Path,
        dir: &Path,
        opts: &Opts,
    ) -> Result<Daemon, String> {
        let tag = side.tag();
        let conf = dir.join(format!("{tag}.conf"));
        std::fs::write(&conf, config(side, opts))
            .map_err(|e| format!("{}: {e}", conf.display()))?;
        let log = dir.join(format!("{tag}.log"));
        let out = File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let bfd_pid_file = dir.join(format!("{tag}.bfd.pid"));
        let _ = std::fs::remove_file(&bfd_pid_file);
        let mut cmd = host.command(bin);
        // No -D: keepalived's detailed log of every session's parameters at each Poll Sequence
        // costs it more CPU than the sessions do, and under load delays its packets enough to
        // make the sessions flap.
        cmd.args(["-n", "-l", "-f"]).arg(&conf);
        for (flag, ext) in [("-p", "pid"), ("-r", "vrrp.pid"), ("-c", "chk.pid")] {
            cmd.arg(flag).arg(dir.join(format!("{tag}.{ext}")));
        }
        cmd.arg("-b").arg(&bfd_pid_file);
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        let child = LabChild::spawn(&mut cmd).map_err(|e| e.to_string())?;
        Ok(Daemon {
            side,
            child,
            log,
            bfd_pid_file,
        })
    }

    /// The BFD process's id, from its pid file (`-b`).
    fn bfd_pid(&self) -> Option<u32> {
        let pid: u32 = std::fs::read_to_string(&self.bfd_pid_file)
            .ok()?
            .trim()
            .parse()
            .ok()?;
        Path::new(&format!("/proc/{pid}")).exists().then_some(pid)
    }

    /// The whole process tree (the daemon's process under `ip netns exec` is its root).
    fn tree(&self) -> Vec<u32> {
        procs::tree(self.child.id())
    }

    /// Lines of the log containing `what`.
    fn count(&self, what: &str) -> usize {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains(what))
            .count()
    }

    fn stop(&mut self) {
        if self.child.try_status().is_none() {
            let _ = self.child.signal("TERM");
            if self.child.wait_timeout(Duration::from_secs(5)).is_none() {
                eprintln!("bfd-bench: {} ignored SIGTERM", self.side.name());
            }
        }
        if self.child.try_status().is_none() {
            for p in self.tree() {
                let _ = Command::new("kill")
                    .args(["-KILL", &p.to_string()])
                    .status();
            }
        }
        self.child.kill();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
    }
}

/// utime + stime of one process, its reaped children not included.
fn own_cpu(pid: u32) -> Duration {
    let ticks = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|t| {
            let rest = t.get(t.rfind(')')? + 1..)?;
            // After the command: state ppid pgrp session tty_nr tpgid flags minflt cminflt
            // majflt cmajflt utime stime (tpgid may be -1: count fields, not numbers).
            let f: Vec<&str> = rest.split_whitespace().collect();
            let num = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok());
            Some(num(11)? + num(12)?)
        })
        .unwrap_or(0);
    // The stat fields count USER_HZ ticks, 100 a second on Linux whatever the kernel HZ.
    Duration::from_secs_f64(ticks as f64 / 100.0)
}

/// Proportional set size of a process, KiB (`smaps_rollup`).
fn pss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Pss:"))?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

/// A reading of one side at an instant.
#[derive(Debug, Clone, Copy, Default)]
struct Reading {
    bfd_cpu: Duration,
    tree_cpu: Duration,
    downs: usize,
    ups: usize,
}

fn read(d: &Daemon, bfd: u32) -> Reading {
    Reading {
        bfd_cpu: own_cpu(bfd),
        tree_cpu: procs::cpu_time(&d.tree()),
        downs: d.count("Entering Down state"),
        ups: d.count("Entering Up state"),
    }
}

/// What one side did in the window.
#[derive(Debug)]
struct Result_ {
    side: Side,
    bfd_cpu: Duration,
    tree_cpu: Duration,
    bfd_pss_kib: u64,
    tree_pss_kib: u64,
    downs_before: usize,
    downs: usize,
    ups_at_start: usize,
}

fn run(opts: &Opts) -> Result<bool, String> {
    let dir = opts
        .dir
        .clone()
        .unwrap_or_else(|| crate::target_dir().join("bfd-bench"));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let dir = std::fs::canonicalize(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let ours_bin = opts
        .bin
        .clone()
        .map_or_else(|| crate::build_ours("bfd-bench"), Ok)?;
    let ours_bin =
        std::fs::canonicalize(&ours_bin).map_err(|e| format!("{}: {e}", ours_bin.display()))?;
    if !opts.keepalived.is_file() {
        return Err(format!("{}: not found", opts.keepalived.display()));
    }
    let secs = opts.secs.unwrap_or(if opts.soak { 600 } else { 60 });
    let e = |e: lab::LabError| e.to_string();
    let lab = Lab::new("bfdbench").map_err(e)?;
    let a = lab.host("ours").map_err(e)?;
    let b = lab.host("ka").map_err(e)?;
    lab.veth(&a, "eth0", &b, "eth0").map_err(e)?;
    a.add_addr("eth0", &format!("{OURS_ADDR}/16")).map_err(e)?;
    let batch: String = (1..=opts.sessions)
        .map(|i| format!("address add {}/16 dev eth0\n", peer_addr(i)))
        .collect();
    let batch_file = dir.join("peer-addrs.batch");
    std::fs::write(&batch_file, batch).map_err(|e| e.to_string())?;
    b.ip(["-batch".as_ref(), batch_file.as_os_str()])
        .map_err(e)?;

    let mut daemons = vec![
        Daemon::start(&b, Side::Keepalived, &opts.keepalived, &dir, opts)?,
        Daemon::start(&a, Side::Ours, &ours_bin, &dir, opts)?,
    ];
    println!(
        "{} sessions at {} ms x {}; ours: {}",
        opts.sessions,
        opts.interval_ms,
        opts.multiplier,
        ours_bin.display()
    );
    // Start-up: every session Up on both sides (or 30 s), then 2 s more.
    let n = usize::from(opts.sessions);
    let up = lab::wait_until(Duration::from_secs(30), Duration::from_millis(200), || {
        daemons.iter().all(|d| d.count("Entering Up state") >= n)
            || crate::vrrp_bench::interrupted()
    });
    if up.is_none() {
        for d in &daemons {
            eprintln!(
                "bfd-bench: {}: {} of {n} sessions Up after 30 s",
                d.side.name(),
                d.count("Entering Up state")
            );
        }
    }
    std::thread::sleep(Duration::from_secs(2));
    let mut pids = Vec::new();
    for d in &mut daemons {
        if let Some(st) = d.child.try_status() {
            return Err(format!(
                "{} exited ({st}); see {}",
                d.side.name(),
                d.log.display()
            ));
        }
        let pid = d.bfd_pid().ok_or_else(|| {
            format!(
                "{}: no BFD process (pid file {})",
                d.side.name(),
                d.bfd_pid_file.display()
            )
        })?;
        pids.push(pid);
    }
    let load = (opts.load || opts.soak).then(start_load).transpose()?;
    let start: Vec<Reading> = daemons
        .iter()
        .zip(&pids)
        .map(|(d, p)| read(d, *p))
        .collect();
    let t0 = Instant::now();
    let window = Duration::from_secs(secs);
    let mut next_note = Duration::from_secs(60);
    while t0.elapsed() < window && !crate::vrrp_bench::interrupted() {
        std::thread::sleep(Duration::from_millis(200));
        if t0.elapsed() >= next_note {
            let downs: Vec<String> = daemons
                .iter()
                .zip(&start)
                .map(|(d, s)| {
                    format!(
                        "{} {}",
                        d.side.tag(),
                        d.count("Entering Down state") - s.downs
                    )
                })
                .collect();
            eprintln!(
                "bfd-bench: {} s, Downs so far: {}",
                next_note.as_secs(),
                downs.join(", ")
            );
            next_note += Duration::from_secs(60);
        }
    }
    let window = t0.elapsed();
    let end: Vec<Reading> = daemons
        .iter()
        .zip(&pids)
        .map(|(d, p)| read(d, *p))
        .collect();
    drop(load);
    let mut results = Vec::new();
    for ((d, pid), (s, e)) in daemons.iter_mut().zip(&pids).zip(start.iter().zip(&end)) {
        if let Some(st) = d.child.try_status() {
            eprintln!(
                "bfd-bench: {} exited during the window ({st})",
                d.side.name()
            );
        }
        results.push(Result_ {
            side: d.side,
            bfd_cpu: e.bfd_cpu.saturating_sub(s.bfd_cpu),
            tree_cpu: e.tree_cpu.saturating_sub(s.tree_cpu),
            bfd_pss_kib: pss_kib(*pid),
            tree_pss_kib: d.tree().iter().map(|p| pss_kib(*p)).sum(),
            downs_before: s.downs,
            downs: e.downs - s.downs,
            ups_at_start: s.ups,
        });
    }
    for d in &mut daemons {
        d.stop();
    }
    drop(daemons);
    drop(lab);
    let met = report(&results, window, opts);
    println!("configurations and daemon logs: {}", dir.display());
    Ok(met)
}

/// Busy-loop shells in the root namespace, one per core, at normal priority; killed on drop.
fn start_load() -> Result<Vec<LabChild>, String> {
    let n = std::thread::available_parallelism().map_or(2, usize::from);
    println!("load: {n} busy-loop processes");
    (0..n)
        .map(|_| {
            LabChild::spawn(Command::new("sh").args(["-c", "while :; do :; done"]))
                .map_err(|e| e.to_string())
        })
        .collect()
}

fn report(results: &[Result_], window: Duration, opts: &Opts) -> bool {
    let secs = window.as_secs_f64();
    println!(
        "\nwindow {secs:.1} s{}; CPU = user + system; PSS at the end (10^6 bytes)",
        if opts.load || opts.soak {
            ", every core busy"
        } else {
            ""
        }
    );
    println!(
        "{:<14} {:>10} {:>7} {:>11} {:>9} {:>10} {:>9} {:>12} {:>6}",
        "",
        "BFD cpu s",
        "% core",
        "tree cpu s",
        "BFD PSS",
        "tree PSS",
        "Up@start",
        "Downs before",
        "Downs"
    );
    for r in results {
        println!(
            "{:<14} {:>10.2} {:>6.1}% {:>11.2} {:>8.2}M {:>9.2}M {:>9} {:>12} {:>6}",
            r.side.name(),
            r.bfd_cpu.as_secs_f64(),
            100.0 * r.bfd_cpu.as_secs_f64() / secs,
            r.tree_cpu.as_secs_f64(),
            r.bfd_pss_kib as f64 * 1.024 / 1e3,
            r.tree_pss_kib as f64 * 1.024 / 1e3,
            r.ups_at_start,
            r.downs_before,
            r.downs
        );
    }
    let find = |s| results.iter().find(|r| r.side == s);
    let (Some(o), Some(k)) = (find(Side::Ours), find(Side::Keepalived)) else {
        return false;
    };
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(1e-9);
    let bfd_ratio = ratio(o.bfd_cpu, k.bfd_cpu);
    println!(
        "ratios ours/keepalived: BFD process CPU {bfd_ratio:.2}, tree CPU {:.2}, BFD PSS {:.2}, tree PSS {:.2}\n",
        ratio(o.tree_cpu, k.tree_cpu),
        o.bfd_pss_kib as f64 / (k.bfd_pss_kib as f64).max(1.0),
        o.tree_pss_kib as f64 / (k.tree_pss_kib as f64).max(1.0),
    );
    let mut all = true;
    let mut target = |what: String, ok: bool| {
        println!("{} {what}", if ok { "PASS" } else { "FAIL" });
        all &= ok;
    };
    let n = usize::from(opts.sessions);
    target(
        format!(
            "every session Up on both sides before the window (ours {}, keepalived {}, of {n})",
            o.ups_at_start, k.ups_at_start
        ),
        o.ups_at_start >= n && k.ups_at_start >= n,
    );
    target(
        format!("BFD process CPU ratio {bfd_ratio:.2} <= {TARGET_RATIO}"),
        bfd_ratio <= TARGET_RATIO,
    );
    target(
        format!("no Down of ours in the window (got {})", o.downs),
        o.downs == 0,
    );
    all
}
