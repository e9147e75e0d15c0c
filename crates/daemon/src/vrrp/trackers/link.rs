//! Interface tracking: link notifications in, [`TrackerUpdate`]s (`Up` / `Down`) out.
//!
//! It covers every interface an instance watches (`track_interface` entries, and its own
//! interface and VMAC unless `dont_track_primary`).
//!
//! An interface is up when it exists and has `IFF_UP` and `IFF_RUNNING` (as keepalived). One
//! that disappears (deleted, renamed away, moved to another namespace) is down; one that
//! appears under a tracked name, possibly with a new index, counts from then on. Initial states
//! come from a dump and are sent once, for every tracked name, before [`spawn`] returns; after
//! that only changes are sent. If the kernel drops notifications (socket overrun), the state is
//! read again and the differences sent. No polling: the task sleeps until the socket is readable.
//!
//! [`LinkTracker`] is the pure part (no I/O), [`spawn`] the tokio task around it.

// The driver wires this in when it gains interface tracking; until then only the tests use it.

use std::collections::HashMap;
use std::io;

use keepalived_net::{LinkEvent, LinkMonitor, NetError, Rtnl};
use keepalived_vrrp::{TrackerId, TrackerUpdate, TrackerValue};
use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;
use tracing::{info, warn};

/// Which tracker ids each interface name feeds.
pub type LinkIds = HashMap<String, Vec<TrackerId>>;

/// The state of every link in the namespace, and what was last reported for each tracked name.
#[derive(Debug)]
pub struct LinkTracker {
    ids: LinkIds,
    /// Index -> (name, up), for every link that exists.
    links: HashMap<u32, (String, bool)>,
    /// Last state sent per tracked name (absent: never sent).
    reported: HashMap<String, bool>,
}

impl LinkTracker {
    /// Tracks the names in `ids`; nothing is known or reported yet.
    #[must_use]
    pub fn new(ids: LinkIds) -> LinkTracker {
        LinkTracker {
            ids,
            links: HashMap::new(),
            reported: HashMap::new(),
        }
    }

    /// Replaces what is known with a full dump (at start, or after an overrun) and returns the
    /// updates for every tracked name whose state differs from the last one sent; the first
    /// time, that is every tracked name (`Down` for the missing ones).
    pub fn resync(&mut self, links: impl IntoIterator<Item = LinkEvent>) -> Vec<TrackerUpdate> {
        self.links.clear();
        for l in links {
            if !l.deleted {
                self.links.insert(l.ifindex, (l.name, l.up));
            }
        }
        let mut names: Vec<String> = self.ids.keys().cloned().collect();
        names.sort();
        self.updates_for(&names)
    }

    /// Applies one notification and returns the updates it causes (none if no tracked name
    /// changed state).
    pub fn handle(&mut self, ev: &LinkEvent) -> Vec<TrackerUpdate> {
        let mut names = vec![ev.name.clone()];
        if let Some((old, _)) = self.links.get(&ev.ifindex)
            && *old != ev.name
        {
            // Renamed: the old name is gone.
            names.push(old.clone());
        }
        if ev.deleted {
            self.links.remove(&ev.ifindex);
        } else {
            // Names are unique in a namespace: an older index under this name is gone.
            self.links
                .retain(|&i, (n, _)| i == ev.ifindex || *n != ev.name);
            self.links.insert(ev.ifindex, (ev.name.clone(), ev.up));
        }
        self.updates_for(&names)
    }

    /// Whether `name` exists and is up.
    #[must_use]
    pub fn is_up(&self, name: &str) -> bool {
        self.links.values().any(|(n, up)| n == name && *up)
    }

    fn updates_for(&mut self, names: &[String]) -> Vec<TrackerUpdate> {
        let mut out = Vec::new();
        for name in names {
            let Some(ids) = self.ids.get(name) else {
                continue;
            };
            let up = self.is_up(name);
            if self.reported.insert(name.clone(), up) == Some(up) {
                continue;
            }
            let value = if up {
                TrackerValue::Up
            } else {
                TrackerValue::Down
            };
            out.extend(ids.iter().map(|&id| TrackerUpdate { id, value }));
        }
        out
    }
}

/// Why the tracker could not start.
#[derive(Debug)]
pub struct TrackStartError(pub NetError);

impl std::fmt::Display for TrackStartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "interface tracking: {}", self.0)
    }
}

impl std::error::Error for TrackStartError {}

