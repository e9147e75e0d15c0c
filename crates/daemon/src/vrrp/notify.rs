//! Notifications of VRRP state changes: the `notify_*` scripts of instances and sync groups, and
//! the notify FIFOs (`notify_fifo`, `vrrp_notify_fifo`, each with its optional reader script).
//!
//! The driver calls the [`Notifier`] on every transition; no call blocks or waits:
//! - Scripts are queued to one task per instance or group, which runs them in order (the
//!   state's own script, then the generic `notify` with `INSTANCE|GROUP NAME STATE PRIORITY`
//!   appended, as keepalived does). The task waits for each script up to
//!   [`Notifier::order_wait`] before starting the next; a script still running then is left to
//!   finish on its own (logged), so a hung script delays later notifications of its instance by
//!   that much and nothing else. At most [`QUEUE_LEN`] transitions wait per instance; more are
//!   dropped and logged.
//! - FIFO lines (`INSTANCE "VI_1" MASTER 100`) are written at once with non-blocking writes.
//!   The pipe's buffer (64 KiB on Linux, some 2,000 lines) is the only queue: when nobody reads
//!   and it is full, lines are dropped (counted, logged once per episode), never waited for.
//! - E-mail alerts (`smtp_alert`) are queued to the [`Mailer`]'s task, once per state entered
//!   (not again for the same state, none for FAULT with `no_email_faults`), as keepalived does.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write as _;
use std::os::unix::fs::{FileTypeExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use keepalived_config::Config;
use keepalived_config::model::common::Script;
use keepalived_config::model::global::NotifyFifo;
use keepalived_config::model::vrrp::Notify;
use keepalived_vrrp::State;
use nix::sys::signal::Signal;
use nix::sys::stat::Mode;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

use crate::services::mail::{Mail, MailConfig, Mailer, vrrp_alert, vrrp_words};
use crate::services::script::{PreparedScript, RunOutcome, ScriptEnv};

/// Transitions that may wait per instance or group before new ones are dropped.
pub const QUEUE_LEN: usize = 64;

/// Default for [`Notifier::order_wait`].
pub const DEFAULT_ORDER_WAIT: Duration = Duration::from_secs(10);

/// How long a FIFO reader script gets to exit after SIGTERM at shutdown before SIGKILL.
const FIFO_SCRIPT_GRACE: Duration = Duration::from_secs(1);

/// The states notifications name (keepalived's words).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotifyState {
    /// `MASTER`.
    Master,
    /// `BACKUP`.
    Backup,
    /// `FAULT`.
    Fault,
    /// `STOP` (instances only).
    Stop,
    /// `DELETED`: removed by a reload with `notify_deleted` (instances only).
    Deleted,
}

impl NotifyState {
    /// keepalived's word for the state.
    pub fn word(self) -> &'static str {
        match self {
            NotifyState::Master => "MASTER",
            NotifyState::Backup => "BACKUP",
            NotifyState::Fault => "FAULT",
            NotifyState::Stop => "STOP",
            NotifyState::Deleted => "DELETED",
        }
    }

    /// The notification for an engine state (`None` for Initialize, which has none).
    pub fn from_state(state: State) -> Option<Self> {
        match state {
            State::Master => Some(NotifyState::Master),
            State::Backup => Some(NotifyState::Backup),
            State::Fault => Some(NotifyState::Fault),
            State::Stop => Some(NotifyState::Stop),
            State::Initialize => None,
        }
    }
}

/// The argv keepalived gives the generic `notify` script: the configured argv, then
/// `INSTANCE|GROUP`, the name, the state and the priority (0 for groups).
pub fn notify_args(group: bool, name: &str, state: NotifyState, priority: u8) -> Vec<String> {
    vec![
        if group { "GROUP" } else { "INSTANCE" }.to_owned(),
        name.to_owned(),
        state.word().to_owned(),
        priority.to_string(),
    ]
}

/// One FIFO line, newline included: `INSTANCE "VI_1" MASTER 100`.
pub fn fifo_line(group: bool, name: &str, event: &str, priority: u8) -> String {
    let kind = if group { "GROUP" } else { "INSTANCE" };
    format!("{kind} \"{name}\" {event} {priority}\n")
}

/// Counters of the notifier.
#[cfg(test)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NotifierStats {
    /// Lines written to a FIFO (once per FIFO).
    pub fifo_lines: u64,
    /// Lines dropped because a FIFO was full.
    pub fifo_dropped: u64,
    /// Transitions whose scripts were dropped because the queue was full.
    pub scripts_dropped: u64,
}

