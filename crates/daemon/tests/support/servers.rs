//! Real servers for the checker tests: Python's http.server in a lab host, and a port probe.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use lab::{Host, LabChild, wait_until};

/// Whether something listens on TCP `port` in `host`.
pub fn listening(host: &Host, port: u16) -> bool {
    host.run_ok("ss", ["-Htln", &format!("sport = :{port}")])
        .is_ok_and(|out| !out.trim().is_empty())
}

/// A Python HTTP server serving `dir` on 127.0.0.1:`port` inside `host`, listening when returned.
pub fn http_server(host: &Host, dir: &Path, port: u16) -> LabChild {
    let mut cmd = host.command("python3");
    cmd.args([
        "-m",
        "http.server",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
    ])
    .current_dir(dir)
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    let child = LabChild::spawn(&mut cmd).expect("python3 http.server");
    assert!(
        wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
            listening(host, port)
        })
        .is_some(),
        "http.server did not listen on {port}"
    );
    child
}
