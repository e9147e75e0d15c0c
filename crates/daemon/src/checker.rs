//! The checker runtime: runs the health checks of every real server on a thread and tokio
//! runtime of its own (a slow or hanging check never shares a thread with the VRRP engine),
//! drives the pure [`CheckerEngine`], logs real-server changes in keepalived's words, runs
//! `notify_up` / `notify_down` and sends the e-mail alerts ([`crate::mail`]); answers requests
//! for the data dump ([`CheckerHandle::snapshots`]).
//!
//! Network probes come from `keepalived_checker::probe`; MISC_CHECK scripts run through the
//! daemon's script runner and FILE_CHECK values come from the `track_file` watcher. Without IPVS
//! in the kernel (as on this project's test machines) the checks still run, log and notify, with
//! one warning; the balancer ([`crate::lb`]) still computes and logs every IPVS change.
//!
//! [`CheckerHandle::reload`] applies a new configuration in place (unchanged checks keep their
//! state, only the IPVS difference is applied); `ha_suspend` pauses the checks of virtual
//! servers whose address is not on this host ([`crate::ha_suspend`]); at stop the `omega`
//! scripts run and our IPVS entries are removed unless `-I` ([`Options::release_ipvs`]).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use keepalived_checker::logic::{
    Action, CheckId, CheckPlan, CheckSpec, CheckerEngine, Instant, Outcome, RsEvent, RsEventKind,
    RsId, plan,
};
use keepalived_checker::probe::spec::Prober;
use keepalived_config::Config;
use keepalived_config::model::lvs::{CheckerKind, VsAddress};
use keepalived_lb::table::Health;
use keepalived_vrrp::{TrackerId, TrackerValue};
use tokio::sync::{Semaphore, mpsc, oneshot, watch};
use tracing::{debug, info, warn};

use crate::dump::{CheckerSnapshot, checker_snapshot};
use crate::lb::Balancer;
use crate::mail::{Mail, MailConfig, Mailer, checker_alert};
use crate::script::{PreparedScript, RunOutcome, ScriptEnv};
use crate::vrrp::track_file;

/// How one check's attempts are made.
enum Probe {
    /// A network probe.
    Net(Arc<Prober>),
    /// MISC_CHECK: a script (`misc_dynamic`: exit 2..=255 asks for weight `code - 2`).
    Misc {
        script: Arc<PreparedScript>,
        dynamic: bool,
    },
    /// Reported by a watcher (FILE_CHECK) or not supported here (BFD_CHECK).
    Passive,
    /// Cannot run (bad option, unknown user, insecure script): every attempt fails with this.
    Broken(String),
}

impl Probe {
    fn new(spec: &CheckSpec, env: &ScriptEnv) -> Probe {
        match &spec.kind {
            CheckerKind::Misc(m) => {
                match env.prepare(format!("MISC_CHECK({})", m.script.command), &m.script) {
                    Ok(script) => Probe::Misc {
                        script,
                        dynamic: m.dynamic,
                    },
                    Err(e) => Probe::Broken(e.to_string()),
                }
            }
            CheckerKind::File(_) | CheckerKind::Bfd(_) => Probe::Passive,
            _ => match Prober::new(spec) {
                Ok(Prober::External) => Probe::Broken(format!(
                    "{} is not supported by this build",
                    spec.type_name()
                )),
                Ok(p) => Probe::Net(Arc::new(p)),
                Err(e) => Probe::Broken(e.to_string()),
            },
        }
    }

    /// One attempt, bounded by `timeout` whatever the probe does.
    async fn run(&self, timeout: Duration) -> Outcome {
        let attempt = async {
            match self {
                Probe::Net(p) => p.run().await,
                Probe::Misc { script, dynamic } => {
                    misc_outcome(script.run(&[], Some(timeout)).await, *dynamic)
                }
                Probe::Passive => Outcome::Failure {
                    reason: "no result reported".to_owned(),
                },
                Probe::Broken(why) => Outcome::Failure {
                    reason: why.clone(),
                },
            }
        };
        // The probes honour their own timeouts; this only guards against one that does not.
        match tokio::time::timeout(timeout + Duration::from_secs(1), attempt).await {
            Ok(outcome) => outcome,
            Err(_) => Outcome::Failure {
                reason: format!("no result within {timeout:?}"),
            },
        }
    }
}

