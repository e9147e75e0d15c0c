//! The control socket and keepalived-ctl (issue 18), with real processes in network
//! namespaces: our daemon on ha1 (priority 200, one VRRP instance, one virtual server whose
//! real server is a Python HTTP server on ha1) and Debian's keepalived on ha2 (priority 100).
//!
//! - `status` and `status --json` show the instance (MASTER, priorities, VIP, master seen) and
//!   the real server (up, weight, its check's last result);
//! - `vrrp VI_1 maintenance on`: the keepalived peer holds the VIP within 3 x advert + skew,
//!   ours shows FAULT and maintenance (status and metrics); a reload through the socket keeps
//!   it; `off`: ours takes the VIP back within 3 x advert + skew;
//! - `rs drain` / `undrain`: weight 0 in the balancer (status, log) and back;
//! - bad input: an unknown instance or real server, malformed requests on the raw socket, a
//!   broken configuration given to `reload`: clear errors, nothing changed, the daemon still
//!   answering; an unprivileged user is refused by the socket's mode;
//! - `dump`: the data dump's text, without signals.
//!
//! Handover times are printed as `control: ...` lines (`--nocapture`). Needs root, Debian's
//! keepalived, and keepalived-ctl built beside keepalived-rs (scripts/test.sh builds both).

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use crate::support::daemon::Daemon;
use crate::support::files::TempDir;
use crate::support::{Router, VIP4, ctl_bin, holders, skip_reason_for, two_hosts};
use lab::{Host, wait_until};

/// Runs keepalived-ctl on `socket` with `args` in `host` (as `via` when given: `setpriv ...`).
fn ctl_via(host: &Host, via: &[&str], socket: &Path, args: &[&str]) -> Output {
    let bin = ctl_bin();
    let mut cmd = match via.split_first() {
        Some((launcher, rest)) => {
            let mut c = host.command(launcher);
            c.args(rest).arg(&bin);
            c
        }
        None => host.command(&bin),
    };
    cmd.arg("--socket").arg(socket).args(args);
    cmd.output().expect("run keepalived-ctl")
}

