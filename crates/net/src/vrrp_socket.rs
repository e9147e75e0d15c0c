//! Raw IP protocol 112 sockets for sending and receiving VRRP adverts on one
//! interface, IPv4 or IPv6, and, beside them as keepalived opens them, raw
//! protocol 51 sockets for adverts behind an IPsec AH (`auth_type AH`, IPv4
//! only, `IP_HDRINCL`: the sender writes the IP header its ICV covers).
//!
//! A [`VrrpSocket`] is bound to its interface (`SO_BINDTODEVICE`), joins the
//! VRRP multicast group there (224.0.0.18 or ff02::12 unless configured
//! otherwise), sends with TTL / hop limit 255 (RFC 9568 §5.1.1.3) for
//! multicast and unicast alike, does not loop its own multicast back, and is
//! non-blocking: poll it with [`VrrpSocket::wait_readable`] or
//! [`VrrpSocket::recv_timeout`], or register its fd (it is [`AsFd`]) with an
//! event loop such as tokio's `AsyncFd`.
//!
//! What a receive reports differs by family, because Linux raw sockets
//! differ:
//! * IPv4 raw sockets deliver the whole datagram, IP header included; the
//!   VRRP message is at [`Received::payload`], and source, destination and
//!   TTL come from that header. The caller may equally hand
//!   `&buf[..len]` to `keepalived_vrrp::wire::ip::parse_datagram`.
//! * IPv6 raw sockets deliver the payload alone; the hop limit and the
//!   destination come as `IPV6_HOPLIMIT` / `IPV6_PKTINFO` ancillary data.
//!
//! The source address of outgoing adverts (keepalived's `mcast_src_ip`) is
//! chosen per packet with `IP_PKTINFO` / `IPV6_PKTINFO`, not by binding the
//! socket, because a bound raw socket would only receive datagrams sent to
//! that address and miss the multicast group.
//!
//! IPv6 checksums are computed and verified by the kernel (`IPV6_CHECKSUM`
//! at offset 6, as keepalived does), so a sender that lets the kernel pick
//! the source still gets a correct checksum; adverts with a bad checksum are
//! dropped by the kernel and never reach [`VrrpSocket::recv`].

use std::io::{self, IoSlice, IoSliceMut};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
use std::ops::Range;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{
    ControlMessage, ControlMessageOwned, MsgFlags, SockaddrIn, SockaddrIn6, recvmsg, sendmsg,
    setsockopt, sockopt,
};
use socket2::{Domain, InterfaceIndexOrAddress, Protocol, Socket, Type};

use crate::error::{NetError, Result};
use crate::link::ifindex;

/// The IP protocol number of VRRP.
pub const PROTO_VRRP: u8 = 112;
/// The IP protocol number of IPsec AH (`auth_type AH` adverts).
pub const PROTO_AH: u8 = 51;
/// The IPv4 VRRP multicast group (RFC 9568 §5.1.1.2).
pub const VRRP_GROUP_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// The IPv6 VRRP multicast group, `ff02::12` (RFC 9568 §5.1.2.2).
pub const VRRP_GROUP_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
/// The TTL / hop limit every advert is sent with and must arrive with.
pub const VRRP_TTL: u8 = 255;
/// Offset of the checksum in a VRRP message, for `IPV6_CHECKSUM`.
const VRRP_CHECKSUM_OFFSET: libc::c_int = 6;

// Neither socket2 nor rustix has `IPV6_CHECKSUM`, so define it with nix's own
// macro; its expansion (nix's code) holds the `setsockopt(2)` call on a
// `c_int`, so this crate still has no `unsafe` of its own.
use nix::{getsockopt_impl, setsockopt_impl, sockopt_impl};
sockopt_impl!(
    /// `IPV6_CHECKSUM`: the kernel computes (and verifies) the checksum of
    /// raw IPv6 datagrams at this offset in the payload; -1 turns it off.
    Ipv6Checksum,
    Both,
    libc::IPPROTO_IPV6,
    libc::IPV6_CHECKSUM,
    libc::c_int
);

/// An address family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IpFamily {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

impl IpFamily {
    /// The family of `addr`.
    #[must_use]
    pub const fn of(addr: &IpAddr) -> IpFamily {
        match addr {
            IpAddr::V4(_) => IpFamily::V4,
            IpAddr::V6(_) => IpFamily::V6,
        }
    }
}

