//! The typed configuration model: what `keepalived.conf` means, with keepalived's defaults
//! filled in. Built only by the reader; serialized to JSON by `keepalived-rs -t --json`.

pub mod common;
pub mod global;
pub mod lvs;
pub mod vrrp;

use serde::Serialize;

/// A whole configuration.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Config {
    /// `global_defs` and the top-level daemon settings, track groups, garp groups, BFD.
    pub global: global::GlobalConfig,
    /// VRRP: instances, sync groups, scripts, tracked files and processes, static addresses.
    pub vrrp: vrrp::VrrpConfig,
    /// Load balancing: virtual servers, their groups, real servers and checkers, SSL.
    pub lvs: lvs::LvsConfig,
}
