//! The BFD engine's driver, a task on the process's runtime like the VRRP and checker ones: it
//! owns the pure [`Engine`] (time in, actions out), the sockets (a listener per family and port
//! in use, read by the loop itself, a sender per session on its own source port), the timer, and the events for the VRRP
//! and checker engines ([`Publisher`]). It applies reloads by difference ([`super::reload`]),
//! answers the data dump ([`super::snapshot`]) and the parent's heartbeat from its loop.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use keepalived_bfd::{
    Action, Engine, Instant, Level, MULTIHOP_PORT, RxMeta, SessionConfig, SessionId,
};
use keepalived_config::Config;
use keepalived_net::{BfdListener, BfdSender, IpFamily};
use tokio::io::unix::AsyncFd;
use tokio::sync::{mpsc, watch};
use tracing::{debug, error, info, warn};

use super::reload::{self, ReloadRequest, Step};
use super::snapshot::{self, SnapshotRequest};
use crate::services::bfd_events::Publisher;
use crate::services::control::{EngineAnswer, EngineCommand};
use crate::services::heartbeat::{self, QueryKind, Request, Responder};
use crate::services::metrics::EngineMetrics;
use keepalived_ctl::proto::DumpKind;

/// Everything the driver runs.
#[derive(Debug)]
pub struct Setup {
    /// The configuration (its `bfd_instance`s).
    pub config: Arc<Config>,
    /// Requests for the data dump, answered between two events.
    pub snapshots: mpsc::UnboundedReceiver<SnapshotRequest>,
    /// The parent's watchdog heartbeat, answered by the loop of [`run`].
    pub heartbeat: Option<Responder>,
}

/// The listeners: IPv4 and IPv6, single-hop and multihop ([`slot`]).
type Listeners = [Option<Listener>; 4];

/// While the engine's next deadline is this close, the listeners are read when the timer wakes
/// the loop instead of waking it for each packet: the packets are then handed over up to this
/// late (before the timers that are due, so a queued packet still counts against expiry).
const RX_DEFER: Duration = Duration::from_millis(5);

/// Once the next deadline is further than this, the loop waits for the listeners again (the
/// gap between the two thresholds keeps it from switching back and forth).
const RX_WATCH: Duration = Duration::from_millis(10);

/// A listener: watched by the runtime's reactor (a packet wakes the loop), or only read when
/// the loop wakes for its timers ([`RX_DEFER`]), at 100 sessions nearly always: each packet
/// costs a wake-up of the process otherwise.
enum Listener {
    Watched(AsyncFd<BfdListener>),
    Polled(BfdListener),
}

/// Registers the listeners with the reactor (`watch`) or takes them out of it.
fn set_watched(listeners: &mut Listeners, watch: bool) {
    for slot in listeners.iter_mut() {
        let Some(l) = slot.take() else {
            continue;
        };
        *slot = match (l, watch) {
            (Listener::Polled(l), true) => Some(watched(l)),
            (Listener::Watched(fd), false) => Some(Listener::Polled(fd.into_inner())),
            (l, _) => Some(l),
        };
    }
}

/// `l` registered with the reactor; if that fails, still polled on the timers (logged).
fn watched(l: BfdListener) -> Listener {
    // `AsyncFd::try_with_interest` is deprecated because a caller could close the fd behind
    // tokio's back; the listener owns its fd and lives exactly as long as the `AsyncFd` (and
    // `register_with_interest`, the replacement, is `unsafe`, which this crate forbids).
    #[allow(deprecated)]
    match AsyncFd::try_with_interest(l, tokio::io::Interest::READABLE) {
        Ok(fd) => Listener::Watched(fd),
        Err(e) => {
            let (l, e) = e.into_parts();
            error!("BFD: cannot wait for packets on port {}: {e}", l.port());
            Listener::Polled(l)
        }
    }
}

/// A listener's place in [`Listeners`].
fn slot(family: IpFamily, port: u16) -> usize {
    usize::from(family == IpFamily::V6) * 2 + usize::from(port == MULTIHOP_PORT)
}

