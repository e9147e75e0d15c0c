//! `track_file`: the integer each tracked file holds, watched with inotify and reported as
//! [`TrackerValue::Value`].
//!
//! As keepalived does:
//! - the file is read (at most 127 bytes) as C's `strtol(buf, NULL, 0)` reads it: leading
//!   white space, an optional sign, then decimal, `0x` hexadecimal or `0` octal digits; text
//!   after the number is ignored. An empty, unreadable or missing file, or one that does not
//!   start with a number, reads as 0. Values beyond `i64` saturate (the engine multiplies by
//!   the weight and clamps).
//! - the file's directory is watched, not the file: a write is seen when the writer closes
//!   the file (`IN_CLOSE_WRITE`), a file renamed over it (`IN_MOVED_TO`: editors,
//!   `echo 5 > tmp && mv tmp file`) is read, and a file deleted or renamed away
//!   (`IN_DELETE`, `IN_MOVED_FROM`) reads as 0 until it is created again. Writes by a process
//!   that keeps the file open are seen when it closes it; creating a hard or symbolic link
//!   over the name is not seen (no close, no rename).
//! - a path that is a symbolic link at start is resolved, and the target's directory watched.
//! - `init_file [VALUE] [overwrite]` writes `VALUE\n` at start if the file is missing (or
//!   always, with `overwrite`), before the first read.
//!
//! Each file's value is sent once at start, then on every change.

use std::collections::{BTreeSet, HashMap};
use std::ffi::OsString;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use futures_util::StreamExt;
use inotify::{EventMask, Inotify, WatchMask};
use keepalived_config::model::vrrp::TrackFile;
use keepalived_vrrp::track::{TrackerId, TrackerUpdate, TrackerValue};
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;
use tracing::{info, warn};

#[cfg(test)]
mod tests;

/// How much of a file is read (as keepalived: a number never needs more).
const READ_MAX: u64 = 127;

/// One tracked file.
#[derive(Debug)]
struct Entry {
    id: TrackerId,
    /// The `track_file` block's name, for logs.
    name: String,
    /// The path read (symbolic links resolved at start).
    path: PathBuf,
    /// The watched directory, if it could be found.
    dir: Option<PathBuf>,
    /// The file's name in `dir`.
    file_name: OsString,
    /// The value last sent.
    last: i64,
}

/// Starts tracking `files`: applies `init_file`, sends each file's current value on `tx`
/// before returning, then spawns the task that watches them and sends every change. The task
/// ends when `tx`'s receiver is dropped (or abort the handle). Must be called inside a tokio
/// runtime. Problems (a missing directory, no inotify) are logged, never fatal: the file then
/// reads as 0 and is not watched.
pub fn spawn(
    files: Vec<(TrackerId, TrackFile)>,
    tx: UnboundedSender<TrackerUpdate>,
) -> JoinHandle<()> {
    let mut entries: Vec<Entry> = files.iter().map(|(id, tf)| prepare(*id, tf)).collect();
    for e in &mut entries {
        e.last = read_value(&e.path);
        let _ = tx.send(TrackerUpdate {
            id: e.id,
            value: TrackerValue::Value(e.last),
        });
    }
    let dirs: BTreeSet<PathBuf> = entries.iter().filter_map(|e| e.dir.clone()).collect();
    if dirs.is_empty() {
        return tokio::spawn(async move { tx.closed().await });
    }
    let watcher = match Watcher::new(&dirs) {
        Ok(w) => w,
        Err(e) => {
            warn!("track_file: cannot start inotify ({e}): track files will not be watched");
            return tokio::spawn(async move { tx.closed().await });
        }
    };
    tokio::spawn(watcher.run(entries, tx))
}

/// Applies `init_file` and works out what to read and which directory to watch.
fn prepare(id: TrackerId, tf: &TrackFile) -> Entry {
    if let Some(init) = tf.init_file
        && (init.overwrite || std::fs::symlink_metadata(&tf.file).is_err())
    {
        match std::fs::write(&tf.file, format!("{}\n", init.value)) {
            Ok(()) => info!(
                "track_file {}: initialised {} to {}",
                tf.name,
                tf.file.display(),
                init.value
            ),
            Err(e) => warn!(
                "track_file {}: cannot initialise {}: {e}",
                tf.name,
                tf.file.display()
            ),
        }
    }
    let (path, dir, file_name) = resolve(&tf.file);
    if dir.is_none() {
        warn!(
            "track_file {}: the directory of {} does not exist: the file is not watched",
            tf.name,
            tf.file.display()
        );
    }
    Entry {
        id,
        name: tf.name.clone(),
        path,
        dir,
        file_name,
        last: 0,
    }
}

/// The path to read, the directory to watch and the file's name in it.
fn resolve(file: &Path) -> (PathBuf, Option<PathBuf>, OsString) {
    let path = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf());
    let name = path.file_name().map(OsString::from).unwrap_or_default();
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let dir = std::fs::canonicalize(parent).ok().filter(|d| d.is_dir());
    let path = match &dir {
        Some(d) if !name.is_empty() => d.join(&name),
        _ => path,
    };
    (path, dir, name)
}

