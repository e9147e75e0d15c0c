//! Interface addresses over rtnetlink: add, remove and list IPv4 and IPv6
//! addresses with prefix length, label, broadcast and scope (what
//! keepalived's `virtual_ipaddress` entries need).
//!
//! [`Rtnl`] is a synchronous `NETLINK_ROUTE` socket, opened in the calling
//! thread's network namespace and usable from any thread afterwards. Each
//! request waits for the kernel's acknowledgement, so an error comes back
//! from the call that caused it.

use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroI32;

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage,
    NetlinkPayload,
};
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, AddressScope,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

use crate::error::{NetError, Result};
use crate::netlink::{recv_datagram, split_messages};

/// Longest address label (`IFNAMSIZ` - 1).
pub const LABEL_MAX: usize = 15;

/// An address scope (`ip addr add ... scope`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum AddrScope {
    /// `global` (0), the default.
    #[default]
    Universe,
    /// `site` (200).
    Site,
    /// `link` (253).
    Link,
    /// `host` (254).
    Host,
    /// `nowhere` (255).
    Nowhere,
    /// Any other number (1-199 are user-defined).
    Other(u8),
}

impl From<u8> for AddrScope {
    fn from(n: u8) -> AddrScope {
        match n {
            0 => AddrScope::Universe,
            200 => AddrScope::Site,
            253 => AddrScope::Link,
            254 => AddrScope::Host,
            255 => AddrScope::Nowhere,
            n => AddrScope::Other(n),
        }
    }
}

impl From<AddrScope> for u8 {
    fn from(s: AddrScope) -> u8 {
        match s {
            AddrScope::Universe => 0,
            AddrScope::Site => 200,
            AddrScope::Link => 253,
            AddrScope::Host => 254,
            AddrScope::Nowhere => 255,
            AddrScope::Other(n) => n,
        }
    }
}

/// An address to add to or remove from an interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddrSpec {
    /// The interface's index (see [`crate::ifindex`]).
    pub ifindex: u32,
    /// The address.
    pub addr: IpAddr,
    /// The prefix length (at most 32 for IPv4, 128 for IPv6).
    pub prefix_len: u8,
    /// IPv4 only: the label (`eth0:vip`), at most [`LABEL_MAX`] bytes. By
    /// convention it starts with the interface name; the kernel does not
    /// insist.
    pub label: Option<String>,
    /// IPv4 only: the broadcast address.
    pub broadcast: Option<Ipv4Addr>,
    /// The scope.
    pub scope: AddrScope,
    /// IPv6 only: add without duplicate address detection (`nodad`), so
    /// the address is usable at once, as keepalived does for VIPs. Ignored
    /// for IPv4.
    pub nodad: bool,
}

impl AddrSpec {
    /// `addr/prefix_len` on interface `ifindex`, global scope, no label or
    /// broadcast, `nodad` for IPv6.
    #[must_use]
    pub fn new(ifindex: u32, addr: IpAddr, prefix_len: u8) -> AddrSpec {
        AddrSpec {
            ifindex,
            addr,
            prefix_len,
            label: None,
            broadcast: None,
            scope: AddrScope::Universe,
            nodad: addr.is_ipv6(),
        }
    }

    /// Sets the label.
    #[must_use]
    pub fn with_label(mut self, label: &str) -> AddrSpec {
        self.label = Some(label.to_owned());
        self
    }

    /// Sets the broadcast address.
    #[must_use]
    pub fn with_broadcast(mut self, broadcast: Ipv4Addr) -> AddrSpec {
        self.broadcast = Some(broadcast);
        self
    }

    /// Sets the scope.
    #[must_use]
    pub fn with_scope(mut self, scope: AddrScope) -> AddrSpec {
        self.scope = scope;
        self
    }

