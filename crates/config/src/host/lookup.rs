//! What the host checks ask of the host's files, environment and accounts: the [`HostLookup`]
//! interface, answered by the caller (the daemon looks at the system; tests describe a host).

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};

use super::Accounts;

/// What a directory entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link (only from [`HostLookup::symlink_metadata`]).
    Symlink,
    /// Anything else (a device, a socket, a FIFO).
    Other,
}

/// What `stat(2)` or `lstat(2)` says about an entry, as far as the checks need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileMeta {
    /// What the entry is.
    pub kind: FileKind,
    /// The permission bits with set-user-id, set-group-id and sticky (`st_mode & 0o7777`).
    pub mode: u32,
    /// The owner's user id.
    pub uid: u32,
    /// The owner's group id.
    pub gid: u32,
}

impl FileMeta {
    /// A regular file that someone may execute (keepalived's and `execvp`'s test).
    #[must_use]
    pub fn is_executable_file(&self) -> bool {
        self.kind == FileKind::File && self.mode & 0o111 != 0
    }
}

/// The host as the checks see it. Errors are the system's own (`io::Error`): their text ends up
/// in diagnostics ("cannot examine /x: No such file or directory (os error 2)").
pub trait HostLookup {
    /// The entry at `path`, following symbolic links (`stat`).
    ///
    /// # Errors
    /// The entry does not exist or cannot be examined.
    fn metadata(&self, path: &Path) -> io::Result<FileMeta>;

    /// The entry at `path` itself, a final symbolic link not followed (`lstat`).
    ///
    /// # Errors
    /// The entry does not exist or cannot be examined.
    fn symlink_metadata(&self, path: &Path) -> io::Result<FileMeta>;

    /// The target of the symbolic link at `path` (`readlink`).
    ///
    /// # Errors
    /// No symbolic link there, or it cannot be read.
    fn read_link(&self, path: &Path) -> io::Result<PathBuf>;

    /// The `PATH` programs are looked up in, if set.
    fn search_path(&self) -> Option<OsString>;

    /// The working directory, against which relative script paths are resolved.
    ///
    /// # Errors
    /// The working directory is gone or cannot be read.
    fn current_dir(&self) -> io::Result<PathBuf>;

    /// The user and group names of the host.
    fn accounts(&self) -> Accounts;
}
