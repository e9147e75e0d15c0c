//! The engine processes' side of supervision: the entry of `--engine=vrrp|checker`, the
//! checker process's own loop, and the signals every engine must survive.
//!
//! The parent starts each engine with the parent-death signal SIGTERM already set (before the
//! exec, [`keepalived_net::prepare_child`]), so an engine never outlives its parent: it stops
//! cleanly when the parent dies. [`run`] sets it again for an engine started by hand.
// Built without `lvs` the checker engine below is left out, and with it most imports.
#![cfg_attr(not(feature = "lvs"), allow(unused_imports))]

use std::sync::Arc;
use std::time::Duration;

use keepalived_config::{Config, PreprocessOptions};
use nix::sys::signal::Signal;
use tokio::signal::unix::{SignalKind, signal};
use tracing::{error, info, warn};

#[cfg(feature = "lvs")]
use crate::checker::{self, CheckerHandle};
use crate::cli::{Cli, Engine, signum};
use crate::dump::{DumpKind, Dumper};
use crate::supervisor::{EXIT_CONFIG, ready};
use crate::vrrp;

/// How long the checker engine waits for its checker thread to apply a reload before it tells
/// the parent the reload is over anyway.
#[cfg(feature = "lvs")]
const RELOAD_APPLY_WAIT: Duration = Duration::from_secs(10);

/// The environment variable holding the supervising parent's pid.
pub const ENV_PARENT: &str = "KEEPALIVED_RS_SUPERVISOR";

/// Runs the engine process `engine`; returns its exit code.
pub fn run(engine: Engine, cli: &Cli, opts: &PreprocessOptions) -> i32 {
    let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGTERM);
    let parent = std::env::var(ENV_PARENT)
        .ok()
        .and_then(|p| p.parse::<u32>().ok());
    if let Some(parent) = parent {
        // The parent died before the death signal was set: stop at once.
        if u32::try_from(nix::unistd::getppid().as_raw()).ok() != Some(parent) {
            return 0;
        }
    }
    // The same seed as the parent: a config using random values reads the same in every process.
    let mut opts = opts.clone();
    if let Some(parent) = parent {
        opts.random_seed = u64::from(parent);
    }
    match engine {
        Engine::Vrrp if cfg!(feature = "vrrp") => vrrp::run(cli, &opts),
        #[cfg(feature = "lvs")]
        Engine::Checker => run_checker(cli, &opts),
        #[allow(unreachable_patterns)]
        _ => crate::features::not_built(engine),
    }
}

/// How long an engine's own clean stop may take: a fifth less than `child_wait_time`, after
/// which the parent sends SIGKILL, so the engine ends (and logs it) before it is killed.
pub fn stop_timeout(child_wait_time: Duration) -> Duration {
    child_wait_time.mul_f32(0.8)
}

/// Installs handlers for SIGUSR1, SIGUSR2 and keepalived's JSON and STATS_CLEAR signals, which
/// the parent forwards: their default action would end the process. Must be called inside a
/// tokio runtime; the handlers stay for the life of the process.
pub fn catch_dump_signals() {
    let mut kinds = vec![SignalKind::user_defined1(), SignalKind::user_defined2()];
    kinds.extend(
        ["JSON", "STATS_CLEAR"]
            .into_iter()
            .filter_map(signum)
            .map(SignalKind::from_raw),
    );
    for kind in kinds {
        // tokio keeps the handler installed after the stream is dropped.
        if let Err(e) = signal(kind) {
            warn!("cannot handle signal {}: {e}", kind.as_raw_value());
        }
    }
}

