//! The signals every process handles alike: SIGTERM, SIGINT and SIGHUP as streams, the dump
//! signals an engine must survive, and how long an engine's own stop may take.

use std::time::Duration;

use tokio::signal::unix::{Signal, SignalKind, signal};
use tracing::warn;

use super::cli::signum;

/// `--ignore-sigint`: SIGINT is caught and ignored in every process.
static IGNORE_SIGINT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Sets `--ignore-sigint` for this process (before [`main_signals`]).
pub fn set_ignore_sigint(ignore: bool) {
    IGNORE_SIGINT.store(ignore, std::sync::atomic::Ordering::Relaxed);
}

/// SIGTERM, SIGINT and SIGHUP as tokio streams (an engine's or the parent's main signals).
pub fn main_signals() -> std::io::Result<(Signal, Interrupt, Signal)> {
    Ok((
        signal(SignalKind::terminate())?,
        Interrupt {
            signal: signal(SignalKind::interrupt())?,
            ignore: IGNORE_SIGINT.load(std::sync::atomic::Ordering::Relaxed),
        },
        signal(SignalKind::hangup())?,
    ))
}

/// SIGINT, which stops the process unless `--ignore-sigint` (then it is caught and dropped).
#[derive(Debug)]
pub struct Interrupt {
    signal: Signal,
    ignore: bool,
}

impl Interrupt {
    /// The next SIGINT that counts (never, with `--ignore-sigint`).
    pub async fn recv(&mut self) -> Option<()> {
        loop {
            let got = self.signal.recv().await;
            if !self.ignore || got.is_none() {
                return got;
            }
        }
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