/// The scripts of one instance or sync group.
#[derive(Debug, Default)]
struct Scripts {
    master: Option<Arc<PreparedScript>>,
    backup: Option<Arc<PreparedScript>>,
    fault: Option<Arc<PreparedScript>>,
    stop: Option<Arc<PreparedScript>>,
    any: Option<Arc<PreparedScript>>,
    /// `notify_deleted` given (with its script, if any).
    deleted: Option<Option<Arc<PreparedScript>>>,
    rx_lower_pri: Option<Arc<PreparedScript>>,
}

impl Scripts {
    fn is_empty(&self) -> bool {
        self.master.is_none()
            && self.backup.is_none()
            && self.fault.is_none()
            && self.stop.is_none()
            && self.any.is_none()
            && self.deleted.as_ref().is_none_or(Option::is_none)
            && self.rx_lower_pri.is_none()
    }

    fn for_state(&self, state: NotifyState) -> Option<&Arc<PreparedScript>> {
        match state {
            NotifyState::Master => self.master.as_ref(),
            NotifyState::Backup => self.backup.as_ref(),
            NotifyState::Fault => self.fault.as_ref(),
            NotifyState::Stop => self.stop.as_ref(),
            NotifyState::Deleted => self.deleted.as_ref().and_then(Option::as_ref),
        }
    }
}

/// One script run of a transition.
type Job = Vec<(Arc<PreparedScript>, Vec<String>)>;

/// An instance or group with its scripts and the queue to its worker.
#[derive(Debug)]
struct Target {
    scripts: Scripts,
    queue: Mutex<Option<mpsc::Sender<Job>>>,
    priority_changes: bool,
    /// `smtp_alert` (resolved against the global defaults).
    smtp_alert: bool,
    /// The state of the last e-mail sent (none is sent twice in a row for the same state).
    last_mail: Mutex<Option<NotifyState>>,
}

/// An open notify FIFO.
#[derive(Debug)]
struct Fifo {
    path: PathBuf,
    file: File,
    created: bool,
    /// The last write was dropped (logged; the next drop is not).
    full: AtomicBool,
}

/// Sends VRRP notifications: scripts and FIFO lines. Share it (`Arc`); every method takes
/// `&self` and returns at once.
#[derive(Debug)]
pub struct Notifier {
    instances: HashMap<String, Target>,
    groups: HashMap<String, Target>,
    fifos: Vec<Fifo>,
    order_wait: Duration,
    workers: Mutex<Vec<JoinHandle<()>>>,
    fifo_scripts: Mutex<Vec<(oneshot::Sender<()>, JoinHandle<()>)>>,
    fifo_lines: AtomicU64,
    fifo_dropped: AtomicU64,
    scripts_dropped: AtomicU64,
    mailer: Option<Mailer>,
    no_email_faults: bool,
    /// When each instance last changed state (for the state dumps).
    last_transition: Mutex<HashMap<String, SystemTime>>,
}

impl Notifier {
    /// Builds the notifier of `config`: prepares every notify script (one that cannot be
    /// prepared, e.g. an unknown user, is logged and left out), creates and opens the FIFOs and
    /// starts their reader scripts with the FIFO path as last argument. Call inside a tokio
    /// runtime.
    pub fn new(config: &Config, env: &ScriptEnv) -> Notifier {
        Self::with_order_wait(config, env, DEFAULT_ORDER_WAIT)
    }

