//! The supervising parent: starts the engine processes, restarts them when they die, passes
//! signals on, owns the pid files and talks to systemd.
//!
//! Like keepalived, the daemon is a parent and one child per engine: VRRP, and the checkers
//! with IPVS. The parent reads and checks the configuration in full, then starts each engine
//! the configuration needs (`-P`: VRRP only, `-C`: checkers only, `--all`: even without
//! configuration for it) by executing its own binary again (`/proc/self/exe`, never a fork
//! without exec in a threaded process) with the same arguments plus `--engine=vrrp|checker`
//! ([`crate::engine`]). A checker that hangs or crashes so never shares a process, a scheduler or a
//! lock with the VRRP adverts.
//!
//! - A dead engine is restarted on keepalived's schedule ([`backoff`]); with `-R` the parent
//!   stops instead. When the VRRP engine dies, the parent first removes what it left (VIPs,
//!   virtual routes and rules, VMACs: [`crate::vrrp::cleanup`]), so no address stays up on a
//!   router that no longer advertises it.
//! - SIGHUP: the parent reads and checks the new configuration in full; if it has errors they
//!   are logged with their place and nothing else happens, otherwise SIGHUP goes on to the
//!   engines (and an engine the new configuration needs is started). A SIGHUP during a reload
//!   is queued. An engine the new configuration no longer needs (all its virtual servers
//!   removed, say) gets SIGTERM instead and is not restarted; its pid file goes with it.
//!   SIGUSR1, SIGUSR2 and keepalived's JSON and STATS_CLEAR signals are passed on.
//! - SIGTERM / SIGINT: SIGTERM to the engines, SIGKILL to those still there after
//!   `child_wait_time`.
//! - Pid files ([`pidfile`]): the parent's (`-p`) and each engine's (`-r`, `-c`, written by
//!   the parent when it starts the engine); a daemon whose pid file names a live process
//!   refuses to start.
//! - systemd ([`ready`]): `READY=1` once every engine is up, `RELOADING=1` when a reload is
//!   asked for and `READY=1` once every engine reported the end of its reload ([`reload`]; at
//!   most [`reload::RELOAD_REPORT_TIMEOUT`] later), `STOPPING=1`; with `WatchdogSec=`,
//!   `WATCHDOG=1` every quarter of the period from this loop.
//! - Watchdog ([`watchdog`]): each engine answers a heartbeat from its event loop; one that
//!   stays silent past its deadline is killed (SIGKILL), a VRRP engine's addresses, routes,
//!   rules and VMACs are removed at once, and it is restarted as after any death (with `-R`
//!   the parent stops, as after any death).
//! - Metrics ([`metrics`]): with `metrics_listen` / `--metrics-listen` the parent serves
//!   `GET /metrics`, asking each engine over its heartbeat connection at each scrape.

pub mod backoff;
mod control;
mod metrics;
pub mod pidfile;
pub mod reload;
pub mod scripts;
mod start;
pub mod watchdog;

pub use start::run;

use std::path::PathBuf;
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::Duration;

use keepalived_config::{Config, PreprocessOptions};
use sd_notify::NotifyState;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::{mpsc, watch as tokio_watch};
use tokio::time::Instant;
use tracing::{error, info, warn};

use crate::services::cli::{Cli, Engine, signum};
use crate::services::load::Loaded;
use crate::services::ready::{self, Report};
use crate::services::{ENV_PARENT, EXIT_CONFIG, EXIT_FATAL, features, signals};
use pidfile::PidFile;
use reload::{ReloadQueue, ReloadWait};

/// Exit code of the parent when it cannot start, or stops because an engine died (`-R`) or
/// failed for good.
pub(super) const EXIT_FAILURE: i32 = 1;

