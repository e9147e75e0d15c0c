//! `checker-bench`: throughput of keepalived-rs's health checkers (TCP_CHECK, HTTP_GET) against
//! N local targets, its CPU per check, and the advert jitter of a VRRP instance running beside
//! them. See [`Opts`] (`checker-bench --help`) and `issues show 5` ("Speed").
//!
//! With `--vm-reference` it instead measures the keepalived reference inside the IPVS VM
//! ([`vm_ref`]): the same TCP_CHECK configuration run by Debian's keepalived and by
//! keepalived-rs, CPU per check of both.
//!
//! Commands (as root; the first builds `target/release/keepalived-rs` unless `--bin` is given;
//! `crates/bench/README.md` has the figures measured so far):
//!
//! ```text
//! # Host: 1,000/10,000/50,000 targets, TCP_CHECK and HTTP_GET, 20 s windows, VRRP jitter
//! cargo run --release -p keepalived-bench --bin checker-bench
//! cargo run --release -p keepalived-bench --bin checker-bench -- --kind tcp --targets 10000 \
//!     --secs 15 --no-baseline --bin target/release/keepalived-rs
//! # Reference: keepalived 2.2.7 and keepalived-rs, 1,000 TCP_CHECK targets, in one IPVS VM
//! cargo run --release -p keepalived-bench --bin checker-bench -- --vm-reference \
//!     --targets 1000 --secs 20 --rounds 2
//! # Its smoke test (20 targets, ~25 s; part of scripts/test.sh)
//! cargo test --release -p keepalived-bench --test vm_reference
//! ```

mod conf;
mod floor;
mod report;
mod serve;
mod sink;
mod vm_driver;
pub mod vm_ref;

use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use lab::{Host, Lab, LabChild};

use crate::vrrp_bench::conf::Impl;
use crate::vrrp_bench::procs::{self, Daemon};
use crate::vrrp_bench::tcpdump::Capture;
pub use conf::Kind;
use report::{Jitter, Row};

/// Command-line options of `checker-bench`.
#[derive(Debug, Parser)]
#[command(
    name = "checker-bench",
    about = "Health-checker throughput and CPU per check of keepalived-rs, with VRRP jitter"
)]
pub struct Opts {
    /// Numbers of targets (real servers), comma-separated [default: 1000,10000,50000; with
    /// --vm-reference: 1000]
    #[arg(long, value_delimiter = ',')]
    pub targets: Vec<usize>,
    /// Checkers, comma-separated
    #[arg(long, value_enum, value_delimiter = ',', default_value = "tcp,http")]
    pub kind: Vec<Kind>,
    /// Length of each measuring window, in seconds
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..))]
    pub secs: u64,
    /// Skip the VRRP-only jitter baseline
    #[arg(long)]
    pub no_baseline: bool,
    /// keepalived-rs binary [default: build target/release/keepalived-rs first]
    #[arg(long = "bin", value_name = "PATH")]
    pub bin: Option<PathBuf>,
    /// Directory for configurations, logs and stats [default: <target>/checker-bench]
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Instead: the keepalived reference inside the IPVS VM (TCP_CHECK only; keepalived, then
    /// keepalived-rs, on the same configuration)
    #[arg(long)]
    pub vm_reference: bool,
    /// With --vm-reference: keepalived then keepalived-rs, this many times
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub rounds: u32,
    /// With --vm-reference: the keepalived binary to compare with
    #[arg(long, value_name = "PATH", default_value = "/usr/sbin/keepalived")]
    pub keepalived: PathBuf,
}

/// Entry point of the `checker-bench` binary (also the target server, see [`serve`]).
pub fn main_entry() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some(serve::SERVE_ARG) => return serve::serve_main(&args[2..]),
        Some(sink::SINK_ARG) => return sink::sink_main(&args[2..]),
        Some(floor::FLOOR_ARG) => return floor::floor_main(&args[2..]),
        Some(vm_driver::DRIVER_ARG) => return vm_driver::driver_main(&args[2..]),
        _ => {}
    }
    let mut opts = Opts::parse();
    if opts.vm_reference {
        if opts.targets.is_empty() {
            opts.targets = vec![1000];
        }
        return match run_reference(&opts) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("checker-bench: {e}");
                ExitCode::from(2)
            }
        };
    }
    if opts.targets.is_empty() {
        opts.targets = vec![1000, 10_000, 50_000];
    }
    if !lab::is_root() {
        eprintln!("checker-bench: needs root (network namespaces)");
        return ExitCode::from(2);
    }
    match run(&opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("checker-bench: {e}");
            ExitCode::from(2)
        }
    }
}

