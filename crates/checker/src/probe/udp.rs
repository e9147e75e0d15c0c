//! UDP_CHECK: one datagram to the real server and, with `require_reply`, a judged reply; also
//! owns [`Endpoint`], the connection options the UDP, DNS, SMTP and PING probes share.
//!
//! keepalived.conf(5) semantics, as implemented here:
//! * The `payload` bytes are sent (16 random bytes when no payload is configured) on a UDP
//!   socket connected to the target, so the kernel reports ICMP errors for it.
//! * An ICMP error (port, host or network unreachable: `ECONNREFUSED`, `EHOSTUNREACH`,
//!   `ENETUNREACH` on the connected socket, which has `IP_RECVERR` set as keepalived's has)
//!   within `connect_timeout` is a failure. Host unreachable comes when neighbour resolution
//!   gives up, about 3 s after the send: hence keepalived's advice of a `connect_timeout` of at
//!   least 4 s.
//! * Without `require_reply`: a reply, or silence until `connect_timeout`, is a success.
//! * With `require_reply`: a reply must come within `connect_timeout`; its length must lie in
//!   `min_reply_length..=max_reply_length` (the man page's rule; keepalived's code checks the
//!   lengths only when a reply pattern is given, we always do), and when a pattern is given the
//!   reply must match it over the shorter of the two lengths, ignoring `X` nibbles.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use keepalived_config::model::lvs::{CheckCommon, HexPattern, UdpCheck};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::net::UdpSocket;

/// Length of the random payload sent when UDP_CHECK has no `payload`.
pub const RANDOM_PAYLOAD_LEN: usize = 16;

/// Where a probe connects and from where: the resolved connection options of a checker
/// (`connect_ip`, `connect_port`, `bindto`, `bind_port`, `bind_if`, `fwmark`,
/// `connect_timeout`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The target address and port (the port is ignored by PING_CHECK).
    pub dst: SocketAddr,
    /// `bindto`: the source address.
    pub bindto: Option<IpAddr>,
    /// `bind_port`: the source port (ignored by PING_CHECK).
    pub bind_port: Option<u16>,
    /// `bind_if`: the interface to send from (`SO_BINDTODEVICE`; needed for a link-local
    /// target or source).
    pub bind_if: Option<String>,
    /// `fwmark`: the mark put on the probe's packets (`SO_MARK`, needs `CAP_NET_ADMIN`).
    pub fwmark: Option<u32>,
    /// `connect_timeout`: the budget of one attempt (for SMTP, of each step).
    pub timeout: Duration,
}

impl Endpoint {
    /// An endpoint to `dst` with no source options.
    pub fn new(dst: SocketAddr, timeout: Duration) -> Endpoint {
        Endpoint {
            dst,
            bindto: None,
            bind_port: None,
            bind_if: None,
            fwmark: None,
            timeout,
        }
    }

    /// Resolves a checker's common options against its real server's address and port
    /// (`connect_ip` / `connect_port` default to them).
    pub fn from_common(common: &CheckCommon, real_server: SocketAddr) -> Endpoint {
        Endpoint {
            dst: SocketAddr::new(
                common.connect_ip.unwrap_or(real_server.ip()),
                common.connect_port.unwrap_or(real_server.port()),
            ),
            bindto: common.bindto,
            bind_port: common.bind_port,
            bind_if: common.bind_if.clone(),
            fwmark: common.fwmark,
            timeout: common.connect_timeout,
        }
    }

    /// The socket domain of the target's family.
    pub(crate) fn domain(&self) -> Domain {
        if self.dst.is_ipv4() {
            Domain::IPV4
        } else {
            Domain::IPV6
        }
    }

    /// Applies `bind_if`, `fwmark` and `bindto`/`bind_port` to a fresh socket. The source
    /// address defaults to the unspecified address of the target's family when only a port
    /// is given. `with_port` is false for ICMP sockets, whose "port" is the echo identifier.
    pub(crate) fn prepare(&self, sock: &Socket, with_port: bool) -> io::Result<()> {
        if let Some(ifname) = &self.bind_if {
            sock.bind_device(Some(ifname.as_bytes()))?;
        }
        if let Some(mark) = self.fwmark {
            sock.set_mark(mark)?;
        }
        let port = if with_port {
            self.bind_port.unwrap_or(0)
        } else {
            0
        };
        if self.bindto.is_some() || port != 0 {
            let ip = self.bindto.unwrap_or(if self.dst.is_ipv4() {
                IpAddr::V4(Ipv4Addr::UNSPECIFIED)
            } else {
                IpAddr::V6(Ipv6Addr::UNSPECIFIED)
            });
            if port != 0 {
                sock.set_reuse_address(true)?;
            }
            sock.bind(&SockAddr::from(SocketAddr::new(ip, port)))?;
        }
        Ok(())
    }
}

