//! The parent's control socket (`control_socket` / `--control-socket`; `keepalived-ctl` is its
//! client): a Unix stream socket, mode 0600 (0660 with `control_socket_group`), speaking
//! `keepalived_ctl::proto`. Status and dumps are asked of the engines over their heartbeat
//! connections, as the metrics are; maintenance and drain are commands to the VRRP and the
//! checker engine, remembered here and sent again to an engine that was restarted; a reload
//! goes to the parent's loop ([`ControlAsk`]) and is answered once the engines applied it.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use keepalived_ctl::proto::{
    self, Command, DaemonStatus, DumpKind, EngineStatus, ReloadOutcome, ReloadStatus, Response,
    Status,
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

use super::metrics::{Registry, ask, query};
use crate::services::cli::{Cli, Engine};
use crate::services::control::{self, EngineAnswer, EngineCommand, MAX_NAME};
use crate::services::heartbeat::{QueryKind, QueryRequest};

/// How long a command waits for an engine's answer.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a reload may take before the client is told it is still going on.
const RELOAD_TIMEOUT: Duration = Duration::from_secs(110);
/// How long a connection may stay silent between two requests.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Connections served at once.
const MAX_CONNECTIONS: usize = 16;

/// What the control socket asks of the parent's loop.
#[derive(Debug)]
pub(super) enum ControlAsk {
    /// Reload (as SIGHUP) and answer with the outcome.
    Reload(oneshot::Sender<ReloadOutcome>),
}

/// What the operator asked that outlives an engine process: instances in maintenance, real
/// servers drained (`(virtual server, real server)` as given).
#[derive(Debug, Default)]
struct Held {
    maintenance: BTreeSet<String>,
    drains: BTreeSet<(String, String)>,
}

struct Ctx {
    registry: Registry,
    asks: mpsc::UnboundedSender<ControlAsk>,
    held: Arc<Mutex<Held>>,
    /// The group allowed besides root and the daemon's user.
    gid: Option<u32>,
    slots: Semaphore,
}

/// The socket, while the parent serves it: removed when dropped.
pub(super) struct ControlSocket {
    path: PathBuf,
    task: JoinHandle<()>,
    held: Arc<Mutex<Held>>,
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

fn lock(m: &Mutex<Held>) -> MutexGuard<'_, Held> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Where the socket goes: `--control-socket`, else `control_socket`, else beside the parent's
/// pid file (`/run/keepalived.pid` gives `/run/keepalived.ctl`).
pub(super) fn path(cli: &Cli, configured: Option<&Path>, parent_pid_file: &Path) -> PathBuf {
    if let Some(p) = cli.control_socket.as_deref().or(configured) {
        return p.to_owned();
    }
    parent_pid_file.with_extension("ctl")
}

impl ControlSocket {
    /// Binds the socket at `path` (a stale socket there is replaced; a live one, another
    /// daemon's, is left alone and this daemon serves none), opened to `group` if given.
    pub(super) fn open(
        path: &Path,
        group: Option<&str>,
        registry: Registry,
        asks: mpsc::UnboundedSender<ControlAsk>,
    ) -> Option<ControlSocket> {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            error!(
                "Control socket {} is served by another process: not serving one",
                path.display()
            );
            return None;
        }
        let _ = std::fs::remove_file(path);
        if let Some(dir) = path.parent()
            && let Err(e) = std::fs::create_dir_all(dir)
        {
            error!("Control socket: cannot create {}: {e}", dir.display());
            return None;
        }
        let gid = group.and_then(|g| match nix::unistd::Group::from_name(g) {
            Ok(Some(grp)) => Some(grp.gid.as_raw()),
            _ => {
                error!("Control socket: no group {g:?} (control_socket_group): root only");
                None
            }
        });
        let listener = match UnixListener::bind(path) {
            Ok(l) => l,
            Err(e) => {
                error!("Control socket: cannot bind {}: {e}", path.display());
                return None;
            }
        };
        // Created under the umask (never writable by others, so nobody else can connect in
        // between), then set to what it must be.
        let mode = if gid.is_some() { 0o660 } else { 0o600 };
        let perms = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
        let owner = gid.map_or(Ok(()), |g| {
            nix::unistd::chown(path, None, Some(nix::unistd::Gid::from_raw(g)))
                .map_err(std::io::Error::from)
        });
        if let Err(e) = perms.and(owner) {
            error!(
                "Control socket: cannot set the mode of {}: {e}",
                path.display()
            );
            let _ = std::fs::remove_file(path);
            return None;
        }
        info!("Control socket: {}", path.display());
        let held = Arc::new(Mutex::new(Held::default()));
        let ctx = Arc::new(Ctx {
            registry,
            asks,
            held: held.clone(),
            gid,
            slots: Semaphore::new(MAX_CONNECTIONS),
        });
        let task = tokio::spawn(accept_loop(listener, ctx));
        Some(ControlSocket {
            path: path.to_owned(),
            task,
            held,
        })
    }