    /// Checks the prefix length, and that label and broadcast are only
    /// given for IPv4 and the label fits.
    ///
    /// # Errors
    /// [`NetError::InvalidArgument`] saying what is wrong.
    pub fn validate(&self) -> Result<()> {
        let bad = |msg: String| Err(NetError::InvalidArgument(msg));
        let max = if self.addr.is_ipv4() { 32 } else { 128 };
        if self.prefix_len > max {
            return bad(format!(
                "prefix /{} too long for {}",
                self.prefix_len, self.addr
            ));
        }
        if self.ifindex == 0 {
            return bad("interface index 0".to_owned());
        }
        if let Some(label) = &self.label {
            if self.addr.is_ipv6() {
                return bad(format!("label {label:?} on IPv6 address {}", self.addr));
            }
            if label.is_empty() || label.len() > LABEL_MAX || label.contains('\0') {
                return bad(format!(
                    "label {label:?} is empty, has NUL or is over 15 bytes"
                ));
            }
        }
        if self.broadcast.is_some() && self.addr.is_ipv6() {
            return bad(format!("broadcast on IPv6 address {}", self.addr));
        }
        Ok(())
    }

    /// The rtnetlink message for this address.
    pub(crate) fn message(&self) -> AddressMessage {
        let mut msg = AddressMessage::default();
        msg.header.family = match self.addr {
            IpAddr::V4(_) => AddressFamily::Inet,
            IpAddr::V6(_) => AddressFamily::Inet6,
        };
        msg.header.prefix_len = self.prefix_len;
        msg.header.index = self.ifindex;
        msg.header.scope = AddressScope::from(u8::from(self.scope));
        if self.nodad && self.addr.is_ipv6() {
            msg.header.flags = AddressHeaderFlags::Nodad;
            msg.attributes
                .push(AddressAttribute::Flags(AddressFlags::Nodad));
        }
        // As iproute2 does: IFA_LOCAL is the address, IFA_ADDRESS the same
        // address when there is no peer.
        msg.attributes.push(AddressAttribute::Local(self.addr));
        msg.attributes.push(AddressAttribute::Address(self.addr));
        if let Some(label) = &self.label {
            msg.attributes.push(AddressAttribute::Label(label.clone()));
        }
        if let Some(brd) = self.broadcast {
            msg.attributes.push(AddressAttribute::Broadcast(brd));
        }
        msg
    }
}

/// An address configured on an interface, as the kernel reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddrInfo {
    /// The interface's index.
    pub ifindex: u32,
    /// The (local) address.
    pub addr: IpAddr,
    /// The prefix length.
    pub prefix_len: u8,
    /// The label (IPv4; the interface name when none was given).
    pub label: Option<String>,
    /// The broadcast address (IPv4), if any.
    pub broadcast: Option<Ipv4Addr>,
    /// The scope.
    pub scope: AddrScope,
    /// The `IFA_F_*` flags (secondary 0x01, nodad 0x02, tentative 0x40,
    /// permanent 0x80, ...).
    pub flags: u32,
}

impl AddrInfo {
    pub(crate) fn from_message(msg: &AddressMessage) -> Option<AddrInfo> {
        let mut local = None;
        let mut address = None;
        let mut label = None;
        let mut broadcast = None;
        let mut flags = u32::from(msg.header.flags.bits());
        for attr in &msg.attributes {
            match attr {
                AddressAttribute::Local(a) => local = Some(*a),
                AddressAttribute::Address(a) => address = Some(*a),
                AddressAttribute::Label(l) => label = Some(l.clone()),
                AddressAttribute::Broadcast(b) => broadcast = Some(*b),
                AddressAttribute::Flags(f) => flags = f.bits(),
                _ => {}
            }
        }
        Some(AddrInfo {
            ifindex: msg.header.index,
            addr: local.or(address)?,
            prefix_len: msg.header.prefix_len,
            label,
            broadcast,
            scope: AddrScope::from(u8::from(msg.header.scope)),
            flags,
        })
    }
}

/// A synchronous rtnetlink socket; see the module documentation.
#[derive(Debug)]
pub struct Rtnl {
    socket: Socket,
    seq: u32,
}

