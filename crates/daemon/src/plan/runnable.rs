//! The start policy, pure: what of a configuration the engines run, given the host's facts.
//! An instance the driver cannot run is dropped with its reason, sync groups lose dropped
//! members; `-t` and the daemon apply the same policy.

use std::collections::BTreeSet;

use keepalived_config::host::HostFacts;
use keepalived_config::model::vrrp::DroppedInstance;
use keepalived_config::{Config, Read};

use crate::plan::convert::{self, IfFacts, InstancePlan, StaticPlan};

/// Converts what can run: an instance the driver cannot run is moved to
/// `vrrp.dropped_instances` and reported as an error at its place; a static address, route or
/// rule that cannot be installed is left out and reported; sync groups lose the members that
/// were dropped (and a group left empty goes). `-t` runs the same conversion, so it reports
/// what the daemon would drop.
pub fn plan_runnable(
    read: &mut Read,
    facts: &HostFacts,
    if_facts: &IfFacts,
) -> (Vec<InstancePlan>, StaticPlan) {
    drop_loopback_instances(&mut read.config, &facts.loopbacks);
    let converted = convert::plan(&read.config, if_facts);
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
    use keepalived_config::PreprocessOptions;

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
