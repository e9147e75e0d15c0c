//! The IPVS generic netlink protocol ("IPVS" family, uapi `linux/ip_vs.h`): typed messages,
//! encoded and decoded symmetrically, without I/O.
//!
//! # Wire layout
//! Every request and reply is one netlink message: `nlmsghdr` (16 bytes, type = the family id
//! the controller resolves for `"IPVS"`), the generic netlink header (`cmd`, `version` = 1,
//! 2 reserved bytes), then attributes. Services and destinations travel in nested attributes
//! (`IPVS_CMD_ATTR_SERVICE`, `IPVS_CMD_ATTR_DEST`, `IPVS_CMD_ATTR_DAEMON`); timeouts and
//! `GET_INFO` answers are top-level attributes. Attribute headers and integers are in host
//! order, except ports (`__be16`) and the IPv4 multicast group (`in_addr`); addresses are
//! 16 bytes (`nf_inet_addr`) for both families, IPv4 in the first four. The IPv4 persistence
//! netmask is a `__be32` carried in a `u32` attribute (see [`netmask_v4`]).
//!
//! # Why the attributes are encoded by hand
//! `netlink-packet-generic` 0.5 (built on the workspace's `netlink-packet-core` 0.9) supplies
//! the generic netlink header ([`GenlMessage`](netlink_packet_generic::GenlMessage), via the
//! [`GenlFamily`](netlink_packet_generic::GenlFamily) impl of [`IpvsMessage`]) and the
//! controller messages that resolve the family id. No maintained crate covers the IPVS
//! attributes completely (tunnel options, sync daemon groups, 64-bit stats, `ip_vs_flags`),
//! so `codec` writes and reads them: a few dozen lines of TLV code whose every length is
//! checked, which keeps the no-panic contract in one place we can test byte for byte.
//!
//! # No-panic contract
//! [`IpvsMessage::parse`] and [`decode`] never panic, whatever the bytes; they return an
//! [`IpvsDecodeError`]. Unknown attributes are skipped (newer kernels add some).

mod codec;
pub mod consts;
#[cfg(test)]
mod tests;
mod types;

pub use codec::{IpvsDecodeError, IpvsEncodeError, decode, encode};
pub use types::{
    DaemonState, DestConns, DestKey, Destination, Family, FwdMethod, Info, IpvsMessage, Protocol,
    Service, ServiceKey, Stats, SyncDaemon, Timeouts, TunnelOpts, TunnelType, netmask_v4,
};
