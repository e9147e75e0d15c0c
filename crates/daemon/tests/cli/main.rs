//! The built binary outside any namespace, one test binary: [`options`] (the command line as an
//! operator meets it), [`features`] (the build options; scripts/test-features.sh runs these two
//! for every feature combination) and [`install`] (`make install` into a DESTDIR).

use std::path::PathBuf;
use std::process::Command;

#[path = "../support/mod.rs"]
mod support;

mod features;
mod install;
mod options;

/// keepalived-rs as cargo built it for this test.
fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_keepalived-rs"))
}

/// Writes `text` to `name` in the directory `kars-TAG-PID` under the temp dir.
fn temp_conf_in(tag: &str, name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kars-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write config");
    path
}