/// The engines to run for `config`: `-P` / `-C` choose (neither: both), `-B` turns BFD off,
/// and an engine without configuration does not run unless `--all`.
pub fn wanted(cli: &Cli, config: &Config) -> Vec<Engine> {
    let only_vrrp = cli.vrrp && !cli.check;
    let only_checker = cli.check && !cli.vrrp;
    let v = &config.vrrp;
    let has_vrrp = !v.instances.is_empty()
        || !v.static_addresses.is_empty()
        || !v.static_routes.is_empty()
        || !v.static_rules.is_empty();
    let has_checker = !config.lvs.virtual_servers.is_empty();
    let mut out = Vec::new();
    if !only_checker && (cli.all || has_vrrp) {
        out.push(Engine::Vrrp);
    }
    if !only_vrrp && (cli.all || has_checker) {
        out.push(Engine::Checker);
    }
    // keepalived: -P and -C leave the BFD process alone; -B stops it.
    if !cli.no_bfd && (cli.all || !config.global.bfd_instances.is_empty()) {
        out.push(Engine::Bfd);
    }
    out.retain(|e| features::has_engine(*e));
    out
}

/// One engine the parent runs.
struct Slot {
    engine: Engine,
    /// Its pid file.
    pid_path: PathBuf,
    running: Option<Running>,
    /// Delay owed to the next quick death ([`backoff::restart_delay`]).
    owed: Duration,
    /// When a delayed restart is due.
    restart_at: Option<Instant>,
    /// Counts starts, so a late exit report of an earlier process is told apart.
    generation: u64,
    /// No longer needed after a reload: stopped, not restarted, not signalled but to stop.
    retired: bool,
    /// How its heartbeat is watched (followed by the watching task across reloads).
    timing: tokio_watch::Sender<Option<watchdog::Timing>>,
}

/// A running engine process.
struct Running {
    pid: u32,
    started: Instant,
    ready: bool,
    _pid_file: Option<PidFile>,
    /// The task watching its heartbeat, once it connected (ends with this value).
    heartbeat: Option<watchdog::Watching>,
    /// Killed by the watchdog.
    hung: bool,
}

/// An engine process that ended.
struct Exit {
    slot: usize,
    generation: u64,
    status: std::io::Result<ExitStatus>,
}

/// What ends the main loop.
enum Stop {
    /// SIGTERM / SIGINT.
    Signal,
    /// An engine died and must not be restarted.
    Failed,
}

struct Supervisor<'a> {
    cli: &'a Cli,
    opts: PreprocessOptions,
    /// The configuration in force (the last valid one).
    checked: Arc<Loaded>,
    slots: Vec<Slot>,
    exits_tx: mpsc::UnboundedSender<Exit>,
    exits: mpsc::UnboundedReceiver<Exit>,
    /// The readiness socket's name (none: engines count as up once started).
    ready_name: Option<String>,
    /// Engine reports (pid, report, connection), read by a task of their own so none is lost.
    ready: mpsc::UnboundedReceiver<(u32, Report, tokio::net::UnixStream)>,
    /// Hung engines, reported by their heartbeat's task.
    hung_tx: mpsc::UnboundedSender<watchdog::Hung>,
    hung: mpsc::UnboundedReceiver<watchdog::Hung>,
    /// Whether READY=1 was sent.
    announced: bool,
    /// The configuration checks of reloads.
    queue: ReloadQueue,
    /// The engines still reloading, after a reload was passed on to them.
    reload_wait: Option<ReloadWait>,
    /// How the default pid files are named (from the configuration at start).
    pid_names: pidfile::PidNames,
    /// Daemon mode: the command waiting for the engines to be up.
    start_report: Option<keepalived_net::StartReport>,
    /// The metrics' counters and endpoint.
    metrics: metrics::ParentMetrics,
    /// The control socket, while served.
    control: Option<control::ControlSocket>,
    /// What the control socket asks of this loop.
    control_tx: mpsc::UnboundedSender<control::ControlAsk>,
    control_rx: mpsc::UnboundedReceiver<control::ControlAsk>,
    /// The control socket's reload requests waiting for the reload being checked or applied,
    /// and those waiting for the one queued after it.
    reload_waiters: Vec<tokio::sync::oneshot::Sender<keepalived_ctl::proto::ReloadOutcome>>,
    reload_waiters_next: Vec<tokio::sync::oneshot::Sender<keepalived_ctl::proto::ReloadOutcome>>,
    /// The reload being applied was accepted: its waiters are answered once it is done.
    reload_applied: bool,
}