/// The lab: `lb` runs the daemon and the target server (loopback targets, VRRP on `eth0`),
/// `obs` captures the adverts on the other end of the veth.
struct Bed {
    _lab: Lab,
    lb: Host,
    obs: Host,
}

fn bed() -> Result<Bed, String> {
    let e = |e: lab::LabError| e.to_string();
    let lab = Lab::new("chkbench").map_err(e)?;
    let lb = lab.host("lb").map_err(e)?;
    let obs = lab.host("obs").map_err(e)?;
    lab.veth(&lb, "eth0", &obs, "eth0").map_err(e)?;
    lb.add_addr("eth0", "203.0.113.1/24").map_err(e)?;
    obs.add_addr("eth0", "203.0.113.2/24").map_err(e)?;
    lb.link_set_up("lo").map_err(e)?;
    // Backlog for the target server; TIME_WAIT reuse for the checker's many connections.
    lb.sysctl("net.core.somaxconn", "65535").map_err(e)?;
    lb.sysctl("net.ipv4.tcp_max_syn_backlog", "65535")
        .map_err(e)?;
    Ok(Bed { _lab: lab, lb, obs })
}

/// The output directory (created) and keepalived-rs (built unless `--bin`).
fn prepare(opts: &Opts, default_dir: &str) -> Result<(PathBuf, PathBuf), String> {
    let dir = opts
        .dir
        .clone()
        .unwrap_or_else(|| crate::target_dir().join(default_dir));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let dir = std::fs::canonicalize(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let bin = opts
        .bin
        .clone()
        .map_or_else(|| crate::build_ours("checker-bench"), Ok)?;
    let bin = std::fs::canonicalize(&bin).map_err(|e| format!("{}: {e}", bin.display()))?;
    Ok((dir, bin))
}

fn run_reference(opts: &Opts) -> Result<(), String> {
    let (dir, bin) = prepare(opts, "checker-bench/vm-reference")?;
    println!("ours: {}", bin.display());
    println!("keepalived: {}", opts.keepalived.display());
    println!("load average at start: {}", loadavg());
    let ref_opts = vm_ref::RefOpts {
        targets: opts.targets.clone(),
        secs: opts.secs,
        rounds: opts.rounds,
        ours: bin,
        keepalived: opts.keepalived.clone(),
        dir: dir.clone(),
    };
    let Some(runs) = vm_ref::run(&ref_opts)? else {
        return Ok(());
    };
    vm_ref::table(opts.secs, &runs);
    println!(
        "load average at the end: {} ({} host cores; other processes compete for them)",
        loadavg(),
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    println!("driver output and VM console: {}", dir.display());
    let expected = opts.targets.len() * opts.rounds as usize * 2;
    if runs.len() < expected {
        return Err(format!(
            "{} of {expected} runs gave a result (see {})",
            runs.len(),
            dir.join("vm-reference.stderr").display()
        ));
    }
    Ok(())
}

fn run(opts: &Opts) -> Result<(), String> {
    let (dir, bin) = prepare(opts, "checker-bench")?;
    println!("ours: {}", bin.display());
    println!("load average at start: {}", loadavg());
    // Inherited by the daemon and the server: one descriptor per check in flight.
    serve::raise_nofile(1 << 20);
    let bed = bed()?;
    let baseline = if opts.no_baseline {
        None
    } else {
        Some(measure_baseline(&bed, &bin, opts.secs, &dir)?)
    };
    let mut rows = Vec::new();
    for kind in &opts.kind {
        for n in &opts.targets {
            eprintln!("checker-bench: {} x {n} ...", kind.name());
            match measure(&bed, &bin, *kind, *n, opts.secs, &dir) {
                Ok(r) => {
                    report::row_line(&r);
                    rows.push(r);
                }
                Err(e) => eprintln!("checker-bench: {} x {n}: {e}", kind.name()),
            }
        }
    }
    report::table(opts.secs, baseline.as_ref(), &rows);
    if opts.kind.contains(&Kind::Tcp) {
        match measure_floor(&bed, opts.secs.min(10), &dir) {
            Ok((connects, cpu)) => {
                let per_core = connects as f64 / cpu.as_secs_f64().max(1e-9);
                println!(
                    "kernel floor: {connects} blocking connects in {:.2} s of CPU = {per_core:.0} \
                     per second per core ({:.2} us each: socket + connect + close against the same \
                     target server, both ends of the loopback handshake charged, as for the checks)",
                    cpu.as_secs_f64(),
                    cpu.as_secs_f64() * 1e6 / connects.max(1) as f64
                );
                for r in rows.iter().filter(|r| r.kind == Kind::Tcp && r.checks > 0) {
                    let ours = r.cpu.as_secs_f64() * 1e6 / r.checks as f64;
                    let floor = cpu.as_secs_f64() * 1e6 / connects.max(1) as f64;
                    println!(
                        "  tcp x {}: {ours:.2} us per check = {:.2}x the floor",
                        r.n,
                        ours / floor
                    );
                }
            }
            Err(e) => eprintln!("checker-bench: kernel floor: {e}"),
        }
    }
    println!(
        "load average at the end: {} ({} cores; other processes compete for them)",
        loadavg(),
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    println!("configurations, logs and stats: {}", dir.display());
    Ok(())
}

/// The first three fields of `/proc/loadavg`.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// The adverts of the VRRP instance captured over `secs`.
fn capture_jitter(bed: &Bed, secs: u64, during: impl FnOnce()) -> Result<Jitter, String> {
    let cap = Capture::start(&bed.obs, "eth0")?;
    // tcpdump needs a moment to attach.
    std::thread::sleep(Duration::from_millis(500));
    during();
    let ads = cap.stop();
    let ts: Vec<i64> = ads
        .iter()
        .filter(|a| a.src == std::net::Ipv4Addr::new(203, 0, 113, 1))
        .map(|a| a.ts_us)
        .collect();
    let _ = secs;
    Ok(Jitter::of(&ts, 100_000))
}

fn measure_baseline(bed: &Bed, bin: &Path, secs: u64, dir: &Path) -> Result<Jitter, String> {
    eprintln!("checker-bench: VRRP-only baseline ...");
    let path = dir.join("baseline.conf");
    std::fs::write(&path, conf::config(None, 0)).map_err(|e| e.to_string())?;
    let mut d = Daemon::start(&bed.lb, Impl::Ours, bin, &path, dir, "baseline")?;
    std::thread::sleep(Duration::from_secs(2));
    if let Some(st) = d.exited() {
        return Err(format!(
            "keepalived-rs exited ({st}), see {}",
            d.log.display()
        ));
    }
    let j = capture_jitter(bed, secs, || std::thread::sleep(Duration::from_secs(secs)))?;
    d.stop(Duration::from_secs(5));
    Ok(j)
}

/// The target server of one run, killed on drop.
struct Server {
    child: LabChild,
    stats: PathBuf,
}

impl Server {
    fn start(host: &Host, kind: Kind, dir: &Path) -> Result<Server, String> {
        let me = std::env::current_exe().map_err(|e| e.to_string())?;
        let stats = dir.join(format!("serve-{}.stats", kind.name()));
        let _ = std::fs::remove_file(&stats);
        let log = dir.join(format!("serve-{}.log", kind.name()));
        let log = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let mut cmd = host.command(me);
        cmd.args([serve::SERVE_ARG, kind.name()])
            .arg(&stats)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log);
        let child = LabChild::spawn(&mut cmd).map_err(|e| e.to_string())?;
        let mut s = Server { child, stats };
        let up = lab::wait_until(Duration::from_secs(5), Duration::from_millis(50), || {
            serve::read_stats(&s.stats).is_some()
        });
        if up.is_none() || s.child.try_status().is_some() {
            return Err("target server did not start (see serve-*.log)".into());
        }
        Ok(s)
    }

    fn stats(&self) -> (Duration, u64) {
        serve::read_stats(&self.stats).unwrap_or_default()
    }

    fn cpu(&self) -> Duration {
        procs::cpu_time(&procs::tree(self.child.id()))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        for p in procs::tree(self.child.id()) {
            if let Ok(p) = i32::try_from(p) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(p),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
        self.child.kill();
    }
}

/// Runs the floor probe ([`floor`]) for `secs` against the TCP target server in `lb`.
fn measure_floor(bed: &Bed, secs: u64, dir: &Path) -> Result<(u64, Duration), String> {
    let server = Server::start(&bed.lb, Kind::Tcp, dir)?;
    let out = dir.join("floor.result");
    let _ = std::fs::remove_file(&out);
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let status = bed
        .lb
        .command(me)
        .arg(floor::FLOOR_ARG)
        .arg(secs.to_string())
        .arg("1000")
        .arg(&out)
        .status()
        .map_err(|e| e.to_string())?;
    drop(server);
    if !status.success() {
        return Err(format!("floor probe failed: {status}"));
    }
    floor::read(&out).ok_or_else(|| format!("no result in {}", out.display()))
}

/// Waits up to `t` for `needle` in the file at `path`.
fn wait_log(path: &Path, needle: &str, t: Duration) -> bool {
    lab::wait_until(t, Duration::from_millis(100), || {
        std::fs::read_to_string(path).is_ok_and(|s| s.contains(needle))
    })
    .is_some()
}

fn measure(
    bed: &Bed,
    bin: &Path,
    kind: Kind,
    n: usize,
    secs: u64,
    dir: &Path,
) -> Result<Row, String> {
    let tag = format!("{}-{n}", kind.name());
    let path = dir.join(format!("{tag}.conf"));
    std::fs::write(&path, conf::config(Some(kind), n)).map_err(|e| e.to_string())?;
    let server = Server::start(&bed.lb, kind, dir)?;
    let mut d = Daemon::start(&bed.lb, Impl::Ours, bin, &path, dir, &tag)?;
    let started = Instant::now();
    if !wait_log(&d.log, "Checkers:", Duration::from_secs(120)) {
        return Err(format!("checkers did not start, see {}", d.log.display()));
    }
    let startup = started.elapsed();
    // Warmup: initial checks spread over delay_loop, then a little more.
    std::thread::sleep(Duration::from_secs(3));
    if let Some(st) = d.exited() {
        return Err(format!(
            "keepalived-rs exited ({st}), see {}",
            d.log.display()
        ));
    }
    let pid = d.pid();
    // The checker engine alone (the issue's "CPU used by the checker process"), beside the
    // whole tree (with the supervising parent and the VRRP engine).
    let checker = procs::with_arg(&procs::tree(pid), "--engine=checker")
        .ok_or_else(|| format!("no checker engine process under pid {pid}"))?;
    let checker_cpu = || procs::cpu_time(&[checker]);
    let mut before = None;
    let jitter = capture_jitter(bed, secs, || {
        before = Some((
            procs::cpu_time(&procs::tree(pid)),
            server.stats(),
            server.cpu(),
            checker_cpu(),
        ));
        std::thread::sleep(Duration::from_secs(secs));
    })?;
    let (cpu1, stats1, scpu1, ccpu1) = (
        procs::cpu_time(&procs::tree(pid)),
        server.stats(),
        server.cpu(),
        checker_cpu(),
    );
    let (cpu0, stats0, scpu0, ccpu0) = before.unwrap_or_default();
    let hwm_kib = procs::hwm_kib(&procs::tree(pid)).iter().sum();
    let alive = d.exited().is_none();
    d.stop(Duration::from_secs(10));
    drop(server);
    let log = std::fs::read_to_string(&d.log).unwrap_or_default();
    Ok(Row {
        kind,
        n,
        startup,
        wall: stats1.0.saturating_sub(stats0.0),
        checks: stats1.1.saturating_sub(stats0.1),
        cpu: cpu1.saturating_sub(cpu0),
        checker_cpu: ccpu1.saturating_sub(ccpu0),
        server_cpu: scpu1.saturating_sub(scpu0),
        hwm_kib,
        removed: log.matches("Removing service").count(),
        failures: log.lines().filter(|l| l.contains(" failed")).count(),
        alive,
        jitter,
    })
}
