//! `-m` / `--core-dump` and `-M` / `--core-dump-pattern`: core dumps on abnormal termination.
//!
//! `-m` lifts RLIMIT_CORE (soft and hard) to unlimited (without CAP_SYS_RESOURCE, the soft
//! limit to the hard one) and sets the dumpable flag
//! (`PR_SET_DUMPABLE`), in the parent and in each engine (an engine is a new exec, which keeps
//! the limit but may reset the flag, so it sets both again). `-M[=PATN]` implies `-m` and also
//! writes PATN (default `core`) to `/proc/sys/kernel/core_pattern` in the parent; the
//! [`PatternGuard`] writes the old pattern back when the parent ends, as keepalived does.

use std::path::{Path, PathBuf};

use nix::sys::resource::{RLIM_INFINITY, Resource, getrlimit, setrlimit};
use tracing::{info, warn};

use super::cli::Cli;

/// The kernel's core pattern file.
pub const CORE_PATTERN: &str = "/proc/sys/kernel/core_pattern";

/// Whether `-m` or `-M` was given.
pub fn wanted(cli: &Cli) -> bool {
    cli.core_dump || cli.core_dump_pattern.is_some()
}

/// `-m`: RLIMIT_CORE unlimited and the dumpable flag, for this process (and what it execs).
/// Failures are logged (keepalived's texts) and do not stop the daemon.
pub fn enable() {
    if setrlimit(Resource::RLIMIT_CORE, RLIM_INFINITY, RLIM_INFINITY).is_err() {
        // Without CAP_SYS_RESOURCE the hard limit cannot be raised: the soft one goes up to it.
        let lifted = getrlimit(Resource::RLIMIT_CORE)
            .and_then(|(_, hard)| setrlimit(Resource::RLIMIT_CORE, hard, hard));
        info!(
            "Failed to set core file size{}",
            if lifted.is_ok() {
                " to unlimited: raised to the hard limit"
            } else {
                ""
            }
        );
    }
    if let Err(e) = nix::sys::prctl::set_dumpable(true) {
        warn!("cannot set the dumpable flag: {e}");
    }
}

/// The parent's part of `-m` / `-M`: [`enable`], and with `-M` the core pattern, restored when
/// the returned guard is dropped.
pub fn init_parent(cli: &Cli) -> Option<PatternGuard> {
    if !wanted(cli) {
        return None;
    }
    enable();
    let pattern = cli.core_dump_pattern.as_deref()?;
    PatternGuard::set(Path::new(CORE_PATTERN), pattern)
}

/// Restores the core pattern it replaced when dropped.
#[derive(Debug)]
pub struct PatternGuard {
    file: PathBuf,
    old: String,
}

impl PatternGuard {
    /// Writes `pattern` to `file` (the core pattern file) after reading the old one; `None`
    /// (logged as keepalived logs it) if either fails.
    pub fn set(file: &Path, pattern: &str) -> Option<PatternGuard> {
        let old = match std::fs::read_to_string(file) {
            Ok(old) => old.trim_end_matches('\n').to_owned(),
            Err(_) => {
                info!("Unable to read/write core_pattern");
                return None;
            }
        };
        if std::fs::write(file, pattern).is_err() {
            info!("Unable to read/write core_pattern");
            return None;
        }
        Some(PatternGuard {
            file: file.to_owned(),
            old,
        })
    }
}

impl Drop for PatternGuard {
    fn drop(&mut self) {
        if std::fs::write(&self.file, &self.old).is_err() {
            info!("Unable to read/write core_pattern");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guard_restores_the_old_pattern() {
        let dir = std::env::temp_dir().join(format!("kv-coredump-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("core_pattern");
        std::fs::write(&file, "|/usr/lib/systemd/systemd-coredump %P\n").expect("write");
        {
            let _guard = PatternGuard::set(&file, "core").expect("set");
            assert_eq!(std::fs::read_to_string(&file).expect("read"), "core");
        }
        assert_eq!(
            std::fs::read_to_string(&file).expect("read"),
            "|/usr/lib/systemd/systemd-coredump %P"
        );
        assert!(PatternGuard::set(&dir.join("missing/x"), "core").is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
