//! Timing one run of a program: wall time, CPU time and peak RSS.
//!
//! Each run goes through a fresh wrapper process (this same executable, started with
//! [`WRAPPER_ARG`], and inside the namespace via `ip netns exec` when there is one). The wrapper
//! starts the program, waits for it and reads `getrusage(RUSAGE_CHILDREN)`; having had no other
//! child, those figures are the program's alone (its own children included). The wall clock
//! starts and stops in the wrapper, so `ip netns exec`'s own set-up is not counted.

use std::fs::File;
use std::io;
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use nix::sys::resource::{UsageWho, getrusage};
use nix::sys::time::TimeVal;

/// First argument that turns the benchmark executable into the measuring wrapper:
/// `WRAPPER_ARG STDOUT_FILE STDERR_FILE PROGRAM ARGS...`.
pub const WRAPPER_ARG: &str = "__measure";

/// One timed run.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// Wall-clock time from spawning the program to reaping it.
    pub wall: Duration,
    /// User plus system CPU time of the program and its children.
    pub cpu: Duration,
    /// Peak resident set size, in KiB.
    pub max_rss_kib: u64,
    /// Exit code, or 128 + signal number when killed by a signal.
    pub code: i32,
}

fn timeval(t: TimeVal) -> Duration {
    let secs = u64::try_from(t.tv_sec()).unwrap_or(0);
    Duration::from_secs(secs) + Duration::from_micros(u64::try_from(t.tv_usec()).unwrap_or(0))
}

/// The wrapper's side: `args` are what follows [`WRAPPER_ARG`]. Prints
/// `WALL_NS CPU_US MAX_RSS_KIB CODE` on stdout.
pub fn wrapper_main(args: &[String]) -> ExitCode {
    let [out, err, program, rest @ ..] = args else {
        eprintln!("usage: config-bench {WRAPPER_ARG} STDOUT STDERR PROGRAM [ARGS...]");
        return ExitCode::from(2);
    };
    let run = || -> io::Result<String> {
        let mut cmd = Command::new(program);
        cmd.args(rest)
            .stdin(Stdio::null())
            .stdout(File::create(out)?)
            .stderr(File::create(err)?);
        let start = Instant::now();
        let status = cmd.spawn()?.wait()?;
        let wall = start.elapsed();
        let usage = getrusage(UsageWho::RUSAGE_CHILDREN).map_err(io::Error::from)?;
        let cpu = timeval(usage.user_time()) + timeval(usage.system_time());
        let code = status.code().unwrap_or_else(|| {
            use std::os::unix::process::ExitStatusExt as _;
            128 + status.signal().unwrap_or(0)
        });
        Ok(format!(
            "{} {} {} {code}",
            wall.as_nanos(),
            cpu.as_micros(),
            usage.max_rss()
        ))
    };
    match run() {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("config-bench: cannot run {program}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs `program args` once through the wrapper (inside namespace `netns` when given), its
/// stdout and stderr going to `out` and `err`.
pub fn run_once(
    netns: Option<&str>,
    out: &Path,
    err: &Path,
    program: &Path,
    args: &[&str],
) -> io::Result<Sample> {
    let me = std::env::current_exe()?;
    let mut cmd = match netns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns]).arg(me);
            c
        }
        None => Command::new(me),
    };
    cmd.arg(WRAPPER_ARG)
        .arg(out)
        .arg(err)
        .arg(program)
        .args(args);
    let res = cmd.stdin(Stdio::null()).output()?;
    let text = String::from_utf8_lossy(&res.stdout);
    let f: Vec<u128> = text
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    let [wall, cpu, rss, code] = f[..] else {
        let why = String::from_utf8_lossy(&res.stderr);
        return Err(io::Error::other(format!(
            "measuring wrapper failed: {}",
            why.trim()
        )));
    };
    Ok(Sample {
        wall: Duration::from_nanos(u64::try_from(wall).unwrap_or(u64::MAX)),
        cpu: Duration::from_micros(u64::try_from(cpu).unwrap_or(u64::MAX)),
        max_rss_kib: u64::try_from(rss).unwrap_or(u64::MAX),
        code: i32::try_from(code).unwrap_or(-1),
    })
}

/// Summary of several runs of one program on one file.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    /// Median wall time.
    pub median: Duration,
    /// Fastest wall time.
    pub min: Duration,
    /// Median CPU time (user + system).
    pub cpu: Duration,
    /// Largest peak RSS over the runs, in KiB.
    pub max_rss_kib: u64,
    /// Exit code of the last run.
    pub code: i32,
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2
    }
}

impl Summary {
    /// Summarises `samples` (at least one).
    pub fn of(samples: &[Sample]) -> Summary {
        Summary {
            median: median(samples.iter().map(|s| s.wall).collect()),
            min: samples.iter().map(|s| s.wall).min().unwrap_or_default(),
            cpu: median(samples.iter().map(|s| s.cpu).collect()),
            max_rss_kib: samples.iter().map(|s| s.max_rss_kib).max().unwrap_or(0),
            code: samples.last().map_or(-1, |s| s.code),
        }
    }
}
