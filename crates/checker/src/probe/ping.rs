//! PING_CHECK: one ICMP echo (IPv4) or ICMPv6 echo request to the real server, and its reply
//! within `connect_timeout`.
//!
//! Sockets: an unprivileged ICMP datagram socket (`SOCK_DGRAM`, `IPPROTO_ICMP` /
//! `IPPROTO_ICMPV6`, Linux "ping sockets") when the caller's group is inside
//! `net.ipv4.ping_group_range` (the one sysctl covers both families); otherwise, as root, a raw
//! socket ([`IcmpSocketKind::Auto`]). keepalived instead widens `ping_group_range` to include
//! root; we leave the sysctl alone and fall back. With a datagram socket the kernel picks the
//! echo identifier and only delivers replies carrying it; with a raw socket we pick a random
//! identifier and filter ourselves. Either way a reply must echo our identifier (raw), our
//! sequence number and the random 8-byte token that starts our payload.
//!
//! The socket is connected to the target, so it only hears that address, and has
//! `IP_RECVERR`, so an ICMP error the kernel attributes to it (host or network unreachable)
//! fails the check at once. Other
//! ICMP messages (a raw socket sees every one the host receives) are ignored.
//!
//! `bindto` sets the source address, `bind_if` the interface (`SO_BINDTODEVICE`, needed for a
//! link-local target), `fwmark` the mark; ports are meaningless here and ignored.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use socket2::{Protocol, SockAddr, Socket, Type};
use tokio::net::UdpSocket;

use super::udp::{Endpoint, report_icmp_errors};

/// Bytes of ICMP payload sent: an 8-byte token then a fixed pattern (ping's default size).
pub const PAYLOAD_LEN: usize = 56;
/// ICMP echo header length.
const HEADER_LEN: usize = 8;
const ICMP_ECHO_REQUEST: u8 = 8;
const ICMP_ECHO_REPLY: u8 = 0;
const ICMPV6_ECHO_REQUEST: u8 = 128;
const ICMPV6_ECHO_REPLY: u8 = 129;

/// Sequence numbers, shared by every probe of the process.
static SEQUENCE: AtomicU16 = AtomicU16::new(0);

/// Which kind of ICMP socket to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IcmpSocketKind {
    /// A datagram ("ping") socket, else a raw socket if the former is not permitted.
    #[default]
    Auto,
    /// Only a datagram socket (needs the group in `net.ipv4.ping_group_range`).
    Datagram,
    /// Only a raw socket (needs `CAP_NET_RAW`).
    Raw,
}

/// A successful echo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PingReply {
    /// Time from sending the request to receiving the reply.
    pub rtt: Duration,
    /// The socket kind that was used ([`IcmpSocketKind::Datagram`] or [`IcmpSocketKind::Raw`]).
    pub kind: IcmpSocketKind,
}

/// Why a PING_CHECK attempt failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PingFailure {
    /// No socket could be opened (neither kind permitted, or another error).
    #[error("ICMP socket: {0}")]
    Socket(io::Error),
    /// The socket could not be bound, marked or connected.
    #[error("socket setup: {0}")]
    Setup(io::Error),
    /// Sending the request failed.
    #[error("send: {0}")]
    Send(io::Error),
    /// The kernel reported an ICMP error or a receive error for the target.
    #[error("unreachable: {0}")]
    Unreachable(io::Error),
    /// No matching reply within `connect_timeout`.
    #[error("no echo reply within {0:?}")]
    Timeout(Duration),
}