impl Rtnl {
    /// Opens a `NETLINK_ROUTE` socket in the calling thread's network namespace.
    ///
    /// # Errors
    /// [`NetError::Netlink`] if the socket cannot be created or bound.
    pub fn open() -> Result<Rtnl> {
        let err = |source| NetError::Netlink {
            op: "open NETLINK_ROUTE socket",
            source,
        };
        let mut socket = Socket::new(NETLINK_ROUTE).map_err(err)?;
        socket.bind_auto().map_err(err)?;
        socket.connect(&SocketAddr::new(0, 0)).map_err(err)?;
        // Extended acks are only a nicety: ignore kernels without them.
        let _ = socket.set_ext_ack(true);
        Ok(Rtnl { socket, seq: 0 })
    }

    /// Adds `spec` (`RTM_NEWADDR` with `NLM_F_CREATE | NLM_F_EXCL`).
    ///
    /// # Errors
    /// [`NetError::InvalidArgument`] if `spec` does not validate;
    /// [`NetError::Netlink`] with the kernel's errno otherwise (`EEXIST` if
    /// the address is already there, `ENODEV` for a bad index).
    pub fn add_addr(&mut self, spec: &AddrSpec) -> Result<()> {
        spec.validate()?;
        self.request(
            "RTM_NEWADDR",
            RouteNetlinkMessage::NewAddress(spec.message()),
            NLM_F_CREATE | NLM_F_EXCL,
        )
    }

    /// Removes `spec` (`RTM_DELADDR`); the kernel matches the address and
    /// prefix length (and the label, when given).
    ///
    /// # Errors
    /// As for [`Rtnl::add_addr`]; `EADDRNOTAVAIL` if there is no such address.
    pub fn del_addr(&mut self, spec: &AddrSpec) -> Result<()> {
        spec.validate()?;
        self.request(
            "RTM_DELADDR",
            RouteNetlinkMessage::DelAddress(spec.message()),
            0,
        )
    }

    /// Every address in the namespace, or only those on interface
    /// `ifindex`, in the kernel's order (IPv4 first).
    ///
    /// # Errors
    /// [`NetError::Netlink`] / [`NetError::NetlinkDecode`].
    pub fn addrs(&mut self, ifindex: Option<u32>) -> Result<Vec<AddrInfo>> {
        let msgs = self.dump(
            "RTM_GETADDR",
            RouteNetlinkMessage::GetAddress(AddressMessage::default()),
        )?;
        Ok(msgs
            .iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewAddress(a)
                    if ifindex.is_none_or(|i| i == a.header.index) =>
                {
                    AddrInfo::from_message(a)
                }
                _ => None,
            })
            .collect())
    }

    /// Sends a dump request and collects every reply until `NLMSG_DONE`.
    pub(crate) fn dump(
        &mut self,
        op: &'static str,
        msg: RouteNetlinkMessage,
    ) -> Result<Vec<RouteNetlinkMessage>> {
        let seq = self.send(op, msg, NLM_F_DUMP)?;
        let mut out = Vec::new();
        loop {
            for msg in self.recv_batch(op)? {
                if msg.header.sequence_number != seq {
                    continue;
                }
                match msg.payload {
                    NetlinkPayload::Done(_) => return Ok(out),
                    NetlinkPayload::Error(e) => return Err(netlink_error(op, e.code)),
                    NetlinkPayload::InnerMessage(m) => out.push(m),
                    _ => {}
                }
            }
        }
    }

    /// Sends `msg` with `NLM_F_ACK` and waits for the acknowledgement.
    pub(crate) fn request(
        &mut self,
        op: &'static str,
        msg: RouteNetlinkMessage,
        flags: u16,
    ) -> Result<()> {
        let seq = self.send(op, msg, flags | NLM_F_ACK)?;
        loop {
            for msg in self.recv_batch(op)? {
                if msg.header.sequence_number != seq {
                    continue;
                }
                if let NetlinkPayload::Error(e) = msg.payload {
                    return match e.code {
                        None => Ok(()),
                        code => Err(netlink_error(op, code)),
                    };
                }
            }
        }
    }

    /// Serializes and sends one request; returns its sequence number.
    pub(crate) fn send(
        &mut self,
        op: &'static str,
        msg: RouteNetlinkMessage,
        flags: u16,
    ) -> Result<u32> {
        self.seq = self.seq.wrapping_add(1);
        let mut packet = NetlinkMessage::new(NetlinkHeader::default(), NetlinkPayload::from(msg));
        packet.header.flags = NLM_F_REQUEST | flags;
        packet.header.sequence_number = self.seq;
        packet.finalize();
        let mut buf = vec![0; packet.buffer_len()];
        packet.serialize(&mut buf);
        self.socket
            .send(&buf, 0)
            .map_err(|source| NetError::Netlink { op, source })?;
        Ok(self.seq)
    }

    /// Receives one datagram and decodes every message in it.
    pub(crate) fn recv_batch(
        &mut self,
        op: &'static str,
    ) -> Result<Vec<NetlinkMessage<RouteNetlinkMessage>>> {
        let buf = recv_datagram(&self.socket).map_err(|source| NetError::Netlink { op, source })?;
        split_messages(&buf).map_err(|detail| NetError::NetlinkDecode { op, detail })
    }
}

