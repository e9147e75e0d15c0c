//! From the configuration's tracking blocks to the engine's tracked objects: one [`TrackerId`]
//! per tracked interface, `vrrp_script`, `track_file`, `vrrp_track_process` and `bfd_instance`
//! that something tracks, and each instance's and sync group's [`Tracked`] list with keepalived's default
//! weights. Pure; unit-tested without a network.
// Without the VRRP engine the plans are still made (the start policy reports what would not
// run, the parent keeps them for clean-up) but nothing runs them.
#![cfg_attr(not(feature = "vrrp"), allow(dead_code))]

use std::collections::BTreeMap;

use keepalived_config::Config;
use keepalived_config::model::vrrp::{SyncGroup, Track, TrackFile, TrackProcess, VrrpScript};
use keepalived_vrrp::{TrackKind, Tracked, TrackerId};

use crate::plan::vmac::{own_interfaces, track_interfaces};

/// The tracked objects and who tracks them.
#[derive(Debug, Clone, Default)]
pub struct TrackPlan {
    /// Interfaces whose link state is tracked, by name.
    pub interfaces: Vec<(TrackerId, String)>,
    /// `vrrp_script`s that an instance or group tracks.
    pub scripts: Vec<(TrackerId, VrrpScript)>,
    /// `track_file`s that an instance or group tracks.
    pub files: Vec<(TrackerId, TrackFile)>,
    /// `vrrp_track_process`es that an instance or group tracks.
    pub processes: Vec<(TrackerId, TrackProcess)>,
    /// `bfd_instance`s that an instance or group tracks, by name.
    pub bfds: Vec<(TrackerId, String)>,
    /// Each instance's tracked objects (its own interface first), by instance name.
    pub instances: BTreeMap<String, Vec<Tracked>>,
    /// The sync groups.
    pub groups: Vec<GroupPlan>,
    /// Tracked names that name nothing (already reported by the configuration check).
    pub unknown: Vec<String>,
}

/// One `vrrp_sync_group`.
#[derive(Debug, Clone)]
pub struct GroupPlan {
    /// Its name.
    pub name: String,
    /// The member instances, by name.
    pub members: Vec<String>,
    /// The group's own `track_*` entries (applied to every member).
    pub tracks: Vec<Tracked>,
    /// `sync_group_tracking_weight`: members keep their weighted trackers.
    pub tracking_weight: bool,
}

/// Assigns identifiers as objects are first tracked.
#[derive(Default)]
struct Registry {
    plan: TrackPlan,
    ids: BTreeMap<(u8, String), TrackerId>,
    next: usize,
}

impl Registry {
    fn id(&mut self, kind: TrackKind, name: &str) -> (TrackerId, bool) {
        let key = (kind_key(kind), name.to_owned());
        if let Some(id) = self.ids.get(&key) {
            return (*id, false);
        }
        let id = TrackerId(self.next);
        self.next += 1;
        self.ids.insert(key, id);
        (id, true)
    }

    fn interface(&mut self, name: &str, weight: i32, reverse: bool) -> Tracked {
        let (id, new) = self.id(TrackKind::Interface, name);
        if new {
            self.plan.interfaces.push((id, name.to_owned()));
        }
        Tracked {
            id,
            kind: TrackKind::Interface,
            weight,
            reverse,
        }
    }

