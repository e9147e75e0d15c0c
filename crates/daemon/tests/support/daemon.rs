//! [`Daemon`]: a keepalived-rs process in a lab host for the daemon's own tests (its config,
//! log and pid files in the test's directory), started directly or through a launcher
//! (`setpriv`, a shell setting the umask); and [`run_to_exit`] for configurations it must
//! refuse.

use std::ffi::OsStr;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use lab::{Host, LabChild};

/// One keepalived-rs daemon (`-n -l -D`) in a lab host, logging to a file: the supervising
/// parent and its engine processes, each with its pid file in the test's directory.
pub struct Daemon {
    /// The parent process (killed on drop; its engines follow through the parent-death
    /// signal, and the lab kills whatever is left in its namespaces).
    pub child: LabChild,
    log: PathBuf,
    /// `-r`: the VRRP engine's pid file.
    pub vrrp_pid_file: PathBuf,
    /// `-c`: the checker engine's pid file.
    pub checkers_pid_file: PathBuf,
    /// `-p`: the parent's pid file.
    pub pid_file: PathBuf,
}

impl Daemon {
    /// Writes `conf` to `dir/name.conf` and starts keepalived-rs on it with `extra_args`.
    pub fn start(host: &Host, dir: &Path, name: &str, conf: &str, extra_args: &[&str]) -> Daemon {
        Start::new(extra_args).run(host, dir, name, conf)
    }

    /// As [`Daemon::start`], with environment variables `envs` set.
    pub fn start_with(
        host: &Host,
        dir: &Path,
        name: &str,
        conf: &str,
        extra_args: &[&str],
        envs: &[(&str, &OsStr)],
    ) -> Daemon {
        Start {
            envs,
            ..Start::new(extra_args)
        }
        .run(host, dir, name, conf)
    }

    /// Freezes the whole daemon: SIGSTOP to its engine processes, then to the parent (a
    /// stopped parent alone would leave the engines running).
    pub fn freeze(&mut self) {
        let mut pids: Vec<u32> = [self.vrrp_pid(), self.checker_pid()]
            .into_iter()
            .flatten()
            .collect();
        pids.push(self.child.id());
        kill_each("STOP", &pids);
    }

    /// Resumes a frozen daemon (SIGCONT, parent first).
    pub fn thaw(&mut self) {
        let mut pids = vec![self.child.id()];
        pids.extend([self.vrrp_pid(), self.checker_pid()].into_iter().flatten());
        kill_each("CONT", &pids);
    }

    /// The pid of the VRRP engine process (from its pid file), once it runs.
    pub fn vrrp_pid(&self) -> Option<u32> {
        read_pid(&self.vrrp_pid_file)
    }

    /// The pid of the checker engine process (from its pid file), once it runs.
    pub fn checker_pid(&self) -> Option<u32> {
        read_pid(&self.checkers_pid_file)
    }

    /// Everything logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// True when the log contains `needle`.
    pub fn logged(&self, needle: &str) -> bool {
        self.log().contains(needle)
    }
}

/// How a [`Daemon`] is started beyond its config: `keepalived-rs -n -l -D ARGS -f CONF -p PID
/// -r VRRP_PID -c CHECKERS_PID` with `envs`, run through the command `via` when it is not empty
/// (`setpriv ...`, or `sh -c 'umask 077; exec "$@"' sh`: the daemon's path and arguments follow
/// it).
#[derive(Clone, Copy)]
pub struct Start<'a> {
    /// Arguments before `-f`.
    pub args: &'a [&'a str],
    /// Environment variables to set.
    pub envs: &'a [(&'a str, &'a OsStr)],
    /// The launcher and its arguments; empty to run the daemon directly.
    pub via: &'a [&'a str],
}

impl<'a> Start<'a> {
    /// The daemon run directly with `args`.
    pub fn new(args: &'a [&'a str]) -> Start<'a> {
        Start {
            args,
            envs: &[],
            via: &[],
        }
    }

    /// Writes `conf` to `dir/name.conf` and starts the daemon on it in `host`, logging to
    /// `dir/name.log`, with pid files `dir/name.pid`, `dir/name.vrrp.pid` and
    /// `dir/name.checkers.pid`.
    pub fn run(self, host: &Host, dir: &Path, name: &str, conf: &str) -> Daemon {
        let conf_path = dir.join(format!("{name}.conf"));
        std::fs::write(&conf_path, conf).expect("write config");
        let log = dir.join(format!("{name}.log"));
        let pid = dir.join(format!("{name}.pid"));
        let vrrp_pid = dir.join(format!("{name}.vrrp.pid"));
        let checkers_pid = dir.join(format!("{name}.checkers.pid"));
        let bin = env!("CARGO_BIN_EXE_keepalived-rs");
        let mut cmd = match self.via.split_first() {
            Some((launcher, launcher_args)) => {
                let mut cmd = host.command(launcher);
                cmd.args(launcher_args).arg(bin);
                cmd
            }
            None => host.command(bin),
        };
        cmd.args(["-n", "-l", "-D"])
            .args(self.args)
            .arg("-f")
            .arg(&conf_path)
            .arg("-p")
            .arg(&pid)
            .arg("-r")
            .arg(&vrrp_pid)
            .arg("-c")
            .arg(&checkers_pid)
            .envs(self.envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&log).expect("log file"));
        let child = LabChild::spawn(&mut cmd).expect("spawn keepalived-rs");
        Daemon {
            child,
            log,
            vrrp_pid_file: vrrp_pid,
            checkers_pid_file: checkers_pid,
            pid_file: pid,
        }
    }
}

/// Writes `conf` to `dir/name` and runs keepalived-rs on it in the foreground (outside any lab
/// namespace) with `--strict-config` until it exits, as for a configuration it must refuse:
/// exit code and stderr. Strict mode makes sure a configuration with any error never starts
/// here, in the root namespace.
pub fn run_to_exit(dir: &Path, name: &str, conf: &str) -> (Option<i32>, String) {
    let path = dir.join(name);
    std::fs::write(&path, conf).expect("write config");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_keepalived-rs"))
        .args(["--strict-config", "-n", "-l", "-f"])
        .arg(&path)
        .output()
        .expect("run keepalived-rs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The live process named in pid file `path`.
pub fn read_pid(path: &Path) -> Option<u32> {
    let pid: u32 = std::fs::read_to_string(path).ok()?.trim().parse().ok()?;
    Path::new(&format!("/proc/{pid}")).exists().then_some(pid)
}

/// Whether `pid` runs: its /proc entry exists and is neither a zombie nor dead.
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rfind(')')
            .and_then(|i| stat[i + 1..].split_whitespace().next())
            .is_some_and(|st| st != "Z" && st != "X")
    })
}

/// `kill -s SIG PID`; panics if it fails (e.g. the process is gone).
pub fn signal(sig: &str, pid: u32) {
    let ok = std::process::Command::new("kill")
        .args(["-s", sig, &pid.to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "kill -s {sig} {pid}");
}

/// `kill -s SIG PID...` in one run (the signals go out in argument order).
fn kill_each(sig: &str, pids: &[u32]) {
    let _ = std::process::Command::new("kill")
        .arg("-s")
        .arg(sig)
        .args(pids.iter().map(u32::to_string))
        .status();
}
