//! Address notifications: [`AddrMonitor`], a non-blocking rtnetlink socket subscribed to the
//! IPv4 and IPv6 address groups, turns `RTM_NEWADDR` / `RTM_DELADDR` into [`AddrEvent`]s as
//! they happen (the checker's `ha_suspend` watches its virtual servers' addresses with it).

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::time::Duration;

use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_route::RouteNetlinkMessage;

use crate::address::AddrInfo;
use crate::error::Result;
use crate::netlink::NotifySocket;

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
    socket: NotifySocket,
}

impl AddrMonitor {
    /// Opens the socket and joins the IPv4 and IPv6 address groups.
    ///
    /// # Errors
    /// [`NetError::Netlink`] if the socket cannot be created, bound or subscribed.
    pub fn open() -> Result<AddrMonitor> {
        Ok(AddrMonitor {
            socket: NotifySocket::open(
                "open address monitor socket",
                &[RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR],
            )?,
        })
    }

    /// Reads one datagram of notifications and decodes the address events in it.
    ///
    /// # Errors
    /// [`io::ErrorKind::WouldBlock`] when nothing is queued; `ENOBUFS` after an overrun;
    /// [`io::ErrorKind::InvalidData`] if the datagram does not decode (treat it as an overrun).
    pub fn recv(&mut self) -> io::Result<Vec<AddrEvent>> {
        decode_events(self.socket.recv()?)
    }

    /// Waits up to `timeout` for the socket to become readable (synchronous callers, tests).
    ///
    /// # Errors
    /// The error of `poll(2)`.
    pub fn wait_readable(&self, timeout: Duration) -> io::Result<bool> {
        self.socket.wait_readable(timeout)
    }

    /// Whether `err` (from [`AddrMonitor::recv`]) means notifications were lost.
    #[must_use]
    pub fn is_overrun(err: &io::Error) -> bool {
        NotifySocket::is_overrun(err)
    }
}

impl AsFd for AddrMonitor {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

impl AsRawFd for AddrMonitor {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.as_fd().as_raw_fd()
    }
}

/// The address events in one datagram of rtnetlink notifications.
fn decode_events(msgs: Vec<NetlinkMessage<RouteNetlinkMessage>>) -> io::Result<Vec<AddrEvent>> {
    let mut out = Vec::new();
    for msg in msgs {
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
