//! What more than one process uses (the parent, the VRRP, checker and BFD engines): the command
//! line, the BFD events, configuration loading and its loader thread, logging, signals, readiness
//! and the watchdog's heartbeat and its queries, the control socket's commands, the metrics, the dumps'
//! files, scripts, mail, capabilities, scheduling and the host's facts.

pub mod addr_log;
pub mod bfd_events;
pub mod caps;
pub mod cli;
pub mod control;
pub mod coredump;
pub mod dump;
#[cfg(any(feature = "lvs", feature = "bfd"))]
pub mod engine_loop;
pub mod features;
pub mod heartbeat;
pub mod host;
#[cfg(feature = "lvs")]
pub mod ipvs;
pub mod load;
pub mod loader;
pub mod log;
pub mod log_file;
pub mod mail;
pub mod metrics;
pub mod netns;
pub mod ready;
pub mod sched;
pub mod script;
pub mod signals;
// The checker process will serve its own MIB too; today only the VRRP process does.
#[cfg(feature = "vrrp")]
pub mod snmp;
pub mod track_file;

/// Exit code of an engine whose configuration cannot be run (keepalived's
/// KEEPALIVED_EXIT_CONFIG): the parent stops instead of restarting it.
pub const EXIT_CONFIG: i32 = 4;

/// Exit code of an engine that cannot work at all (keepalived's KEEPALIVED_EXIT_FATAL): the
/// parent stops instead of restarting it.
pub const EXIT_FATAL: i32 = 3;

/// The environment variable holding the supervising parent's pid (set for the engines).
pub const ENV_PARENT: &str = "KEEPALIVED_RS_SUPERVISOR";
