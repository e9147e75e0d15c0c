//! The BFD engine process (keepalived's BFD child): its sessions on the wire, its events for the
//! VRRP and checker engines ([`crate::services::bfd_events`]), its reloads and its data dump.

pub mod driver;
pub mod process;
pub mod reload;
pub mod snapshot;
