//! Real servers on loopback for the probe tests: hyper (HTTP and HTTPS with an rcgen
//! certificate) and raw TCP listeners that misbehave on purpose.

#![allow(dead_code)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use keepalived_checker::probe::http::HttpProbe;
use keepalived_checker::probe::tcp::ConnectOpts;
use keepalived_checker::probe::tls::TlsVerify;
use keepalived_config::model::lvs::checker::{Digest, HttpCheck, HttpProtocol, StatusRange, Url};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

/// What a server saw of each request.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    /// Host header of each request.
    pub hosts: Vec<String>,
    /// Version of each request.
    pub versions: Vec<http::Version>,
    /// Connection header of each request.
    pub connection: Vec<Option<String>>,
    /// Paths requested.
    pub paths: Vec<String>,
    /// SNI of each TLS connection (None: not sent).
    pub sni: Vec<Option<String>>,
}

pub type Log = Arc<Mutex<Seen>>;

/// Responds to a path with (status, body).
pub type Route = fn(&str) -> (u16, Vec<u8>);

fn respond(req: &Request<Incoming>, log: &Log, route: Route) -> Response<Full<Bytes>> {
    if let Ok(mut s) = log.lock() {
        let host = req
            .headers()
            .get("host")
            .map(|h| String::from_utf8_lossy(h.as_bytes()).into_owned());
        s.hosts.push(host.unwrap_or_default());
        s.versions.push(req.version());
        s.connection.push(
            req.headers()
                .get("connection")
                .map(|h| String::from_utf8_lossy(h.as_bytes()).into_owned()),
        );
        s.paths.push(req.uri().to_string());
    }
    let (status, body) = route(req.uri().path());
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    resp
}

async fn serve_conn<IO>(io: IO, log: Log, route: Route)
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let svc = service_fn(move |req: Request<Incoming>| {
        let resp = respond(&req, &log, route);
        async move { Ok::<_, Infallible>(resp) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(io), svc)
        .await;
}

/// A hyper HTTP server on 127.0.0.1.
pub async fn http_server(route: Route) -> (SocketAddr, Log) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let log = Log::default();
    let l2 = Arc::clone(&log);
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            tokio::spawn(serve_conn(s, Arc::clone(&l2), route));
        }
    });
    (addr, log)
}

/// A self-signed certificate for `names` and its key.
pub fn cert(names: &[&str]) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let ck = rcgen::generate_simple_self_signed(names).expect("rcgen");
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.key_pair.serialize_der()));
    (ck.cert.der().clone(), key)
}

/// A hyper HTTPS server on 127.0.0.1 with a fresh self-signed certificate for `names`;
/// `versions` restricts the TLS versions it accepts.
pub async fn https_server(
    route: Route,
    names: &[&str],
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> (SocketAddr, Log, CertificateDer<'static>) {
    let (cert, key) = cert(names);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key)
        .expect("server config");
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let log = Log::default();
    let l2 = Arc::clone(&log);
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let log = Arc::clone(&l2);
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(s).await else {
                    return;
                };
                if let Ok(mut seen) = log.lock() {
                    seen.sni
                        .push(tls.get_ref().1.server_name().map(str::to_owned));
                }
                serve_conn(tls, log, route).await;
            });
        }
    });
    (addr, log, cert)
}

/// What a raw server does after reading the request head.
#[derive(Debug, Clone)]
pub enum Raw {
    /// Never answers (keeps the connection open).
    Silent,
    /// Writes these bytes, then closes.
    Reply(Vec<u8>),
    /// Writes these bytes as soon as the connection is accepted, then closes.
    Immediate(Vec<u8>),
    /// Writes this head, then body bytes forever (until the peer goes away).
    Endless(Vec<u8>),
}

async fn read_head(s: &mut TcpStream) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// A raw TCP server on 127.0.0.1; the returned counter tells how many body bytes the endless
/// mode managed to write.
pub async fn raw_server(mode: Raw) -> (SocketAddr, Arc<Mutex<u64>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let written = Arc::new(Mutex::new(0u64));
    let w2 = Arc::clone(&written);
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let mode = mode.clone();
            let written = Arc::clone(&w2);
            tokio::spawn(async move {
                if let Raw::Immediate(bytes) = &mode {
                    let _ = s.write_all(bytes).await;
                    let _ = s.shutdown().await;
                    return;
                }
                read_head(&mut s).await;
                match mode {
                    Raw::Immediate(_) => {}
                    Raw::Silent => {
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                    }
                    Raw::Reply(bytes) => {
                        let _ = s.write_all(&bytes).await;
                        let _ = s.shutdown().await;
                    }
                    Raw::Endless(head) => {
                        if s.write_all(&head).await.is_err() {
                            return;
                        }
                        let block = vec![b'x'; 64 * 1024];
                        while s.write_all(&block).await.is_ok() {
                            if let Ok(mut w) = written.lock() {
                                *w += block.len() as u64;
                            }
                        }
                    }
                }
            });
        }
    });
    (addr, written)
}

/// A url block.
pub fn url(
    path: &str,
    digest: Option<[u8; 16]>,
    status: &[(u16, u16)],
    vhost: Option<&str>,
) -> Url {
    Url {
        digest: digest.map(Digest),
        status_codes: status
            .iter()
            .map(|&(from, to)| StatusRange { from, to })
            .collect(),
        virtualhost: vhost.map(str::to_owned),
        ..Url::new(path, Default::default())
    }
}

/// An HTTP_GET/SSL_GET check of `urls`.
pub fn check(urls: Vec<Url>, protocol: HttpProtocol) -> HttpCheck {
    HttpCheck {
        http_protocol: protocol,
        urls,
        ..Default::default()
    }
}

/// A probe of `check` at `addr` with a timeout.
pub fn probe(check: &HttpCheck, ssl: bool, addr: SocketAddr, timeout_ms: u64) -> HttpProbe {
    let opts = ConnectOpts::new(addr, Duration::from_millis(timeout_ms));
    HttpProbe::new(check, ssl, opts, &TlsVerify::None).expect("probe config")
}

/// MD5 of `data`.
pub fn md5(data: &[u8]) -> [u8; 16] {
    use md5::Digest as _;
    md5::Md5::digest(data).into()
}
