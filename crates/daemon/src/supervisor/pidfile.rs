//! Pid files (`-p`, `-r`, `-c`): keepalived's default names (in [`PID_DIR`] with `global_defs`'
//! `use_pid_dir`, named after `instance NAME`: [`PidNames`]), written without following a
//! planted symlink, removed when their process is gone, and the check that refuses a second
//! daemon on the same file.
//!
//! A file is opened with `O_NOFOLLOW | O_CREAT | O_NONBLOCK` and mode 0644, and used only if it
//! is a regular file with a single link: a symlink, a FIFO or a hard link planted at the path
//! (the /tmp attacks of CVE-2018-19044 and kin) makes the write fail, and nothing else is
//! touched.

use std::fs::{File, OpenOptions, Permissions};
use std::io::{self, Write as _};
use std::os::unix::fs::{
    DirBuilderExt as _, MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _,
};
use std::path::{Path, PathBuf};

use keepalived_config::model::global::GlobalConfig;

use crate::services::cli::{Cli, Engine};
use crate::services::netns;

/// keepalived's default pid file of the parent.
pub const DEFAULT_PARENT: &str = "/run/keepalived.pid";
/// keepalived's default pid file of the VRRP child.
pub const DEFAULT_VRRP: &str = "/run/keepalived_vrrp.pid";
/// keepalived's default pid file of the checker child.
pub const DEFAULT_CHECKERS: &str = "/run/keepalived_checkers.pid";
/// The default pid file of the BFD child (named like the other two; keepalived 2.2.7's is
/// `/run/bfd.pid`, or `bfd.pid` in [`PID_DIR`]).
pub const DEFAULT_BFD: &str = "/run/keepalived_bfd.pid";

/// keepalived's directory of pid files (`use_pid_dir`, `instance`, `net_namespace`).
pub const PID_DIR: &str = "/run/keepalived";

/// How the default pid files are named, from the configuration read at start (keepalived
/// takes neither setting from a reload).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PidNames {
    /// In [`PID_DIR`]: `keepalived.pid`, `vrrp.pid`, `checkers.pid`.
    pub dir: bool,
    /// In a network namespace: the directory keepalived shows its pid files in from outside
    /// (`/run/keepalived/NAMESPACE`, see [`netns::pid_dir`]) instead of [`PID_DIR`].
    pub namespace_dir: Option<PathBuf>,
    /// `instance NAME`: `keepalived_NAME.pid`, `vrrp_NAME.pid`, `checkers_NAME.pid` in
    /// [`PID_DIR`] (a `/` in the name becomes `_`).
    pub instance: Option<String>,
}

impl PidNames {
    /// The names `global` (and `-s`) ask for.
    pub fn from_config(cli: &Cli, global: &GlobalConfig) -> PidNames {
        let namespace_dir = netns::pid_dir(cli, global);
        PidNames {
            dir: global.use_pid_dir || global.instance.is_some() || namespace_dir.is_some(),
            namespace_dir,
            instance: global.instance.clone(),
        }
    }

    /// The default pid file of the parent (`None`) or of an engine.
    pub fn default_path(&self, engine: Option<Engine>) -> PathBuf {
        if !self.dir {
            return PathBuf::from(match engine {
                None => DEFAULT_PARENT,
                Some(Engine::Vrrp) => DEFAULT_VRRP,
                Some(Engine::Checker) => DEFAULT_CHECKERS,
                Some(Engine::Bfd) => DEFAULT_BFD,
            });
        }
        let stem = match engine {
            None => "keepalived",
            Some(Engine::Vrrp) => "vrrp",
            Some(Engine::Checker) => "checkers",
            Some(Engine::Bfd) => "bfd",
        };
        let name = match &self.instance {
            Some(i) => format!("{stem}_{}.pid", i.replace('/', "_")),
            None => format!("{stem}.pid"),
        };
        self.namespace_dir
            .as_deref()
            .unwrap_or(Path::new(PID_DIR))
            .join(name)
    }
}

/// The parent's pid file: `-p` or the default.
pub fn parent_path(cli: &Cli, names: &PidNames) -> PathBuf {
    cli.pid.clone().unwrap_or_else(|| names.default_path(None))
}

