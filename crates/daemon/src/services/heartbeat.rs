//! The watchdog's heartbeat between the parent and an engine process, and the queries that
//! travel on the same connection: its messages (`PING n`, `PONG n`, `QUERY n KIND`, `PART n
//! LEN` + bytes, `DONE n`), the connection both ends read them from, and the engine's end
//! ([`Responder`]).
//!
//! An engine connects to the parent's readiness socket ([`super::ready`]) once, says
//! `HEARTBEAT=vrrp` (or `checker`), and keeps the connection: the parent writes `PING n`, the
//! engine's driver task answers `PONG n` from its event loop (a `select!` arm beside its packets
//! and timers), so an answer proves that the loop turns, not only that the process exists. Both
//! engines run every task on one thread (a current-thread runtime): a task stuck in a blocking
//! call, or a frozen process, leaves the ping unanswered. The parent's side, with its deadlines,
//! is `supervisor::watchdog`.
//!
//! Queries (the metrics, and the control socket's commands: maintenance, drain, dumps) are answered the same way: the
//! driver copies what is asked for between two events ([`Responder::reply`]), the copy is
//! serialized on tokio's blocking pool, and one writer task sends the bytes in [`PART_MAX`]
//! frames. The writer sends every pong queued before the next frame, so a heartbeat waits for
//! at most one frame, never for a whole reply.

use std::io;
use std::os::linux::net::SocketAddrExt as _;
use std::os::unix::net::{SocketAddr, UnixStream as StdStream};
use std::sync::Arc;

use tokio::net::UnixStream;
use tokio::sync::{mpsc, oneshot};
use tracing::debug;

use super::cli::Engine;
use super::ready::{ENV_READY, Report};

/// The longest line accepted (a command's JSON included); a peer sending more without a
/// newline is cut off.
pub const MAX_LINE: usize = 4096;

/// The largest frame of a reply (`PART n LEN`): a pong waits for one at most.
pub const PART_MAX: usize = 16 * 1024;

/// What a query asks an engine for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryKind {
    /// Its numbers for the Prometheus metrics (`crate::services::metrics::EngineMetrics`,
    /// in postcard's binary form).
    Metrics,
    /// A control socket's command (`QUERY n command JSON`): answered with an
    /// [`EngineAnswer`](crate::services::control::EngineAnswer) as JSON.
    Command(crate::services::control::EngineCommand),
}

impl QueryKind {
    /// Its words on the wire.
    pub fn wire(&self) -> String {
        match self {
            QueryKind::Metrics => "metrics".to_owned(),
            QueryKind::Command(c) => {
                format!("command {}", serde_json::to_string(c).unwrap_or_default())
            }
        }
    }

    fn parse(words: &str) -> Option<QueryKind> {
        match words.split_once(' ') {
            None if words == "metrics" => Some(QueryKind::Metrics),
            Some(("command", json)) => serde_json::from_str(json).ok().map(QueryKind::Command),
            _ => None,
        }
    }
}

/// A heartbeat message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    /// The parent asks (`PING n`).
    Ping(u64),
    /// The engine answers ping `n` (`PONG n`).
    Pong(u64),
    /// The parent asks query `n` (`QUERY n KIND`).
    Query(u64, QueryKind),
    /// A piece of the answer to query `n` (`PART n LEN`, a newline, LEN bytes).
    Part(u64, Vec<u8>),
    /// The answer to query `n` is complete (`DONE n`).
    Done(u64),
}

impl Msg {
    /// Its bytes on the wire.
    pub fn line(&self) -> Vec<u8> {
        match self {
            Msg::Ping(n) => format!("PING {n}\n").into_bytes(),
            Msg::Pong(n) => format!("PONG {n}\n").into_bytes(),
            Msg::Query(n, kind) => format!("QUERY {n} {}\n", kind.wire()).into_bytes(),
            Msg::Part(n, bytes) => {
                let mut out = format!("PART {n} {}\n", bytes.len()).into_bytes();
                out.extend_from_slice(bytes);
                out
            }
            Msg::Done(n) => format!("DONE {n}\n").into_bytes(),
        }
    }

    /// Parses one line (without its newline) other than `PART`; `None` for anything else.
    pub fn parse(line: &str) -> Option<Msg> {
        if let Some(rest) = line.trim().strip_prefix("QUERY ") {
            let (n, kind) = rest.split_once(' ')?;
            return Some(Msg::Query(n.parse().ok()?, QueryKind::parse(kind)?));
        }
        let mut words = line.trim().split(' ');
        let (what, n) = (words.next()?, words.next()?.parse().ok()?);
        let msg = match (what, words.next()) {
            ("PING", None) => Msg::Ping(n),
            ("PONG", None) => Msg::Pong(n),
            ("DONE", None) => Msg::Done(n),
            _ => return None,
        };
        words.next().is_none().then_some(msg)
    }
}