/// The signals the parent handles.
struct Signals {
    term: Signal,
    int: signals::Interrupt,
    hup: Signal,
    /// Passed on to the engines as they are.
    forward: Vec<(i32, Signal)>,
}

impl Signals {
    fn install() -> std::io::Result<Signals> {
        let mut forward = Vec::new();
        let numbers = [libc::SIGUSR1, libc::SIGUSR2]
            .into_iter()
            .chain(["JSON", "STATS_CLEAR"].into_iter().filter_map(signum));
        for n in numbers {
            forward.push((n, signal(SignalKind::from_raw(n))?));
        }
        let (term, int, hup) = signals::main_signals()?;
        Ok(Signals {
            term,
            int,
            hup,
            forward,
        })
    }
}

/// Completes with the number of the first of `signals` that arrives.
async fn any_forwarded(signals: &mut [(i32, Signal)]) -> i32 {
    std::future::poll_fn(|cx| {
        for (n, s) in signals.iter_mut() {
            if let std::task::Poll::Ready(Some(())) = s.poll_recv(cx) {
                return std::task::Poll::Ready(*n);
            }
        }
        std::task::Poll::Pending
    })
    .await
}

impl<'a> Supervisor<'a> {
    fn new(
        cli: &'a Cli,
        opts: &PreprocessOptions,
        checked: Loaded,
        pid_names: pidfile::PidNames,
    ) -> Result<Self, String> {
        let (exits_tx, exits) = mpsc::unbounded_channel();
        let (ready_tx, ready) = mpsc::unbounded_channel();
        let (hung_tx, hung) = mpsc::unbounded_channel();
        let (control_tx, control_rx) = mpsc::unbounded_channel();
        let ready_name = match ready::Listener::bind() {
            Ok(l) => {
                let name = l.name().to_owned();
                tokio::spawn(async move {
                    loop {
                        if ready_tx.send(l.next().await).is_err() {
                            break;
                        }
                    }
                });
                Some(name)
            }
            Err(e) => {
                warn!("no readiness socket ({e}): engines count as up once started");
                None
            }
        };
        Ok(Supervisor {
            cli,
            opts: opts.clone(),
            checked: Arc::new(checked),
            slots: Vec::new(),
            exits_tx,
            exits,
            ready_name,
            ready,
            hung_tx,
            hung,
            announced: false,
            queue: ReloadQueue::default(),
            reload_wait: None,
            pid_names,
            start_report: None,
            metrics: metrics::ParentMetrics::default(),
            control: None,
            control_tx,
            control_rx,
            reload_waiters: Vec::new(),
            reload_waiters_next: Vec::new(),
            reload_applied: false,
        })
    }

    /// Starts running `engine` (once).
    fn add(&mut self, engine: Engine) {
        if let Some(i) = self.slots.iter().position(|s| s.engine == engine) {
            let slot = &mut self.slots[i];
            if slot.retired {
                // Needed again: started now, or when the one still stopping is gone.
                slot.retired = false;
                if slot.running.is_none() {
                    self.spawn(i);
                }
            }
            return;
        }
        let timing = watchdog::timing(engine, &self.checked.config, &self.checked.plans);
        self.slots.push(Slot {
            engine,
            timing: tokio_watch::Sender::new(timing),
            pid_path: pidfile::engine_path(self.cli, engine, &self.pid_names),
            running: None,
            owed: Duration::ZERO,
            restart_at: None,
            generation: 0,
            retired: false,
        });
        self.spawn(self.slots.len() - 1);
    }

