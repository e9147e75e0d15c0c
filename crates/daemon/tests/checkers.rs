//! The daemon's checkers with real servers in a network namespace: a real server whose TCP_CHECK
//! fails is removed (and `notify_down` runs), comes back when its server returns (`notify_up`),
//! an HTTP_GET against a server that is not there removes its real server, and the missing IPVS
//! of this kernel is one warning, not a stop. Needs root (skips otherwise).

use std::os::unix::fs::PermissionsExt as _;
use std::process::Stdio;
use std::time::Duration;

use lab::{Host, Lab, LabChild, wait_until};
use support::daemon::{Daemon, TempDir};

mod support;

const POLL: Duration = Duration::from_millis(50);

/// A Python HTTP server on 127.0.0.1:`port` inside `host`.
fn http_server(host: &Host, dir: &std::path::Path, port: u16) -> LabChild {
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
    LabChild::spawn(&mut cmd).expect("python3 http.server")
}

fn listening(host: &Host, port: u16) -> bool {
    host.run_ok("ss", ["-Htln", &format!("sport = :{port}")])
        .is_ok_and(|out| !out.trim().is_empty())
}

#[test]
fn failing_real_server_is_removed_notified_and_restored() {
    if Lab::skip_unless_root() {
        return;
    }
    if !lab::have_program("python3") {
        eprintln!("skipping: python3 not installed");
        return;
    }
    let lab = Lab::new("kvchk").expect("lab");
    let host = lab.host("lb").expect("host");
    host.link_set_up("lo").expect("lo up");
    let dir = TempDir::new("checkers");
    std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let notify_log = dir.0.join("notify.log");
    let notify = dir.0.join("notify.sh");
    std::fs::write(
        &notify,
        format!("#!/bin/sh\necho \"$1\" >> {}\n", notify_log.display()),
    )
    .expect("notify script");
    std::fs::set_permissions(&notify, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let conf = format!(
        "global_defs {{\n    script_user root\n}}\n\
         virtual_server 192.0.2.100 80 {{\n    delay_loop 1\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n\
         real_server 127.0.0.1 18080 {{\n        notify_down \"{n} down\"\n        notify_up \"{n} up\"\n\
         TCP_CHECK {{\n            connect_timeout 1\n            retry 1\n            delay_before_retry 1\n        }}\n    }}\n\
         real_server 127.0.0.1 18081 {{\n        HTTP_GET {{\n            url {{\n                path /\n                status_code 200\n            }}\n\
         connect_timeout 1\n        }}\n    }}\n}}\n",
        n = notify.display()
    );
    let mut server = http_server(&host, &dir.0, 18080);
    assert!(
        wait_until(Duration::from_secs(5), POLL, || listening(&host, 18080)).is_some(),
        "http.server did not start"
    );
    let daemon = Daemon::start(&host, &dir.0, "lb", &conf, &[]);
    let logged = |needle: &str, secs: u64| {
        wait_until(Duration::from_secs(secs), POLL, || daemon.logged(needle)).is_some()
    };
    assert!(logged("IPVS is not available", 5), "{}", daemon.log());
    // Nothing listens on 18081: its HTTP_GET fails twice (retry 1) and it is removed.
    assert!(
        logged("Removing service [127.0.0.1]:tcp:18081", 10),
        "{}",
        daemon.log()
    );
    assert!(!daemon.logged("Removing service [127.0.0.1]:tcp:18080"));
    server.kill();
    assert!(
        logged("Removing service [127.0.0.1]:tcp:18080", 10),
        "{}",
        daemon.log()
    );
    let _server = http_server(&host, &dir.0, 18080);
    assert!(
        logged("Adding service [127.0.0.1]:tcp:18080", 10),
        "{}",
        daemon.log()
    );
    let lines = || {
        std::fs::read_to_string(&notify_log)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let notified = wait_until(Duration::from_secs(3), POLL, || lines().len() >= 2);
    assert!(notified.is_some(), "notify lines: {:?}", lines());
    assert_eq!(lines(), ["down", "up"], "{}", daemon.log());
}
