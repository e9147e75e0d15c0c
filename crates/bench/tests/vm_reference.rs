//! Smoke test of `checker-bench --vm-reference` (so that it cannot rot): 20 targets, 2 s
//! windows, one IPVS VM; both keepalived and keepalived-rs must check every target. Speed is
//! not judged. Skips when the VM, keepalived or the keepalived-rs binary is missing.

use std::path::PathBuf;
use std::process::Command;

/// keepalived-rs: `KEEPALIVED_RS_BIN` (scripts/test.sh sets it), else the one cargo built
/// beside this package's binaries.
fn ours() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("KEEPALIVED_RS_BIN") {
        return Some(p.into());
    }
    let p = PathBuf::from(env!("CARGO_BIN_EXE_checker-bench")).with_file_name("keepalived-rs");
    p.is_file().then_some(p)
}

#[test]
fn vm_reference_checks_every_target_with_both_daemons() {
    let Some(ours) = ours() else {
        eprintln!("skipping: no keepalived-rs binary (set KEEPALIVED_RS_BIN)");
        return;
    };
    if !std::path::Path::new("/usr/sbin/keepalived").is_file() {
        eprintln!("skipping: /usr/sbin/keepalived is not installed");
        return;
    }
    let dir = std::env::temp_dir().join(format!("chkref-smoke-{}", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_checker-bench"))
        .args(["--vm-reference", "--targets", "20", "--secs", "2", "--bin"])
        .arg(&ours)
        .arg("--dir")
        .arg(&dir)
        .output()
        .expect("running checker-bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let _ = std::fs::remove_dir_all(&dir);
    if stderr.contains("skipping: IPVS VM unavailable") {
        eprintln!("{stderr}");
        return;
    }
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for imp in ["keepalived", "ours"] {
        let row = stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(imp))
            .unwrap_or_else(|| panic!("no {imp} row:\n{stdout}\n{stderr}"));
        // Columns: daemon N round | checks/s of N | min/max/unchecked | ...
        let cell = row.split('|').nth(2).map(str::trim).unwrap_or_default();
        let f: Vec<u64> = cell.split('/').filter_map(|v| v.parse().ok()).collect();
        assert_eq!(f.len(), 3, "{row}");
        assert!(f[0] >= 1 && f[2] == 0, "a target was not checked: {row}");
        assert!(!row.contains("daemon died"), "{row}");
    }
    assert!(stdout.contains("ours/keepalived"), "{stdout}");
}
