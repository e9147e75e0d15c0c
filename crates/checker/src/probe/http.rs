//! HTTP_GET and SSL_GET: one request per `url` over a fresh connection, judged by status code
//! and, when a `digest` is configured, by the MD5 of the body; also the client of `genhash`.
//!
//! The request is keepalived's: `GET <path> HTTP/1.0` (or 1.1 per `http_protocol`), `Host`
//! (the URL's `virtualhost`, else the checker's, else `address:port`), `User-Agent:
//! KeepAliveClient`, and `Connection: close` for `1.0C` and `1.1`.
//!
//! Hostile or broken servers are bounded: the whole attempt (connect, TLS handshake, request,
//! response) must end within `connect_timeout`; the response head may not exceed
//! [`MAX_HEADER_BYTES`] (a giant status line as in CVE-2018-19115 is a failure); the body is read
//! only when a digest or a `regex` is wanted, streamed through MD5, and at most
//! [`MAX_BODY_BYTES`] of it (kept in memory only for a `regex`); a
//! body shorter than its `Content-Length` is a failure. TLS is described in [`super::tls`].

use std::sync::Arc;
use std::time::Duration;

use http::header::HeaderValue;
use http::{HeaderMap, StatusCode, Uri, Version};
use keepalived_config::model::lvs::checker::{Digest, HttpCheck, HttpProtocol, StatusRange};
use md5::{Digest as _, Md5};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsConnector;

use super::Outcome;
use super::http_wire::{Conn, WireError};
use super::tcp::{self, ConnectError, ConnectOpts};
use super::tls::{self, TlsConfigError, TlsVerify};

/// The largest response head (status line and headers) accepted, in bytes.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;
/// The most body bytes read for a digest; a longer body fails the check.
pub const MAX_BODY_BYTES: u64 = 16 * 1024 * 1024;
/// The `User-Agent` sent, as keepalived's.
pub const USER_AGENT_VALUE: &str = "KeepAliveClient";
/// The status codes accepted when a URL lists none.
pub const DEFAULT_STATUS: StatusRange = StatusRange { from: 200, to: 299 };

/// Why an HTTP_GET/SSL_GET check could not be set up from its configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpConfigError {
    /// The check has no `url`.
    #[error("no url configured")]
    NoUrl,
    /// A `path` is not a valid request target.
    #[error("invalid url path {0:?}")]
    BadPath(String),
    /// A `virtualhost` cannot be sent as a Host header.
    #[error("invalid virtualhost {0:?}")]
    BadHost(String),
    /// The TLS configuration (SNI name, rustls).
    #[error(transparent)]
    Tls(#[from] TlsConfigError),
    /// A `regex` the regex crate cannot compile.
    #[error("invalid regex {0}")]
    BadRegex(String),
}