    /// Whether it is at `path`.
    pub(super) fn at(&self, path: &Path) -> bool {
        self.path == path
    }

    /// `engine` (re)connected its heartbeat: what the operator asked of it goes again.
    pub(super) fn replay(&self, engine: Engine, tx: mpsc::Sender<QueryRequest>) {
        let commands: Vec<EngineCommand> = {
            let held = lock(&self.held);
            match engine {
                Engine::Vrrp => held
                    .maintenance
                    .iter()
                    .map(|i| EngineCommand::Maintenance {
                        instance: i.clone(),
                        on: true,
                    })
                    .collect(),
                Engine::Checker => held
                    .drains
                    .iter()
                    .map(|(vs, rs)| EngineCommand::Drain {
                        virtual_server: vs.clone(),
                        real_server: rs.clone(),
                        on: true,
                    })
                    .collect(),
                // Nothing of the BFD process is held by the control socket.
                Engine::Bfd => Vec::new(),
            }
        };
        if commands.is_empty() {
            return;
        }
        tokio::spawn(async move {
            for c in commands {
                if let Some(a) = command(Some(tx.clone()), c).await
                    && !a.ok
                {
                    warn!("Control socket: not applied again: {}", a.text);
                }
            }
        });
    }
}

async fn accept_loop(listener: UnixListener, ctx: Arc<Ctx>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let ctx = ctx.clone();
                tokio::spawn(async move {
                    let Ok(_permit) = ctx.slots.try_acquire() else {
                        let busy = Response::error("too many control connections; try again");
                        let mut stream = stream;
                        let _ = stream.write_all(busy.line().as_bytes()).await;
                        return;
                    };
                    serve(stream, &ctx).await;
                });
            }
            Err(e) => {
                warn!("Control socket: accept: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Whether the peer may use the socket: root, the daemon's own user, or a member of the
/// configured group (the file's mode already keeps others out; this says why).
fn allowed(stream: &UnixStream, gid: Option<u32>) -> Result<(), String> {
    let cred = stream
        .peer_cred()
        .map_err(|e| format!("cannot tell who is asking: {e}"))?;
    let uid = cred.uid();
    if uid == 0 || uid == nix::unistd::geteuid().as_raw() {
        return Ok(());
    }
    if let Some(g) = gid {
        let member = cred.gid() == g
            || cred.pid().is_some_and(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/status"))
                    .ok()
                    .and_then(|s| {
                        let line = s.lines().find(|l| l.starts_with("Groups:"))?.to_owned();
                        Some(line.split_whitespace().any(|w| w == g.to_string()))
                    })
                    .unwrap_or(false)
            });
        if member {
            return Ok(());
        }
    }
    Err(format!(
        "permission denied: uid {uid} may not use the control socket (root only, or \
         control_socket_group)"
    ))
}

/// Serves one connection: requests in, answers out, in order.
async fn serve(mut stream: UnixStream, ctx: &Ctx) {
    if let Err(e) = allowed(&stream, ctx.gid) {
        warn!("Control socket: {e}");
        let _ = stream.write_all(Response::error(e).line().as_bytes()).await;
        return;
    }
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        while let Some(end) = buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = buf.drain(..=end).collect();
            let response = match proto::parse_request(&line[..end]) {
                Ok(c) => handle(c, ctx).await,
                Err(e) => Response::error(e.0),
            };
            if stream.write_all(response.line().as_bytes()).await.is_err() {
                return;
            }
        }
        if buf.len() > proto::MAX_REQUEST {
            let e = Response::error(format!(
                "request longer than {} bytes; closing",
                proto::MAX_REQUEST
            ));
            let _ = stream.write_all(e.line().as_bytes()).await;
            return;
        }
        match tokio::time::timeout(IDLE_TIMEOUT, stream.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            _ => return,
        }
    }
}

/// Sends `c` to the engine behind `tx` and reads its answer; `None` when it does not answer.
async fn command(tx: Option<mpsc::Sender<QueryRequest>>, c: EngineCommand) -> Option<EngineAnswer> {
    let bytes = query(tx, QueryKind::Command(c), COMMAND_TIMEOUT).await?;
    serde_json::from_slice(&bytes).ok()
}

/// The queries of `engine`'s connection, if it runs.
fn queries_of(ctx: &Ctx, engine: Engine) -> Result<mpsc::Sender<QueryRequest>, String> {
    let view = ctx
        .registry
        .engines()
        .into_iter()
        .find(|e| e.engine == engine);
    match view {
        None => Err(format!(
            "the {} engine does not run (nothing in the configuration for it)",
            engine.as_str()
        )),
        Some(v) => v.queries.ok_or_else(|| {
            format!(
                "the {} engine is not answering (restarting?)",
                engine.as_str()
            )
        }),
    }
}

