//! HTTP_GET and SSL_GET probes against real servers on loopback, including hostile ones.

#[path = "net_common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{Raw, check, http_server, https_server, md5, probe, raw_server, url};
use keepalived_checker::probe::Outcome;
use keepalived_checker::probe::http::HttpProbe;
use keepalived_checker::probe::tcp::ConnectOpts;
use keepalived_checker::probe::tls::TlsVerify;
use keepalived_config::model::lvs::checker::{HttpCheck, HttpProtocol};

const PAGE: &[u8] = b"<html>keepalived-rs test page</html>\n";

fn route(path: &str) -> (u16, Vec<u8>) {
    match path {
        "/" | "/index.html" => (200, PAGE.to_vec()),
        "/moved" => (301, b"moved".to_vec()),
        "/big" => (200, vec![b'y'; 3 * 1024 * 1024 + 17]),
        _ => (404, b"not found".to_vec()),
    }
}

fn failure(o: &Outcome) -> &str {
    match o {
        Outcome::Failure(reason) => reason,
        Outcome::Success => panic!("expected a failure, got success"),
    }
}

#[tokio::test]
async fn http_get_passes_with_status_and_digest() {
    let (addr, log) = http_server(route).await;
    let c = check(
        vec![
            url("/", Some(md5(PAGE)), &[], None),
            url(
                "/big",
                Some(md5(&vec![b'y'; 3 * 1024 * 1024 + 17])),
                &[],
                None,
            ),
        ],
        HttpProtocol::Http10,
    );
    let p = probe(&c, false, addr, 2000);
    assert_eq!(p.probe().await, Outcome::Success);
    // Without digest the status alone decides; a configured range accepts a redirect.
    let c = check(
        vec![url("/moved", None, &[(300, 302)], None)],
        HttpProtocol::Http10,
    );
    assert_eq!(probe(&c, false, addr, 2000).probe().await, Outcome::Success);
    let seen = log.lock().expect("log").clone();
    assert_eq!(seen.paths, ["/", "/big", "/moved"]);
    // Default Host: address:port; HTTP/1.0 without Connection header.
    assert_eq!(seen.hosts[0], addr.to_string());
    assert_eq!(seen.versions[0], http::Version::HTTP_10);
    assert_eq!(seen.connection[0], None);
}

#[tokio::test]
async fn http_protocol_and_virtualhost_reach_the_server() {
    let (addr, log) = http_server(route).await;
    let mut c = check(
        vec![
            url("/", None, &[], Some("url.example.test")),
            url("/index.html", None, &[], None),
        ],
        HttpProtocol::Http11,
    );
    c.virtualhost = Some("check.example.test".into());
    assert_eq!(probe(&c, false, addr, 2000).probe().await, Outcome::Success);
    let c10c = check(
        vec![url("/", Some(md5(PAGE)), &[], None)],
        HttpProtocol::Http10C,
    );
    assert_eq!(
        probe(&c10c, false, addr, 2000).probe().await,
        Outcome::Success
    );
    let seen = log.lock().expect("log").clone();
    assert_eq!(seen.hosts[..2], ["url.example.test", "check.example.test"]);
    assert_eq!(
        seen.versions,
        [
            http::Version::HTTP_11,
            http::Version::HTTP_11,
            http::Version::HTTP_10
        ]
    );
    assert_eq!(
        seen.connection,
        [
            Some("close".to_string()),
            Some("close".to_string()),
            Some("close".to_string())
        ]
    );
}

#[tokio::test]
async fn wrong_status_fails() {
    let (addr, _) = http_server(route).await;
    let c = check(
        vec![url("/", None, &[], None), url("/missing", None, &[], None)],
        HttpProtocol::Http10,
    );
    let o = probe(&c, false, addr, 2000).probe().await;
    assert!(
        failure(&o).contains("HTTP status 404, expected 200-299"),
        "{o:?}"
    );
    let c = check(
        vec![url("/", None, &[(201, 204), (300, 300)], None)],
        HttpProtocol::Http10,
    );
    let o = probe(&c, false, addr, 2000).probe().await;
    assert!(
        failure(&o).contains("HTTP status 200, expected 201-204,300"),
        "{o:?}"
    );
}

