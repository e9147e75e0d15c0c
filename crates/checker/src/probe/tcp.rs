//! TCP_CHECK, and the TCP connection every connection-based probe (HTTP, SSL, SMTP) opens.
//!
//! [`ConnectOpts`] carries keepalived's connection options (`connect_ip`/`connect_port` resolved
//! into [`ConnectOpts::dst`], `bindto`, `bind_port`, `bind_if`, `fwmark`, `connect_timeout`).
//! `bind_if` is `SO_BINDTODEVICE` and `fwmark` is `SO_MARK`; both need CAP_NET_RAW or
//! CAP_NET_ADMIN, as in keepalived.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use keepalived_config::model::lvs::checker::CheckCommon;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::{TcpSocket, TcpStream};

use super::Outcome;

/// Where and how a probe connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectOpts {
    /// Destination: `connect_ip`/`connect_port`, else the real server's address and port.
    pub dst: SocketAddr,
    /// `bindto`: the source address.
    pub bindto: Option<IpAddr>,
    /// `bind_port`: the source port.
    pub bind_port: Option<u16>,
    /// `bind_if`: the interface the socket is bound to (`SO_BINDTODEVICE`); needed for an IPv6
    /// link-local destination without a scope id.
    pub bind_if: Option<String>,
    /// `fwmark`: `SO_MARK` on the socket.
    pub fwmark: Option<u32>,
    /// `connect_timeout`: the limit of a whole attempt (for HTTP: connect, TLS, request and
    /// response together).
    pub connect_timeout: Duration,
}

impl ConnectOpts {
    /// Options to reach `dst` directly, with no binding, no mark and the given timeout.
    pub fn new(dst: SocketAddr, connect_timeout: Duration) -> Self {
        ConnectOpts {
            dst,
            bindto: None,
            bind_port: None,
            bind_if: None,
            fwmark: None,
            connect_timeout,
        }
    }

    /// The options of a checker of the real server at `real_server`: `connect_ip` and
    /// `connect_port` override its address and port.
    pub fn from_common(common: &CheckCommon, real_server: SocketAddr) -> Self {
        let ip = common.connect_ip.unwrap_or(real_server.ip());
        let port = common.connect_port.unwrap_or(real_server.port());
        ConnectOpts {
            dst: SocketAddr::new(ip, port),
            bindto: common.bindto,
            bind_port: common.bind_port,
            bind_if: common.bind_if.clone(),
            fwmark: common.fwmark,
            connect_timeout: common.connect_timeout,
        }
    }
}

/// Why a TCP connection could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The socket could not be created or set up (bind, `bind_if`, `fwmark`).
    #[error("socket setup ({what})")]
    Setup {
        /// The step that failed.
        what: &'static str,
        /// The system error.
        #[source]
        source: io::Error,
    },
    /// `bindto` and the destination are of different address families.
    #[error("bindto {bindto} and destination {dst} are of different address families")]
    FamilyMismatch {
        /// The source address.
        bindto: IpAddr,
        /// The destination.
        dst: SocketAddr,
    },
    /// The connection failed (refused, unreachable, reset...).
    #[error("connect to {dst}")]
    Connect {
        /// The destination.
        dst: SocketAddr,
        /// The system error.
        #[source]
        source: io::Error,
    },
    /// No connection within `connect_timeout`.
    #[error("connect to {dst}: timed out after {timeout:?}")]
    Timeout {
        /// The destination.
        dst: SocketAddr,
        /// The timeout.
        timeout: Duration,
    },
}

fn setup(what: &'static str) -> impl FnOnce(io::Error) -> ConnectError {
    move |source| ConnectError::Setup { what, source }
}

/// A socket for `opts`, bound and marked as configured, not yet connected; `nodelay` for
/// probes that talk (TCP_CHECK sends nothing, and saves the system call).
fn socket(opts: &ConnectOpts, nodelay: bool) -> Result<TcpSocket, ConnectError> {
    let domain = Domain::for_address(opts.dst);
    let sock = Socket::new(
        domain,
        Type::STREAM.nonblocking().cloexec(),
        Some(Protocol::TCP),
    )
    .map_err(setup("socket"))?;
    if let Some(dev) = &opts.bind_if {
        sock.bind_device(Some(dev.as_bytes()))
            .map_err(setup("bind_if (SO_BINDTODEVICE)"))?;
    }
    if let Some(mark) = opts.fwmark {
        sock.set_mark(mark).map_err(setup("fwmark (SO_MARK)"))?;
    }
    if opts.bindto.is_some() || opts.bind_port.is_some() {
        let ip = match opts.bindto {
            Some(ip) if ip.is_ipv4() != opts.dst.is_ipv4() => {
                return Err(ConnectError::FamilyMismatch {
                    bindto: ip,
                    dst: opts.dst,
                });
            }
            Some(ip) => ip,
            None if opts.dst.is_ipv4() => IpAddr::from([0u8; 4]),
            None => IpAddr::from([0u16; 8]),
        };
        let port = opts.bind_port.unwrap_or(0);
        if port != 0 {
            // Several checkers (or a fast retry) may reuse one source port.
            sock.set_reuse_address(true)
                .map_err(setup("SO_REUSEADDR"))?;
        }
        sock.bind(&SocketAddr::new(ip, port).into())
            .map_err(setup("bindto/bind_port"))?;
    }
    if nodelay {
        sock.set_tcp_nodelay(true).map_err(setup("TCP_NODELAY"))?;
    }
    let std_stream: std::net::TcpStream = sock.into();
    Ok(TcpSocket::from_std_stream(std_stream))
}

/// Connects as `opts` says (with TCP_NODELAY), without a timeout of its own: callers bound it
/// (see [`probe`]).
pub async fn connect(opts: &ConnectOpts) -> Result<TcpStream, ConnectError> {
    connect_with(opts, true).await
}

async fn connect_with(opts: &ConnectOpts, nodelay: bool) -> Result<TcpStream, ConnectError> {
    let sock = socket(opts, nodelay)?;
    sock.connect(opts.dst)
        .await
        .map_err(|source| ConnectError::Connect {
            dst: opts.dst,
            source,
        })
}

/// [`connect`] within `opts.connect_timeout`.
pub async fn connect_timeout(opts: &ConnectOpts) -> Result<TcpStream, ConnectError> {
    within_timeout(opts, connect_with(opts, true)).await
}

async fn within_timeout(
    opts: &ConnectOpts,
    connect: impl Future<Output = Result<TcpStream, ConnectError>>,
) -> Result<TcpStream, ConnectError> {
    match tokio::time::timeout(opts.connect_timeout, connect).await {
        Ok(r) => r,
        Err(_) => Err(ConnectError::Timeout {
            dst: opts.dst,
            timeout: opts.connect_timeout,
        }),
    }
}

/// One TCP_CHECK attempt: success when the connection is established within `connect_timeout`.
/// The connection is closed at once, with an orderly FIN as keepalived does (no RST: the real
/// server sees a normal end of connection, not "connection reset by peer").
pub async fn probe(opts: &ConnectOpts) -> Outcome {
    within_timeout(opts, connect_with(opts, false))
        .await
        .map(drop)
        .into()
}