/// The checker process: reads and checks the configuration, runs the checks
/// ([`checker::start_with`]) until SIGTERM or SIGINT; SIGHUP reads and checks the configuration
/// again and hands it to [`CheckerHandle::reload`] (an invalid one is logged with its place
/// and the running one kept).
#[cfg(feature = "lvs")]
pub fn run_checker(cli: &Cli, opts: &PreprocessOptions) -> i32 {
    let Some(checked) = vrrp::check_at_start(&cli.use_file, opts) else {
        return EXIT_CONFIG;
    };
    vrrp::log::init(
        &vrrp::log_target(cli, "Keepalived_healthcheckers"),
        cli.log_detail,
    );
    info!(
        "Healthcheck child process started (pid {})",
        std::process::id()
    );
    for line in &checked.warnings {
        warn!("{line}");
    }
    let config = Arc::new(checked.config);
    let wait = config.global.child_wait_time;
    // Before the runtime and the checker thread start, so that both inherit it.
    crate::process_sched::apply("checker", &config.global.defs.checker_process, None);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            error!("cannot start the runtime: {e}");
            return 1;
        }
    };
    let options = checker::Options {
        release_ipvs: !cli.dont_release_ipvs,
    };
    let handle = checker::start_with(config.clone(), options);
    let handle = runtime.block_on(checker_loop(cli, opts, config, handle));
    if let Some(handle) = handle {
        // The parent kills us after child_wait_time: stop a little sooner.
        handle.stop(stop_timeout(wait));
    }
    info!("Stopped");
    0
}

/// Waits for signals; returns the handle to stop.
#[cfg(feature = "lvs")]
async fn checker_loop(
    cli: &Cli,
    opts: &PreprocessOptions,
    mut config: Arc<Config>,
    mut handle: Option<CheckerHandle>,
) -> Option<CheckerHandle> {
    catch_dump_signals();
    // SIGUSR1 writes the checker's data dump (keepalived_check.data); SIGUSR2 and the JSON
    // signal are the VRRP engine's (caught above so that they never end this process).
    let mut usr1 = match signal(SignalKind::user_defined1()) {
        Ok(s) => s,
        Err(e) => {
            error!("cannot install signal handlers: {e}");
            return handle;
        }
    };
    let (mut term, mut int, mut hup) = match vrrp::main_signals() {
        Ok(s) => s,
        Err(e) => {
            error!("cannot install signal handlers: {e}");
            return handle;
        }
    };
    ready::report(Engine::Checker);
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = usr1.recv() => {
                let snapshots = handle.as_ref().map(CheckerHandle::snapshots);
                Dumper::new(&config.global.defs, None, snapshots).request(DumpKind::Data);
            }
            _ = hup.recv() => {
                info!("Reloading");
                let (path, opts) = (cli.use_file.clone(), opts.clone());
                let checked = tokio::task::spawn_blocking(move || vrrp::check(&path, &opts)).await;
                match checked {
                    Ok(Ok(c)) => {
                        for line in &c.warnings {
                            warn!("{line}");
                        }
                        config = Arc::new(c.config);
                        match &handle {
                            Some(h) => {
                                // Reported once the checker thread has applied it.
                                let applied = h.reload_applied(config.clone(), RELOAD_APPLY_WAIT);
                                tokio::spawn(async move {
                                    if !applied.await {
                                        warn!("reload: the checkers did not apply it within {RELOAD_APPLY_WAIT:?}");
                                    }
                                    ready::report_reloaded(Engine::Checker);
                                });
                                continue;
                            }
                            None => handle = checker::start_with(config.clone(), checker::Options {
                                release_ipvs: !cli.dont_release_ipvs,
                            }),
                        }
                    }
                    Ok(Err(rendered)) => {
                        for line in &rendered {
                            error!("{line}");
                        }
                        error!("reload: {} has errors; keeping the running configuration", cli.use_file.display());
                    }
                    Err(e) => error!("reload failed: {e}"),
                }
                // Refused, or the checks started afresh: the parent may tell systemd READY=1
                // once every engine has said so.
                ready::report_reloaded(Engine::Checker);
            }
        }
    }
    info!("Stopping");
    handle
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_engine_stops_before_the_parent_kills_it() {
        for secs in [1, 5, 30] {
            let wait = Duration::from_secs(secs);
            let own = stop_timeout(wait);
            assert!(own < wait && own >= wait / 2, "{own:?} for {wait:?}");
        }
        assert_eq!(stop_timeout(Duration::from_secs(5)), Duration::from_secs(4));
    }
}
