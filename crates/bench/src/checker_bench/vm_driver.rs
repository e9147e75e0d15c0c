//! The in-VM half of the keepalived reference ([`super::vm_ref`]): this same executable, started
//! inside the IPVS VM with [`DRIVER_ARG`], starts the many-port [`super::sink`], then runs
//! Debian's keepalived (`-C`, checker only) and keepalived-rs in turn on the same TCP_CHECK
//! configuration, and prints one [`RESULT`] line per run: the checks the sink counted, the CPU
//! time of the daemon's whole process tree and its peak RSS over the same window.

use std::fmt::Write as _;
use std::fs::File;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::sink::{SINK_ARG, SinkStats};
use crate::vrrp_bench::procs;

/// First argument that turns the benchmark executable into the in-VM driver:
/// `DRIVER_ARG TARGETS SECS ROUNDS` (`TARGETS` comma-separated).
pub const DRIVER_ARG: &str = "__vm-driver";

/// Marker of a result line on the driver's stdout.
pub const RESULT: &str = "@@CHKREF@@";

/// Where keepalived, keepalived-rs and this executable are copied in the VM.
pub const KEEPALIVED: &str = "/usr/sbin/keepalived";
/// See [`KEEPALIVED`].
pub const OURS: &str = "/usr/sbin/keepalived-rs";
/// See [`KEEPALIVED`].
pub const SELF: &str = "/usr/local/bin/checker-bench";

/// The targets' address (on `lo` in the VM) and first port: target `i` is
/// `TARGET_ADDR:(FIRST_PORT + i)`.
pub const TARGET_ADDR: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
/// See [`TARGET_ADDR`].
pub const FIRST_PORT: u16 = 10_001;

/// The configuration both daemons run: one virtual server with `n` real servers, each with
/// `TCP_CHECK { connect_timeout 3 }`, `delay_loop 1`.
pub fn config(n: usize) -> String {
    let mut s = String::from(
        "global_defs {\n    router_id chkref\n}\n\nvirtual_server 192.0.2.1 80 {\n    \
         delay_loop 1\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n",
    );
    for i in 0..n {
        let port = usize::from(FIRST_PORT) + i;
        let _ = writeln!(
            s,
            "    real_server {TARGET_ADDR} {port} {{\n        TCP_CHECK {{\n            \
             connect_timeout 3\n        }}\n    }}"
        );
    }
    s.push_str("}\n");
    s
}

