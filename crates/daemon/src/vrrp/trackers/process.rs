//! `vrrp_track_process`: counting the running processes that match each block and reporting
//! [`TrackerValue::Up`] when `quorum <= count <= quorum_max`, else [`TrackerValue::Down`].
//!
//! As keepalived: `/proc` is scanned once at start, then the kernel's process connector
//! ([`ProcConnector`]: fork, exec, name change, exit) keeps the counts; only a process's own
//! events count (not its threads'), zombies do not count, and `/proc/PID/cmdline` is read
//! only for blocks that match on the command line (see `matcher.rs`), only as far as needed.
//! A forked child of a matching process counts like its parent until it execs. If the
//! connector cannot be opened (no `CAP_NET_ADMIN`, not in the initial network namespace, no
//! `CONFIG_PROC_EVENTS`), this is logged once and `/proc` is scanned every
//! [`FALLBACK_SCAN_INTERVAL`] instead; a scan cannot tell a fork from an exec, so there more
//! processes count as a fork and fewer as an exit for the delays (see `quorum.rs`). If the kernel
//! drops events (socket buffer overrun), `/proc` is scanned again.

mod matcher;
mod quorum;
#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use keepalived_config::model::vrrp::TrackProcess;
use keepalived_net::{ProcConnector, ProcEvent};
use keepalived_vrrp::track::{TrackerId, TrackerUpdate, TrackerValue};
use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use matcher::Matcher;
use quorum::{Cause, Quorum};

/// How often `/proc` is scanned when the process connector cannot be used.
pub const FALLBACK_SCAN_INTERVAL: Duration = Duration::from_secs(1);

/// At most this many connector datagrams are handled before yielding to other tasks.
const BATCH: usize = 64;

/// Where process changes come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The kernel's process connector, falling back to scanning `/proc` every
    /// [`FALLBACK_SCAN_INTERVAL`] if it cannot be opened (the daemon's choice).
    Connector,
    /// Scan `/proc` at this interval (the fallback; also for tests).
    #[cfg_attr(
        not(test),
        allow(dead_code, reason = "the daemon always asks for the connector")
    )]
    Scan(Duration),
}

/// Starts tracking `procs` with [`Source::Connector`]; see [`spawn_with`].
pub fn spawn(
    procs: Vec<(TrackerId, TrackProcess)>,
    tx: UnboundedSender<TrackerUpdate>,
) -> JoinHandle<()> {
    spawn_with(procs, tx, Source::Connector)
}

/// Starts tracking `procs`: subscribes to process events, scans `/proc`, sends each block's
/// status on `tx` before returning, then spawns the task that sends every change. The task ends
/// when `tx`'s receiver is dropped (or abort the handle). Must be called inside a tokio
/// runtime; call it once with every block (one connector subscription serves them all).
pub fn spawn_with(
    procs: Vec<(TrackerId, TrackProcess)>,
    tx: UnboundedSender<TrackerUpdate>,
    source: Source,
) -> JoinHandle<()> {
    let connector = match source {
        Source::Connector if !procs.is_empty() => match ProcConnector::open() {
            Ok(c) => Some(c),
            Err(e) => {
                warn!(
                    "vrrp_track_process: process events unavailable ({e}); scanning /proc every {:?} instead",
                    FALLBACK_SCAN_INTERVAL
                );
                None
            }
        },
        _ => None,
    };
    let scan_every = match source {
        Source::Scan(every) => every,
        Source::Connector => FALLBACK_SCAN_INTERVAL,
    };
    // Subscribed first, scanned second: nothing that happens in between is missed (events
    // already reflected in the scan change nothing when they are handled).
    let state = State::new(procs);
    for t in &state.trackers {
        let _ = tx.send(TrackerUpdate {
            id: t.id,
            value: value(t.quorum.is_up()),
        });
    }
    if state.trackers.is_empty() {
        return tokio::spawn(async move { tx.closed().await });
    }
    // `AsyncFd::new` is deprecated because a caller could close the fd behind tokio's back; the
    // `ProcConnector` owns its socket and lives exactly as long as the `AsyncFd`, so that cannot
    // happen (and `register`, its replacement, is `unsafe`, which this crate forbids).
    #[allow(deprecated)]
    let registered = connector.map(AsyncFd::new);
    match registered {
        Some(Ok(fd)) => tokio::spawn(state.run_connector(fd, tx, scan_every)),
        Some(Err(e)) => {
            warn!("vrrp_track_process: cannot poll process events ({e}); scanning /proc instead");
            tokio::spawn(state.run_scan(tx, scan_every))
        }
        None => tokio::spawn(state.run_scan(tx, scan_every)),
    }
}

fn value(up: bool) -> TrackerValue {
    if up {
        TrackerValue::Up
    } else {
        TrackerValue::Down
    }
}

