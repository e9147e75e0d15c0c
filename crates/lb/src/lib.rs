//! keepalived-rs load balancer: the virtual-server model, the reconciler and its backends,
//! without I/O.
//!
//! * [`table`]: the desired IPVS table (services and destinations) from the configuration and
//!   the real servers' health, with keepalived's rules (inhibit_on_failure, quorum with
//!   hysteresis, sorry server).
//! * [`fwmark`]: `nftables_ipvs`: the marks of the virtual server groups and the ranges
//!   nftables marks with them.
//! * [`diff`]: the smallest set of changes from what the kernel holds to the desired table,
//!   touching only what we own.
//! * [`globals`]: `lvs_flush`, `lvs_timeouts`, `lvs_sync_daemon` and `lvs_flush_on_stop` as
//!   requests.
//! * [`backend`]: reconciler changes as IPVS requests, and a kernel dump as a table.
//! * [`ipvs`]: the kernel's IPVS generic netlink protocol (commands, attributes, typed
//!   services, destinations, sync daemons, timeouts), encoded and decoded symmetrically.
//!   The socket that carries it lives in `keepalived-net` (`Ipvs`).

// No I/O, checked by clippy (the list and reasons: clippy.toml).
#![deny(clippy::disallowed_methods, clippy::disallowed_types)]

pub mod backend;
pub mod diff;
pub mod fwmark;
pub mod globals;
pub mod ipvs;
pub mod table;
