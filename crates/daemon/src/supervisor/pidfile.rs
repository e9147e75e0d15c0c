//! Pid files (`-p`, `-r`, `-c`): keepalived's default names, written without following a
//! planted symlink, removed when their process is gone, and the check that refuses a second
//! daemon on the same file.
//!
//! A file is opened with `O_NOFOLLOW | O_CREAT | O_NONBLOCK` and mode 0644, and used only if it
//! is a regular file with a single link: a symlink, a FIFO or a hard link planted at the path
//! (the /tmp attacks of CVE-2018-19044 and kin) makes the write fail, and nothing else is
//! touched.

use std::fs::{File, OpenOptions, Permissions};
use std::io::{self, Write as _};
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use crate::cli::{Cli, Engine};

/// keepalived's default pid file of the parent.
pub const DEFAULT_PARENT: &str = "/run/keepalived.pid";
/// keepalived's default pid file of the VRRP child.
pub const DEFAULT_VRRP: &str = "/run/keepalived_vrrp.pid";
/// keepalived's default pid file of the checker child.
pub const DEFAULT_CHECKERS: &str = "/run/keepalived_checkers.pid";

/// The parent's pid file: `-p` or the default.
pub fn parent_path(cli: &Cli) -> PathBuf {
    cli.pid
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_PARENT))
}

/// The pid file of `engine`'s process: `-r` / `-c` or the default.
pub fn engine_path(cli: &Cli, engine: Engine) -> PathBuf {
    let (given, default) = match engine {
        Engine::Vrrp => (&cli.vrrp_pid, DEFAULT_VRRP),
        Engine::Checker => (&cli.checkers_pid, DEFAULT_CHECKERS),
    };
    given.clone().unwrap_or_else(|| PathBuf::from(default))
}

/// The pid in `path` if it names a live process other than this one: a daemon already runs.
pub fn running_pid(path: &Path) -> Option<u32> {
    let pid: u32 = std::fs::read_to_string(path).ok()?.trim().parse().ok()?;
    let alive =
        pid != 0 && pid != std::process::id() && Path::new(&format!("/proc/{pid}")).exists();
    alive.then_some(pid)
}

/// A pid file written by [`PidFile::write`]; removed when dropped (if it still holds its pid).
#[derive(Debug)]
pub struct PidFile {
    path: PathBuf,
    pid: u32,
}

impl PidFile {
    /// Writes `pid` to `path` safely (see the module documentation).
    ///
    /// # Errors
    /// The open error (`ELOOP` for a symlink), or `InvalidInput` when the path is not a
    /// regular file of one link.
    pub fn write(path: &Path, pid: u32) -> io::Result<PidFile> {
        let mut file = open_safely(path)?;
        file.set_len(0)?;
        file.write_all(format!("{pid}\n").as_bytes())?;
        file.set_permissions(Permissions::from_mode(0o644))?;
        Ok(PidFile {
            path: path.to_owned(),
            pid,
        })
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        // Someone else's file by now (a second daemon started after we died?): leave it.
        let ours = std::fs::read_to_string(&self.path)
            .is_ok_and(|s| s.trim().parse::<u32>().ok() == Some(self.pid));
        if ours {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn open_safely(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.file_type().is_file() || meta.nlink() != 1 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file of one link",
        ));
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("kars-pidfile-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("dir");
        d
    }

    #[test]
    fn written_0644_and_removed_on_drop() {
        let d = dir("basic");
        let path = d.join("k.pid");
        let f = PidFile::write(&path, 4242).expect("write");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "4242\n");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
        drop(f);
        assert!(!path.exists());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_planted_symlink_or_hard_link_is_not_followed() {
        let d = dir("attack");
        let victim = d.join("victim");
        std::fs::write(&victim, "precious\n").unwrap();
        let link = d.join("sym.pid");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        assert!(PidFile::write(&link, 1).is_err());
        let hard = d.join("hard.pid");
        std::fs::hard_link(&victim, &hard).unwrap();
        assert!(PidFile::write(&hard, 1).is_err());
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_live_pid_is_running_a_stale_one_is_not() {
        let d = dir("alive");
        let path = d.join("k.pid");
        assert_eq!(running_pid(&path), None);
        // pid 1 is always alive; our own pid does not count.
        std::fs::write(&path, "1\n").unwrap();
        assert_eq!(running_pid(&path), Some(1));
        std::fs::write(&path, format!("{}\n", std::process::id())).unwrap();
        assert_eq!(running_pid(&path), None);
        std::fs::write(&path, "4194304999\n").unwrap();
        assert_eq!(running_pid(&path), None);
        std::fs::write(&path, "garbage").unwrap();
        assert_eq!(running_pid(&path), None);
        // Someone else's pid in the file at drop time: the file stays.
        let f = PidFile::write(&path, 7).unwrap();
        std::fs::write(&path, "8\n").unwrap();
        drop(f);
        assert!(path.exists());
        let _ = std::fs::remove_dir_all(&d);
    }
}