/// How to open a [`VrrpSocket`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VrrpSocketConfig {
    /// The interface to bind to (e.g. `eth0`).
    pub ifname: String,
    /// The socket's family.
    pub family: IpFamily,
    /// The multicast group to join and to send to with [`VrrpSocket::send`];
    /// `None` for a unicast-only socket (keepalived's `unicast_peer`).
    pub group: Option<IpAddr>,
    /// The source address of outgoing adverts (keepalived's `mcast_src_ip`
    /// / `unicast_src_ip`); it must be configured on the interface. `None`
    /// lets the kernel choose (the interface's primary address for IPv4, its
    /// link-local address for multicast IPv6).
    pub src: Option<IpAddr>,
    /// An IPsec AH socket (`auth_type AH`, IPv4 only): IP protocol 51 instead
    /// of 112, and `IP_HDRINCL`, because the AH's integrity check covers the
    /// IP header, so the sender writes it ([`VrrpSocket::send_datagram`]).
    pub ah: bool,
}

impl VrrpSocketConfig {
    /// An IPv4 socket on `ifname` joined to 224.0.0.18, source chosen by the kernel.
    #[must_use]
    pub fn v4(ifname: &str) -> VrrpSocketConfig {
        VrrpSocketConfig {
            ifname: ifname.to_owned(),
            family: IpFamily::V4,
            group: Some(VRRP_GROUP_V4.into()),
            src: None,
            ah: false,
        }
    }

    /// An IPv6 socket on `ifname` joined to ff02::12, source chosen by the kernel.
    #[must_use]
    pub fn v6(ifname: &str) -> VrrpSocketConfig {
        VrrpSocketConfig {
            ifname: ifname.to_owned(),
            family: IpFamily::V6,
            group: Some(VRRP_GROUP_V6.into()),
            src: None,
            ah: false,
        }
    }

    /// Sets the source address of outgoing adverts.
    #[must_use]
    pub fn with_src(mut self, src: IpAddr) -> VrrpSocketConfig {
        self.src = Some(src);
        self
    }

    /// Makes it an IPsec AH socket (protocol 51, `IP_HDRINCL`).
    #[must_use]
    pub fn with_ah(mut self, ah: bool) -> VrrpSocketConfig {
        self.ah = ah;
        self
    }

    /// Sets (or, with `None`, removes) the multicast group.
    #[must_use]
    pub fn with_group(mut self, group: Option<IpAddr>) -> VrrpSocketConfig {
        self.group = group;
        self
    }

    /// Checks that the group is a multicast address and that group and
    /// source are of the socket's family.
    ///
    /// # Errors
    /// [`NetError::InvalidArgument`] saying what is wrong.
    pub fn validate(&self) -> Result<()> {
        if self.ah && self.family != IpFamily::V4 {
            return Err(invalid("AH authentication is IPv4 only".to_owned()));
        }
        if let Some(group) = self.group {
            if IpFamily::of(&group) != self.family {
                return Err(invalid(format!(
                    "group {group} is not of the socket's family"
                )));
            }
            if !group.is_multicast() {
                return Err(invalid(format!("group {group} is not a multicast address")));
            }
        }
        if let Some(src) = self.src {
            if IpFamily::of(&src) != self.family {
                return Err(invalid(format!(
                    "source {src} is not of the socket's family"
                )));
            }
            if src.is_multicast() || src.is_unspecified() {
                return Err(invalid(format!("source {src} is not a unicast address")));
            }
        }
        Ok(())
    }
}

fn invalid(msg: String) -> NetError {
    NetError::InvalidArgument(msg)
}

/// What [`VrrpSocket::recv`] learnt about one datagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    /// Bytes written into the buffer (for IPv4 the IP header included).
    pub len: usize,
    /// Where the VRRP message lies in the buffer.
    pub payload: Range<usize>,
    /// Whether the datagram was longer than the buffer (and cut).
    pub truncated: bool,
    /// The sender's address.
    pub src: IpAddr,
    /// The destination address (the group, or ours for unicast), if known.
    pub dst: Option<IpAddr>,
    /// The TTL / hop limit it arrived with, if known.
    pub ttl: Option<u8>,
    /// The interface it arrived on, if known.
    pub ifindex: Option<u32>,
}

/// A raw VRRP socket bound to one interface; see the module documentation.
#[derive(Debug)]
pub struct VrrpSocket {
    socket: Socket,
    family: IpFamily,
    ifname: String,
    ifindex: u32,
    group: Option<IpAddr>,
    src: Option<IpAddr>,
    ah: bool,
}

