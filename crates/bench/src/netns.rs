//! A throwaway network namespace with interfaces `eth0`..`eth3`, so that both binaries' `-t`
//! interface checks see the same, known set of links. Removed on drop (also on error or panic).

use std::io;
use std::process::{Command, Stdio};

/// Prefix of the namespaces this benchmark creates (`kabench-PID`).
const PREFIX: &str = "kabench-";

/// A named network namespace, deleted (`ip netns del`) when dropped.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

/// Runs `ip ARGS`, failing with its stderr when it exits non-zero.
fn ip(args: &[&str]) -> io::Result<()> {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()?;
    if out.status.success() {
        return Ok(());
    }
    let err = String::from_utf8_lossy(&out.stderr);
    Err(io::Error::other(format!(
        "ip {}: {}",
        args.join(" "),
        err.trim()
    )))
}

impl Netns {
    /// Creates `kabench-PID` with veth pairs `eth0`/`eth1` and `eth2`/`eth3`, all links up.
    /// First deletes any `kabench-*` namespace left behind by a benchmark that no longer runs.
    pub fn create() -> io::Result<Netns> {
        remove_stale();
        let name = format!("{PREFIX}{}", std::process::id());
        ip(&["netns", "add", &name])?;
        // From here on, dropping `ns` removes the namespace whatever fails next.
        let ns = Netns { name };
        let n = ns.name.as_str();
        ip(&[
            "-n", n, "link", "add", "eth0", "type", "veth", "peer", "name", "eth1",
        ])?;
        ip(&[
            "-n", n, "link", "add", "eth2", "type", "veth", "peer", "name", "eth3",
        ])?;
        for link in ["lo", "eth0", "eth1", "eth2", "eth3"] {
            ip(&["-n", n, "link", "set", link, "up"])?;
        }
        Ok(ns)
    }

    /// The namespace's name, as `ip netns list` shows it.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if let Err(e) = ip(&["netns", "del", &self.name]) {
            eprintln!("config-bench: could not remove network namespace: {e}");
        }
    }
}

/// Deletes `kabench-PID` namespaces whose PID is not a running process (e.g. after Ctrl-C).
fn remove_stale() {
    let Ok(entries) = std::fs::read_dir("/run/netns") else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(PREFIX)
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = ip(&["netns", "del", &name]);
        }
    }
}
