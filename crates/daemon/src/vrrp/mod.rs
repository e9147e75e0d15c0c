//! The VRRP engine process, built like the checker's ([`crate::checker`]): its main
//! ([`process`]), the [`driver`] task that runs every instance, reloads ([`reload`],
//! [`reload_apply`]), the dumps' [`snapshot`] and the
//! [`metrics`], the [`trackers`], and the Linux side (sockets in
//! [`link`], addresses and routes in [`netops`], [`notify`] scripts and FIFOs, [`dbus`], [`snmp`], [`vmac`]s, the IPVS
//! [`syncd`]). [`cleanup`] removes what a dead engine left behind (also used by the parent).

pub mod cleanup;
mod control;
pub mod dbus;
pub mod driver;
pub mod firewall;
mod iptables;
pub mod link;
pub mod metrics;
pub mod netops;
pub mod notify;
pub mod process;
pub mod reload;
mod reload_apply;
pub mod snapshot;
pub mod snmp;
#[cfg(feature = "lvs-syncd")]
pub mod syncd;
#[cfg(not(feature = "lvs-syncd"))]
#[path = "syncd_off.rs"]
pub mod syncd;
pub mod timer;
pub mod trackers;