/// keepalived's reading of a MISC_CHECK exit status.
fn misc_outcome(run: RunOutcome, dynamic: bool) -> Outcome {
    match run {
        RunOutcome::Exited(0) => Outcome::Success,
        RunOutcome::Exited(code) if dynamic && (2..=255).contains(&code) => {
            Outcome::Weight(u32::try_from(code - 2).unwrap_or(0))
        }
        RunOutcome::Exited(code) => Outcome::Failure {
            reason: format!("exited with status {code}"),
        },
        RunOutcome::TimedOut => Outcome::Failure {
            reason: "timed out (killed)".to_owned(),
        },
        RunOutcome::Signalled(sig) => Outcome::Failure {
            reason: format!("killed by signal {sig}"),
        },
        RunOutcome::NotStarted(e) => Outcome::Failure {
            reason: format!("not started: {e}"),
        },
    }
}

/// A request for the checker's data dump: the checker answers on the channel.
pub type CheckerSnapshotRequest = oneshot::Sender<CheckerSnapshot>;

/// How the checker thread runs.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Remove our IPVS entries at stop (false with `-I` / `--dont-release-ipvs`).
    pub release_ipvs: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { release_ipvs: true }
    }
}

/// Counters of the checker thread, readable from any thread.
#[derive(Debug, Default)]
pub struct CheckerStats {
    /// Configurations applied by [`CheckerHandle::reload`].
    pub reloads: AtomicU64,
    /// IPVS changes applied (services and real servers added, edited, removed).
    pub ipvs_changes: AtomicU64,
    /// Netlink requests sent to IPVS (0 without IPVS in the kernel).
    pub ipvs_messages: AtomicU64,
}

/// The running checker thread.
pub struct CheckerHandle {
    stop: watch::Sender<bool>,
    reload: mpsc::UnboundedSender<Arc<Config>>,
    stats: Arc<CheckerStats>,
    thread: std::thread::JoinHandle<()>,
    snapshots: mpsc::UnboundedSender<CheckerSnapshotRequest>,
}

impl CheckerHandle {
    /// Where to ask for the checker's data dump (answered between two checker events).
    pub fn snapshots(&self) -> mpsc::UnboundedSender<CheckerSnapshotRequest> {
        self.snapshots.clone()
    }

    /// Applies a new configuration (already read and validated) to the running checks: checks
    /// whose target and parameters are unchanged keep their state (up/down, retry counters,
    /// timers), new ones start, removed ones stop; the IPVS table is recomputed and only the
    /// difference applied (an unchanged real server keeps its entry; one changed weight is one
    /// netlink request). Returns at once; the checker thread applies it.
    pub fn reload(&self, config: Arc<Config>) {
        if self.reload.send(config).is_err() {
            warn!("checkers: reload after the checker thread ended");
        }
    }

    /// Like [`CheckerHandle::reload`]; the future returned completes once the checker thread
    /// has applied it (true), or after `within` (false).
    pub fn reload_applied(
        &self,
        config: Arc<Config>,
        within: Duration,
    ) -> impl std::future::Future<Output = bool> + Send + 'static {
        let stats = self.stats.clone();
        let target = stats.reloads.load(Ordering::Relaxed) + 1;
        self.reload(config);
        async move {
            let deadline = tokio::time::Instant::now() + within;
            while stats.reloads.load(Ordering::Relaxed) < target {
                if tokio::time::Instant::now() >= deadline {
                    return false;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            true
        }
    }

    /// The thread's counters.
    #[allow(dead_code)]
    pub fn stats(&self) -> &CheckerStats {
        &self.stats
    }

    /// Stops the checks, releases IPVS (see [`Options::release_ipvs`]) and waits for the
    /// thread (at most `wait`).
    pub fn stop(self, wait: Duration) {
        let _ = self.stop.send(true);
        let deadline = std::time::Instant::now() + wait;
        while !self.thread.is_finished() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        if self.thread.is_finished() {
            let _ = self.thread.join();
        } else {
            warn!("checkers did not stop within {wait:?}");
        }
    }
}

/// Starts the checker thread when the configuration has virtual servers.
pub fn start_with(config: Arc<Config>, options: Options) -> Option<CheckerHandle> {
    if config.lvs.virtual_servers.is_empty() {
        return None;
    }
    let (stop, stop_rx) = watch::channel(false);
    let (snapshots, snapshot_rx) = mpsc::unbounded_channel();
    let (reload, reload_rx) = mpsc::unbounded_channel();
    let stats = Arc::new(CheckerStats::default());
    let thread_stats = stats.clone();
    let thread = std::thread::Builder::new()
        .name("checker".to_owned())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            match runtime {
                Ok(rt) => rt.block_on(run(
                    config,
                    options,
                    stop_rx,
                    reload_rx,
                    thread_stats,
                    snapshot_rx,
                )),
                Err(e) => warn!("checkers not started: no runtime: {e}"),
            }
        });
    match thread {
        Ok(thread) => Some(CheckerHandle {
            stop,
            reload,
            stats,
            thread,
            snapshots,
        }),
        Err(e) => {
            warn!("checkers not started: {e}");
            None
        }
    }
}

