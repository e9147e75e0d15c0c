//! The kernel floor of a TCP_CHECK on this machine: one thread doing nothing but blocking
//! `socket` + `connect` + `close` against the same target server as the checks, so the cost
//! per check that no checker can go below here (the kernel's work for both ends of a loopback
//! handshake) is measured in the same run as the checker itself.

use std::net::{SocketAddrV4, TcpStream};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use super::conf::target;

/// First argument that turns the benchmark executable into the floor probe:
/// `FLOOR_ARG SECS TARGETS OUT_FILE`; it writes `CONNECTS CPU_NS` into `OUT_FILE`.
pub const FLOOR_ARG: &str = "__floor";

/// Entry point of the probe: `args` are what follows [`FLOOR_ARG`].
pub fn floor_main(args: &[String]) -> ExitCode {
    let [secs, targets, out] = args else {
        eprintln!("usage: checker-bench {FLOOR_ARG} SECS TARGETS OUT_FILE");
        return ExitCode::from(2);
    };
    let (Ok(secs), Ok(targets)) = (secs.parse::<u64>(), targets.parse::<usize>()) else {
        eprintln!("checker-bench floor: SECS and TARGETS are numbers");
        return ExitCode::from(2);
    };
    let cpu0 = thread_cpu();
    let end = Instant::now() + Duration::from_secs(secs);
    let mut connects = 0u64;
    let mut i = 0usize;
    while Instant::now() < end {
        let addr = SocketAddrV4::new(target(i % targets.max(1)), 80);
        if TcpStream::connect(addr).is_ok() {
            connects += 1;
        }
        i += 1;
    }
    let cpu = thread_cpu().saturating_sub(cpu0);
    match std::fs::write(out, format!("{connects} {}\n", cpu.as_nanos())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("checker-bench floor: {out}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// CPU time (user + system, softirq work charged to it included) of the calling process.
fn thread_cpu() -> Duration {
    use nix::sys::resource::{UsageWho, getrusage};
    getrusage(UsageWho::RUSAGE_SELF).map_or(Duration::ZERO, |u| {
        let t = |tv: nix::sys::time::TimeVal| {
            Duration::new(
                u64::try_from(tv.tv_sec()).unwrap_or(0),
                u32::try_from(tv.tv_usec()).unwrap_or(0) * 1000,
            )
        };
        t(u.user_time()) + t(u.system_time())
    })
}

/// Reads the probe's result: connects, CPU.
pub fn read(path: &Path) -> Option<(u64, Duration)> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut it = text.split_whitespace();
    let connects = it.next()?.parse().ok()?;
    let ns: u64 = it.next()?.parse().ok()?;
    Some((connects, Duration::from_nanos(ns)))
}
