//! SMTP_CHECK: a TCP connection to an SMTP server, the `220` greeting, `HELO helo_name`
//! answered by `250`, then `QUIT`; and the `host` blocks, each a separate target.
//!
//! Semantics (keepalived's, with stricter reply parsing):
//! * Each step (connect, greeting, HELO reply, QUIT reply) has its own `connect_timeout`, as
//!   in keepalived; a reply must be complete within it, so a server trickling bytes cannot
//!   hold a check longer than four timeouts.
//! * Replies are read as RFC 5321 §4.2 replies: lines `DDD-text` continue, `DDD text` (or a
//!   bare `DDD`) ends the reply, every line carrying the same code. Lines may end in CRLF or
//!   LF. A line that is not of that form, a code that changes inside a reply, a line over
//!   [`MAX_LINE`] bytes or a reply over [`MAX_REPLY`] bytes / [`MAX_LINES`] lines fails the
//!   check (keepalived reads the first line only).
//! * The greeting must be `220`, the HELO reply `250`; any complete reply to QUIT is accepted
//!   (keepalived does not look at its code either), but one must come.
//! * `host` blocks: without any, the checker's own options are the one target; otherwise each
//!   block is a target whose unset options come from the checker (see [`targets`]). The
//!   checker passes when every target passes ([`check_all`] runs them in order).

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use keepalived_config::model::lvs::{CheckCommon, SmtpCheck};
use socket2::{Protocol, Socket, Type};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use super::udp::Endpoint;

/// The longest reply line accepted, CRLF included (RFC 5321 allows 512; we are lenient).
pub const MAX_LINE: usize = 1000;
/// The most lines in one reply.
pub const MAX_LINES: usize = 64;
/// The most bytes in one reply.
pub const MAX_REPLY: usize = 16 * 1024;

/// keepalived's default `helo_name`.
pub const DEFAULT_HELO: &str = "smtpchecker.keepalived.org";

/// The SMTP_CHECK options shared by all its targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpOptions {
    /// `helo_name`.
    pub helo_name: String,
}

impl Default for SmtpOptions {
    fn default() -> SmtpOptions {
        SmtpOptions {
            helo_name: DEFAULT_HELO.to_owned(),
        }
    }
}

impl From<&SmtpCheck> for SmtpOptions {
    fn from(c: &SmtpCheck) -> SmtpOptions {
        SmtpOptions {
            helo_name: c.helo_name.clone(),
        }
    }
}

/// The targets of an SMTP_CHECK: the checker's own endpoint when it has no `host` block,
/// else one per block, each unset option taken from the checker's (`connect_ip` / `connect_port`
/// ultimately from the real server). A block's `connect_timeout` is already resolved by the
/// config.
pub fn targets(check: &SmtpCheck, common: &CheckCommon, real_server: SocketAddr) -> Vec<Endpoint> {
    let base = Endpoint::from_common(common, real_server);
    if check.hosts.is_empty() {
        return vec![base];
    }
    check
        .hosts
        .iter()
        .map(|h| Endpoint {
            dst: SocketAddr::new(
                h.connect_ip.unwrap_or(base.dst.ip()),
                h.connect_port.unwrap_or(base.dst.port()),
            ),
            bindto: h.bindto.or(base.bindto),
            bind_port: h.bind_port.or(base.bind_port),
            bind_if: h.bind_if.clone().or_else(|| base.bind_if.clone()),
            fwmark: h.fwmark.or(base.fwmark),
            timeout: h.connect_timeout,
        })
        .collect()
}

/// A step of the SMTP conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The TCP connection.
    Connect,
    /// The server's greeting.
    Greeting,
    /// `HELO` and its reply.
    Helo,
    /// `QUIT` and its reply.
    Quit,
}