/// The kernel's IPVS; like keepalived, asks for the module (`modprobe ip_vs`) when its generic
/// netlink family is missing.
pub(crate) fn open_ipvs() -> Result<keepalived_net::Ipvs, keepalived_net::IpvsError> {
    match keepalived_net::Ipvs::open() {
        Err(keepalived_net::IpvsError::Unavailable) => {
            let loaded = std::process::Command::new("modprobe")
                .arg("ip_vs")
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if loaded {
                keepalived_net::Ipvs::open()
            } else {
                Err(keepalived_net::IpvsError::Unavailable)
            }
        }
        other => other,
    }
}

/// Descriptors kept free of checks for the rest of the daemon (VRRP sockets, logs, scripts).
const FD_RESERVE: u64 = 256;

/// How many attempts may be in flight at once: each holds a socket (or a script's pipes), so
/// the soft RLIMIT_NOFILE is first raised to the hard limit and three quarters of it, less
/// [`FD_RESERVE`], are shared by the checks. Attempts beyond that wait for a slot (their
/// timeout starts once they have one) instead of failing with "Too many open files" and
/// marking a healthy real server down.
fn attempt_slots() -> usize {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return 1024;
    };
    let soft = if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
        hard
    } else {
        soft
    };
    let slots = soft.saturating_sub(FD_RESERVE) / 4 * 3;
    usize::try_from(slots.max(16)).unwrap_or(usize::MAX)
}

/// `[192.0.2.10]:tcp:80`, keepalived's way of naming a service.
fn service(addr: SocketAddr) -> String {
    format!("[{}]:tcp:{}", addr.ip(), addr.port())
}

fn vs_name(config: &Config, vs: usize) -> String {
    match config.lvs.virtual_servers.get(vs).map(|v| &v.address) {
        Some(VsAddress::Ip(a)) => service(*a),
        Some(VsAddress::Fwmark(m)) => format!("FWM {m}"),
        Some(VsAddress::Group(g)) => format!("group {g}"),
        None => format!("#{vs}"),
    }
}

/// What runs the checks of one configuration: the probes by check id, the FILE_CHECK watcher,
/// the attempts in flight.
struct Checks {
    config: Arc<Config>,
    env: ScriptEnv,
    probes: Vec<Arc<Probe>>,
    timeouts: Vec<Duration>,
    /// Attempts in flight: token → the check it reports for (remapped at a reload).
    inflight: HashMap<u64, CheckId>,
    next_token: u64,
    file_task: Option<tokio::task::JoinHandle<()>>,
    file_checks: HashMap<TrackerId, CheckId>,
    file_rx: mpsc::UnboundedReceiver<keepalived_vrrp::track::TrackerUpdate>,
}

impl Checks {
    /// Probes for every check of `plan` (reusing `reuse[i]` when given), and the FILE_CHECK
    /// watcher.
    fn new(config: Arc<Config>, plan: &CheckPlan, reuse: &[Option<Arc<Probe>>]) -> Checks {
        let env = ScriptEnv::from_defs(&config.global.defs);
        let probes = plan
            .checks
            .iter()
            .enumerate()
            .map(|(i, spec)| match reuse.get(i) {
                Some(Some(p)) => p.clone(),
                _ => Arc::new(Probe::new(spec, &env)),
            })
            .collect();
        let timeouts = plan.checks.iter().map(CheckSpec::attempt_timeout).collect();
        let (file_tx, file_rx) = mpsc::unbounded_channel();
        let files = file_checks(&config, &plan.checks);
        let file_task = (!files.is_empty()).then(|| {
            let watched = files.iter().map(|(id, tf, _)| (*id, tf.clone())).collect();
            track_file::spawn(watched, file_tx)
        });
        let file_checks = files.iter().map(|(id, _, check)| (*id, *check)).collect();
        Checks {
            config,
            env,
            probes,
            timeouts,
            inflight: HashMap::new(),
            next_token: 0,
            file_task,
            file_checks,
            file_rx,
        }
    }