/// The UDP_CHECK options of one check.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UdpOptions {
    /// `payload` (None: [`RANDOM_PAYLOAD_LEN`] random bytes).
    pub payload: Option<Vec<u8>>,
    /// `require_reply` given.
    pub require_reply: bool,
    /// The `require_reply` pattern.
    pub reply_pattern: Option<HexPattern>,
    /// `min_reply_length`.
    pub min_reply_length: u16,
    /// `max_reply_length`.
    pub max_reply_length: u16,
}

impl From<&UdpCheck> for UdpOptions {
    fn from(c: &UdpCheck) -> UdpOptions {
        UdpOptions {
            payload: c.payload.clone(),
            require_reply: c.require_reply,
            reply_pattern: c.reply_pattern.clone(),
            min_reply_length: c.min_reply_length,
            max_reply_length: c.max_reply_length,
        }
    }
}

/// Why a UDP_CHECK attempt failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UdpFailure {
    /// The socket could not be created, bound or connected.
    #[error("socket setup: {0}")]
    Socket(io::Error),
    /// Sending the payload failed.
    #[error("send: {0}")]
    Send(io::Error),
    /// An ICMP error came back (port, host or network unreachable).
    #[error("unreachable: {0}")]
    Unreachable(io::Error),
    /// `require_reply` and no reply within `connect_timeout`.
    #[error("no reply within {0:?}")]
    Timeout(Duration),
    /// The reply's length is outside `min_reply_length..=max_reply_length`.
    #[error("reply of {len} bytes, expected {min}..={max}")]
    ReplyLength {
        /// The reply's length (a longer reply is read only up to `max_reply_length + 1`).
        len: usize,
        /// `min_reply_length`.
        min: u16,
        /// `max_reply_length`.
        max: u16,
    },
    /// The reply does not match the `require_reply` pattern.
    #[error("reply differs from the pattern at byte {offset}")]
    ReplyMismatch {
        /// The first byte that differs.
        offset: usize,
    },
}

/// Checks a reply against the length bounds and the pattern (keepalived.conf(5)'s rule:
/// compare over the shorter of the reply and the pattern, masked nibbles excepted).
///
/// # Errors
/// [`UdpFailure::ReplyLength`] or [`UdpFailure::ReplyMismatch`].
pub fn judge_reply(reply: &[u8], opts: &UdpOptions) -> Result<(), UdpFailure> {
    let len = reply.len();
    if len < usize::from(opts.min_reply_length) || len > usize::from(opts.max_reply_length) {
        return Err(UdpFailure::ReplyLength {
            len,
            min: opts.min_reply_length,
            max: opts.max_reply_length,
        });
    }
    if let Some(p) = &opts.reply_pattern {
        let masks = p.mask.iter().copied().chain(std::iter::repeat(0xff));
        for (offset, ((got, want), mask)) in reply.iter().zip(&p.data).zip(masks).enumerate() {
            if (got ^ want) & mask != 0 {
                return Err(UdpFailure::ReplyMismatch { offset });
            }
        }
    }
    Ok(())
}

/// Asks the kernel to report every ICMP error for the connected target on `sock`
/// (`IP_RECVERR` / `IPV6_RECVERR`). Without it Linux reports only "hard" errors (port or
/// protocol unreachable) and drops host and network unreachable, which keepalived's UDP_CHECK
/// counts as failures too.
pub(crate) fn report_icmp_errors(sock: &Socket, v6: bool) -> io::Result<()> {
    use nix::sys::socket::{setsockopt, sockopt};
    if v6 {
        setsockopt(sock, sockopt::Ipv6RecvErr, &true)?;
    } else {
        setsockopt(sock, sockopt::Ipv4RecvErr, &true)?;
    }
    Ok(())
}

/// A UDP socket connected to `ep.dst` with `ep`'s source options, registered with tokio.
/// Shared with the DNS probe.
pub(crate) fn connected_socket(ep: &Endpoint) -> io::Result<UdpSocket> {
    let sock = Socket::new(ep.domain(), Type::DGRAM, Some(Protocol::UDP))?;
    ep.prepare(&sock, true)?;
    report_icmp_errors(&sock, ep.dst.is_ipv6())?;
    sock.set_nonblocking(true)?;
    sock.connect(&SockAddr::from(ep.dst))?;
    UdpSocket::from_std(sock.into())
}