/// One `vrrp_track_process` block.
struct Tracker {
    id: TrackerId,
    name: String,
    pids: HashSet<u32>,
    quorum: Quorum,
}

/// Every block, and what must be read from `/proc` to match them.
struct State {
    trackers: Vec<Tracker>,
    matchers: Arc<Vec<Matcher>>,
    /// Bytes of `/proc/PID/cmdline` needed, `None` if no block matches on the command line.
    cmdline: Option<usize>,
}

impl State {
    /// Scans `/proc` and computes each block's initial status.
    fn new(procs: Vec<(TrackerId, TrackProcess)>) -> Self {
        let matchers: Vec<Matcher> = procs.iter().map(|(_, tp)| Matcher::new(tp)).collect();
        for ((_, tp), m) in procs.iter().zip(&matchers) {
            if !m.can_match() {
                warn!(
                    "vrrp_track_process {}: process name {:?} is longer than the {} characters the kernel keeps: it can never match without full_command",
                    tp.name,
                    tp.process,
                    matcher::COMM_MAX
                );
            }
        }
        let cmdline = matchers
            .iter()
            .filter(|m| m.full_command())
            .map(Matcher::cmdline_needed)
            .max();
        let sets = scan(&matchers, cmdline);
        let trackers = procs
            .into_iter()
            .zip(sets)
            .map(|((id, tp), pids)| {
                let quorum = Quorum::new(&tp, pids.len());
                info!(
                    "vrrp_track_process {}: {} matching process(es), quorum {}",
                    tp.name,
                    pids.len(),
                    if quorum.is_up() { "met" } else { "not met" }
                );
                Tracker {
                    id,
                    name: tp.name,
                    pids,
                    quorum,
                }
            })
            .collect();
        Self {
            trackers,
            matchers: Arc::new(matchers),
            cmdline,
        }
    }

    async fn run_connector(
        mut self,
        mut fd: AsyncFd<ProcConnector>,
        tx: UnboundedSender<TrackerUpdate>,
        scan_every: Duration,
    ) {
        let mut events = Vec::new();
        loop {
            let deadline = self.next_deadline();
            tokio::select! {
                ready = fd.readable_mut() => {
                    let mut guard = match ready {
                        Ok(g) => g,
                        Err(e) => {
                            warn!("vrrp_track_process: process events failed ({e}); scanning /proc instead");
                            break;
                        }
                    };
                    let mut overrun = false;
                    let mut failed = None;
                    events.clear();
                    for _ in 0..BATCH {
                        match guard.try_io(|c| c.get_mut().recv(&mut events)) {
                            Ok(Ok(_)) => {}
                            Ok(Err(e)) if e.raw_os_error() == Some(libc::ENOBUFS) => overrun = true,
                            Ok(Err(e)) => {
                                failed = Some(e);
                                break;
                            }
                            Err(_would_block) => break,
                        }
                    }
                    drop(guard);
                    let now = Instant::now().into_std();
                    for ev in &events {
                        self.handle_event(now, ev, &tx);
                    }
                    if overrun {
                        warn!("vrrp_track_process: process events were lost; rescanning /proc");
                        self.rescan(&tx).await;
                    }
                    if let Some(e) = failed {
                        warn!("vrrp_track_process: process events failed ({e}); scanning /proc instead");
                        break;
                    }
                }
                () = sleep_until(deadline), if deadline.is_some() => self.handle_timeouts(&tx),
                () = tx.closed() => return,
            }
        }
        drop(fd);
        self.run_scan(tx, scan_every).await;
    }

    async fn run_scan(mut self, tx: UnboundedSender<TrackerUpdate>, every: Duration) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.reset();
        loop {
            let deadline = self.next_deadline();
            tokio::select! {
                _ = tick.tick() => self.rescan(&tx).await,
                () = sleep_until(deadline), if deadline.is_some() => self.handle_timeouts(&tx),
                () = tx.closed() => return,
            }
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.trackers
            .iter()
            .filter_map(|t| t.quorum.poll_timeout())
            .min()
            .map(Instant::from_std)
    }

    fn handle_timeouts(&mut self, tx: &UnboundedSender<TrackerUpdate>) {
        let now = Instant::now().into_std();
        for t in &mut self.trackers {
            let change = t.quorum.handle_timeout(now, t.pids.len());
            report(t, change, tx);
        }
    }

    /// Scans `/proc` (off the runtime's thread) and applies the counts found.
    async fn rescan(&mut self, tx: &UnboundedSender<TrackerUpdate>) {
        let matchers = Arc::clone(&self.matchers);
        let cmdline = self.cmdline;
        let Ok(sets) = tokio::task::spawn_blocking(move || scan(&matchers, cmdline)).await else {
            return;
        };
        let now = Instant::now().into_std();
        for (t, pids) in self.trackers.iter_mut().zip(sets) {
            let cause = if pids.len() > t.pids.len() {
                Cause::Fork
            } else {
                Cause::Exit
            };
            let changed = pids.len() != t.pids.len();
            t.pids = pids;
            if changed {
                let change = t.quorum.handle_count(now, t.pids.len(), cause);
                report(t, change, tx);
            }
        }
    }