    /// Starts one attempt of `id`; its outcome comes back on `tx` with a token.
    fn spawn(
        &mut self,
        id: CheckId,
        slots: &Arc<Semaphore>,
        tx: &mpsc::UnboundedSender<(u64, Outcome)>,
    ) {
        let (Some(probe), Some(timeout)) = (self.probes.get(id.0), self.timeouts.get(id.0)) else {
            return;
        };
        let token = self.next_token;
        self.next_token += 1;
        self.inflight.insert(token, id);
        let (probe, timeout, tx, slots) = (probe.clone(), *timeout, tx.clone(), slots.clone());
        tokio::spawn(async move {
            // The semaphore is never closed; without a slot the attempt still runs.
            let _slot = slots.acquire_owned().await.ok();
            let outcome = probe.run(timeout).await;
            let _ = tx.send((token, outcome));
        });
    }

    fn stop_watcher(&mut self) {
        if let Some(t) = self.file_task.take() {
            t.abort();
        }
    }
}

async fn run(
    config: Arc<Config>,
    options: Options,
    mut stop: watch::Receiver<bool>,
    mut reloads: mpsc::UnboundedReceiver<Arc<Config>>,
    stats: Arc<CheckerStats>,
    mut snapshots: mpsc::UnboundedReceiver<CheckerSnapshotRequest>,
) {
    let plan = plan(&config);
    let ipvs = match open_ipvs() {
        Ok(ipvs) => Some(ipvs),
        Err(e) => {
            warn!(
                "IPVS is not available in this kernel ({e}): health checks run, log and notify, \
                 but no virtual server is programmed"
            );
            None
        }
    };
    let mailer = MailConfig::from_defs(&config.global.defs).map(Mailer::start);
    info!(
        "Checkers: {} checks of {} real servers ({} identical checks shared)",
        plan.checks.len(),
        plan.servers.len(),
        plan.merged
    );
    let mut checks = Checks::new(config.clone(), &plan, &[]);
    let slots = Arc::new(Semaphore::new(attempt_slots()));
    debug!(
        "checkers: at most {} attempts in flight",
        slots.available_permits()
    );
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<(u64, Outcome)>();

    let mut balancer = match ipvs {
        Some(ipvs) => Balancer::with_kernel(config.clone(), ipvs),
        None => Balancer::new(config.clone()),
    };
    let epoch = tokio::time::Instant::now();
    let now = || Instant::from_duration(epoch.elapsed());
    let seed = fastrand::u64(..);
    let mut engine = CheckerEngine::new(plan, seed);
    engine.handle_start(now());
    let mut addrs = None;
    if crate::ha_suspend::needed(&config) {
        addrs = crate::ha_suspend::watch_addresses();
    }
    if let Some(rx) = &addrs {
        crate::ha_suspend::apply(&config, &rx.borrow(), &mut engine, now());
    }
    // The first sync programs the virtual servers even when no real server reports anything.
    let mut changed = true;
    loop {
        while let Some(action) = engine.poll_action() {
            match action {
                Action::Run(id) => checks.spawn(id, &slots, &out_tx),
                Action::Event(ev) => {
                    report(&checks.config, &checks.env, &ev);
                    mail(&checks.config, mailer.as_ref(), &ev);
                    balancer.note(&ev);
                    changed = true;
                }
                Action::LogFailure(f) => {
                    let what = engine
                        .plan()
                        .checks
                        .get(f.check.0)
                        .map_or_else(String::new, CheckSpec::describe);
                    info!(
                        "{what} failed (attempt {} of {}): {}",
                        f.attempt, f.attempts, f.reason
                    );
                }
            }
        }
        if changed {
            let applied = balancer.sync(&checks.env);
            for change in balancer.take_quorum_changes() {
                mail_quorum(&checks.config, mailer.as_ref(), change);
            }
            stats
                .ipvs_changes
                .fetch_add(applied.len() as u64, Ordering::Relaxed);
            stats
                .ipvs_messages
                .store(balancer.messages_sent(), Ordering::Relaxed);
            changed = false;
        }
        let sleep_until = engine
            .poll_timeout()
            .map(|at| epoch + at.since_epoch())
            .unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    break;
                }
            }
            Some(new) = reloads.recv() => {
                reload(&mut engine, &mut checks, &mut balancer, new.clone(), now());
                if addrs.is_none() && crate::ha_suspend::needed(&new) {
                    addrs = crate::ha_suspend::watch_addresses();
                }
                if let Some(rx) = &addrs {
                    crate::ha_suspend::apply(&new, &rx.borrow(), &mut engine, now());
                }
                stats.reloads.fetch_add(1, Ordering::Relaxed);
                changed = true;
            }
            Ok(()) = address_change(&mut addrs) => {
                if let Some(rx) = &addrs {
                    crate::ha_suspend::apply(&checks.config, &rx.borrow(), &mut engine, now());
                }
            }
            Some((token, outcome)) = out_rx.recv() => {
                if let Some(id) = checks.inflight.remove(&token) {
                    engine.handle_outcome(now(), id, outcome);
                }
            }
            Some(update) = checks.file_rx.recv() => {
                if let (Some(check), TrackerValue::Value(v)) =
                    (checks.file_checks.get(&update.id), update.value)
                {
                    engine.handle_outcome(now(), *check, Outcome::FileValue(v));
                }
            }
            () = tokio::time::sleep_until(sleep_until) => engine.handle_timeout(now()),
            Some(reply) = snapshots.recv() => {
                let _ = reply.send(checker_snapshot(&engine, service, |v| vs_name(&checks.config, v)));
            }
        }
    }
    checks.stop_watcher();
    omega(&balancer, &checks.env).await;
    balancer.release(options.release_ipvs);
    stats
        .ipvs_messages
        .store(balancer.messages_sent(), Ordering::Relaxed);
    if let Some(m) = &mailer {
        m.shutdown(tokio::time::Instant::now() + Duration::from_secs(1))
            .await;
    }
    debug!("checkers stopped");
}