/// The pid file of `engine`'s process: `-r` / `-c` or the default.
pub fn engine_path(cli: &Cli, engine: Engine, names: &PidNames) -> PathBuf {
    let given = match engine {
        Engine::Vrrp => &cli.vrrp_pid,
        Engine::Checker => &cli.checkers_pid,
        Engine::Bfd => &cli.bfd_pid,
    };
    given
        .clone()
        .unwrap_or_else(|| names.default_path(Some(engine)))
}

/// Creates the directory of `path` (mode 0755) when it is [`PID_DIR`] or a namespace's
/// directory below it and does not exist yet.
///
/// # Errors
/// The error of `mkdir` other than "exists".
pub fn ensure_dir(path: &Path) -> io::Result<()> {
    let Some(dir) = path.parent().filter(|d| d.starts_with(PID_DIR)) else {
        return Ok(());
    };
    // From /run/keepalived down; each made here gets 0755 whatever the umask (0177 by default).
    let mut made = PathBuf::new();
    for part in dir.components() {
        made.push(part);
        if made.starts_with(PID_DIR) && !made.is_dir() {
            match std::fs::DirBuilder::new().mode(0o755).create(&made) {
                Ok(()) => std::fs::set_permissions(&made, Permissions::from_mode(0o755))?,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
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
    fn names_follow_use_pid_dir_and_instance_unless_given() {
        let plain = PidNames::default();
        assert_eq!(plain.default_path(None), Path::new("/run/keepalived.pid"));
        assert_eq!(
            plain.default_path(Some(Engine::Vrrp)),
            Path::new("/run/keepalived_vrrp.pid")
        );
        use clap::Parser as _;
        let text = |t: &str| keepalived_config::read_str("k.conf", t, &Default::default()).config;
        let none = Cli::try_parse_from(["k"]).expect("cli");
        let dir = PidNames::from_config(&none, &text("use_pid_dir\n").global);
        assert_eq!(
            dir.default_path(None),
            Path::new("/run/keepalived/keepalived.pid")
        );
        assert_eq!(
            dir.default_path(Some(Engine::Vrrp)),
            Path::new("/run/keepalived/vrrp.pid")
        );
        assert_eq!(
            dir.default_path(Some(Engine::Checker)),
            Path::new("/run/keepalived/checkers.pid")
        );
        // `instance` implies the directory.
        let web = PidNames::from_config(&none, &text("instance web\n").global);
        assert_eq!(
            web.default_path(None),
            Path::new("/run/keepalived/keepalived_web.pid")
        );
        assert_eq!(
            web.default_path(Some(Engine::Vrrp)),
            Path::new("/run/keepalived/vrrp_web.pid")
        );
        assert_eq!(
            web.default_path(Some(Engine::Checker)),
            Path::new("/run/keepalived/checkers_web.pid")
        );
        // Never a path outside the directory.
        let odd = PidNames {
            dir: true,
            namespace_dir: None,
            instance: Some("../../etc/x".into()),
        };
        assert_eq!(odd.default_path(None).parent(), Some(Path::new(PID_DIR)));
        // A namespace (-s over net_namespace): its directory under /run/keepalived.
        let blue = text("net_namespace blue\ninstance web\n");
        let ns = PidNames::from_config(&none, &blue.global);
        assert_eq!(
            ns.default_path(Some(Engine::Vrrp)),
            Path::new("/run/keepalived/blue/vrrp_web.pid")
        );
        let red = Cli::try_parse_from(["k", "-s", "red"]).expect("cli");
        let over = PidNames::from_config(&red, &text("net_namespace blue\n").global);
        assert_eq!(
            over.default_path(None),
            Path::new("/run/keepalived/red/keepalived.pid")
        );
        // -p / -r / -c win.
        let cli = Cli::try_parse_from(["k", "-p", "/tmp/a.pid", "-c", "/tmp/c.pid"]).expect("cli");
        assert_eq!(parent_path(&cli, &web), Path::new("/tmp/a.pid"));
        assert_eq!(
            engine_path(&cli, Engine::Checker, &web),
            Path::new("/tmp/c.pid")
        );
        assert_eq!(
            engine_path(&cli, Engine::Vrrp, &web),
            Path::new("/run/keepalived/vrrp_web.pid")
        );
        // ensure_dir touches nothing for a path elsewhere.
        assert!(ensure_dir(Path::new("/nonexistent-dir/k.pid")).is_ok());
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