/// A `PART n LEN` header's query and length; `None` when it does not parse or LEN is over
/// [`PART_MAX`].
fn parse_part(line: &str) -> Option<(u64, usize)> {
    let mut words = line.trim().split(' ');
    if words.next()? != "PART" {
        return None;
    }
    let n = words.next()?.parse().ok()?;
    let len: usize = words.next()?.parse().ok()?;
    (words.next().is_none() && len <= PART_MAX).then_some((n, len))
}

/// One end of a heartbeat connection: reads messages line by line, writes without waiting.
#[derive(Debug)]
pub struct Conn {
    stream: Arc<UnixStream>,
    buf: Vec<u8>,
}

/// How much one read takes from the socket at most.
const READ_CHUNK: usize = 64 * 1024;

impl Conn {
    /// Wraps a connected stream (inside a tokio runtime).
    pub fn new(stream: UnixStream) -> Conn {
        Conn {
            stream: Arc::new(stream),
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
        let mut chunk = vec![0u8; READ_CHUNK];
        while let Ok(n) = nix::unistd::read(&*self.stream, &mut chunk)
            && n > 0
        {
            self.buf.extend_from_slice(&chunk[..n]);
        }
        std::iter::from_fn(|| self.take_line()).collect()
    }

    /// Writes `msg` if the socket takes it at once (a line, never a `PART`: that is the
    /// engine's writer's).
    ///
    /// # Errors
    /// The socket's (`WouldBlock` when the peer reads nothing: its buffer is full).
    pub fn send(&self, msg: &Msg) -> io::Result<()> {
        let line = msg.line();
        let n = self.stream.try_write(&line)?;
        if n == line.len() {
            Ok(())
        } else {
            Err(io::ErrorKind::WriteZero.into())
        }
    }

    fn read_some(&mut self) -> io::Result<usize> {
        let old = self.buf.len();
        self.buf.resize(old + READ_CHUNK, 0);
        let read = self.stream.try_read(&mut self.buf[old..]);
        self.buf.truncate(old + *read.as_ref().unwrap_or(&0));
        read
    }

    /// The first complete message of the buffer that parses, if any (a `PART` once all its
    /// bytes are in).
    fn take_line(&mut self) -> Option<Msg> {
        while let Some(end) = self.buf.iter().position(|&b| b == b'\n') {
            let line = std::str::from_utf8(&self.buf[..end]).unwrap_or("");
            if line.starts_with("PART ") {
                let Some((n, len)) = parse_part(line) else {
                    // A frame that cannot be delimited: nothing after it can be trusted.
                    self.buf.clear();
                    return None;
                };
                if self.buf.len() < end + 1 + len {
                    return None;
                }
                let bytes = self.buf[end + 1..end + 1 + len].to_vec();
                self.buf.drain(..end + 1 + len);
                return Some(Msg::Part(n, bytes));
            }
            let msg = Msg::parse(line);
            self.buf.drain(..=end);
            if msg.is_some() {
                return msg;
            }
        }
        if self.buf.len() > MAX_LINE {
            self.buf.clear();
        }
        None
    }
}

/// What the parent asks the engine's loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Ping `n`: answer with [`Responder::answer`].
    Ping(u64),
    /// Query `n`: answer with [`Responder::reply`].
    Query(u64, QueryKind),
}

/// A query the parent's side sends on an engine's connection: the answer's bytes come back on
/// `reply` (dropped: the engine is gone or the connection failed).
#[derive(Debug)]
pub struct QueryRequest {
    /// What is asked.
    pub kind: QueryKind,
    /// Where the answer goes.
    pub reply: oneshot::Sender<Vec<u8>>,
}

