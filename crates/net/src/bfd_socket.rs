//! UDP sockets for BFD control packets (RFC 5881 single-hop on port 3784, RFC 5883 multihop
//! on port 4784), IPv4 and IPv6: a [`BfdListener`] per port and family receives with the TTL /
//! hop limit and the local address and interface each datagram came with, a [`BfdSender`] per
//! session sends from the session's own source port (49152-65535) with its TTL.
//!
//! Why one sender per session: RFC 5881 section 4 asks for a source port unique per session, and
//! a socket bound to it is the plain way to get one (keepalived lets the kernel pick; the engine
//! picks instead, `keepalived_bfd::Engine`). Senders never receive: peers send to 3784/4784.
//!
//! The received TTL is `IP_RECVTTL` (IPv4) or `IPV6_RECVHOPLIMIT`, the destination and interface
//! `IP_PKTINFO` / `IPV6_RECVPKTINFO`; the engine does the GTSM check (RFC 5881 section 5) with
//! them. Both kinds of socket are non-blocking: register their fd (they are [`AsFd`]) with an
//! event loop such as tokio's `AsyncFd`, or wait with [`BfdListener::wait_readable`].

use std::io::{self, IoSlice, IoSliceMut};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::time::Duration;

use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{
    ControlMessageOwned, MsgFlags, SockaddrIn, SockaddrIn6, recvmsg, sendmsg, setsockopt, sockopt,
};
use socket2::{Domain, Protocol, Socket, Type};

use crate::error::{NetError, Result};
use crate::vrrp_socket::IpFamily;

/// What one receive reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BfdReceived {
    /// Bytes of payload written to the buffer.
    pub len: usize,
    /// The datagram was longer than the buffer (the rest is lost).
    pub truncated: bool,
    /// Source address and port.
    pub src: SocketAddr,
    /// The local address it was sent to (`IP_PKTINFO` / `IPV6_PKTINFO`).
    pub dst: Option<IpAddr>,
    /// The interface it came in on.
    pub ifindex: Option<u32>,
    /// The TTL or hop limit it arrived with.
    pub ttl: Option<u8>,
}

/// A socket receiving BFD control packets on one port (3784 or 4784) and family, on every
/// address of the host (the engine matches sessions by address).
#[derive(Debug)]
pub struct BfdListener {
    socket: Socket,
    family: IpFamily,
    port: u16,
}

fn socket_error(op: &'static str, what: String) -> impl FnOnce(io::Error) -> NetError {
    move |source| NetError::Socket {
        op,
        ifname: what,
        source,
    }
}

fn nix_error(op: &'static str, what: String) -> impl FnOnce(nix::errno::Errno) -> NetError {
    move |e| NetError::Socket {
        op,
        ifname: what,
        source: e.into(),
    }
}

fn udp_socket(family: IpFamily, what: &str) -> Result<Socket> {
    let domain = match family {
        IpFamily::V4 => Domain::IPV4,
        IpFamily::V6 => Domain::IPV6,
    };
    let socket = Socket::new(domain, Type::DGRAM.cloexec(), Some(Protocol::UDP))
        .map_err(socket_error("socket", what.to_owned()))?;
    if family == IpFamily::V6 {
        socket
            .set_only_v6(true)
            .map_err(socket_error("IPV6_V6ONLY", what.to_owned()))?;
    }
    Ok(socket)
}

