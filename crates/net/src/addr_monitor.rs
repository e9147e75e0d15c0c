//! Address notifications: [`AddrMonitor`], a non-blocking rtnetlink socket subscribed to the
//! IPv4 and IPv6 address groups, turns `RTM_NEWADDR` / `RTM_DELADDR` into [`AddrEvent`]s as
//! they happen (the checker's `ha_suspend` watches its virtual servers' addresses with it).

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::time::Duration;

use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

use crate::address::AddrInfo;
use crate::error::{NetError, Result};

/// `RTNLGRP_IPV4_IFADDR`.
const RTNLGRP_IPV4_IFADDR: u32 = 5;
/// `RTNLGRP_IPV6_IFADDR`.
const RTNLGRP_IPV6_IFADDR: u32 = 9;

/// An address was added to or removed from an interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddrEvent {
    /// The address and where it is.
    pub info: AddrInfo,
    /// True for `RTM_DELADDR`.
    pub deleted: bool,
}

/// A non-blocking `NETLINK_ROUTE` socket subscribed to address notifications of both families,
/// in the network namespace of the thread that opens it. Used like
/// [`LinkMonitor`](crate::LinkMonitor): register it with `AsyncFd`, call
/// [`AddrMonitor::recv`] while readable; after an overrun (`ENOBUFS`,
/// [`AddrMonitor::is_overrun`]) read the addresses again with
/// [`Rtnl::addrs`](crate::Rtnl::addrs). Open it before that first dump.
#[derive(Debug)]
pub struct AddrMonitor {
    socket: Socket,
}

impl AddrMonitor {
    /// Opens the socket and joins the IPv4 and IPv6 address groups.
    ///
    /// # Errors
    /// [`NetError::Netlink`] if the socket cannot be created, bound or subscribed.
    pub fn open() -> Result<AddrMonitor> {
        let err = |source| NetError::Netlink {
            op: "open address monitor socket",
            source,
        };
        let mut socket = Socket::new(NETLINK_ROUTE).map_err(err)?;
        socket.bind(&SocketAddr::new(0, 0)).map_err(err)?;
        socket.add_membership(RTNLGRP_IPV4_IFADDR).map_err(err)?;
        socket.add_membership(RTNLGRP_IPV6_IFADDR).map_err(err)?;
        let _ = socket.set_rx_buf_sz(1 << 20);
        socket.set_non_blocking(true).map_err(err)?;
        Ok(AddrMonitor { socket })
    }

    /// Reads one datagram of notifications and decodes the address events in it.
    ///
    /// # Errors
    /// [`io::ErrorKind::WouldBlock`] when nothing is queued; `ENOBUFS` after an overrun;
    /// [`io::ErrorKind::InvalidData`] if the datagram does not decode (treat it as an overrun).
    pub fn recv(&mut self) -> io::Result<Vec<AddrEvent>> {
        let (buf, _) = loop {
            match self.socket.recv_from_full() {
                Ok(r) => break r,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        };
        decode_events(&buf)
    }

    /// Waits up to `timeout` for the socket to become readable (synchronous callers, tests).
    ///
    /// # Errors
    /// The error of `poll(2)`.
    pub fn wait_readable(&self, timeout: Duration) -> io::Result<bool> {
        use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
        let ms = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(self.socket.as_fd(), PollFlags::POLLIN)];
        let n = poll(&mut fds, PollTimeout::from(ms))?;
        Ok(n > 0)
    }

    /// Whether `err` (from [`AddrMonitor::recv`]) means notifications were lost.
    #[must_use]
    pub fn is_overrun(err: &io::Error) -> bool {
        err.raw_os_error() == Some(libc::ENOBUFS) || err.kind() == io::ErrorKind::InvalidData
    }
}

impl AsFd for AddrMonitor {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

impl AsRawFd for AddrMonitor {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }
}

/// The address events in one datagram of rtnetlink notifications.
fn decode_events(buf: &[u8]) -> io::Result<Vec<AddrEvent>> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(rest) = buf.get(at..).filter(|r| !r.is_empty()) {
        let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(rest)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
        let len = usize::try_from(msg.header.length).unwrap_or(0);
        if len == 0 {
            break;
        }
        at += len.next_multiple_of(4);
        let (addr, deleted) = match &msg.payload {
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewAddress(a)) => (a, false),
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelAddress(a)) => (a, true),
            _ => continue,
        };
        if let Some(info) = AddrInfo::from_message(addr) {
            out.push(AddrEvent { info, deleted });
        }
    }
    Ok(out)
}