    /// As [`Notifier::new`], waiting at most `order_wait` for each notify script before the
    /// next one of the same instance or group starts.
    pub fn with_order_wait(config: &Config, env: &ScriptEnv, order_wait: Duration) -> Notifier {
        let defs = &config.global.defs;
        let mut n = Notifier {
            instances: HashMap::new(),
            groups: HashMap::new(),
            fifos: Vec::new(),
            order_wait,
            workers: Mutex::new(Vec::new()),
            fifo_scripts: Mutex::new(Vec::new()),
            fifo_lines: AtomicU64::new(0),
            fifo_dropped: AtomicU64::new(0),
            scripts_dropped: AtomicU64::new(0),
            mailer: MailConfig::from_defs(defs).map(Mailer::start),
            no_email_faults: defs.no_email_faults,
            last_transition: Mutex::new(HashMap::new()),
        };
        for inst in &config.vrrp.instances {
            let mut scripts = notify_scripts(env, &inst.name, &inst.notify);
            if let Some(d) = &inst.notify_deleted {
                scripts.deleted = Some(
                    d.script
                        .as_ref()
                        .and_then(|s| prepare(env, &inst.name, "notify_deleted", s)),
                );
            }
            scripts.rx_lower_pri = inst
                .notify_master_rx_lower_pri
                .as_ref()
                .and_then(|s| prepare(env, &inst.name, "notify_master_rx_lower_pri", s));
            let priority_changes = inst
                .notify_priority_changes
                .or_else(|| {
                    config
                        .vrrp
                        .sync_group_of(&inst.name)
                        .and_then(|g| g.notify_priority_changes)
                })
                .unwrap_or(defs.vrrp_notify_priority_changes);
            let mut target = n.target(scripts, priority_changes);
            target.smtp_alert = vrrp_alert(defs, inst.smtp_alert);
            n.instances.insert(inst.name.clone(), target);
        }
        for group in &config.vrrp.sync_groups {
            let scripts = notify_scripts(env, &group.name, &group.notify);
            let mut target = n.target(scripts, false);
            target.smtp_alert = vrrp_alert(defs, group.smtp_alert);
            n.groups.insert(group.name.clone(), target);
        }
        let mut seen: Vec<&str> = Vec::new();
        for cfg in [&defs.notify_fifo, &defs.vrrp_notify_fifo] {
            let Some(path) = cfg.path.as_deref() else {
                continue;
            };
            if seen.contains(&path) {
                continue;
            }
            seen.push(path);
            if let Some(fifo) = n.open_fifo(cfg, path, env) {
                n.fifos.push(fifo);
            }
        }
        n
    }

    /// The counters.
    #[cfg(test)]
    pub fn stats(&self) -> NotifierStats {
        NotifierStats {
            fifo_lines: self.fifo_lines.load(Ordering::Relaxed),
            fifo_dropped: self.fifo_dropped.load(Ordering::Relaxed),
            scripts_dropped: self.scripts_dropped.load(Ordering::Relaxed),
        }
    }

    /// Instance `name` entered `state` with `priority` (its effective priority): its
    /// `notify_<state>` script, then `notify ... INSTANCE name STATE priority`, then the FIFO
    /// line.
    pub fn instance(&self, name: &str, state: NotifyState, priority: u8) {
        self.transition(false, name, state, priority);
    }

    /// Sync group `name` entered `state`: `notify_<state>`, then `notify ... GROUP name STATE 0`,
    /// then the FIFO line.
    pub fn group(&self, name: &str, state: NotifyState) {
        self.transition(true, name, state, 0);
    }

