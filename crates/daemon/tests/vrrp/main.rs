//! The VRRP engine of the real daemon in lab namespaces, one test binary: [`daemon`] (election,
//! failover and handover for v2, v3 and unicast; gratuitous ARP; process settings), [`reload`]
//! (SIGHUP), [`firewall`] (accept mode in nftables, against keepalived too), [`firewall_vmac`] (the
//! VMAC multicast-report rules, against keepalived too), [`firewall_iptables`] (the
//! legacy iptables/ipsets path), [`routes`] (virtual routes and rules), [`tracking`] (trackers, sync groups,
//! notifications, VMAC, against keepalived too) and [`tracking_matrix`] (every tracker kind).
//! Needs root; documentation addresses only.

#[path = "../support/mod.rs"]
mod support;

mod daemon;
mod firewall;
mod firewall_iptables;
mod firewall_vmac;
mod reload;
mod routes;
mod tracking;
mod tracking_matrix;
