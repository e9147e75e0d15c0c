//! The checker engine process (keepalived's healthcheckers child, started by
//! [`crate::supervisor`]): reads and checks the configuration as `-t` does, sets up logging and
//! scheduling, and runs the [`super::driver`] as a task on a one-thread runtime until SIGTERM or
//! SIGINT; SIGHUP reloads ([`Reloader`], as the VRRP engine does), SIGUSR1 writes the data dump
//! ([`Dumper`]).

use std::sync::Arc;

use keepalived_config::PreprocessOptions;
use tracing::error;

use super::driver::{CheckerStats, Options, Setup};
use super::snapshot;
use crate::services::cli::{Cli, Engine};
use crate::services::dump::Dumper;
use crate::services::engine_loop::{self, EXIT_START_FAILED};
use crate::services::load;
use crate::services::loader::Source;
use crate::services::{EXIT_CONFIG, addr_log, sched};

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
    let child_wait_time = setup.config.global.child_wait_time;
    engine_loop::serve(
        Engine::Checker,
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
