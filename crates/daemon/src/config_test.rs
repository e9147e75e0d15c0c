//! `-t` / `--config-test`: reads the configuration, checks it against this host as keepalived
//! does, prints every diagnostic to stderr (or the log file) and, with `--json`, the typed model
//! on stdout; returns keepalived's exit code.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::Path;

use keepalived_config::host::{self, HostFacts};
use keepalived_config::{PreprocessOptions, Read};

use crate::host_facts::SystemHost;

/// What the test printed and the exit code it chose.
pub struct Outcome {
    /// keepalived's `-t` exit code (0, 4, 5 or 6).
    pub code: i32,
}

/// Reads and checks `path`; writes diagnostics to `log` (stderr when `None`) and the JSON model to
/// stdout when `json` is set and the file could be read (whatever the verdict: instances the
/// daemon would not run are listed in `vrrp.dropped_instances`). The checks are the daemon's:
/// the host's, the features built in, and the conversion to what the engine runs.
pub fn run(path: &Path, opts: &PreprocessOptions, json: bool, log: Option<&Path>) -> Outcome {
    let mut read = keepalived_config::read_file(path, opts);
    let facts = gather_host_facts();
    host::check(&mut read.config, &facts, &SystemHost, &mut read.diagnostics);
    crate::features::check(&read.config, &mut read.diagnostics);
    crate::vrrp::load::plan_runnable(&mut read, &facts);
    read.diagnostics.sort();
    let code = read.exit_code();
    report(&read, log);
    if json && !read.sources.is_empty() {
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        if serde_json::to_writer_pretty(&mut out, &read.config).is_ok() {
            let _ = writeln!(out);
        }
    }
    // The process exits right after this; freeing a large model piece by piece would only
    // add time (tens of milliseconds for 235,000 lines).
    std::mem::forget(read);
    Outcome { code }
}

fn report(read: &Read, log: Option<&Path>) {
    let mut text = String::new();
    for line in read.render_diagnostics() {
        text.push_str(&line);
        text.push('\n');
    }
    if text.is_empty() {
        return;
    }
    match log {
        Some(path) => {
            let written = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .and_then(|mut f| f.write_all(text.as_bytes()));
            if let Err(e) = written {
                eprintln!("keepalived-rs: cannot write {}: {e}", path.display());
                eprint!("{text}");
            }
        }
        None => eprint!("{text}"),
    }
}

/// Looks at this host: interfaces (from /sys/class/net), who we are, whether keepalived's
/// default script user exists.
pub fn gather_host_facts() -> HostFacts {
    let mut interfaces = BTreeSet::new();
    let mut loopbacks = BTreeSet::new();
    if let Ok(dir) = std::fs::read_dir("/sys/class/net") {
        for entry in dir.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            // ARPHRD_LOOPBACK is 772.
            let kind = std::fs::read_to_string(entry.path().join("type")).unwrap_or_default();
            if kind.trim() == "772" {
                loopbacks.insert(name.clone());
            }
            interfaces.insert(name);
        }
    }
    let is_root = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|uids| uids.split_whitespace().nth(1).map(|e| e == "0"))
        })
        .unwrap_or(false);
    let script_user_exists = std::fs::read_to_string("/etc/passwd")
        .map(|p| p.lines().any(|l| l.starts_with("keepalived_script:")))
        .unwrap_or(false);
    HostFacts {
        interfaces,
        loopbacks,
        is_root,
        script_user_exists,
    }
}

/// keepalived's default config id: the node name up to the first '.'.
pub fn default_config_id() -> String {
    let node = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    node.trim().split('.').next().unwrap_or("").to_owned()
}