/// keepalived-ctl's output; panics when it fails.
fn ctl(host: &Host, socket: &Path, args: &[&str]) -> String {
    let out = ctl_via(host, &[], socket, args);
    assert!(
        out.status.success(),
        "keepalived-ctl {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// keepalived-ctl's error; panics when it succeeds.
fn ctl_err(host: &Host, socket: &Path, args: &[&str]) -> String {
    let out = ctl_via(host, &[], socket, args);
    assert!(!out.status.success(), "keepalived-ctl {args:?} succeeded");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn status(host: &Host, socket: &Path) -> serde_json::Value {
    crate::support::ctl_status(host, socket)
}

/// The instance named `name` in a status.
fn instance<'a>(s: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    s["vrrp_instances"]
        .as_array()
        .and_then(|l| l.iter().find(|i| i["name"] == name))
        .unwrap_or_else(|| panic!("no instance {name} in {s}"))
}

/// The first real server of the first virtual server in a status.
fn real_server(s: &serde_json::Value) -> &serde_json::Value {
    &s["virtual_servers"][0]["real_servers"][0]
}

/// Sends raw `lines` on the socket (Python: no client of ours) and returns what came back.
fn raw(host: &Host, socket: &Path, lines: &str) -> String {
    let script = "import socket, sys\n\
                  s = socket.socket(socket.AF_UNIX)\n\
                  s.settimeout(10)\n\
                  s.connect(sys.argv[1])\n\
                  s.sendall(sys.argv[2].encode())\n\
                  s.shutdown(socket.SHUT_WR)\n\
                  out = b''\n\
                  while True:\n    \
                      d = s.recv(65536)\n    \
                      if not d: break\n    \
                      out += d\n\
                  sys.stdout.write(out.decode())\n";
    host.run_ok(
        "python3",
        ["-c", script, &socket.display().to_string(), lines],
    )
    .unwrap_or_default()
}

fn ours_conf() -> String {
    format!(
        "global_defs {{\n    router_id ours\n    metrics_listen 127.0.0.1:9166\n}}\n\
         vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    \
         priority 200\n    advert_int 1\n    virtual_ipaddress {{\n        {VIP4}/24 dev eth0\n    \
         }}\n}}\n\
         virtual_server 192.0.2.10 80 {{\n    delay_loop 1\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n    \
         real_server 127.0.0.1 18081 {{\n        weight 3\n        TCP_CHECK {{\n            \
         connect_timeout 1\n        }}\n    }}\n}}\n"
    )
}

fn peer_conf() -> String {
    format!(
        "global_defs {{\n    router_id peer\n}}\n\
         vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    \
         priority 100\n    advert_int 1\n    virtual_ipaddress {{\n        {VIP4}/24 dev eth0\n    \
         }}\n}}\n"
    )
}

/// Waits until the VIP is held by host `who` alone; the time it took.
fn vip_moves_to(hosts: &[Host], who: usize, timeout: Duration) -> Option<Duration> {
    let vip = VIP4.parse().expect("vip");
    wait_until(timeout, Duration::from_millis(20), || {
        holders(hosts, vip) == [who]
    })
}

#[test]
fn ctl_status_maintenance_drain_reload_and_bad_input() {
    if let Some(reason) = skip_reason_for(true, true) {
        eprintln!("skipped: {reason}");
        return;
    }
    let net = two_hosts("kac");
    let (ha1, ha2) = (&net.hosts[0], &net.hosts[1]);
    let dir = TempDir::new("control");
    let www = dir.0.join("www");
    std::fs::create_dir_all(&www).expect("www");
    let _server = crate::support::servers::http_server(ha1, &www, 18081);
    // --strict-config: a configuration with any error is refused at reload.
    let ours = Daemon::start(ha1, &dir.0, "ours", &ours_conf(), &["--strict-config"]);
    // The default socket: beside the pid file (-p DIR/ours.pid).
    let socket = dir.0.join("ours.ctl");
    let up = wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
        socket.exists()
    });
    assert!(up.is_some(), "no control socket; log:\n{}", ours.log());
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&socket).expect("socket").permissions(),
    ) & 0o777;
    assert_eq!(mode, 0o600);
    assert!(
        vip_moves_to(&net.hosts, 0, Duration::from_secs(10)).is_some(),
        "ours never became master; log:\n{}",
        ours.log()
    );
    let peer = Router::keepalived(ha2, &peer_conf());
    // The peer must be a running backup (not starting up) before ours resigns.
    let backup = wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
        peer.logged("Entering BACKUP STATE")
    });
    assert!(backup.is_some(), "the peer never became backup");
    std::thread::sleep(Duration::from_millis(1500));

    // Status: the instance and the real server.
    let mut s = serde_json::Value::Null;
    let seen = wait_until(Duration::from_secs(10), Duration::from_millis(200), || {
        s = status(ha1, &socket);
        real_server(&s)["checks"][0]["last_result"] == "passed"
    });
    assert!(seen.is_some(), "the check never passed: {s}");
    let i = instance(&s, "VI_1");
    assert_eq!(i["state"], "MASTER", "{s}");
    assert_eq!(i["base_priority"], 200);
    assert_eq!(i["effective_priority"], 200);
    assert_eq!(i["interface"], "eth0");
    assert_eq!(i["virtual_ipaddresses"][0], VIP4);
    assert_eq!(i["master_address"], "192.0.2.1", "{s}");
    assert_eq!(i["maintenance"], false);
    let rs = real_server(&s);
    assert_eq!(rs["address"], "127.0.0.1");
    assert_eq!(rs["port"], 18081);
    assert_eq!(rs["state"], "up");
    assert_eq!(rs["weight"], 3);
    assert!(rs["checks"][0]["last_run"].as_f64().is_some(), "{s}");
    let engines = s["daemon"]["engines"].as_array().expect("engines");
    assert_eq!(engines.len(), 2, "{s}");
    assert!(
        engines
            .iter()
            .all(|e| e["answering"] == true && e["pid"].is_u64())
    );
    let table = ctl(ha1, &socket, &["status"]);
    assert!(
        table.contains("VI_1") && table.contains("MASTER"),
        "{table}"
    );

    // Maintenance: the peer takes over; ours stays out, also across a reload.
    let skew = (256.0 - 100.0) / 256.0;
    let bound = Duration::from_secs_f64(3.0 + skew);
    let t0 = Instant::now();
    let said = ctl(ha1, &socket, &["vrrp", "VI_1", "maintenance", "on"]);
    assert!(said.contains("maintenance on"), "{said}");
    let took = vip_moves_to(&net.hosts, 1, Duration::from_secs(10))
        .unwrap_or_else(|| panic!("the peer never took over; log:\n{}", ours.log()));
    println!(
        "control: maintenance on: the peer held the VIP after {} ms",
        t0.elapsed().as_millis()
    );
    assert!(
        took <= bound,
        "handover took {took:?} (bound {bound:?}); log:\n{}",
        ours.log()
    );
    let s = status(ha1, &socket);
    let i = instance(&s, "VI_1");
    assert_eq!(i["state"], "FAULT", "{s}");
    assert_eq!(i["maintenance"], true, "{s}");
    let metrics = ha1
        .run_ok(
            "python3",
            [
                "-c",
                "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:9166/metrics', timeout=5).read().decode())",
            ],
        )
        .unwrap_or_default();
    assert!(
        metrics.contains("keepalived_vrrp_maintenance{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\"} 1"),
        "{metrics}"
    );
    assert_eq!(ctl(ha1, &socket, &["reload"]).trim(), "reload: applied");
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(holders(&net.hosts, VIP4.parse().expect("vip")), [1]);
    assert_eq!(instance(&status(ha1, &socket), "VI_1")["maintenance"], true);
    let t0 = Instant::now();
    ctl(ha1, &socket, &["vrrp", "VI_1", "maintenance", "off"]);
    let ours_skew = (256.0 - 200.0) / 256.0;
    let back_bound = Duration::from_secs_f64(3.0 + ours_skew + 0.5);
    let took = vip_moves_to(&net.hosts, 0, Duration::from_secs(10))
        .unwrap_or_else(|| panic!("ours never took the VIP back; log:\n{}", ours.log()));
    println!(
        "control: maintenance off: ours held the VIP again after {} ms",
        t0.elapsed().as_millis()
    );
    assert!(
        took <= back_bound,
        "taking back took {took:?} (bound {back_bound:?})"
    );

    // Drain and undrain.
    let said = ctl(
        ha1,
        &socket,
        &["rs", "drain", "192.0.2.10:80", "127.0.0.1:18081"],
    );
    assert!(said.contains("drained"), "{said}");
    let rs = real_server(&status(ha1, &socket)).clone();
    assert_eq!(
        (rs["weight"].clone(), rs["drained"].clone()),
        (0.into(), true.into()),
        "{rs}"
    );
    assert!(ours.logged("IPVS: set real server 127.0.0.1:18081 of tcp 192.0.2.10:80 weight 0"));
    ctl(
        ha1,
        &socket,
        &["rs", "undrain", "192.0.2.10:80", "127.0.0.1:18081"],
    );
    let rs = real_server(&status(ha1, &socket)).clone();
    assert_eq!(
        (rs["weight"].clone(), rs["drained"].clone()),
        (3.into(), false.into()),
        "{rs}"
    );

    // Bad input: clear errors, nothing changed.
    let e = ctl_err(ha1, &socket, &["vrrp", "VI_9", "maintenance", "on"]);
    assert!(e.contains("no vrrp_instance \"VI_9\""), "{e}");
    let e = ctl_err(
        ha1,
        &socket,
        &["rs", "drain", "192.0.2.10:80", "127.0.0.1:9"],
    );
    assert!(e.contains("no real server 127.0.0.1:9"), "{e}");
    let e = ctl_err(
        ha1,
        &socket,
        &["rs", "drain", "192.0.2.10", "127.0.0.1:18081"],
    );
    assert!(e.contains("is not a virtual server"), "{e}");
    let answers = raw(
        ha1,
        &socket,
        "garbage\n{\"version\":9,\"command\":\"status\"}\n{\"version\":1,\"command\":\"explode\"}\n\
         {\"version\":1,\"command\":\"status\"}\n",
    );
    let lines: Vec<serde_json::Value> = answers
        .lines()
        .map(|l| serde_json::from_str(l).expect("an answer is JSON"))
        .collect();
    assert_eq!(lines.len(), 4, "{answers}");
    assert!(
        lines[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("not JSON"))
    );
    assert!(
        lines[1]["error"]
            .as_str()
            .is_some_and(|e| e.contains("version 9"))
    );
    assert!(
        lines[2]["error"]
            .as_str()
            .is_some_and(|e| e.contains("explode"))
    );
    assert_eq!(lines[3]["ok"], true, "{answers}");
    let s = status(ha1, &socket);
    assert_eq!(instance(&s, "VI_1")["state"], "MASTER");
    assert_eq!(real_server(&s)["drained"], false);

    // An unprivileged user: refused by the socket's mode.
    let out = ctl_via(
        ha1,
        &[
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
        ],
        &socket,
        &["status"],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("Permission denied"),
        "{err}"
    );

    // A broken configuration: the reload is refused with its place, the old one runs on.
    std::fs::write(
        dir.0.join("ours.conf"),
        ours_conf().replace("priority 200", "priority 300"),
    )
    .expect("rewrite config");
    let out = ctl(ha1, &socket, &["reload"]);
    assert!(
        out.contains("refused") && out.contains("ours.conf:"),
        "{out}"
    );
    assert_eq!(
        instance(&status(ha1, &socket), "VI_1")["base_priority"],
        200
    );
    assert_eq!(
        status(ha1, &socket)["daemon"]["last_reload"]["outcome"],
        "refused"
    );

    // The data dump, without a signal.
    let dump = ctl(ha1, &socket, &["dump"]);
    assert!(
        dump.contains("VRRP Instance = VI_1") && dump.contains("LVS Topology"),
        "{dump}"
    );

    // Stopping removes the socket.
    crate::support::daemon::signal("TERM", ours.child.id());
    let gone = wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
        !socket.exists()
    });
    assert!(gone.is_some(), "the socket outlived the daemon");
}