#[tokio::test]
async fn wrong_digest_fails() {
    let (addr, _) = http_server(route).await;
    let c = check(
        vec![url("/", Some(md5(b"another page")), &[], None)],
        HttpProtocol::Http10,
    );
    let o = probe(&c, false, addr, 2000).probe().await;
    let reason = failure(&o);
    assert!(reason.starts_with("MD5 digest "), "{reason}");
    assert!(
        reason.contains(&keepalived_checker::probe::http::hex(&md5(PAGE))),
        "{reason}"
    );
}

#[tokio::test]
async fn refused_fails() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let c = check(vec![url("/", None, &[], None)], HttpProtocol::Http10);
    let o = probe(&c, false, addr, 2000).probe().await;
    assert!(failure(&o).contains("refused"), "{o:?}");
}

#[tokio::test]
async fn silent_server_times_out() {
    let (addr, _) = raw_server(Raw::Silent).await;
    for ssl in [false, true] {
        let c = check(vec![url("/", None, &[], None)], HttpProtocol::Http10);
        let start = Instant::now();
        let o = probe(&c, ssl, addr, 300).probe().await;
        let took = start.elapsed();
        assert!(
            failure(&o).contains("no complete answer within 300ms"),
            "{o:?}"
        );
        assert!(
            took >= Duration::from_millis(290) && took < Duration::from_secs(2),
            "{took:?}"
        );
    }
}

#[tokio::test]
async fn truncated_body_fails() {
    let reply = b"HTTP/1.0 200 OK\r\nContent-Length: 100\r\n\r\nonly a part".to_vec();
    let (addr, _) = raw_server(Raw::Reply(reply)).await;
    let c = check(
        vec![url("/", Some(md5(b"only a part")), &[], None)],
        HttpProtocol::Http10,
    );
    let o = probe(&c, false, addr, 2000).probe().await;
    assert!(failure(&o).contains("reading body"), "{o:?}");
}

#[tokio::test]
async fn garbage_status_line_fails() {
    for reply in [
        &b"GARBAGE\r\n\r\n"[..],
        b"HTTP/1.1 2xx OK\r\n\r\n",
        b"\x00\x01\x02\xff\r\n\r\n",
        b"",
    ] {
        let (addr, _) = raw_server(Raw::Reply(reply.to_vec())).await;
        let c = check(vec![url("/", None, &[], None)], HttpProtocol::Http10);
        let o = probe(&c, false, addr, 2000).probe().await;
        assert!(failure(&o).starts_with("HTTP exchange"), "{reply:?}: {o:?}");
    }
}

#[tokio::test]
async fn megabyte_status_line_fails() {
    // CVE-2018-19115: keepalived overflowed a buffer on a long status line.
    let mut reply = b"HTTP/1.1 200 ".to_vec();
    reply.extend(std::iter::repeat_n(b'A', 1024 * 1024));
    reply.extend_from_slice(b"\r\n\r\n");
    let (addr, _) = raw_server(Raw::Reply(reply)).await;
    let c = check(
        vec![url("/", Some(md5(b"")), &[], None)],
        HttpProtocol::Http11,
    );
    let o = probe(&c, false, addr, 2000).probe().await;
    assert!(failure(&o).contains("too large"), "{o:?}");
}

