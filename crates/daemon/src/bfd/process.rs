//! The BFD engine process (keepalived's BFD child, started by [`crate::supervisor`] unless
//! `-B`): reads and checks the configuration as `-t` does, sets up logging and scheduling
//! (`bfd_priority`, `bfd_rt_priority`, ...), and runs the [`super::driver`] as a task on a
//! one-thread runtime until SIGTERM or SIGINT; SIGHUP reloads, SIGUSR1 writes
//! `keepalived_bfd.data` (or where `state_dump_file` says).

use std::sync::Arc;

use keepalived_config::PreprocessOptions;
use tracing::error;

use super::driver::Setup;
use super::snapshot;
use crate::services::cli::{Cli, Engine};
use crate::services::dump::Dumper;
use crate::services::engine_loop::{self, EXIT_START_FAILED};
use crate::services::load;
use crate::services::loader::Source;
use crate::services::{EXIT_CONFIG, sched};

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
    let dumper = Dumper::new(
        &config.global.defs,
        snapshot::Source::new(snapshot_tx, &config.global.defs),
    );
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
    let child_wait_time = setup.config.global.child_wait_time;
    engine_loop::serve(
        Engine::Bfd,
        child_wait_time,
        dumper,
        source,
        |heartbeat, stop, reloads| {
            let setup = Setup { heartbeat, ..setup };
            tokio::spawn(super::driver::run(setup, stop, reloads))
        },
    )
    .await
}