/// `keepalived_script_state` (mehdy/keepalived-exporter's): 1 while a `vrrp_script` runs, 0
/// between runs; the status lists the script among the instance's trackers.
#[test]
fn script_state_follows_a_running_vrrp_script() {
    if let Some(reason) = skip_reason_for(false, true) {
        eprintln!("skipped: {reason}");
        return;
    }
    let net = two_hosts("kas");
    let ha1 = &net.hosts[0];
    let dir = TempDir::new("script-state");
    let conf = format!(
        "global_defs {{\n    router_id ours\n    metrics_listen 127.0.0.1:9167\n    \
         enable_script_security\n    script_user root\n}}\n\
         vrrp_script sleeper {{\n    script \"/bin/sleep 1\"\n    interval 2\n    weight 1\n}}\n\
         vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    \
         priority 100\n    advert_int 1\n    track_script {{\n        sleeper\n    }}\n    \
         virtual_ipaddress {{\n        {VIP4}/24 dev eth0\n    }}\n}}\n"
    );
    let ours = Daemon::start(ha1, &dir.0, "ours", &conf, &[]);
    let series = "keepalived_script_state{name=\"sleeper\"} ";
    let scrape = || {
        ha1.run_ok(
            "python3",
            [
                "-c",
                "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:9167/metrics', timeout=5).read().decode())",
            ],
        )
        .unwrap_or_default()
    };
    let mut seen = [false, false];
    let done = wait_until(Duration::from_secs(15), Duration::from_millis(100), || {
        if let Some(v) = scrape().lines().find_map(|l| l.strip_prefix(series)) {
            match v.trim() {
                "0" => seen[0] = true,
                "1" => seen[1] = true,
                other => panic!("keepalived_script_state {other}"),
            }
        }
        seen == [true, true]
    });
    assert!(
        done.is_some(),
        "seen idle/running: {seen:?}; log:\n{}",
        ours.log()
    );
    let socket = dir.0.join("ours.ctl");
    let s = status(ha1, &socket);
    let trackers = instance(&s, "VI_1")["trackers"].clone();
    assert!(
        trackers.as_array().is_some_and(|l| l
            .iter()
            .any(|t| t["kind"] == "script" && t["name"] == "sleeper")),
        "{s}"
    );
}
