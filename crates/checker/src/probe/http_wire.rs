//! The HTTP/1 exchange of HTTP_GET/SSL_GET on one connection: writes the prepared request and
//! reads the response head (parsed by httparse) and body (Content-Length, chunked or up to the
//! close) straight off the stream, bounded by the limits of [`super::http`].
//!
//! No per-connection state machine, channel or body stream: an attempt is one write, a few
//! reads and a parse (hyper's HTTP/1 client connection cost 2-6 µs more CPU per check).

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Version};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The most headers a response may have (hyper's default).
const MAX_HEADERS: usize = 100;
/// The longest chunk-size line accepted.
const MAX_CHUNK_LINE: usize = 4096;
/// How much room each read gets, at least.
const READ_CHUNK: usize = 8192;

/// What went wrong on the wire (the cause of an HTTP or body failure).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// Reading or writing the connection failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The peer closed the connection before the message was complete.
    #[error("connection closed before message completed")]
    Eof,
    /// The response head is longer than the limit.
    #[error("message head is too large")]
    HeadTooLarge,
    /// The response head is not valid HTTP/1.x.
    #[error("invalid HTTP response: {0}")]
    Parse(httparse::Error),
    /// A header cannot be represented (invalid name or value).
    #[error("invalid response header")]
    BadHeader,
    /// The status code is out of range.
    #[error("invalid status code")]
    BadStatus,
    /// The `Content-Length` is not a number, or several disagree.
    #[error("invalid Content-Length")]
    BadLength,
    /// The chunked encoding is malformed.
    #[error("invalid chunked body")]
    BadChunk,
    /// The body is longer than the limit given.
    #[error("body too large")]
    BodyTooLarge,
}

/// How the body of a response ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Framing {
    /// No body (1xx, 204, 304).
    Empty,
    /// Exactly this many bytes.
    Length(u64),
    /// Chunked transfer coding.
    Chunked,
    /// Up to the close of the connection.
    Eof,
}

/// A parsed response head.
#[derive(Debug)]
pub(super) struct Head {
    pub version: Version,
    pub status: StatusCode,
    /// The headers, when asked for.
    pub headers: HeaderMap,
    pub framing: Framing,
}