/// Why one HTTP attempt failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// The TCP connection failed.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// The TLS handshake failed.
    #[error("TLS handshake")]
    Tls(#[source] std::io::Error),
    /// The request could not be sent or the response head was malformed, too large or cut.
    #[error("HTTP exchange")]
    Http(#[source] WireError),
    /// The body could not be read to its end (truncated, malformed chunking, reset).
    #[error("reading body")]
    Body(#[source] WireError),
    /// The body is longer than [`MAX_BODY_BYTES`].
    #[error("body longer than {limit} bytes")]
    BodyTooLarge {
        /// The limit.
        limit: u64,
    },
    /// The whole attempt took longer than `connect_timeout`.
    #[error("no complete answer within {0:?}")]
    Timeout(Duration),
    /// The status code is not in the URL's `status_code` ranges.
    #[error("HTTP status {got}, expected {expected}")]
    Status {
        /// The status received.
        got: u16,
        /// The accepted ranges, as configured.
        expected: String,
    },
    /// The body's MD5 is not the URL's `digest`.
    #[error("MD5 digest {got}, expected {expected}")]
    Digest {
        /// The digest of the body, hex.
        got: String,
        /// The configured digest, hex.
        expected: String,
    },
    /// There is no URL with this index.
    #[error("no url #{0}")]
    NoSuchUrl(usize),
    /// The body does not match the url's `regex` (or matches it, with `regex_no_match`).
    #[error("body {} regex `{pattern}`", if *no_match { "matches" } else { "does not match" })]
    Regex {
        /// The pattern.
        pattern: String,
        /// `regex_no_match` was set.
        no_match: bool,
    },
}

/// One `url`, ready to be requested.
#[derive(Debug, Clone)]
struct UrlProbe {
    /// The request head, as sent (UTF-8: built as text, see [`request_head`]).
    request: Box<[u8]>,
    status: Vec<StatusRange>,
    digest: Option<Digest>,
    regex: Option<BodyRegex>,
    server_name: ServerName<'static>,
}

/// A url's `regex` with `regex_no_match`, `regex_min_offset`, `regex_max_offset` and the
/// `regex_options` the regex crate has: caseless, multiline, dotall, extended, ungreedy (utf/ucp
/// are always on; PCRE2-only options are ignored).
#[derive(Debug, Clone)]
struct BodyRegex {
    re: regex::bytes::Regex,
    no_match: bool,
    min_offset: usize,
    max_offset: Option<usize>,
}

impl BodyRegex {
    fn new(url: &keepalived_config::model::lvs::Url) -> Result<Option<Self>, HttpConfigError> {
        use keepalived_config::model::lvs::RegexOption as O;
        let Some(pattern) = &url.regex else {
            return Ok(None);
        };
        let mut b = regex::bytes::RegexBuilder::new(pattern);
        for o in &url.regex_options {
            match o {
                O::Caseless => b.case_insensitive(true),
                O::Multiline => b.multi_line(true),
                O::Dotall => b.dot_matches_new_line(true),
                O::Extended => b.ignore_whitespace(true),
                O::Ungreedy => b.swap_greed(true),
                _ => &mut b,
            };
        }
        let re = b
            .build()
            .map_err(|e| HttpConfigError::BadRegex(format!("{pattern}: {e}")))?;
        Ok(Some(BodyRegex {
            re,
            no_match: url.regex_no_match,
            min_offset: url.regex_min_offset.map_or(0, |o| o as usize),
            max_offset: url.regex_max_offset.map(|o| o as usize),
        }))
    }

    /// Whether `body` passes: the pattern found (or, with `regex_no_match`, not found) in the
    /// bytes from `regex_min_offset` to `regex_max_offset`.
    fn judge(&self, body: &[u8]) -> Result<(), HttpError> {
        let end = self.max_offset.map_or(body.len(), |m| m.min(body.len()));
        let window = body.get(self.min_offset.min(end)..end).unwrap_or_default();
        let found = self.re.is_match(window);
        if found == self.no_match {
            return Err(HttpError::Regex {
                pattern: self.re.as_str().to_owned(),
                no_match: self.no_match,
            });
        }
        Ok(())
    }
}

/// What was received for one URL (see [`HttpProbe::fetch`]).
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The response's HTTP version.
    pub version: Version,
    /// The status code.
    pub status: StatusCode,
    /// The response headers.
    pub headers: HeaderMap,
    /// The body's length in bytes, when it was read.
    pub body_len: Option<u64>,
    /// The body's MD5, when it was read.
    pub md5: Option<[u8; 16]>,
}

/// Called with each piece of the body as it arrives (genhash's verbose dump).
pub type BodySink<'a> = &'a mut (dyn FnMut(&[u8]) + Send);

enum Mode<'a> {
    /// A check: status first, then the body only if a digest is configured.
    Judge,
    /// genhash: no judgement, always the body.
    Fetch(Option<BodySink<'a>>),
}

/// An HTTP_GET or SSL_GET check, built once from its configuration and run any number of
/// times; each attempt opens its own connection(s).
#[derive(Debug, Clone)]
pub struct HttpProbe {
    connect: ConnectOpts,
    tls: Option<Arc<rustls::ClientConfig>>,
    urls: Vec<UrlProbe>,
}

fn host_header(name: &str) -> Result<HeaderValue, HttpConfigError> {
    HeaderValue::from_str(name).map_err(|_| HttpConfigError::BadHost(name.to_owned()))
}

impl HttpProbe {
    /// Prepares `check` (TLS when `ssl`, i.e. SSL_GET) against `connect.dst`. The TLS client
    /// configuration is built here, once.
    pub fn new(
        check: &HttpCheck,
        ssl: bool,
        connect: ConnectOpts,
        verify: &TlsVerify,
    ) -> Result<Self, HttpConfigError> {
        if check.urls.is_empty() {
            return Err(HttpConfigError::NoUrl);
        }
        let dst = connect.dst;
        let default_host = match dst {
            std::net::SocketAddr::V4(a) => format!("{}:{}", a.ip(), a.port()),
            std::net::SocketAddr::V6(a) => format!("[{}]:{}", a.ip(), a.port()),
        };
        let (http11, close) = match check.http_protocol {
            HttpProtocol::Http10 => (false, false),
            HttpProtocol::Http10C => (false, true),
            HttpProtocol::Http11 => (true, true),
        };
        let mut urls = Vec::with_capacity(check.urls.len());
        for url in &check.urls {
            let uri: Uri = url
                .path
                .parse()
                .map_err(|_| HttpConfigError::BadPath(url.path.clone()))?;
            let vhost = url.virtualhost.as_deref().or(check.virtualhost.as_deref());
            let host = host_header(vhost.unwrap_or(&default_host))?;
            let sni = if check.enable_sni {
                check.sni_name.as_deref().or(vhost)
            } else {
                None
            };
            let server_name = tls::server_name(sni, dst.ip())?;
            let status = if url.status_codes.is_empty() {
                vec![DEFAULT_STATUS]
            } else {
                url.status_codes.clone()
            };
            urls.push(UrlProbe {
                request: request_head(&uri, &host, http11, close)
                    .into_bytes()
                    .into_boxed_slice(),
                status,
                digest: url.digest,
                regex: BodyRegex::new(url)?,
                server_name,
            });
        }
        let tls = if ssl {
            Some(tls::client_config(verify, check.enable_sni)?)
        } else {
            None
        };
        Ok(HttpProbe { connect, tls, urls })
    }

    /// The number of URLs.
    pub fn url_count(&self) -> usize {
        self.urls.len()
    }

    /// The connection options.
    pub fn connect_opts(&self) -> &ConnectOpts {
        &self.connect
    }

    /// One attempt of the check: each URL in turn, each over a new connection and within its
    /// own `connect_timeout`; the first failing URL fails the attempt.
    pub async fn probe(&self) -> Outcome {
        for i in 0..self.urls.len() {
            let outcome = self.probe_url(i).await;
            if !outcome.is_success() {
                return outcome;
            }
        }
        Outcome::Success
    }

    /// One attempt at URL `index`: the status must be in its ranges and, when it has a digest,
    /// the body's MD5 must match.
    pub async fn probe_url(&self, index: usize) -> Outcome {
        let Some(url) = self.urls.get(index) else {
            return Err::<(), _>(HttpError::NoSuchUrl(index)).into();
        };
        let res = self
            .run(url, Mode::Judge)
            .await
            .and_then(|f| match (url.digest, f.md5) {
                (Some(want), Some(got)) if want.0 != got => Err(HttpError::Digest {
                    got: hex(&got),
                    expected: hex(&want.0),
                }),
                _ => Ok(()),
            });
        res.into()
    }

    /// Requests URL `index` and reads the whole body (up to [`MAX_BODY_BYTES`]) whatever the
    /// status, passing each piece to `sink`: genhash's fetch. Bounded by `connect_timeout`.
    pub async fn fetch(
        &self,
        index: usize,
        sink: Option<BodySink<'_>>,
    ) -> Result<Fetched, HttpError> {
        let url = self.urls.get(index).ok_or(HttpError::NoSuchUrl(index))?;
        self.run(url, Mode::Fetch(sink)).await
    }

    /// The request head sent for URL `index`, as text (genhash's verbose output).
    pub fn request_text(&self, index: usize) -> Option<String> {
        let url = self.urls.get(index)?;
        Some(String::from_utf8_lossy(&url.request).into_owned())
    }

    async fn run(&self, url: &UrlProbe, mode: Mode<'_>) -> Result<Fetched, HttpError> {
        let limit = self.connect.connect_timeout;
        match tokio::time::timeout(limit, self.attempt(url, mode)).await {
            Ok(r) => r,
            Err(_) => Err(HttpError::Timeout(limit)),
        }
    }

    async fn attempt(&self, url: &UrlProbe, mode: Mode<'_>) -> Result<Fetched, HttpError> {
        match &self.tls {
            None => {
                // The request goes out with the connect when it can (no wake-up of its own).
                let (tcp, sent) = tcp::connect_sending(&self.connect, &url.request).await?;
                let mut conn = Conn::new(tcp);
                let fetched = exchange(&mut conn, url, sent, mode).await;
                tcp::end(conn.io());
                fetched
            }
            Some(config) => {
                let tcp = tcp::connect(&self.connect).await?;
                // A connector is only a handle on the shared configuration.
                let connector = TlsConnector::from(Arc::clone(config));
                let stream = connector
                    .connect(url.server_name.clone(), tcp)
                    .await
                    .map_err(HttpError::Tls)?;
                exchange(&mut Conn::new(stream), url, 0, mode).await
            }
        }
    }
}

/// Sends the request over `conn` (its first `sent` bytes are already sent) and reads what `mode`
/// needs: the head (at most [`MAX_HEADER_BYTES`]), then the body only when a digest, a regex
/// or genhash wants it, streamed through MD5 and at most [`MAX_BODY_BYTES`] (kept in memory
/// only for a regex).
async fn exchange<S>(
    conn: &mut Conn<S>,
    url: &UrlProbe,
    sent: usize,
    mode: Mode<'_>,
) -> Result<Fetched, HttpError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let rest = url.request.get(sent..).unwrap_or_default();
    conn.send(rest).await.map_err(HttpError::Http)?;
    let fetch = matches!(mode, Mode::Fetch(_));
    let head = conn
        .head(MAX_HEADER_BYTES, fetch)
        .await
        .map_err(HttpError::Http)?;
    let (read, mut sink) = match mode {
        Mode::Judge => {
            let code = head.status.as_u16();
            if !url.status.iter().any(|r| r.contains(code)) {
                return Err(HttpError::Status {
                    got: code,
                    expected: ranges_text(&url.status),
                });
            }
            (url.digest.is_some() || url.regex.is_some(), None)
        }
        Mode::Fetch(sink) => (true, sink),
    };
    let mut fetched = Fetched {
        version: head.version,
        status: head.status,
        headers: head.headers,
        body_len: None,
        md5: None,
    };
    if read {
        let mut kept = url.regex.is_some().then(Vec::new);
        let mut md5 = Md5::new();
        let mut each = |data: &[u8]| {
            md5.update(data);
            if let Some(sink) = sink.as_mut() {
                sink(data);
            }
            if let Some(kept) = kept.as_mut() {
                kept.extend_from_slice(data);
            }
        };
        let len = conn
            .body(head.framing, MAX_BODY_BYTES, &mut each)
            .await
            .map_err(|e| match e {
                WireError::BodyTooLarge => HttpError::BodyTooLarge {
                    limit: MAX_BODY_BYTES,
                },
                e => HttpError::Body(e),
            })?;
        fetched.body_len = Some(len);
        fetched.md5 = Some(md5.finalize().into());
        if let (Some(re), Some(kept)) = (&url.regex, kept) {
            re.judge(&kept)?;
        }
    }
    Ok(fetched)
}

/// keepalived's request head: `GET <path> HTTP/1.0` (or 1.1), `Host`, `User-Agent`, and
/// `Connection: close` when `close`.
fn request_head(uri: &Uri, host: &HeaderValue, http11: bool, close: bool) -> String {
    let version = if http11 { "HTTP/1.1" } else { "HTTP/1.0" };
    let mut s = format!("GET {uri} {version}\r\n");
    s.push_str(&format!(
        "Host: {}\r\n",
        String::from_utf8_lossy(host.as_bytes())
    ));
    s.push_str(&format!("User-Agent: {USER_AGENT_VALUE}\r\n"));
    if close {
        s.push_str("Connection: close\r\n");
    }
    s.push_str("\r\n");
    s
}

fn ranges_text(ranges: &[StatusRange]) -> String {
    let parts: Vec<String> = ranges
        .iter()
        .map(|r| {
            if r.from == r.to {
                r.from.to_string()
            } else {
                format!("{}-{}", r.from, r.to)
            }
        })
        .collect();
    parts.join(",")
}

/// Lower-case hex of `bytes` (the form of `digest` and of genhash's `MD5SUM`).
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}
