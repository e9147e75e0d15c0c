//! The daemons under test as process trees: starting one in a lab host, freezing it (SIGSTOP to
//! every process of the tree at once), killing it, and reading its CPU time and peak RSS from
//! `/proc`. Also [`NsThread`], a helper thread living inside a lab namespace.

use std::collections::BTreeSet;
use std::fs::File;
use std::net::{Ipv4Addr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use lab::{Host, LabChild};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::conf::Impl;

/// Parent pid, utime + stime + cutime + cstime (clock ticks) from `/proc/PID/stat`.
fn stat(pid: u32) -> Option<(u32, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let num = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok());
    let ppid = u32::try_from(num(1)?).ok()?;
    Some((ppid, num(11)? + num(12)? + num(13)? + num(14)?))
}

/// The processes descended from `root`, deepest first, `root` last.
pub fn tree(root: u32) -> Vec<u32> {
    let all: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
                .filter_map(|pid| Some((pid, stat(pid)?.0)))
                .collect()
        })
        .unwrap_or_default();
    let mut levels = vec![vec![root]];
    loop {
        let last = levels.last().map(Vec::as_slice).unwrap_or_default();
        let next: Vec<u32> = all
            .iter()
            .filter(|(_, ppid)| last.contains(ppid))
            .map(|(pid, _)| *pid)
            .collect();
        if next.is_empty() || levels.len() > 8 {
            break;
        }
        levels.push(next);
    }
    levels.into_iter().rev().flatten().collect()
}

fn clock_ticks() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100)
}

/// CPU time (user + system, reaped children included) of a process tree.
pub fn cpu_time(pids: &[u32]) -> Duration {
    let ticks: u64 = pids.iter().filter_map(|p| stat(*p)).map(|s| s.1).sum();
    Duration::from_secs_f64(ticks as f64 / clock_ticks() as f64)
}

/// The first of `pids` whose command line has the argument `arg` (e.g. keepalived-rs's
/// `--engine=checker`).
pub fn with_arg(pids: &[u32], arg: &str) -> Option<u32> {
    pids.iter().copied().find(|pid| {
        std::fs::read(format!("/proc/{pid}/cmdline"))
            .is_ok_and(|c| c.split(|&b| b == 0).any(|a| a == arg.as_bytes()))
    })
}

/// Peak RSS (`VmHWM`, KiB) of each process.
pub fn hwm_kib(pids: &[u32]) -> Vec<u64> {
    let one = |pid: &u32| -> Option<u64> {
        let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let line = s.lines().find_map(|l| l.strip_prefix("VmHWM:"))?;
        line.split_whitespace().next()?.parse().ok()
    };
    pids.iter().filter_map(one).collect()
}

fn signal_all(pids: &[u32], sig: Signal) {
    for p in pids {
        if let Ok(p) = i32::try_from(*p) {
            let _ = kill(Pid::from_raw(p), sig);
        }
    }
}

/// Log files opened so far by this run.
static OPENED: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());

/// One running daemon (keepalived-rs or keepalived) in a lab host.
#[derive(Debug)]
pub struct Daemon {
    child: LabChild,
    /// Its log file (stdout and stderr).
    pub log: PathBuf,
}

