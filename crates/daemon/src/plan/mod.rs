//! Pure planning: the configuration model turned into what the engines run (instance plans,
//! static addresses, routes and rules, tracked objects and their stable ids, VMACs), and the
//! start policy that drops what cannot run. No I/O: the host's facts come in as arguments.

pub mod convert;
pub mod firewall;
pub mod runnable;
#[cfg(feature = "vrrp")]
pub mod track_ids;
pub mod tracks;
pub mod vmac;
