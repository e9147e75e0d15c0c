//! Checks of a configuration against the host it would run on (does each interface exist?),
//! from facts the caller gathered, so this crate stays free of host I/O.

use std::collections::BTreeSet;

use crate::diag::Diagnostics;
use crate::model::Config;

/// What the caller found out about the host.
#[derive(Debug, Clone, Default)]
pub struct HostFacts {
    /// Names of the network interfaces that exist.
    pub interfaces: BTreeSet<String>,
    /// Names of loopback interfaces.
    pub loopbacks: BTreeSet<String>,
    /// True when running as root (scripts then run as root unless a script user is set).
    pub is_root: bool,
    /// True when the user `keepalived_script` exists (keepalived's default script user).
    pub script_user_exists: bool,
}

/// Adds host-dependent diagnostics for `config` to `diags`.
pub fn check(_config: &Config, _facts: &HostFacts, _diags: &mut Diagnostics) {}
