//! Files for the tests: temp directories removed on drop ([`TempDir`]), directories and
//! executable scripts that root may run ([`script_dir`], [`script`]), and a reader that drains a
//! notify FIFO into a file ([`fifo_reader`]).

use std::fs::{File, Permissions};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use lab::LabChild;

/// Temp directories made so far by this test binary; part of each name, so tests that run in
/// one process never share one.
static DIRS: AtomicU32 = AtomicU32::new(0);

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A fresh directory named after `tag`, this process and a counter.
    pub fn new(tag: &str) -> TempDir {
        let n = DIRS.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("kars-test-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A [`TempDir`] that scripts run as root may live in: mode 0755, not world-writable (the
/// daemons refuse scripts in a directory others can write).
pub fn script_dir(tag: &str) -> TempDir {
    let dir = TempDir::new(tag);
    std::fs::set_permissions(&dir.0, Permissions::from_mode(0o755)).expect("chmod");
    dir
}

/// Writes the shell script `#!/bin/sh\nBODY\n` to `dir/name`, mode 0755, and returns its path.
pub fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write script");
    std::fs::set_permissions(&path, Permissions::from_mode(0o755)).expect("chmod");
    path
}

/// Makes the FIFO `fifo` and reads it with `cat` into the file `out`: start it before the
/// daemon opens the FIFO for writing.
pub fn fifo_reader(fifo: &Path, out: &Path) -> LabChild {
    let status = Command::new("mkfifo").arg(fifo).status().expect("mkfifo");
    assert!(status.success());
    let mut cmd = Command::new("cat");
    cmd.arg(fifo)
        .stdin(Stdio::null())
        .stdout(File::create(out).expect("fifo out"))
        .stderr(Stdio::null());
    LabChild::spawn(&mut cmd).expect("cat fifo")
}
