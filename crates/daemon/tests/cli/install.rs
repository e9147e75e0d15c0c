//! `make install` / `make uninstall` (the Makefile at the repository root) into a DESTDIR: the
//! file list, the installed daemon accepting the installed default config (`-t`), an existing
//! or modified config kept by install and uninstall, and nothing left behind otherwise.
//! Skips when `make` is not installed.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::files::TempDir;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A directory with the three binaries: this test's keepalived-rs, and the genhash and
/// keepalived-ctl cargo built beside it (scripts/test.sh builds every binary first). When one
/// was not built (`cargo test -p keepalived-rs` alone), a stand-in script takes its place: only
/// its installation is checked here, and running cargo from inside `cargo test` would wait on
/// cargo's own lock.
fn bin_dir(tmp: &Path) -> PathBuf {
    let daemon = PathBuf::from(env!("CARGO_BIN_EXE_keepalived-rs"));
    let dir = tmp.join("bins");
    std::fs::create_dir_all(&dir).expect("bins");
    std::fs::copy(&daemon, dir.join("keepalived-rs")).expect("copy keepalived-rs");
    for name in ["genhash", "keepalived-ctl"] {
        let built = daemon.with_file_name(name);
        if built.exists() {
            std::fs::copy(&built, dir.join(name)).expect("copy a binary");
        } else {
            eprintln!("note: {} not built; installing a stand-in", built.display());
            std::fs::write(dir.join(name), format!("#!/bin/sh\necho {name} stand-in\n"))
                .expect("stub");
            std::fs::set_permissions(dir.join(name), std::fs::Permissions::from_mode(0o755))
                .expect("chmod");
        }
    }
    dir
}

fn make(target: &str, dest: &Path, bins: &Path) -> String {
    let out = Command::new("make")
        .arg("-C")
        .arg(repo())
        .arg(target)
        .arg(format!("DESTDIR={}", dest.display()))
        .arg("PREFIX=/usr")
        .arg(format!("BIN_DIR={}", bins.display()))
        .output()
        .expect("run make");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "make {target} failed:\n{text}");
    text
}

/// Every file and symlink under `root`, as paths relative to it.
fn files(root: &Path) -> BTreeSet<String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else if let Ok(rel) = p.strip_prefix(root) {
                out.insert(format!("/{}", rel.display()));
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(root, root, &mut out);
    out
}

fn have_make() -> bool {
    let ok = Command::new("make").arg("--version").output().is_ok();
    if !ok {
        eprintln!("skipping: make not installed");
    }
    ok
}

const CONF: &str = "/etc/keepalived/keepalived.conf";

#[test]
fn install_and_uninstall_into_destdir() {
    if !have_make() {
        return;
    }
    let tmp = TempDir::new("make-install");
    let bins = bin_dir(&tmp.0);
    let dest = tmp.0.join("root");
    make("install", &dest, &bins);

    let mut expected: BTreeSet<String> = [
        "/usr/sbin/keepalived-rs",
        "/usr/bin/genhash",
        CONF,
        "/usr/share/man/man8/keepalived-rs.8",
        "/usr/share/man/man5/keepalived-rs.conf.5",
        "/usr/share/man/man1/genhash.1",
        "/usr/sbin/keepalived-ctl",
        "/usr/share/man/man1/keepalived-ctl.1",
        "/etc/dbus-1/system.d/keepalived-rs.conf",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    if repo().join("packaging/keepalived-rs.service").exists() {
        expected.insert("/usr/lib/systemd/system/keepalived-rs.service".into());
    }
    assert_eq!(files(&dest), expected);

    // The installed daemon accepts the installed default configuration.
    let out = Command::new(dest.join("usr/sbin/keepalived-rs"))
        .arg("-t")
        .arg("-f")
        .arg(dest.join(&CONF[1..]))
        .output()
        .expect("run the installed keepalived-rs");
    assert!(
        out.status.success(),
        "keepalived-rs -t on the default config: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // An existing (here: modified) configuration survives install and uninstall.
    let conf = dest.join(&CONF[1..]);
    let mine = "global_defs {\n    router_id mine\n}\n";
    std::fs::write(&conf, mine).expect("modify config");
    let log = make("install", &dest, &bins);
    assert!(log.contains("keeping the existing"), "{log}");
    assert_eq!(std::fs::read_to_string(&conf).expect("config"), mine);
    let log = make("uninstall", &dest, &bins);
    assert!(log.contains("it was modified"), "{log}");
    assert_eq!(files(&dest), BTreeSet::from([CONF.to_string()]));
    assert_eq!(std::fs::read_to_string(&conf).expect("config"), mine);

    // An unmodified default configuration goes with the rest.
    std::fs::remove_file(&conf).expect("rm config");
    make("install", &dest, &bins);
    make("uninstall", &dest, &bins);
    assert_eq!(files(&dest), BTreeSet::new());
    assert!(!dest.join("etc/keepalived").exists());
}