/// The file's value, 0 if it cannot be read (see the module doc).
pub(crate) fn read_value(path: &Path) -> i64 {
    let mut buf = Vec::with_capacity(128);
    let read = std::fs::OpenOptions::new()
        .read(true)
        // A FIFO must not block the daemon.
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .and_then(|f| f.take(READ_MAX).read_to_end(&mut buf));
    match read {
        Ok(_) => parse_value(&buf),
        Err(_) => 0,
    }
}

/// Reads an integer as `strtol(s, NULL, 0)` does, saturating; 0 if there is none.
pub(crate) fn parse_value(s: &[u8]) -> i64 {
    let mut i = s
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c))
        .unwrap_or(s.len());
    let negative = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let radix = match (s.get(i), s.get(i + 1), s.get(i + 2)) {
        (Some(b'0'), Some(b'x' | b'X'), Some(c)) if c.is_ascii_hexdigit() => {
            i += 2;
            16
        }
        (Some(b'0'), _, _) => 8,
        _ => 10,
    };
    let mut value: i64 = 0;
    for &b in &s[i.min(s.len())..] {
        let Some(d) = char::from(b).to_digit(radix) else {
            break;
        };
        // Accumulate towards the sign so that i64::MIN is reachable; saturate like strtol.
        let d = i64::from(d);
        value = if negative {
            value.saturating_mul(i64::from(radix)).saturating_sub(d)
        } else {
            value.saturating_mul(i64::from(radix)).saturating_add(d)
        };
    }
    value
}

/// The inotify instance and which watch is which directory.
struct Watcher {
    stream: inotify::EventStream<Vec<u8>>,
    /// Watch descriptor id → directory.
    dirs: HashMap<i32, PathBuf>,
}

impl Watcher {
    fn new(dirs: &BTreeSet<PathBuf>) -> std::io::Result<Self> {
        let inotify = Inotify::init()?;
        let stream = inotify.into_event_stream(vec![0u8; 4096])?;
        let mut watches = stream.watches();
        let mask = WatchMask::CLOSE_WRITE
            | WatchMask::MOVED_TO
            | WatchMask::MOVED_FROM
            | WatchMask::DELETE
            | WatchMask::DELETE_SELF
            | WatchMask::MOVE_SELF
            | WatchMask::ONLYDIR;
        let mut by_wd = HashMap::new();
        for dir in dirs {
            match watches.add(dir, mask) {
                Ok(wd) => {
                    by_wd.insert(wd.get_watch_descriptor_id(), dir.clone());
                }
                Err(e) => warn!("track_file: cannot watch {}: {e}", dir.display()),
            }
        }
        Ok(Self {
            stream,
            dirs: by_wd,
        })
    }

    async fn run(mut self, mut entries: Vec<Entry>, tx: UnboundedSender<TrackerUpdate>) {
        loop {
            let event = tokio::select! {
                ev = self.stream.next() => ev,
                () = tx.closed() => return,
            };
            let event = match event {
                Some(Ok(ev)) => ev,
                Some(Err(e)) => {
                    warn!("track_file: inotify read failed ({e}): track files no longer watched");
                    tx.closed().await;
                    return;
                }
                None => return,
            };
            let mask = event.mask;
            if mask.contains(EventMask::Q_OVERFLOW) {
                // Events were lost: read everything again.
                for e in &mut entries {
                    let v = read_value(&e.path);
                    send_if_changed(e, v, &tx);
                }
                continue;
            }
            let Some(dir) = self.dirs.get(&event.wd.get_watch_descriptor_id()) else {
                continue;
            };
            if mask.intersects(EventMask::DELETE_SELF | EventMask::MOVE_SELF) {
                warn!(
                    "track_file: directory {} was removed or moved: its files are no longer watched",
                    dir.display()
                );
                for e in entries.iter_mut().filter(|e| e.dir.as_ref() == Some(dir)) {
                    let v = read_value(&e.path);
                    send_if_changed(e, v, &tx);
                }
                continue;
            }
            if mask.contains(EventMask::ISDIR) {
                continue;
            }
            let Some(name) = event.name.as_deref() else {
                continue;
            };
            let gone = mask.intersects(EventMask::DELETE | EventMask::MOVED_FROM);
            let written = mask.intersects(EventMask::CLOSE_WRITE | EventMask::MOVED_TO);
            if !gone && !written {
                continue;
            }
            for e in entries
                .iter_mut()
                .filter(|e| e.dir.as_ref() == Some(dir) && e.file_name == name)
            {
                let v = if gone { 0 } else { read_value(&e.path) };
                send_if_changed(e, v, &tx);
            }
        }
    }
}

fn send_if_changed(e: &mut Entry, value: i64, tx: &UnboundedSender<TrackerUpdate>) {
    if value == e.last {
        return;
    }
    info!("track_file {}: value {} (was {})", e.name, value, e.last);
    e.last = value;
    let _ = tx.send(TrackerUpdate {
        id: e.id,
        value: TrackerValue::Value(value),
    });
}
