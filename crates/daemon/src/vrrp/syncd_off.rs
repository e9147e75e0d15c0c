//! The IPVS sync daemon in a build without the `lvs-syncd` feature: nothing to follow
//! (`features::check` refuses a configuration with `lvs_sync_daemon` in such a build).

use keepalived_config::Config;
use keepalived_vrrp::State;

/// No sync daemon is ever started in this build.
pub struct SyncDaemons;

impl SyncDaemons {
    /// Nothing to start.
    pub fn new(_config: &Config) -> Self {
        SyncDaemons
    }

    /// Nothing follows an instance.
    pub fn follow(&mut self, _name: &str, _to: State) {}

    /// Nothing to reload.
    pub fn reload(&mut self, _config: &Config, _state_of: impl Fn(&str) -> Option<State>) {}

    /// Nothing to stop.
    pub fn stop(&mut self) {}
}
