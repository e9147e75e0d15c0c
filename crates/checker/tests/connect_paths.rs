//! The two ways a probe's connection is made and the two ways it ends, against real listeners
//! on loopback: established before `connect` returns (the usual case on loopback) or only
//! later (here: the listener's accept queue is full, so the first SYN is dropped and the
//! retransmitted one, a second later, is answered); closed with RST once the server has closed
//! its side, with an orderly FIN while it has not.

#[path = "net_common/mod.rs"]
mod common;

use std::io::{ErrorKind, Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::{check, probe, url};
use keepalived_checker::probe::Outcome;
use keepalived_checker::probe::tcp::{self, ConnectOpts};
use keepalived_config::model::lvs::checker::HttpProtocol;
use socket2::{Domain, Socket, Type};

const REPLY: &[u8] = b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok";

/// A listener whose accept queue is already full (backlog 0 holds one connection, which is
/// made and left unaccepted): a new SYN is dropped until the queue is drained. Returns the
/// listener, its address and the connection filling the queue.
fn full_listener() -> (TcpListener, SocketAddr, TcpStream) {
    let sock = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    sock.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .expect("bind");
    sock.listen(0).expect("listen");
    let listener: TcpListener = sock.into();
    let addr = listener.local_addr().expect("addr");
    let filler = TcpStream::connect(addr).expect("filler");
    // The filler's handshake completes in the kernel; give it the moment it needs.
    thread::sleep(Duration::from_millis(50));
    (listener, addr, filler)
}

/// Drains the queue after `after`, then accepts one more connection and passes it to `serve`.
fn accept_later(
    listener: TcpListener,
    after: Duration,
    serve: impl FnOnce(TcpStream) + Send + 'static,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        thread::sleep(after);
        let (first, _) = listener.accept().expect("accept filler");
        drop(first);
        let (conn, _) = listener.accept().expect("accept probe");
        serve(conn);
    })
}

#[tokio::test]
async fn tcp_check_waits_for_a_handshake_that_completes_later() {
    let (listener, addr, _filler) = full_listener();
    let server = accept_later(listener, Duration::from_millis(200), drop);
    let started = Instant::now();
    let outcome = tcp::probe(&ConnectOpts::new(addr, Duration::from_secs(5))).await;
    assert_eq!(outcome, Outcome::Success);
    // The first SYN was dropped: success came with a retransmission, not at once.
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    server.join().expect("server");
}

#[tokio::test]
async fn tcp_check_times_out_while_the_handshake_is_pending() {
    let (_listener, addr, _filler) = full_listener();
    let started = Instant::now();
    let outcome = tcp::probe(&ConnectOpts::new(addr, Duration::from_millis(300))).await;
    match outcome {
        Outcome::Failure(r) => assert!(r.contains("timed out"), "{r}"),
        Outcome::Success => panic!("connected through a full accept queue"),
    }
    assert!(started.elapsed() < Duration::from_secs(1));
}

/// Reads one request head (up to the blank line) from `conn`.
fn read_request(conn: &mut TcpStream) -> Vec<u8> {
    let mut req = Vec::new();
    let mut buf = [0u8; 1024];
    while !req.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = conn.read(&mut buf).expect("read request");
        assert!(n > 0, "request cut");
        req.extend_from_slice(&buf[..n]);
    }
    req
}

#[tokio::test]
async fn http_get_sends_its_request_after_a_late_handshake() {
    let (listener, addr, _filler) = full_listener();
    let (tx, rx) = mpsc::channel();
    let server = accept_later(listener, Duration::from_millis(200), move |mut conn| {
        let req = read_request(&mut conn);
        conn.write_all(REPLY).expect("reply");
        let _ = tx.send(req);
    });
    let c = check(vec![url("/late", None, &[], None)], HttpProtocol::Http10);
    assert_eq!(probe(&c, false, addr, 5000).probe().await, Outcome::Success);
    let req = rx.recv_timeout(Duration::from_secs(5)).expect("request");
    assert!(req.starts_with(b"GET /late HTTP/1.0\r\n"), "{req:?}");
    server.join().expect("server");
}

/// Serves one HTTP check on a fresh listener: answers, then either closes its sending side
/// (`half_close`) or keeps the connection open, and reports how the checker ended it, as
/// the server's next read sees it.
async fn how_the_checker_ends(half_close: bool) -> std::io::Result<usize> {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = thread::spawn(move || {
        let (mut conn, _) = listener.accept().expect("accept");
        read_request(&mut conn);
        if half_close {
            // Corked, the reply and the FIN leave in one segment: the checker sees both at once.
            socket2::SockRef::from(&conn)
                .set_tcp_cork(true)
                .expect("cork");
            conn.write_all(REPLY).expect("reply");
            conn.shutdown(Shutdown::Write).expect("shutdown");
        } else {
            conn.write_all(REPLY).expect("reply");
        }
        conn.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let mut rest = [0u8; 16];
        conn.read(&mut rest)
    });
    let c = check(vec![url("/", None, &[], None)], HttpProtocol::Http10);
    assert_eq!(probe(&c, false, addr, 2000).probe().await, Outcome::Success);
    server.join().expect("server")
}

#[tokio::test]
async fn http_get_aborts_once_the_server_has_closed_its_side() {
    match how_the_checker_ends(true).await {
        Err(e) => assert_eq!(e.kind(), ErrorKind::ConnectionReset, "{e}"),
        Ok(n) => panic!("the checker closed with a FIN after the server's ({n} bytes read)"),
    }
}

#[tokio::test]
async fn http_get_closes_in_order_while_the_server_holds_its_side() {
    match how_the_checker_ends(false).await {
        Ok(0) => {}
        other => panic!("expected an orderly end of stream, got {other:?}"),
    }
}
