//! Interoperability with Debian's keepalived 2.2.7, one test binary: [`failover`] (the cases
//! of issue 3: election, freeze, restart, SIGTERM, nopreempt, rejected peers, three on a
//! bridge), [`ah`] (`auth_type AH`), [`bfd`] (BFD sessions, `track_bfd`, BFD_CHECK), [`bfd_frr`] (BFD with FRR's bfdd), [`dbus`] (the D-Bus
//! interface), [`snmp`] (KEEPALIVED-MIB over AgentX) and [`start`] (`state MASTER` at start-up). Needs root;
//! documentation addresses only.

#[path = "../support/mod.rs"]
mod support;

mod ah;
mod bfd;
mod bfd_frr;
mod dbus;
mod failover;
mod snmp;
mod start;