impl BfdListener {
    /// Opens and binds the listener for `family` on `port` (any address).
    ///
    /// # Errors
    /// [`NetError::Socket`] naming the call that failed (`EADDRINUSE` when another BFD daemon
    /// holds the port).
    pub fn open(family: IpFamily, port: u16) -> Result<BfdListener> {
        let what = format!("BFD port {port}");
        let socket = udp_socket(family, &what)?;
        socket
            .set_reuse_address(true)
            .map_err(socket_error("SO_REUSEADDR", what.clone()))?;
        match family {
            IpFamily::V4 => {
                setsockopt(&socket, sockopt::Ipv4RecvTtl, &true)
                    .map_err(nix_error("IP_RECVTTL", what.clone()))?;
                setsockopt(&socket, sockopt::Ipv4PacketInfo, &true)
                    .map_err(nix_error("IP_PKTINFO", what.clone()))?;
            }
            IpFamily::V6 => {
                setsockopt(&socket, sockopt::Ipv6RecvHopLimit, &true)
                    .map_err(nix_error("IPV6_RECVHOPLIMIT", what.clone()))?;
                setsockopt(&socket, sockopt::Ipv6RecvPacketInfo, &true)
                    .map_err(nix_error("IPV6_RECVPKTINFO", what.clone()))?;
            }
        }
        let any: SocketAddr = match family {
            IpFamily::V4 => SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port).into(),
            IpFamily::V6 => SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, port, 0, 0).into(),
        };
        socket
            .bind(&any.into())
            .map_err(socket_error("bind", what.clone()))?;
        socket
            .set_nonblocking(true)
            .map_err(socket_error("O_NONBLOCK", what))?;
        Ok(BfdListener {
            socket,
            family,
            port,
        })
    }

    /// The family it listens on.
    #[must_use]
    pub fn family(&self) -> IpFamily {
        self.family
    }

    /// The port it listens on.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Receives one datagram into `buf` without waiting.
    ///
    /// # Errors
    /// `WouldBlock` when nothing is queued; otherwise the kernel's error.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<BfdReceived> {
        let fd = self.socket.as_raw_fd();
        let mut cmsg_space = nix::cmsg_space!(libc::in6_pktinfo, libc::c_int, libc::c_int);
        let mut iov = [IoSliceMut::new(buf)];
        let mut rx = BfdReceived {
            len: 0,
            truncated: false,
            src: SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
            dst: None,
            ifindex: None,
            ttl: None,
        };
        let (bytes, flags) = match self.family {
            IpFamily::V4 => {
                let msg = recvmsg::<SockaddrIn>(
                    fd,
                    &mut iov,
                    Some(&mut cmsg_space),
                    MsgFlags::MSG_TRUNC,
                )?;
                if let Some(a) = msg.address {
                    rx.src = SocketAddr::from((a.ip(), a.port()));
                }
                for cmsg in msg.cmsgs()? {
                    match cmsg {
                        ControlMessageOwned::Ipv4PacketInfo(info) => {
                            rx.dst = Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(
                                info.ipi_addr.s_addr,
                            ))));
                            rx.ifindex = u32::try_from(info.ipi_ifindex).ok();
                        }
                        ControlMessageOwned::Ipv4Ttl(ttl) => rx.ttl = u8::try_from(ttl).ok(),
                        _ => {}
                    }
                }
                (msg.bytes, msg.flags)
            }
            IpFamily::V6 => {
                let msg = recvmsg::<SockaddrIn6>(
                    fd,
                    &mut iov,
                    Some(&mut cmsg_space),
                    MsgFlags::MSG_TRUNC,
                )?;
                if let Some(a) = msg.address {
                    rx.src = SocketAddrV6::from(a).into();
                }
                for cmsg in msg.cmsgs()? {
                    match cmsg {
                        ControlMessageOwned::Ipv6PacketInfo(info) => {
                            rx.dst = Some(IpAddr::V6(Ipv6Addr::from(info.ipi6_addr.s6_addr)));
                            rx.ifindex = Some(info.ipi6_ifindex);
                        }
                        ControlMessageOwned::Ipv6HopLimit(h) => rx.ttl = u8::try_from(h).ok(),
                        _ => {}
                    }
                }
                (msg.bytes, msg.flags)
            }
        };
        rx.len = bytes.min(buf.len());
        rx.truncated = flags.contains(MsgFlags::MSG_TRUNC) || bytes > buf.len();
        // A v4-mapped source on an IPv6 socket cannot happen (IPV6_V6ONLY).
        Ok(rx)
    }

    /// Waits up to `timeout` for a datagram (rounded up to whole milliseconds).
    ///
    /// # Errors
    /// The kernel's error from `poll(2)` (`EINTR` is retried).
    pub fn wait_readable(&self, timeout: Duration) -> io::Result<bool> {
        let ms = u32::try_from(timeout.as_nanos().div_ceil(1_000_000))
            .unwrap_or(u32::MAX)
            .min(i32::MAX as u32);
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
}

impl AsFd for BfdListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

impl AsRawFd for BfdListener {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }
}