impl VrrpSocket {
    /// Opens the socket described by `config` in the calling thread's
    /// network namespace.
    ///
    /// # Errors
    /// [`NetError::InvalidArgument`] if `config` does not
    /// [validate](VrrpSocketConfig::validate); [`NetError::NoSuchInterface`];
    /// [`NetError::Socket`] naming the call that failed (`EPERM` without
    /// `CAP_NET_RAW`).
    pub fn open(config: &VrrpSocketConfig) -> Result<VrrpSocket> {
        config.validate()?;
        let ifindex = ifindex(&config.ifname)?;
        let domain = match config.family {
            IpFamily::V4 => Domain::IPV4,
            IpFamily::V6 => Domain::IPV6,
        };
        let ctx = |op: &'static str| {
            let ifname = config.ifname.clone();
            move |source| NetError::Socket { op, ifname, source }
        };
        let proto = if config.ah { PROTO_AH } else { PROTO_VRRP };
        let socket = Socket::new(
            domain,
            Type::RAW.cloexec(),
            Some(Protocol::from(i32::from(proto))),
        )
        .map_err(ctx("socket"))?;
        if config.ah {
            socket
                .set_header_included_v4(true)
                .map_err(ctx("IP_HDRINCL"))?;
        }
        socket
            .bind_device(Some(config.ifname.as_bytes()))
            .map_err(ctx("SO_BINDTODEVICE"))?;
        let ttl = u32::from(VRRP_TTL);
        match config.family {
            IpFamily::V4 => {
                socket.set_ttl_v4(ttl).map_err(ctx("IP_TTL"))?;
                socket
                    .set_multicast_ttl_v4(ttl)
                    .map_err(ctx("IP_MULTICAST_TTL"))?;
                socket
                    .set_multicast_loop_v4(false)
                    .map_err(ctx("IP_MULTICAST_LOOP"))?;
                socket
                    .set_multicast_all_v4(false)
                    .map_err(ctx("IP_MULTICAST_ALL"))?;
                setsockopt(&socket, sockopt::Ipv4PacketInfo, &true)
                    .map_err(|e| ctx("IP_PKTINFO")(e.into()))?;
                if let Some(IpAddr::V4(group)) = config.group {
                    socket
                        .join_multicast_v4_n(&group, &InterfaceIndexOrAddress::Index(ifindex))
                        .map_err(ctx("IP_ADD_MEMBERSHIP"))?;
                }
            }
            IpFamily::V6 => {
                socket
                    .set_unicast_hops_v6(ttl)
                    .map_err(ctx("IPV6_UNICAST_HOPS"))?;
                socket
                    .set_multicast_hops_v6(ttl)
                    .map_err(ctx("IPV6_MULTICAST_HOPS"))?;
                socket
                    .set_multicast_loop_v6(false)
                    .map_err(ctx("IPV6_MULTICAST_LOOP"))?;
                socket
                    .set_multicast_if_v6(ifindex)
                    .map_err(ctx("IPV6_MULTICAST_IF"))?;
                socket
                    .set_recv_hoplimit_v6(true)
                    .map_err(ctx("IPV6_RECVHOPLIMIT"))?;
                setsockopt(&socket, sockopt::Ipv6RecvPacketInfo, &true)
                    .map_err(|e| ctx("IPV6_RECVPKTINFO")(e.into()))?;
                setsockopt(&socket, Ipv6Checksum, &VRRP_CHECKSUM_OFFSET)
                    .map_err(|e| ctx("IPV6_CHECKSUM")(e.into()))?;
                if let Some(IpAddr::V6(group)) = config.group {
                    socket
                        .join_multicast_v6(&group, ifindex)
                        .map_err(ctx("IPV6_ADD_MEMBERSHIP"))?;
                }
            }
        }
        socket.set_nonblocking(true).map_err(ctx("O_NONBLOCK"))?;
        Ok(VrrpSocket {
            socket,
            family: config.family,
            ifname: config.ifname.clone(),
            ifindex,
            group: config.group,
            src: config.src,
            ah: config.ah,
        })
    }

    /// The socket's family.
    #[must_use]
    pub fn family(&self) -> IpFamily {
        self.family
    }

    /// The interface name it is bound to.
    #[must_use]
    pub fn ifname(&self) -> &str {
        &self.ifname
    }

    /// The interface index it is bound to (looked up when opened).
    #[must_use]
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// The multicast group joined, if any.
    #[must_use]
    pub fn group(&self) -> Option<IpAddr> {
        self.group
    }

    /// The configured source address, if any.
    #[must_use]
    pub fn src(&self) -> Option<IpAddr> {
        self.src
    }

    /// Sends one VRRP message (no IP header) to the multicast group.
    ///
    /// # Errors
    /// `InvalidInput` if the socket has no group; otherwise the kernel's
    /// error (`WouldBlock` if the send buffer is full).
    pub fn send(&self, msg: &[u8]) -> io::Result<usize> {
        let dst = self.group.ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "socket has no multicast group")
        })?;
        self.send_to(msg, dst)
    }

    /// Sends one VRRP message (no IP header) to `dst`, from the configured
    /// source address if there is one.
    ///
    /// # Errors
    /// `InvalidInput` if `dst` is of the other family; otherwise the
    /// kernel's error (`WouldBlock` if the send buffer is full,
    /// `EADDRNOTAVAIL` if the source is not configured on the interface).
    pub fn send_to(&self, msg: &[u8], dst: IpAddr) -> io::Result<usize> {
        let iov = [IoSlice::new(msg)];
        let fd = self.socket.as_raw_fd();
        let sent = match (dst, self.src) {
            (IpAddr::V4(dst), src) if self.family == IpFamily::V4 => {
                let addr = SockaddrIn::from(SocketAddrV4::new(dst, 0));
                match src {
                    Some(IpAddr::V4(src)) => {
                        let info = libc::in_pktinfo {
                            ipi_ifindex: 0,
                            ipi_spec_dst: libc::in_addr {
                                s_addr: u32::from_ne_bytes(src.octets()),
                            },
                            ipi_addr: libc::in_addr { s_addr: 0 },
                        };
                        let cmsg = [ControlMessage::Ipv4PacketInfo(&info)];
                        sendmsg(fd, &iov, &cmsg, MsgFlags::empty(), Some(&addr))
                    }
                    _ => sendmsg(fd, &iov, &[], MsgFlags::empty(), Some(&addr)),
                }
            }
            (IpAddr::V6(dst), src) if self.family == IpFamily::V6 => {
                let scope = if is_link_local_scope(&dst) {
                    self.ifindex
                } else {
                    0
                };
                let addr = SockaddrIn6::from(SocketAddrV6::new(dst, 0, 0, scope));
                let src = match src {
                    Some(IpAddr::V6(src)) => src,
                    _ => Ipv6Addr::UNSPECIFIED,
                };
                let info = libc::in6_pktinfo {
                    ipi6_addr: libc::in6_addr {
                        s6_addr: src.octets(),
                    },
                    ipi6_ifindex: self.ifindex,
                };
                let cmsg = [ControlMessage::Ipv6PacketInfo(&info)];
                sendmsg(fd, &iov, &cmsg, MsgFlags::empty(), Some(&addr))
            }
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "destination is not of the socket's family",
                ));
            }
        };
        sent.map_err(io::Error::from)
    }

    /// Sends one whole IPv4 datagram, header included (an AH socket's adverts:
    /// the header, source and Identification are the caller's), to `dst`.
    ///
    /// # Errors
    /// `InvalidInput` if this is not an AH socket or `dst` is not IPv4;
    /// otherwise the kernel's error.
    pub fn send_datagram(&self, datagram: &[u8], dst: IpAddr) -> io::Result<usize> {
        let IpAddr::V4(dst) = dst else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "AH adverts are IPv4 only",
            ));
        };
        if !self.ah {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not an AH socket (no IP_HDRINCL)",
            ));
        }
        let addr = socket2::SockAddr::from(SocketAddrV4::new(dst, 0));
        self.socket.send_to(datagram, &addr)
    }

    /// Whether this is an IPsec AH socket (protocol 51, header included).
    #[must_use]
    pub fn is_ah(&self) -> bool {
        self.ah
    }

    /// Receives one datagram into `buf` without waiting; see [`Received`]
    /// for what is reported. Give a buffer of at least the interface MTU.
    ///
    /// # Errors
    /// `WouldBlock` when nothing is queued; `InvalidData` if an IPv4
    /// datagram's header cannot be read (never for what Linux delivers);
    /// otherwise the kernel's error.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Received> {
        let fd = self.socket.as_raw_fd();
        let mut cmsg_space = nix::cmsg_space!(libc::in6_pktinfo, libc::c_int);
        let mut iov = [IoSliceMut::new(buf)];
        let (len, truncated, mut rx) = match self.family {
            IpFamily::V4 => {
                let msg = recvmsg::<SockaddrIn>(
                    fd,
                    &mut iov,
                    Some(&mut cmsg_space),
                    MsgFlags::MSG_TRUNC,
                )?;
                let mut ifindex = None;
                for cmsg in msg.cmsgs()? {
                    if let ControlMessageOwned::Ipv4PacketInfo(info) = cmsg {
                        ifindex = u32::try_from(info.ipi_ifindex).ok();
                    }
                }
                let src = msg.address.map(|a| IpAddr::V4(a.ip()));
                let rx = Received {
                    len: 0,
                    payload: 0..0,
                    truncated: false,
                    src: src.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
                    dst: None,
                    ttl: None,
                    ifindex,
                };
                (msg.bytes, msg.flags.contains(MsgFlags::MSG_TRUNC), rx)
            }
            IpFamily::V6 => {
                let msg = recvmsg::<SockaddrIn6>(
                    fd,
                    &mut iov,
                    Some(&mut cmsg_space),
                    MsgFlags::MSG_TRUNC,
                )?;
                let mut rx = Received {
                    len: 0,
                    payload: 0..0,
                    truncated: false,
                    src: msg
                        .address
                        .map_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED), |a| IpAddr::V6(a.ip())),
                    dst: None,
                    ttl: None,
                    ifindex: None,
                };
                for cmsg in msg.cmsgs()? {
                    match cmsg {
                        ControlMessageOwned::Ipv6PacketInfo(info) => {
                            rx.dst = Some(IpAddr::V6(Ipv6Addr::from(info.ipi6_addr.s6_addr)));
                            rx.ifindex = Some(info.ipi6_ifindex);
                        }
                        ControlMessageOwned::Ipv6HopLimit(hops) => {
                            rx.ttl = u8::try_from(hops).ok();
                        }
                        _ => {}
                    }
                }
                (msg.bytes, msg.flags.contains(MsgFlags::MSG_TRUNC), rx)
            }
        };
        // With MSG_TRUNC the kernel reports the datagram's real length.
        rx.len = len.min(buf.len());
        rx.truncated = truncated || len > buf.len();
        match self.family {
            IpFamily::V4 => {
                let hdr = Ipv4Header::parse(&buf[..rx.len]).ok_or_else(|| {
                    io::Error::new(io::ErrorKind::InvalidData, "unreadable IPv4 header")
                })?;
                rx.payload = hdr.payload;
                rx.src = IpAddr::V4(hdr.src);
                rx.dst = Some(IpAddr::V4(hdr.dst));
                rx.ttl = Some(hdr.ttl);
            }
            IpFamily::V6 => rx.payload = 0..rx.len,
        }
        Ok(rx)
    }

    /// Waits up to `timeout` for a datagram, then receives it; `None` if
    /// none came in time.
    ///
    /// # Errors
    /// As for [`VrrpSocket::recv`] and [`VrrpSocket::wait_readable`].
    pub fn recv_timeout(&self, buf: &mut [u8], timeout: Duration) -> io::Result<Option<Received>> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.recv(buf) {
                Ok(rx) => return Ok(Some(rx)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || !self.wait_readable(left)? {
                return Ok(None);
            }
        }
    }

    /// Waits up to `timeout` (rounded up to whole milliseconds, at most
    /// about 24 days) for the socket to become readable.
    ///
    /// # Errors
    /// The kernel's error from `poll(2)` (`EINTR` is retried).
    pub fn wait_readable(&self, timeout: Duration) -> io::Result<bool> {
        let ms = timeout.as_nanos().div_ceil(1_000_000);
        let ms = u32::try_from(ms).unwrap_or(u32::MAX).min(i32::MAX as u32);
        let timeout = PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX);
        let mut fds = [PollFd::new(self.socket.as_fd(), PollFlags::POLLIN)];
        loop {
            match nix::poll::poll(&mut fds, timeout) {
                Ok(n) => return Ok(n > 0),
                Err(nix::errno::Errno::EINTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The underlying socket, e.g. to set more options.
    #[must_use]
    pub fn socket(&self) -> &Socket {
        &self.socket
    }
}

impl AsFd for VrrpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

impl AsRawFd for VrrpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }
}

