//! The VRRP part of the model: instances, sync groups, tracking scripts, tracked files and
//! processes, and the static addresses, routes and rules keepalived installs once at start.

mod instance;
mod ip;
mod track;

pub use instance::*;
pub use ip::*;
pub use track::*;

use serde::Serialize;

/// Everything of the VRRP part.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct VrrpConfig {
    /// `vrrp_instance` blocks, in file order.
    pub instances: Vec<VrrpInstance>,
    /// `vrrp_sync_group` blocks.
    pub sync_groups: Vec<SyncGroup>,
    /// `vrrp_script` blocks.
    pub scripts: Vec<VrrpScript>,
    /// `track_file` / `vrrp_track_file` blocks.
    pub track_files: Vec<TrackFile>,
    /// `vrrp_track_process` blocks.
    pub track_processes: Vec<TrackProcess>,
    /// `static_ipaddress` entries.
    pub static_addresses: Vec<VirtualAddress>,
    /// `static_routes` entries.
    pub static_routes: Vec<VirtualRoute>,
    /// `static_rules` entries.
    pub static_rules: Vec<VirtualRule>,
    /// `vrrp_instance` blocks keepalived would not run (a missing `virtual_router_id`, no
    /// VIP with VRRPv3, ...), in file order, each with the reason; they are in no other list,
    /// so nothing else sees them.
    pub dropped_instances: Vec<DroppedInstance>,
}

/// A `vrrp_instance` that is read but not run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DroppedInstance {
    /// Why it is dropped (the diagnostic's message).
    pub reason: String,
    /// The instance as it was read.
    pub instance: VrrpInstance,
}

impl VrrpConfig {
    /// The instance named `name`.
    pub fn instance(&self, name: &str) -> Option<&VrrpInstance> {
        self.instances.iter().find(|i| i.name == name)
    }
    /// The `vrrp_script` named `name`.
    pub fn script(&self, name: &str) -> Option<&VrrpScript> {
        self.scripts.iter().find(|s| s.name == name)
    }
    /// The sync group an instance belongs to, if any.
    pub fn sync_group_of(&self, instance: &str) -> Option<&SyncGroup> {
        self.sync_groups
            .iter()
            .find(|g| g.members.iter().any(|m| m.name == instance))
    }
}
