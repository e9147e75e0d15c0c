//! This host's facts as the configuration checks and the start policy need them: interfaces
//! (which are loopbacks, their addresses), who we are, whether keepalived's script user exists,
//! the node name; and [`SystemHost`], which answers keepalived_config's [`HostLookup`] from
//! this machine's file system, environment and account files.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::io;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use keepalived_config::host::{Accounts, FileKind, FileMeta, HostFacts, HostLookup};

use crate::plan::convert::IfFacts;

/// Looks at this host: interfaces (from /sys/class/net), who we are, whether keepalived's
/// default script user exists.
pub fn gather_host_facts() -> HostFacts {
    let mut interfaces = BTreeSet::new();
    let mut loopbacks = BTreeSet::new();
    if let Ok(dir) = std::fs::read_dir("/sys/class/net") {
        for entry in dir.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            // ARPHRD_LOOPBACK is 772.
            let kind = std::fs::read_to_string(entry.path().join("type")).unwrap_or_default();
            if kind.trim() == "772" {
                loopbacks.insert(name.clone());
            }
            interfaces.insert(name);
        }
    }
    let is_root = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|uids| uids.split_whitespace().nth(1).map(|e| e == "0"))
        })
        .unwrap_or(false);
    let script_user_exists = std::fs::read_to_string("/etc/passwd")
        .map(|p| p.lines().any(|l| l.starts_with("keepalived_script:")))
        .unwrap_or(false);
    HostFacts {
        interfaces,
        loopbacks,
        is_root,
        script_user_exists,
    }
}

/// keepalived's default config id: the node name up to the first '.'.
pub fn default_config_id() -> String {
    let node = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    node.trim().split('.').next().unwrap_or("").to_owned()
}

/// Interfaces and their addresses, from rtnetlink and /sys/class/net.
pub fn interface_facts() -> IfFacts {
    let mut facts = IfFacts::default();
    if let Ok(dir) = std::fs::read_dir("/sys/class/net") {
        for entry in dir.flatten() {
            facts
                .addrs
                .insert(entry.file_name().to_string_lossy().into_owned(), Vec::new());
        }
    }
    let mut names: BTreeMap<u32, String> = BTreeMap::new();
    if let Ok(mut rtnl) = keepalived_net::Rtnl::open()
        && let Ok(addrs) = rtnl.addrs(None)
    {
        for a in addrs {
            let name = names
                .entry(a.ifindex)
                .or_insert_with(|| keepalived_net::ifname(a.ifindex).unwrap_or_default());
            // Secondary addresses (IFA_F_SECONDARY) never serve as the advert source.
            if a.flags & 0x01 == 0 {
                facts.addrs.entry(name.clone()).or_default().push(a.addr);
            }
        }
    }
    facts
}

/// This machine: `stat`/`lstat`/`readlink`, `PATH`, the working directory, and the local
/// account files (/etc/passwd and /etc/group only: a user known only to a directory service is
/// not seen).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemHost;

fn meta(m: &std::fs::Metadata) -> FileMeta {
    let t = m.file_type();
    let kind = if t.is_symlink() {
        FileKind::Symlink
    } else if t.is_dir() {
        FileKind::Dir
    } else if t.is_file() {
        FileKind::File
    } else {
        FileKind::Other
    };
    FileMeta {
        kind,
        mode: m.mode() & 0o7777,
        uid: m.uid(),
        gid: m.gid(),
    }
}

impl HostLookup for SystemHost {
    fn metadata(&self, path: &Path) -> io::Result<FileMeta> {
        std::fs::metadata(path).map(|m| meta(&m))
    }

    fn symlink_metadata(&self, path: &Path) -> io::Result<FileMeta> {
        std::fs::symlink_metadata(path).map(|m| meta(&m))
    }

    fn read_link(&self, path: &Path) -> io::Result<PathBuf> {
        std::fs::read_link(path)
    }

    fn search_path(&self) -> Option<OsString> {
        std::env::var_os("PATH")
    }

    fn current_dir(&self) -> io::Result<PathBuf> {
        std::env::current_dir()
    }

    fn accounts(&self) -> Accounts {
        let names =
            |path: &str| Accounts::names_of(&std::fs::read_to_string(path).unwrap_or_default());
        Accounts {
            users: names("/etc/passwd"),
            groups: names("/etc/group"),
        }
    }
}
