//! The [`Lab`] and its [`Segment`]s: owns every namespace it creates, names
//! them uniquely, wires hosts together, and tears everything down on drop
//! (also while a panicking test unwinds). Also [`cleanup_stale`] for the
//! leftovers of runs that crashed before their `Drop` could run.

use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::cmd::{self, IFNAME_MAX, validate_ifname, validate_label};
use crate::error::{LabError, Result};
use crate::host::Host;

/// Labs created so far by this process; part of each lab's id.
static LAB_COUNTER: AtomicU32 = AtomicU32::new(0);

/// Name of the bridge device inside every [`Segment`]'s namespace.
pub const BRIDGE_DEV: &str = "br0";

/// A set of throwaway network namespaces for one test.
///
/// Every namespace is named `PREFIX-PID-N-LABEL`, where `PID` is this
/// process's id and `N` counts labs within the process, so parallel tests
/// and parallel test binaries never collide. Dropping the lab kills every
/// process still running in its namespaces and deletes the namespaces
/// (which also removes their veth links).
#[derive(Debug)]
pub struct Lab {
    id: String,
    namespaces: Mutex<Vec<String>>,
    ports: AtomicU32,
}

/// An L2 segment: a bridge ([`BRIDGE_DEV`]) in a namespace of its own, to
/// which hosts are connected with [`Lab::attach`].
#[derive(Debug, Clone)]
pub struct Segment {
    host: Host,
}

impl Segment {
    /// The segment's name as given to [`Lab::bridge`].
    pub fn name(&self) -> &str {
        self.host.name()
    }

    /// The namespace holding the bridge, as a [`Host`], e.g. to run
    /// `tcpdump` on the bridge or to take a bridge port down.
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// The bridge device's name inside [`Segment::host`] (always [`BRIDGE_DEV`]).
    pub fn bridge_dev(&self) -> &str {
        BRIDGE_DEV
    }
}

impl Lab {
    /// Creates an empty lab whose namespaces start with `prefix`.
    ///
    /// Best-effort removes stale namespaces of earlier crashed runs with the
    /// same prefix first (see [`cleanup_stale`]).
    ///
    /// # Errors
    /// [`LabError::InvalidArgument`] if `prefix` is empty, longer than 64
    /// bytes, or has characters other than ASCII letters, digits, `_`, `-`.
    pub fn new(prefix: &str) -> Result<Lab> {
        validate_label(prefix)?;
        let _ = cleanup_stale(prefix);
        let n = LAB_COUNTER.fetch_add(1, Ordering::Relaxed);
        Ok(Lab {
            id: format!("{prefix}-{}-{n}", std::process::id()),
            namespaces: Mutex::new(Vec::new()),
            ports: AtomicU32::new(0),
        })
    }

    /// Returns `true` (after printing why) when the current test should be
    /// skipped because it is not running as root or `ip` is missing.
    /// Same as [`crate::skip_unless_root`].
    pub fn skip_unless_root() -> bool {
        crate::util::skip_unless_root()
    }

    /// This lab's unique id (`PREFIX-PID-N`); every namespace name starts with it.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Names of the namespaces this lab has created so far.
    pub fn namespaces(&self) -> Vec<String> {
        self.lock().clone()
    }

    /// Creates a host: a new network namespace `ID-NAME` with `lo` up.
    ///
    /// # Errors
    /// [`LabError::InvalidArgument`] for a bad `name`; [`LabError::Command`]
    /// if `ip netns add` fails (e.g. the name is already used in this lab).
    pub fn host(&self, name: &str) -> Result<Host> {
        validate_label(name)?;
        let netns = format!("{}-{name}", self.id);
        cmd::ip(["netns", "add", &netns])?;
        self.lock().push(netns.clone());
        let host = Host::new(name, &netns);
        host.link_set_up("lo")?;
        Ok(host)
    }

    /// Joins `a`'s interface `a_if` and `b`'s interface `b_if` with a veth
    /// pair and brings both ends up. Both names may be equal: each end is
    /// created directly inside its own namespace, never in the root one.
    ///
    /// # Errors
    /// [`LabError::InvalidArgument`] for a bad interface name (or the same
    /// name twice in one namespace); [`LabError::Command`] if `ip` fails,
    /// e.g. because an interface of that name already exists.
    pub fn veth(&self, a: &Host, a_if: &str, b: &Host, b_if: &str) -> Result<()> {
        validate_ifname(a_if)?;
        validate_ifname(b_if)?;
        if a.netns() == b.netns() && a_if == b_if {
            return Err(LabError::InvalidArgument {
                value: a_if.to_owned(),
                reason: "both ends of a veth in one namespace need distinct names",
            });
        }
        a.ip([
            "link",
            "add",
            a_if,
            "type",
            "veth",
            "peer",
            "name",
            b_if,
            "netns",
            b.netns(),
        ])?;
        a.link_set_up(a_if)?;
        b.link_set_up(b_if)
    }