    /// Starts the process of slot `i`.
    fn spawn(&mut self, i: usize) {
        let ready_name = self.ready_name.clone();
        let Some(slot) = self.slots.get_mut(i) else {
            return;
        };
        slot.restart_at = None;
        let mut cmd = std::process::Command::new("/proc/self/exe");
        let mut args = std::env::args_os();
        if let Some(arg0) = args.next() {
            std::os::unix::process::CommandExt::arg0(&mut cmd, arg0);
        }
        // A process group of its own: a terminal's ^C reaches the parent only, which stops the
        // engines itself (an engine dying first would be restarted).
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        cmd.args(args)
            .arg(format!("--engine={}", slot.engine.as_str()))
            .env(ENV_PARENT, std::process::id().to_string())
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .env_remove("WATCHDOG_PID");
        match &ready_name {
            Some(name) => cmd.env(ready::ENV_READY, name),
            None => cmd.env_remove(ready::ENV_READY),
        };
        // SIGTERM when the parent dies, set before the exec: no window where it is missing.
        keepalived_net::prepare_child(&mut cmd, None, Some(libc::SIGTERM));
        let mut cmd = tokio::process::Command::from(cmd);
        match cmd.spawn() {
            Ok(mut child) => {
                let pid = child.id().unwrap_or(0);
                info!("Starting {} child process, pid={pid}", slot.engine.title());
                self.metrics.started(slot.engine, pid);
                let pid_file = match PidFile::write(&slot.pid_path, pid) {
                    Ok(f) => Some(f),
                    Err(e) => {
                        error!("cannot write pid file {}: {e}", slot.pid_path.display());
                        None
                    }
                };
                slot.generation += 1;
                let (generation, tx) = (slot.generation, self.exits_tx.clone());
                tokio::spawn(async move {
                    let status = child.wait().await;
                    let _ = tx.send(Exit {
                        slot: i,
                        generation,
                        status,
                    });
                });
                slot.running = Some(Running {
                    pid,
                    started: Instant::now(),
                    ready: ready_name.is_none(),
                    _pid_file: pid_file,
                    heartbeat: None,
                    hung: false,
                });
                self.maybe_ready();
            }
            Err(e) => {
                error!(
                    "cannot start the {} child process: {e}",
                    slot.engine.title()
                );
                let (delay, owed) = backoff::restart_delay(Duration::ZERO, slot.owed);
                slot.owed = owed;
                slot.restart_at = Some(Instant::now() + delay.max(Duration::from_secs(1)));
            }
        }
    }

    /// Sends READY=1 the first time every engine is up.
    fn maybe_ready(&mut self) {
        let all_up = self
            .slots
            .iter()
            .filter(|s| !s.retired)
            .all(|s| s.running.as_ref().is_some_and(|r| r.ready));
        if all_up && !self.announced {
            self.announced = true;
            info!("All child processes are up");
            ready::notify(&[NotifyState::Ready, NotifyState::Status("running")]);
            if let Some(r) = self.start_report.take() {
                r.report(0);
            }
        }
    }

    /// Sends signal `signo` to every running engine (to one being retired, only SIGTERM and
    /// SIGKILL).
    fn signal_all(&self, signo: i32) {
        let stopping = signo == libc::SIGTERM || signo == libc::SIGKILL;
        for slot in &self.slots {
            if (stopping || !slot.retired)
                && let Some(r) = &slot.running
                && let Err(e) = keepalived_net::send_signal(r.pid, signo)
            {
                warn!(
                    "cannot signal the {} child process ({}): {e}",
                    slot.engine.title(),
                    r.pid
                );
            }
        }
    }