/// The engine's end: answers each ping and query from the loop that polls [`next_request`];
/// the answers are written by a task of its own (aborted when this is dropped).
#[derive(Debug)]
pub struct Responder {
    conn: Conn,
    pongs: mpsc::UnboundedSender<u64>,
    replies: mpsc::UnboundedSender<(u64, Vec<u8>)>,
    writer: tokio::task::JoinHandle<()>,
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.writer.abort();
    }
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
            Ok(stream) => Some(Responder::new(Conn::new(stream))),
            Err(e) => {
                debug!("no heartbeat connection to the parent: {e}");
                None
            }
        }
    }

    fn new(conn: Conn) -> Responder {
        let (pongs, pong_rx) = mpsc::unbounded_channel();
        let (replies, reply_rx) = mpsc::unbounded_channel();
        let writer = tokio::spawn(write_loop(conn.stream.clone(), pong_rx, reply_rx));
        Responder {
            conn,
            pongs,
            replies,
            writer,
        }
    }

    /// Answers ping `n`.
    pub fn answer(&self, n: u64) {
        if self.pongs.send(n).is_err() {
            debug!("heartbeat: cannot answer ping {n}: the writer is gone");
        }
    }

    /// Answers query `n` with the bytes `make` returns, run on tokio's blocking pool: the
    /// caller hands over a copy taken between two events, and the loop goes on at once.
    pub fn reply(&self, n: u64, make: impl FnOnce() -> Vec<u8> + Send + 'static) {
        let replies = self.replies.clone();
        tokio::spawn(async move {
            let bytes = tokio::task::spawn_blocking(make).await.unwrap_or_default();
            let _ = replies.send((n, bytes));
        });
    }
}