/// One connection and what was read from it but not consumed yet (`buf[start..]`).
pub(super) struct Conn<S> {
    io: S,
    buf: Vec<u8>,
    start: usize,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Conn<S> {
    /// The connection itself.
    pub(super) fn io(&self) -> &S {
        &self.io
    }

    pub(super) fn new(io: S) -> Self {
        Conn {
            io,
            buf: Vec::new(),
            start: 0,
        }
    }

    /// Writes the whole request.
    pub(super) async fn send(&mut self, request: &[u8]) -> Result<(), WireError> {
        self.io.write_all(request).await?;
        self.io.flush().await?;
        Ok(())
    }

    /// Reads more bytes after the unconsumed ones; 0 at the end of the stream.
    async fn fill(&mut self) -> Result<usize, WireError> {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        if self.buf.capacity() - self.buf.len() < READ_CHUNK / 2 {
            self.buf.reserve(READ_CHUNK);
        }
        Ok(self.io.read_buf(&mut self.buf).await?)
    }

    /// Reads the response head, at most `max` bytes, skipping interim (1xx) responses; the
    /// headers are copied into the result only with `want_headers`.
    pub(super) async fn head(&mut self, max: usize, want_headers: bool) -> Result<Head, WireError> {
        loop {
            match parse_head(&self.buf[self.start..], want_headers)? {
                Some((used, head)) => {
                    if used > max {
                        return Err(WireError::HeadTooLarge);
                    }
                    self.start += used;
                    let code = head.status.as_u16();
                    if (100..200).contains(&code) && code != 101 {
                        continue;
                    }
                    return Ok(head);
                }
                None if self.buf.len() - self.start >= max => return Err(WireError::HeadTooLarge),
                None => {
                    if self.fill().await? == 0 {
                        return Err(WireError::Eof);
                    }
                }
            }
        }
    }

    /// Reads the body as `framing` says, passing each piece to `each`; more than `limit` bytes
    /// in all is [`WireError::BodyTooLarge`]. Returns the body's length.
    pub(super) async fn body(
        &mut self,
        framing: Framing,
        limit: u64,
        each: &mut (dyn FnMut(&[u8]) + Send),
    ) -> Result<u64, WireError> {
        let mut len = 0u64;
        match framing {
            Framing::Empty => {}
            Framing::Length(n) => self.exact(n, limit, &mut len, each).await?,
            Framing::Eof => loop {
                let avail = &self.buf[self.start..];
                if !avail.is_empty() {
                    deliver(avail, limit, &mut len, each)?;
                    self.start = self.buf.len();
                }
                if self.fill().await? == 0 {
                    break;
                }
            },
            Framing::Chunked => loop {
                let size = {
                    let (a, b) = self.line(MAX_CHUNK_LINE).await?;
                    chunk_size(&self.buf[a..b])?
                };
                if size == 0 {
                    // Trailers, up to the empty line.
                    let mut seen = 0usize;
                    loop {
                        let (a, b) = self.line(crate::probe::http::MAX_HEADER_BYTES).await?;
                        seen += b - a + 2;
                        if a == b {
                            break;
                        }
                        if seen > crate::probe::http::MAX_HEADER_BYTES {
                            return Err(WireError::HeadTooLarge);
                        }
                    }
                    break;
                }
                self.exact(size, limit, &mut len, each).await?;
                let (a, b) = self.line(2).await?;
                if a != b {
                    return Err(WireError::BadChunk);
                }
            },
        }
        Ok(len)
    }

    /// Passes exactly `n` more bytes to `each`.
    async fn exact(
        &mut self,
        mut n: u64,
        limit: u64,
        len: &mut u64,
        each: &mut (dyn FnMut(&[u8]) + Send),
    ) -> Result<(), WireError> {
        while n > 0 {
            if self.start == self.buf.len() && self.fill().await? == 0 {
                return Err(WireError::Eof);
            }
            let avail = &self.buf[self.start..];
            let take = usize::try_from(n).unwrap_or(usize::MAX).min(avail.len());
            deliver(&avail[..take], limit, len, each)?;
            self.start += take;
            n -= take as u64;
        }
        Ok(())
    }

    /// Consumes one line (ended by LF, an optional CR before it removed) of at most `max`
    /// bytes and returns its range in `buf`.
    async fn line(&mut self, max: usize) -> Result<(usize, usize), WireError> {
        let mut searched = 0;
        loop {
            let avail = &self.buf[self.start..];
            if let Some(i) = avail[searched..].iter().position(|&b| b == b'\n') {
                let a = self.start;
                let mut b = a + searched + i;
                self.start = b + 1;
                if b > a && self.buf[b - 1] == b'\r' {
                    b -= 1;
                }
                if b - a > max {
                    return Err(WireError::BadChunk);
                }
                return Ok((a, b));
            }
            searched = avail.len();
            if searched > max + 1 {
                return Err(WireError::BadChunk);
            }
            if self.fill().await? == 0 {
                return Err(WireError::Eof);
            }
        }
    }
}

fn deliver(
    data: &[u8],
    limit: u64,
    len: &mut u64,
    each: &mut (dyn FnMut(&[u8]) + Send),
) -> Result<(), WireError> {
    *len = len.saturating_add(data.len() as u64);
    if *len > limit {
        return Err(WireError::BodyTooLarge);
    }
    each(data);
    Ok(())
}

/// The size of a chunk-size line (`HEX [ws] [; ext]`).
fn chunk_size(line: &[u8]) -> Result<u64, WireError> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 || digits > 15 {
        return Err(WireError::BadChunk);
    }
    let rest = line[digits..].trim_ascii_start();
    if !rest.is_empty() && rest[0] != b';' {
        return Err(WireError::BadChunk);
    }
    let text = std::str::from_utf8(&line[..digits]).map_err(|_| WireError::BadChunk)?;
    u64::from_str_radix(text, 16).map_err(|_| WireError::BadChunk)
}

