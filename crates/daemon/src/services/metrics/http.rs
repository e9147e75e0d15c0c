//! The parent's HTTP endpoint: `GET /metrics`, one request per connection.
//!
//! Hand-written over `httparse` rather than hyper's server: the endpoint has one path and one
//! method, answers with `Connection: close`, and what it must guarantee is the bounds, which
//! are simplest to see here: at most [`MAX_CONNECTIONS`] connections at once (more are closed
//! at once), a request head of at most [`MAX_HEAD`] bytes read within [`HEAD_TIMEOUT`] (a
//! slow or silent client is dropped), the answer written within [`WRITE_TIMEOUT`]. Each
//! connection is a task of its own: nothing a client does reaches the parent's loop.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tracing::debug;

use super::render::{OPENMETRICS_TEXT, PROMETHEUS_TEXT, Page};

/// Connections served at once.
pub const MAX_CONNECTIONS: usize = 16;
/// The largest request head read.
pub const MAX_HEAD: usize = 8 * 1024;
/// The time a client has to send its request head.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(5);
/// The time a client has to take the answer.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// What a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asked {
    /// The metrics, in OpenMetrics (`Accept: application/openmetrics-text`) or not; `head`
    /// for a HEAD request (no body).
    Metrics {
        /// OpenMetrics asked for.
        openmetrics: bool,
        /// A HEAD request.
        head: bool,
    },
    /// Another path (404).
    NotFound,
    /// Another method (405).
    BadMethod,
    /// Not HTTP/1 (400).
    Bad,
    /// A head over [`MAX_HEAD`] (431).
    TooLarge,
}

/// Reads what the request head `buf` asks; `None` while it is incomplete.
pub fn parse(buf: &[u8]) -> Option<Asked> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(buf) {
        Ok(httparse::Status::Partial) => {
            return (buf.len() >= MAX_HEAD).then_some(Asked::TooLarge);
        }
        Err(httparse::Error::TooManyHeaders) => return Some(Asked::TooLarge),
        Err(_) => return Some(Asked::Bad),
        Ok(httparse::Status::Complete(_)) => {}
    }
    let head = match req.method {
        Some("GET") => false,
        Some("HEAD") => true,
        _ => return Some(Asked::BadMethod),
    };
    let path = req.path.unwrap_or("");
    let path = path.split_once('?').map_or(path, |(p, _)| p);
    if path != "/metrics" {
        return Some(Asked::NotFound);
    }
    let openmetrics = req.headers.iter().any(|h| {
        h.name.eq_ignore_ascii_case("accept")
            && std::str::from_utf8(h.value)
                .is_ok_and(|v| v.contains("application/openmetrics-text"))
    });
    Some(Asked::Metrics { openmetrics, head })
}

/// Serves `listener` until the task is aborted; `scrape(openmetrics)` renders one answer.
pub async fn serve<F, Fut>(listener: TcpListener, scrape: F)
where
    F: Fn(bool) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Page> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of descriptors, say: do not spin.
                debug!("metrics: accept: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            debug!("metrics: {MAX_CONNECTIONS} connections already; one refused");
            continue;
        };
        let scrape = scrape.clone();
        tokio::spawn(async move {
            if let Err(e) = answer(stream, scrape).await {
                debug!("metrics: {e}");
            }
            drop(permit);
        });
    }
}

async fn answer<F, Fut>(mut stream: TcpStream, scrape: F) -> std::io::Result<()>
where
    F: Fn(bool) -> Fut,
    Fut: Future<Output = Page>,
{
    let mut buf = Vec::with_capacity(1024);
    let read = async {
        let mut chunk = [0u8; 1024];
        loop {
            if let Some(asked) = parse(&buf) {
                return Ok::<_, std::io::Error>(asked);
            }
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            buf.extend_from_slice(&chunk[..n]);
        }
    };
    let asked = tokio::time::timeout(HEAD_TIMEOUT, read)
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
    let (status, ctype, body, head) = match asked {
        Asked::Metrics { openmetrics, head } => {
            let ctype = if openmetrics {
                OPENMETRICS_TEXT
            } else {
                PROMETHEUS_TEXT
            };
            ("200 OK", ctype, scrape(openmetrics).await, head)
        }
        Asked::NotFound => (
            "404 Not Found",
            "text/plain",
            "Not found: try /metrics\n".into(),
            false,
        ),
        Asked::BadMethod => (
            "405 Method Not Allowed",
            "text/plain",
            "GET only\n".into(),
            false,
        ),
        Asked::Bad => (
            "400 Bad Request",
            "text/plain",
            "Bad request\n".into(),
            false,
        ),
        Asked::TooLarge => (
            "431 Request Header Fields Too Large",
            "text/plain",
            "Request head too large\n".into(),
            false,
        ),
    };
    let top = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.byte_len()
    );
    let write = async {
        stream.write_all(top.as_bytes()).await?;
        if !head {
            for part in body.parts() {
                stream.write_all(part).await?;
            }
        }
        stream.shutdown().await
    };
    tokio::time::timeout(WRITE_TIMEOUT, write)
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_told_apart() {
        let m = |openmetrics, head| Some(Asked::Metrics { openmetrics, head });
        assert_eq!(
            parse(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
            m(false, false)
        );
        assert_eq!(parse(b"GET /metrics?x=1 HTTP/1.0\r\n\r\n"), m(false, false));
        assert_eq!(
            parse(b"GET /metrics HTTP/1.1\r\naccept: application/openmetrics-text;version=1.0.0,text/plain;q=0.5\r\n\r\n"),
            m(true, false)
        );
        assert_eq!(parse(b"HEAD /metrics HTTP/1.1\r\n\r\n"), m(false, true));
        assert_eq!(parse(b"GET / HTTP/1.1\r\n\r\n"), Some(Asked::NotFound));
        assert_eq!(
            parse(b"POST /metrics HTTP/1.1\r\n\r\n"),
            Some(Asked::BadMethod)
        );
        assert_eq!(parse(b"\x16\x03\x01garbage\r\n\r\n"), Some(Asked::Bad));
        assert_eq!(
            parse(b"GET /metrics HTTP/1.1\r\nHost: x\r\n"),
            None,
            "incomplete"
        );
        let mut huge = b"GET /metrics HTTP/1.1\r\nX: ".to_vec();
        huge.resize(MAX_HEAD, b'a');
        assert_eq!(parse(&huge), Some(Asked::TooLarge));
        let many: String = (0..80).map(|i| format!("X{i}: y\r\n")).collect();
        assert_eq!(
            parse(format!("GET /metrics HTTP/1.1\r\n{many}\r\n").as_bytes()),
            Some(Asked::TooLarge)
        );
    }
}
