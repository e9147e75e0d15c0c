//! State and statistics dumps: where they go (keepalived's file names under its temporary
//! directory, or `state_dump_file` / `stats_dump_file` / `json_dump_file`) and how they are
//! written: always to a new file (unlink, then `O_CREAT|O_EXCL|O_NOFOLLOW`, mode 0644 whatever
//! the umask), so a symlink, a hard link or a file held open by someone else at the dump's path
//! is never written through (the /tmp attacks of CVE-2018-19044, -19045 and -19046). What goes
//! in them is the engines' ([`DumpSource`]).

use std::fs::File;
use std::io::{self, Write as _};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use keepalived_config::model::global::GlobalDefs;
#[cfg(feature = "vrrp")]
use keepalived_config::model::global::JsonVersion;
use tracing::{info, warn};

/// keepalived's default temporary directory (its `KA_TMP_DIR`), where the dumps go unless
/// `TMPDIR` names another.
pub const TMP_DIR: &str = "/tmp";

/// Where the dumps go by default: `$TMPDIR` when it is an absolute path, else [`TMP_DIR`]
/// (keepalived's rule).
pub fn tmp_dir() -> PathBuf {
    tmp_dir_from(std::env::var_os("TMPDIR"))
}

fn tmp_dir_from(tmpdir: Option<std::ffi::OsString>) -> PathBuf {
    match tmpdir {
        Some(dir) if Path::new(&dir).is_absolute() => PathBuf::from(dir),
        _ => PathBuf::from(TMP_DIR),
    }
}

/// Mode of every dump file.
const MODE: u32 = 0o644;

/// The kinds of dump.
// Only the VRRP engine asks for the statistics and the JSON dump.
#[cfg_attr(not(feature = "vrrp"), allow(dead_code))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DumpKind {
    /// SIGUSR1: the data dump (`keepalived.data`; the checker's `keepalived_check.data`).
    Data,
    /// SIGUSR2: the statistics (`keepalived.stats`).
    Stats,
    /// The JSON signal: `keepalived.json`.
    Json,
}

impl DumpKind {
    fn default_name(self, checker: bool) -> &'static str {
        match (self, checker) {
            (DumpKind::Data, false) => "keepalived.data",
            (DumpKind::Data, true) => "keepalived_check.data",
            (DumpKind::Stats, false) => "keepalived.stats",
            (DumpKind::Stats, true) => "keepalived_check.stats",
            (DumpKind::Json, _) => "keepalived.json",
        }
    }

    fn configured(self, defs: &GlobalDefs) -> Option<&str> {
        match self {
            DumpKind::Data => defs.state_dump_file.as_deref(),
            DumpKind::Stats => defs.stats_dump_file.as_deref(),
            DumpKind::Json => defs.json_dump_file.as_deref(),
        }
    }
}

/// The path of a dump: keepalived's name in [`tmp_dir`]; a configured path ending in `/` is a
/// directory for keepalived's name, any other is the file itself (for the checker, `_check`
/// is added before its extension, as keepalived 2.4's `open_dump_file("_check")` does).
pub fn path(defs: &GlobalDefs, kind: DumpKind, checker: bool) -> PathBuf {
    let name = kind.default_name(checker);
    match kind.configured(defs) {
        None => tmp_dir().join(name),
        Some(dir) if dir.ends_with('/') => Path::new(dir).join(name),
        Some(file) if checker => PathBuf::from(with_suffix(file, "_check")),
        Some(file) => PathBuf::from(file),
    }
}

/// `file` with `suffix` inserted before the extension of its last component.
pub(crate) fn with_suffix(file: &str, suffix: &str) -> String {
    let base = file.rfind('/').map_or(0, |i| i + 1);
    match file[base..].rfind('.') {
        Some(dot) if dot > 0 => {
            let at = base + dot;
            format!("{}{suffix}{}", &file[..at], &file[at..])
        }
        _ => format!("{file}{suffix}"),
    }
}

