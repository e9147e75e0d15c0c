//! The global part of the model: the top-level daemon settings (`net_namespace`, `instance`,
//! ...), `global_defs`, and the top-level blocks that are neither VRRP instances nor virtual
//! servers: `track_group`, `garp_group`, `linkbeat_interfaces`, `interface_up_down_delays` and
//! `bfd_instance`.

pub mod blocks;
pub mod defs;
pub mod types;

use std::time::Duration;

use serde::Serialize;

pub use blocks::*;
pub use defs::*;
pub use types::*;

/// Everything of the global part.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GlobalConfig {
    /// The `global_defs` block.
    pub defs: GlobalDefs,
    /// `linkbeat_use_polling` at the top level: poll (MII/ethtool/ioctl) for link state of every
    /// interface instead of relying on netlink.
    pub linkbeat_use_polling: bool,
    /// `net_namespace NAME`: the network namespace to run in.
    pub net_namespace: Option<String>,
    /// `net_namespace_ipvs [NAME]`: the namespace holding the IPVS configuration; `Some("")`
    /// (no name given) means the default namespace.
    pub net_namespace_ipvs: Option<String>,
    /// `namespace_with_ipsets`: allow ipsets in a namespace on kernels before 3.13.
    pub namespace_with_ipsets: bool,
    /// `use_pid_dir`: create pid files in the keepalived run directory (also implied by
    /// `net_namespace` and `instance`).
    pub use_pid_dir: bool,
    /// `instance NAME`: name of this keepalived instance (part of the pid file names).
    pub instance: Option<String>,
    /// `child_wait_time SECS`: time allowed for child processes to exit on termination
    /// (default 5 s).
    #[serde(serialize_with = "crate::model::common::secs")]
    pub child_wait_time: Duration,
    /// `track_group` blocks, in file order.
    pub track_groups: Vec<TrackGroup>,
    /// `garp_group` blocks, in file order.
    pub garp_groups: Vec<GarpGroup>,
    /// Entries of the `linkbeat_interfaces` block(s).
    pub linkbeat_interfaces: Vec<LinkbeatInterface>,
    /// Entries of the `interface_up_down_delays` block(s).
    pub interface_up_down_delays: Vec<InterfaceUpDownDelay>,
    /// `bfd_instance` blocks, in file order.
    pub bfd_instances: Vec<BfdInstance>,
}

impl Default for GlobalConfig {
    fn default() -> Self {
        Self {
            defs: GlobalDefs::default(),
            linkbeat_use_polling: false,
            net_namespace: None,
            net_namespace_ipvs: None,
            namespace_with_ipsets: false,
            use_pid_dir: false,
            instance: None,
            child_wait_time: Duration::from_secs(5),
            track_groups: Vec::new(),
            garp_groups: Vec::new(),
            linkbeat_interfaces: Vec::new(),
            interface_up_down_delays: Vec::new(),
            bfd_instances: Vec::new(),
        }
    }
}

impl GlobalConfig {
    /// The BFD instance named `name`, if configured.
    pub fn bfd_instance(&self, name: &str) -> Option<&BfdInstance> {
        self.bfd_instances.iter().find(|b| b.name == name)
    }

    /// The static track group named `name`, if configured.
    pub fn track_group(&self, name: &str) -> Option<&TrackGroup> {
        self.track_groups.iter().find(|g| g.name == name)
    }
}
