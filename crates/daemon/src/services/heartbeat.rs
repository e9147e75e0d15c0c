//! The watchdog's heartbeat between the parent and an engine process: its lines (`PING n`,
//! `PONG n`), the connection both ends read them from, and the engine's end ([`Responder`]).
//!
//! An engine connects to the parent's readiness socket ([`super::ready`]) once, says
//! `HEARTBEAT=vrrp` (or `checker`), and keeps the connection: the parent writes `PING n`, the
//! engine's driver task answers `PONG n` from its event loop (a `select!` arm beside its packets
//! and timers), so an answer proves that the loop turns, not only that the process exists. Both
//! engines run every task on one thread (a current-thread runtime): a task stuck in a blocking
//! call, or a frozen process, leaves the ping unanswered. The parent's side, with its deadlines,
//! is `supervisor::watchdog`.

use std::io;
use std::os::linux::net::SocketAddrExt as _;
use std::os::unix::net::{SocketAddr, UnixStream as StdStream};

use tokio::net::UnixStream;
use tracing::debug;

use super::cli::Engine;
use super::ready::{ENV_READY, Report};

/// The longest line accepted; a peer sending more without a newline is cut off.
const MAX_LINE: usize = 64;

/// A heartbeat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Msg {
    /// The parent asks (`PING n`).
    Ping(u64),
    /// The engine answers ping `n` (`PONG n`).
    Pong(u64),
}

impl Msg {
    /// Its line.
    pub fn line(self) -> String {
        match self {
            Msg::Ping(n) => format!("PING {n}\n"),
            Msg::Pong(n) => format!("PONG {n}\n"),
        }
    }

    /// Parses one line (without its newline); `None` for anything else.
    pub fn parse(line: &str) -> Option<Msg> {
        let (what, n) = line.trim().split_once(' ')?;
        let n = n.parse().ok()?;
        match what {
            "PING" => Some(Msg::Ping(n)),
            "PONG" => Some(Msg::Pong(n)),
            _ => None,
        }
    }
}

/// One end of a heartbeat connection: reads messages line by line, writes without waiting.
#[derive(Debug)]
pub struct Conn {
    stream: UnixStream,
    buf: Vec<u8>,
}

impl Conn {
    /// Wraps a connected stream (inside a tokio runtime).
    pub fn new(stream: UnixStream) -> Conn {
        Conn {
            stream,
            buf: Vec::new(),
        }
    }