/// Writes `contents` to a new file at `path`: whatever is there (a file, a symlink, a hard
/// link) is unlinked first, and the file is created with `O_EXCL|O_NOFOLLOW`, so if anything
/// appears at the path in between, the write fails instead of following it. The mode is 0644
/// whatever the umask.
pub fn write_fresh(path: &Path, contents: &[u8]) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut file: File = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(MODE)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)?;
    file.set_permissions(std::fs::Permissions::from_mode(MODE))?;
    file.write_all(contents)?;
    file.flush()
}

/// Where one process's dumps go, from `global_defs`.
#[derive(Debug, Clone)]
pub struct DumpPaths {
    /// The data dump (`keepalived.data`).
    #[cfg(feature = "vrrp")]
    pub data: PathBuf,
    /// The statistics (`keepalived.stats`).
    #[cfg(feature = "vrrp")]
    pub stats: PathBuf,
    /// The JSON dump (`keepalived.json`).
    #[cfg(feature = "vrrp")]
    pub json: PathBuf,
    /// `json_version 2`.
    #[cfg(feature = "vrrp")]
    pub json_v2: bool,
    /// The checker's data dump (`keepalived_check.data`).
    #[cfg(feature = "lvs")]
    pub checker_data: PathBuf,
}

impl DumpPaths {
    /// The paths `defs` configures (or keepalived's defaults).
    pub fn new(defs: &GlobalDefs) -> DumpPaths {
        // A build with neither engine (only `bfd`) has no path of these.
        #[cfg(not(any(feature = "vrrp", feature = "lvs")))]
        let _ = defs;
        DumpPaths {
            #[cfg(feature = "vrrp")]
            data: path(defs, DumpKind::Data, false),
            #[cfg(feature = "vrrp")]
            stats: path(defs, DumpKind::Stats, false),
            #[cfg(feature = "vrrp")]
            json: path(defs, DumpKind::Json, false),
            #[cfg(feature = "vrrp")]
            json_v2: defs.json_version == JsonVersion::V2,
            #[cfg(feature = "lvs")]
            checker_data: path(defs, DumpKind::Data, true),
        }
    }
}

/// What an engine process dumps: it asks its engine for a snapshot (answered between two
/// events, so the engine is never held up) and renders the files' text off the engine's loop.
pub trait DumpSource: Clone + Send + Sync + 'static {
    /// The files of `kind` and their text; none when the engine has nothing for `kind` or is
    /// gone.
    fn files(
        &self,
        kind: DumpKind,
        paths: &DumpPaths,
    ) -> impl std::future::Future<Output = Vec<(PathBuf, String)>> + Send;
}

/// Answers the dump signals: takes the snapshot of the process's engine ([`DumpSource`]) and
/// writes the files on tokio's blocking pool, one dump at a time.
#[derive(Debug, Clone)]
pub struct Dumper<S> {
    paths: Arc<DumpPaths>,
    source: S,
    /// One dump at a time (two signals in a row must not race on the same path).
    busy: Arc<tokio::sync::Mutex<()>>,
}

