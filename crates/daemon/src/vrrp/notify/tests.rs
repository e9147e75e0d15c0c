//! Tests of the notifier with real scripts, FIFOs and reader processes.

use std::io::{BufRead as _, Read as _};
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::time::{Duration, Instant};

use keepalived_config::Config;

use super::*;
use crate::services::script::tests::{TempDir, root_env};

/// Two instances (VI_1, VI_2) in sync group G1, with extra lines for each block.
fn config(global: &str, vi1: &str, vi2: &str, group: &str) -> Config {
    let inst = |name: &str, vrid: u8, extra: &str| {
        format!(
            "vrrp_instance {name} {{\n interface eth0\n virtual_router_id {vrid}\n priority 100\n \
             virtual_ipaddress {{\n  192.0.2.{vrid}\n }}\n{extra}\n}}\n"
        )
    };
    let text = format!(
        "global_defs {{\n{global}\n}}\n{}{}vrrp_sync_group G1 {{\n group {{\n  VI_1\n  VI_2\n }}\n{group}\n}}\n",
        inst("VI_1", 51, vi1),
        inst("VI_2", 52, vi2),
    );
    let read = keepalived_config::read_str("t.conf", &text, &Default::default());
    assert!(
        !read.diagnostics.has_errors(),
        "{:?}\n{text}",
        read.render_diagnostics()
    );
    read.config
}

/// A script that appends its arguments (after the first, the log file) as `a|b|...|`.
fn recorder(dir: &TempDir) -> String {
    let path = dir.script(
        "rec.sh",
        "out=$1\nshift\nprintf '%s|' \"$@\" >> \"$out\"\necho >> \"$out\"",
    );
    path.display().to_string()
}