/// Opens the link monitor (in the caller's network namespace), reads every link, sends the
/// initial state of every tracked name on `tx`, and spawns the task that sends the changes.
/// The task ends when `tx`'s receiver is dropped. Must be called inside a tokio runtime.
///
/// # Errors
/// [`TrackStartError`] if the netlink sockets cannot be opened or the dump fails.
pub fn spawn(
    ids: LinkIds,
    tx: UnboundedSender<TrackerUpdate>,
) -> Result<JoinHandle<()>, TrackStartError> {
    spawn_with_buffer(ids, tx, None)
}

/// [`spawn`] with the monitor socket's receive buffer set to `rcvbuf` bytes
/// (`vrrp_netlink_monitor_rcv_bufs`; `None`: the system default).
///
/// # Errors
/// As for [`spawn`].
pub fn spawn_with_buffer(
    ids: LinkIds,
    tx: UnboundedSender<TrackerUpdate>,
    rcvbuf: Option<usize>,
) -> Result<JoinHandle<()>, TrackStartError> {
    // Subscribe first, then dump: a change in between is seen twice, never missed.
    let monitor = LinkMonitor::open().map_err(TrackStartError)?;
    if let Some(bytes) = rcvbuf
        && let Err(e) = monitor.set_recv_buffer(bytes)
    {
        warn!("cannot set the link monitor's receive buffer to {bytes}: {e}");
    }
    let mut rtnl = Rtnl::open().map_err(TrackStartError)?;
    let mut tracker = LinkTracker::new(ids);
    let links = rtnl.links().map_err(TrackStartError)?;
    send_all(
        &tx,
        &tracker.resync(links.iter().map(|l| l.event())),
        &tracker,
    );
    // `AsyncFd::new` is deprecated because a caller could close the fd behind tokio's back;
    // the monitor owns its fd and is owned by the `AsyncFd`, so that cannot happen.
    #[allow(deprecated)]
    let fd = AsyncFd::new(monitor).map_err(|e| {
        TrackStartError(NetError::Netlink {
            op: "register link monitor",
            source: e,
        })
    })?;
    Ok(tokio::spawn(run(fd, rtnl, tracker, tx)))
}