/// The internet checksum (RFC 1071) of `data`.
pub fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Builds an echo request (the checksum is filled for IPv4; the kernel computes ICMPv6's).
pub fn echo_request(v6: bool, id: u16, seq: u16, token: [u8; 8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(HEADER_LEN + PAYLOAD_LEN);
    p.push(if v6 {
        ICMPV6_ECHO_REQUEST
    } else {
        ICMP_ECHO_REQUEST
    });
    p.push(0);
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&token);
    p.extend((0..PAYLOAD_LEN - token.len()).map(|i| 0x10u8.wrapping_add(i as u8)));
    if !v6 {
        let c = checksum(&p).to_be_bytes();
        p[2] = c[0];
        p[3] = c[1];
    }
    p
}

/// What a received datagram must match to be our reply.
#[derive(Debug, Clone, Copy)]
pub struct Expect {
    /// IPv6 (ICMPv6) or IPv4.
    pub v6: bool,
    /// The raw socket delivers the IPv4 header first (raw IPv4 only).
    pub ip_header: bool,
    /// The identifier to check (None: the kernel checked it, datagram sockets).
    pub id: Option<u16>,
    /// Our sequence number.
    pub seq: u16,
    /// Our token.
    pub token: [u8; 8],
}

/// Whether `datagram` (as read from the socket) is the echo reply we wait for. Never panics.
pub fn is_our_reply(datagram: &[u8], e: &Expect) -> bool {
    let icmp = if e.ip_header {
        let Some(&first) = datagram.first() else {
            return false;
        };
        let ihl = usize::from(first & 0x0f) * 4;
        if first >> 4 != 4 || ihl < 20 {
            return false;
        }
        datagram.get(ihl..).unwrap_or(&[])
    } else {
        datagram
    };
    let Some(h) = icmp.get(..HEADER_LEN) else {
        return false;
    };
    let reply_type = if e.v6 {
        ICMPV6_ECHO_REPLY
    } else {
        ICMP_ECHO_REPLY
    };
    h[0] == reply_type
        && h[1] == 0
        && e.id.is_none_or(|id| u16::from_be_bytes([h[4], h[5]]) == id)
        && u16::from_be_bytes([h[6], h[7]]) == e.seq
        && icmp.get(HEADER_LEN..HEADER_LEN + 8) == Some(&e.token[..])
}

/// Opens an ICMP socket of `kind` for `ep`'s family; returns the kind actually opened.
fn open(ep: &Endpoint, kind: IcmpSocketKind) -> Result<(Socket, IcmpSocketKind), PingFailure> {
    let proto = if ep.dst.is_ipv4() {
        Protocol::ICMPV4
    } else {
        Protocol::ICMPV6
    };
    let dgram = || Socket::new(ep.domain(), Type::DGRAM, Some(proto));
    let raw = || Socket::new(ep.domain(), Type::RAW, Some(proto));
    match kind {
        IcmpSocketKind::Datagram => dgram().map(|s| (s, IcmpSocketKind::Datagram)),
        IcmpSocketKind::Raw => raw().map(|s| (s, IcmpSocketKind::Raw)),
        IcmpSocketKind::Auto => match dgram() {
            Ok(s) => Ok((s, IcmpSocketKind::Datagram)),
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                raw().map(|s| (s, IcmpSocketKind::Raw))
            }
            Err(e) => Err(e),
        },
    }
    .map_err(PingFailure::Socket)
}

