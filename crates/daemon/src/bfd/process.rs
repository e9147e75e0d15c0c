//! The BFD engine process (keepalived's BFD child, started by [`crate::supervisor`] unless
//! `-B`): reads and checks the configuration as `-t` does, sets up logging and scheduling
//! (`bfd_priority`, `bfd_rt_priority`, ...), and runs the [`super::driver`] as a task on a
//! one-thread runtime until SIGTERM or SIGINT; SIGHUP reloads, SIGUSR1 writes
//! `keepalived_bfd.data`.

use std::sync::Arc;

use keepalived_config::PreprocessOptions;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;
use tracing::{error, info, warn};

use super::driver::Setup;
use super::snapshot;
use crate::services::cli::{Cli, Engine};
use crate::services::dump::{DumpKind, Dumper};
use crate::services::heartbeat::Responder;
use crate::services::load;
use crate::services::loader::{Reloader, Source};
use crate::services::{EXIT_CONFIG, ready, sched, signals};

/// Exit code when the engine cannot start (no runtime, no signal handlers).
const EXIT_START_FAILED: i32 = 1;

/// Runs the BFD engine process; returns the process exit code ([`EXIT_CONFIG`] when the
/// configuration cannot be run).
pub fn run(cli: &Cli, opts: &PreprocessOptions) -> i32 {
    let Some(checked) = load::engine_start(cli, opts, "Keepalived_bfd", "bfd", "BFD") else {
        return EXIT_CONFIG;
    };
    let config = Arc::new(checked.config);
    // Before the runtime starts, so that every thread it makes inherits it. Like the VRRP
    // engine, a short EEVDF slice (the kernel's minimum): a session's packet or expiry then
    // preempts a CPU-bound process at once, with no priority over it.
    sched::apply(
        "bfd",
        &config.global.defs.bfd_process,
        Some(std::time::Duration::from_micros(100)),
    );
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
        snapshots,
        heartbeat: None,
    };
    let source = Source {
        path: cli.use_file.clone(),
        opts: opts.clone(),
    };
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
    // process.
    signals::catch_dump_signals();
    let mut usr1 = match signal(SignalKind::user_defined1()) {
        Ok(s) => s,
        Err(e) => {
            error!("cannot install signal handlers: {e}");
            return EXIT_START_FAILED;
        }
    };
    let stop_within = signals::stop_timeout(setup.config.global.child_wait_time);
    let (stop_tx, stop_rx) = watch::channel(false);
    let (reload_tx, reload_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut setup = setup;
    setup.heartbeat = Responder::connect(Engine::Bfd);
    let reloader = Reloader::spawn(Engine::Bfd, source, reload_tx);
    let mut driver = tokio::spawn(super::driver::run(setup, stop_rx, reload_rx));
    ready::report(Engine::Bfd);
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = hup.recv() => reloader.request(),
            _ = usr1.recv() => dumper.request(DumpKind::Data),
            done = &mut driver => {
                if let Err(e) = done {
                    error!("BFD engine failed: {e}");
                    return EXIT_START_FAILED;
                }
                warn!("BFD engine ended");
                return 0;
            }
        }
    }
    info!("Stopping");
    let _ = stop_tx.send(true);
    if tokio::time::timeout(stop_within, driver).await.is_err() {
        warn!("BFD did not stop within {stop_within:?}");
    }
    info!("Stopped");
    0
}
