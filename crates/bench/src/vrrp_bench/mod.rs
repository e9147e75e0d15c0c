//! `vrrp-bench`: failover time and scale figures of keepalived-rs next to Debian's keepalived,
//! in network-namespace labs. See [`Opts`] (`vrrp-bench --help`) and `issues show 3` ("Speed").

pub(crate) mod conf;
mod failover;
pub(crate) mod procs;
mod report;
mod scale;
pub(crate) mod tcpdump;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::{Parser, ValueEnum};
use nix::sys::signal::{SigSet, Signal};

use conf::{Case, Impl};
use failover::FailoverLab;
use report::CaseResult;

/// Which implementations to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Which {
    /// keepalived-rs only.
    Ours,
    /// Debian's keepalived only.
    Keepalived,
    /// Both, interleaved round by round.
    Both,
}

/// Which failover cases to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CaseSel {
    /// VRRPv2, advert_int 1.
    V2,
    /// VRRPv3, advert_int 0.05.
    V3fast,
    /// Both.
    All,
}

/// Command-line options of `vrrp-bench`.
#[derive(Debug, Parser)]
#[command(
    name = "vrrp-bench",
    about = "Failover and scale benchmark: keepalived-rs vs keepalived"
)]
pub struct Opts {
    /// Implementations to run (the same one on both sides of each lab)
    #[arg(long = "impl", value_enum, default_value = "both")]
    pub imp: Which,
    /// Failovers per implementation and case
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    pub failovers: u32,
    /// Failover cases [default: all, or none with --scale]
    #[arg(long, value_enum)]
    pub case: Option<CaseSel>,
    /// Keep every core busy with a shell busy loop meanwhile
    #[arg(long)]
    pub load: bool,
    /// Run the 200-instance CPU/RSS benchmark
    #[arg(long)]
    pub scale: bool,
    /// With --scale: turn keepalived-rs's watchdog heartbeat off (`vrrp_watchdog_timeout 0`),
    /// to measure its cost
    #[arg(long)]
    pub watchdog_off: bool,
    /// Length of the --scale measuring window, in seconds
    #[arg(long, default_value_t = 60)]
    pub scale_secs: u64,
    /// Freeze at a random point, not right after a captured master advert
    #[arg(long)]
    pub no_align: bool,
    /// keepalived-rs binary [default: build target/release/keepalived-rs first]
    #[arg(long = "bin", value_name = "PATH")]
    pub bin: Option<PathBuf>,
    /// keepalived binary
    #[arg(long, value_name = "PATH", default_value = "/usr/sbin/keepalived")]
    pub keepalived: PathBuf,
    /// Directory for configurations and daemon logs [default: <target>/vrrp-bench]
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Whether SIGINT/SIGTERM/SIGHUP arrived; long loops give up so that the labs are torn down.
pub(crate) fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::Relaxed)
}

/// Blocks the termination signals in every thread and handles them in one that sets
/// [`interrupted`] (a second signal exits at once).
pub(crate) fn catch_signals() {
    let mut set = SigSet::empty();
    for s in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        set.add(s);
    }
    if set.thread_block().is_err() {
        return;
    }
    std::thread::spawn(move || {
        while let Ok(sig) = set.wait() {
            if INTERRUPTED.swap(true, Ordering::Relaxed) {
                std::process::exit(130);
            }
            eprintln!("vrrp-bench: {sig}: cleaning up (again to quit at once)");
        }
    });
}

/// Entry point of the `vrrp-bench` binary.
pub fn main_entry() -> ExitCode {
    let opts = Opts::parse();
    if !lab::is_root() {
        eprintln!("vrrp-bench: needs root (network namespaces)");
        return ExitCode::from(2);
    }
    catch_signals();
    match run(&opts) {
        Ok(()) if !interrupted() => ExitCode::SUCCESS,
        Ok(()) => ExitCode::from(130),
        Err(e) => {
            eprintln!("vrrp-bench: {e}");
            ExitCode::from(2)
        }
    }
}

/// Whether keepalived-rs runs the VRRP engine: it must still be running after a second.
fn probe_ours(lab: &FailoverLab, bin: &Path, conf: &Path, dir: &Path) -> Result<(), String> {
    let mut d = procs::Daemon::start(lab.master_host(), Impl::Ours, bin, conf, dir, "ours-probe")?;
    let Some(st) = d.wait_exit(Duration::from_millis(1500)) else {
        d.kill_all();
        return Ok(());
    };
    let log = std::fs::read_to_string(&d.log).unwrap_or_default();
    let last = log
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    Err(format!(
        "`keepalived-rs -n` exited within a second ({st}): {last}"
    ))
}

