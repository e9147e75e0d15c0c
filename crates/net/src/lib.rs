//! keepalived-rs Linux I/O: raw VRRP sockets and interface addresses over
//! rtnetlink. The engines (`keepalived-vrrp`, ...) decide; this crate only
//! turns their effects into syscalls and netlink messages.
//!
//! * [`VrrpSocket`]: a raw IP protocol 112 socket, IPv4 or IPv6, bound to
//!   one interface, joined to the VRRP group, sending with TTL 255 from a
//!   chosen source, receiving with TTL and destination.
//! * [`BfdListener`] / [`BfdSender`]: UDP sockets for BFD control packets (3784 / 4784),
//!   receiving with TTL, destination and interface, sending from a session's source port.
//! * [`Rtnl`]: add, remove and list interface addresses ([`AddrSpec`],
//!   [`AddrInfo`]), routes ([`RouteSpec`], [`RouteInfo`]) and policy rules
//!   ([`RuleSpec`], [`RuleInfo`]); routes and rules carry a protocol tag,
//!   [`RTPROT_KEEPALIVED`] by default, so ours can be found again.
//! * [`Garp`]: gratuitous ARP and unsolicited neighbour advertisements for
//!   VIPs over an `AF_PACKET` socket; the frames come from the pure
//!   builders [`arp_frame`] and [`na_frame`].
//! * [`ifindex`] / [`ifname`]: interface names and indexes.
//! * [`sched`]: the calling thread's nice value, real-time priority and EEVDF slice.
//! * [`ProcConnector`]: process events (fork, exec, comm, exit) from the
//!   kernel's process connector, for `vrrp_track_process`.
//! * [`LinkMonitor`]: link up/down/deleted notifications ([`LinkEvent`]) as they happen;
//!   [`Rtnl::links`] for the current state of every link ([`LinkInfo`]).
//! * [`Vmacs`]: VRRP virtual MAC interfaces (macvlans, keepalived's `use_vmac`) with the
//!   sysctls and IPv6 link-local address keepalived gives them; leftovers of a crashed run.
//! * [`Ipvs`]: the kernel's IPVS over generic netlink (services, real servers, timeouts, sync
//!   daemons), with the codec of `keepalived_lb::ipvs`; [`IpvsError`] names the service
//!   (feature `ipvs`, on by default).
//! * [`prepare_child`]: credentials and parent-death signal of a script's process.
//!
//! Everything acts in the network namespace of the thread that opens the
//! socket; tests use that to run in lab namespaces.
//!
//! This is the one crate of the workspace allowed `unsafe` code, denied by
//! default and allowed per module where a syscall needs it: `garp`, to build
//! the `sockaddr_ll` of an `AF_PACKET` send, `sched`, for `sched_setattr`, and
//! `exec`, for the hook between fork and exec (socket2, nix and netlink-sys wrap
//! everything else).

mod addr_monitor;
mod address;
mod bfd_socket;
mod daemon;
mod error;
mod exec;
mod garp;
#[cfg(feature = "ipvs")]
mod ipvs;
#[cfg(feature = "ipvs")]
mod ipvs_table;
mod link;
mod link_monitor;
mod netlink;
pub mod nft;
mod proc_events;
mod route;
mod rule;
pub mod sched;
mod sysctl;
mod vmac;
mod vrrp_socket;

pub use addr_monitor::{AddrEvent, AddrMonitor};
pub use address::{AddrInfo, AddrScope, AddrSpec, LABEL_MAX, Rtnl};
pub use bfd_socket::{BfdListener, BfdReceived, BfdSender};
pub use daemon::{
    Forked, NETNS_RUN_DIR, StartOutcome, StartReport, StartWait, enter_netns, fork_daemon,
    in_netns, netns_path,
};
pub use error::{NetError, Result};
pub use exec::{ChildCreds, prepare_child, send_signal};
pub use garp::{
    ALL_NODES_MAC, ALL_NODES_V6, ARP_FRAME_LEN, BROADCAST_MAC, Garp, MacAddr, NA_FRAME_LEN,
    arp_frame, na_frame,
};
#[cfg(feature = "ipvs")]
pub use ipvs::{BATCH_MAX, Ipvs, IpvsError, IpvsTarget, ipvs_kernel_error};
#[cfg(feature = "ipvs")]
pub use ipvs_table::Applied;
pub use link::{ifindex, ifname};
pub use link_monitor::{LinkEvent, LinkInfo, LinkMonitor, MacvlanMode};
pub use proc_events::{CN_IDX_PROC, CN_VAL_PROC, ProcConnector, ProcEvent, parse_proc_events};
pub use route::{
    RT_TABLE_LOCAL, RT_TABLE_MAIN, RTPROT_KEEPALIVED, RouteInfo, RouteKind, RouteSpec,
};
pub use rule::{RuleAction, RuleInfo, RuleSpec};
pub use vmac::{
    Vmac, VmacSpec, Vmacs, configured_vmac, eui64_link_local, is_vrrp_mac, mac_str, vmac_name,
    vrrp_mac,
};
pub use vrrp_socket::{
    IpFamily, PROTO_AH, PROTO_VRRP, Received, VRRP_GROUP_V4, VRRP_GROUP_V6, VRRP_TTL, VrrpSocket,
    VrrpSocketConfig,
};
