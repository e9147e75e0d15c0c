//! The checker engine's driver, a task on the process's runtime like the VRRP one: it drives
//! the pure [`CheckerEngine`] (time in, actions out), starts the probes' attempts
//! ([`super::probes`]), logs real-server changes in keepalived's words, runs `notify_up` /
//! `notify_down` and sends the e-mail alerts ([`super::notify`]), keeps IPVS in step
//! ([`super::balancer`]), applies reloads in place ([`super::reload`]) and answers the data
//! dump's requests ([`super::snapshot`]). Its loop answers the parent's watchdog heartbeat
//! ([`heartbeat`]).
//!
//! Without IPVS in the kernel (as on this project's test machines) the checks still run, log
//! and notify, with one warning; the balancer still computes and logs every IPVS change.
//! `ha_suspend` pauses the checks of virtual servers whose address is not on this host
//! ([`super::ha_suspend`]); at stop the `omega` scripts run and our IPVS entries are removed
//! unless `-I` ([`Options::release_ipvs`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use keepalived_checker::logic::{Action, CheckSpec, CheckerEngine, Instant, Outcome, plan};
use keepalived_config::Config;
use keepalived_vrrp::TrackerValue;
use tokio::sync::{Semaphore, mpsc, watch};
use tracing::{debug, info, warn};

use super::balancer::Balancer;
use super::probes::{Checks, attempt_slots};
use super::reload::{self, ReloadRequest, ReloadSummary};
use super::snapshot::{self, SnapshotRequest};
use super::{bfd, ha_suspend, notify};
use crate::services::control::{EngineAnswer, EngineCommand, VsSpec, parse_rs};
use crate::services::heartbeat::{self, QueryKind, Request, Responder};
use crate::services::ipvs::open_ipvs;
use crate::services::mail::{MailConfig, Mailer};
use crate::services::metrics::EngineMetrics;
use keepalived_ctl::proto::DumpKind;

/// How the checker driver runs.
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

/// Counters of the checker driver, readable from any thread.
#[derive(Debug, Default)]
pub struct CheckerStats {
    /// Configurations applied by a reload.
    pub reloads: AtomicU64,
    /// IPVS changes applied (services and real servers added, edited, removed).
    pub ipvs_changes: AtomicU64,
    /// Netlink requests sent to IPVS (0 without IPVS in the kernel).
    pub ipvs_messages: AtomicU64,
}

/// Everything the driver runs.
#[derive(Debug)]
pub struct Setup {
    /// The configuration (its virtual servers are checked).
    pub config: Arc<Config>,
    /// How it runs.
    pub options: Options,
    /// Its counters.
    pub stats: Arc<CheckerStats>,
    /// Requests for the data dump, answered between two events.
    pub snapshots: mpsc::UnboundedReceiver<SnapshotRequest>,
    /// The parent's watchdog heartbeat, answered by the loops of [`run`] themselves.
    pub heartbeat: Option<Responder>,
}

