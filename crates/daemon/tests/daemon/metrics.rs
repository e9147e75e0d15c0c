//! The Prometheus metrics (issue 18), with real processes in network namespaces: our daemon on
//! ha1 (`metrics_listen 127.0.0.1:9165`, one VRRP instance, one virtual server whose real
//! server is a Python HTTP server on ha1), Debian's keepalived on ha2, and Debian's real
//! Prometheus inside ha1 scraping ours every second.
//!
//! - our backup becomes master when the keepalived master dies: `become_master` goes 0 -> 1,
//!   `keepalived_vrrp_state{ip_address="192.0.2.100"}` 1 -> 2, and Prometheus's API shows the 2;
//! - keepalived started again with a wrong password: `keepalived_authentication_failure_total`
//!   counts its adverts;
//! - the real server's check latency histogram counts its attempts; the real server stops:
//!   `keepalived_lvs_real_server_up` 1 -> 0;
//! - `promtool check metrics` accepts a scrape; a reload is counted; OpenMetrics on request; 404, 400, a silent
//!   client, and a frozen engine (`keepalived_engine_up{engine="checker"} 0` within the
//!   engine timeout, the scrape still answered).
//!
//! Measurements are printed as `metrics: ...` lines (`--nocapture`). Needs root, Debian's
//! keepalived and prometheus (scripts/test.sh installs them).

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::daemon::Daemon;
use crate::support::files::TempDir;
use crate::support::{Router, VIP4, holders, skip_reason_for, two_hosts};
use lab::{Host, LabChild, wait_until};

const METRICS: &str = "http://127.0.0.1:9165/metrics";

/// GET `url` from inside `host` (Python's urllib: no curl needed); `None` on any failure.
fn get(host: &Host, url: &str, headers: &str) -> Option<String> {
    let script = "import sys, urllib.request\n\
         req = urllib.request.Request(sys.argv[1])\n\
         for h in sys.argv[2].split('|'):\n    \
             if h: k, v = h.split(': ', 1); req.add_header(k, v)\n\
         r = urllib.request.urlopen(req, timeout=10)\n\
         sys.stdout.write(r.headers.get('Content-Type', '') + '\\n' + r.read().decode())\n";
    host.run_ok("python3", ["-c", script, url, headers]).ok()
}

fn scrape(host: &Host) -> String {
    get(host, METRICS, "")
        .map(|s| {
            s.split_once('\n')
                .map(|(_, b)| b.to_owned())
                .unwrap_or_default()
        })
        .unwrap_or_default()
}

/// The value of the series whose line starts with `series` (name and labels, exactly).
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// Scrapes until `series` has a value `ok` accepts; returns it, or panics after `timeout`.
fn wait_value(host: &Host, series: &str, timeout: Duration, ok: impl Fn(f64) -> bool) -> f64 {
    let mut last = String::new();
    let mut found = None;
    wait_until(timeout, Duration::from_millis(200), || {
        last = scrape(host);
        found = value(&last, series).filter(|v| ok(*v));
        found.is_some()
    });
    found.unwrap_or_else(|| panic!("{series} never as expected; last scrape:\n{last}"))
}

/// The raw answer to `request` sent on a TCP connection to the endpoint (status line first).
fn raw(host: &Host, request: &str) -> String {
    let script = "import socket, sys\n\
                  s = socket.create_connection(('127.0.0.1', 9165), timeout=10)\n\
                  s.sendall(sys.argv[1].encode('latin-1'))\n\
                  out = b''\n\
                  while True:\n    \
                      d = s.recv(65536)\n    \
                      if not d: break\n    \
                      out += d\n\
                  sys.stdout.write(out.decode('latin-1'))\n";
    host.run_ok("python3", ["-c", script, request])
        .unwrap_or_default()
}