impl<S: DumpSource> Dumper<S> {
    /// Dumps of `source`, to the paths `defs` configures.
    pub fn new(defs: &GlobalDefs, source: S) -> Dumper<S> {
        Dumper {
            paths: Arc::new(DumpPaths::new(defs)),
            source,
            busy: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    /// Writes the dump of `kind` in the background (call inside a tokio runtime).
    pub fn request(&self, kind: DumpKind) {
        let me = self.clone();
        tokio::spawn(async move { me.dump(kind).await });
    }

    /// Takes the snapshot and writes the files of `kind`.
    pub async fn dump(&self, kind: DumpKind) {
        let _one = self.busy.lock().await;
        for (path, text) in self.source.files(kind, &self.paths).await {
            write_logged(path, text).await;
        }
    }
}

/// [`write_fresh`] on the blocking pool, logging the outcome.
async fn write_logged(path: PathBuf, text: String) {
    let done = tokio::task::spawn_blocking(move || {
        let r = write_fresh(&path, text.as_bytes());
        (path, r)
    })
    .await;
    match done {
        Ok((path, Ok(()))) => info!("Wrote {}", path.display()),
        Ok((path, Err(e))) => warn!("Can't write {}: {e}", path.display()),
        Err(e) => warn!("dump writer failed: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt as _;

    fn defs() -> GlobalDefs {
        keepalived_config::Config::default().global.defs
    }

    #[test]
    fn tmpdir_is_used_when_absolute() {
        assert_eq!(tmp_dir_from(None), Path::new("/tmp"));
        assert_eq!(
            tmp_dir_from(Some("/var/tmp/ka".into())),
            Path::new("/var/tmp/ka")
        );
        assert_eq!(tmp_dir_from(Some("relative".into())), Path::new("/tmp"));
        assert_eq!(tmp_dir_from(Some("".into())), Path::new("/tmp"));
    }

    #[test]
    fn default_paths_are_keepalived_names_in_tmp() {
        if std::env::var_os("TMPDIR").is_some() {
            return;
        }
        let d = defs();
        assert_eq!(
            path(&d, DumpKind::Data, false),
            Path::new("/tmp/keepalived.data")
        );
        assert_eq!(
            path(&d, DumpKind::Stats, false),
            Path::new("/tmp/keepalived.stats")
        );
        assert_eq!(
            path(&d, DumpKind::Json, false),
            Path::new("/tmp/keepalived.json")
        );
        assert_eq!(
            path(&d, DumpKind::Data, true),
            Path::new("/tmp/keepalived_check.data")
        );
    }

    #[test]
    fn configured_directory_or_file() {
        let mut d = defs();
        d.state_dump_file = Some("/run/ka/".into());
        d.stats_dump_file = Some("/run/ka/st.txt".into());
        d.json_dump_file = Some("/run/ka/j".into());
        assert_eq!(
            path(&d, DumpKind::Data, false),
            Path::new("/run/ka/keepalived.data")
        );
        assert_eq!(
            path(&d, DumpKind::Data, true),
            Path::new("/run/ka/keepalived_check.data")
        );
        assert_eq!(
            path(&d, DumpKind::Stats, false),
            Path::new("/run/ka/st.txt")
        );
        assert_eq!(
            path(&d, DumpKind::Stats, true),
            Path::new("/run/ka/st_check.txt")
        );
        assert_eq!(path(&d, DumpKind::Json, false), Path::new("/run/ka/j"));
        assert_eq!(with_suffix("/a.b/c", "_x"), "/a.b/c_x");
        assert_eq!(with_suffix("/a/.c", "_x"), "/a/.c_x");
    }

    fn tmp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("kars-dump-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn symlink_hard_link_and_open_file_are_not_written_through() {
        let d = tmp("unit");
        let victim = d.join("victim");
        std::fs::write(&victim, "precious\n").unwrap();
        let dump = d.join("keepalived.data");
        std::os::unix::fs::symlink(&victim, &dump).unwrap();
        write_fresh(&dump, b"dump 1\n").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
        assert_eq!(std::fs::read_to_string(&dump).unwrap(), "dump 1\n");
        assert!(
            !std::fs::symlink_metadata(&dump)
                .unwrap()
                .file_type()
                .is_symlink()
        );

        std::fs::remove_file(&dump).unwrap();
        std::fs::hard_link(&victim, &dump).unwrap();
        let held = File::open(&dump).unwrap();
        write_fresh(&dump, b"dump 2\n").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
        let mut seen = String::new();
        io::Read::read_to_string(&mut &held, &mut seen).unwrap();
        assert_eq!(seen, "precious\n");
        let meta = std::fs::metadata(&dump).unwrap();
        assert_eq!(meta.mode() & 0o777, 0o644);
        assert_eq!(meta.nlink(), 1);
        let _ = std::fs::remove_dir_all(&d);
    }
}