#[tokio::test]
async fn body_not_read_without_digest() {
    let head = b"HTTP/1.0 200 OK\r\nContent-Length: 100000000000\r\n\r\n".to_vec();
    let (addr, written) = raw_server(Raw::Endless(head)).await;
    let c = check(vec![url("/", None, &[], None)], HttpProtocol::Http10);
    let start = Instant::now();
    assert_eq!(probe(&c, false, addr, 5000).probe().await, Outcome::Success);
    assert!(
        start.elapsed() < Duration::from_millis(500),
        "{:?}",
        start.elapsed()
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    // The server stopped writing once socket buffers filled up and the probe closed.
    let w = *written.lock().expect("written");
    assert!(w < 64 * 1024 * 1024, "{w} bytes written");
}

#[tokio::test]
async fn body_read_is_bounded_with_digest() {
    let head = b"HTTP/1.0 200 OK\r\n\r\n".to_vec();
    let (addr, _) = raw_server(Raw::Endless(head)).await;
    let c = check(
        vec![url("/", Some(md5(b"")), &[], None)],
        HttpProtocol::Http10,
    );
    let o = probe(&c, false, addr, 10_000).probe().await;
    assert!(
        failure(&o).contains("body longer than 16777216 bytes"),
        "{o:?}"
    );
}

#[tokio::test]
async fn ssl_get_passes_tls12_and_tls13() {
    for v in [&rustls::version::TLS12, &rustls::version::TLS13] {
        let (addr, log, _) = https_server(route, &["server.example.test"], &[v]).await;
        let c = check(
            vec![url("/", Some(md5(PAGE)), &[], None)],
            HttpProtocol::Http11,
        );
        assert_eq!(
            probe(&c, true, addr, 2000).probe().await,
            Outcome::Success,
            "{v:?}"
        );
        // No SNI unless enable_sni.
        assert_eq!(log.lock().expect("log").sni, [None]);
    }
}

#[tokio::test]
async fn ssl_get_sends_sni_when_enabled() {
    let (addr, log, _) = https_server(route, &["localhost"], &[&rustls::version::TLS13]).await;
    let mut c = check(
        vec![
            url("/", None, &[], Some("url.example.test")),
            url("/", None, &[], None),
        ],
        HttpProtocol::Http10,
    );
    c.enable_sni = true;
    c.virtualhost = Some("vhost.example.test".into());
    assert_eq!(probe(&c, true, addr, 2000).probe().await, Outcome::Success);
    c.sni_name = Some("sni.example.test".into());
    assert_eq!(probe(&c, true, addr, 2000).probe().await, Outcome::Success);
    let seen = log.lock().expect("log").clone();
    let sni: Vec<_> = seen.sni.iter().map(|s| s.as_deref()).collect();
    assert_eq!(
        sni,
        [
            Some("url.example.test"),
            Some("vhost.example.test"),
            Some("sni.example.test"),
            Some("sni.example.test")
        ]
    );
    assert_eq!(
        seen.hosts,
        [
            "url.example.test",
            "vhost.example.test",
            "url.example.test",
            "vhost.example.test"
        ]
    );
}

#[tokio::test]
async fn tls_handshake_failure_fails() {
    // A server answering garbage to the ClientHello.
    let (addr, _) = raw_server(Raw::Immediate(b"HTTP/1.0 400 Bad Request\r\n\r\n".to_vec())).await;
    let c = check(vec![url("/", None, &[], None)], HttpProtocol::Http10);
    let o = probe(&c, true, addr, 2000).probe().await;
    assert!(failure(&o).starts_with("TLS handshake"), "{o:?}");
    // A plain HTTP server: it answers 400 to the ClientHello and closes.
    let (addr, _) = http_server(route).await;
    let o = probe(&c, true, addr, 2000).probe().await;
    assert!(failure(&o).starts_with("TLS handshake"), "{o:?}");
}

#[tokio::test]
async fn tls_verification_when_configured() {
    let (addr, _, cert) = https_server(route, &["localhost"], &[&rustls::version::TLS13]).await;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).expect("root");
    let verify = TlsVerify::Roots(std::sync::Arc::new(roots));
    let mut c = check(vec![url("/", None, &[], None)], HttpProtocol::Http10);
    c.enable_sni = true;
    c.sni_name = Some("localhost".into());
    let opts = ConnectOpts::new(addr, Duration::from_secs(2));
    let p = HttpProbe::new(&c, true, opts.clone(), &verify).expect("probe");
    assert_eq!(p.probe().await, Outcome::Success);
    c.sni_name = Some("other.example.test".into());
    let p = HttpProbe::new(&c, true, opts, &verify).expect("probe");
    assert!(failure(&p.probe().await).starts_with("TLS handshake"));
}