/// Why an SMTP_CHECK attempt failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SmtpFailure {
    /// `helo_name` holds a CR or LF (it would inject commands).
    #[error("helo_name contains a line break")]
    InvalidHelo,
    /// The socket could not be created or bound.
    #[error("socket setup: {0}")]
    Socket(io::Error),
    /// An I/O error (connection refused, reset, ...).
    #[error("{step:?}: {error}")]
    Io {
        /// Where it happened.
        step: Step,
        /// The error.
        error: io::Error,
    },
    /// A step took longer than `connect_timeout`.
    #[error("{step:?}: timed out after {timeout:?}")]
    Timeout {
        /// The step.
        step: Step,
        /// `connect_timeout`.
        timeout: Duration,
    },
    /// The server closed the connection before a complete reply.
    #[error("{step:?}: connection closed by the server")]
    Closed {
        /// The step.
        step: Step,
    },
    /// The reply is not an SMTP reply, or is too long.
    #[error("{step:?}: bad reply: {reason}")]
    BadReply {
        /// The step.
        step: Step,
        /// What was wrong.
        reason: ReplyError,
    },
    /// A well-formed reply with the wrong code.
    #[error("{step:?}: reply code {code}, expected {expected}")]
    UnexpectedCode {
        /// The step.
        step: Step,
        /// The code received.
        code: u16,
        /// The code expected.
        expected: u16,
    },
}

/// What makes bytes not an acceptable SMTP reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    /// A line does not start with three digits followed by `-`, space or the line end.
    #[error("line {line} is not DDD[-| text]")]
    Syntax {
        /// Line number in the reply (from 1).
        line: usize,
    },
    /// A continuation line carries another code.
    #[error("line {line} changes the code")]
    CodeChanged {
        /// Line number in the reply (from 1).
        line: usize,
    },
    /// A line longer than [`MAX_LINE`].
    #[error("line longer than {MAX_LINE} bytes")]
    LineTooLong,
    /// More than [`MAX_LINES`] lines or [`MAX_REPLY`] bytes.
    #[error("reply longer than {MAX_LINES} lines or {MAX_REPLY} bytes")]
    TooLong,
}

/// The state of a reply being received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// More bytes are needed.
    Incomplete,
    /// A complete reply with this code, `len` bytes long (bytes after it belong to the next
    /// reply).
    Complete {
        /// The reply code.
        code: u16,
        /// Bytes the reply used.
        len: usize,
    },
}

/// Parses the start of `buf` as one SMTP reply (see the module doc for the rules).
///
/// # Errors
/// A [`ReplyError`] as soon as the bytes cannot become a valid reply.
pub fn parse_reply(buf: &[u8]) -> Result<Reply, ReplyError> {
    let mut pos = 0;
    let mut code = None;
    for line_no in 1..=MAX_LINES {
        let rest = buf.get(pos..).unwrap_or(&[]);
        let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
            // Judge what we have of the line so far: garbage fails early.
            check_prefix(rest, line_no)?;
            if rest.len() >= MAX_LINE {
                return Err(ReplyError::LineTooLong);
            }
            if pos + rest.len() >= MAX_REPLY {
                return Err(ReplyError::TooLong);
            }
            return Ok(Reply::Incomplete);
        };
        if nl + 1 > MAX_LINE {
            return Err(ReplyError::LineTooLong);
        }
        let line = rest.get(..nl).unwrap_or(&[]);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let (this, more) = split_line(line, line_no)?;
        if *code.get_or_insert(this) != this {
            return Err(ReplyError::CodeChanged { line: line_no });
        }
        pos += nl + 1;
        if pos > MAX_REPLY {
            return Err(ReplyError::TooLong);
        }
        if !more {
            return Ok(Reply::Complete {
                code: this,
                len: pos,
            });
        }
    }
    Err(ReplyError::TooLong)
}

/// Splits a complete line (without its line end) into its code and whether it continues.
fn split_line(line: &[u8], line_no: usize) -> Result<(u16, bool), ReplyError> {
    let bad = ReplyError::Syntax { line: line_no };
    let (digits, sep) = match line {
        [a, b, c] => ([*a, *b, *c], None),
        [a, b, c, s, ..] => ([*a, *b, *c], Some(*s)),
        _ => return Err(bad),
    };
    if !digits.iter().all(u8::is_ascii_digit) || !(b'2'..=b'5').contains(&digits[0]) {
        return Err(bad);
    }
    let more = match sep {
        None | Some(b' ') => false,
        Some(b'-') => true,
        Some(_) => return Err(bad),
    };
    let code = digits
        .iter()
        .fold(0u16, |acc, d| acc * 10 + u16::from(d - b'0'));
    Ok((code, more))
}