fn run(opts: &Opts) -> Result<(), String> {
    let dir = opts
        .dir
        .clone()
        .unwrap_or_else(|| crate::target_dir().join("vrrp-bench"));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let dir = std::fs::canonicalize(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut impls: Vec<(Impl, PathBuf)> = Vec::new();
    let mut unavailable: Option<String> = None;
    if opts.imp != Which::Keepalived {
        match opts
            .bin
            .clone()
            .map_or_else(|| crate::build_ours("vrrp-bench"), Ok)
        {
            Ok(b) => match std::fs::canonicalize(&b) {
                Ok(b) => impls.push((Impl::Ours, b)),
                Err(e) => unavailable = Some(format!("{}: {e}", b.display())),
            },
            Err(e) => unavailable = Some(e),
        }
    }
    if opts.imp != Which::Ours {
        if !opts.keepalived.is_file() {
            return Err(format!("{}: not found", opts.keepalived.display()));
        }
        impls.push((Impl::Keepalived, opts.keepalived.clone()));
    }
    let _load = opts.load.then(start_load).transpose()?;
    {
        // Probe keepalived-rs once, in a lab of its own.
        let lab = FailoverLab::new()?;
        let probe_dir = dir.join("probe");
        std::fs::create_dir_all(&probe_dir).map_err(|e| e.to_string())?;
        let confs = failover::write_confs(&probe_dir, conf::V2)?;
        if let Some(pos) = impls.iter().position(|i| i.0 == Impl::Ours)
            && let Err(e) = probe_ours(&lab, &impls[pos].1, confs.master_path(), &probe_dir)
        {
            unavailable = Some(e);
            impls.remove(pos);
        }
    }
    if let Some(why) = &unavailable {
        println!("ours unavailable: {why}; running keepalived only");
    }
    for (imp, bin) in &impls {
        println!("{}: {}", imp.name(), bin.display());
    }
    let cases: &[Case] = match opts.case.or((!opts.scale).then_some(CaseSel::All)) {
        None => &[],
        Some(CaseSel::V2) => &[conf::V2],
        Some(CaseSel::V3fast) => &[conf::V3FAST],
        Some(CaseSel::All) => &[conf::V2, conf::V3FAST],
    };
    for case in cases {
        let results = run_case(opts, &impls, unavailable.as_deref(), *case, &dir)?;
        report::failovers(*case, opts.load, &results);
    }
    if opts.scale && !interrupted() {
        let list: Vec<(Impl, &Path)> = impls.iter().map(|(i, b)| (*i, b.as_path())).collect();
        let (window, usage) = scale::run(&list, opts.scale_secs, opts.watchdog_off, &dir)?;
        report::scale(window, &usage);
    }
    println!("configurations and daemon logs: {}", dir.display());
    Ok(())
}

fn run_case(
    opts: &Opts,
    impls: &[(Impl, PathBuf)],
    unavailable: Option<&str>,
    case: Case,
    dir: &Path,
) -> Result<Vec<CaseResult>, String> {
    let lab = FailoverLab::new()?;
    let confs = failover::write_confs(dir, case)?;
    let mut results: Vec<CaseResult> = impls
        .iter()
        .map(|(imp, _)| CaseResult {
            imp: *imp,
            rounds: Vec::new(),
            failures: 0,
            unavailable: None,
        })
        .collect();
    for n in 1..=opts.failovers {
        for ((imp, bin), res) in impls.iter().zip(results.iter_mut()) {
            if interrupted() {
                return Ok(results);
            }
            match lab.round(*imp, bin, case, &confs, dir, !opts.no_align) {
                Ok(r) => {
                    eprintln!(
                        "{} {} #{n}: freeze->VIP {:.3} ms, wire gap {:.3} ms, lag {:.3} ms",
                        case.name,
                        imp.name(),
                        r.freeze_to_vip.as_secs_f64() * 1e3,
                        r.wire_gap.as_secs_f64() * 1e3,
                        r.freeze_lag.as_secs_f64() * 1e3
                    );
                    res.rounds.push(r);
                }
                Err(_) if interrupted() => return Ok(results),
                Err(e) => {
                    eprintln!("{} {} #{n}: failed: {e}", case.name, imp.name());
                    res.failures += 1;
                }
            }
        }
    }
    if let Some(why) = unavailable {
        results.insert(
            0,
            CaseResult {
                imp: Impl::Ours,
                rounds: Vec::new(),
                failures: 0,
                unavailable: Some(why.to_owned()),
            },
        );
    }
    Ok(results)
}

/// Busy-loop shells, one per core, killed on drop.
fn start_load() -> Result<Vec<lab::LabChild>, String> {
    let n = std::thread::available_parallelism().map_or(2, usize::from);
    println!("load: {n} busy-loop processes");
    (0..n)
        .map(|_| {
            lab::LabChild::spawn(Command::new("sh").args(["-c", "while :; do :; done"]))
                .map_err(|e| e.to_string())
        })
        .collect()
}