/// Waits until `path` holds at least `lines` lines; returns its text.
async fn wait_lines(path: &Path, lines: usize, within: Duration) -> String {
    let deadline = Instant::now() + within;
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.lines().count() >= lines || Instant::now() > deadline {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn notify_argv_is_keepalived_s() {
    let dir = TempDir::new("notify-argv");
    let rec = recorder(&dir);
    let (li, lg) = (dir.join("inst"), dir.join("group"));
    let (li, lg) = (li.display(), lg.display());
    let cfg = config(
        "",
        &format!(" notify_master \"{rec} {li} master\"\n notify \"{rec} {li}\""),
        "",
        &format!(" notify_backup \"{rec} {lg} gbackup\"\n notify \"{rec} {lg}\""),
    );
    let n = Notifier::new(&cfg, &root_env());
    n.instance("VI_1", NotifyState::Master, 100);
    n.group("G1", NotifyState::Backup);
    // States without a script of their own still run the generic one, in order.
    n.instance("VI_1", NotifyState::Backup, 90);
    n.instance("VI_1", NotifyState::Fault, 0);
    n.instance("VI_1", NotifyState::Stop, 100);
    let inst = wait_lines(&dir.join("inst"), 5, Duration::from_secs(5)).await;
    assert_eq!(
        inst,
        "master|\nINSTANCE|VI_1|MASTER|100|\nINSTANCE|VI_1|BACKUP|90|\n\
         INSTANCE|VI_1|FAULT|0|\nINSTANCE|VI_1|STOP|100|\n"
    );
    let group = wait_lines(&dir.join("group"), 2, Duration::from_secs(5)).await;
    assert_eq!(group, "gbackup|\nGROUP|G1|BACKUP|0|\n");
    n.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn deleted_and_rx_lower_priority() {
    let dir = TempDir::new("notify-deleted");
    let rec = recorder(&dir);
    let (l1, l2) = (dir.join("vi1"), dir.join("vi2"));
    let (l1, l2) = (l1.display(), l2.display());
    let cfg = config(
        "",
        &format!(
            " notify_deleted \"{rec} {l1} deleted\"\n notify \"{rec} {l1}\"\n \
             notify_master_rx_lower_pri \"{rec} {l1} rx\""
        ),
        &format!(" notify_fault \"{rec} {l2} fault\"\n notify \"{rec} {l2}\""),
        "",
    );
    let n = Notifier::new(&cfg, &root_env());
    n.master_rx_lower_pri("VI_1", 100);
    n.instance_deleted("VI_1", 100);
    // Without notify_deleted, a deleted instance notifies FAULT.
    n.instance_deleted("VI_2", 80);
    let vi1 = wait_lines(&dir.join("vi1"), 3, Duration::from_secs(5)).await;
    assert_eq!(vi1, "rx|\ndeleted|\nINSTANCE|VI_1|DELETED|100|\n");
    let vi2 = wait_lines(&dir.join("vi2"), 2, Duration::from_secs(5)).await;
    assert_eq!(vi2, "fault|\nINSTANCE|VI_2|FAULT|80|\n");
    n.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn fifo_lines_reach_the_fifo_script() {
    let dir = TempDir::new("notify-fifo");
    let fifo = dir.join("fifo");
    let out = dir.join("out");
    let pid = dir.join("pid");
    let reader = dir.script(
        "reader.sh",
        &format!("echo $$ > {}\nexec cat \"$2\" > \"$1\"", pid.display()),
    );
    let cfg = config(
        &format!(
            " vrrp_notify_fifo {}\n vrrp_notify_fifo_script \"{} {}\"",
            fifo.display(),
            reader.display(),
            out.display()
        ),
        " notify_priority_changes",
        "",
        "",
    );
    let n = Notifier::new(&cfg, &root_env());
    let meta = std::fs::symlink_metadata(&fifo).expect("the fifo was created");
    assert!(meta.file_type().is_fifo());
    assert_eq!(meta.permissions().mode() & 0o777, 0o644);
    n.instance("VI_1", NotifyState::Master, 100);
    n.group("G1", NotifyState::Master);
    n.priority_changed("VI_1", NotifyState::Master, 90);
    // VI_2 did not ask for priority changes.
    n.priority_changed("VI_2", NotifyState::Backup, 90);
    n.master_rx_lower_pri("VI_1", 90);
    n.instance("VI_2", NotifyState::Stop, 100);
    let text = wait_lines(&out, 5, Duration::from_secs(5)).await;
    assert_eq!(
        text,
        "INSTANCE \"VI_1\" MASTER 100\nGROUP \"G1\" MASTER 0\n\
         INSTANCE \"VI_1\" MASTER_PRIORITY 90\nINSTANCE \"VI_1\" MASTER_RX_LOWER_PRI 90\n\
         INSTANCE \"VI_2\" STOP 100\n"
    );
    assert_eq!(n.stats().fifo_lines, 5);
    let reader_pid: i32 = std::fs::read_to_string(&pid)
        .unwrap_or_default()
        .trim()
        .parse()
        .expect("reader pid");
    n.shutdown(Duration::from_secs(1)).await;
    assert!(!fifo.exists(), "a fifo we created is removed at shutdown");
    let gone = !Path::new(&format!("/proc/{reader_pid}")).exists()
        || std::fs::read_to_string(format!("/proc/{reader_pid}/stat")).is_ok_and(|s| {
            s.rsplit_once(')')
                .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
        });
    assert!(gone, "the fifo script outlived shutdown");
}

#[tokio::test]
async fn existing_fifo_is_kept_and_read_by_an_outside_reader() {
    let dir = TempDir::new("notify-fifo2");
    let fifo = dir.join("fifo");
    nix::unistd::mkfifo(&fifo, Mode::from_bits_truncate(0o600)).expect("mkfifo");
    let cfg = config(&format!(" notify_fifo {}", fifo.display()), "", "", "");
    let mut cat = std::process::Command::new("cat")
        .arg(&fifo)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("cat");
    let n = Notifier::new(&cfg, &root_env());
    n.instance("VI_2", NotifyState::Backup, 100);
    n.instance("VI_2", NotifyState::Fault, 100);
    let mut out = std::io::BufReader::new(cat.stdout.take().expect("cat's stdout"));
    let mut text = String::new();
    for _ in 0..2 {
        out.read_line(&mut text).expect("read");
    }
    assert_eq!(
        text,
        "INSTANCE \"VI_2\" BACKUP 100\nINSTANCE \"VI_2\" FAULT 100\n"
    );
    n.shutdown(Duration::from_secs(1)).await;
    assert!(fifo.exists(), "a fifo we did not create stays");
    drop(n); // closes our end: cat sees end of file
    let mut rest = String::new();
    out.read_to_string(&mut rest).expect("read");
    assert_eq!(rest, "");
    assert!(cat.wait().is_ok_and(|s| s.success()));
}

#[tokio::test]
async fn full_fifo_drops_lines_without_blocking() {
    let dir = TempDir::new("notify-full");
    let fifo = dir.join("fifo");
    let cfg = config(&format!(" vrrp_notify_fifo {}", fifo.display()), "", "", "");
    let n = Notifier::new(&cfg, &root_env());
    let start = Instant::now();
    for i in 0..5000u32 {
        n.instance("VI_1", NotifyState::Master, (i % 200) as u8);
    }
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
    let s = n.stats();
    assert!(s.fifo_dropped > 0, "{s:?}");
    assert!(s.fifo_lines > 1000, "the pipe buffer took some: {s:?}");
    assert_eq!(s.fifo_lines + s.fifo_dropped, 5000);
    n.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_sleeping_notify_script_does_not_delay_the_caller() {
    let dir = TempDir::new("notify-slow");
    let rec = recorder(&dir);
    let log = dir.join("log");
    let cfg = config(
        "",
        &format!(
            " notify_master \"sleep 5\"\n notify_backup \"{rec} {} backup\"",
            log.display()
        ),
        "",
        "",
    );
    let n = Notifier::with_order_wait(&cfg, &root_env(), Duration::from_millis(300));
    let start = Instant::now();
    n.instance("VI_1", NotifyState::Master, 100);
    n.instance("VI_1", NotifyState::Backup, 100);
    // Not waiting for the sleeper (that would take order_wait, 300 ms).
    assert!(
        start.elapsed() < Duration::from_millis(250),
        "{:?}",
        start.elapsed()
    );
    // The runtime thread stays free while the script sleeps (a blocked one would stall for
    // order_wait or the script's 5 s).
    let mut worst = Duration::ZERO;
    for _ in 0..20 {
        let t = Instant::now();
        tokio::time::sleep(Duration::from_millis(10)).await;
        worst = worst.max(t.elapsed());
    }
    assert!(worst < Duration::from_millis(250), "a tick took {worst:?}");
    // The next script of the instance waits for the sleeper only up to order_wait.
    let text = wait_lines(&log, 1, Duration::from_secs(4)).await;
    assert_eq!(text, "backup|\n");
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(300), "{took:?}");
    assert!(took < Duration::from_secs(2), "{took:?}");
    n.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn shutdown_lets_stop_scripts_run_then_kills_them() {
    let dir = TempDir::new("notify-stop");
    let rec = recorder(&dir);
    let log = dir.join("log");
    let cfg = config(
        "",
        &format!(" notify_stop \"{rec} {} stop\"", log.display()),
        " notify_stop \"sleep 60\"",
        "",
    );
    let n = Notifier::new(&cfg, &root_env());
    n.instance("VI_1", NotifyState::Stop, 100);
    n.instance("VI_2", NotifyState::Stop, 100);
    let start = Instant::now();
    n.shutdown(Duration::from_millis(500)).await;
    let took = start.elapsed();
    assert!(took < Duration::from_millis(700), "shutdown took {took:?}");
    assert_eq!(std::fs::read_to_string(&log).unwrap_or_default(), "stop|\n");
    // Nothing runs after shutdown.
    n.instance("VI_1", NotifyState::Master, 100);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(std::fs::read_to_string(&log).unwrap_or_default(), "stop|\n");
}

#[test]
fn words_and_lines() {
    assert_eq!(
        notify_args(false, "VI_1", NotifyState::Master, 100),
        ["INSTANCE", "VI_1", "MASTER", "100"]
    );
    assert_eq!(
        notify_args(true, "G", NotifyState::Fault, 0),
        ["GROUP", "G", "FAULT", "0"]
    );
    assert_eq!(
        fifo_line(false, "VI_1", "MASTER", 100),
        "INSTANCE \"VI_1\" MASTER 100\n"
    );
    assert_eq!(NotifyState::from_state(State::Initialize), None);
    assert_eq!(
        NotifyState::from_state(State::Stop),
        Some(NotifyState::Stop)
    );
}

#[test]
fn shareable_between_tasks() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Notifier>();
    send_sync::<crate::vrrp::trackers::script::ScriptTrackers>();
    send_sync::<crate::services::script::PreparedScript>();
}