/// Entry point of the driver: `args` are what follows [`DRIVER_ARG`].
pub fn driver_main(args: &[String]) -> ExitCode {
    let parsed = match args {
        [targets, secs, rounds] => {
            let targets: Option<Vec<usize>> = targets.split(',').map(|t| t.parse().ok()).collect();
            targets
                .zip(secs.parse::<u64>().ok())
                .zip(rounds.parse::<u32>().ok())
        }
        _ => None,
    };
    let Some(((targets, secs), rounds)) = parsed else {
        eprintln!("usage: checker-bench {DRIVER_ARG} N[,N...] SECS ROUNDS");
        return ExitCode::from(2);
    };
    super::serve::raise_nofile(1 << 20);
    let mut failed = false;
    for n in targets {
        if let Err(e) = one_size(n, secs, rounds) {
            eprintln!("checker-bench driver: {n} targets: {e}");
            failed = true;
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// A child killed (with its descendants) on drop.
struct Proc(Child);

impl Proc {
    fn pid(&self) -> u32 {
        self.0.id()
    }

    fn signal_tree(&self, sig: Signal) {
        for p in procs::tree(self.pid()) {
            if let Ok(p) = i32::try_from(p) {
                let _ = kill(Pid::from_raw(p), sig);
            }
        }
    }

    /// SIGTERM, up to `grace` to exit, then SIGKILL to the whole tree.
    fn stop(&mut self, grace: Duration) {
        if matches!(self.0.try_wait(), Ok(None)) {
            self.signal_tree(Signal::SIGTERM);
            let end = Instant::now() + grace;
            while Instant::now() < end && matches!(self.0.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        self.signal_tree(Signal::SIGKILL);
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop(Duration::ZERO);
    }
}

fn spawn(cmd: &mut Command, log: &Path) -> Result<Proc, String> {
    let out = File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let err = out.try_clone().map_err(|e| e.to_string())?;
    cmd.stdin(Stdio::null()).stdout(out).stderr(err);
    cmd.spawn().map(Proc).map_err(|e| format!("{cmd:?}: {e}"))
}

fn one_size(n: usize, secs: u64, rounds: u32) -> Result<(), String> {
    let count = u16::try_from(n)
        .ok()
        .filter(|c| u32::from(FIRST_PORT) + u32::from(*c) <= 65_536)
        .ok_or_else(|| format!("{n} targets do not fit in ports {FIRST_PORT}..65535"))?;
    let stats = PathBuf::from(format!("/tmp/sink-{n}.stats"));
    let _ = std::fs::remove_file(&stats);
    let mut sink_cmd = Command::new(SELF);
    sink_cmd
        .arg(SINK_ARG)
        .arg(TARGET_ADDR.to_string())
        .arg(FIRST_PORT.to_string())
        .arg(count.to_string())
        .arg(&stats);
    let sink = spawn(&mut sink_cmd, Path::new(&format!("/tmp/sink-{n}.log")))?;
    let up = lab::wait_until(Duration::from_secs(30), Duration::from_millis(50), || {
        SinkStats::read(&stats).is_some_and(|s| s.counts.len() == n)
    });
    if up.is_none() {
        return Err(format!(
            "sink did not start: {}",
            tail(Path::new(&format!("/tmp/sink-{n}.log")))
        ));
    }
    let conf = PathBuf::from(format!("/tmp/chkref-{n}.conf"));
    std::fs::write(&conf, config(n)).map_err(|e| e.to_string())?;
    for round in 1..=rounds {
        for imp in ["keepalived", "ours"] {
            match measure(imp, n, round, secs, &conf, &stats, &sink) {
                Ok(line) => println!("{RESULT} {line}"),
                Err(e) => {
                    println!("{RESULT} {imp} {n} {round} error");
                    eprintln!("checker-bench driver: {imp} x {n}: {e}");
                }
            }
        }
    }
    drop(sink);
    Ok(())
}

/// The last lines of a log, for error messages.
fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// One run: start `imp`, wait until every target has been checked, measure over `secs`, stop.
/// Returns the fields of the result line.
fn measure(
    imp: &str,
    n: usize,
    round: u32,
    secs: u64,
    conf: &Path,
    stats: &Path,
    sink: &Proc,
) -> Result<String, String> {
    // Whatever the previous run left in the IPVS table goes.
    let _ = Command::new("ipvsadm").arg("-C").status();
    let log = PathBuf::from(format!("/tmp/{imp}-{n}-{round}.log"));
    let mut cmd = match imp {
        "keepalived" => {
            let mut c = Command::new(KEEPALIVED);
            c.args(["-n", "-l", "-C", "-f"]).arg(conf).args([
                "-p",
                "/run/ka.pid",
                "-c",
                "/run/ka-chk.pid",
                "-r",
                "/run/ka-vrrp.pid",
            ]);
            c
        }
        _ => {
            // No -C: keepalived-rs runs in one process, and refuses -C alone for now; with no
            // vrrp_instance in the configuration only its checkers (and the IPVS code) run.
            let mut c = Command::new(OURS);
            c.args(["-n", "-l", "-f"])
                .arg(conf)
                .args(["-p", "/run/kars.pid"]);
            c
        }
    };
    let mut daemon = spawn(&mut cmd, &log)?;
    let start = SinkStats::read(stats).unwrap_or_default();
    let started = Instant::now();
    // Every target checked at least once since the start.
    let all = lab::wait_until(Duration::from_secs(90), Duration::from_millis(200), || {
        SinkStats::read(stats).is_some_and(|s| s.since(&start).iter().all(|c| *c > 0))
    });
    if all.is_none() {
        daemon.stop(Duration::from_secs(5));
        return Err(format!(
            "not every target was checked within 90 s; log:\n{}",
            tail(&log)
        ));
    }
    let first_round = started.elapsed();
    std::thread::sleep(Duration::from_secs(2));
    let pid = daemon.pid();
    let (cpu0, s0, scpu0) = (
        procs::cpu_time(&procs::tree(pid)),
        SinkStats::read(stats).unwrap_or_default(),
        procs::cpu_time(&[sink.pid()]),
    );
    std::thread::sleep(Duration::from_secs(secs));
    let (cpu1, s1, scpu1) = (
        procs::cpu_time(&procs::tree(pid)),
        SinkStats::read(stats).unwrap_or_default(),
        procs::cpu_time(&[sink.pid()]),
    );
    let pids = procs::tree(pid);
    let hwm: u64 = procs::hwm_kib(&pids).iter().sum();
    let alive = matches!(daemon.0.try_wait(), Ok(None));
    daemon.stop(Duration::from_secs(10));
    let per = s1.since(&s0);
    let checks: u64 = per.iter().sum();
    let min = per.iter().copied().min().unwrap_or(0);
    let max = per.iter().copied().max().unwrap_or(0);
    let zero = per.iter().filter(|c| **c == 0).count();
    let wall = s1.elapsed.saturating_sub(s0.elapsed);
    Ok(format!(
        "{imp} {n} {round} {} {checks} {} {min} {max} {zero} {hwm} {} {} {} {}",
        wall.as_nanos(),
        cpu1.saturating_sub(cpu0).as_nanos(),
        scpu1.saturating_sub(scpu0).as_nanos(),
        pids.len(),
        u8::from(alive),
        first_round.as_millis(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_has_one_tcp_check_per_port() {
        let c = config(3);
        assert_eq!(c.matches("real_server 192.0.2.2 ").count(), 3);
        assert!(c.contains("real_server 192.0.2.2 10003 {"));
        assert_eq!(c.matches("TCP_CHECK").count(), 3);
        assert_eq!(c.matches("virtual_server").count(), 1);
    }
}