/// One session's sending socket: bound to its source address (or any) and source port, sending
/// with its TTL / hop limit.
#[derive(Debug)]
pub struct BfdSender {
    socket: Socket,
    local: SocketAddr,
}

impl BfdSender {
    /// Opens a sender for a session to a neighbour of `family`, from `src` (any address when
    /// `None`) and `src_port`, with `ttl` as TTL / hop limit.
    ///
    /// # Errors
    /// [`NetError::InvalidArgument`] when `src` is not of `family`; [`NetError::Socket`] naming
    /// the call that failed (`EADDRINUSE` when the port is taken, `EADDRNOTAVAIL` when `src` is
    /// not an address of this host).
    pub fn open(
        family: IpFamily,
        src: Option<IpAddr>,
        src_port: u16,
        ttl: u8,
    ) -> Result<BfdSender> {
        let what = format!("BFD source port {src_port}");
        let local: SocketAddr = match (family, src) {
            (IpFamily::V4, None) => SocketAddr::from((Ipv4Addr::UNSPECIFIED, src_port)),
            (IpFamily::V6, None) => SocketAddr::from((Ipv6Addr::UNSPECIFIED, src_port)),
            (f, Some(a)) if IpFamily::of(&a) == f => SocketAddr::new(a, src_port),
            (_, Some(a)) => {
                return Err(NetError::InvalidArgument(format!(
                    "BFD source {a} is not of the session's family"
                )));
            }
        };
        let socket = udp_socket(family, &what)?;
        match family {
            IpFamily::V4 => socket
                .set_ttl_v4(u32::from(ttl))
                .map_err(socket_error("IP_TTL", what.clone()))?,
            IpFamily::V6 => socket
                .set_unicast_hops_v6(u32::from(ttl))
                .map_err(socket_error("IPV6_UNICAST_HOPS", what.clone()))?,
        }
        // A link-local IPv6 source needs its interface: none is configured in a bfd_instance,
        // so such a session is bound to any address and the route decides.
        let bind_to = match local {
            SocketAddr::V6(v6) if v6.ip().is_unicast_link_local() => {
                SocketAddr::from((Ipv6Addr::UNSPECIFIED, src_port))
            }
            other => other,
        };
        socket
            .bind(&bind_to.into())
            .map_err(socket_error("bind", what.clone()))?;
        socket
            .set_nonblocking(true)
            .map_err(socket_error("O_NONBLOCK", what))?;
        Ok(BfdSender { socket, local })
    }

    /// The address and port it sends from (the address unspecified when the kernel chooses).
    #[must_use]
    pub fn local(&self) -> SocketAddr {
        self.local
    }

    /// Changes the TTL / hop limit (a reload).
    ///
    /// # Errors
    /// The kernel's error.
    pub fn set_ttl(&self, ttl: u8) -> io::Result<()> {
        match self.local {
            SocketAddr::V4(_) => self.socket.set_ttl_v4(u32::from(ttl)),
            SocketAddr::V6(_) => self.socket.set_unicast_hops_v6(u32::from(ttl)),
        }
    }

    /// Sends one control packet to `dst` without waiting.
    ///
    /// # Errors
    /// `WouldBlock` when the socket buffer is full; otherwise the kernel's error (for example
    /// `ENETUNREACH`).
    pub fn send_to(&self, payload: &[u8], dst: SocketAddr) -> io::Result<usize> {
        let fd = self.socket.as_raw_fd();
        let iov = [IoSlice::new(payload)];
        let sent = match dst {
            SocketAddr::V4(v4) => {
                let addr = SockaddrIn::from(v4);
                sendmsg(fd, &iov, &[], MsgFlags::empty(), Some(&addr))
            }
            SocketAddr::V6(v6) => {
                let addr = SockaddrIn6::from(v6);
                sendmsg(fd, &iov, &[], MsgFlags::empty(), Some(&addr))
            }
        };
        Ok(sent?)
    }
}

impl AsFd for BfdSender {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_of_the_wrong_family_is_refused() {
        let err = BfdSender::open(
            IpFamily::V4,
            Some("2001:db8::1".parse().unwrap()),
            49152,
            255,
        )
        .unwrap_err();
        assert!(matches!(err, NetError::InvalidArgument(_)), "{err}");
    }
}
