//! Tests of `track_file` against real files and inotify.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use keepalived_config::model::vrrp::{InitFile, TrackFile};
use keepalived_vrrp::track::{TrackerId, TrackerUpdate, TrackerValue};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

use super::*;

/// How long a change may take to arrive.
const WITHIN: Duration = Duration::from_millis(200);

/// A fresh directory, removed on drop (also when a test fails).
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "ka-track-file-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn track(name: &str, file: &Path, init_file: Option<InitFile>) -> TrackFile {
    TrackFile {
        name: name.to_owned(),
        loc: keepalived_config::Loc::default(),
        file: file.to_path_buf(),
        weight: 1,
        reverse: false,
        init_file,
    }
}

async fn next(rx: &mut UnboundedReceiver<TrackerUpdate>) -> TrackerUpdate {
    tokio::time::timeout(WITHIN, rx.recv())
        .await
        .expect("no update within 200 ms")
        .expect("channel closed")
}

async fn expect_value(rx: &mut UnboundedReceiver<TrackerUpdate>, id: usize, v: i64) {
    let u = next(rx).await;
    assert_eq!(
        u,
        TrackerUpdate {
            id: TrackerId(id),
            value: TrackerValue::Value(v)
        }
    );
}

async fn expect_quiet(rx: &mut UnboundedReceiver<TrackerUpdate>) {
    if let Ok(u) = tokio::time::timeout(Duration::from_millis(150), rx.recv()).await {
        panic!("unexpected update {u:?}");
    }
}

#[test]
fn parses_like_strtol_base_0() {
    let cases: &[(&str, i64)] = &[
        ("12\n", 12),
        ("  -7", -7),
        ("+5", 5),
        ("\n\t 3 apples", 3),
        ("12abc", 12),
        ("0x1f", 31),
        ("0X1F\n", 31),
        ("-0x10", -16),
        ("010", 8),
        ("08", 0),
        ("0x", 0),
        ("0xg", 0),
        ("abc", 0),
        ("", 0),
        ("-", 0),
        ("- 5", 0),
        ("99999999999999999999", i64::MAX),
        ("-99999999999999999999", i64::MIN),
        ("-9223372036854775808", i64::MIN),
    ];
    for (s, v) in cases {
        assert_eq!(parse_value(s.as_bytes()), *v, "{s:?}");
    }
    assert_eq!(parse_value(&[0xff, b'1']), 0);
}

#[tokio::test]
async fn initial_value_then_writes() {
    let dir = TempDir::new();
    let f = dir.path("prio");
    std::fs::write(&f, "5\n").unwrap();
    let (tx, mut rx) = unbounded_channel();
    let task = spawn(vec![(TrackerId(3), track("t", &f, None))], tx);
    expect_value(&mut rx, 3, 5).await;
    std::fs::write(&f, "7\n").unwrap();
    expect_value(&mut rx, 3, 7).await;
    std::fs::write(&f, "-20").unwrap();
    expect_value(&mut rx, 3, -20).await;
    // The same value again is not reported.
    std::fs::write(&f, "-20\n").unwrap();
    expect_quiet(&mut rx).await;
    task.abort();
}

#[tokio::test]
async fn replaced_by_rename() {
    let dir = TempDir::new();
    let f = dir.path("prio");
    std::fs::write(&f, "1").unwrap();
    let (tx, mut rx) = unbounded_channel();
    let task = spawn(vec![(TrackerId(0), track("t", &f, None))], tx);
    expect_value(&mut rx, 0, 1).await;
    let tmp = dir.path("prio.tmp");
    std::fs::write(&tmp, "9\n").unwrap();
    // Writing the temporary file is not a change of ours.
    expect_quiet(&mut rx).await;
    std::fs::rename(&tmp, &f).unwrap();
    expect_value(&mut rx, 0, 9).await;
    task.abort();
}

#[tokio::test]
async fn deleted_then_recreated() {
    let dir = TempDir::new();
    let f = dir.path("prio");
    std::fs::write(&f, "6").unwrap();
    let (tx, mut rx) = unbounded_channel();
    let task = spawn(vec![(TrackerId(1), track("t", &f, None))], tx);
    expect_value(&mut rx, 1, 6).await;
    std::fs::remove_file(&f).unwrap();
    expect_value(&mut rx, 1, 0).await;
    std::fs::write(&f, "4\n").unwrap();
    expect_value(&mut rx, 1, 4).await;
    // Renamed away reads as 0 too.
    std::fs::rename(&f, dir.path("elsewhere")).unwrap();
    expect_value(&mut rx, 1, 0).await;
    task.abort();
}

#[tokio::test]
async fn missing_file_reads_0_until_created() {
    let dir = TempDir::new();
    let f = dir.path("later");
    let (tx, mut rx) = unbounded_channel();
    let task = spawn(vec![(TrackerId(0), track("t", &f, None))], tx);
    expect_value(&mut rx, 0, 0).await;
    std::fs::write(&f, "12").unwrap();
    expect_value(&mut rx, 0, 12).await;
    task.abort();
}