/// Runs the checks of `setup` until `stop` turns true, applying the reloads that come in;
/// answers the dump requests between two events. With no virtual server configured it waits
/// (for a reload that brings some, or the stop).
pub async fn run(
    setup: Setup,
    mut stop: watch::Receiver<bool>,
    mut reloads: mpsc::UnboundedReceiver<ReloadRequest>,
) {
    let Setup {
        mut config,
        options,
        stats,
        mut snapshots,
        mut heartbeat,
    } = setup;
    while config.lvs.virtual_servers.is_empty() {
        tokio::select! {
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    return;
                }
            }
            Some(request) = reloads.recv() => {
                config = Arc::new(request.loaded.config);
                stats.reloads.fetch_add(1, Ordering::Relaxed);
                let _ = request.done.send(ReloadSummary::default());
            }
            // Nothing to dump: no file is written (the reply is dropped).
            Some(reply) = snapshots.recv() => drop(reply),
            request = heartbeat::next_request(&mut heartbeat) => {
                if let Some((n, _)) =
                    answer(heartbeat.as_ref(), request, false, snapshot::CheckerSnapshot::default)
                    && let Some(h) = &heartbeat
                {
                    let refusal = EngineAnswer::refused("no virtual server is configured");
                    h.reply(n, move || refusal.bytes());
                }
            }
        }
    }
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

    // The metrics read the kernel's IPVS counters only where IPVS is.
    let ipvs_up = ipvs.is_some();
    let mut balancer = match ipvs {
        Some(ipvs) => Balancer::with_kernel(config.clone(), ipvs),
        None => Balancer::new(config.clone()),
    };
    let epoch = tokio::time::Instant::now();
    let now = || Instant::from_duration(epoch.elapsed());
    let seed = fastrand::u64(..);
    let mut engine = CheckerEngine::new(plan, seed);
    bfd::initial(&mut engine, now());
    let mut bfds = bfd::BfdChecks::new(&config);
    engine.handle_start(now());
    let mut addrs = None;
    if ha_suspend::needed(&config) {
        addrs = ha_suspend::watch_addresses();
    }
    if let Some(rx) = &addrs {
        ha_suspend::apply(&config, &rx.borrow(), &mut engine, now());
    }
    // The first sync programs the virtual servers even when no real server reports anything.
    let mut changed = true;
    loop {
        while let Some(action) = engine.poll_action() {
            match action {
                Action::Run(id) => checks.spawn(id, &slots, &out_tx),
                Action::Event(ev) => {
                    notify::report(&checks.config, &checks.env, &ev);
                    notify::mail(&checks.config, mailer.as_ref(), &ev);
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
                notify::mail_quorum(&checks.config, mailer.as_ref(), change);
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
            request = heartbeat::next_request(&mut heartbeat) => {
                let take = || snapshot::take(&engine, &namers(&checks, &balancer, epoch));
                if let Some((n, command)) = answer(heartbeat.as_ref(), request, ipvs_up, take)
                    && let Some(h) = &heartbeat
                {
                    let reply = match command {
                        EngineCommand::Drain { virtual_server, real_server, on } => {
                            changed = true;
                            drain(&mut balancer, &virtual_server, &real_server, on)
                        }
                        EngineCommand::Dump { kind: DumpKind::Data } => EngineAnswer::done(
                            snapshot::take(&engine, &namers(&checks, &balancer, epoch)).data_text(),
                        ),
                        // The statistics and the JSON dump are the VRRP engine's.
                        EngineCommand::Dump { .. } => EngineAnswer::done(""),
                        EngineCommand::Maintenance { .. } => {
                            EngineAnswer::refused("maintenance is for VRRP instances")
                        }
                    };
                    h.reply(n, move || reply.bytes());
                }
            }
            Some(request) = reloads.recv() => {
                let new = Arc::new(request.loaded.config);
                let summary = reload::apply(&mut engine, &mut checks, &mut balancer, new.clone(), now());
                let _ = request.done.send(summary);
                if addrs.is_none() && ha_suspend::needed(&new) {
                    addrs = ha_suspend::watch_addresses();
                }
                if let Some(rx) = &addrs {
                    ha_suspend::apply(&new, &rx.borrow(), &mut engine, now());
                }
                bfds.follow(&new);
                stats.reloads.fetch_add(1, Ordering::Relaxed);
                changed = true;
            }
            Ok(()) = address_change(&mut addrs) => {
                if let Some(rx) = &addrs {
                    ha_suspend::apply(&checks.config, &rx.borrow(), &mut engine, now());
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
            Some((name, up)) = bfds.rx.recv() => bfd::apply(&mut engine, now(), &name, up),
            () = tokio::time::sleep_until(sleep_until) => engine.handle_timeout(now()),
            Some(reply) = snapshots.recv() => {
                let _ = reply.send(snapshot::take(&engine, &namers(&checks, &balancer, epoch)));
            }
        }
    }
    checks.stop_watcher();
    notify::omega(&balancer, &checks.env).await;
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

/// What [`snapshot::take`] needs to name things, tell drained real servers and turn the
/// engine's time (counted from `epoch`) into wall-clock time.
#[allow(clippy::type_complexity)]
fn namers<'a>(
    checks: &'a Checks,
    balancer: &'a Balancer,
    epoch: tokio::time::Instant,
) -> snapshot::Namers<
    fn(std::net::SocketAddr) -> String,
    impl Fn(usize) -> String + 'a,
    impl Fn(keepalived_checker::logic::CheckId) -> Option<crate::services::metrics::LatencyMetrics> + 'a,
    impl Fn(usize, usize) -> bool + 'a,
    impl Fn(Instant) -> f64,
> {
    let wall_now = std::time::SystemTime::now()
        .duration_since(std::time::SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let since = epoch.elapsed();
    snapshot::Namers {
        service: notify::service,
        vs_name: move |v| notify::vs_name(&checks.config, v),
        latency: move |c: keepalived_checker::logic::CheckId| {
            checks.latency.get(c.0).and_then(|l| l.metrics())
        },
        drained: move |v, r| balancer.is_drained(v, r),
        wall: move |at: Instant| wall_now - since.saturating_sub(at.since_epoch()).as_secs_f64(),
    }
}

/// Drains or undrains a real server as the control socket asks.
fn drain(balancer: &mut Balancer, vs: &str, rs: &str, on: bool) -> EngineAnswer {
    let parsed = VsSpec::parse(vs).and_then(|vs| Ok((vs, parse_rs(rs)?)));
    match parsed.and_then(|(vs, rs)| balancer.drain(vs, rs, on)) {
        Ok(text) => EngineAnswer::done(text),
        Err(e) => EngineAnswer::refused(e),
    }
}

/// Answers the watchdog's ping, or a metrics query with the copy `take` makes now (turned
/// into the metrics and serialized off the loop, where the kernel's IPVS counters are read
/// too when `ipvs`); a command is handed back to the caller with its query number.
fn answer(
    heartbeat: Option<&Responder>,
    request: Request,
    ipvs: bool,
    take: impl FnOnce() -> snapshot::CheckerSnapshot,
) -> Option<(u64, EngineCommand)> {
    let h = heartbeat?;
    match request {
        Request::Query(n, QueryKind::Command(c)) => return Some((n, c)),
        Request::Ping(n) => h.answer(n),
        Request::Query(n, QueryKind::Metrics) => {
            let snap = take();
            h.reply(n, move || {
                let mut checker = snap.metrics();
                if ipvs {
                    checker.ipvs = snapshot::ipvs_metrics();
                }
                let m = EngineMetrics {
                    checker: Some(checker),
                    ..EngineMetrics::default()
                };
                m.to_wire()
            });
        }
    }
    None
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

#[cfg(test)]
mod tests;