/// Fails early when an incomplete line already cannot be a reply line.
fn check_prefix(partial: &[u8], line_no: usize) -> Result<(), ReplyError> {
    let partial = partial.strip_suffix(b"\r").unwrap_or(partial);
    let ok = partial.iter().enumerate().all(|(i, b)| match i {
        0 => (b'2'..=b'5').contains(b),
        1 | 2 => b.is_ascii_digit(),
        3 => *b == b' ' || *b == b'-',
        _ => true,
    });
    if ok {
        Ok(())
    } else {
        Err(ReplyError::Syntax { line: line_no })
    }
}

/// A connection with the bytes received but not yet consumed.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    timeout: Duration,
}

impl Conn {
    /// Reads one complete reply within the timeout and returns its code.
    async fn reply(&mut self, step: Step) -> Result<u16, SmtpFailure> {
        let timeout = self.timeout;
        match tokio::time::timeout(timeout, self.read_reply(step)).await {
            Ok(r) => r,
            Err(_elapsed) => Err(SmtpFailure::Timeout { step, timeout }),
        }
    }

    async fn read_reply(&mut self, step: Step) -> Result<u16, SmtpFailure> {
        let mut chunk = [0u8; 1024];
        loop {
            match parse_reply(&self.buf) {
                Err(reason) => return Err(SmtpFailure::BadReply { step, reason }),
                Ok(Reply::Complete { code, len }) => {
                    self.buf.drain(..len);
                    return Ok(code);
                }
                Ok(Reply::Incomplete) => {}
            }
            let n = self
                .stream
                .read(&mut chunk)
                .await
                .map_err(|error| SmtpFailure::Io { step, error })?;
            if n == 0 {
                return Err(SmtpFailure::Closed { step });
            }
            self.buf.extend_from_slice(chunk.get(..n).unwrap_or(&[]));
        }
    }

    async fn send(&mut self, step: Step, line: &[u8]) -> Result<(), SmtpFailure> {
        let timeout = self.timeout;
        match tokio::time::timeout(timeout, self.stream.write_all(line)).await {
            Ok(r) => r.map_err(|error| SmtpFailure::Io { step, error }),
            Err(_elapsed) => Err(SmtpFailure::Timeout { step, timeout }),
        }
    }

    async fn expect(&mut self, step: Step, expected: u16) -> Result<(), SmtpFailure> {
        let code = self.reply(step).await?;
        if code == expected {
            Ok(())
        } else {
            Err(SmtpFailure::UnexpectedCode {
                step,
                code,
                expected,
            })
        }
    }
}

/// Opens a TCP connection to `ep.dst` with its source options, within `ep.timeout`.
async fn connect(ep: &Endpoint) -> Result<TcpStream, SmtpFailure> {
    let sock =
        Socket::new(ep.domain(), Type::STREAM, Some(Protocol::TCP)).map_err(SmtpFailure::Socket)?;
    ep.prepare(&sock, true).map_err(SmtpFailure::Socket)?;
    sock.set_nonblocking(true).map_err(SmtpFailure::Socket)?;
    let sock = TcpSocket::from_std_stream(sock.into());
    let step = Step::Connect;
    match tokio::time::timeout(ep.timeout, sock.connect(ep.dst)).await {
        Ok(r) => r.map_err(|error| SmtpFailure::Io { step, error }),
        Err(_elapsed) => Err(SmtpFailure::Timeout {
            step,
            timeout: ep.timeout,
        }),
    }
}

/// Runs one SMTP_CHECK attempt against one target.
///
/// # Errors
/// An [`SmtpFailure`] saying at which step and why the check failed.
pub async fn check(ep: &Endpoint, opts: &SmtpOptions) -> Result<(), SmtpFailure> {
    if opts.helo_name.contains(['\r', '\n']) {
        return Err(SmtpFailure::InvalidHelo);
    }
    let stream = connect(ep).await?;
    let mut c = Conn {
        stream,
        buf: Vec::new(),
        timeout: ep.timeout,
    };
    c.expect(Step::Greeting, 220).await?;
    c.send(
        Step::Helo,
        format!("HELO {}\r\n", opts.helo_name).as_bytes(),
    )
    .await?;
    c.expect(Step::Helo, 250).await?;
    c.send(Step::Quit, b"QUIT\r\n").await?;
    c.reply(Step::Quit).await?;
    Ok(())
}

