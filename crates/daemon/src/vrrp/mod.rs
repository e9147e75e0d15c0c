//! Running the VRRP engine: `keepalived-rs -n -l -f FILE`.
//!
//! [`run`] reads and checks the configuration as `-t` does (and refuses to start on errors),
//! converts each `vrrp_instance` ([`convert`]), sets up logging ([`log`]), writes the pid files,
//! and runs the tokio [`driver`] until SIGTERM or SIGINT; SIGHUP (reload) is only logged for now.

pub mod convert;
pub mod driver;
pub mod link;
pub mod log;
pub mod netops;
pub mod notify;
pub mod sched;
pub mod snapshot;
pub mod timer;
pub mod track_file;
pub mod track_link;
pub mod track_plan;
pub mod track_process;
pub mod track_script;
pub mod vmac;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use keepalived_config::{DiagKind, PreprocessOptions, host};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;
use tracing::{error, info, warn};

use crate::cli::Cli;
use crate::config_test::gather_host_facts;
use convert::IfFacts;

/// Exit code when the daemon cannot start (bad configuration, no permission).
const EXIT_START_FAILED: i32 = 1;

/// Runs the daemon; returns the process exit code.
pub fn run(cli: &Cli, opts: &PreprocessOptions) -> i32 {
    let mut read = keepalived_config::read_file(&cli.use_file, opts);
    let facts = gather_host_facts();
    host::check(&read.config, &facts, &mut read.diagnostics);
    // A missing interface does not stop the daemon: its instances start in FAULT.
    let blocking = read.diagnostics.items().iter().any(|d| {
        d.severity >= keepalived_config::Severity::Error && d.kind != DiagKind::MissingInterface
    });
    let if_facts = interface_facts();
    let mut plan_failed = false;
    let plans = match convert::plan(&read.config, &if_facts) {
        Ok(p) => p,
        Err(errors) => {
            plan_failed = true;
            for e in errors {
                read.diagnostics.error(e.loc, e.message);
            }
            Vec::new()
        }
    };
    let statics = match convert::plan_static(&read.config) {
        Ok(s) => s,
        Err(errors) => {
            plan_failed = true;
            for e in errors {
                read.diagnostics.error(e.loc, e.message);
            }
            convert::StaticPlan::default()
        }
    };
    let blocking = blocking || plan_failed || read.diagnostics.has_fatal();
    read.diagnostics.sort();
    let rendered = read.render_diagnostics();
    if blocking {
        for line in &rendered {
            eprintln!("{line}");
        }
        eprintln!(
            "keepalived-rs: not starting: {} has errors",
            cli.use_file.display()
        );
        return EXIT_START_FAILED;
    }

    let target = if cli.log_console || cli.no_syslog {
        log::Target::Console
    } else {
        log::Target::Syslog {
            facility: log::facility(cli.log_facility.as_deref()),
        }
    };
    log::init(&target, cli.log_detail);
    info!("Starting keepalived-rs {}", env!("CARGO_PKG_VERSION"));
    info!("Configuration file {}", cli.use_file.display());
    for line in &rendered {
        warn!("{line}");
    }

    if let Err(e) = crate::caps::check(&read.config) {
        error!("{e}");
        if !matches!(target, log::Target::Console) {
            eprintln!("keepalived-rs: {e}");
        }
        return EXIT_START_FAILED;
    }

    let pid_files: Vec<PathBuf> = [&cli.pid, &cli.vrrp_pid]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    for path in &pid_files {
        if let Some(pid) = running_pid(path) {
            error!(
                "daemon is already running (pid {pid} in {})",
                path.display()
            );
            return EXIT_START_FAILED;
        }
    }
    for path in &pid_files {
        if let Err(e) = write_pid_file(path) {
            error!("cannot write pid file {}: {e}", path.display());
        }
    }

    sched::apply(&read.config.global.defs.vrrp_process);
    // One thread, like keepalived's VRRP process: under CPU contention a single thread woken by
    // its timerfd had a smaller worst-case failover delay than two workers (vrrp-bench --load).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let config = std::sync::Arc::new(read.config.clone());
    let checker = crate::checker::start(config.clone());
    let (snapshot_tx, snapshot_rx) = tokio::sync::mpsc::unbounded_channel();
    let dumper = crate::dump::Dumper::new(
        &read.config.global.defs,
        (!plans.is_empty()).then_some(snapshot_tx),
        checker
            .as_ref()
            .map(crate::checker::CheckerHandle::snapshots),
    );
    let code = match runtime {
        Ok(rt) => rt.block_on(serve(
            driver::Setup {
                tracks: track_plan::plan(&read.config, |name| {
                    plans
                        .iter()
                        .find(|p| p.cfg.name == name)
                        .and_then(|p| p.vmac.as_ref())
                        .map(|v| v.spec.name.clone())
                }),
                plans,
                statics,
                release: !cli.dont_release_vrrp,
                config,
                snapshots: Some(snapshot_rx),
            },
            dumper,
        )),
        Err(e) => {
            error!("cannot start the runtime: {e}");
            EXIT_START_FAILED
        }
    };
    if let Some(checker) = checker {
        checker.stop(Duration::from_secs(2));
    }
    for path in &pid_files {
        let _ = std::fs::remove_file(path);
    }
    code
}