    /// The main loop, until SIGTERM/SIGINT or an engine that must not be restarted dies; then
    /// the engines are stopped. Returns the exit code.
    async fn serve(&mut self) -> i32 {
        let mut signals = match Signals::install() {
            Ok(s) => s,
            Err(e) => {
                error!("cannot install signal handlers: {e}");
                self.stop().await;
                return EXIT_FAILURE;
            }
        };
        self.metrics.listen(self.metrics_addr());
        self.open_control();
        if self.slots.is_empty() {
            info!("No configuration for any child process; waiting for a reload");
            self.maybe_ready();
        }
        let mut reload: Option<tokio::task::JoinHandle<Result<Loaded, Vec<String>>>> = None;
        // systemd's watchdog (WatchdogSec=, for this pid): pinged from this loop only, so a
        // stuck parent is restarted; an engine's hang is this loop's to handle.
        let sd_period =
            sd_notify::watchdog_enabled().map(|d| (d / 4).max(Duration::from_millis(1)));
        let mut sd_tick = tokio::time::interval(sd_period.unwrap_or(Duration::from_secs(3600)));
        sd_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let stop = loop {
            let next_restart = self.slots.iter().filter_map(|s| s.restart_at).min();
            let sleep_until =
                next_restart.unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400));
            let reload_deadline = self.reload_wait.as_ref().map(ReloadWait::deadline);
            tokio::select! {
                _ = signals.term.recv() => break Stop::Signal,
                _ = signals.int.recv() => break Stop::Signal,
                _ = signals.hup.recv() => {
                    if self.queue.request() {
                        reload = Some(self.start_reload());
                    } else {
                        info!("Reload requested during a reload: queued");
                    }
                }
                done = wait_reload(&mut reload) => {
                    reload = None;
                    self.finish_reload(done);
                    if self.queue.finished() {
                        self.reload_waiters.append(&mut self.reload_waiters_next);
                        reload = Some(self.start_reload());
                    }
                }
                Some(ask) = self.control_rx.recv() => match ask {
                    control::ControlAsk::Reload(tx) => {
                        if self.queue.request() {
                            self.reload_waiters.push(tx);
                            reload = Some(self.start_reload());
                        } else {
                            info!("Reload requested during a reload: queued");
                            self.reload_waiters_next.push(tx);
                        }
                    }
                },
                n = any_forwarded(&mut signals.forward) => {
                    info!("Passing signal {n} on to the child processes");
                    self.signal_all(n);
                }
                Some(exit) = self.exits.recv() => {
                    if let Some(stop) = self.handle_exit(exit) {
                        break stop;
                    }
                    self.reload_done();
                }
                Some((pid, report, stream)) = self.ready.recv() => match report {
                    Report::Ready(engine) => self.mark_ready(pid, engine),
                    Report::Reloaded(engine) => self.mark_reloaded(pid, engine),
                    Report::Heartbeat(engine) => self.watch_heartbeat(pid, engine, stream),
                },
                Some(hung) = self.hung.recv() => self.handle_hung(hung),
                _ = sd_tick.tick(), if sd_period.is_some() => {
                    ready::notify(&[NotifyState::Watchdog]);
                }
                () = tokio::time::sleep_until(reload_deadline.unwrap_or(sleep_until)),
                    if reload_deadline.is_some() =>
                {
                    if let Some(wait) = self.reload_wait.take() {
                        self.answer_applied_reload();
                        let pids: Vec<String> = wait.pending().map(|p| p.to_string()).collect();
                        warn!(
                            "Reload: child process(es) {} did not report within {:?}; ready anyway",
                            pids.join(" "),
                            reload::RELOAD_REPORT_TIMEOUT
                        );
                        ready::notify(&[NotifyState::Ready]);
                    }
                }
                () = tokio::time::sleep_until(sleep_until), if next_restart.is_some() => {
                    let now = Instant::now();
                    for i in 0..self.slots.len() {
                        if self.slots[i].restart_at.is_some_and(|at| at <= now) {
                            self.spawn(i);
                        }
                    }
                }
            }
        };
        self.stop().await;
        match stop {
            Stop::Signal => 0,
            Stop::Failed => EXIT_FAILURE,
        }
    }

    /// Serves the control socket where the command line or the configuration in force says
    /// (a reload that moves it moves the socket).
    fn open_control(&mut self) {
        let defs = &self.checked.config.global.defs;
        let parent_pid = pidfile::parent_path(self.cli, &self.pid_names);
        let path = control::path(self.cli, defs.control_socket.as_deref(), &parent_pid);
        if self.control.as_ref().is_some_and(|c| c.at(&path)) {
            return;
        }
        self.control = None;
        self.control = control::ControlSocket::open(
            &path,
            defs.control_socket_group.as_deref(),
            self.metrics.registry(),
            self.control_tx.clone(),
        );
    }

    /// Where the metrics are served: `--metrics-listen`, else `metrics_listen`.
    fn metrics_addr(&self) -> Option<std::net::SocketAddr> {
        self.cli
            .metrics_listen
            .or(self.checked.config.global.defs.metrics_listen)
    }

    fn mark_ready(&mut self, pid: u32, engine: Engine) {
        let found = self
            .slots
            .iter_mut()
            .find(|s| s.engine == engine && s.running.as_ref().is_some_and(|r| r.pid == pid));
        if let Some(r) = found.and_then(|s| s.running.as_mut()) {
            r.ready = true;
            self.maybe_ready();
            self.reload_done();
        } else {
            warn!(
                "readiness report from pid {pid}, not our {} child; ignored",
                engine.title()
            );
        }
    }

    /// Handles the death of an engine; returns `Some` when the parent must stop.
    fn handle_exit(&mut self, exit: Exit) -> Option<Stop> {
        let dont_respawn = self.cli.dont_respawn;
        let slot = self.slots.get_mut(exit.slot)?;
        if exit.generation != slot.generation {
            return None;
        }
        let running = slot.running.take()?;
        let (engine, pid, hung) = (slot.engine, running.pid, running.hung);
        self.metrics.ended(engine);
        let ran = running.started.elapsed();
        drop(running);
        if let Some(wait) = &mut self.reload_wait {
            wait.done(pid);
        }
        if slot.retired {
            let status = match &exit.status {
                Ok(s) => describe(*s),
                Err(e) => format!("unknown status ({e})"),
            };
            info!(
                "{} child process({pid}) {status}: no longer needed",
                engine.title()
            );
            return None;
        }
        let mut status = match &exit.status {
            Ok(s) => describe(*s),
            Err(e) => format!("unknown status ({e})"),
        };
        if hung {
            status.push_str(" (killed by the watchdog)");
        }
        let code = exit.status.as_ref().ok().and_then(|s| s.code());
        let title = engine.title();
        let stop = if matches!(code, Some(EXIT_CONFIG | EXIT_FATAL)) {
            error!("{title} child process({pid}) {status} (a permanent error): Terminating");
            true
        } else if dont_respawn {
            error!("{title} child process({pid}) {status}: Exiting");
            true
        } else {
            error!("{title} child process({pid}) {status}: Respawning");
            false
        };
        if engine == Engine::Vrrp && !self.cli.dont_release_vrrp {
            let removed = release_vrrp_leftovers(&self.checked.plans);
            if removed > 0 {
                info!("Removed {removed} leftovers of the VRRP child process({pid})");
            }
        }
        if stop {
            return Some(Stop::Failed);
        }
        let slot = self.slots.get_mut(exit.slot)?;
        let (delay, owed) = backoff::restart_delay(ran, slot.owed);
        slot.owed = owed;
        if delay.is_zero() {
            self.spawn(exit.slot);
        } else {
            info!(
                "Restart of {} process delayed {} seconds to limit respawn rate",
                engine.title(),
                delay.as_secs()
            );
            slot.restart_at = Some(Instant::now() + delay);
        }
        None
    }

    /// Stops every engine: SIGTERM, then SIGKILL after `child_wait_time`.
    async fn stop(&mut self) {
        info!("Stopping");
        // No more requests: the socket file goes now.
        self.control = None;
        ready::notify(&[NotifyState::Stopping]);
        for slot in &mut self.slots {
            slot.restart_at = None;
        }
        self.signal_all(libc::SIGTERM);
        let wait = self.checked.config.global.child_wait_time;
        let deadline = Instant::now() + wait;
        let mut killed = false;
        let mut unclean_vrrp = false;
        while self.slots.iter().any(|s| s.running.is_some()) {
            tokio::select! {
                Some(exit) = self.exits.recv() => {
                    if let Some(slot) = self.slots.get_mut(exit.slot)
                        && exit.generation == slot.generation
                        && let Some(r) = slot.running.take()
                    {
                        let status = match &exit.status {
                            Ok(s) => describe(*s),
                            Err(e) => format!("unknown status ({e})"),
                        };
                        info!("{} child process({}) {status}", slot.engine.title(), r.pid);
                        let clean = exit.status.as_ref().is_ok_and(ExitStatus::success);
                        unclean_vrrp |= slot.engine == Engine::Vrrp && !clean;
                    }
                }
                () = tokio::time::sleep_until(deadline), if !killed => {
                    warn!("child processes did not stop within {wait:?} (child_wait_time): killing them");
                    self.signal_all(libc::SIGKILL);
                    killed = true;
                }
                () = tokio::time::sleep_until(deadline + Duration::from_secs(5)), if killed => {
                    error!("child processes did not go away after SIGKILL");
                    break;
                }
            }
        }
        // A VRRP engine killed (or dead) on its way out may have left addresses behind.
        if (killed || unclean_vrrp)
            && !self.cli.dont_release_vrrp
            && self.slots.iter().any(|s| s.engine == Engine::Vrrp)
        {
            release_vrrp_leftovers(&self.checked.plans);
        }
    }
}

