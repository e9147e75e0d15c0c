//! [`Router`]: one keepalived or keepalived-rs process tree in a lab host ([`Impl`] says which,
//! [`Roles`] which runs master and which backup), with its own config, pid files and captured
//! output, frozen, thawed, killed or stopped as a test needs.

use std::fmt::Write as _;
use std::fs::File;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use lab::{Host, LabChild};

use super::{KEEPALIVED, ours_bin};

/// Which implementation a router runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Impl {
    /// Debian's keepalived 2.2.7.
    Keepalived,
    /// keepalived-rs.
    Ours,
}

impl Impl {
    /// `keepalived` or `ours`, as printed in the measurement lines.
    pub fn tag(self) -> &'static str {
        match self {
            Impl::Keepalived => "keepalived",
            Impl::Ours => "ours",
        }
    }
}

/// Who runs the (initial) master and who the backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roles {
    /// The priority-150 router on ha1.
    pub master: Impl,
    /// The priority-100 router on ha2.
    pub backup: Impl,
}

impl Roles {
    /// keepalived-rs is master, keepalived backup.
    pub const OURS_MASTER: Roles = Roles {
        master: Impl::Ours,
        backup: Impl::Keepalived,
    };
    /// keepalived is master, keepalived-rs backup.
    pub const KEEPALIVED_MASTER: Roles = Roles {
        master: Impl::Keepalived,
        backup: Impl::Ours,
    };
    /// keepalived on both sides: the reference run that validates the harness.
    pub const REFERENCE: Roles = Roles {
        master: Impl::Keepalived,
        backup: Impl::Keepalived,
    };

    /// `ours-master`, `keepalived-master` or `keepalived-both`.
    pub fn tag(self) -> String {
        if self.master == self.backup {
            format!("{}-both", self.master.tag())
        } else {
            format!("{}-master", self.master.tag())
        }
    }

    /// Whether either side runs keepalived-rs.
    pub fn uses_ours(self) -> bool {
        self.master == Impl::Ours || self.backup == Impl::Ours
    }

    /// Whether either side runs keepalived.
    pub fn uses_keepalived(self) -> bool {
        self.master == Impl::Keepalived || self.backup == Impl::Keepalived
    }
}

static ROUTER_COUNTER: AtomicU32 = AtomicU32::new(0);

/// One keepalived or keepalived-rs process tree in a lab host. Its config, pid files and
/// output live in a temp dir of its own; on a panicking test the output is printed when the
/// router is dropped. Dropping it kills every process of the router.
pub struct Router {
    /// Which implementation runs.
    pub kind: Impl,
    /// A label for messages (`ha1`, ...).
    pub name: String,
    /// The host it runs in.
    pub host: Host,
    /// The parent process (keepalived's main process, or our daemon).
    pub child: LabChild,
    dir: PathBuf,
    conf: String,
    quiet: bool,
}

impl Router {
    /// Starts Debian's keepalived on `host`:
    /// `keepalived -n -l -D -f conf -p run/ka.pid -r run/vrrp.pid -c run/chk.pid -b run/bfd.pid`.
    pub fn keepalived(host: &Host, conf_text: &str) -> Router {
        Router::start(Impl::Keepalived, host, host.name(), conf_text)
    }

    /// Starts keepalived-rs on `host`: `keepalived-rs -n -l -D -f conf` with the same pid
    /// files as keepalived.
    pub fn ours(host: &Host, conf_text: &str) -> Router {
        Router::start(Impl::Ours, host, host.name(), conf_text)
    }

    /// Starts `kind` on `host` with config `conf_text`; `name` labels its temp dir and output.
    pub fn start(kind: Impl, host: &Host, name: &str, conf_text: &str) -> Router {
        Router::start_with_args(kind, host, name, conf_text, &[])
    }

    /// As [`Router::start`], with `extra` options after the usual ones.
    pub fn start_with_args(
        kind: Impl,
        host: &Host,
        name: &str,
        conf_text: &str,
        extra: &[&str],
    ) -> Router {
        Router::start_with_env(kind, host, name, conf_text, extra, &[])
    }

    /// As [`Router::start_with_args`], with `env` added to the process's environment.
    pub fn start_with_env(
        kind: Impl,
        host: &Host,
        name: &str,
        conf_text: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Router {
        let n = ROUTER_COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "ka-interop-{}-{n}-{name}-{}",
            std::process::id(),
            kind.tag()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("run")).expect("router temp dir");
        let conf = dir.join("keepalived.conf");
        std::fs::write(&conf, conf_text).expect("write config");
        let stdout = File::create(dir.join("stdout.log")).expect("stdout file");
        let stderr = File::create(dir.join("stderr.log")).expect("stderr file");
        let mut cmd = match kind {
            Impl::Keepalived => {
                let mut c = host.command(KEEPALIVED);
                c.args(["-n", "-l", "-D", "-f"])
                    .arg(&conf)
                    .arg("-p")
                    .arg(dir.join("run/ka.pid"))
                    .arg("-r")
                    .arg(dir.join("run/vrrp.pid"))
                    .arg("-c")
                    .arg(dir.join("run/chk.pid"))
                    .arg("-b")
                    .arg(dir.join("run/bfd.pid"));
                c
            }
            Impl::Ours => {
                let mut c = host.command(ours_bin());
                c.args(["-n", "-l", "-D", "-f"])
                    .arg(&conf)
                    .arg("-p")
                    .arg(dir.join("run/ka.pid"))
                    .arg("-r")
                    .arg(dir.join("run/vrrp.pid"))
                    .arg("-c")
                    .arg(dir.join("run/chk.pid"))
                    .arg("-b")
                    .arg(dir.join("run/bfd.pid"));
                c
            }
        };
        cmd.args(extra);
        cmd.envs(env.iter().copied());
        cmd.stdin(Stdio::null()).stdout(stdout).stderr(stderr);
        let child = LabChild::spawn(&mut cmd).expect("spawn router");
        Router {
            kind,
            name: name.to_owned(),
            host: host.clone(),
            child,
            dir,
            conf: conf_text.to_owned(),
            quiet: false,
        }
    }

