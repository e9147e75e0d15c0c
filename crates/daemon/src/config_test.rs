//! `-t` / `--config-test`: reads the configuration, checks it against this host as keepalived
//! does, prints every diagnostic to stderr (or the log file) and, with `--json`, the typed model
//! on stdout; returns keepalived's exit code.

use std::io::Write as _;
use std::path::Path;

use keepalived_config::host;
use keepalived_config::{PreprocessOptions, Read};

use crate::plan::runnable::plan_runnable;
use crate::services::features;
use crate::services::host::{SystemHost, gather_host_facts, interface_facts};

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
    features::check(&read.config, &mut read.diagnostics);
    plan_runnable(&mut read, &facts, &interface_facts());
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