/// Whether `addr` needs a scope id (link-local unicast or link-scope multicast).
fn is_link_local_scope(addr: &Ipv6Addr) -> bool {
    let s = addr.segments();
    (s[0] & 0xffc0) == 0xfe80 || (addr.is_multicast() && (s[0] & 0x000f) <= 2)
}

/// The fields of an IPv4 header that a receive reports.
#[derive(Debug, PartialEq, Eq)]
struct Ipv4Header {
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ttl: u8,
    payload: Range<usize>,
}

impl Ipv4Header {
    /// Reads the header at the front of `buf`; `None` if it is not a
    /// well-formed IPv4 header. The payload ends at Total Length, or at the
    /// end of `buf` if that is shorter.
    fn parse(buf: &[u8]) -> Option<Ipv4Header> {
        let first = *buf.first()?;
        let ihl = usize::from(first & 0x0f) * 4;
        if first >> 4 != 4 || ihl < 20 || buf.len() < ihl {
            return None;
        }
        let total = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
        if total < ihl {
            return None;
        }
        let octets = |at: usize| Ipv4Addr::new(buf[at], buf[at + 1], buf[at + 2], buf[at + 3]);
        Some(Ipv4Header {
            src: octets(12),
            dst: octets(16),
            ttl: buf[8],
            payload: ihl..total.min(buf.len()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_validation() {
        assert!(VrrpSocketConfig::v4("eth0").validate().is_ok());
        assert!(VrrpSocketConfig::v6("eth0").validate().is_ok());
        let v4 = VrrpSocketConfig::v4("eth0");
        assert!(
            v4.clone()
                .with_group(Some(VRRP_GROUP_V6.into()))
                .validate()
                .is_err()
        );
        assert!(
            v4.clone()
                .with_group(Some("192.0.2.1".parse().unwrap()))
                .validate()
                .is_err()
        );
        assert!(v4.clone().with_group(None).validate().is_ok());
        assert!(
            v4.clone()
                .with_src("2001:db8::1".parse().unwrap())
                .validate()
                .is_err()
        );
        assert!(
            v4.clone()
                .with_src("224.0.0.18".parse().unwrap())
                .validate()
                .is_err()
        );
        assert!(v4.with_src("192.0.2.1".parse().unwrap()).validate().is_ok());
    }

    #[test]
    fn ipv4_header_parsing() {
        let mut pkt = [0u8; 28];
        pkt[0] = 0x45;
        pkt[2..4].copy_from_slice(&28u16.to_be_bytes());
        pkt[8] = 255;
        pkt[9] = PROTO_VRRP;
        pkt[12..16].copy_from_slice(&[192, 0, 2, 1]);
        pkt[16..20].copy_from_slice(&[224, 0, 0, 18]);
        let h = Ipv4Header::parse(&pkt).unwrap();
        assert_eq!(h.src, Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(h.dst, VRRP_GROUP_V4);
        assert_eq!(h.ttl, 255);
        assert_eq!(h.payload, 20..28);
        // Options: IHL 6 moves the payload.
        pkt[0] = 0x46;
        assert_eq!(Ipv4Header::parse(&pkt).unwrap().payload, 24..28);
        // Link-layer padding after Total Length is not payload.
        let mut padded = [0u8; 40];
        padded[..28].copy_from_slice(&pkt);
        assert_eq!(Ipv4Header::parse(&padded).unwrap().payload, 24..28);
        // Truncated buffer: the payload ends at the buffer.
        assert_eq!(Ipv4Header::parse(&pkt[..26]).unwrap().payload, 24..26);
        assert!(Ipv4Header::parse(&pkt[..10]).is_none());
        assert!(Ipv4Header::parse(&[]).is_none());
        pkt[0] = 0x65;
        assert!(Ipv4Header::parse(&pkt).is_none());
        pkt[0] = 0x44;
        assert!(Ipv4Header::parse(&pkt).is_none());
    }

    #[test]
    fn link_local_scope() {
        assert!(is_link_local_scope(&VRRP_GROUP_V6));
        assert!(is_link_local_scope(&"fe80::1".parse().unwrap()));
        assert!(!is_link_local_scope(&"2001:db8::1".parse().unwrap()));
        assert!(!is_link_local_scope(&"ff05::12".parse().unwrap()));
    }
}