async fn serve(setup: driver::Setup, dumper: crate::dump::Dumper) -> i32 {
    let signals = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    );
    let (mut term, mut int, mut hup) = match signals {
        (Ok(t), Ok(i), Ok(h)) => (t, i, h),
        _ => {
            error!("cannot install signal handlers");
            return EXIT_START_FAILED;
        }
    };
    // SIGUSR1: data dump; SIGUSR2: statistics; keepalived's JSON signal: the JSON dump.
    let json_signal = crate::cli::signum("JSON").unwrap_or(36);
    let dump_signals = (
        signal(SignalKind::user_defined1()),
        signal(SignalKind::user_defined2()),
        signal(SignalKind::from_raw(json_signal)),
    );
    let (mut usr1, mut usr2, mut json) = match dump_signals {
        (Ok(a), Ok(b), Ok(c)) => (a, b, c),
        _ => {
            error!("cannot install signal handlers");
            return EXIT_START_FAILED;
        }
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let clock = driver::Clock::new();
    let mut engine = tokio::spawn(driver::run(setup, clock, stop_rx));
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = hup.recv() => info!("Reload requested (SIGHUP): reload not yet implemented"),
            _ = usr1.recv() => dumper.request(crate::dump::DumpKind::Data),
            _ = usr2.recv() => dumper.request(crate::dump::DumpKind::Stats),
            _ = json.recv() => dumper.request(crate::dump::DumpKind::Json),
            done = &mut engine => {
                return match done {
                    Ok(Err(e)) => {
                        error!("{}", e.0);
                        EXIT_START_FAILED
                    }
                    _ => 0,
                };
            }
        }
    }
    info!("Stopping");
    let _ = stop_tx.send(true);
    // keepalived's child_wait_time: the engine's stop (priority-0 adverts, addresses, notify
    // scripts) gets this long.
    let code = match tokio::time::timeout(Duration::from_secs(5), engine).await {
        Ok(Ok(Ok(()))) => 0,
        Ok(Ok(Err(e))) => {
            error!("{}", e.0);
            EXIT_START_FAILED
        }
        Ok(Err(e)) => {
            error!("VRRP engine failed: {e}");
            EXIT_START_FAILED
        }
        Err(_) => {
            warn!("VRRP engine did not stop within 5 seconds");
            0
        }
    };
    info!("Stopped keepalived-rs {}", env!("CARGO_PKG_VERSION"));
    code
}

/// Interfaces and their addresses, from rtnetlink and /sys/class/net.
fn interface_facts() -> IfFacts {
    let mut facts = IfFacts::default();
    if let Ok(dir) = std::fs::read_dir("/sys/class/net") {
        for entry in dir.flatten() {
            facts
                .addrs
                .insert(entry.file_name().to_string_lossy().into_owned(), Vec::new());
        }
    }
    let mut names: BTreeMap<u32, String> = BTreeMap::new();
    if let Ok(mut rtnl) = keepalived_net::Rtnl::open()
        && let Ok(addrs) = rtnl.addrs(None)
    {
        for a in addrs {
            let name = names
                .entry(a.ifindex)
                .or_insert_with(|| keepalived_net::ifname(a.ifindex).unwrap_or_default());
            // Secondary addresses (IFA_F_SECONDARY) never serve as the advert source.
            if a.flags & 0x01 == 0 {
                facts.addrs.entry(name.clone()).or_default().push(a.addr);
            }
        }
    }
    facts
}

/// The pid in `path` if it names another live process (as keepalived, refuse to start then).
fn running_pid(path: &Path) -> Option<u32> {
    let pid: u32 = std::fs::read_to_string(path).ok()?.trim().parse().ok()?;
    (pid != std::process::id() && Path::new(&format!("/proc/{pid}")).exists()).then_some(pid)
}

fn write_pid_file(path: &Path) -> std::io::Result<()> {
    std::fs::write(path, format!("{}\n", std::process::id()))
}