/// The largest control packet read (24 bytes, plus an authentication section of at most 28).
const RX_BUF: usize = 64;

/// The sessions `config` asks for; an instance the engine cannot take is logged and left out.
pub fn sessions_of(config: &Config) -> Vec<SessionConfig> {
    config
        .global
        .bfd_instances
        .iter()
        .filter_map(|b| match SessionConfig::from_model(b) {
            Ok(c) => Some(c),
            Err(e) => {
                warn!("BFD instance {}: {e}; ignored", b.name);
                None
            }
        })
        .collect()
}

/// The running state besides the engine.
struct Io {
    by_name: BTreeMap<String, SessionId>,
    senders: BTreeMap<SessionId, BfdSender>,
    send_errors: BTreeMap<SessionId, u64>,
    listeners: Listeners,
}

impl Io {
    /// Opens the listener for the session's family and port if not open yet.
    fn listen_for(&mut self, cfg: &SessionConfig) {
        let family = IpFamily::of(&cfg.neighbor);
        let port = cfg.port();
        let at = slot(family, port);
        if self.listeners.get(at).is_some_and(Option::is_some) {
            return;
        }
        match BfdListener::open(family, port) {
            Ok(l) => {
                if let Some(slot) = self.listeners.get_mut(at) {
                    *slot = Some(watched(l));
                }
            }
            Err(e) => error!("cannot listen for BFD packets: {e}"),
        }
    }

    fn add(&mut self, engine: &mut Engine, now: Instant, cfg: SessionConfig) {
        let name = cfg.name.clone();
        self.listen_for(&cfg);
        let (family, src, ttl) = (IpFamily::of(&cfg.neighbor), cfg.source, cfg.ttl);
        match engine.add_session(now, cfg) {
            Ok(id) => {
                let port = engine
                    .session(id)
                    .map_or(0, keepalived_bfd::Session::src_port);
                match BfdSender::open(family, src, port, ttl) {
                    Ok(s) => {
                        self.senders.insert(id, s);
                    }
                    Err(e) => error!("BFD instance {name}: cannot open its socket: {e}"),
                }
                self.by_name.insert(name, id);
            }
            Err(e) => warn!("BFD instance {name}: {e}; ignored"),
        }
    }

    fn remove(&mut self, engine: &mut Engine, now: Instant, name: &str) {
        if let Some(id) = self.by_name.remove(name) {
            engine.remove_session(now, id);
            // The AdminDown packets the removal queued are sent before the socket closes: the
            // caller drains first, then calls `forget`.
        }
    }

    fn forget_closed(&mut self, engine: &Engine) {
        self.senders.retain(|id, _| engine.session(*id).is_some());
        self.send_errors
            .retain(|id, _| engine.session(*id).is_some());
    }

    fn send(&mut self, t: &keepalived_bfd::Transmit) {
        let sent = match self.senders.get(&t.session) {
            Some(s) => s.send_to(&t.payload, t.dst).map(drop),
            None => Err(std::io::Error::from(std::io::ErrorKind::NotConnected)),
        };
        if let Err(e) = sent {
            let n = self.send_errors.entry(t.session).or_default();
            if *n == 0 {
                warn!("BFD: cannot send to {}: {e}", t.dst);
            }
            *n += 1;
        }
    }
}

/// Which watched listener is readable (never, without any).
async fn readable(listeners: &Listeners) -> usize {
    std::future::poll_fn(|cx| {
        for (i, l) in listeners.iter().enumerate() {
            if let Some(Listener::Watched(fd)) = l
                && let std::task::Poll::Ready(_) = fd.poll_read_ready(cx)
            {
                return std::task::Poll::Ready(i);
            }
        }
        std::task::Poll::Pending
    })
    .await
}