#[tokio::test]
async fn fetch_reads_any_status_and_reports_headers() {
    let (addr, _) = http_server(route).await;
    let c = check(vec![url("/missing", None, &[], None)], HttpProtocol::Http11);
    let p = probe(&c, false, addr, 2000);
    let mut body = Vec::new();
    let mut sink = |b: &[u8]| body.extend_from_slice(b);
    let f = p.fetch(0, Some(&mut sink)).await.expect("fetch");
    assert_eq!(f.status.as_u16(), 404);
    assert_eq!(f.md5, Some(md5(b"not found")));
    assert_eq!(f.body_len, Some(9));
    assert_eq!(body, b"not found");
    assert_eq!(
        f.headers.get("content-length").map(|v| v.as_bytes()),
        Some(&b"9"[..])
    );
    let text = p.request_text(0).expect("request");
    assert_eq!(
        text,
        format!(
            "GET /missing HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\n\r\n"
        )
    );
}

#[tokio::test]
async fn ipv6_default_host_is_bracketed() {
    let listener = match tokio::net::TcpListener::bind("[::1]:0").await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("skipped: no IPv6 loopback ({e})");
            return;
        }
    };
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut s, _) = listener.accept().await.expect("accept");
        let mut head = Vec::new();
        let mut buf = [0u8; 512];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = s.read(&mut buf).await.expect("read");
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buf[..n]);
        }
        let _ = s.write_all(b"HTTP/1.0 204 No Content\r\n\r\n").await;
        String::from_utf8_lossy(&head).into_owned()
    });
    let c = check(vec![url("/", None, &[], None)], HttpProtocol::Http10);
    assert_eq!(probe(&c, false, addr, 2000).probe().await, Outcome::Success);
    let head = server.await.expect("server");
    assert!(
        head.contains(&format!("Host: [::1]:{}\r\n", addr.port())),
        "{head}"
    );
}

#[tokio::test]
async fn regex_on_the_body_with_no_match_and_offsets() {
    use keepalived_config::model::lvs::checker::RegexOption;

    let (addr, _) = http_server(route).await;
    let with = |pattern: &str, no_match: bool, min: Option<u32>, options: Vec<RegexOption>| {
        let mut u = url("/", None, &[], None);
        u.regex = Some(pattern.to_owned());
        u.regex_no_match = no_match;
        u.regex_min_offset = min;
        u.regex_options = options;
        check(vec![u], HttpProtocol::Http10)
    };
    let run = |c: HttpCheck| async move { probe(&c, false, addr, 2000).probe().await };
    assert!(
        run(with("test page", false, None, vec![]))
            .await
            .is_success()
    );
    let o = run(with("missing", false, None, vec![])).await;
    assert!(
        failure(&o).contains("does not match regex `missing`"),
        "{o:?}"
    );
    assert!(run(with("missing", true, None, vec![])).await.is_success());
    let o = run(with("test", true, None, vec![])).await;
    assert!(failure(&o).contains("matches regex"), "{o:?}");
    // `<html>` starts at 0: not found from offset 1 on.
    assert!(
        !run(with("<html>", false, Some(1), vec![]))
            .await
            .is_success()
    );
    assert!(
        run(with("TEST PAGE", false, None, vec![RegexOption::Caseless]))
            .await
            .is_success()
    );
    let bad = with("(", false, None, vec![]);
    let err = HttpProbe::new(
        &bad,
        false,
        ConnectOpts::new(addr, Duration::from_secs(1)),
        &TlsVerify::None,
    );
    assert!(err.is_err(), "an invalid regex is a configuration error");
}