pub(crate) fn netlink_error(op: &'static str, code: Option<NonZeroI32>) -> NetError {
    let errno = code.map_or(libc::EIO, |c| c.get().saturating_abs());
    NetError::Netlink {
        op,
        source: io::Error::from_raw_os_error(errno),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_numbers_round_trip() {
        for n in 0..=255u8 {
            assert_eq!(u8::from(AddrScope::from(n)), n);
        }
        assert_eq!(AddrScope::from(253), AddrScope::Link);
        assert_eq!(AddrScope::default(), AddrScope::Universe);
    }

    #[test]
    fn spec_validation() {
        let v4 = AddrSpec::new(2, "192.0.2.10".parse().unwrap(), 24);
        assert!(v4.validate().is_ok());
        assert!(!v4.nodad);
        assert!(v4.clone().with_label("eth0:vip").validate().is_ok());
        assert!(v4.clone().with_label("").validate().is_err());
        assert!(
            v4.clone()
                .with_label("a-label-too-long")
                .validate()
                .is_err()
        );
        let mut long = v4.clone();
        long.prefix_len = 33;
        assert!(long.validate().is_err());
        let mut zero = v4;
        zero.ifindex = 0;
        assert!(zero.validate().is_err());
        let v6 = AddrSpec::new(2, "2001:db8::10".parse().unwrap(), 64);
        assert!(v6.nodad);
        assert!(v6.validate().is_ok());
        assert!(v6.clone().with_label("eth0:vip").validate().is_err());
        assert!(
            v6.clone()
                .with_broadcast(Ipv4Addr::new(192, 0, 2, 255))
                .validate()
                .is_err()
        );
    }

    #[test]
    fn message_round_trips_into_info() {
        let spec = AddrSpec::new(7, "192.0.2.10".parse().unwrap(), 24)
            .with_label("eth0:vip")
            .with_broadcast(Ipv4Addr::new(192, 0, 2, 255))
            .with_scope(AddrScope::Link);
        let info = AddrInfo::from_message(&spec.message()).unwrap();
        assert_eq!(info.ifindex, 7);
        assert_eq!(info.addr, spec.addr);
        assert_eq!(info.prefix_len, 24);
        assert_eq!(info.label.as_deref(), Some("eth0:vip"));
        assert_eq!(info.broadcast, spec.broadcast);
        assert_eq!(info.scope, AddrScope::Link);
        let v6 = AddrSpec::new(7, "2001:db8::10".parse().unwrap(), 64);
        let info = AddrInfo::from_message(&v6.message()).unwrap();
        assert_eq!(info.flags & 0x02, 0x02, "nodad");
    }
}