    /// Creates hosts `a` and `b` joined by a veth whose ends are both called
    /// `eth0`, then adds `a_addrs` to `a`'s end and `b_addrs` to `b`'s (see
    /// [`Host::add_addr`]): the two-router segment most tests start from.
    ///
    /// # Errors
    /// As for [`Lab::host`], [`Lab::veth`] and [`Host::add_addr`].
    pub fn two_hosts(
        &self,
        a: &str,
        a_addrs: &[&str],
        b: &str,
        b_addrs: &[&str],
    ) -> Result<(Host, Host)> {
        let ha = self.host(a)?;
        let hb = self.host(b)?;
        self.veth(&ha, "eth0", &hb, "eth0")?;
        for cidr in a_addrs {
            ha.add_addr("eth0", cidr)?;
        }
        for cidr in b_addrs {
            hb.add_addr("eth0", cidr)?;
        }
        Ok((ha, hb))
    }

    /// Creates a segment: namespace `ID-NAME` holding bridge [`BRIDGE_DEV`],
    /// up, with no STP forwarding delay and no multicast snooping (so VRRP
    /// adverts and other multicast reach every port).
    ///
    /// # Errors
    /// As for [`Lab::host`], plus [`LabError::Command`] if the bridge cannot
    /// be created.
    pub fn bridge(&self, name: &str) -> Result<Segment> {
        let host = self.host(name)?;
        host.ip([
            "link",
            "add",
            BRIDGE_DEV,
            "type",
            "bridge",
            "forward_delay",
            "0",
            "mcast_snooping",
            "0",
        ])?;
        host.link_set_up(BRIDGE_DEV)?;
        Ok(Segment { host })
    }

    /// Connects `host` to `segment` with a veth whose host end is `ifname`.
    /// Returns the name of the bridge-side port inside the segment's
    /// namespace (`HOST-IFNAME` when that fits in 15 bytes, else `pN`): take
    /// it down with `segment.host().link_set_down(&port)` to cut the cable.
    ///
    /// # Errors
    /// As for [`Lab::veth`].
    pub fn attach(&self, segment: &Segment, host: &Host, ifname: &str) -> Result<String> {
        let wanted = format!("{}-{ifname}", host.name());
        let port = if wanted.len() <= IFNAME_MAX && !segment.host.iface_exists(&wanted) {
            wanted
        } else {
            format!("p{}", self.ports.fetch_add(1, Ordering::Relaxed))
        };
        self.veth(host, ifname, &segment.host, &port)?;
        segment
            .host
            .ip(["link", "set", &port, "master", BRIDGE_DEV])?;
        Ok(port)
    }

    /// Tears the lab down now; the same as dropping it.
    pub fn teardown(self) {}

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        self.namespaces.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let namespaces = std::mem::take(&mut *self.lock());
        for ns in namespaces.iter().rev() {
            if let Err(e) = remove_netns(ns) {
                eprintln!("lab: teardown of {ns}: {e}");
            }
        }
    }
}

/// Kills (SIGKILL) every process in namespace `ns`, then deletes `ns`.
fn remove_netns(ns: &str) -> Result<()> {
    kill_netns_pids(ns);
    cmd::ip(["netns", "del", ns]).map(drop)
}

/// Sends SIGKILL to every process `ip netns pids` finds in `ns` (never to
/// this process). Errors are ignored: this only runs during cleanup.
fn kill_netns_pids(ns: &str) {
    let Ok(out) = cmd::ip(["netns", "pids", ns]) else {
        return;
    };
    let me = std::process::id().to_string();
    let pids: Vec<&str> = out
        .split_whitespace()
        .filter(|p| *p != me && p.bytes().all(|b| b.is_ascii_digit()))
        .collect();
    if pids.is_empty() {
        return;
    }
    let _ = cmd::output(
        Command::new("sh")
            .args(["-c", "kill -9 \"$@\" 2>/dev/null", "sh"])
            .args(&pids),
    );
}

/// Names of all named network namespaces (`ip netns list`).
///
/// # Errors
/// [`LabError::Spawn`] / [`LabError::Command`] if `ip` cannot be run.
pub fn list_netns() -> Result<Vec<String>> {
    let out = cmd::ip(["netns", "list"])?;
    Ok(out
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect())
}

/// The pid embedded in namespace `name` if it was made by a lab with `prefix`.
fn embedded_pid(prefix: &str, name: &str) -> Option<u32> {
    let rest = name.strip_prefix(prefix)?.strip_prefix('-')?;
    let (pid, _) = rest.split_once('-')?;
    pid.parse().ok()
}

/// Deletes namespaces left by labs with `prefix` whose process (the pid
/// embedded in the name) is no longer alive, killing anything still running
/// in them. Returns the names removed.
///
/// # Errors
/// [`LabError`] if the namespaces cannot be listed or one cannot be deleted.
pub fn cleanup_stale(prefix: &str) -> Result<Vec<String>> {
    let mut removed = Vec::new();
    for ns in list_netns()? {
        let Some(pid) = embedded_pid(prefix, &ns) else {
            continue;
        };
        if std::path::Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        remove_netns(&ns)?;
        removed.push(ns);
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::embedded_pid;

    #[test]
    fn parses_embedded_pid() {
        assert_eq!(embedded_pid("ka", "ka-123-0-ha1"), Some(123));
        assert_eq!(embedded_pid("ka", "ka-x-123-0-ha1"), None);
        assert_eq!(embedded_pid("ka", "kab-123-0-ha1"), None);
        assert_eq!(embedded_pid("ka", "other"), None);
    }
}
