//! The VRRP engine process (keepalived's VRRP child, started by [`crate::supervisor`]).
//!
//! [`run`] reads and checks the configuration as `-t` does ([`check`], which the parent also
//! uses before it starts anything and on reload), converts each `vrrp_instance` ([`convert`]),
//! sets up logging ([`log`]) and runs the tokio [`driver`] until SIGTERM or SIGINT; SIGHUP
//! reloads ([`reload`]). [`cleanup`] removes what a dead engine left behind.

pub mod cleanup;
pub mod convert;
pub mod driver;
pub mod link;
pub mod load;
pub mod log;
pub mod netops;
pub mod notify;
pub mod reload;
mod reload_apply;
pub mod snapshot;
#[cfg(feature = "lvs-syncd")]
pub mod syncd;
#[cfg(not(feature = "lvs-syncd"))]
#[path = "syncd_off.rs"]
pub mod syncd;
pub mod timer;
pub mod track_file;
pub mod track_ids;
pub mod track_link;
pub mod track_log;
pub mod track_plan;
pub mod track_process;
pub mod track_script;
pub mod trackers;
pub mod vmac;

use std::collections::BTreeMap;
use std::path::Path;

use keepalived_config::PreprocessOptions;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::watch;
use tracing::{error, info, warn};

use crate::cli::Cli;
use convert::IfFacts;

/// Exit code when the engine cannot start (no runtime, no permission).
const EXIT_START_FAILED: i32 = 1;

/// A configuration read and checked in full, ready for the VRRP engine.
pub use load::Loaded as Checked;

/// Reads `path` and checks it as `-t` does, against this host's interfaces, and converts the
/// VRRP instances ([`load::load`], also used on reload). On errors, returns every diagnostic
/// rendered with its file, line and column.
///
/// # Errors
/// The rendered diagnostics when the configuration cannot be run.
pub fn check(path: &Path, opts: &PreprocessOptions) -> Result<Checked, Vec<String>> {
    load::load(path, opts).map_err(|refused| refused.lines)
}

/// [`check`] at start-up: on errors, prints every diagnostic and "not starting" on stderr and
/// returns `None` (the caller exits with its own code).
pub fn check_at_start(path: &Path, opts: &PreprocessOptions) -> Option<Checked> {
    match check(path, opts) {
        Ok(c) => Some(c),
        Err(rendered) => {
            for line in &rendered {
                eprintln!("{line}");
            }
            eprintln!(
                "keepalived-rs: not starting: {} cannot be run (see above)",
                path.display()
            );
            None
        }
    }
}

/// SIGTERM, SIGINT and SIGHUP as tokio streams (an engine's or the parent's main signals).
pub fn main_signals() -> std::io::Result<(Signal, Signal, Signal)> {
    Ok((
        signal(SignalKind::terminate())?,
        signal(SignalKind::interrupt())?,
        signal(SignalKind::hangup())?,
    ))
}

/// The log target of `-l` / `-G` / `-S`, for the process whose syslog ident is `ident`.
pub fn log_target(cli: &Cli, ident: &'static str) -> log::Target {
    if cli.log_console || cli.no_syslog {
        log::Target::Console
    } else {
        log::Target::Syslog {
            facility: log::facility(cli.log_facility.as_deref()),
            ident,
        }
    }
}

/// Runs the VRRP engine process (started by the supervising parent, see
/// [`crate::supervisor`]); returns the process exit code ([`crate::supervisor::EXIT_CONFIG`]
/// when the configuration cannot be run).
pub fn run(cli: &Cli, opts: &PreprocessOptions) -> i32 {
    let Some(checked) = check_at_start(&cli.use_file, opts) else {
        return crate::supervisor::EXIT_CONFIG;
    };
    log::init(&log_target(cli, "Keepalived_vrrp"), cli.log_detail);
    info!("VRRP child process started (pid {})", std::process::id());
    for line in &checked.warnings {
        warn!("{line}");
    }
    let Checked {
        config,
        plans,
        statics,
        tracks,
        ..
    } = checked;

    // Whatever a predecessor left (it crashed, or was killed): gone before any instance starts,
    // so this engine holds no address while it is BACKUP.
    if !plans.is_empty() {
        cleanup::remove_leftovers(&plans);
    }
    crate::process_sched::apply(
        "vrrp",
        &config.global.defs.vrrp_process,
        Some(crate::process_sched::VRRP_SLICE),
    );
    // One thread, like keepalived's VRRP process: under CPU contention a single thread woken by
    // its timerfd had a smaller worst-case failover delay than two workers (vrrp-bench --load).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    // This process answers the dumps of the VRRP engine; the checker process writes its own.
    let (snapshot_tx, snapshot_rx) = tokio::sync::mpsc::unbounded_channel();
    let dumper = crate::dump::Dumper::new(&config.global.defs, Some(snapshot_tx), None);
    let config = std::sync::Arc::new(config);
    let source = reload::Source {
        path: cli.use_file.clone(),
        opts: opts.clone(),
    };
    match runtime {
        Ok(rt) => rt.block_on(serve(
            driver::Setup {
                tracks,
                plans,
                statics,
                release: !cli.dont_release_vrrp,
                config,
                snapshots: Some(snapshot_rx),
            },
            dumper,
            source,
        )),
        Err(e) => {
            error!("cannot start the runtime: {e}");
            EXIT_START_FAILED
        }
    }
}

async fn serve(setup: driver::Setup, dumper: crate::dump::Dumper, source: reload::Source) -> i32 {
    let (mut term, mut int, mut hup) = match main_signals() {
        Ok(s) => s,
        Err(e) => {
            error!("cannot install signal handlers: {e}");
            return EXIT_START_FAILED;
        }
    };
    // STATS_CLEAR (and the dump signals) must never end this process.
    crate::supervisor::engine::catch_dump_signals();
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
    // keepalived's child_wait_time bounds the whole stop: the parent sends SIGKILL after it, so
    // the engine gives up a little sooner.
    let stop_within = crate::supervisor::engine::stop_timeout(setup.config.global.child_wait_time);
    let (stop_tx, stop_rx) = watch::channel(false);
    let clock = driver::Clock::new();
    let (reload_tx, reload_rx) = tokio::sync::mpsc::unbounded_channel();
    let reloader = reload::Reloader::spawn(source, reload_tx);
    let mut engine = tokio::spawn(driver::run(setup, clock, stop_rx, reload_rx));
    crate::supervisor::ready::report(crate::cli::Engine::Vrrp);
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = hup.recv() => reloader.request(),
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
    // The engine's stop (priority-0 adverts, addresses, notify scripts) gets `stop_within`.
    let code = match tokio::time::timeout(stop_within, engine).await {
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
            warn!("VRRP engine did not stop within {stop_within:?}");
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