/// Parses a complete head at the start of `data`: its length and content, or `None` when more
/// bytes are needed.
fn parse_head(data: &[u8], want_headers: bool) -> Result<Option<(usize, Head)>, WireError> {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut slots);
    let used = match resp.parse(data).map_err(WireError::Parse)? {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial => return Ok(None),
    };
    let version = match resp.version {
        Some(0) => Version::HTTP_10,
        _ => Version::HTTP_11,
    };
    let code = resp.code.ok_or(WireError::BadStatus)?;
    let status = StatusCode::from_u16(code).map_err(|_| WireError::BadStatus)?;
    let mut length: Option<u64> = None;
    let mut chunked = None;
    let mut headers = HeaderMap::new();
    for h in resp.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            for part in h.value.split(|&b| b == b',') {
                let part = part.trim_ascii();
                if part.is_empty() || part.len() > 19 || !part.iter().all(u8::is_ascii_digit) {
                    return Err(WireError::BadLength);
                }
                let n = std::str::from_utf8(part)
                    .ok()
                    .and_then(|s| s.parse::<u64>().ok())
                    .ok_or(WireError::BadLength)?;
                if length.is_some_and(|l| l != n) {
                    return Err(WireError::BadLength);
                }
                length = Some(n);
            }
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            // Chunked only when it is the last coding applied.
            let last = h.value.rsplit(|&b| b == b',').next().unwrap_or_default();
            chunked = Some(last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        }
        if want_headers {
            let name =
                HeaderName::from_bytes(h.name.as_bytes()).map_err(|_| WireError::BadHeader)?;
            let value = HeaderValue::from_bytes(h.value).map_err(|_| WireError::BadHeader)?;
            headers.append(name, value);
        }
    }
    let framing = if code < 200 || code == 204 || code == 304 {
        Framing::Empty
    } else {
        match (chunked, length) {
            (Some(true), _) => Framing::Chunked,
            (Some(false), _) => Framing::Eof,
            (None, Some(n)) => Framing::Length(n),
            (None, None) => Framing::Eof,
        }
    };
    Ok(Some((
        used,
        Head {
            version,
            status,
            headers,
            framing,
        },
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn fetch(reply: &[u8]) -> Result<(Head, Vec<u8>), WireError> {
        let (mut a, b) = tokio::io::duplex(64 * 1024);
        a.write_all(reply).await.map_err(WireError::Io)?;
        drop(a);
        let mut c = Conn::new(b);
        let head = c.head(64 * 1024, true).await?;
        let mut body = Vec::new();
        c.body(head.framing, 1 << 20, &mut |d| body.extend_from_slice(d))
            .await?;
        Ok((head, body))
    }

    #[tokio::test]
    async fn framings() {
        let (h, b) = fetch(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef")
            .await
            .expect("length");
        assert_eq!((h.status.as_u16(), &b[..]), (200, &b"abc"[..]));
        let (_, b) = fetch(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3;x=y\r\nabc\r\n1\r\nd\r\n0\r\nT: 1\r\n\r\n",
        )
        .await
        .expect("chunked");
        assert_eq!(&b[..], b"abcd");
        let (h, b) = fetch(b"HTTP/1.0 404 No\r\n\r\nto the end")
            .await
            .expect("eof");
        assert_eq!((h.version, &b[..]), (Version::HTTP_10, &b"to the end"[..]));
        let (_, b) = fetch(b"HTTP/1.1 204 No\r\nContent-Length: 5\r\n\r\n")
            .await
            .expect("204");
        assert!(b.is_empty());
    }

    #[tokio::test]
    async fn hostile_replies_fail() {
        for reply in [
            &b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"[..],
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab",
            b"HTTP/2 200 OK\r\n\r\n",
            b"HTTP/1.1 099 OK\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nX\x01: y\r\n\r\n",
        ] {
            assert!(
                fetch(reply).await.is_err(),
                "{:?}",
                String::from_utf8_lossy(reply)
            );
        }
    }

    #[tokio::test]
    async fn body_limit_holds() {
        let (mut a, b) = tokio::io::duplex(64 * 1024);
        a.write_all(b"HTTP/1.1 200 OK\r\n\r\n0123456789")
            .await
            .expect("write");
        drop(a);
        let mut c = Conn::new(b);
        let head = c.head(1024, false).await.expect("head");
        let r = c.body(head.framing, 5, &mut |_| {}).await;
        assert!(matches!(r, Err(WireError::BodyTooLarge)), "{r:?}");
    }
}
