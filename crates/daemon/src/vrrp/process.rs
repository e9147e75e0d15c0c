//! The VRRP engine process (keepalived's VRRP child, started by [`crate::supervisor`]): reads
//! and checks the configuration as `-t` does ([`load`]), removes what a predecessor left, sets
//! up logging and scheduling, and runs the [`super::driver`] as a task on a one-thread runtime
//! until SIGTERM or SIGINT; SIGHUP reloads ([`Reloader`]), the dump signals write the dumps
//! ([`Dumper`]).

use keepalived_config::PreprocessOptions;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;
use tracing::{error, info, warn};

use super::driver::{Clock, Setup};
use crate::services::cli::{Cli, Engine, signum};
use crate::services::dump::{DumpKind, Dumper};
use crate::services::heartbeat::Responder;
use crate::services::load::{self, Loaded};
use crate::services::loader::{Reloader, Source};
use crate::services::{EXIT_CONFIG, addr_log, ready, sched, signals};

/// Exit code when the engine cannot start (no runtime, no permission).
const EXIT_START_FAILED: i32 = 1;

/// Runs the VRRP engine process (started by the supervising parent, see
/// [`crate::supervisor`]); returns the process exit code ([`EXIT_CONFIG`]
/// when the configuration cannot be run).
pub fn run(cli: &Cli, opts: &PreprocessOptions) -> i32 {
    let Some(checked) = load::engine_start(cli, opts, "Keepalived_vrrp", "vrrp", "VRRP") else {
        return EXIT_CONFIG;
    };
    let Loaded {
        config,
        plans,
        statics,
        tracks,
        ..
    } = checked;

    // Whatever a predecessor left (it crashed, or was killed): gone before any instance starts,
    // so this engine holds no address while it is BACKUP.
    if !plans.is_empty() {
        super::cleanup::remove_leftovers(&plans);
    }
    sched::apply(
        "vrrp",
        &config.global.defs.vrrp_process,
        Some(sched::VRRP_SLICE),
    );
    // One thread, like keepalived's VRRP process: under CPU contention a single thread woken by
    // its timerfd had a smaller worst-case failover delay than two workers (vrrp-bench --load).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    // This process answers the dumps of the VRRP engine; the checker process writes its own.
    let (snapshot_tx, snapshot_rx) = tokio::sync::mpsc::unbounded_channel();
    let dumper = Dumper::new(
        &config.global.defs,
        super::snapshot::Source::new(snapshot_tx.clone()),
    );
    let snmp_source = super::snapshot::Source::new(snapshot_tx);
    let config = std::sync::Arc::new(config);
    let source = Source {
        path: cli.use_file.clone(),
        opts: opts.clone(),
    };
    match runtime {
        Ok(rt) => {
            if cli.address_monitoring {
                let _entered = rt.enter();
                addr_log::spawn(addr_log::Style::Vrrp);
            }
            rt.block_on(serve(
                Setup {
                    tracks,
                    plans,
                    statics,
                    release: !cli.dont_release_vrrp,
                    config,
                    snapshots: Some(snapshot_rx),
                    heartbeat: None,
                    dumper: Some(dumper.clone()),
                },
                dumper,
                source,
                snmp_source,
            ))
        }
        Err(e) => {
            error!("cannot start the runtime: {e}");
            EXIT_START_FAILED
        }
    }
}

async fn serve(
    setup: Setup,
    dumper: Dumper<super::snapshot::Source>,
    source: Source,
    snmp_source: super::snapshot::Source,
) -> i32 {
    let (mut term, mut int, mut hup) = match signals::main_signals() {
        Ok(s) => s,
        Err(e) => {
            error!("cannot install signal handlers: {e}");
            return EXIT_START_FAILED;
        }
    };
    // STATS_CLEAR (and the dump signals) must never end this process.
    signals::catch_dump_signals();
    // SIGUSR1: data dump; SIGUSR2: statistics; keepalived's JSON signal: the JSON dump.
    let json_signal = signum("JSON").unwrap_or(36);
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
    let stop_within = signals::stop_timeout(setup.config.global.child_wait_time);
    let (stop_tx, stop_rx) = watch::channel(false);
    let clock = Clock::new();
    // The watchdog's heartbeat, answered by the driver's loop (see `services::heartbeat`).
    let mut setup = setup;
    setup.heartbeat = Responder::connect(Engine::Vrrp);
    let (reload_tx, reload_rx) = tokio::sync::mpsc::unbounded_channel();
    let reloader = Reloader::spawn(Engine::Vrrp, source, reload_tx);
    let snmp = start_snmp(&setup, snmp_source);
    let mut engine = tokio::spawn(super::driver::run(setup, clock, stop_rx, reload_rx));
    ready::report(Engine::Vrrp);
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = hup.recv() => reloader.request(),
            _ = usr1.recv() => dumper.request(DumpKind::Data),
            _ = usr2.recv() => dumper.request(DumpKind::Stats),
            _ = json.recv() => dumper.request(DumpKind::Json),
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
    if let Some(agent) = snmp {
        agent.abort();
    }
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

/// Starts the AgentX subagent of KEEPALIVED-MIB's global and VRRP objects, with
/// `enable_snmp_vrrp` (or `enable_snmp_keepalived`).
fn start_snmp(
    setup: &Setup,
    source: super::snapshot::Source,
) -> Option<tokio::task::JoinHandle<()>> {
    let config = setup.config.clone();
    let snmp = &config.global.defs.snmp;
    if !snmp.vrrp {
        return None;
    }
    let socket = snmp
        .socket
        .clone()
        .unwrap_or_else(|| crate::services::snmp::DEFAULT_SOCKET.to_owned());
    let order: Vec<String> = setup.plans.iter().map(|p| p.cfg.name.clone()).collect();
    let view = move || {
        let (config, order, source) = (config.clone(), order.clone(), source.clone());
        async move {
            match source.snapshot().await {
                Some(snap) => super::snmp::view(&config, &order, &snap),
                None => keepalived_agentx::View::new(),
            }
        }
    };
    Some(tokio::spawn(crate::services::snmp::serve(
        socket,
        "vrrp",
        super::snmp::subtrees(),
        view,
    )))
}