fn have(program: &str) -> bool {
    std::process::Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn ours_conf() -> String {
    format!(
        "global_defs {{\n    router_id ours\n    metrics_listen 127.0.0.1:9165\n}}\n\
         vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    \
         priority 100\n    advert_int 1\n    authentication {{\n        auth_type PASS\n        \
         auth_pass secret1\n    }}\n    virtual_ipaddress {{\n        {VIP4}/24 dev eth0\n    }}\n    \
         virtual_ipaddress_excluded {{\n        198.51.100.77/24 dev eth0\n    }}\n}}\n\
         virtual_server 192.0.2.10 80 {{\n    delay_loop 1\n    protocol TCP\n    \
         real_server 127.0.0.1 18080 {{\n        TCP_CHECK {{\n            connect_timeout 1\n        \
         }}\n    }}\n}}\n"
    )
}

fn peer_conf(priority: u8, pass: &str) -> String {
    format!(
        "global_defs {{\n    router_id peer\n}}\n\
         vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    \
         priority {priority}\n    advert_int 1\n    authentication {{\n        auth_type PASS\n        \
         auth_pass {pass}\n    }}\n    virtual_ipaddress {{\n        {VIP4}/24 dev eth0\n    }}\n}}\n"
    )
}

/// Debian's Prometheus inside `host`, scraping ours every second, its data in `dir`.
fn prometheus(host: &Host, dir: &std::path::Path) -> LabChild {
    let conf = dir.join("prometheus.yml");
    std::fs::write(
        &conf,
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
         scrape_configs:\n  - job_name: keepalived\n    static_configs:\n      \
         - targets: ['127.0.0.1:9165']\n",
    )
    .expect("prometheus.yml");
    let log = std::fs::File::create(dir.join("prometheus.log")).expect("log");
    let mut cmd = host.command("prometheus");
    cmd.arg(format!("--config.file={}", conf.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg("--web.listen-address=127.0.0.1:9090")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
    LabChild::spawn(&mut cmd).expect("prometheus")
}

/// Prometheus's current value of `keepalived_vrrp_state` for the VIP.
fn prometheus_state(host: &Host) -> Option<f64> {
    let body = get(
        host,
        "http://127.0.0.1:9090/api/v1/query?query=keepalived_vrrp_state",
        "",
    )?;
    let json: serde_json::Value = serde_json::from_str(body.split_once('\n')?.1).ok()?;
    json["data"]["result"]
        .as_array()?
        .iter()
        .find(|r| r["metric"]["ip_address"] == VIP4)?["value"][1]
        .as_str()?
        .parse()
        .ok()
}

#[test]
fn metrics_follow_failover_bad_adverts_real_servers_and_a_real_prometheus() {
    if let Some(reason) = skip_reason_for(true, true) {
        eprintln!("skipped: {reason}");
        return;
    }
    if !have("prometheus") || !have("promtool") {
        eprintln!("skipped: Debian's prometheus package is not installed (scripts/test.sh)");
        return;
    }
    let net = two_hosts("kam");
    let (ha1, ha2) = (&net.hosts[0], &net.hosts[1]);
    let dir = TempDir::new("metrics");
    let www = dir.0.join("www");
    std::fs::create_dir_all(&www).expect("www");
    let mut server = crate::support::servers::http_server(ha1, &www, 18080);

    // keepalived masters first; ours comes up as backup.
    let mut peer = Router::keepalived(ha2, &peer_conf(200, "secret1"));
    let took = wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
        holders(&net.hosts, VIP4.parse().expect("vip")) == [1]
    });
    assert!(took.is_some(), "keepalived never became master");
    let mut ours = Daemon::start(ha1, &dir.0, "ours", &ours_conf(), &[]);
    let id = "{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\"";
    let state = format!("keepalived_vrrp_state{id},ip_address=\"{VIP4}\"}}");
    let become_master = format!("keepalived_become_master_total{id}}}");
    let received = format!("keepalived_advertisements_received_total{id}}}");
    wait_value(ha1, &received, Duration::from_secs(10), |v| v >= 2.0);
    let text = scrape(ha1);
    assert_eq!(value(&text, &state), Some(1.0), "backup\n{text}");
    assert_eq!(value(&text, &become_master), Some(0.0), "{text}");
    assert_eq!(value(&text, "keepalived_up"), Some(1.0), "{text}");

    let pdir = dir.0.join("prometheus");
    std::fs::create_dir_all(&pdir).expect("prometheus dir");
    let mut prom = prometheus(ha1, &pdir);
    let seen = wait_until(Duration::from_secs(30), Duration::from_millis(250), || {
        prometheus_state(ha1) == Some(1.0)
    });
    assert!(
        seen.is_some(),
        "Prometheus never scraped the backup state: {}",
        std::fs::read_to_string(pdir.join("prometheus.log")).unwrap_or_default()
    );

    // Failover: the keepalived master dies.
    peer.kill();
    let t0 = Instant::now();
    wait_value(ha1, &state, Duration::from_secs(10), |v| v == 2.0);
    println!(
        "metrics: master state scraped {} ms after the peer died",
        t0.elapsed().as_millis()
    );
    let text = scrape(ha1);
    assert_eq!(value(&text, &become_master), Some(1.0), "{text}");
    let excluded = format!("keepalived_vrrp_excluded_state{id},ip_address=\"198.51.100.77\"}}");
    assert_eq!(value(&text, &excluded), Some(2.0), "{text}");
    let in_prom = wait_until(Duration::from_secs(15), Duration::from_millis(250), || {
        prometheus_state(ha1) == Some(2.0)
    });
    assert!(
        in_prom.is_some(),
        "Prometheus never showed the master state"
    );
    println!(
        "metrics: Prometheus showed it {} ms after the peer died",
        t0.elapsed().as_millis()
    );

    // A peer with the wrong password: its adverts are counted as authentication failures.
    let failures = format!("keepalived_authentication_failure_total{id}}}");
    assert_eq!(value(&text, &failures), Some(0.0), "{text}");
    let mut bad = Router::keepalived(ha2, &peer_conf(50, "wrong2"));
    let n = wait_value(ha1, &failures, Duration::from_secs(10), |v| v >= 1.0);
    println!("metrics: {n} adverts with a wrong password counted");
    bad.kill();

    // The real server goes down.
    let rs = "{virtual_server=\"[192.0.2.10]:tcp:80\",real_server=\"[127.0.0.1]:tcp:18080\"}";
    let rs_up = format!("keepalived_lvs_real_server_up{rs}");
    wait_value(ha1, &rs_up, Duration::from_secs(5), |v| v == 1.0);
    let check = "{virtual_server=\"[192.0.2.10]:tcp:80\",real_server=\"[127.0.0.1]:tcp:18080\",\
                 check=\"TCP_CHECK\",check_index=\"0\"}";
    let runs = format!("keepalived_lvs_check_duration_seconds_count{check}");
    wait_value(ha1, &runs, Duration::from_secs(5), |v| v >= 1.0);
    server.kill();
    let t0 = Instant::now();
    wait_value(ha1, &rs_up, Duration::from_secs(10), |v| v == 0.0);
    println!(
        "metrics: real server down scraped {} ms after it stopped",
        t0.elapsed().as_millis()
    );

    // promtool accepts the text format.
    let text = scrape(ha1);
    let check_file = dir.0.join("scrape.txt");
    std::fs::write(&check_file, &text).expect("scrape file");
    let promtool = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("promtool check metrics < {}", check_file.display()))
        .output()
        .expect("promtool");
    assert!(
        promtool.status.success(),
        "promtool: {}{}\n{text}",
        String::from_utf8_lossy(&promtool.stdout),
        String::from_utf8_lossy(&promtool.stderr)
    );

    // A reload is counted with its outcome.
    let applied = "keepalived_reloads_total{outcome=\"applied\"}";
    assert_eq!(value(&text, applied), Some(0.0), "{text}");
    ours.child.signal("HUP").expect("SIGHUP");
    wait_value(ha1, applied, Duration::from_secs(10), |v| v == 1.0);
    let text = scrape(ha1);
    assert_eq!(
        value(&text, "keepalived_last_reload_success"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(&text, &state),
        Some(2.0),
        "still master after the reload\n{text}"
    );

    // OpenMetrics on request.
    let om = get(
        ha1,
        METRICS,
        "Accept: application/openmetrics-text; version=1.0.0",
    )
    .expect("om");
    assert!(om.starts_with("application/openmetrics-text"), "{om}");
    assert!(om.ends_with("# EOF\n"));

    // Bad requests: refused, and a silent client does not hold up a scrape.
    assert!(raw(ha1, "GET / HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404"));
    assert!(raw(ha1, "\u{16}\u{3}garbage\r\n\r\n").starts_with("HTTP/1.1 400"));
    let big = format!("GET /metrics HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(20_000));
    assert!(raw(ha1, &big).starts_with("HTTP/1.1 431"));
    let mut silent = ha1
        .spawn(
            "python3",
            [
                "-c",
                "import socket, time\ns = socket.create_connection(('127.0.0.1', 9165))\n\
                 s.send(b'GET /met')\ntime.sleep(30)\n",
            ],
        )
        .expect("silent client");
    std::thread::sleep(Duration::from_millis(300));
    let t0 = Instant::now();
    assert!(value(&scrape(ha1), "keepalived_up").is_some());
    let took = t0.elapsed();
    println!(
        "metrics: a scrape beside a silent client took {} ms",
        took.as_millis()
    );
    assert!(took < Duration::from_secs(2), "{took:?}");
    silent.kill();

    // A frozen engine: the scrape still answers, the engine is down in it.
    let checker = ours.checker_pid().expect("checker pid");
    let stop = |sig: &str| {
        let ok = std::process::Command::new("kill")
            .args(["-s", sig, &checker.to_string()])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill -s {sig}");
    };
    stop("STOP");
    let t0 = Instant::now();
    let text = scrape(ha1);
    let took = t0.elapsed();
    stop("CONT");
    println!(
        "metrics: a scrape with the checker frozen took {} ms",
        took.as_millis()
    );
    assert_eq!(
        value(&text, "keepalived_engine_up{engine=\"checker\"}"),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        value(&text, "keepalived_engine_up{engine=\"vrrp\"}"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(value(&text, "keepalived_up"), Some(0.0));
    assert!(
        value(
            &text,
            "keepalived_metrics_query_failures_total{engine=\"checker\"}"
        ) >= Some(1.0)
    );
    assert!(
        value(&text, &state).is_some(),
        "the VRRP part is there\n{text}"
    );
    assert!(took < Duration::from_secs(4), "{took:?}");
    wait_value(
        ha1,
        "keepalived_engine_up{engine=\"checker\"}",
        Duration::from_secs(5),
        |v| v == 1.0,
    );
    prom.kill();
}
