//! Reading netlink datagrams: one receive (retried on EINTR) split into the messages it holds,
//! shared by the rtnetlink, IPVS and notification sockets, and the notification socket itself.

use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::time::Duration;

use netlink_packet_core::{NetlinkDeserializable, NetlinkMessage};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

/// Receives one whole datagram from `socket`.
pub(crate) fn recv_datagram(socket: &Socket) -> io::Result<Vec<u8>> {
    loop {
        match socket.recv_from_full() {
            Ok((buf, _)) => return Ok(buf),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Every message in one datagram (messages are 4-byte aligned within it); the error is the
/// decoder's description of the first message that does not decode.
pub(crate) fn split_messages<T>(buf: &[u8]) -> Result<Vec<NetlinkMessage<T>>, String>
where
    T: NetlinkDeserializable,
{
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(rest) = buf.get(at..).filter(|r| !r.is_empty()) {
        let msg = NetlinkMessage::<T>::deserialize(rest).map_err(|e| e.to_string())?;
        let len = usize::try_from(msg.header.length).unwrap_or(0);
        if len == 0 {
            break;
        }
        at += len.next_multiple_of(4);
        out.push(msg);
    }
    Ok(out)
}

/// A non-blocking `NETLINK_ROUTE` socket subscribed to notification groups, in the network
/// namespace of the thread that opens it: the common half of [`crate::LinkMonitor`] and
/// [`crate::AddrMonitor`].
#[derive(Debug)]
pub(crate) struct NotifySocket {
    socket: Socket,
}

impl NotifySocket {
    /// Opens the socket, joins `groups` and asks for a 1 MiB receive buffer: room for a burst
    /// of notifications (a VMAC created per instance at start-up, a bond flapping) before the
    /// kernel drops any (a bigger buffer only makes overruns rarer; the kernel may cap it).
    pub(crate) fn open(op: &'static str, groups: &[u32]) -> crate::Result<NotifySocket> {
        let err = |source| crate::NetError::Netlink { op, source };
        let mut socket = Socket::new(NETLINK_ROUTE).map_err(err)?;
        socket.bind(&SocketAddr::new(0, 0)).map_err(err)?;
        for group in groups {
            socket.add_membership(*group).map_err(err)?;
        }
        let _ = socket.set_rx_buf_sz(1 << 20);
        socket.set_non_blocking(true).map_err(err)?;
        Ok(NotifySocket { socket })
    }

    /// The messages of one datagram; [`io::ErrorKind::InvalidData`] if it does not decode.
    pub(crate) fn recv(&self) -> io::Result<Vec<NetlinkMessage<RouteNetlinkMessage>>> {
        split_messages(&recv_datagram(&self.socket)?)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    /// Sets the receive buffer.
    pub(crate) fn set_recv_buffer(&self, bytes: usize) -> io::Result<()> {
        self.socket.set_rx_buf_sz(bytes)
    }

    /// Waits up to `timeout` for the socket to become readable.
    pub(crate) fn wait_readable(&self, timeout: Duration) -> io::Result<bool> {
        use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
        let ms = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(self.socket.as_fd(), PollFlags::POLLIN)];
        let n = poll(&mut fds, PollTimeout::from(ms))?;
        Ok(n > 0)
    }

    /// Whether `err` (from a monitor's `recv`) means notifications were lost.
    pub(crate) fn is_overrun(err: &io::Error) -> bool {
        err.raw_os_error() == Some(libc::ENOBUFS) || err.kind() == io::ErrorKind::InvalidData
    }
}

impl AsFd for NotifySocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}