    /// Instance `name` was removed by a reload: DELETED notifications and the `notify_deleted`
    /// script if `notify_deleted` is set, else FAULT ones (keepalived's default).
    #[cfg_attr(
        not(test),
        allow(
            dead_code,
            reason = "called when a reload removes an instance (daemon issue)"
        )
    )]
    pub fn instance_deleted(&self, name: &str, priority: u8) {
        let deleted = self
            .instances
            .get(name)
            .is_some_and(|t| t.scripts.deleted.is_some());
        let state = if deleted {
            NotifyState::Deleted
        } else {
            NotifyState::Fault
        };
        self.transition(false, name, state, priority);
    }

    /// Instance `name`, master, received an advert of lower priority: its
    /// `notify_master_rx_lower_pri` script and the FIFO line `MASTER_RX_LOWER_PRI`.
    pub fn master_rx_lower_pri(&self, name: &str, priority: u8) {
        if let Some(t) = self.instances.get(name)
            && let Some(s) = &t.scripts.rx_lower_pri
        {
            self.queue(t, name, vec![(Arc::clone(s), Vec::new())]);
        }
        self.write_fifos(&fifo_line(false, name, "MASTER_RX_LOWER_PRI", priority));
    }

    /// Instance `name` changed its effective priority while in `state` (Master or Backup):
    /// the FIFO line `MASTER_PRIORITY`/`BACKUP_PRIORITY`, when `notify_priority_changes` (or
    /// the global `vrrp_notify_priority_changes`) asks for it.
    pub fn priority_changed(&self, name: &str, state: NotifyState, priority: u8) {
        if !self.instances.get(name).is_some_and(|t| t.priority_changes) {
            return;
        }
        let event = match state {
            NotifyState::Master => "MASTER_PRIORITY",
            _ => "BACKUP_PRIORITY",
        };
        self.write_fifos(&fifo_line(false, name, event, priority));
    }

    /// Stops: no new script starts; queued ones (e.g. `notify_stop`) get until `grace` to run,
    /// then are killed; FIFO reader scripts get SIGTERM (SIGKILL a second later); FIFOs this
    /// notifier created are removed.
    pub async fn shutdown(&self, grace: Duration) {
        for t in self.instances.values().chain(self.groups.values()) {
            if let Ok(mut q) = t.queue.lock() {
                q.take();
            }
        }
        let workers = self
            .workers
            .lock()
            .map(|mut w| std::mem::take(&mut *w))
            .unwrap_or_default();
        let deadline = tokio::time::Instant::now() + grace;
        for mut w in workers {
            if tokio::time::timeout_at(deadline, &mut w).await.is_err() {
                w.abort();
            }
        }
        if let Some(mailer) = &self.mailer {
            mailer.shutdown(deadline).await;
        }
        for fifo in &self.fifos {
            if fifo.created {
                let _ = std::fs::remove_file(&fifo.path);
            }
        }
        let readers = self
            .fifo_scripts
            .lock()
            .map(|mut r| std::mem::take(&mut *r))
            .unwrap_or_default();
        for (stop, task) in readers {
            let _ = stop.send(());
            let _ = task.await;
        }
    }

    fn target(&self, scripts: Scripts, priority_changes: bool) -> Target {
        let queue = if scripts.is_empty() {
            None
        } else {
            let (tx, rx) = mpsc::channel(QUEUE_LEN);
            let worker = tokio::spawn(run_jobs(rx, self.order_wait));
            if let Ok(mut w) = self.workers.lock() {
                w.push(worker);
            }
            Some(tx)
        };
        Target {
            scripts,
            queue: Mutex::new(queue),
            priority_changes,
            smtp_alert: false,
            last_mail: Mutex::new(None),
        }
    }

    fn transition(&self, group: bool, name: &str, state: NotifyState, priority: u8) {
        let targets = if group { &self.groups } else { &self.instances };
        if let Some(t) = targets.get(name) {
            let mut job = Job::new();
            if let Some(s) = t.scripts.for_state(state) {
                job.push((Arc::clone(s), Vec::new()));
            }
            if let Some(s) = &t.scripts.any {
                job.push((Arc::clone(s), notify_args(group, name, state, priority)));
            }
            if !job.is_empty() {
                self.queue(t, name, job);
            }
        }
        self.write_fifos(&fifo_line(group, name, state.word(), priority));
        if !group && let Ok(mut t) = self.last_transition.lock() {
            t.insert(name.to_owned(), SystemTime::now());
        }
        if let Some(t) = targets.get(name) {
            self.mail(t, group, name, state);
        }
    }

    /// When instance `name` last changed state.
    pub fn last_transition(&self, name: &str) -> Option<SystemTime> {
        self.last_transition.lock().ok()?.get(name).copied()
    }

    /// Whether instance `name` sends e-mail alerts.
    pub fn smtp_alert(&self, name: &str) -> bool {
        self.instances.get(name).is_some_and(|t| t.smtp_alert)
    }

    /// Queues the e-mail alert of a transition, if the instance or group sends them.
    fn mail(&self, target: &Target, group: bool, name: &str, state: NotifyState) {
        let Some(mailer) = &self.mailer else { return };
        if !target.smtp_alert || (self.no_email_faults && state == NotifyState::Fault) {
            return;
        }
        let Some((what, body)) = vrrp_words(state.word(), group) else {
            return;
        };
        if let Ok(mut last) = target.last_mail.lock() {
            if *last == Some(state) {
                return;
            }
            *last = Some(state);
        }
        let router_id = &mailer.config().router_id;
        mailer.send(if group {
            Mail::vrrp_group(router_id, name, what, body)
        } else {
            Mail::vrrp_instance(router_id, name, what, body)
        });
    }

    fn queue(&self, target: &Target, name: &str, job: Job) {
        let Ok(queue) = target.queue.lock() else {
            return;
        };
        let Some(tx) = queue.as_ref() else {
            return;
        };
        if tx.try_send(job).is_err() {
            self.scripts_dropped.fetch_add(1, Ordering::Relaxed);
            error!("({name}) too many notifications waiting for scripts; dropping one");
        }
    }

    fn write_fifos(&self, line: &str) {
        for fifo in &self.fifos {
            match (&fifo.file).write(line.as_bytes()) {
                Ok(n) if n == line.len() => {
                    self.fifo_lines.fetch_add(1, Ordering::Relaxed);
                    if fifo.full.swap(false, Ordering::Relaxed) {
                        info!("notify fifo {} is being read again", fifo.path.display());
                    }
                }
                _ => {
                    self.fifo_dropped.fetch_add(1, Ordering::Relaxed);
                    if !fifo.full.swap(true, Ordering::Relaxed) {
                        warn!(
                            "notify fifo {} is full (nobody reading?): dropping lines",
                            fifo.path.display()
                        );
                    }
                }
            }
        }
    }

    /// Creates (if missing) and opens one FIFO, and starts its reader script.
    fn open_fifo(&self, cfg: &NotifyFifo, path: &str, env: &ScriptEnv) -> Option<Fifo> {
        let path = PathBuf::from(path);
        let created = match nix::unistd::mkfifo(&path, Mode::from_bits_truncate(0o644)) {
            Ok(()) => {
                set_fifo_owner(&path, cfg);
                true
            }
            Err(nix::errno::Errno::EEXIST) => false,
            Err(e) => {
                error!("Unable to create notify fifo {}: {e}", path.display());
                return None;
            }
        };
        let is_fifo = std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_fifo());
        if !is_fifo {
            error!("notify fifo {} exists and is not a FIFO", path.display());
            return None;
        }
        if let Some(script) = &cfg.script
            && let Some(script) = prepare(env, "", "notify fifo script", script)
        {
            self.start_fifo_script(script, &path);
        }
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
            .open(&path);
        match file {
            Ok(file) => Some(Fifo {
                path,
                file,
                created,
                full: AtomicBool::new(false),
            }),
            Err(e) => {
                error!("Unable to open notify fifo {}: {e}", path.display());
                if created {
                    let _ = std::fs::remove_file(&path);
                }
                None
            }
        }
    }

    fn start_fifo_script(&self, script: Arc<PreparedScript>, path: &Path) {
        let (stop_tx, mut stop_rx) = oneshot::channel::<()>();
        let arg = path.display().to_string();
        let task = tokio::spawn(async move {
            let Ok(mut running) = script.start(&[arg]).await else {
                return;
            };
            let exited = tokio::select! {
                outcome = running.wait(None) => Some(outcome),
                _ = &mut stop_rx => None,
            };
            match exited {
                Some(outcome) => warn!("{} {outcome}", script.label()),
                None => {
                    running.signal_group(Signal::SIGTERM);
                    // Past the grace, dropping `running` kills the group.
                    let _ = tokio::time::timeout(FIFO_SCRIPT_GRACE, running.wait(None)).await;
                }
            }
        });
        if let Ok(mut r) = self.fifo_scripts.lock() {
            r.push((stop_tx, task));
        }
    }
}