    /// The `Tracked` entries of one instance's or group's `track_*` lists.
    fn lists(
        &mut self,
        config: &Config,
        interfaces: &[Track],
        scripts: &[Track],
        files: &[Track],
        processes: &[Track],
        bfds: &[Track],
    ) -> Vec<Tracked> {
        let mut out = Vec::new();
        for t in interfaces {
            out.push(self.interface(&t.name, t.weight.unwrap_or(0), t.reverse));
        }
        for t in scripts {
            match config.vrrp.script(&t.name) {
                Some(s) => {
                    let (id, new) = self.id(TrackKind::Script, &t.name);
                    if new {
                        self.plan.scripts.push((id, s.clone()));
                    }
                    out.push(entry(id, TrackKind::Script, t, s.weight, s.reverse));
                }
                None => self.plan.unknown.push(format!("vrrp_script {}", t.name)),
            }
        }
        for t in files {
            match config.vrrp.track_files.iter().find(|f| f.name == t.name) {
                Some(f) => {
                    let (id, new) = self.id(TrackKind::File, &t.name);
                    if new {
                        self.plan.files.push((id, f.clone()));
                    }
                    out.push(entry(id, TrackKind::File, t, f.weight, f.reverse));
                }
                None => self.plan.unknown.push(format!("track_file {}", t.name)),
            }
        }
        for t in processes {
            match config
                .vrrp
                .track_processes
                .iter()
                .find(|p| p.name == t.name)
            {
                Some(p) => {
                    let (id, new) = self.id(TrackKind::Process, &t.name);
                    if new {
                        self.plan.processes.push((id, p.clone()));
                    }
                    out.push(entry(id, TrackKind::Process, t, p.weight, p.reverse));
                }
                None => self
                    .plan
                    .unknown
                    .push(format!("vrrp_track_process {}", t.name)),
            }
        }
        for t in bfds {
            // keepalived sends a session's events to the VRRP process only when the instance
            // says `vrrp` (or neither `vrrp` nor `checker`).
            match config
                .global
                .bfd_instance(&t.name)
                .filter(|b| b.notify_vrrp)
            {
                Some(b) => {
                    let (id, new) = self.id(TrackKind::Bfd, &t.name);
                    if new {
                        self.plan.bfds.push((id, t.name.clone()));
                    }
                    out.push(entry(id, TrackKind::Bfd, t, b.weight, b.weight_reverse));
                }
                None => self.plan.unknown.push(format!("bfd_instance {}", t.name)),
            }
        }
        out
    }
}

fn kind_key(kind: TrackKind) -> u8 {
    match kind {
        TrackKind::Interface => 0,
        TrackKind::Script => 1,
        TrackKind::File => 2,
        TrackKind::Process => 3,
        TrackKind::Bfd => 4,
    }
}

/// A `track_*` entry: its own `weight [reverse]` if given, else the object's.
fn entry(id: TrackerId, kind: TrackKind, t: &Track, weight: i32, reverse: bool) -> Tracked {
    match t.weight {
        Some(w) => Tracked {
            id,
            kind,
            weight: w,
            reverse: t.reverse,
        },
        None => Tracked {
            id,
            kind,
            weight,
            reverse,
        },
    }
}

/// Builds the tracking plan of every instance and sync group. An instance tracks its own
/// interface and its VMAC (weight 0: down means FAULT) unless `dont_track_primary`; `vmac_of`
/// gives an instance's VMAC name. A `track_interface` entry naming the instance's own
/// interface, or repeating an earlier entry, is dropped (as keepalived does).
pub fn plan(config: &Config, vmac_of: impl Fn(&str) -> Option<String>) -> TrackPlan {
    let mut reg = Registry::default();
    for inst in &config.vrrp.instances {
        let vmac = vmac_of(&inst.name);
        let mut tracked: Vec<Tracked> = own_interfaces(inst, vmac.as_deref())
            .iter()
            .map(|name| reg.interface(name, 0, false))
            .collect();
        let track_interfaces: Vec<Track> = track_interfaces(inst).cloned().collect();
        tracked.extend(reg.lists(
            config,
            &track_interfaces,
            &inst.track_scripts,
            &inst.track_files,
            &inst.track_processes,
            &inst.track_bfds,
        ));
        reg.plan.instances.insert(inst.name.clone(), tracked);
    }
    for group in &config.vrrp.sync_groups {
        let tracks = group_lists(&mut reg, config, group);
        reg.plan.groups.push(GroupPlan {
            name: group.name.clone(),
            members: group.members.iter().map(|m| m.name.clone()).collect(),
            tracks,
            tracking_weight: group.tracking_weight,
        });
    }
    reg.plan
}

