//! Reading and checking the configuration for the VRRP engine, the same way at start-up and on
//! reload: the whole file is read, checked against this host (`-t`'s checks) and converted
//! into the driver's plans; any blocking error refuses the whole of it.

use std::path::Path;

use keepalived_config::{Config, DiagKind, PreprocessOptions, Severity, host};

use super::convert::{self, InstancePlan, StaticPlan};
use super::track_plan::{self, TrackPlan};
use crate::config_test::gather_host_facts;

/// A configuration ready to run.
#[derive(Debug)]
pub struct Loaded {
    /// The model.
    pub config: Config,
    /// One plan per `vrrp_instance`.
    pub plans: Vec<InstancePlan>,
    /// `static_ipaddress`, `static_routes`, `static_rules`.
    pub statics: StaticPlan,
    /// Tracked objects, who tracks them, and the sync groups.
    pub tracks: TrackPlan,
    /// Diagnostics that do not prevent running (warnings, missing interfaces), rendered with
    /// their place (`file:line:col`).
    pub warnings: Vec<String>,
}

/// A configuration that cannot run: every diagnostic, rendered with its place, errors first
/// in file order.
#[derive(Debug)]
pub struct Refused {
    /// The rendered diagnostics.
    pub lines: Vec<String>,
}

/// Reads `path` and checks it as start-up does. A missing interface does not refuse the
/// configuration (its instances start in FAULT); any other error does.
///
/// # Errors
/// The configuration has blocking errors.
pub fn load(path: &Path, opts: &PreprocessOptions) -> Result<Loaded, Refused> {
    let mut read = keepalived_config::read_file(path, opts);
    let facts = gather_host_facts();
    host::check(&mut read.config, &facts, &mut read.diagnostics);
    crate::features::check(&read.config, &mut read.diagnostics);
    let blocking = read
        .diagnostics
        .items()
        .iter()
        .any(|d| d.severity >= Severity::Error && d.kind != DiagKind::MissingInterface);
    let if_facts = super::interface_facts();
    let mut plan_failed = false;
    let plans = match convert::plan(&read.config, &if_facts) {
        Ok(p) => p,
        Err(errors) => {
            plan_failed = true;
            for e in errors {
                read.diagnostics.error(e.loc, e.message);
            }
            Vec::new()
        }
    };
    let statics = match convert::plan_static(&read.config) {
        Ok(s) => s,
        Err(errors) => {
            plan_failed = true;
            for e in errors {
                read.diagnostics.error(e.loc, e.message);
            }
            StaticPlan::default()
        }
    };
    let blocking = blocking || plan_failed || read.diagnostics.has_fatal();
    read.diagnostics.sort();
    let lines = read.render_diagnostics();
    if blocking {
        return Err(Refused { lines });
    }
    let tracks = track_plan::plan(&read.config, |name| {
        plans
            .iter()
            .find(|p| p.cfg.name == name)
            .and_then(|p| p.vmac.as_ref())
            .map(|v| v.spec.name.clone())
    });
    Ok(Loaded {
        config: read.config,
        plans,
        statics,
        tracks,
        warnings: lines,
    })
}