async fn run(
    mut fd: AsyncFd<LinkMonitor>,
    mut rtnl: Rtnl,
    mut tracker: LinkTracker,
    tx: UnboundedSender<TrackerUpdate>,
) {
    loop {
        let mut guard = tokio::select! {
            () = tx.closed() => return,
            r = fd.readable_mut() => match r {
                Ok(g) => g,
                Err(e) => {
                    warn!("interface tracking stopped: {e}");
                    return;
                }
            },
        };
        match guard.get_inner_mut().recv() {
            Ok(events) => {
                for ev in &events {
                    let updates = tracker.handle(ev);
                    send_all(&tx, &updates, &tracker);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => guard.clear_ready(),
            Err(e) if LinkMonitor::is_overrun(&e) => {
                warn!("link notifications lost ({e}); reading all interfaces again");
                match rtnl.links() {
                    Ok(links) => {
                        let updates = tracker.resync(links.iter().map(|l| l.event()));
                        send_all(&tx, &updates, &tracker);
                    }
                    Err(e) => warn!("cannot read interfaces: {e}"),
                }
            }
            Err(e) => {
                warn!("interface tracking stopped: {e}");
                return;
            }
        }
    }
}

/// Sends `updates`, logging each name's change once as keepalived does.
fn send_all(tx: &UnboundedSender<TrackerUpdate>, updates: &[TrackerUpdate], t: &LinkTracker) {
    let mut logged: Vec<&str> = Vec::new();
    for u in updates {
        if let Some((name, _)) = t.ids.iter().find(|(_, ids)| ids.contains(&u.id))
            && !logged.contains(&name.as_str())
        {
            let word = if u.value == TrackerValue::Up {
                "up"
            } else {
                "down"
            };
            info!("Netlink reports {name} {word}");
            logged.push(name);
        }
        // A closed channel means the engine is stopping; the task notices on its next turn.
        let _ = tx.send(*u);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(ifindex: u32, name: &str, up: bool, deleted: bool) -> LinkEvent {
        LinkEvent {
            ifindex,
            name: name.to_owned(),
            up,
            deleted,
        }
    }

    fn upd(id: usize, up: bool) -> TrackerUpdate {
        TrackerUpdate {
            id: TrackerId(id),
            value: if up {
                TrackerValue::Up
            } else {
                TrackerValue::Down
            },
        }
    }

    /// Waits (up to 2 s) until `ifname` on `host` is operationally up: a fresh veth gets its
    /// carrier through the kernel's linkwatch, which may take up to a second.
    fn wait_running(host: &lab::Host, ifname: &str) {
        let up = lab::wait_until(
            std::time::Duration::from_secs(2),
            std::time::Duration::from_millis(10),
            || {
                host.ip(["-j", "link", "show", "dev", ifname])
                    .is_ok_and(|o| o.contains("\"operstate\":\"UP\""))
            },
        );
        assert!(up.is_some(), "{ifname} never came up");
    }

    fn tracker() -> LinkTracker {
        let mut ids = LinkIds::new();
        ids.insert("eth0".into(), vec![TrackerId(0), TrackerId(2)]);
        ids.insert("eth1".into(), vec![TrackerId(1)]);
        LinkTracker::new(ids)
    }

    #[test]
    fn initial_state_is_sent_for_every_name_once() {
        let mut t = tracker();
        let first = t.resync([ev(2, "eth0", true, false), ev(3, "lo", true, false)]);
        assert_eq!(first, vec![upd(0, true), upd(2, true), upd(1, false)]);
        // Same state again: nothing.
        assert!(
            t.resync([ev(2, "eth0", true, false), ev(3, "lo", true, false)])
                .is_empty()
        );
        // An overrun resync that finds a difference reports only it.
        assert_eq!(
            t.resync([ev(2, "eth0", true, false), ev(4, "eth1", true, false)]),
            vec![upd(1, true)]
        );
    }

    #[test]
    fn changes_deletion_and_reappearance() {
        let mut t = tracker();
        t.resync([ev(2, "eth0", true, false)]);
        // Repeated notifications without a change (stats, MTU...) say nothing.
        assert!(t.handle(&ev(2, "eth0", true, false)).is_empty());
        assert_eq!(
            t.handle(&ev(2, "eth0", false, false)),
            vec![upd(0, false), upd(2, false)]
        );
        assert!(t.handle(&ev(2, "eth0", false, false)).is_empty());
        assert_eq!(
            t.handle(&ev(2, "eth0", true, false)),
            vec![upd(0, true), upd(2, true)]
        );
        // Deleted: down. Back with a new index, up.
        assert_eq!(
            t.handle(&ev(2, "eth0", false, true)),
            vec![upd(0, false), upd(2, false)]
        );
        assert!(!t.is_up("eth0"));
        assert_eq!(
            t.handle(&ev(9, "eth0", true, false)),
            vec![upd(0, true), upd(2, true)]
        );
        // A stale deletion of the old index changes nothing.
        assert!(t.handle(&ev(2, "eth0", false, true)).is_empty());
        // Untracked links are ignored.
        assert!(t.handle(&ev(5, "eth7", false, true)).is_empty());
    }

    #[test]
    fn renames_move_the_state() {
        let mut t = tracker();
        t.resync([ev(2, "eth0", true, false), ev(3, "tmp", true, false)]);
        // eth0 renamed away: eth0 is down. tmp renamed to eth1: eth1 is up.
        assert_eq!(
            t.handle(&ev(2, "old0", true, false)),
            vec![upd(0, false), upd(2, false)]
        );
        assert_eq!(t.handle(&ev(3, "eth1", true, false)), vec![upd(1, true)]);
        // A new link takes a tracked name that an older index still held (missed deletion).
        assert_eq!(t.handle(&ev(7, "eth1", false, false)), vec![upd(1, false)]);
        assert!(!t.is_up("eth1"));
    }

    /// Runs `test` on a current-thread runtime in the network namespace of host ha1 of a new
    /// lab, where eth0 and eth1 (veths to ha2) are up and running.
    fn in_lab<F, Fut>(prefix: &str, test: F)
    where
        F: FnOnce(lab::Host) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()>,
    {
        use nix::sched::{CloneFlags, setns};

        let lab = lab::Lab::new(prefix).unwrap();
        let ha1 = lab.host("ha1").unwrap();
        let ha2 = lab.host("ha2").unwrap();
        lab.veth(&ha1, "eth0", &ha2, "eth0").unwrap();
        lab.veth(&ha1, "eth1", &ha2, "eth1").unwrap();
        wait_running(&ha1, "eth0");
        wait_running(&ha1, "eth1");
        let ns = std::fs::File::open(format!("/run/netns/{}", ha1.netns())).unwrap();
        std::thread::spawn(move || {
            setns(&ns, CloneFlags::CLONE_NEWNET).unwrap();
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(test(ha1));
        })
        .join()
        .unwrap_or_else(|p| std::panic::resume_unwind(p));
        drop(lab);
    }

    /// The real thing in a lab namespace: initial states from the dump before `spawn`
    /// returns, then an administrative down within 100 ms, a deletion, and the interface's
    /// return under a new index (carrier-up goes through the kernel's linkwatch, which may
    /// batch it for up to a second).
    #[test]
    fn lab_link_changes_become_updates() {
        use std::time::{Duration, Instant};

        use tokio::sync::mpsc::error::TryRecvError;

        lab::require_root!();
        in_lab("katrack", |ha1| async move {
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            let mut ids = LinkIds::new();
            ids.insert("eth0".into(), vec![TrackerId(0)]);
            ids.insert("eth1".into(), vec![TrackerId(1), TrackerId(2)]);
            ids.insert("eth5".into(), vec![TrackerId(3)]);
            let task = spawn(ids, tx).unwrap();
            let mut initial = Vec::new();
            while let Ok(u) = rx.try_recv() {
                initial.push(u);
            }
            assert_eq!(
                initial,
                vec![upd(0, true), upd(1, true), upd(2, true), upd(3, false)]
            );
            assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));

            async fn next(
                rx: &mut tokio::sync::mpsc::UnboundedReceiver<TrackerUpdate>,
                budget: Duration,
            ) -> TrackerUpdate {
                tokio::time::timeout(budget, rx.recv())
                    .await
                    .expect("an update in time")
                    .expect("the task is running")
            }
            ha1.link_set_down("eth0").unwrap();
            let t = Instant::now();
            assert_eq!(
                next(&mut rx, Duration::from_millis(100)).await,
                upd(0, false)
            );
            eprintln!("eth0 down reported {:?} after `ip` returned", t.elapsed());

            ha1.ip(["link", "del", "eth1"]).unwrap();
            assert_eq!(
                next(&mut rx, Duration::from_millis(100)).await,
                upd(1, false)
            );
            assert_eq!(
                next(&mut rx, Duration::from_millis(100)).await,
                upd(2, false)
            );

            ha1.ip(["link", "add", "eth1", "type", "veth", "peer", "name", "p1"])
                .unwrap();
            ha1.link_set_up("p1").unwrap();
            ha1.link_set_up("eth1").unwrap();
            assert_eq!(
                next(&mut rx, Duration::from_millis(1100)).await,
                upd(1, true)
            );
            assert_eq!(
                next(&mut rx, Duration::from_millis(100)).await,
                upd(2, true)
            );

            // Nothing else changes: nothing else is sent.
            let quiet = tokio::time::timeout(Duration::from_millis(300), rx.recv()).await;
            assert!(quiet.is_err(), "unexpected {quiet:?}");

            // Dropping the receiver ends the task.
            drop(rx);
            tokio::time::timeout(Duration::from_secs(1), task)
                .await
                .expect("task ends")
                .unwrap();
        });
    }

    /// Notifications lost to an overrun (a one-byte receive buffer and a burst of changes) are
    /// made good by reading every link again: the tracked interface that went down during the
    /// burst is reported down.
    #[test]
    fn lab_overrun_resyncs() {
        use std::time::Duration;

        lab::require_root!();
        in_lab("katrko", |ha1| async move {
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            let mut ids = LinkIds::new();
            ids.insert("eth1".into(), vec![TrackerId(0)]);
            let _task = spawn_with_buffer(ids, tx, Some(1)).unwrap();
            assert_eq!(rx.try_recv(), Ok(upd(0, true)));
            // The burst happens while the task cannot run (this thread is busy), so the
            // kernel drops most of it, likely eth1's notification too.
            for mtu in 1400..1440 {
                ha1.ip(["link", "set", "eth0", "mtu", &mtu.to_string()])
                    .unwrap();
                if mtu == 1420 {
                    ha1.link_set_down("eth1").unwrap();
                }
            }
            for mtu in 1440..1460 {
                ha1.ip(["link", "set", "eth0", "mtu", &mtu.to_string()])
                    .unwrap();
            }
            let got = tokio::time::timeout(Duration::from_secs(1), rx.recv()).await;
            assert_eq!(got, Ok(Some(upd(0, false))));
            let quiet = tokio::time::timeout(Duration::from_millis(200), rx.recv()).await;
            assert!(quiet.is_err(), "reported twice: {quiet:?}");
        });
    }
}