    /// Keeps the router's config and output out of a panicking test's messages (for a router
    /// that was only a probe).
    pub fn quiet(&mut self) {
        self.quiet = true;
    }

    /// Where its pid files are (`run/`).
    pub fn run_dir(&self) -> PathBuf {
        self.dir.join("run")
    }

    /// The parent's pid (`ip netns exec` execs the program, so it is the daemon itself).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Every process of the router: descendants first (deepest first), the parent last.
    pub fn pids(&self) -> Vec<u32> {
        let mut order = Vec::new();
        collect_descendants(self.pid(), &mut order);
        order.push(self.pid());
        order
    }

    /// Freezes the router (SIGSTOP to its children, then its parent, in one `kill` run) and
    /// returns the instant just before the signals were sent: takeover times are measured
    /// from there, so they never come out shorter than the truth.
    pub fn freeze(&mut self) -> Instant {
        let pids = self.pids();
        let t0 = Instant::now();
        send_signal("STOP", &pids);
        t0
    }

    /// Whether every process of the router is stopped (state `T` in `/proc/PID/stat`), and
    /// whether that includes at least its VRRP child: checks that a freeze caught the whole
    /// router.
    pub fn is_frozen(&self) -> bool {
        let pids = self.pids();
        // Both daemons run a parent and at least a VRRP child.
        let enough = pids.len() >= 2;
        enough
            && pids.iter().all(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .ok()
                    .and_then(|stat| {
                        let rest = &stat[stat.rfind(')')? + 1..];
                        rest.split_whitespace().next().map(|st| st == "T")
                    })
                    .unwrap_or(false)
            })
    }

    /// Resumes a frozen router (SIGCONT, parent first).
    pub fn thaw(&mut self) {
        let mut pids = self.pids();
        pids.reverse();
        send_signal("CONT", &pids);
    }

    /// Kills the router: freezes it (so nothing reacts, e.g. to its parent's death), then
    /// SIGKILLs every process and reaps the parent. Like a crash, this leaves its VIPs behind.
    pub fn kill(&mut self) {
        if !self.child.is_running() {
            return;
        }
        let pids = self.pids();
        send_signal("STOP", &pids);
        send_signal("KILL", &pids);
        self.child.kill();
    }

    /// Sends SIGTERM to the parent and returns the instant just before.
    pub fn term(&mut self) -> Instant {
        let t0 = Instant::now();
        self.child.signal("TERM").expect("SIGTERM");
        t0
    }

    /// Whether the parent is still running.
    pub fn is_running(&mut self) -> bool {
        self.child.is_running()
    }

    /// Waits for the parent to exit by itself.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        self.child.wait_timeout(timeout)
    }

    /// What the router wrote so far: its stdout, then its stderr.
    pub fn output(&self) -> String {
        let read = |f: &str| std::fs::read_to_string(self.dir.join(f)).unwrap_or_default();
        let (out, err) = (read("stdout.log"), read("stderr.log"));
        // keepalived's log may hold stray bytes; keep it printable.
        format!("{out}{err}").replace('\0', "")
    }

    /// Whether the router's output contains `needle`.
    pub fn logged(&self, needle: &str) -> bool {
        self.output().contains(needle)
    }

    /// How many lines of the output contain `needle`.
    pub fn count_logged(&self, needle: &str) -> usize {
        self.output().lines().filter(|l| l.contains(needle)).count()
    }

    /// Config and output, for failure messages.
    pub fn describe(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "===== {} ({}) pid {} in {} =====",
            self.name,
            self.kind.tag(),
            self.pid(),
            self.host.netns()
        );
        let _ = writeln!(s, "----- config -----\n{}", self.conf);
        let out = self.output();
        let lines: Vec<&str> = out.lines().collect();
        let skip = lines.len().saturating_sub(200);
        let _ = writeln!(s, "----- output (last {} lines) -----", lines.len() - skip);
        for l in &lines[skip..] {
            let _ = writeln!(s, "{l}");
        }
        s
    }
}

impl Drop for Router {
    fn drop(&mut self) {
        if std::thread::panicking() && !self.quiet {
            eprintln!("{}", self.describe());
        }
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Appends the descendants of `pid` (from `/proc/PID/task/*/children`), deepest first.
fn collect_descendants(pid: u32, out: &mut Vec<u32>) {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return;
    };
    let mut children = Vec::new();
    for task in tasks.flatten() {
        if let Ok(list) = std::fs::read_to_string(task.path().join("children")) {
            children.extend(
                list.split_whitespace()
                    .filter_map(|p| p.parse::<u32>().ok()),
            );
        }
    }
    children.sort_unstable();
    children.dedup();
    for child in children {
        collect_descendants(child, out);
        out.push(child);
    }
}

/// `kill -s SIG PID...` in one shell (the builtin sends in argument order).
fn send_signal(sig: &str, pids: &[u32]) {
    if pids.is_empty() {
        return;
    }
    let _ = Command::new("sh")
        .args(["-c", "kill -s \"$0\" \"$@\" 2>/dev/null", sig])
        .args(pids.iter().map(u32::to_string))
        .stdin(Stdio::null())
        .status();
}
