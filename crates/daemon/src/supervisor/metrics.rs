//! The parent's side of the metrics: its own counters (engine restarts, watchdog kills,
//! reloads and their outcome, failed queries), the HTTP endpoint it serves when
//! `metrics_listen` or `--metrics-listen` names an address, and each scrape: every running
//! engine is asked over its heartbeat connection (`QUERY n metrics`, see
//! [`crate::services::heartbeat`]) with a timeout of its own, and the answers rendered
//! ([`crate::services::metrics::render`]). Engines never open the listening socket.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::{error, info};

use crate::services::cli::Engine;
use crate::services::heartbeat::{QueryKind, QueryRequest};
use crate::services::metrics::render::{EngineScrape, Page, Scrape, render_page};
use crate::services::metrics::{ENGINE_TIMEOUT, EngineMetrics, http};

/// One engine's counters.
#[derive(Debug)]
struct EngineCounters {
    engine: Engine,
    /// Run by the configuration in force (not retired).
    wanted: bool,
    starts: u64,
    kills: u64,
    failures: u64,
    /// Where its queries go, while its heartbeat connection is up.
    queries: Option<mpsc::Sender<QueryRequest>>,
    /// Its pid while it runs.
    pid: Option<u32>,
}

#[derive(Debug, Default)]
struct Counters {
    engines: Vec<EngineCounters>,
    reloads_applied: u64,
    reloads_refused: u64,
    last_reload: Option<(f64, bool)>,
}

impl Counters {
    fn engine(&mut self, engine: Engine) -> &mut EngineCounters {
        if let Some(i) = self.engines.iter().position(|e| e.engine == engine) {
            return &mut self.engines[i];
        }
        self.engines.push(EngineCounters {
            engine,
            wanted: true,
            starts: 0,
            kills: 0,
            failures: 0,
            queries: None,
            pid: None,
        });
        self.engines.last_mut().expect("just pushed")
    }
}

/// The parent's metrics: shared between its loop, which counts, and the endpoint's tasks.
#[derive(Debug, Default)]
pub(super) struct ParentMetrics {
    counters: Arc<Mutex<Counters>>,
    /// The endpoint: its address and task.
    server: Option<(SocketAddr, JoinHandle<()>)>,
}

impl Drop for ParentMetrics {
    fn drop(&mut self) {
        if let Some((_, task)) = self.server.take() {
            task.abort();
        }
    }
}

fn lock(c: &Mutex<Counters>) -> MutexGuard<'_, Counters> {
    c.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl ParentMetrics {
    /// `engine` was started as process `pid`.
    pub(super) fn started(&self, engine: Engine, pid: u32) {
        let mut c = lock(&self.counters);
        let e = c.engine(engine);
        e.starts += 1;
        e.wanted = true;
        e.queries = None;
        e.pid = Some(pid);
    }

    /// `engine`'s process ended.
    pub(super) fn ended(&self, engine: Engine) {
        let mut c = lock(&self.counters);
        let e = c.engine(engine);
        e.queries = None;
        e.pid = None;
    }

    /// What the control socket reads of the engines and reloads.
    pub(super) fn registry(&self) -> Registry {
        Registry(self.counters.clone())
    }

    /// `engine` is no longer run by the configuration.
    pub(super) fn retired(&self, engine: Engine) {
        lock(&self.counters).engine(engine).wanted = false;
    }

    /// `engine` keeps its heartbeat connection: queries go to `tx`.
    pub(super) fn connected(&self, engine: Engine, tx: mpsc::Sender<QueryRequest>) {
        lock(&self.counters).engine(engine).queries = Some(tx);
    }

    /// The watchdog killed `engine`.
    pub(super) fn killed(&self, engine: Engine) {
        lock(&self.counters).engine(engine).kills += 1;
    }

    /// A reload was asked for: `applied` or refused.
    pub(super) fn reloaded(&self, applied: bool) {
        let mut c = lock(&self.counters);
        if applied {
            c.reloads_applied += 1;
        } else {
            c.reloads_refused += 1;
        }
        let at = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        c.last_reload = Some((at, applied));
    }

    /// Serves the metrics on `addr` (none: not at all); a new address replaces the old
    /// endpoint, the same one keeps it. A socket that cannot be bound is logged.
    pub(super) fn listen(&mut self, addr: Option<SocketAddr>) {
        if self.server.as_ref().map(|(a, _)| *a) == addr {
            return;
        }
        if let Some((old, task)) = self.server.take() {
            task.abort();
            info!("Metrics: no longer listening on {old}");
        }
        let Some(addr) = addr else {
            return;
        };
        let listener = std::net::TcpListener::bind(addr)
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .and_then(tokio::net::TcpListener::from_std);
        match listener {
            Ok(listener) => {
                info!("Metrics: serving http://{addr}/metrics");
                let counters = self.counters.clone();
                let task = tokio::spawn(http::serve(listener, move |openmetrics| {
                    scrape(counters.clone(), openmetrics)
                }));
                self.server = Some((addr, task));
            }
            Err(e) => error!("Metrics: cannot listen on {addr}: {e}"),
        }
    }
}

