//! Reading netlink datagrams: one receive (retried on EINTR) split into the messages it holds,
//! shared by the rtnetlink, link-monitor and IPVS sockets.

use std::io;

use netlink_packet_core::{NetlinkDeserializable, NetlinkMessage};
use netlink_sys::Socket;

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
