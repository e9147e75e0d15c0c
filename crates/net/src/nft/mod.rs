//! nf_tables over netlink (`NETLINK_NETFILTER`): the socket that sends one [`Batch`] per change
//! and reads the kernel's answer to every message of it, and table lookups.
//!
//! The codec ([`codec`]) is written here rather than taken from a crate: `nftnl` binds the C
//! libnftnl (a C build dependency and `unsafe` FFI for a few dozen attributes); `rustables`
//! builds on generated bindings and its own object model with a release cadence that has
//! stalled; the `nftables` crate drives the `nft` program with JSON (a process per change, not
//! netlink); the netlink-packet family has no nf_tables messages. What keepalived programs is
//! a handful of message kinds and eight expressions, so a small checked encoder keeps the
//! bytes testable and adds no dependency.

pub mod codec;
pub mod ipvs;
pub mod vrrp;

use std::io;
use std::os::fd::AsFd;
use std::time::Duration;

use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_NETFILTER};

pub use codec::{
    Base, Batch, Expr, Family, Hook, MapElement, MapSpec, MetaKey, SET_CONSTANT, SetSpec,
    TableInfo, Verdict,
};

pub use ipvs::{IpvsMarkConfig, IpvsMarks, MarkEntry};
pub use vrrp::{FirewallConfig, FwAddr, FwVmac, VrrpFirewall, remove_leftover_tables};

use crate::netlink::recv_datagram;

/// `NLMSG_ERROR` / `NLMSG_DONE`.
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;

