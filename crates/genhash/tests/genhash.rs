//! The real genhash binary against a real server on loopback; its digest is compared with
//! `md5sum` of the served body.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::Command;
use std::sync::mpsc;
use std::thread;

/// A body with every byte value, long enough to need many reads.
fn body() -> Vec<u8> {
    (0..300_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

/// Serves `body` once per connection (chunked when `chunked`), and reports each request head.
fn server(body: Vec<u8>, chunked: bool) -> (SocketAddr, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut s) = conn else { continue };
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let _ = tx.send(String::from_utf8_lossy(&head).into_owned());
            let mut resp = Vec::new();
            if chunked {
                resp.extend_from_slice(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
                for part in body.chunks(7000) {
                    resp.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
                    resp.extend_from_slice(part);
                    resp.extend_from_slice(b"\r\n");
                }
                resp.extend_from_slice(b"0\r\n\r\n");
            } else {
                resp.extend_from_slice(
                    format!("HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).as_bytes(),
                );
                resp.extend_from_slice(&body);
            }
            let _ = s.write_all(&resp);
        }
    });
    (addr, rx)
}

fn md5sum(data: &[u8]) -> String {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("genhash-body-{}", std::process::id()));
    std::fs::write(&path, data).expect("write body");
    let out = Command::new("md5sum")
        .arg(&path)
        .output()
        .expect("run md5sum");
    let _ = std::fs::remove_file(&path);
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .expect("md5sum output")
        .to_owned()
}

fn genhash(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_genhash"))
        .args(args)
        .output()
        .expect("run genhash")
}

#[test]
fn digest_matches_md5sum() {
    let body = body();
    let want = md5sum(&body);
    for (chunked, proto) in [(false, "1.0"), (true, "1.1")] {
        let (addr, heads) = server(body.clone(), chunked);
        let port = addr.port().to_string();
        let out = genhash(&[
            "-s",
            "127.0.0.1",
            "-p",
            &port,
            "-u",
            "/page",
            "-P",
            proto,
            "-V",
            "www.example.test",
        ]);
        assert!(out.status.success(), "{out:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("MD5SUM = {want}\n")
        );
        let head = heads.recv().expect("request");
        assert!(
            head.starts_with(&format!("GET /page HTTP/{proto}\r\n")),
            "{head}"
        );
        assert!(head.contains("Host: www.example.test\r\n"), "{head}");
    }
}

#[test]
fn verbose_shows_request_headers_body_and_digest() {
    let body = b"<html>small</html>\n".to_vec();
    let want = md5sum(&body);
    let (addr, _) = server(body, false);
    let out = genhash(&[
        "-v",
        "-s",
        "127.0.0.1",
        "-p",
        &addr.port().to_string(),
        "-u",
        "/",
    ]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    let request = text
        .find(&format!("GET / HTTP/1.0\r\nHost: {addr}\r\n"))
        .expect("request");
    let header = text.find("content-length: 19").expect("response header");
    let dump = text.find("3c 68 74 6d 6c 3e").expect("body dump");
    let digest = text.find(&format!("MD5SUM = {want}\n")).expect("digest");
    assert!(request < header && header < dump && dump < digest, "{text}");
    assert!(text.contains("Global response time for [/] = "), "{text}");
}

#[test]
fn failures_exit_1() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port().to_string();
    drop(listener);
    let out = genhash(&["-s", "127.0.0.1", "-p", &port, "-u", "/"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("refused"),
        "{out:?}"
    );
    assert!(out.stdout.is_empty());
    // Missing -u, a bad protocol, a name instead of an address, -h.
    for args in [
        &["-s", "127.0.0.1", "-p", "80"][..],
        &["-s", "127.0.0.1", "-p", "80", "-u", "/", "-P", "2"],
        &["-s", "localhost", "-p", "80", "-u", "/"],
        &["-h"],
    ] {
        let out = genhash(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
    }
}