/// Checks every target in order and stops at the first failure, returning its index.
///
/// # Errors
/// The index of the failed target in `targets` and why it failed.
pub async fn check_all(
    targets: &[Endpoint],
    opts: &SmtpOptions,
) -> Result<(), (usize, SmtpFailure)> {
    for (i, ep) in targets.iter().enumerate() {
        check(ep, opts).await.map_err(|f| (i, f))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use keepalived_config::model::lvs::SmtpHost;

    #[test]
    fn single_and_multi_line_replies() {
        assert_eq!(
            parse_reply(b"220 mx.example.test ESMTP\r\n"),
            Ok(Reply::Complete { code: 220, len: 27 })
        );
        assert_eq!(
            parse_reply(b"250\n"),
            Ok(Reply::Complete { code: 250, len: 4 })
        );
        let multi = b"220-first\r\n220-second\r\n220 last\r\n250 next";
        assert_eq!(
            parse_reply(multi),
            Ok(Reply::Complete { code: 220, len: 33 })
        );
        assert_eq!(parse_reply(b"220-first\r\n220 la"), Ok(Reply::Incomplete));
        assert_eq!(parse_reply(b""), Ok(Reply::Incomplete));
        assert_eq!(parse_reply(b"22"), Ok(Reply::Incomplete));
    }

    #[test]
    fn garbage_is_rejected_early() {
        assert_eq!(
            parse_reply(b"HTTP/1.1 400"),
            Err(ReplyError::Syntax { line: 1 })
        );
        assert_eq!(
            parse_reply(b"2x0 hi\r\n"),
            Err(ReplyError::Syntax { line: 1 })
        );
        assert_eq!(
            parse_reply(b"220+hi\r\n"),
            Err(ReplyError::Syntax { line: 1 })
        );
        assert_eq!(
            parse_reply(b"999 hi\r\n"),
            Err(ReplyError::Syntax { line: 1 })
        );
        assert_eq!(
            parse_reply(b"220-a\r\n554 no\r\n"),
            Err(ReplyError::CodeChanged { line: 2 })
        );
        assert_eq!(
            parse_reply(&[b'2'; 1200]),
            Err(ReplyError::Syntax { line: 1 })
        );
        let mut long = b"220 ".to_vec();
        long.extend(std::iter::repeat_n(b'x', MAX_LINE));
        assert_eq!(parse_reply(&long), Err(ReplyError::LineTooLong));
        let many = b"220-x\r\n".repeat(MAX_LINES + 1);
        assert_eq!(parse_reply(&many), Err(ReplyError::TooLong));
    }

    #[test]
    fn hosts_inherit_the_checker_options() {
        let common = CheckCommon {
            connect_port: Some(2525),
            bindto: Some("192.0.2.1".parse().unwrap()),
            connect_timeout: Duration::from_secs(5),
            ..CheckCommon::default()
        };
        let rs: SocketAddr = "192.0.2.10:25".parse().unwrap();
        let mut check = SmtpCheck {
            helo_name: DEFAULT_HELO.to_owned(),
            hosts: vec![],
        };
        let t = targets(&check, &common, rs);
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].dst, "192.0.2.10:2525".parse().unwrap());
        check.hosts = vec![
            SmtpHost {
                connect_ip: Some("192.0.2.11".parse().unwrap()),
                connect_port: None,
                bindto: None,
                bind_port: None,
                bind_if: Some("eth1".to_owned()),
                connect_timeout: Duration::from_secs(2),
                fwmark: None,
                loc: Default::default(),
            },
            SmtpHost {
                connect_ip: None,
                connect_port: Some(587),
                bindto: Some("192.0.2.2".parse().unwrap()),
                bind_port: None,
                bind_if: None,
                connect_timeout: Duration::from_secs(5),
                fwmark: Some(3),
                loc: Default::default(),
            },
        ];
        let t = targets(&check, &common, rs);
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].dst, "192.0.2.11:2525".parse().unwrap());
        assert_eq!(t[0].bindto, common.bindto);
        assert_eq!(t[0].bind_if.as_deref(), Some("eth1"));
        assert_eq!(t[0].timeout, Duration::from_secs(2));
        assert_eq!(t[1].dst, "192.0.2.10:587".parse().unwrap());
        assert_eq!(t[1].bindto, Some("192.0.2.2".parse().unwrap()));
        assert_eq!(t[1].fwmark, Some(3));
    }
}
