//! TCP_CHECK probe against real listeners on loopback.

use std::time::Duration;

use keepalived_checker::probe::Outcome;
use keepalived_checker::probe::tcp::{self, ConnectOpts};

#[tokio::test]
async fn connect_passes_and_refused_fails() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let opts = ConnectOpts::new(addr, Duration::from_secs(1));
    assert_eq!(tcp::probe(&opts).await, Outcome::Success);
    drop(listener);
    match tcp::probe(&opts).await {
        Outcome::Failure(r) => assert!(
            r.contains("refused") && r.contains(&addr.to_string()),
            "{r}"
        ),
        Outcome::Success => panic!("connected to a closed port"),
    }
}

/// True when the effective uid is 0 (from /proc, without libc).
fn is_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1).map(|euid| euid == "0"))
        .unwrap_or(false)
}

#[tokio::test]
async fn bindto_bind_port_bind_if_and_fwmark_are_applied() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    // A free source port.
    let src_port = std::net::TcpListener::bind("127.0.0.2:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let mut opts = ConnectOpts::new(addr, Duration::from_secs(1));
    opts.bindto = Some("127.0.0.2".parse().expect("ip"));
    opts.bind_port = Some(src_port);
    opts.bind_if = Some("lo".into());
    // SO_MARK needs CAP_NET_ADMIN, as in keepalived: only tried as root.
    if is_root() {
        opts.fwmark = Some(7);
    } else {
        eprintln!("not root: fwmark not tested");
    }
    let stream = tcp::connect_timeout(&opts).await.expect("connect");
    let (_peer, from) = listener.accept().await.expect("accept");
    assert_eq!(
        from,
        std::net::SocketAddr::new("127.0.0.2".parse().expect("ip"), src_port)
    );
    drop(stream);
    // An interface that does not exist is a setup failure, not a panic.
    opts.bind_if = Some("nonexistent0".into());
    opts.bind_port = None;
    match tcp::probe(&opts).await {
        Outcome::Failure(r) => assert!(r.contains("bind_if"), "{r}"),
        Outcome::Success => panic!("bound to a missing interface"),
    }
    // A family mismatch is reported as such.
    opts.bind_if = None;
    opts.bindto = Some("::1".parse().expect("ip"));
    match tcp::probe(&opts).await {
        Outcome::Failure(r) => assert!(r.contains("different address families"), "{r}"),
        Outcome::Success => panic!("mixed families"),
    }
}

#[tokio::test]
async fn connect_timeout_is_honoured() {
    // 192.0.2.1 (TEST-NET-1) via a blackhole route in a namespace would be exact; on the host the
    // SYN to a documentation address either goes unanswered (timeout) or has no route (error):
    // both must end within the timeout.
    let opts = ConnectOpts::new(
        "192.0.2.1:80".parse().expect("addr"),
        Duration::from_millis(300),
    );
    let start = std::time::Instant::now();
    let o = tcp::probe(&opts).await;
    assert!(!o.is_success());
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
}