/// Gives a FIFO we created the owner `notify_fifo FIFO USER GROUP` asks for.
fn set_fifo_owner(path: &Path, cfg: &NotifyFifo) {
    let uid = cfg
        .user
        .as_deref()
        .and_then(|u| crate::services::script::lookup_user(u).ok())
        .map(|u| u.uid.as_raw());
    let gid = cfg
        .group
        .as_deref()
        .and_then(|g| crate::services::script::lookup_group(g).ok())
        .map(|g| g.as_raw());
    if (uid.is_some() || gid.is_some())
        && let Err(e) = std::os::unix::fs::chown(path, uid, gid)
    {
        warn!("Failed to set owner of fifo {}: {e}", path.display());
    }
}

fn prepare(env: &ScriptEnv, owner: &str, what: &str, s: &Script) -> Option<Arc<PreparedScript>> {
    let label = if owner.is_empty() {
        format!("{what} {}", s.command)
    } else {
        format!("({owner}) {what} {}", s.command)
    };
    match env.prepare(label.clone(), s) {
        Ok(p) => Some(p),
        Err(e) => {
            error!("{label}: {e}; it will not run");
            None
        }
    }
}

fn notify_scripts(env: &ScriptEnv, owner: &str, n: &Notify) -> Scripts {
    let p = |what: &str, s: &Option<Script>| s.as_ref().and_then(|s| prepare(env, owner, what, s));
    Scripts {
        master: p("notify_master", &n.master),
        backup: p("notify_backup", &n.backup),
        fault: p("notify_fault", &n.fault),
        stop: p("notify_stop", &n.stop),
        any: p("notify", &n.any),
        deleted: None,
        rx_lower_pri: None,
    }
}

/// One instance's or group's worker: runs each transition's scripts in order.
async fn run_jobs(mut rx: mpsc::Receiver<Job>, order_wait: Duration) {
    while let Some(job) = rx.recv().await {
        for (script, extra) in job {
            let Ok(mut running) = script.start(&extra).await else {
                continue;
            };
            match tokio::time::timeout(order_wait, running.wait(None)).await {
                Ok(RunOutcome::Exited(0)) => {}
                Ok(outcome) => warn!("{} {outcome}", script.label()),
                Err(_) => {
                    warn!(
                        "{} still running after {order_wait:?}; not waiting for it any longer",
                        script.label()
                    );
                    running.detach();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