/// Writes the whole of `bytes`, waiting for room.
async fn write_all(stream: &UnixStream, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        stream.writable().await?;
        match stream.try_write(bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The engine's writer: every pong queued goes before the next frame of a reply.
async fn write_loop(
    stream: Arc<UnixStream>,
    mut pongs: mpsc::UnboundedReceiver<u64>,
    mut replies: mpsc::UnboundedReceiver<(u64, Vec<u8>)>,
) {
    // The reply being sent, and how much of it went.
    let mut current: Option<(u64, Vec<u8>, usize)> = None;
    let written: io::Result<()> = async {
        loop {
            while let Ok(n) = pongs.try_recv() {
                write_all(&stream, &Msg::Pong(n).line()).await?;
            }
            if let Some((n, bytes, sent)) = &mut current {
                if *sent < bytes.len() {
                    let end = (*sent + PART_MAX).min(bytes.len());
                    let part = Msg::Part(*n, bytes[*sent..end].to_vec());
                    write_all(&stream, &part.line()).await?;
                    *sent = end;
                } else {
                    write_all(&stream, &Msg::Done(*n).line()).await?;
                    current = None;
                }
                continue;
            }
            tokio::select! {
                biased;
                Some(n) = pongs.recv() => write_all(&stream, &Msg::Pong(n).line()).await?,
                Some((n, bytes)) = replies.recv() => current = Some((n, bytes, 0)),
                else => return Ok(()),
            }
        }
    }
    .await;
    if let Err(e) = written {
        debug!("heartbeat: cannot write to the parent: {e}");
    }
}

/// The next ping or query to answer; never without a connection. When the parent closes it,
/// or it fails, the connection is dropped (the engine gets SIGTERM when the parent dies
/// anyway).
pub async fn next_request(responder: &mut Option<Responder>) -> Request {
    loop {
        let Some(r) = responder.as_mut() else {
            return std::future::pending().await;
        };
        match r.conn.recv().await {
            Ok(Some(Msg::Ping(n))) => return Request::Ping(n),
            Ok(Some(Msg::Query(n, kind))) => return Request::Query(n, kind),
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => *responder = None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_read_back_and_junk_is_refused() {
        for m in [
            Msg::Ping(0),
            Msg::Pong(7),
            Msg::Ping(u64::MAX),
            Msg::Query(3, QueryKind::Metrics),
            Msg::Query(
                4,
                QueryKind::Command(crate::services::control::EngineCommand::Drain {
                    virtual_server: "fwmark 7".into(),
                    real_server: "[2001:db8::2]:80".into(),
                    on: true,
                }),
            ),
            Msg::Done(9),
        ] {
            let line = String::from_utf8(m.line()).expect("text");
            assert_eq!(Msg::parse(&line), Some(m));
        }
        for junk in [
            "",
            "PING",
            "PING x",
            "PONG -1",
            "PANG 3",
            "PING 1 2",
            "QUERY 1",
            "QUERY 1 status",
            "QUERY 1 metrics x",
            "QUERY 1 command",
            "QUERY 1 command {\"do\":\"explode\"}",
            "QUERY x command {\"do\":\"dump\",\"kind\":\"data\"}",
            "DONE",
            "PART 1 3",
        ] {
            assert_eq!(Msg::parse(junk), None, "{junk}");
        }
        assert_eq!(parse_part("PART 4 16"), Some((4, 16)));
        assert_eq!(parse_part(&format!("PART 4 {}", PART_MAX + 1)), None);
        assert_eq!(parse_part("PART 4"), None);
    }

    fn raw(r: &Option<Responder>, bytes: &[u8]) {
        let n = r
            .as_ref()
            .expect("open")
            .conn
            .stream
            .try_write(bytes)
            .expect("write");
        assert_eq!(n, bytes.len());
    }

    #[tokio::test]
    async fn a_ping_is_answered_and_split_lines_are_joined() {
        let (a, b) = UnixStream::pair().expect("pair");
        let (mut parent, engine) = (Conn::new(a), Conn::new(b));
        let mut responder = Some(Responder::new(engine));
        parent.send(&Msg::Ping(1)).expect("send");
        let req = next_request(&mut responder).await;
        assert_eq!(req, Request::Ping(1));
        responder.as_ref().expect("open").answer(1);
        assert_eq!(parent.recv().await.expect("recv"), Some(Msg::Pong(1)));
        // A line in two writes, junk before it.
        raw(&responder, b"junk\nPONG");
        assert_eq!(parent.recv_now(), []);
        raw(&responder, b" 2\n");
        assert_eq!(parent.recv_now(), [Msg::Pong(2)]);
        // The parent goes: the engine stops listening.
        drop(parent);
        let waited = tokio::time::timeout(
            std::time::Duration::from_millis(100),
            next_request(&mut responder),
        )
        .await;
        assert!(waited.is_err());
        assert!(responder.is_none());
    }

    #[tokio::test]
    async fn a_large_reply_comes_in_frames_and_pongs_are_not_held_behind_it() {
        let (a, b) = UnixStream::pair().expect("pair");
        let (mut parent, engine) = (Conn::new(a), Conn::new(b));
        let mut responder = Some(Responder::new(engine));
        parent
            .send(&Msg::Query(5, QueryKind::Metrics))
            .expect("send");
        assert_eq!(
            next_request(&mut responder).await,
            Request::Query(5, QueryKind::Metrics)
        );
        // 4 MB: far more than the socket holds, so the writer waits for the parent to read.
        let big: Vec<u8> = (0..4_000_000u32).map(|i| (i % 251) as u8).collect();
        let expected = big.clone();
        responder.as_ref().expect("open").reply(5, move || big);
        let mut got = Vec::new();
        let mut frames = 0;
        let mut pong_after_frames = None;
        let mut pinged = None;
        loop {
            match parent.recv().await.expect("recv").expect("open") {
                Msg::Part(5, bytes) => {
                    assert!(bytes.len() <= PART_MAX);
                    got.extend_from_slice(&bytes);
                    frames += 1;
                    if frames == 10 {
                        // A ping in the middle of the reply: its pong comes after at most the
                        // frame being written (and those the socket already holds).
                        pinged = Some(std::time::Instant::now());
                        parent.send(&Msg::Ping(8)).expect("ping");
                        let req = next_request(&mut responder).await;
                        assert_eq!(req, Request::Ping(8));
                        responder.as_ref().expect("open").answer(8);
                    }
                }
                Msg::Pong(8) => {
                    pong_after_frames = Some(frames);
                    if let Some(t) = pinged {
                        eprintln!(
                            "heartbeat: pong {:?} after the ping, mid-reply",
                            t.elapsed()
                        );
                    }
                }
                Msg::Done(5) => break,
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(got, expected);
        let at = pong_after_frames.expect("pong seen");
        // The socket buffer holds a few frames; the pong is not behind the remaining ~240.
        assert!(at < 10 + 30, "pong after frame {at} of {frames}");
        eprintln!("heartbeat: pong after frame {at} of {frames}");
    }

    #[test]
    fn a_frame_too_large_is_refused_and_the_buffer_dropped() {
        let (a, _b) = std::os::unix::net::UnixStream::pair().expect("pair");
        a.set_nonblocking(true).expect("nonblocking");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let mut c = Conn::new(UnixStream::from_std(a).expect("tokio"));
            c.buf
                .extend_from_slice(format!("PART 1 {}\nxx\nPONG 3\n", PART_MAX + 1).as_bytes());
            assert_eq!(c.take_line(), None);
            assert!(c.buf.is_empty());
            c.buf.extend_from_slice(b"PART 2 3\nab");
            assert_eq!(c.take_line(), None, "incomplete");
            c.buf.extend_from_slice(b"\nPONG 4\n");
            assert_eq!(c.take_line(), Some(Msg::Part(2, b"ab\n".to_vec())));
            assert_eq!(c.take_line(), Some(Msg::Pong(4)));
        });
    }
}
