//! Tests of `vrrp_track_process` with real processes (as root: the process connector needs
//! `CAP_NET_ADMIN`). Each test runs programs under names of its own (symbolic links to
//! /bin/sleep and /bin/sh, whose names become the processes' names), and kills them, with
//! their process groups, even when it fails.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use keepalived_config::model::vrrp::{ParamMatch, TrackProcess};
use keepalived_vrrp::track::{TrackerId, TrackerUpdate, TrackerValue};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

use super::*;

/// How long a status change may take to arrive (generous: the machine is shared).
const WITHIN: Duration = Duration::from_secs(2);

/// Programs started by a test, killed (whole process groups) and reaped on drop.
struct Lab {
    dir: PathBuf,
    children: Vec<Child>,
}

impl Lab {
    fn new() -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "ka-track-proc-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self {
            dir,
            children: Vec::new(),
        }
    }

    /// A name of at most 15 characters no other test uses.
    fn unique_name() -> String {
        static N: AtomicU32 = AtomicU32::new(0);
        format!(
            "k{}x{}",
            std::process::id() % 10_000_000,
            N.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// A symbolic link to `target` under a unique name: (path, name).
    fn link(&self, target: &str) -> (PathBuf, String) {
        let name = Self::unique_name();
        let path = self.dir.join(&name);
        std::os::unix::fs::symlink(target, &path).unwrap();
        (path, name)
    }

    /// Starts `cmd` in a process group of its own; returns its pid.
    fn start(&mut self, cmd: &mut Command) -> u32 {
        let child = cmd
            .process_group(0)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id();
        self.children.push(child);
        pid
    }

    /// Kills `pid`'s process group and reaps it.
    fn kill(&mut self, pid: u32) {
        if let Some(i) = self.children.iter().position(|c| c.id() == pid) {
            let mut c = self.children.swap_remove(i);
            kill_group(&mut c);
        }
    }
}

fn kill_group(c: &mut Child) {
    if let Ok(pid) = i32::try_from(c.id()) {
        let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
    }
    let _ = c.kill();
    let _ = c.wait();
}

impl Drop for Lab {
    fn drop(&mut self) {
        for c in &mut self.children {
            kill_group(c);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn tp(process: &str) -> TrackProcess {
    TrackProcess {
        name: format!("tp-{process}"),
        loc: keepalived_config::Loc::default(),
        process: process.to_owned(),
        params: Vec::new(),
        param_match: None,
        weight: 0,
        reverse: false,
        quorum: 1,
        quorum_max: None,
        fork_delay: Duration::ZERO,
        terminate_delay: Duration::ZERO,
        full_command: false,
    }
}

async fn expect(rx: &mut UnboundedReceiver<TrackerUpdate>, id: usize, value: TrackerValue) {
    let u = tokio::time::timeout(WITHIN, rx.recv())
        .await
        .unwrap_or_else(|_| panic!("no update within {WITHIN:?} (wanted {id} {value:?})"))
        .expect("channel closed");
    assert_eq!(
        u,
        TrackerUpdate {
            id: TrackerId(id),
            value
        }
    );
}

async fn expect_quiet(rx: &mut UnboundedReceiver<TrackerUpdate>, for_: Duration) {
    if let Ok(u) = tokio::time::timeout(for_, rx.recv()).await {
        panic!("unexpected update {u:?}");
    }
}

use TrackerValue::{Down, Up};

async fn quorum_up_then_down(source: Source) {
    let mut lab = Lab::new();
    let (sleep, name) = lab.link("/bin/sleep");
    let (tx, mut rx) = unbounded_channel();
    let task = spawn_with(
        vec![(
            TrackerId(4),
            TrackProcess {
                quorum: 2,
                ..tp(&name)
            },
        )],
        tx,
        source,
    );
    expect(&mut rx, 4, Down).await;
    let a = lab.start(Command::new(&sleep).arg("300"));
    expect_quiet(&mut rx, Duration::from_millis(300)).await;
    lab.start(Command::new(&sleep).arg("300"));
    expect(&mut rx, 4, Up).await;
    lab.kill(a);
    expect(&mut rx, 4, Down).await;
    task.abort();
}

#[tokio::test]
async fn quorum_reached_then_lost_with_process_events() {
    quorum_up_then_down(Source::Connector).await;
}

#[tokio::test]
async fn quorum_reached_then_lost_scanning_proc() {
    quorum_up_then_down(Source::Scan(Duration::from_millis(100))).await;
}

#[tokio::test]
async fn initial_status_and_quorum_max() {
    let mut lab = Lab::new();
    let (sleep, name) = lab.link("/bin/sleep");
    let a = lab.start(Command::new(&sleep).arg("300"));
    let b = lab.start(Command::new(&sleep).arg("300"));
    // Let both exec before the initial scan.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (tx, mut rx) = unbounded_channel();
    let task = spawn(
        vec![
            (TrackerId(0), tp(&name)),
            (
                TrackerId(1),
                TrackProcess {
                    quorum_max: Some(1),
                    ..tp(&name)
                },
            ),
            (
                TrackerId(2),
                TrackProcess {
                    quorum: 0,
                    quorum_max: Some(0),
                    ..tp(&name)
                },
            ),
        ],
        tx,
    );
    // Initial statuses, in order, before any change.
    expect(&mut rx, 0, Up).await;
    expect(&mut rx, 1, Down).await;
    expect(&mut rx, 2, Down).await;
    lab.kill(a);
    expect(&mut rx, 1, Up).await;
    lab.kill(b);
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(
            tokio::time::timeout(WITHIN, rx.recv())
                .await
                .unwrap()
                .unwrap(),
        );
    }
    got.sort_by_key(|u| u.id);
    let values: Vec<_> = got.iter().map(|u| (u.id.0, u.value)).collect();
    assert_eq!(values, [(0, Down), (1, Down), (2, Up)]);
    task.abort();
}

#[tokio::test]
async fn param_match_modes_on_the_command_line() {
    let mut lab = Lab::new();
    let name = Lab::unique_name();
    let with_params = |params: &[&str], pm| TrackProcess {
        params: params.iter().map(|s| (*s).to_owned()).collect(),
        param_match: pm,
        ..tp(&name)
    };
    let exactly = |n, t: TrackProcess| TrackProcess {
        quorum: n,
        quorum_max: Some(n),
        ..t
    };
    let (tx, mut rx) = unbounded_channel();
    let task = spawn(
        vec![
            // `process NAME 300`: exactly one parameter, "300".
            (TrackerId(0), exactly(1, with_params(&["300"], None))),
            // `param_match partial`: "300" first, more may follow.
            (
                TrackerId(1),
                exactly(2, with_params(&["300"], Some(ParamMatch::Partial))),
            ),
            // `param_match initial`: first parameter starting with "30".
            (
                TrackerId(2),
                exactly(3, with_params(&["30"], Some(ParamMatch::Initial))),
            ),
            // `full_command` without parameters: any parameters.
            (
                TrackerId(3),
                exactly(
                    4,
                    TrackProcess {
                        full_command: true,
                        ..tp(&name)
                    },
                ),
            ),
            // `param_match` alone: no parameters at all.
            (
                TrackerId(4),
                exactly(1, with_params(&[], Some(ParamMatch::Exact))),
            ),
            // By name: argv[0] is not the process name (that is "sleep").
            (TrackerId(5), tp(&name)),
        ],
        tx,
    );
    for id in 0..6 {
        expect(&mut rx, id, Down).await;
    }
    // argv[0] is the unique name; the program is sleep.
    let mut run = |args: &[&str]| {
        lab.start(Command::new("/bin/sleep").arg0(&name).args(args));
    };
    run(&["300"]);
    run(&["300", "1"]);
    run(&["3000"]);
    // `sleep` without arguments exits at once; a shell without arguments waits for commands
    // on its standard input.
    lab.start(Command::new("/bin/sh").arg0(&name));
    let want = [Up, Up, Up, Up, Up, Down];
    // Counts rise one process at a time, so statuses may pass through other values; wait
    // for the final ones.
    let mut now = [Down; 6];
    let deadline = tokio::time::Instant::now() + WITHIN;
    while now != want {
        let u = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("statuses {now:?}, wanted {want:?}"))
            .unwrap();
        now[u.id.0] = u.value;
    }
    expect_quiet(&mut rx, Duration::from_millis(300)).await;
    task.abort();
}

#[tokio::test]
async fn terminate_delay_holds_back_the_down() {
    let mut lab = Lab::new();
    let (sleep, name) = lab.link("/bin/sleep");
    let a = lab.start(Command::new(&sleep).arg("300"));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (tx, mut rx) = unbounded_channel();
    let task = spawn(
        vec![(
            TrackerId(0),
            TrackProcess {
                terminate_delay: Duration::from_millis(1000),
                ..tp(&name)
            },
        )],
        tx,
    );
    expect(&mut rx, 0, Up).await;
    // Restarted within the delay: no change at all.
    lab.kill(a);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let b = lab.start(Command::new(&sleep).arg("300"));
    expect_quiet(&mut rx, Duration::from_millis(1500)).await;
    // Not restarted: Down, but only once the delay has run out.
    let killed = std::time::Instant::now();
    lab.kill(b);
    expect(&mut rx, 0, Down).await;
    assert!(
        killed.elapsed() >= Duration::from_millis(550),
        "{:?}",
        killed.elapsed()
    );
    task.abort();
}

#[tokio::test]
async fn fork_delay_absorbs_fork_then_exec() {
    let mut lab = Lab::new();
    let name = Lab::unique_name();
    // The tracker starts before the shell (quorum_max 1: a forked child makes 2).
    let link = lab.dir.join(&name);
    std::os::unix::fs::symlink("/bin/sh", &link).unwrap();
    let (tx, mut rx) = unbounded_channel();
    let task = spawn(
        vec![(
            TrackerId(0),
            TrackProcess {
                quorum_max: Some(1),
                fork_delay: Duration::from_millis(800),
                ..tp(&name)
            },
        )],
        tx,
    );
    expect(&mut rx, 0, Down).await;
    lab.start(
        Command::new(&link)
            .arg("-c")
            .arg("sleep 0.2; for i in 1 2 3; do /bin/true; done; read x"),
    );
    expect(&mut rx, 0, Up).await;
    // Four forks (sleep, 3 x true), each back to one process at its exec: no bounce.
    expect_quiet(&mut rx, Duration::from_millis(1200)).await;
    task.abort();
}

#[tokio::test]
async fn without_fork_delay_a_fork_bounces() {
    let mut lab = Lab::new();
    let (tx, mut rx) = unbounded_channel();
    let name = Lab::unique_name();
    let task = spawn(
        vec![(
            TrackerId(0),
            TrackProcess {
                quorum_max: Some(1),
                ..tp(&name)
            },
        )],
        tx,
    );
    expect(&mut rx, 0, Down).await;
    let link = lab.dir.join(&name);
    std::os::unix::fs::symlink("/bin/sh", &link).unwrap();
    lab.start(
        Command::new(&link)
            .arg("-c")
            .arg("sleep 0.2; /bin/true; read x"),
    );
    expect(&mut rx, 0, Up).await;
    // The fork of `sleep` makes two processes of that name until it execs.
    expect(&mut rx, 0, Down).await;
    expect(&mut rx, 0, Up).await;
    task.abort();
}

#[tokio::test]
async fn a_name_change_is_seen() {
    let mut lab = Lab::new();
    let new_name = Lab::unique_name();
    let (tx, mut rx) = unbounded_channel();
    let task = spawn(vec![(TrackerId(0), tp(&new_name))], tx);
    expect(&mut rx, 0, Down).await;
    // Writing /proc/PID/comm renames the process (as prctl(PR_SET_NAME) does); `printf` and
    // `read` are shell builtins, so nothing forks afterwards.
    let pid = lab.start(
        Command::new("/bin/sh")
            .arg("-c")
            .arg(format!("printf %s {new_name} > /proc/$$/comm; read x")),
    );
    expect(&mut rx, 0, Up).await;
    lab.kill(pid);
    expect(&mut rx, 0, Down).await;
    task.abort();
}

#[tokio::test]
async fn task_ends_when_the_receiver_is_dropped() {
    let (tx, rx) = unbounded_channel();
    let task = spawn(vec![(TrackerId(0), tp("no-such-proc"))], tx);
    drop(rx);
    tokio::time::timeout(Duration::from_secs(1), task)
        .await
        .expect("task did not end")
        .unwrap();
}