    fn handle_event(
        &mut self,
        now: std::time::Instant,
        ev: &ProcEvent,
        tx: &UnboundedSender<TrackerUpdate>,
    ) {
        match *ev {
            ProcEvent::Fork {
                parent_tgid,
                child_pid,
                child_tgid,
                ..
            } if child_pid == child_tgid => {
                for t in &mut self.trackers {
                    if t.pids.contains(&parent_tgid) && t.pids.insert(child_tgid) {
                        let change = t.quorum.handle_count(now, t.pids.len(), Cause::Fork);
                        report(t, change, tx);
                    }
                }
            }
            ProcEvent::Exec { pid, tgid } if pid == tgid => {
                let info = read_proc(tgid, self.cmdline);
                for (t, m) in self.trackers.iter_mut().zip(self.matchers.iter()) {
                    let matches = info
                        .as_ref()
                        .is_some_and(|(comm, cmdline)| m.matches(comm, cmdline));
                    let changed = if matches {
                        t.pids.insert(tgid)
                    } else {
                        t.pids.remove(&tgid)
                    };
                    if changed {
                        let change = t.quorum.handle_count(now, t.pids.len(), Cause::Immediate);
                        report(t, change, tx);
                    }
                }
            }
            ProcEvent::Comm { pid, tgid, comm } if pid == tgid => {
                let comm = ProcEvent::comm_bytes(&comm);
                for (t, m) in self.trackers.iter_mut().zip(self.matchers.iter()) {
                    if m.full_command() {
                        continue;
                    }
                    let changed = if m.matches_comm(comm) {
                        t.pids.insert(tgid)
                    } else {
                        t.pids.remove(&tgid)
                    };
                    if changed {
                        let change = t.quorum.handle_count(now, t.pids.len(), Cause::Immediate);
                        report(t, change, tx);
                    }
                }
            }
            ProcEvent::Exit { pid, tgid } if pid == tgid => {
                for t in &mut self.trackers {
                    if t.pids.remove(&tgid) {
                        let change = t.quorum.handle_count(now, t.pids.len(), Cause::Exit);
                        report(t, change, tx);
                    }
                }
            }
            _ => {}
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    if let Some(d) = deadline {
        tokio::time::sleep_until(d).await;
    }
}

fn report(t: &Tracker, change: Option<bool>, tx: &UnboundedSender<TrackerUpdate>) {
    let Some(up) = change else {
        return;
    };
    // keepalived's line, then the count behind it.
    info!(
        "Quorum {} for tracked process {}",
        if up { "gained" } else { "lost" },
        t.name
    );
    debug!(
        "vrrp_track_process {}: {} matching process(es)",
        t.name,
        t.pids.len()
    );
    let _ = tx.send(TrackerUpdate {
        id: t.id,
        value: value(up),
    });
}

/// The live processes matching each matcher.
fn scan(matchers: &[Matcher], cmdline: Option<usize>) -> Vec<HashSet<u32>> {
    let mut sets = vec![HashSet::new(); matchers.len()];
    let Ok(dir) = std::fs::read_dir("/proc") else {
        warn!("vrrp_track_process: cannot read /proc");
        return sets;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Some((comm, cmd)) = read_proc(pid, cmdline) else {
            continue;
        };
        for (set, m) in sets.iter_mut().zip(matchers) {
            if m.matches(&comm, &cmd) {
                set.insert(pid);
            }
        }
    }
    sets
}

/// A live process's name and (if `cmdline` says how much) the start of its command line;
/// `None` if it is gone or a zombie.
fn read_proc(pid: u32, cmdline: Option<usize>) -> Option<(Vec<u8>, Vec<u8>)> {
    let stat = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    // "PID (COMM) STATE ...": COMM may itself contain ')' and spaces.
    let open = stat.iter().position(|&b| b == b'(')?;
    let close = stat.iter().rposition(|&b| b == b')')?;
    let comm = stat.get(open + 1..close)?.to_vec();
    if matches!(stat.get(close + 2), Some(b'Z' | b'X' | b'x') | None) {
        return None;
    }
    let mut cmd = Vec::new();
    if let Some(max) = cmdline {
        let f = std::fs::File::open(format!("/proc/{pid}/cmdline")).ok()?;
        f.take(u64::try_from(max).unwrap_or(u64::MAX))
            .read_to_end(&mut cmd)
            .ok()?;
    }
    Some((comm, cmd))
}
