//! A host described in memory for `keepalived_config::host`: entries with owner and mode,
//! symbolic links, `PATH`, the working directory and the accounts. Any entry can be made to
//! fail as the system would (permission denied), so the checks' error paths run too.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::io;
use std::path::{Component, Path, PathBuf};

use keepalived_config::host::{Accounts, FileKind, FileMeta, HostLookup};

// errno values, so messages read as the system's ("No such file or directory (os error 2)").
const ENOENT: i32 = 2;
const EACCES: i32 = 13;
const EINVAL: i32 = 22;
const ELOOP: i32 = 40;

#[derive(Debug, Clone)]
enum Entry {
    Node(FileMeta),
    Link { target: PathBuf, uid: u32 },
    Fails(i32),
}

/// The host. `new()` has only `/` (root's, 0755); files and links get their missing parent
/// directories as root's, 0755.
#[derive(Debug, Clone)]
pub struct FakeHost {
    entries: BTreeMap<PathBuf, Entry>,
    /// `PATH`; `None` when unset.
    pub path: Option<OsString>,
    /// The working directory; `None` when it cannot be read.
    pub cwd: Option<PathBuf>,
    /// Users and groups.
    pub accounts: Accounts,
}

fn meta(kind: FileKind, uid: u32, gid: u32, mode: u32) -> FileMeta {
    FileMeta {
        kind,
        mode,
        uid,
        gid,
    }
}

impl FakeHost {
    /// A host with `/`, `PATH=/usr/bin:/bin`, working directory `/`, user and group `root`.
    pub fn new() -> FakeHost {
        let mut entries = BTreeMap::new();
        entries.insert(
            PathBuf::from("/"),
            Entry::Node(meta(FileKind::Dir, 0, 0, 0o755)),
        );
        FakeHost {
            entries,
            path: Some("/usr/bin:/bin".into()),
            cwd: Some("/".into()),
            accounts: Accounts {
                users: ["root".to_owned()].into(),
                groups: ["root".to_owned()].into(),
            },
        }
    }

    /// With these users (and `root`).
    pub fn users(mut self, users: &[&str]) -> FakeHost {
        self.accounts.users = users
            .iter()
            .map(|u| (*u).to_owned())
            .collect::<BTreeSet<_>>();
        self.accounts.users.insert("root".into());
        self
    }

    fn parents(&mut self, path: &Path) {
        for a in path.ancestors().skip(1) {
            self.entries
                .entry(a.to_path_buf())
                .or_insert(Entry::Node(meta(FileKind::Dir, 0, 0, 0o755)));
        }
    }

    /// A regular file.
    pub fn file(mut self, path: &str, uid: u32, gid: u32, mode: u32) -> FakeHost {
        self.parents(Path::new(path));
        self.entries.insert(
            path.into(),
            Entry::Node(meta(FileKind::File, uid, gid, mode)),
        );
        self
    }

    /// A root-owned executable (0755).
    pub fn program(self, path: &str) -> FakeHost {
        self.file(path, 0, 0, 0o755)
    }

    /// A directory (replacing an implicit one).
    pub fn dir(mut self, path: &str, uid: u32, gid: u32, mode: u32) -> FakeHost {
        self.parents(Path::new(path));
        self.entries.insert(
            path.into(),
            Entry::Node(meta(FileKind::Dir, uid, gid, mode)),
        );
        self
    }

    /// A symbolic link owned by `uid`.
    pub fn link(mut self, path: &str, target: &str, uid: u32) -> FakeHost {
        self.parents(Path::new(path));
        self.entries.insert(
            path.into(),
            Entry::Link {
                target: target.into(),
                uid,
            },
        );
        self
    }

    /// An entry that cannot be examined (`EACCES`).
    pub fn unreadable(mut self, path: &str) -> FakeHost {
        self.parents(Path::new(path));
        self.entries.insert(path.into(), Entry::Fails(EACCES));
        self
    }

    /// The entry named by an absolute, normalised `path`, following symbolic links in every
    /// component (and in the last one when `follow` is set).
    fn lookup(&self, path: &Path, follow: bool) -> io::Result<Entry> {
        let mut pending: Vec<OsString> = Vec::new();
        let push = |pending: &mut Vec<OsString>, p: &Path| {
            let mut names: Vec<OsString> = p
                .components()
                .filter_map(|c| match c {
                    Component::RootDir | Component::Prefix(_) => Some("/".into()),
                    Component::CurDir => None,
                    Component::ParentDir => Some("..".into()),
                    Component::Normal(n) => Some(n.to_os_string()),
                })
                .collect();
            names.reverse();
            pending.extend(names);
        };
        push(&mut pending, path);
        let mut current = PathBuf::from("/");
        let mut links = 0;
        while let Some(name) = pending.pop() {
            if name == "/" {
                current = PathBuf::from("/");
                continue;
            }
            if name == ".." {
                current.pop();
                continue;
            }
            let next = current.join(&name);
            let last = pending.is_empty();
            match self.entries.get(&next) {
                None => return Err(io::Error::from_raw_os_error(ENOENT)),
                Some(Entry::Fails(errno)) => return Err(io::Error::from_raw_os_error(*errno)),
                Some(Entry::Link { target, .. }) if follow || !last => {
                    links += 1;
                    if links > 40 {
                        return Err(io::Error::from_raw_os_error(ELOOP));
                    }
                    push(&mut pending, target);
                }
                Some(e) if last => return Ok(e.clone()),
                Some(Entry::Node(m)) if m.kind == FileKind::Dir => current = next,
                Some(_) => return Err(io::Error::from_raw_os_error(ENOENT)),
            }
        }
        // The path named `/` itself (or resolved back to it).
        self.entries
            .get(&current)
            .cloned()
            .ok_or_else(|| io::Error::from_raw_os_error(ENOENT))
    }
}

impl HostLookup for FakeHost {
    fn metadata(&self, path: &Path) -> io::Result<FileMeta> {
        match self.lookup(path, true)? {
            Entry::Node(m) => Ok(m),
            Entry::Link { .. } | Entry::Fails(_) => Err(io::Error::from_raw_os_error(ENOENT)),
        }
    }

    fn symlink_metadata(&self, path: &Path) -> io::Result<FileMeta> {
        match self.lookup(path, false)? {
            Entry::Node(m) => Ok(m),
            Entry::Link { uid, .. } => Ok(meta(FileKind::Symlink, uid, 0, 0o777)),
            Entry::Fails(errno) => Err(io::Error::from_raw_os_error(errno)),
        }
    }

    fn read_link(&self, path: &Path) -> io::Result<PathBuf> {
        match self.lookup(path, false)? {
            Entry::Link { target, .. } => Ok(target),
            _ => Err(io::Error::from_raw_os_error(EINVAL)),
        }
    }

    fn search_path(&self) -> Option<OsString> {
        self.path.clone()
    }

    fn current_dir(&self) -> io::Result<PathBuf> {
        self.cwd
            .clone()
            .ok_or_else(|| io::Error::from_raw_os_error(ENOENT))
    }

    fn accounts(&self) -> Accounts {
        self.accounts.clone()
    }
}
