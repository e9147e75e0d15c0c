//! Tests of the checker driver: a reload keeps the state of unchanged checks and applies only
//! the difference to the balancer (on this host without IPVS: the changes the balancer makes
//! to its own table, counted).

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::*;
use crate::services::load::Loaded;

/// The driver running on a runtime of its own thread, as the test's handle.
struct Running {
    stats: Arc<CheckerStats>,
    stop: watch::Sender<bool>,
    reloads: mpsc::UnboundedSender<ReloadRequest>,
    thread: std::thread::JoinHandle<()>,
}

impl Running {
    fn start(config: Arc<Config>) -> Running {
        let stats = Arc::new(CheckerStats::default());
        let (stop, stop_rx) = watch::channel(false);
        let (reloads, reload_rx) = mpsc::unbounded_channel();
        let (_snapshot_tx, snapshots) = mpsc::unbounded_channel();
        let setup = Setup {
            config,
            options: Options::default(),
            stats: stats.clone(),
            snapshots,
            heartbeat: None,
        };
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(run(setup, stop_rx, reload_rx));
        });
        Running {
            stats,
            stop,
            reloads,
            thread,
        }
    }

    fn stats(&self) -> &CheckerStats {
        &self.stats
    }

    fn reload(&self, config: Arc<Config>) {
        let loaded = Loaded {
            config: Arc::unwrap_or_clone(config),
            plans: Vec::new(),
            statics: Default::default(),
            tracks: Default::default(),
            warnings: Vec::new(),
        };
        let (done, _answer) = tokio::sync::oneshot::channel();
        self.reloads
            .send(ReloadRequest { loaded, done })
            .expect("driver running");
    }

    fn stop(self) {
        let _ = self.stop.send(true);
        self.thread.join().expect("driver thread");
    }
}

fn conf(rs1_weight: u32, port1: u16, port2: u16) -> Arc<Config> {
    let text = format!(
        "virtual_server 192.0.2.100 80 {{
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 127.0.0.1 {port1} {{
        weight {rs1_weight}
        TCP_CHECK {{
            warmup 0
            delay_loop 1
            connect_timeout 1
            retry 0
        }}
    }}
    real_server 127.0.0.1 {port2} {{
        TCP_CHECK {{
            warmup 0
            delay_loop 1
            connect_timeout 1
            retry 0
        }}
    }}
}}
"
    );
    Arc::new(keepalived_config::read_str("t.conf", &text, &Default::default()).config)
}

fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_reload_changing_one_weight_is_one_change_and_keeps_a_failed_server_down() {
    let up = std::net::TcpListener::bind("127.0.0.1:0").expect("listener");
    let port1 = up.local_addr().expect("addr").port();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("listener");
    let port2 = closed.local_addr().expect("addr").port();
    drop(closed);
    let handle = Running::start(conf(1, port1, port2));
    let changes = || handle.stats().ipvs_changes.load(Ordering::Relaxed);
    // Add the service and both real servers; the second one's check fails: removed.
    wait_for(
        "the first table and the failed real server's removal",
        || changes() == 4,
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(changes(), 4, "nothing else changes while the checks run");

    handle.reload(conf(3, port1, port2));
    wait_for("the reload", || {
        handle.stats().reloads.load(Ordering::Relaxed) == 1 && changes() >= 5
    });
    // Two more check rounds: a reset state would have brought the failed server back first.
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(
        changes(),
        5,
        "one weight edit, the failed server stays removed"
    );

    // The same configuration again: nothing at all.
    handle.reload(conf(3, port1, port2));
    wait_for("the second reload", || {
        handle.stats().reloads.load(Ordering::Relaxed) == 2
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(changes(), 5);
    handle.stop();
    drop(up);
}

/// A virtual server with three real servers without checks (always up), the second one's
/// weight `w`.
fn static_conf(w: u32) -> Arc<Config> {
    let text = format!(
        "virtual_server 192.0.2.100 80 {{
    lb_algo wrr
    lb_kind NAT
    protocol TCP
    real_server 198.51.100.1 80 {{
        weight 1
    }}
    real_server 198.51.100.2 80 {{
        weight {w}
    }}
    real_server 198.51.100.3 80 {{
        weight 1
    }}
}}
"
    );
    Arc::new(keepalived_config::read_str("t.conf", &text, &Default::default()).config)
}

/// Runs inside the IPVS VM (see the next test): the checker thread programs the kernel, a
/// reload changes one weight, and exactly one netlink request goes out.
#[test]
#[ignore = "needs IPVS: run inside the VM by reload_in_the_vm_is_one_netlink_request"]
fn vm_inner_reload_counts_netlink_requests() {
    let handle = Running::start(static_conf(1));
    let stats = handle.stats();
    wait_for("the first table", || {
        stats.ipvs_changes.load(Ordering::Relaxed) == 4
    });
    let before = stats.ipvs_messages.load(Ordering::Relaxed);
    assert!(before >= 4, "IPVS is programmed: {before} messages");
    handle.reload(static_conf(5));
    wait_for("the reload", || {
        stats.reloads.load(Ordering::Relaxed) == 1
            && stats.ipvs_changes.load(Ordering::Relaxed) == 5
    });
    std::thread::sleep(Duration::from_millis(300));
    let sent = stats.ipvs_messages.load(Ordering::Relaxed) - before;
    println!("reload_messages={sent}");
    let listing = std::process::Command::new("ipvsadm")
        .arg("-Ln")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    println!("{listing}");
    assert_eq!(sent, 1, "one EditDest");
    handle.stop();
}

/// The daemon's own reload path against the real kernel: this test binary boots the IPVS VM
/// (lab::vm) with itself inside and runs the test above there.
#[test]
fn reload_in_the_vm_is_one_netlink_request() {
    let exe = std::env::current_exe().expect("test binary");
    let builder = lab::vm::VmBuilder::new().binary(exe, "/usr/bin/kars-unit");
    let Some(vm) = builder.build_or_skip().expect("building the VM") else {
        return;
    };
    let out = vm
        .run(
            "kars-unit --ignored --exact checker::driver::tests::vm_inner_reload_counts_netlink_requests \
             --nocapture --test-threads 1",
        )
        .expect("running the VM");
    assert_eq!(out.exit_code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("reload_messages=1"), "{}", out.stdout);
    let rows: Vec<String> = out
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| l.starts_with("TCP ") || l.starts_with("-> 198."))
        .collect();
    assert_eq!(
        rows,
        [
            "TCP 192.0.2.100:80 wrr",
            "-> 198.51.100.1:80 Masq 1 0 0",
            "-> 198.51.100.2:80 Masq 5 0 0",
            "-> 198.51.100.3:80 Masq 1 0 0",
        ],
        "{}",
        out.stdout
    );
}
