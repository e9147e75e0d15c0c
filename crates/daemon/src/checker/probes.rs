//! The probes of the checker engine: how each check's attempts are made (a network probe of
//! `keepalived_checker::probe`, a MISC_CHECK script, a FILE_CHECK value from the `track_file`
//! watcher), how many may be in flight at once, and the attempts in flight ([`Checks`]).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use keepalived_checker::logic::{CheckId, CheckPlan, CheckSpec, Outcome};
use keepalived_checker::probe::spec::Prober;
use keepalived_config::Config;
use keepalived_config::model::lvs::CheckerKind;
use keepalived_vrrp::TrackerId;
use tokio::sync::{Semaphore, mpsc};
use tracing::warn;

use crate::services::metrics::{LATENCY_BUCKETS, LatencyMetrics};
use crate::services::script::{PreparedScript, RunOutcome, ScriptEnv};
use crate::services::track_file;

/// How one check's attempts are made.
pub(super) enum Probe {
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
    pub(super) fn new(spec: &CheckSpec, env: &ScriptEnv) -> Probe {
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
    pub(super) async fn run(&self, timeout: Duration) -> Outcome {
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

/// Descriptors kept free of checks for the rest of the daemon (VRRP sockets, logs, scripts).
const FD_RESERVE: u64 = 256;

/// How many attempts may be in flight at once: each holds a socket (or a script's pipes), so
/// the soft RLIMIT_NOFILE is first raised to the hard limit and three quarters of it, less
/// [`FD_RESERVE`], are shared by the checks. Attempts beyond that wait for a slot (their
/// timeout starts once they have one) instead of failing with "Too many open files" and
/// marking a healthy real server down.
pub(super) fn attempt_slots() -> usize {
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

/// What runs the checks of one configuration: the probes by check id, the FILE_CHECK watcher,
/// the attempts in flight.
pub(super) struct Checks {
    pub(super) config: Arc<Config>,
    pub(super) env: ScriptEnv,
    pub(super) probes: Vec<Arc<Probe>>,
    pub(super) timeouts: Vec<Duration>,
    /// Attempts in flight: token → the check it reports for (remapped at a reload).
    pub(super) inflight: HashMap<u64, CheckId>,
    pub(super) next_token: u64,
    pub(super) file_task: Option<tokio::task::JoinHandle<()>>,
    pub(super) file_checks: HashMap<TrackerId, CheckId>,
    pub(super) file_rx: mpsc::UnboundedReceiver<keepalived_vrrp::TrackerUpdate>,
    /// How long each check's attempts took, by check id (since this configuration).
    pub(super) latency: Vec<Arc<Latency>>,
}

/// A check's attempt latency histogram (the metrics' `keepalived_lvs_check_duration_seconds`),
/// recorded by the attempt's task.
#[derive(Debug, Default)]
pub struct Latency {
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    count: AtomicU64,
    sum_ns: AtomicU64,
}

impl Latency {
    fn record(&self, took: Duration) {
        let secs = took.as_secs_f64();
        if let Some(b) = LATENCY_BUCKETS.iter().position(|&le| secs <= le) {
            self.buckets[b].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let ns = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.sum_ns.fetch_add(ns, Ordering::Relaxed);
    }

    /// A copy of the histogram (`None` before the first attempt).
    pub fn metrics(&self) -> Option<LatencyMetrics> {
        let count = self.count.load(Ordering::Relaxed);
        (count > 0).then(|| LatencyMetrics {
            buckets: self
                .buckets
                .iter()
                .map(|b| b.load(Ordering::Relaxed))
                .collect(),
            count,
            sum_ns: self.sum_ns.load(Ordering::Relaxed),
        })
    }
}

impl Checks {
    /// Probes for every check of `plan` (reusing `reuse[i]` when given), and the FILE_CHECK
    /// watcher.
    pub(super) fn new(
        config: Arc<Config>,
        plan: &CheckPlan,
        reuse: &[Option<Arc<Probe>>],
    ) -> Checks {
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
            latency: plan.checks.iter().map(|_| Arc::default()).collect(),
        }
    }

    /// Starts one attempt of `id`; its outcome comes back on `tx` with a token.
    pub(super) fn spawn(
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
        let latency = self.latency.get(id.0).cloned();
        tokio::spawn(async move {
            // The semaphore is never closed; without a slot the attempt still runs.
            let _slot = slots.acquire_owned().await.ok();
            let started = tokio::time::Instant::now();
            let outcome = probe.run(timeout).await;
            if let Some(l) = latency {
                l.record(started.elapsed());
            }
            let _ = tx.send((token, outcome));
        });
    }

    pub(super) fn stop_watcher(&mut self) {
        if let Some(t) = self.file_task.take() {
            t.abort();
        }
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