/// Hands every datagram queued on `l` to the engine; returns the error that ended the reads
/// (`WouldBlock` once drained).
fn receive_queued(l: &BfdListener, engine: &mut Engine, now: Instant) -> std::io::Error {
    let multihop = l.port() == MULTIHOP_PORT;
    let mut buf = [0u8; RX_BUF];
    loop {
        match l.recv(&mut buf) {
            Ok(rx) => {
                if rx.truncated {
                    debug!(
                        "BFD: a datagram of more than {RX_BUF} bytes from {}",
                        rx.src
                    );
                }
                let meta = RxMeta {
                    src: rx.src,
                    dst: rx.dst,
                    ttl: rx.ttl,
                    multihop,
                };
                let _ = engine.handle_datagram(now, &meta, buf.get(..rx.len).unwrap_or_default());
            }
            Err(e) => {
                if e.kind() != std::io::ErrorKind::WouldBlock {
                    debug!("BFD: receive: {e}");
                }
                return e;
            }
        }
    }
}

/// Hands every datagram queued on a watched listener to the engine (a burst is one wake-up).
async fn receive_all(fd: &AsyncFd<BfdListener>, engine: &mut Engine, now: Instant) {
    let Ok(mut guard) = fd.readable().await else {
        return;
    };
    let e = receive_queued(fd.get_ref(), engine, now);
    if e.kind() == std::io::ErrorKind::WouldBlock {
        // Drained: the readiness is cleared.
        guard.clear_ready();
    }
}

/// Reads the listeners that are not watched (see [`RX_DEFER`]).
fn receive_polled(listeners: &Listeners, engine: &mut Engine, now: Instant) {
    for l in listeners.iter().flatten() {
        if let Listener::Polled(l) = l {
            let _ = receive_queued(l, engine, now);
        }
    }
}

/// Runs the sessions of `setup` until `stop` turns true, applying the reloads that come in.
pub async fn run(
    setup: Setup,
    mut stop: watch::Receiver<bool>,
    mut reloads: mpsc::UnboundedReceiver<ReloadRequest>,
) {
    let Setup {
        config,
        mut snapshots,
        mut heartbeat,
    } = setup;
    let mut publisher = match Publisher::bind() {
        Ok(p) => Some(p),
        Err(e) => {
            error!("BFD: cannot offer events to the VRRP and checker processes: {e}");
            None
        }
    };
    let epoch = tokio::time::Instant::now();
    let now = || Instant::from_duration(epoch.elapsed());
    let mut engine = Engine::new(fastrand::u64(..));
    let mut io = Io {
        by_name: BTreeMap::new(),
        senders: BTreeMap::new(),
        send_errors: BTreeMap::new(),
        listeners: [None, None, None, None],
    };
    let mut current = sessions_of(&config);
    for cfg in current.clone() {
        io.add(&mut engine, now(), cfg);
    }
    info!("BFD: {} sessions", io.by_name.len());
    loop {
        drain(&mut engine, &mut io, publisher.as_mut());
        let sleep_until = engine
            .poll_timeout()
            .map(|at| epoch + at.since_epoch())
            .unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(3600));
        let wait = sleep_until.saturating_duration_since(tokio::time::Instant::now());
        if wait <= RX_DEFER {
            set_watched(&mut io.listeners, false);
        } else if wait > RX_WATCH {
            set_watched(&mut io.listeners, true);
        }
        tokio::select! {
            biased;
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    break;
                }
            }
            request = heartbeat::next_request(&mut heartbeat) => {
                let snap = matches!(request, Request::Query(..)).then(|| {
                    let consumers = publisher.as_ref().map_or(0, Publisher::consumers);
                    let errors = &io.send_errors;
                    snapshot::take(&engine, |id| errors.get(&id).copied().unwrap_or(0), consumers)
                });
                answer(heartbeat.as_ref(), request, snap);
            }
            at = readable(&io.listeners) => {
                if let Some(Some(Listener::Watched(fd))) = io.listeners.get(at) {
                    receive_all(fd, &mut engine, now()).await;
                }
            }
            () = tokio::time::sleep_until(sleep_until) => {
                // The packets that came meanwhile first: they may restart a detection timer.
                let t = now();
                receive_polled(&io.listeners, &mut engine, t);
                engine.handle_timeout(t);
            }
            stream = accept(publisher.as_ref()) => {
                if let Some(p) = publisher.as_mut() {
                    p.add(stream);
                    debug!("BFD: {} event consumers", p.consumers());
                }
            }
            Some(request) = reloads.recv() => {
                let new = sessions_of(&request.loaded.config);
                let (steps, summary) = reload::plan(&current, &new);
                let t = now();
                for step in steps {
                    match step {
                        Step::Remove(name) => {
                            io.remove(&mut engine, t, &name);
                            drain(&mut engine, &mut io, publisher.as_mut());
                            if let Some(p) = publisher.as_mut() {
                                p.remove(&name);
                            }
                        }
                        Step::Add(cfg) => io.add(&mut engine, t, cfg),
                        Step::Reconfigure(cfg) => {
                            let name = cfg.name.clone();
                            let ttl = cfg.ttl;
                            if let Some(id) = io.by_name.get(&name).copied() {
                                if let Err(e) = engine.reconfigure(t, id, cfg) {
                                    warn!("BFD instance {name}: {e}");
                                } else if let Some(s) = io.senders.get(&id)
                                    && let Err(e) = s.set_ttl(ttl)
                                {
                                    warn!("BFD instance {name}: cannot set its TTL: {e}");
                                }
                            }
                        }
                    }
                }
                io.forget_closed(&engine);
                current = new;
                let _ = request.done.send(summary);
            }
            Some(reply) = snapshots.recv() => {
                let consumers = publisher.as_ref().map_or(0, Publisher::consumers);
                let errors = &io.send_errors;
                let _ = reply.send(snapshot::take(&engine, |id| errors.get(&id).copied().unwrap_or(0), consumers));
            }
        }
    }
    // Tell the peers (RFC 5880 section 6.8.16: AdminDown), then stop.
    let t = now();
    for name in io.by_name.keys().cloned().collect::<Vec<_>>() {
        io.remove(&mut engine, t, &name);
    }
    drain(&mut engine, &mut io, None);
    debug!("BFD stopped");
}