/// Removes what a VRRP engine left behind ([`crate::vrrp::cleanup`]); returns how many
/// things it removed (none in a build without VRRP, which never runs that engine).
fn release_vrrp_leftovers(plans: &[crate::plan::convert::InstancePlan]) -> usize {
    #[cfg(feature = "vrrp")]
    return crate::vrrp::cleanup::remove_leftovers(plans);
    #[cfg(not(feature = "vrrp"))]
    {
        let _ = plans;
        0
    }
}

/// The end of the reload in progress, or never without one.
async fn wait_reload<T>(
    reload: &mut Option<tokio::task::JoinHandle<T>>,
) -> Result<T, tokio::task::JoinError> {
    match reload {
        Some(h) => h.await,
        None => std::future::pending().await,
    }
}

/// `exited with status 1`, `exited due to signal 9 (SIGKILL)`.
fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt as _;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(sig)) => {
            let name = nix::sys::signal::Signal::try_from(sig)
                .map_or_else(|_| format!("signal {sig}"), |s| s.as_str().to_owned());
            format!("exited due to signal {sig} ({name})")
        }
        (None, None) => format!("ended ({status})"),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;

    fn config(text: &str) -> Config {
        keepalived_config::read_str("k.conf", text, &PreprocessOptions::default()).config
    }

    fn run_with(args: &[&str], text: &str) -> Vec<Engine> {
        let cli = Cli::try_parse_from(std::iter::once("keepalived-rs").chain(args.iter().copied()))
            .expect("arguments");
        wanted(&cli, &config(text))
    }

    const VRRP: &str = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n \
                        priority 100\n virtual_ipaddress {\n  192.0.2.10/24\n }\n}\n";
    const LVS: &str = "virtual_server 192.0.2.10 80 {\n protocol TCP\n \
                       real_server 198.51.100.1 80 {\n  TCP_CHECK {\n  }\n }\n}\n";
    const STATIC: &str = "static_ipaddress {\n 198.51.100.7/24 dev eth0\n}\n";

    #[test]
    fn engines_follow_the_configuration_and_the_options() {
        let both = format!("{VRRP}{LVS}");
        assert_eq!(run_with(&[], &both), [Engine::Vrrp, Engine::Checker]);
        assert_eq!(run_with(&["-P"], &both), [Engine::Vrrp]);
        assert_eq!(run_with(&["-C"], &both), [Engine::Checker]);
        assert_eq!(
            run_with(&["-P", "-C"], &both),
            [Engine::Vrrp, Engine::Checker]
        );
        // Only what the configuration needs, unless --all.
        assert_eq!(run_with(&[], VRRP), [Engine::Vrrp]);
        assert_eq!(run_with(&[], LVS), [Engine::Checker]);
        assert_eq!(run_with(&[], STATIC), [Engine::Vrrp]);
        assert_eq!(run_with(&[], ""), []);
        assert_eq!(
            run_with(&["--all"], ""),
            [Engine::Vrrp, Engine::Checker, Engine::Bfd]
        );
        assert_eq!(
            run_with(&["--all", "-C"], VRRP),
            [Engine::Checker, Engine::Bfd]
        );
        assert_eq!(run_with(&["-C"], VRRP), []);
    }

    #[test]
    fn bfd_runs_with_a_bfd_instance_unless_minus_b() {
        const BFD: &str = "bfd_instance b1 {\n neighbor_ip 192.0.2.2\n}\n";
        let with = format!("{VRRP}{BFD}");
        assert_eq!(run_with(&[], &with), [Engine::Vrrp, Engine::Bfd]);
        // -P and -C choose between VRRP and the checkers only, as in keepalived.
        assert_eq!(run_with(&["-C"], &with), [Engine::Bfd]);
        assert_eq!(run_with(&["-B"], &with), [Engine::Vrrp]);
        assert_eq!(
            run_with(&["--all", "-B"], ""),
            [Engine::Vrrp, Engine::Checker]
        );
    }
}
