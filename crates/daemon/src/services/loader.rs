//! Reading a configuration on reload, the same way in every engine: [`Reloader`] (woken by
//! SIGHUP) logs "Reloading", reads and checks the whole file on the process's low-priority
//! loader thread ([`load_in_background`], [`super::load`]) and, if it can run, hands it to the
//! engine's driver, which applies only the difference and answers with a summary; then
//! "Reload finished in N usec". A configuration with errors is refused with its diagnostics
//! (file:line:col) and the running one stays. Requests arriving during a reload are queued and
//! coalesced: one more reload follows, whatever their number. The end of each reload, applied
//! or refused, is reported to the supervising parent ([`super::ready::report_reloaded`]).

use std::fmt::Display;
use std::path::PathBuf;

use keepalived_config::PreprocessOptions;
use keepalived_net::sched::SchedRequest;
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, error, info, warn};

use super::cli::Engine;
use super::load::{Loaded, Refused, load};
use super::ready;

/// Where the configuration comes from (`-f` and the preprocessor's options).
#[derive(Debug, Clone)]
pub struct Source {
    /// The configuration file.
    pub path: PathBuf,
    /// `-D`-style definitions and the like.
    pub opts: PreprocessOptions,
}

/// A checked configuration for an engine's driver to apply; it answers on `done` with what it
/// changed (`S`, logged as "Reload: S").
#[derive(Debug)]
pub struct ReloadRequest<S> {
    /// The new configuration.
    pub loaded: Loaded,
    /// Where the driver reports what it changed.
    pub done: oneshot::Sender<S>,
}

/// The handle of the reload task.
#[derive(Debug)]
pub struct Reloader {
    tx: mpsc::UnboundedSender<()>,
}

impl Reloader {
    /// Starts the reload task of `engine`: it reads `source` on each request and sends what can
    /// run to the driver on `driver`. Call inside a tokio runtime.
    pub fn spawn<S: Display + Send + 'static>(
        engine: Engine,
        source: Source,
        driver: mpsc::UnboundedSender<ReloadRequest<S>>,
    ) -> Reloader {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(reload_loop(engine, source, rx, driver));
        Reloader { tx }
    }

    /// Asks for a reload (returns at once; see the module documentation).
    pub fn request(&self) {
        if self.tx.send(()).is_err() {
            warn!("Reload requested (SIGHUP) while stopping; ignored");
        }
    }
}

/// A configuration to read on the reload thread, and where to answer.
type LoadJob = (Source, oneshot::Sender<Result<Loaded, Refused>>);

/// The process's reload thread, started on first use and kept: one long-lived thread rather
/// than one per reload, so a thousand reloads leave no abandoned thread heaps behind.
static LOADER: std::sync::Mutex<Option<std::sync::mpsc::Sender<LoadJob>>> =
    std::sync::Mutex::new(None);

/// The sender of the reload thread, starting it if needed.
fn loader() -> Result<std::sync::mpsc::Sender<LoadJob>, String> {
    let mut slot = LOADER
        .lock()
        .map_err(|_| "the reload thread's lock is poisoned")?;
    if let Some(tx) = slot.as_ref() {
        return Ok(tx.clone());
    }
    let (tx, rx) = std::sync::mpsc::channel::<LoadJob>();
    std::thread::Builder::new()
        .name("reload".into())
        .spawn(move || {
            let background = SchedRequest {
                nice: 19,
                rt_priority: None,
                slice: None,
            };
            if let Err(e) = keepalived_net::sched::apply(&background) {
                debug!("reload thread keeps the engine's scheduling: {e}");
            }
            while let Ok((src, answer)) = rx.recv() {
                let _ = answer.send(load(&src.path, &src.opts));
            }
        })
        .map_err(|e| format!("cannot start the reload thread: {e}"))?;
    *slot = Some(tx.clone());
    Ok(tx)
}

/// Runs [`load`] on the process's reload thread, at the lowest CPU priority (nice 19, never
/// real-time), so reading a large configuration never competes with an engine's thread for
/// the CPU.
pub async fn load_in_background(source: &Source) -> Result<Result<Loaded, Refused>, String> {
    let (tx, rx) = oneshot::channel();
    loader()?
        .send((source.clone(), tx))
        .map_err(|_| "the reload thread ended".to_owned())?;
    rx.await
        .map_err(|_| "the reload thread ended early".to_owned())
}

async fn reload_loop<S: Display>(
    engine: Engine,
    source: Source,
    mut requests: mpsc::UnboundedReceiver<()>,
    driver: mpsc::UnboundedSender<ReloadRequest<S>>,
) {
    while requests.recv().await.is_some() {
        // Everything asked for so far is covered by this one reload.
        let mut coalesced = 0u64;
        while requests.try_recv().is_ok() {
            coalesced += 1;
        }
        if coalesced > 0 {
            info!("{coalesced} more reload request(s) coalesced into this reload");
        }
        info!("Reloading");
        let started = std::time::Instant::now();
        let loaded = match load_in_background(&source).await {
            Ok(Ok(loaded)) => loaded,
            Ok(Err(refused)) => {
                for line in &refused.lines {
                    error!("{line}");
                }
                error!(
                    "Reload failed: {} cannot be used; keeping the running configuration",
                    source.path.display()
                );
                ready::report_reloaded(engine);
                continue;
            }
            Err(e) => {
                error!("Reload failed: cannot read the configuration: {e}");
                ready::report_reloaded(engine);
                continue;
            }
        };
        info!("Configuration file {}", source.path.display());
        for line in &loaded.warnings {
            warn!("{line}");
        }
        let (done, answer) = oneshot::channel();
        if driver.send(ReloadRequest { loaded, done }).is_err() {
            return;
        }
        match answer.await {
            Ok(summary) => {
                info!("Reload: {summary}");
                info!("Reload finished in {} usec", started.elapsed().as_micros());
                // The parent sends systemd READY=1 once every engine has said so.
                ready::report_reloaded(engine);
            }
            // The driver stopped meanwhile.
            Err(_) => return,
        }
    }
}

/// What a reload changed, by name (VRRP instances, BFD sessions), as the VRRP and BFD
/// drivers answer a reload.
// The checker's reload answers with its own summary.
#[cfg_attr(not(any(feature = "vrrp", feature = "bfd")), allow(dead_code))]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReloadSummary {
    /// Started.
    pub added: Vec<String>,
    /// Stopped.
    pub removed: Vec<String>,
    /// Changed in place.
    pub changed: Vec<String>,
    /// Left as they were.
    pub unchanged: usize,
}

impl std::fmt::Display for ReloadSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list = |v: &[String]| {
            if v.is_empty() {
                "none".to_owned()
            } else {
                v.join(" ")
            }
        };
        write!(
            f,
            "added: {}; removed: {}; changed: {}; unchanged: {}",
            list(&self.added),
            list(&self.removed),
            list(&self.changed),
            self.unchanged
        )
    }
}