/// Sends one echo request to `ep.dst` and waits up to `ep.timeout` for its reply.
///
/// # Errors
/// A [`PingFailure`] saying why there was no reply.
pub async fn ping(ep: &Endpoint, kind: IcmpSocketKind) -> Result<PingReply, PingFailure> {
    let v6 = ep.dst.is_ipv6();
    let (sock, used) = open(ep, kind)?;
    ep.prepare(&sock, false).map_err(PingFailure::Setup)?;
    report_icmp_errors(&sock, v6).map_err(PingFailure::Setup)?;
    sock.set_nonblocking(true).map_err(PingFailure::Setup)?;
    // Port 0: for a datagram socket the "port" is the identifier, chosen by the kernel.
    let dst = SockAddr::from(SocketAddr::new(ep.dst.ip(), 0));
    sock.connect(&dst).map_err(PingFailure::Setup)?;
    // tokio's `UdpSocket` is a safe owner of any datagram-style socket: it only calls
    // send(2)/recv(2) on it, which is all an ICMP socket needs (`AsyncFd::new` is deprecated
    // and its replacement is `unsafe`).
    let sock = UdpSocket::from_std(sock.into()).map_err(PingFailure::Setup)?;

    let raw = used == IcmpSocketKind::Raw;
    let expect = Expect {
        v6,
        ip_header: raw && !v6,
        id: raw.then(|| fastrand::u16(..)),
        seq: SEQUENCE.fetch_add(1, Ordering::Relaxed),
        token: fastrand::u64(..).to_ne_bytes(),
    };
    let request = echo_request(v6, expect.id.unwrap_or(0), expect.seq, expect.token);
    let start = tokio::time::Instant::now();
    let deadline = start + ep.timeout;
    let exchange = async {
        sock.send(&request).await.map_err(PingFailure::Send)?;
        let mut buf = [0u8; 1500];
        loop {
            let n = sock
                .recv(&mut buf)
                .await
                .map_err(PingFailure::Unreachable)?;
            if is_our_reply(buf.get(..n).unwrap_or(&[]), &expect) {
                return Ok(PingReply {
                    rtt: start.elapsed(),
                    kind: used,
                });
            }
        }
    };
    match tokio::time::timeout_at(deadline, exchange).await {
        Ok(r) => r,
        Err(_elapsed) => Err(PingFailure::Timeout(ep.timeout)),
    }
}

/// The target of a PING_CHECK (no port).
pub fn target(ip: IpAddr, timeout: Duration) -> Endpoint {
    Endpoint::new(SocketAddr::new(ip, 0), timeout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_of_rfc1071_example() {
        // RFC 1071 §3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2, checksum 220d.
        assert_eq!(
            checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            0x220d
        );
        let req = echo_request(false, 0x1234, 7, [1; 8]);
        assert_eq!(checksum(&req), 0, "a packet with its checksum sums to zero");
        assert_eq!(req.len(), HEADER_LEN + PAYLOAD_LEN);
    }

    fn reply_of(req: &[u8], v6: bool) -> Vec<u8> {
        let mut r = req.to_vec();
        r[0] = if v6 {
            ICMPV6_ECHO_REPLY
        } else {
            ICMP_ECHO_REPLY
        };
        r
    }

    #[test]
    fn replies_are_matched_by_id_sequence_and_token() {
        let e = Expect {
            v6: false,
            ip_header: false,
            id: Some(9),
            seq: 3,
            token: [5; 8],
        };
        let req = echo_request(false, 9, 3, [5; 8]);
        assert!(is_our_reply(&reply_of(&req, false), &e));
        assert!(!is_our_reply(&req, &e), "our own request is not a reply");
        assert!(!is_our_reply(
            &reply_of(&echo_request(false, 8, 3, [5; 8]), false),
            &e
        ));
        assert!(!is_our_reply(
            &reply_of(&echo_request(false, 9, 4, [5; 8]), false),
            &e
        ));
        assert!(!is_our_reply(
            &reply_of(&echo_request(false, 9, 3, [6; 8]), false),
            &e
        ));
        assert!(!is_our_reply(&[], &e));
        assert!(!is_our_reply(&[0; 12], &e));
        // Datagram sockets: the kernel checked the identifier.
        let any_id = Expect { id: None, ..e };
        assert!(is_our_reply(
            &reply_of(&echo_request(false, 1, 3, [5; 8]), false),
            &any_id
        ));
        // Raw IPv4: skip a 24-byte header (IHL 6).
        let with_ip = Expect {
            ip_header: true,
            ..e
        };
        let mut dgram = vec![0x46];
        dgram.extend([0; 23]);
        dgram.extend(reply_of(&req, false));
        assert!(is_our_reply(&dgram, &with_ip));
        assert!(!is_our_reply(&dgram[..30], &with_ip));
        assert!(!is_our_reply(&[0x41, 0], &with_ip), "IHL below 5");
        // ICMPv6 types.
        let e6 = Expect { v6: true, ..e };
        let req6 = echo_request(true, 9, 3, [5; 8]);
        assert!(is_our_reply(&reply_of(&req6, true), &e6));
        assert!(!is_our_reply(&reply_of(&req, false), &e6));
    }
}