impl Daemon {
    /// Starts `bin` in the foreground on `host` with config `conf`; files go to `dir/tag.*`.
    pub fn start(
        host: &Host,
        imp: Impl,
        bin: &Path,
        conf: &Path,
        dir: &Path,
        tag: &str,
    ) -> Result<Daemon, String> {
        let log = dir.join(format!("{tag}.log"));
        // Each log starts afresh in every run of the benchmark, then gathers all its rounds.
        let fresh = OPENED
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(log.clone());
        let out = File::options()
            .create(true)
            .append(!fresh)
            .write(true)
            .truncate(fresh)
            .open(&log)
            .map_err(|e| format!("{}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let mut cmd = host.command(bin);
        cmd.args(["-n", "-l", "-f"]).arg(conf);
        if imp == Impl::Keepalived {
            cmd.arg("-D");
        }
        // Both run a parent and engine processes, each with its pid file.
        for (flag, ext) in [("-p", "pid"), ("-r", "vrrp.pid"), ("-c", "chk.pid")] {
            cmd.arg(flag).arg(dir.join(format!("{tag}.{ext}")));
        }
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        let child = LabChild::spawn(&mut cmd).map_err(|e| e.to_string())?;
        Ok(Daemon { child, log })
    }

    /// The process id of the daemon (its parent process).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The exit status if it has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_status()
    }

    /// Waits up to `t` for the daemon to exit by itself.
    pub fn wait_exit(&mut self, t: Duration) -> Option<ExitStatus> {
        self.child.wait_timeout(t)
    }

    /// SIGSTOPs the whole tree, children first; returns the instant just before the first stop.
    pub fn freeze(&self) -> Instant {
        let pids = tree(self.pid());
        let t0 = Instant::now();
        signal_all(&pids, Signal::SIGSTOP);
        t0
    }

    /// SIGKILLs the whole tree (frozen or not) and reaps the daemon.
    pub fn kill_all(&mut self) {
        if self.child.try_status().is_none() {
            signal_all(&tree(self.pid()), Signal::SIGKILL);
        }
        self.child.kill();
    }

    /// SIGTERM, then SIGKILL after `grace` if still running.
    pub fn stop(&mut self, grace: Duration) {
        if self.child.try_status().is_none() {
            let _ = self.child.signal("TERM");
            if self.child.wait_timeout(grace).is_none() {
                eprintln!("vrrp-bench: {} ignored SIGTERM", self.child.command_line());
            }
        }
        self.kill_all();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill_all();
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// A helper thread that entered a lab namespace (`setns`), to run probes there cheaply.
pub struct NsThread {
    tx: Option<mpsc::Sender<Job>>,
    handle: Option<JoinHandle<()>>,
}

impl NsThread {
    /// Starts a thread inside network namespace `netns` (a name under `/run/netns`).
    pub fn enter(netns: &str) -> Result<NsThread, String> {
        let path = format!("/run/netns/{netns}");
        let (tx, rx) = mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = mpsc::channel();
        let handle = std::thread::spawn(move || {
            let entered = File::open(&path)
                .map_err(|e| format!("{path}: {e}"))
                .and_then(|f| {
                    nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET)
                        .map_err(|e| format!("setns {path}: {e}"))
                });
            let ok = entered.is_ok();
            let _ = ready_tx.send(entered);
            if ok {
                for job in rx {
                    job();
                }
            }
        });
        let ready = ready_rx.recv().map_err(|e| e.to_string())?;
        let mut t = NsThread {
            tx: Some(tx),
            handle: Some(handle),
        };
        if let Err(e) = ready {
            t.shutdown();
            return Err(e);
        }
        Ok(t)
    }

    /// Runs `f` on the thread inside the namespace and returns its result.
    pub fn call<R: Send + 'static>(&self, f: impl FnOnce() -> R + Send + 'static) -> R {
        let (rtx, rrx) = mpsc::channel();
        let tx = self.tx.as_ref().expect("NsThread used after shutdown");
        tx.send(Box::new(move || {
            let _ = rtx.send(f());
        }))
        .expect("NsThread died");
        rrx.recv().expect("NsThread died")
    }

    fn shutdown(&mut self) {
        self.tx = None;
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl Drop for NsThread {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Whether `ip` is a local address of the calling thread's namespace (binding to it works).
pub fn is_local(ip: Ipv4Addr) -> bool {
    UdpSocket::bind((ip, 0)).is_ok()
}

/// Polls `is_local(ip) == want` every `every`; returns the time since `start` when it holds.
pub fn poll_local(
    ip: Ipv4Addr,
    want: bool,
    start: Instant,
    timeout: Duration,
    every: Duration,
) -> Option<Duration> {
    loop {
        if is_local(ip) == want {
            return Some(start.elapsed());
        }
        if start.elapsed() >= timeout || super::interrupted() {
            return None;
        }
        std::thread::sleep(every);
    }
}

/// Whether `ifname` of the calling thread's namespace has joined 224.0.0.18 (VRRP).
pub fn joined_vrrp_group(ifname: &str) -> bool {
    let Ok(text) = std::fs::read_to_string("/proc/thread-self/net/igmp") else {
        return false;
    };
    let mut dev = "";
    for line in text.lines() {
        if line.starts_with(|c: char| c.is_ascii_digit()) {
            dev = line.split_whitespace().nth(1).unwrap_or("");
        } else if dev == ifname && line.split_whitespace().next() == Some("120000E0") {
            return true;
        }
    }
    false
}
