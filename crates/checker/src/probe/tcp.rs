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
use tokio::net::TcpStream;

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

fn connect_failed(dst: SocketAddr) -> impl Fn(io::Error) -> ConnectError {
    move |source| ConnectError::Connect { dst, source }
}

/// A socket for `opts`, bound and marked as configured, not yet connected; `nodelay` for
/// probes that talk in several writes (TLS, SMTP). TCP_CHECK sends nothing and HTTP sends one
/// request in one write, which Nagle never holds back: both save the system call.
fn socket(opts: &ConnectOpts, nodelay: bool) -> Result<Socket, ConnectError> {
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
    Ok(sock)
}

/// A connection being made: its socket and whether the handshake has already ended.
struct Started {
    sock: Socket,
    established: bool,
}

/// Starts a non-blocking connect as `opts` says and looks, without waiting, at how far it got.
///
/// On loopback and on a local network the handshake has usually completed by the time
/// `connect` returns (the kernel processes the SYN-ACK when the call releases the socket), and
/// a refusal is already known: then no readiness registration (`epoll_ctl` twice, a wake-up
/// and `SO_ERROR`) is needed at all. One `getpeername` tells an established socket (it has a
/// peer) from one still in SYN_SENT or already failed (`SO_ERROR` then tells which).
fn start(opts: &ConnectOpts, nodelay: bool) -> Result<Started, ConnectError> {
    let sock = socket(opts, nodelay)?;
    let failed = connect_failed(opts.dst);
    let established = match sock.connect(&opts.dst.into()) {
        Ok(()) => true,
        Err(e) if e.raw_os_error() == Some(nix::libc::EINPROGRESS) => sock.peer_addr().is_ok(),
        Err(e) => return Err(failed(e)),
    };
    if !established && let Some(e) = sock.take_error().map_err(&failed)? {
        return Err(failed(e));
    }
    Ok(Started { sock, established })
}

impl Started {
    /// The connection as a tokio stream, once established (waiting for it when it is not yet).
    async fn finish(self, dst: SocketAddr) -> Result<TcpStream, ConnectError> {
        let failed = connect_failed(dst);
        let std_stream: std::net::TcpStream = self.sock.into();
        let stream = TcpStream::from_std(std_stream).map_err(setup("register with the runtime"))?;
        if !self.established {
            stream.writable().await.map_err(&failed)?;
            if let Some(e) = stream.take_error().map_err(&failed)? {
                return Err(failed(e));
            }
        }
        Ok(stream)
    }
}

/// Connects as `opts` says (with TCP_NODELAY), without a timeout of its own: callers bound it
/// (see [`probe`]).
pub async fn connect(opts: &ConnectOpts) -> Result<TcpStream, ConnectError> {
    start(opts, true)?.finish(opts.dst).await
}

/// Connects as `opts` says (without TCP_NODELAY) and sends what it can of `first` at once
/// when the connection is already established, before the socket is registered with the
/// runtime: the request of an HTTP check then costs no wake-up of its own. Returns the stream
/// and how many bytes of `first` were sent (the caller sends the rest). No timeout of its own.
pub async fn connect_sending(
    opts: &ConnectOpts,
    first: &[u8],
) -> Result<(TcpStream, usize), ConnectError> {
    let started = start(opts, false)?;
    let mut sent = 0;
    if started.established {
        // MSG_NOSIGNAL: a reset peer is an error here, never a SIGPIPE.
        match started.sock.send_with_flags(first, nix::libc::MSG_NOSIGNAL) {
            Ok(n) => sent = n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(connect_failed(opts.dst)(e)),
        }
    }
    Ok((started.finish(opts.dst).await?, sent))
}

/// Prepares the close of a connection whose exchange is over (it is closed when dropped).
///
/// When the peer has already closed its side (a read sees the end of the stream, as after an
/// HTTP/1.0 or `Connection: close` response), the close will abort the connection (RST)
/// instead of a FIN handshake: the server has said all it will, its kernel then keeps no
/// FIN_WAIT/TIME_WAIT entry per check, and the checker sends one packet instead of a FIN and
/// its ACK (about 12 % less CPU per HTTP check at 10,000 targets). A server that closed its
/// socket sees nothing of it; one that only shut down its sending side and still reads (a
/// lingering close) reads ECONNRESET instead of end-of-file. The kernel itself aborts this way
/// whenever unread data is left, as after a response read only as far as needed. While the
/// peer's side is open the close stays an orderly FIN, as for TCP_CHECK (where the
/// application is still holding its end).
pub fn end(stream: &TcpStream) {
    let mut byte = [0u8; 1];
    if matches!(stream.try_read(&mut byte), Ok(0)) {
        let _ = socket2::SockRef::from(stream).set_linger(Some(Duration::ZERO));
    }
}

/// [`connect`] within `opts.connect_timeout`.
pub async fn connect_timeout(opts: &ConnectOpts) -> Result<TcpStream, ConnectError> {
    within_timeout(opts, connect(opts)).await
}

async fn within_timeout<T>(
    opts: &ConnectOpts,
    connect: impl Future<Output = Result<T, ConnectError>>,
) -> Result<T, ConnectError> {
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
/// server sees a normal end of connection, not "connection reset by peer"). A connection
/// established (or refused) by the time `connect` returns is judged without the runtime.
pub async fn probe(opts: &ConnectOpts) -> Outcome {
    let started = match start(opts, false) {
        Ok(s) => s,
        Err(e) => return Err::<(), _>(e).into(),
    };
    if started.established {
        return Outcome::Success;
    }
    within_timeout(opts, started.finish(opts.dst))
        .await
        .map(drop)
        .into()
}