/// The next change of the host's addresses (never, without a watch).
async fn address_change(
    addrs: &mut Option<watch::Receiver<std::collections::HashSet<std::net::IpAddr>>>,
) -> Result<(), watch::error::RecvError> {
    match addrs {
        Some(rx) => rx.changed().await,
        None => std::future::pending().await,
    }
}

/// Applies a reloaded configuration: the engine keeps what did not change, the probes of kept
/// checks are reused, attempts in flight report under their new ids (or are ignored when their
/// check is gone), and the balancer takes the new configuration with every real server's
/// current health (the next sync applies only the difference).
fn reload(
    engine: &mut CheckerEngine,
    checks: &mut Checks,
    balancer: &mut Balancer,
    config: Arc<Config>,
    now: Instant,
) {
    let new_plan = plan(&config);
    let mut reuse: Vec<Option<Arc<Probe>>> = vec![None; new_plan.checks.len()];
    let old_probes = std::mem::take(&mut checks.probes);
    let reloaded = engine.reload(now, new_plan);
    for (old, new) in reloaded.checks.iter().enumerate() {
        if let (Some(new), Some(p)) = (new, old_probes.get(old))
            && let Some(slot) = reuse.get_mut(new.0)
        {
            *slot = Some(p.clone());
        }
    }
    checks.stop_watcher();
    let mut fresh = Checks::new(config.clone(), engine.plan(), &reuse);
    fresh.next_token = checks.next_token;
    fresh.inflight = checks
        .inflight
        .drain()
        .filter_map(|(token, old)| Some((token, (*reloaded.checks.get(old.0)?)?)))
        .collect();
    *checks = fresh;
    let health: Vec<_> = engine
        .plan()
        .servers
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let st = engine.server_status(RsId(i))?;
            Some((
                (s.vs, s.rs),
                Health {
                    up: st.up,
                    weight: st.weight,
                },
            ))
        })
        .collect();
    balancer.reload(config, health);
    info!(
        "Reloaded checkers: {} checks kept, {} started, {} stopped",
        reloaded.kept, reloaded.started, reloaded.dropped
    );
}

/// Runs the `omega` scripts of a shutdown and waits for them (at most one second).
async fn omega(balancer: &Balancer, env: &ScriptEnv) {
    let mut runs = Vec::new();
    for (label, script) in balancer.omega_scripts() {
        match env.prepare(label.clone(), &script) {
            Ok(s) => runs.push(tokio::spawn(async move {
                let _ = s.run(&[], None).await;
            })),
            Err(e) => warn!("{label}: {e}"),
        }
    }
    if runs.is_empty() {
        return;
    }
    let all = async {
        for r in runs {
            let _ = r.await;
        }
    };
    if tokio::time::timeout(Duration::from_secs(1), all)
        .await
        .is_err()
    {
        warn!("omega scripts still running at shutdown");
    }
}

