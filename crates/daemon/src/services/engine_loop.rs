//! The signal loop the checker and the BFD engine processes run around their driver task:
//! SIGTERM / SIGINT stop the driver (within `child_wait_time`, a little before the parent's
//! SIGKILL), SIGHUP asks the [`Reloader`], SIGUSR1 writes the data dump; SIGUSR2 and the JSON
//! signal (the VRRP engine's) are caught so that they never end the process. Readiness is
//! reported once the driver runs.

use std::fmt::Display;
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

use super::cli::Engine;
use super::dump::{DumpKind, DumpSource, Dumper};
use super::heartbeat::Responder;
use super::loader::{ReloadRequest, Reloader, Source};
use super::{ready, signals};

/// Exit code when the engine cannot start (no signal handlers) or its driver failed.
pub const EXIT_START_FAILED: i32 = 1;

/// Runs `engine`'s process until it is told to stop: `start` spawns the driver with the
/// watchdog's heartbeat, the stop flag and the reloads; returns the process's exit code.
pub async fn serve<S, R>(
    engine: Engine,
    child_wait_time: Duration,
    dumper: Dumper<S>,
    source: Source,
    start: impl FnOnce(
        Option<Responder>,
        watch::Receiver<bool>,
        mpsc::UnboundedReceiver<ReloadRequest<R>>,
    ) -> JoinHandle<()>,
) -> i32
where
    S: DumpSource,
    R: Display + Send + 'static,
{
    let signals = signals::main_signals().and_then(|(term, int, hup)| {
        signals::catch_dump_signals();
        Ok((term, int, hup, signal(SignalKind::user_defined1())?))
    });
    let (mut term, mut int, mut hup, mut usr1) = match signals {
        Ok(s) => s,
        Err(e) => {
            error!("cannot install signal handlers: {e}");
            return EXIT_START_FAILED;
        }
    };
    let stop_within = signals::stop_timeout(child_wait_time);
    let (stop_tx, stop_rx) = watch::channel(false);
    let (reload_tx, reload_rx) = mpsc::unbounded_channel();
    let reloader = Reloader::spawn(engine, source, reload_tx);
    // The watchdog's heartbeat, answered by the driver's loop (see `services::heartbeat`).
    let mut driver = start(Responder::connect(engine), stop_rx, reload_rx);
    ready::report(engine);
    let title = engine.title();
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = hup.recv() => reloader.request(),
            _ = usr1.recv() => dumper.request(DumpKind::Data),
            done = &mut driver => {
                if let Err(e) = done {
                    error!("{title} engine failed: {e}");
                    return EXIT_START_FAILED;
                }
                warn!("{title} engine ended");
                return 0;
            }
        }
    }
    info!("Stopping");
    let _ = stop_tx.send(true);
    if tokio::time::timeout(stop_within, driver).await.is_err() {
        warn!("{title} engine did not stop within {stop_within:?}");
    }
    info!("Stopped");
    0
}
