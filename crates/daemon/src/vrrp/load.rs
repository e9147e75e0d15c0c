//! Reading and checking the configuration for the VRRP engine, the same way at start-up and on
//! reload: the whole file is read, checked against this host (`-t`'s checks) and converted
//! into the driver's plans. As keepalived, it runs whatever keepalived would run: a part with an
//! error is dropped (an instance, an address, a route) with a message naming its place, and the
//! whole configuration is refused only when keepalived refuses it (the file cannot be read, a
//! fatal error) or when the operator asked for `--strict-config`.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::OnceLock;

use keepalived_config::host::{self, HostFacts};
use keepalived_config::model::vrrp::DroppedInstance;
use keepalived_config::{Config, PreprocessOptions, Read, Severity};

use super::convert::{self, InstancePlan, StaticPlan};
use super::track_plan::{self, TrackPlan};
use crate::config_test::gather_host_facts;
use crate::host_facts::SystemHost;

/// A configuration ready to run.
#[derive(Debug)]
pub struct Loaded {
    /// The model.
    pub config: Config,
    /// One plan per `vrrp_instance` that runs.
    pub plans: Vec<InstancePlan>,
    /// `static_ipaddress`, `static_routes`, `static_rules`.
    pub statics: StaticPlan,
    /// Tracked objects, who tracks them, and the sync groups.
    pub tracks: TrackPlan,
    /// Diagnostics that do not prevent running (warnings, errors whose part was dropped or
    /// corrected, missing interfaces), rendered with their place (`file:line:col`).
    pub warnings: Vec<String>,
}

/// A configuration that cannot run: every diagnostic, rendered with its place, errors first
/// in file order.
#[derive(Debug)]
pub struct Refused {
    /// The rendered diagnostics.
    pub lines: Vec<String>,
}

static STRICT: OnceLock<bool> = OnceLock::new();

/// `--strict-config`: refuse a configuration with any error, not only what keepalived refuses.
/// Set once, at process start (the engines get the same command line).
pub fn set_strict(strict: bool) {
    let _ = STRICT.set(strict);
}

fn strict() -> bool {
    STRICT.get().copied().unwrap_or(false)
}

/// Reads `path` and checks it as start-up does. Refused only when keepalived would not start
/// (unreadable file, fatal error), when a keyword needs a feature this build lacks, or, with
/// `--strict-config`, on any error. A missing interface is not refused (keepalived stops its
/// VRRP process there): its instances start in FAULT and follow the interface when it appears.
///
/// # Errors
/// The configuration cannot run.
pub fn load(path: &Path, opts: &PreprocessOptions) -> Result<Loaded, Refused> {
    let mut read = keepalived_config::read_file(path, opts);
    let facts = gather_host_facts();
    host::check(&mut read.config, &facts, &SystemHost, &mut read.diagnostics);
    let missing_features = crate::features::check(&read.config, &mut read.diagnostics);
    let (plans, statics) = plan_runnable(&mut read, &facts);
    let strict_refusal = strict()
        && read
            .diagnostics
            .items()
            .iter()
            .any(|d| d.severity >= Severity::Error);
    let refused = read.diagnostics.has_fatal() || missing_features > 0 || strict_refusal;
    read.diagnostics.sort();
    let lines = read.render_diagnostics();
    if refused {
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

/// Converts what can run: an instance the driver cannot run is moved to
/// `vrrp.dropped_instances` and reported as an error at its place; a static address, route or
/// rule that cannot be installed is left out and reported; sync groups lose the members that
/// were dropped (and a group left empty goes). `-t` runs the same conversion, so it reports
/// what the daemon would drop.
pub fn plan_runnable(read: &mut Read, facts: &HostFacts) -> (Vec<InstancePlan>, StaticPlan) {
    drop_loopback_instances(&mut read.config, &facts.loopbacks);
    let if_facts = super::interface_facts();
    let converted = convert::plan(&read.config, &if_facts);
    for e in &converted.errors {
        read.diagnostics.error(e.loc, e.message.clone());
    }
    for (name, reason) in converted.dropped {
        let vrrp = &mut read.config.vrrp;
        if let Some(at) = vrrp.instances.iter().position(|i| i.name == name) {
            let instance = vrrp.instances.remove(at);
            vrrp.dropped_instances
                .push(DroppedInstance { reason, instance });
        }
    }
    prune_sync_groups(&mut read.config);
    let (statics, errors) = convert::plan_static(&read.config);
    for e in errors {
        read.diagnostics.error(e.loc, e.message);
    }
    (converted.plans, statics)
}

/// VRRP never runs on a loopback interface (keepalived ignores the interface and stops; the
/// host check reports it at the `interface` line): such an instance is dropped.
fn drop_loopback_instances(config: &mut Config, loopbacks: &BTreeSet<String>) {
    let vrrp = &mut config.vrrp;
    let (on_loopback, others): (Vec<_>, Vec<_>) = std::mem::take(&mut vrrp.instances)
        .into_iter()
        .partition(|i| {
            i.interface
                .as_deref()
                .is_some_and(|ifname| loopbacks.contains(ifname))
        });
    vrrp.instances = others;
    for instance in on_loopback {
        let reason = format!(
            "({}) cannot use a loopback interface ({}) for vrrp - instance not started",
            instance.name,
            instance.interface.as_deref().unwrap_or_default()
        );
        vrrp.dropped_instances
            .push(DroppedInstance { reason, instance });
    }
}

/// Applies keepalived's sync group corrections the engine relies on: a member that is not (or
/// no longer) an instance is removed, an instance already in an earlier group (or named twice)
/// is removed from the later place ("cannot exist in more than one sync group; ignoring"), and a
/// group left empty goes. The validators report each of these with its place.
fn prune_sync_groups(config: &mut Config) {
    let vrrp = &mut config.vrrp;
    let names: BTreeSet<String> = vrrp.instances.iter().map(|i| i.name.clone()).collect();
    let mut grouped = BTreeSet::new();
    for g in &mut vrrp.sync_groups {
        g.members
            .retain(|m| names.contains(&m.name) && grouped.insert(m.name.clone()));
    }
    vrrp.sync_groups.retain(|g| !g.members.is_empty());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_groups_keep_each_existing_instance_once() {
        let text = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n}\n\
                    vrrp_instance VI_2 {\n interface eth0\n virtual_router_id 2\n}\n\
                    vrrp_sync_group SG_A {\n group {\n VI_1\n VI_X\n VI_2\n VI_1\n }\n}\n\
                    vrrp_sync_group SG_B {\n group {\n VI_1\n }\n}\n";
        let mut config =
            keepalived_config::read_str("t.conf", text, &PreprocessOptions::default()).config;
        prune_sync_groups(&mut config);
        let groups: Vec<(String, Vec<String>)> = config
            .vrrp
            .sync_groups
            .iter()
            .map(|g| {
                (
                    g.name.clone(),
                    g.members.iter().map(|m| m.name.clone()).collect(),
                )
            })
            .collect();
        assert_eq!(
            groups,
            [(
                "SG_A".to_owned(),
                vec!["VI_1".to_owned(), "VI_2".to_owned()]
            )]
        );
    }
}