/// Executes the engine's queued actions in order.
fn drain(engine: &mut Engine, io: &mut Io, mut publisher: Option<&mut Publisher>) {
    while let Some(action) = engine.poll_action() {
        match action {
            Action::Send(t) => io.send(&t),
            Action::State(c) => {
                if let Some(p) = publisher.as_deref_mut() {
                    p.set(&c.name, c.up);
                }
            }
            Action::Log(l) => match l.level {
                Level::Debug => debug!("{}", l.text),
                Level::Info => info!("{}", l.text),
                Level::Warning => warn!("{}", l.text),
            },
        }
    }
}

/// The next consumer of the events (never, without the socket).
async fn accept(publisher: Option<&Publisher>) -> tokio::net::UnixStream {
    match publisher {
        Some(p) => p.accept().await,
        None => std::future::pending().await,
    }
}

/// Answers the watchdog's ping, a metrics query with the copy `snap` taken now (turned into
/// the metrics and serialized off the loop), or a control command (the data dump's text).
fn answer(heartbeat: Option<&Responder>, request: Request, snap: Option<snapshot::BfdSnapshot>) {
    let Some(h) = heartbeat else {
        return;
    };
    match request {
        Request::Ping(n) => h.answer(n),
        Request::Query(n, QueryKind::Command(c)) => {
            let a = match (c, snap) {
                (
                    EngineCommand::Dump {
                        kind: DumpKind::Data,
                    },
                    Some(s),
                ) => EngineAnswer::done(s.data_text()),
                // The statistics and the JSON dump are the VRRP engine's.
                (EngineCommand::Dump { .. }, _) => EngineAnswer::done(""),
                _ => EngineAnswer::refused("not a command for the BFD process"),
            };
            h.reply(n, move || a.bytes());
        }
        Request::Query(n, QueryKind::Metrics) => h.reply(n, move || {
            let m = EngineMetrics {
                bfd: snap.map(|s| s.metrics()),
                ..EngineMetrics::default()
            };
            m.to_wire()
        }),
    }
}