/// Whether a receive error is the kernel passing on an ICMP error for the connected target.
pub(crate) fn is_icmp_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::HostUnreachable
            | io::ErrorKind::NetworkUnreachable
    ) || matches!(
        e.raw_os_error(),
        Some(libc_errno::EPROTO | libc_errno::ENOPROTOOPT)
    )
}

/// The few errno values `io::ErrorKind` does not name (Linux values).
mod libc_errno {
    /// Protocol error (ICMP parameter problem on some paths).
    pub const EPROTO: i32 = 71;
    /// Protocol not available (ICMP protocol unreachable).
    pub const ENOPROTOOPT: i32 = 92;
}

/// Runs one UDP_CHECK attempt against `ep`.
///
/// # Errors
/// A [`UdpFailure`] saying why the check failed.
pub async fn check(ep: &Endpoint, opts: &UdpOptions) -> Result<(), UdpFailure> {
    let sock = connected_socket(ep).map_err(UdpFailure::Socket)?;
    let random;
    let payload: &[u8] = match &opts.payload {
        Some(p) => p,
        None => {
            random = std::iter::repeat_with(|| fastrand::u8(..))
                .take(RANDOM_PAYLOAD_LEN)
                .collect::<Vec<u8>>();
            &random
        }
    };
    sock.send(payload).await.map_err(|e| {
        if is_icmp_error(&e) {
            UdpFailure::Unreachable(e)
        } else {
            UdpFailure::Send(e)
        }
    })?;
    // One byte more than the longest acceptable reply: a longer datagram is cut to that
    // length by the kernel and still judged too long. Without require_reply the content is
    // not looked at.
    let cap = if opts.require_reply {
        usize::from(opts.max_reply_length) + 1
    } else {
        1
    };
    let mut buf = vec![0u8; cap];
    match tokio::time::timeout(ep.timeout, sock.recv(&mut buf)).await {
        // Silence is success unless a reply is required (keepalived's rule).
        Err(_elapsed) if opts.require_reply => Err(UdpFailure::Timeout(ep.timeout)),
        Err(_elapsed) => Ok(()),
        Ok(Err(e)) => Err(UdpFailure::Unreachable(e)),
        Ok(Ok(n)) if opts.require_reply => judge_reply(buf.get(..n).unwrap_or(&[]), opts),
        Ok(Ok(_)) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(pattern: Option<(&[u8], &[u8])>, min: u16, max: u16) -> UdpOptions {
        UdpOptions {
            payload: None,
            require_reply: true,
            reply_pattern: pattern.map(|(d, m)| HexPattern {
                data: d.to_vec(),
                mask: m.to_vec(),
            }),
            min_reply_length: min,
            max_reply_length: max,
        }
    }

    #[test]
    fn lengths_are_inclusive_bounds() {
        let o = opts(None, 2, 4);
        assert!(judge_reply(b"ab", &o).is_ok());
        assert!(judge_reply(b"abcd", &o).is_ok());
        assert!(matches!(
            judge_reply(b"a", &o),
            Err(UdpFailure::ReplyLength { len: 1, .. })
        ));
        assert!(matches!(
            judge_reply(b"abcde", &o),
            Err(UdpFailure::ReplyLength { len: 5, .. })
        ));
    }

    #[test]
    fn pattern_compares_the_shorter_length_with_wildcards() {
        // Pattern AB 1X: the low nibble of the second byte is free.
        let o = opts(Some((&[0xab, 0x10], &[0xff, 0xf0])), 0, 255);
        assert!(judge_reply(&[0xab, 0x17, 0x99], &o).is_ok());
        assert!(
            judge_reply(&[0xab], &o).is_ok(),
            "shorter reply: compared over its length"
        );
        assert!(matches!(
            judge_reply(&[0xab, 0x27], &o),
            Err(UdpFailure::ReplyMismatch { offset: 1 })
        ));
        assert!(matches!(
            judge_reply(&[0xac], &o),
            Err(UdpFailure::ReplyMismatch { offset: 0 })
        ));
        // A mask shorter than the data compares the rest in full.
        let o = opts(Some((&[1, 2], &[])), 0, 255);
        assert!(judge_reply(&[1, 3], &o).is_err());
    }

    #[test]
    fn endpoint_from_common_defaults_to_the_real_server() {
        let common = CheckCommon {
            connect_port: Some(53),
            connect_timeout: Duration::from_secs(2),
            fwmark: Some(7),
            ..CheckCommon::default()
        };
        let ep = Endpoint::from_common(&common, "192.0.2.5:80".parse().unwrap());
        assert_eq!(ep.dst, "192.0.2.5:53".parse().unwrap());
        assert_eq!(ep.fwmark, Some(7));
        assert_eq!(ep.timeout, Duration::from_secs(2));
    }
}