/// An engine as the control socket sees it.
#[derive(Debug, Clone)]
pub(super) struct EngineView {
    pub engine: Engine,
    pub pid: Option<u32>,
    pub restarts: u64,
    pub kills: u64,
    /// Where its queries go, while its heartbeat connection is up.
    pub queries: Option<mpsc::Sender<QueryRequest>>,
}

/// The parent's counters, shared with the control socket's tasks.
#[derive(Debug, Clone)]
pub(super) struct Registry(Arc<Mutex<Counters>>);

impl Registry {
    /// The engines the configuration in force runs.
    pub(super) fn engines(&self) -> Vec<EngineView> {
        lock(&self.0)
            .engines
            .iter()
            .filter(|e| e.wanted)
            .map(|e| EngineView {
                engine: e.engine,
                pid: e.pid,
                restarts: e.starts.saturating_sub(1),
                kills: e.kills,
                queries: e.queries.clone(),
            })
            .collect()
    }

    /// The last reload: when (seconds since the Unix epoch) and whether it was applied.
    pub(super) fn last_reload(&self) -> Option<(f64, bool)> {
        lock(&self.0).last_reload
    }
}

/// Sends query `kind` to the engine behind `tx` (its heartbeat connection) and waits up to
/// `timeout` for the answer's bytes; `None` when there is no connection, its queue is full,
/// or no answer came in time. The control socket's queries go the same way.
pub(super) async fn query(
    tx: Option<mpsc::Sender<QueryRequest>>,
    kind: QueryKind,
    timeout: std::time::Duration,
) -> Option<Vec<u8>> {
    let (reply, rx) = oneshot::channel();
    tx?.try_send(QueryRequest { kind, reply }).ok()?;
    tokio::time::timeout(timeout, rx).await.ok()?.ok()
}

/// Asks one engine for its metrics (a scrape, the control socket's status); `None` when it does
/// not answer within [`ENGINE_TIMEOUT`].
pub(super) async fn ask(tx: Option<mpsc::Sender<QueryRequest>>) -> Option<EngineMetrics> {
    let bytes = query(tx, QueryKind::Metrics, ENGINE_TIMEOUT).await?;
    tokio::task::spawn_blocking(move || EngineMetrics::from_wire(&bytes))
        .await
        .ok()?
}

/// One scrape: every engine run is asked at once, the answers rendered off the loop.
async fn scrape(counters: Arc<Mutex<Counters>>, openmetrics: bool) -> Page {
    let asks: Vec<(Engine, JoinHandle<Option<EngineMetrics>>)> = lock(&counters)
        .engines
        .iter()
        .filter(|e| e.wanted)
        .map(|e| (e.engine, tokio::spawn(ask(e.queries.clone()))))
        .collect();
    let mut answers = Vec::new();
    for (engine, task) in asks {
        answers.push((engine, task.await.ok().flatten()));
    }
    let scrape = {
        let mut c = lock(&counters);
        let engines = answers
            .into_iter()
            .map(|(engine, answer)| {
                let e = c.engine(engine);
                if answer.is_none() {
                    e.failures += 1;
                }
                EngineScrape {
                    engine: engine.as_str(),
                    answer,
                    restarts: e.starts.saturating_sub(1),
                    watchdog_kills: e.kills,
                    query_failures: e.failures,
                }
            })
            .collect();
        Scrape {
            engines,
            reloads_applied: c.reloads_applied,
            reloads_refused: c.reloads_refused,
            last_reload: c.last_reload,
            version: env!("CARGO_PKG_VERSION"),
            features: crate::services::features::built().join(","),
        }
    };
    tokio::task::spawn_blocking(move || render_page(scrape, openmetrics))
        .await
        .unwrap_or_default()
}
