//! keepalived-rs Linux I/O: raw VRRP sockets and interface addresses over
//! rtnetlink. The engines (`keepalived-vrrp`, ...) decide; this crate only
//! turns their effects into syscalls and netlink messages.
//!
//! * [`VrrpSocket`]: a raw IP protocol 112 socket, IPv4 or IPv6, bound to
//!   one interface, joined to the VRRP group, sending with TTL 255 from a
//!   chosen source, receiving with TTL and destination.
//! * [`Rtnl`]: add, remove and list interface addresses ([`AddrSpec`],
//!   [`AddrInfo`]).
//! * [`ifindex`] / [`ifname`]: interface names and indexes.
//!
//! Everything acts in the network namespace of the thread that opens the
//! socket; tests use that to run in lab namespaces.
//!
//! This is the one crate of the workspace allowed `unsafe` code, denied by
//! default and allowed per module where a syscall needs it; so far none does
//! (socket2, nix and netlink-sys wrap the calls).

mod address;
mod error;
mod link;
mod vrrp_socket;

pub use address::{AddrInfo, AddrScope, AddrSpec, LABEL_MAX, Rtnl};
pub use error::{NetError, Result};
pub use link::{ifindex, ifname};
pub use vrrp_socket::{
    IpFamily, PROTO_VRRP, Received, VRRP_GROUP_V4, VRRP_GROUP_V6, VRRP_TTL, VrrpSocket,
    VrrpSocketConfig,
};