/// The FILE_CHECKs with their `track_file` blocks, each watched under its own tracker id.
fn file_checks(
    config: &Config,
    checks: &[CheckSpec],
) -> Vec<(
    TrackerId,
    keepalived_config::model::vrrp::TrackFile,
    CheckId,
)> {
    let mut out = Vec::new();
    for (i, spec) in checks.iter().enumerate() {
        let CheckerKind::File(f) = &spec.kind else {
            continue;
        };
        match config
            .vrrp
            .track_files
            .iter()
            .find(|t| t.name == f.track_file)
        {
            Some(tf) => out.push((TrackerId(out.len()), tf.clone(), CheckId(i))),
            None => warn!(
                "FILE_CHECK: track_file {} is not configured; the check never passes",
                f.track_file
            ),
        }
    }
    out
}

/// Queues the e-mail alert of a real server going up or down, when its `smtp_alert` (or its
/// virtual server's, or the global defaults) asks for one.
fn mail(config: &Config, mailer: Option<&Mailer>, ev: &RsEvent) {
    let Some(mailer) = mailer else { return };
    let up = match ev.kind {
        RsEventKind::Up => true,
        RsEventKind::Down => false,
        RsEventKind::Weight(_) => return,
    };
    if ev.initial {
        return;
    }
    let vs = config.lvs.virtual_servers.get(ev.vs);
    let rs_alert = vs
        .and_then(|v| v.real_servers.get(ev.rs))
        .and_then(|r| r.smtp_alert);
    if !checker_alert(&config.global.defs, rs_alert, vs.and_then(|v| v.smtp_alert)) {
        return;
    }
    let body = if up {
        "=> CHECK succeed on service <=".to_owned()
    } else if ev.reason.is_empty() {
        "=> CHECK failed on service <=".to_owned()
    } else {
        format!("=> CHECK failed on service : {} <=", ev.reason)
    };
    mailer.send(Mail::real_server(
        &mailer.config().router_id,
        &service(ev.address),
        &vs_name(config, ev.vs),
        up,
        &body,
    ));
}

/// Queues the e-mail alert of a virtual server gaining or losing its quorum, when its
/// `smtp_alert` (or the global defaults for checkers) asks for one.
fn mail_quorum(config: &Config, mailer: Option<&Mailer>, change: crate::lb::QuorumChange) {
    let Some(mailer) = mailer else { return };
    let Some(vs) = config.lvs.virtual_servers.get(change.vs) else {
        return;
    };
    if !checker_alert(&config.global.defs, None, vs.smtp_alert) {
        return;
    }
    mailer.send(Mail::virtual_server(
        &mailer.config().router_id,
        &vs_name(config, change.vs),
        change.held,
        (
            vs.quorum,
            vs.hysteresis,
            change.threshold,
            change.live_weight,
        ),
    ));
}

/// Logs a real server's change as keepalived does and runs its notify script.
fn report(config: &Config, env: &ScriptEnv, ev: &RsEvent) {
    let rs = service(ev.address);
    let vs = vs_name(config, ev.vs);
    match ev.kind {
        RsEventKind::Up if ev.initial => debug!("{rs} of VS {vs} starts up"),
        RsEventKind::Down if ev.initial => info!("{rs} of VS {vs} starts down (alpha)"),
        RsEventKind::Up => {
            info!("{}", ev.reason);
            info!("Adding service {rs} to VS {vs} (weight {})", ev.weight);
        }
        RsEventKind::Down => {
            info!("{}", ev.reason);
            info!("Removing service {rs} from VS {vs}");
        }
        RsEventKind::Weight(w) => {
            info!(
                "Changing weight of service {rs} in VS {vs} to {w} ({})",
                ev.reason
            );
        }
    }
    if ev.initial {
        return;
    }
    if let Some(script) = &ev.notify {
        let label = match ev.kind {
            RsEventKind::Up => "notify_up",
            _ => "notify_down",
        };
        match env.prepare(label, script) {
            Ok(prepared) => {
                tokio::spawn(async move {
                    let outcome = prepared.run(&[], None).await;
                    if !outcome.is_success() {
                        debug!("{label}: {outcome}");
                    }
                });
            }
            Err(e) => warn!("{label} for {rs}: {e}"),
        }
    }
}

#[cfg(test)]
#[path = "checker_tests.rs"]
mod tests;
