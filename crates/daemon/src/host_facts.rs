//! The host as keepalived_config's host checks ask about it: [`SystemHost`] answers
//! [`HostLookup`] from this machine's file system, environment and account files.

use std::ffi::OsString;
use std::io;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use keepalived_config::host::{Accounts, FileKind, FileMeta, HostLookup};

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