#[tokio::test]
async fn garbage_reads_as_0() {
    let dir = TempDir::new();
    let f = dir.path("prio");
    std::fs::write(&f, "hello\n").unwrap();
    let (tx, mut rx) = unbounded_channel();
    let task = spawn(vec![(TrackerId(0), track("t", &f, None))], tx);
    expect_value(&mut rx, 0, 0).await;
    std::fs::write(&f, "0x10 trailing words").unwrap();
    expect_value(&mut rx, 0, 16).await;
    std::fs::write(&f, [0xffu8, 0xfe, 0x00]).unwrap();
    expect_value(&mut rx, 0, 0).await;
    task.abort();
}

#[tokio::test]
async fn init_file_creates_but_keeps_existing_unless_overwrite() {
    let dir = TempDir::new();
    let created = dir.path("created");
    let kept = dir.path("kept");
    let overwritten = dir.path("overwritten");
    std::fs::write(&kept, "8\n").unwrap();
    std::fs::write(&overwritten, "8\n").unwrap();
    let init = |value, overwrite| Some(InitFile { value, overwrite });
    let (tx, mut rx) = unbounded_channel();
    let task = spawn(
        vec![
            (TrackerId(0), track("a", &created, init(3, false))),
            (TrackerId(1), track("b", &kept, init(3, false))),
            (TrackerId(2), track("c", &overwritten, init(-2, true))),
        ],
        tx,
    );
    expect_value(&mut rx, 0, 3).await;
    expect_value(&mut rx, 1, 8).await;
    expect_value(&mut rx, 2, -2).await;
    assert_eq!(std::fs::read_to_string(&created).unwrap(), "3\n");
    assert_eq!(std::fs::read_to_string(&kept).unwrap(), "8\n");
    assert_eq!(std::fs::read_to_string(&overwritten).unwrap(), "-2\n");
    // init_file without a value writes 0.
    let zero = dir.path("zero");
    let (tx2, mut rx2) = unbounded_channel();
    let task2 = spawn(vec![(TrackerId(0), track("z", &zero, init(0, false)))], tx2);
    expect_value(&mut rx2, 0, 0).await;
    assert_eq!(std::fs::read_to_string(&zero).unwrap(), "0\n");
    task.abort();
    task2.abort();
}

#[tokio::test]
async fn several_files_in_one_directory_and_one_file_twice() {
    let dir = TempDir::new();
    let a = dir.path("a");
    let b = dir.path("b");
    std::fs::write(&a, "1").unwrap();
    std::fs::write(&b, "2").unwrap();
    std::fs::create_dir(dir.path("x")).unwrap();
    let (tx, mut rx) = unbounded_channel();
    let task = spawn(
        vec![
            (TrackerId(0), track("a", &a, None)),
            (TrackerId(1), track("b", &b, None)),
            // The same file by another path.
            (TrackerId(2), track("a2", &dir.0.join("x/../a"), None)),
        ],
        tx,
    );
    expect_value(&mut rx, 0, 1).await;
    expect_value(&mut rx, 1, 2).await;
    expect_value(&mut rx, 2, 1).await;
    std::fs::write(&b, "20").unwrap();
    expect_value(&mut rx, 1, 20).await;
    std::fs::write(&a, "10").unwrap();
    let mut got = [next(&mut rx).await, next(&mut rx).await];
    got.sort_by_key(|u| u.id);
    assert_eq!(got[0].id, TrackerId(0));
    assert_eq!(got[1].id, TrackerId(2));
    assert!(got.iter().all(|u| u.value == TrackerValue::Value(10)));
    task.abort();
}

#[tokio::test]
async fn a_symbolic_link_is_followed_to_its_target() {
    let dir = TempDir::new();
    let other = TempDir::new();
    let target = other.path("real");
    std::fs::write(&target, "3").unwrap();
    let link = dir.path("link");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let (tx, mut rx) = unbounded_channel();
    let task = spawn(vec![(TrackerId(0), track("t", &link, None))], tx);
    expect_value(&mut rx, 0, 3).await;
    // The target's directory is watched.
    std::fs::write(&target, "30").unwrap();
    expect_value(&mut rx, 0, 30).await;
    task.abort();
}

#[tokio::test]
async fn missing_directory_reads_0_and_does_not_stop_the_others() {
    let dir = TempDir::new();
    let ok = dir.path("ok");
    std::fs::write(&ok, "5").unwrap();
    let (tx, mut rx) = unbounded_channel();
    let task = spawn(
        vec![
            (
                TrackerId(0),
                track("gone", &dir.0.join("no/such/dir/f"), None),
            ),
            (TrackerId(1), track("ok", &ok, None)),
        ],
        tx,
    );
    expect_value(&mut rx, 0, 0).await;
    expect_value(&mut rx, 1, 5).await;
    std::fs::write(&ok, "6").unwrap();
    expect_value(&mut rx, 1, 6).await;
    task.abort();
}

#[tokio::test]
async fn task_ends_when_the_receiver_is_dropped() {
    let dir = TempDir::new();
    let f = dir.path("f");
    let (tx, rx) = unbounded_channel();
    let task = spawn(vec![(TrackerId(0), track("t", &f, None))], tx);
    drop(rx);
    tokio::time::timeout(Duration::from_secs(1), task)
        .await
        .expect("task did not end")
        .unwrap();
}