/// Carries out one request.
async fn handle(c: Command, ctx: &Ctx) -> Response {
    match c {
        Command::Status => match serde_json::to_value(status(ctx).await) {
            Ok(v) => Response::ok(v),
            Err(e) => Response::error(format!("cannot render the status: {e}")),
        },
        Command::Maintenance { instance, on } => {
            if instance.len() > MAX_NAME {
                return Response::error(format!("an instance name is at most {MAX_NAME} bytes"));
            }
            let c = EngineCommand::Maintenance {
                instance: instance.clone(),
                on,
            };
            engine_command(ctx, Engine::Vrrp, c, |held, ok| {
                if ok && on {
                    held.maintenance.insert(instance);
                } else if ok {
                    held.maintenance.remove(&instance);
                }
            })
            .await
        }
        Command::Drain {
            virtual_server,
            real_server,
            on,
        } => {
            if virtual_server.len() > MAX_NAME || real_server.len() > MAX_NAME {
                return Response::error(format!("a server name is at most {MAX_NAME} bytes"));
            }
            let key = (virtual_server.clone(), real_server.clone());
            let c = EngineCommand::Drain {
                virtual_server,
                real_server,
                on,
            };
            engine_command(ctx, Engine::Checker, c, |held, ok| {
                if ok && on {
                    held.drains.insert(key);
                } else if ok {
                    held.drains.remove(&key);
                }
            })
            .await
        }
        Command::Reload => {
            let (tx, rx) = oneshot::channel();
            if ctx.asks.send(ControlAsk::Reload(tx)).is_err() {
                return Response::error("the daemon is stopping");
            }
            match tokio::time::timeout(RELOAD_TIMEOUT, rx).await {
                Ok(Ok(outcome)) => Response::ok(serde_json::to_value(outcome).unwrap_or_default()),
                Ok(Err(_)) => Response::error("the daemon stopped during the reload"),
                Err(_) => Response::error("the reload is still going on; see the log"),
            }
        }
        Command::Dump { kind } => dump(ctx, kind).await,
    }
}

/// Sends `c` to `engine`; `record` keeps what the operator asked (with whether it was done).
async fn engine_command(
    ctx: &Ctx,
    engine: Engine,
    c: EngineCommand,
    record: impl FnOnce(&mut Held, bool),
) -> Response {
    let tx = match queries_of(ctx, engine) {
        Ok(tx) => tx,
        Err(e) => return Response::error(e),
    };
    match command(Some(tx), c).await {
        Some(a) => {
            record(&mut lock(&ctx.held), a.ok);
            if a.ok {
                Response::ok(serde_json::Value::String(a.text))
            } else {
                Response::error(a.text)
            }
        }
        None => Response::error(format!(
            "the {} engine did not answer within {COMMAND_TIMEOUT:?}",
            engine.as_str()
        )),
    }
}

/// Every running engine's part of dump `kind`, the VRRP engine's first.
async fn dump(ctx: &Ctx, kind: DumpKind) -> Response {
    let mut text = String::new();
    let mut asked = 0;
    for e in ctx.registry.engines() {
        if kind != DumpKind::Data && e.engine != Engine::Vrrp {
            continue;
        }
        asked += 1;
        match command(e.queries, EngineCommand::Dump { kind }).await {
            Some(a) if a.ok => text.push_str(&a.text),
            _ => {
                return Response::error(format!("the {} engine did not answer", e.engine.as_str()));
            }
        }
    }
    if asked == 0 {
        return Response::error("no engine runs that has this dump");
    }
    Response::ok(serde_json::Value::String(text))
}

/// Asks every engine for its numbers at once and puts the status together.
async fn status(ctx: &Ctx) -> Status {
    let engines = ctx.registry.engines();
    let asks: Vec<_> = engines
        .iter()
        .map(|e| tokio::spawn(ask(e.queries.clone())))
        .collect();
    let mut answers = Vec::new();
    for a in asks {
        answers.push(a.await.ok().flatten());
    }
    let of = |engine: Engine| {
        engines
            .iter()
            .zip(&answers)
            .find(|(e, _)| e.engine == engine)
            .and_then(|(_, a)| a.as_ref())
    };
    let (vrrp_instances, sync_groups, virtual_servers) =
        control::status(of(Engine::Vrrp), of(Engine::Checker));
    let bfd_sessions = control::bfd_status(of(Engine::Bfd));
    let daemon = DaemonStatus {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        pid: std::process::id(),
        engines: engines
            .iter()
            .zip(&answers)
            .map(|(e, a)| EngineStatus {
                name: e.engine.as_str().to_owned(),
                pid: e.pid,
                answering: a.is_some(),
                restarts: e.restarts,
                watchdog_kills: e.kills,
            })
            .collect(),
        last_reload: ctx
            .registry
            .last_reload()
            .map(|(at, applied)| ReloadStatus {
                at,
                outcome: if applied { "applied" } else { "refused" }.to_owned(),
            }),
    };
    Status {
        daemon,
        vrrp_instances,
        sync_groups,
        virtual_servers,
        bfd_sessions,
    }
}
