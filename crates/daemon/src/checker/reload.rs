//! SIGHUP in the checker engine: the configuration is read by the shared reload task
//! ([`crate::services::loader::Reloader`]) and applied by the driver in place ([`apply`]):
//! unchanged checks keep their state, only the IPVS difference is applied.

use std::sync::Arc;

use keepalived_checker::logic::{CheckerEngine, Instant, RsId, plan};
use keepalived_config::Config;
use keepalived_lb::table::Health;
use tracing::info;

use super::balancer::Balancer;
use super::probes::{Checks, Probe};
use crate::services::loader;

/// What a reload changed in the checks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReloadSummary {
    /// Checks that kept running with their state.
    pub kept: usize,
    /// Checks started.
    pub started: usize,
    /// Checks stopped.
    pub stopped: usize,
}

impl std::fmt::Display for ReloadSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} checks kept, {} started, {} stopped",
            self.kept, self.started, self.stopped
        )
    }
}

/// A checked configuration for the checker driver; it answers with a [`ReloadSummary`].
pub type ReloadRequest = loader::ReloadRequest<ReloadSummary>;

/// Applies a reloaded configuration: the engine keeps what did not change, the probes of kept
/// checks are reused, attempts in flight report under their new ids (or are ignored when their
/// check is gone), and the balancer takes the new configuration with every real server's
/// current health (the next sync applies only the difference).
pub(super) fn apply(
    engine: &mut CheckerEngine,
    checks: &mut Checks,
    balancer: &mut Balancer,
    config: Arc<Config>,
    now: Instant,
) -> ReloadSummary {
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
    let summary = ReloadSummary {
        kept: reloaded.kept,
        started: reloaded.started,
        stopped: reloaded.dropped,
    };
    info!("Reloaded checkers: {summary}");
    summary
}
