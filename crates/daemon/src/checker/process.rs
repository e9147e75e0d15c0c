//! The checker engine process (keepalived's healthcheckers child, started by
//! [`crate::supervisor`]): reads and checks the configuration as `-t` does, sets up logging and
//! scheduling, and runs the [`super::driver`] as a task on a one-thread runtime until SIGTERM or
//! SIGINT; SIGHUP reloads ([`Reloader`], as the VRRP engine does), SIGUSR1 writes the data dump
//! ([`Dumper`]).

use std::sync::Arc;

use keepalived_config::PreprocessOptions;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;
use tracing::{error, info, warn};

use super::driver::{CheckerStats, Options, Setup};
use super::snapshot;
use crate::services::cli::{Cli, Engine};
use crate::services::dump::{DumpKind, Dumper};
use crate::services::heartbeat::Responder;
use crate::services::load;
use crate::services::loader::{Reloader, Source};
use crate::services::{EXIT_CONFIG, addr_log, ready, sched, signals};

/// Exit code when the engine cannot start (no runtime, no signal handlers).
const EXIT_START_FAILED: i32 = 1;

/// Runs the checker engine process; returns the process exit code ([`EXIT_CONFIG`] when the
/// configuration cannot be run).
pub fn run(cli: &Cli, opts: &PreprocessOptions) -> i32 {
    let Some(checked) = load::engine_start(
        cli,
        opts,
        "Keepalived_healthcheckers",
        "check",
        "Healthcheck",
    ) else {
        return EXIT_CONFIG;
    };
    let config = Arc::new(checked.config);
    // Before the runtime starts, so that every thread it makes inherits it.
    sched::apply("checker", &config.global.defs.checker_process, None);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            error!("cannot start the runtime: {e}");
            return EXIT_START_FAILED;
        }
    };
    let (snapshot_tx, snapshots) = tokio::sync::mpsc::unbounded_channel();
    let dumper = Dumper::new(&config.global.defs, snapshot::Source::new(snapshot_tx));
    let setup = Setup {
        config,
        options: Options {
            release_ipvs: !cli.dont_release_ipvs,
        },
        stats: Arc::new(CheckerStats::default()),
        snapshots,
        heartbeat: None,
    };
    let source = Source {
        path: cli.use_file.clone(),
        opts: opts.clone(),
    };
    if cli.address_monitoring {
        let _entered = runtime.enter();
        addr_log::spawn(addr_log::Style::Checker);
    }
    runtime.block_on(serve(setup, dumper, source))
}

async fn serve(setup: Setup, dumper: Dumper<snapshot::Source>, source: Source) -> i32 {
    let (mut term, mut int, mut hup) = match signals::main_signals() {
        Ok(s) => s,
        Err(e) => {
            error!("cannot install signal handlers: {e}");
            return EXIT_START_FAILED;
        }
    };
    // SIGUSR2 and the JSON signal are the VRRP engine's: caught so that they never end this
    // process. SIGUSR1 writes the checker's data dump (keepalived_check.data).
    signals::catch_dump_signals();
    let mut usr1 = match signal(SignalKind::user_defined1()) {
        Ok(s) => s,
        Err(e) => {
            error!("cannot install signal handlers: {e}");
            return EXIT_START_FAILED;
        }
    };
    // The parent kills us after child_wait_time: stop a little sooner.
    let stop_within = signals::stop_timeout(setup.config.global.child_wait_time);
    let (stop_tx, stop_rx) = watch::channel(false);
    let (reload_tx, reload_rx) = tokio::sync::mpsc::unbounded_channel();
    // The watchdog's heartbeat, answered by the driver's loop (see `services::heartbeat`).
    let mut setup = setup;
    setup.heartbeat = Responder::connect(Engine::Checker);
    let reloader = Reloader::spawn(Engine::Checker, source, reload_tx);
    let mut driver = tokio::spawn(super::driver::run(setup, stop_rx, reload_rx));
    ready::report(Engine::Checker);
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = hup.recv() => reloader.request(),
            _ = usr1.recv() => dumper.request(DumpKind::Data),
            done = &mut driver => {
                if let Err(e) = done {
                    error!("checker engine failed: {e}");
                    return EXIT_START_FAILED;
                }
                warn!("checker engine ended");
                return 0;
            }
        }
    }
    info!("Stopping");
    let _ = stop_tx.send(true);
    if tokio::time::timeout(stop_within, driver).await.is_err() {
        warn!("checkers did not stop within {stop_within:?}");
    }
    info!("Stopped");
    0
}