/// What went wrong while programming nf_tables.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NftError {
    /// The netfilter netlink socket could not be opened or used (no nf_tables in the kernel,
    /// or no permission).
    #[error("nf_tables is not available: {0}")]
    Unavailable(#[source] io::Error),
    /// The kernel refused a message of the batch: nothing of the batch was applied.
    #[error("{what}: {source}")]
    Refused {
        /// The message, as nft would write it.
        what: String,
        /// The kernel's errno.
        #[source]
        source: io::Error,
    },
    /// Sending or receiving failed, or the kernel did not answer in time.
    #[error("nf_tables netlink: {0}")]
    Io(#[source] io::Error),
}

impl NftError {
    /// The errno the kernel answered with, if any.
    pub fn errno(&self) -> Option<i32> {
        match self {
            NftError::Refused { source, .. }
            | NftError::Io(source)
            | NftError::Unavailable(source) => source.raw_os_error(),
        }
    }
}

/// A `NETLINK_NETFILTER` socket in the network namespace of the thread that opened it.
#[derive(Debug)]
pub struct Nft {
    socket: Socket,
    seq: u32,
    /// Netlink messages sent (batch framing excluded), for benchmarks.
    pub messages_sent: u64,
}

impl Nft {
    /// Opens the socket.
    ///
    /// # Errors
    /// [`NftError::Unavailable`] when the kernel has no netfilter netlink.
    pub fn open() -> Result<Nft, NftError> {
        let mut socket = Socket::new(NETLINK_NETFILTER).map_err(NftError::Unavailable)?;
        socket
            .bind(&SocketAddr::new(0, 0))
            .map_err(NftError::Unavailable)?;
        let timeout = nix::sys::time::TimeVal::from(libc::timeval {
            tv_sec: 2,
            tv_usec: 0,
        });
        nix::sys::socket::setsockopt(
            &socket.as_fd(),
            nix::sys::socket::sockopt::ReceiveTimeout,
            &timeout,
        )
        .map_err(|e| NftError::Io(e.into()))?;
        let _ = socket.set_rx_buf_sz(1 << 20);
        let seq = u32::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or(Duration::ZERO)
                .as_secs()
                & 0x7fff_ffff,
        )
        .unwrap_or(1);
        Ok(Nft {
            socket,
            seq,
            messages_sent: 0,
        })
    }

    /// Sends `batch` as one transaction and waits for the kernel's answer to each message.
    ///
    /// # Errors
    /// [`NftError::Refused`] naming the first message the kernel refused (the kernel then
    /// applied none of the batch), or [`NftError::Io`].
    pub fn apply(&mut self, batch: &Batch) -> Result<(), NftError> {
        if batch.is_empty() {
            return Ok(());
        }
        let first = self.seq;
        let n = u32::try_from(batch.len()).unwrap_or(u32::MAX);
        self.seq = self.seq.wrapping_add(n + 2);
        let bytes = batch.frame(first);
        self.fit_send_buffer(bytes.len());
        self.socket.send(&bytes, 0).map_err(NftError::Io)?;
        self.messages_sent += u64::from(n);
        let mut answered = vec![false; batch.len()];
        let mut left = batch.len();
        let mut first_error: Option<(usize, io::Error)> = None;
        let mut commit_error: Option<io::Error> = None;
        while left > 0 {
            let buf = recv_datagram(&self.socket).map_err(NftError::Io)?;
            for (seq, errno) in acks(&buf) {
                if seq == first {
                    // The kernel answers a failed commit on the batch's first header.
                    if errno != 0 {
                        commit_error = Some(io::Error::from_raw_os_error(errno));
                    }
                    continue;
                }
                let Some(i) = seq
                    .checked_sub(first.wrapping_add(1))
                    .and_then(|i| usize::try_from(i).ok())
                    .filter(|i| *i < batch.len())
                else {
                    continue;
                };
                if let Some(a) = answered.get_mut(i).filter(|a| !**a) {
                    *a = true;
                    left -= 1;
                }
                if errno != 0 && first_error.as_ref().is_none_or(|(j, _)| i < *j) {
                    first_error = Some((i, io::Error::from_raw_os_error(errno)));
                }
            }
        }
        if let Some((i, source)) = first_error {
            return Err(NftError::Refused {
                what: batch.what(i).unwrap_or("?").to_owned(),
                source,
            });
        }
        if let Some(source) = commit_error {
            return Err(NftError::Refused {
                what: "commit of the batch".to_owned(),
                source,
            });
        }
        Ok(())
    }

    /// Grows the send buffer to hold a batch of `len` bytes (a batch is one datagram; the
    /// kernel refuses one larger than the buffer with `EMSGSIZE`), past `wmem_max` with
    /// `SO_SNDBUFFORCE` (CAP_NET_ADMIN, which programming nf_tables needs anyway), as nft does.
    fn fit_send_buffer(&mut self, len: usize) {
        use nix::sys::socket::{getsockopt, setsockopt, sockopt};
        let fd = self.socket.as_fd();
        // The kernel reports twice what was set (its bookkeeping overhead).
        if getsockopt(&fd, sockopt::SndBuf).is_ok_and(|have| have / 2 >= len) {
            return;
        }
        if setsockopt(&fd, sockopt::SndBufForce, &len).is_err() {
            let _ = setsockopt(&fd, sockopt::SndBuf, &len);
        }
    }

    /// The table `name` of `family`, if the kernel has it.
    ///
    /// # Errors
    /// [`NftError::Io`], or [`NftError::Refused`] for an errno other than `ENOENT`.
    pub fn table(&mut self, family: Family, name: &str) -> Result<Option<TableInfo>, NftError> {
        let seq = self.seq;
        self.seq = self.seq.wrapping_add(1);
        let req = codec::get_table(family, name, seq);
        self.socket.send(&req, 0).map_err(NftError::Io)?;
        let mut info = None;
        loop {
            let buf = recv_datagram(&self.socket).map_err(NftError::Io)?;
            for (t, hseq, body) in messages(&buf) {
                if hseq != seq {
                    continue;
                }
                match t {
                    NLMSG_ERROR => {
                        let errno = error_code(body);
                        return match errno {
                            0 => Ok(info),
                            e if e == libc::ENOENT => Ok(None),
                            e => Err(NftError::Refused {
                                what: format!("get table {family} {name}"),
                                source: io::Error::from_raw_os_error(e),
                            }),
                        };
                    }
                    NLMSG_DONE => return Ok(info),
                    _ => info = Some(codec::parse_table(body.get(4..).unwrap_or_default())),
                }
            }
        }
    }
}

/// The (type, sequence, body after the netlink header) of each message of a datagram.
fn messages(buf: &[u8]) -> Vec<(u16, u32, &[u8])> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while let Some(h) = buf.get(at..at + 16) {
        let len = u32::from_ne_bytes([h[0], h[1], h[2], h[3]]) as usize;
        if len < 16 {
            break;
        }
        let t = u16::from_ne_bytes([h[4], h[5]]);
        let seq = u32::from_ne_bytes([h[8], h[9], h[10], h[11]]);
        let body = buf.get(at + 16..at + len).unwrap_or_default();
        out.push((t, seq, body));
        at += len.next_multiple_of(4);
    }
    out
}

/// The errno of an `NLMSG_ERROR` body (0 for an acknowledgement).
fn error_code(body: &[u8]) -> i32 {
    body.get(..4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map_or(0, |b| -i32::from_ne_bytes(b))
}

/// (sequence of the message answered, errno) of each acknowledgement or error in a datagram.
fn acks(buf: &[u8]) -> Vec<(u32, i32)> {
    messages(buf)
        .into_iter()
        .filter(|(t, _, _)| *t == NLMSG_ERROR)
        .map(|(_, _, body)| {
            // The original header follows the errno: its sequence is at 4 + 8.
            let seq = body
                .get(12..16)
                .and_then(|b| <[u8; 4]>::try_from(b).ok())
                .map_or(0, u32::from_ne_bytes);
            (seq, error_code(body))
        })
        .collect()
}