fn group_lists(reg: &mut Registry, config: &Config, g: &SyncGroup) -> Vec<Tracked> {
    reg.lists(
        config,
        &g.track_interfaces,
        &g.track_scripts,
        &g.track_files,
        &g.track_processes,
        &g.track_bfds,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Config {
        let read = keepalived_config::read_str("test.conf", text, &Default::default());
        read.config
    }

    const CONF: &str = "\
vrrp_script chk {
    script \"/bin/true\"
    weight -20 reverse
}
track_file f1 {
    file /tmp/x
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    track_interface {
        eth1 weight -10
        eth2
    }
    track_script {
        chk
        chk weight 5
    }
    track_file {
        f1
    }
    virtual_ipaddress {
        192.0.2.100
    }
}
vrrp_instance VI_2 {
    interface eth1
    virtual_router_id 52
    dont_track_primary
    track_script {
        chk
    }
    virtual_ipaddress {
        192.0.2.101
    }
}
vrrp_sync_group G {
    group {
        VI_1
        VI_2
    }
    track_interface {
        eth3
    }
}
";

    #[test]
    fn weights_and_shared_identifiers() {
        let plan = plan(&read(CONF), |_| None);
        let names: Vec<&str> = plan.interfaces.iter().map(|(_, n)| n.as_str()).collect();
        assert_eq!(names, ["eth0", "eth1", "eth2", "eth3"]);
        assert_eq!(plan.scripts.len(), 1);
        assert_eq!(plan.files.len(), 1);
        let vi1 = &plan.instances["VI_1"];
        let w: Vec<(TrackKind, i32, bool)> =
            vi1.iter().map(|t| (t.kind, t.weight, t.reverse)).collect();
        assert_eq!(
            w,
            [
                (TrackKind::Interface, 0, false),
                (TrackKind::Interface, -10, false),
                (TrackKind::Interface, 0, false),
                (TrackKind::Script, -20, true),
                (TrackKind::Script, 5, false),
                (TrackKind::File, 1, false),
            ]
        );
        // VI_2 does not track eth1 (dont_track_primary) but shares the script's id.
        let vi2 = &plan.instances["VI_2"];
        assert_eq!(vi2.len(), 1);
        assert_eq!(vi2[0].id, vi1[3].id);
        assert_eq!(plan.groups[0].members, ["VI_1", "VI_2"]);
        assert_eq!(plan.groups[0].tracks.len(), 1);
        assert_eq!(plan.groups[0].tracks[0].id, plan.interfaces[3].0);
    }

    #[test]
    fn bfd_instances_take_their_own_weight_unless_the_entry_gives_one() {
        let text = "\
bfd_instance b1 {
    neighbor_ip 192.0.2.2
    weight -30 reverse
}
bfd_instance b2 {
    neighbor_ip 192.0.2.3
    checker
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    dont_track_primary
    track_bfd {
        b1
        b1 weight 0
        b2
    }
    virtual_ipaddress {
        192.0.2.100
    }
}
vrrp_sync_group G {
    group {
        VI_1
    }
    track_bfd {
        b1 weight 10
    }
}
";
        let plan = plan(&read(text), |_| None);
        assert_eq!(plan.bfds.len(), 1, "b2 sends no events to VRRP");
        assert_eq!(plan.bfds[0].1, "b1");
        let w: Vec<(TrackKind, i32, bool)> = plan.instances["VI_1"]
            .iter()
            .map(|t| (t.kind, t.weight, t.reverse))
            .collect();
        assert_eq!(w, [(TrackKind::Bfd, -30, true), (TrackKind::Bfd, 0, false)]);
        assert_eq!(plan.groups[0].tracks[0].id, plan.bfds[0].0);
        assert_eq!(plan.groups[0].tracks[0].weight, 10);
        assert_eq!(plan.unknown, ["bfd_instance b2"]);
    }

    #[test]
    fn vmac_interface_is_tracked() {
        let plan = plan(&read(CONF), |name| {
            (name == "VI_1").then(|| "vrrp.51".to_owned())
        });
        assert_eq!(plan.instances["VI_1"][1].id, plan.interfaces[1].0);
        assert_eq!(plan.interfaces[1].1, "vrrp.51");
    }
}