    /// The next message; `Ok(None)` once the peer closed the connection. Lines that do not
    /// parse are skipped. Cancel-safe: a partial line stays in the buffer.
    ///
    /// # Errors
    /// The socket's.
    pub async fn recv(&mut self) -> io::Result<Option<Msg>> {
        loop {
            if let Some(msg) = self.take_line() {
                return Ok(Some(msg));
            }
            self.stream.readable().await?;
            match self.read_some() {
                Ok(0) => return Ok(None),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// The messages that can be read now without waiting (for a last look before a verdict,
    /// whatever the runtime has noticed yet).
    pub fn recv_now(&mut self) -> Vec<Msg> {
        // A plain read(2) on the non-blocking socket: tokio's `try_read` would answer
        // `WouldBlock` while its reactor has not yet seen the socket readable.
        let mut chunk = [0u8; 256];
        while let Ok(n) = nix::unistd::read(&self.stream, &mut chunk)
            && n > 0
        {
            self.buf.extend_from_slice(&chunk[..n]);
        }
        std::iter::from_fn(|| self.take_line()).collect()
    }

    /// Writes `msg` if the socket takes it at once.
    ///
    /// # Errors
    /// The socket's (`WouldBlock` when the peer reads nothing: its buffer is full).
    pub fn send(&self, msg: Msg) -> io::Result<()> {
        let line = msg.line();
        let n = self.stream.try_write(line.as_bytes())?;
        if n == line.len() {
            Ok(())
        } else {
            Err(io::ErrorKind::WriteZero.into())
        }
    }

    fn read_some(&mut self) -> io::Result<usize> {
        let mut chunk = [0u8; 256];
        let n = self.stream.try_read(&mut chunk)?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    /// The first complete line of the buffer that parses, if any.
    fn take_line(&mut self) -> Option<Msg> {
        while let Some(end) = self.buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=end).collect();
            if let Some(msg) = std::str::from_utf8(&line).ok().and_then(Msg::parse) {
                return Some(msg);
            }
        }
        if self.buf.len() > MAX_LINE {
            self.buf.clear();
        }
        None
    }
}

/// The engine's end: answers each ping from the loop that polls [`next_ping`].
#[derive(Debug)]
pub struct Responder {
    conn: Conn,
}

impl Responder {
    /// Connects to the parent and introduces this `engine` process (nothing without a parent,
    /// or when the connection fails: the engine then runs unwatched). Inside a tokio runtime.
    pub fn connect(engine: Engine) -> Option<Responder> {
        let name = std::env::var_os(ENV_READY)?;
        let connected = SocketAddr::from_abstract_name(name.as_encoded_bytes())
            .and_then(|addr| StdStream::connect_addr(&addr))
            .and_then(|mut s| {
                io::Write::write_all(&mut s, Report::Heartbeat(engine).line().as_bytes())?;
                s.set_nonblocking(true)?;
                UnixStream::from_std(s)
            });
        match connected {
            Ok(stream) => Some(Responder {
                conn: Conn::new(stream),
            }),
            Err(e) => {
                debug!("no heartbeat connection to the parent: {e}");
                None
            }
        }
    }

    /// Answers ping `n`.
    pub fn answer(&self, n: u64) {
        if let Err(e) = self.conn.send(Msg::Pong(n)) {
            debug!("heartbeat: cannot answer ping {n}: {e}");
        }
    }
}

/// The next ping to answer; never without a connection. When the parent closes it, or it
/// fails, the connection is dropped (the engine gets SIGTERM when the parent dies anyway).
pub async fn next_ping(responder: &mut Option<Responder>) -> u64 {
    loop {
        let Some(r) = responder.as_mut() else {
            return std::future::pending().await;
        };
        match r.conn.recv().await {
            Ok(Some(Msg::Ping(n))) => return n,
            Ok(Some(Msg::Pong(_))) => {}
            Ok(None) | Err(_) => *responder = None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_read_back_and_junk_is_refused() {
        for m in [Msg::Ping(0), Msg::Pong(7), Msg::Ping(u64::MAX)] {
            assert_eq!(Msg::parse(&m.line()), Some(m));
        }
        for junk in ["", "PING", "PING x", "PONG -1", "PANG 3", "PING 1 2"] {
            assert_eq!(Msg::parse(junk), None, "{junk}");
        }
    }

    #[tokio::test]
    async fn a_ping_is_answered_and_split_lines_are_joined() {
        let (a, b) = UnixStream::pair().expect("pair");
        let (mut parent, engine) = (Conn::new(a), Conn::new(b));
        let mut responder = Some(Responder { conn: engine });
        parent.send(Msg::Ping(1)).expect("send");
        let n = next_ping(&mut responder).await;
        assert_eq!(n, 1);
        responder.as_ref().expect("open").answer(n);
        assert_eq!(parent.recv().await.expect("recv"), Some(Msg::Pong(1)));
        // A line in two writes, junk before it.
        let raw = responder
            .as_ref()
            .expect("open")
            .conn
            .stream
            .try_write(b"junk\nPONG");
        assert_eq!(raw.expect("write"), 9);
        assert_eq!(parent.recv_now(), []);
        let raw = responder
            .as_ref()
            .expect("open")
            .conn
            .stream
            .try_write(b" 2\n");
        assert_eq!(raw.expect("write"), 3);
        assert_eq!(parent.recv_now(), [Msg::Pong(2)]);
        // The parent goes: the engine stops listening.
        drop(parent);
        let waited = tokio::time::timeout(
            std::time::Duration::from_millis(100),
            next_ping(&mut responder),
        )
        .await;
        assert!(waited.is_err());
        assert!(responder.is_none());
    }
}
