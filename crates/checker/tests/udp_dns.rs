//! UDP_CHECK and DNS_CHECK against real UDP servers on loopback started by the tests: an echo
//! server, a silent one, closed ports, and a small DNS server answering with hickory-proto
//! messages (normal answers, NXDOMAIN, NODATA, wrong id, wrong question, garbage, silence).

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use keepalived_checker::probe::dns::{self, DnsFailure, DnsOptions};
use keepalived_checker::probe::udp::{self, Endpoint, UdpFailure, UdpOptions};
use keepalived_config::model::lvs::{DnsType, HexPattern};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A UDP server on `addr` answering each datagram with `respond(datagram)` (None: silence),
/// until dropped.
struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start(addr: &str, respond: impl Fn(&[u8]) -> Vec<Vec<u8>> + Send + 'static) -> Server {
        let sock = UdpSocket::bind(addr).unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let addr = sock.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            while !flag.load(Ordering::Relaxed) {
                let Ok((n, peer)) = sock.recv_from(&mut buf) else {
                    continue;
                };
                for reply in respond(&buf[..n]) {
                    let _ = sock.send_to(&reply, peer);
                }
            }
        });
        Server {
            addr,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A loopback port with nothing listening (bound once, then released).
fn closed_port(ip: &str) -> SocketAddr {
    let s = UdpSocket::bind((ip, 0)).unwrap();
    s.local_addr().unwrap()
}

fn ep(dst: SocketAddr, ms: u64) -> Endpoint {
    Endpoint::new(dst, Duration::from_millis(ms))
}

fn reply_required(pattern: Option<HexPattern>, min: u16, max: u16) -> UdpOptions {
    UdpOptions {
        payload: Some(b"\x01\x02hello".to_vec()),
        require_reply: true,
        reply_pattern: pattern,
        min_reply_length: min,
        max_reply_length: max,
    }
}

#[test]
fn udp_echo_passes_and_patterns_are_checked() {
    let echo = Server::start("127.0.0.1:0", |d| vec![d.to_vec()]);
    let rt = rt();
    let e = ep(echo.addr, 1000);
    rt.block_on(udp::check(&e, &reply_required(None, 0, 255)))
        .expect("echo with require_reply");
    // The echo starts 01 02 'h': pattern 01 0X 68 matches, 01 03 does not.
    let ok = HexPattern {
        data: vec![0x01, 0x00, 0x68],
        mask: vec![0xff, 0xf0, 0xff],
    };
    rt.block_on(udp::check(&e, &reply_required(Some(ok), 0, 255)))
        .expect("matching pattern");
    let bad = HexPattern {
        data: vec![0x01, 0x03],
        mask: vec![0xff, 0xff],
    };
    let r = rt.block_on(udp::check(&e, &reply_required(Some(bad), 0, 255)));
    assert!(
        matches!(r, Err(UdpFailure::ReplyMismatch { offset: 1 })),
        "{r:?}"
    );
    // Random payload (no `payload`): the echo still answers.
    let random = UdpOptions {
        payload: None,
        ..reply_required(None, 16, 16)
    };
    rt.block_on(udp::check(&e, &random))
        .expect("random payload of 16 bytes");
}

#[test]
fn udp_echo_over_ipv6() {
    let echo = Server::start("[::1]:0", |d| vec![d.to_vec()]);
    rt().block_on(udp::check(
        &ep(echo.addr, 1000),
        &reply_required(None, 1, 100),
    ))
    .expect("IPv6 echo");
}

#[test]
fn udp_wrong_reply_length_fails() {
    let big = Server::start("127.0.0.1:0", |_| vec![vec![7u8; 300]]);
    let rt = rt();
    let r = rt.block_on(udp::check(
        &ep(big.addr, 1000),
        &reply_required(None, 0, 255),
    ));
    assert!(
        matches!(
            r,
            Err(UdpFailure::ReplyLength {
                len: 256,
                max: 255,
                ..
            })
        ),
        "{r:?}"
    );
    let small = Server::start("127.0.0.1:0", |_| vec![vec![7u8; 2]]);
    let r = rt.block_on(udp::check(
        &ep(small.addr, 1000),
        &reply_required(None, 4, 255),
    ));
    assert!(
        matches!(r, Err(UdpFailure::ReplyLength { len: 2, .. })),
        "{r:?}"
    );
}

#[test]
fn udp_port_unreachable_fails_fast() {
    let rt = rt();
    for ip in ["127.0.0.1", "::1"] {
        let dst = closed_port(ip);
        for require_reply in [true, false] {
            let opts = UdpOptions {
                require_reply,
                ..reply_required(None, 0, 255)
            };
            let t = Instant::now();
            let r = rt.block_on(udp::check(&ep(dst, 3000), &opts));
            assert!(matches!(r, Err(UdpFailure::Unreachable(_))), "{ip}: {r:?}");
            assert!(t.elapsed() < Duration::from_secs(2), "refusal is immediate");
        }
    }
}

#[test]
fn udp_silence_fails_only_when_a_reply_is_required() {
    let silent = Server::start("127.0.0.1:0", |_| vec![]);
    let rt = rt();
    let t = Instant::now();
    let r = rt.block_on(udp::check(
        &ep(silent.addr, 300),
        &reply_required(None, 0, 255),
    ));
    assert!(matches!(r, Err(UdpFailure::Timeout(_))), "{r:?}");
    let took = t.elapsed();
    assert!(took >= Duration::from_millis(300) && took < Duration::from_secs(2));
    let lenient = UdpOptions {
        require_reply: false,
        ..reply_required(None, 0, 255)
    };
    rt.block_on(udp::check(&ep(silent.addr, 300), &lenient))
        .expect("silence without require_reply is a success");
}

// ---- DNS ----

/// How the test DNS server misbehaves.
#[derive(Clone, Copy)]
enum Mode {
    /// Answers www.example.test A, NODATA for its other types, NXDOMAIN otherwise.
    Zone,
    /// Answers with another id, then nothing.
    WrongId,
    /// Echoes a question of another type.
    WrongQuestion,
    /// A header with our id and QR, then garbage.
    Garbage,
    /// REFUSED.
    Refused,
    /// Junk datagrams first, then the real answer.
    NoiseThenZone,
}

fn zone_answer(q: &Message) -> Message {
    let mut r = Message::new(q.metadata.id, MessageType::Response, OpCode::Query);
    r.metadata.recursion_desired = q.metadata.recursion_desired;
    r.add_queries(q.queries.clone());
    let www = Name::from_ascii("www.example.test.").unwrap();
    match q.queries.first() {
        Some(question) if question.name() == &www => {
            if question.query_type() == RecordType::A {
                r.add_answer(Record::from_rdata(
                    www,
                    60,
                    RData::A(A(Ipv4Addr::new(192, 0, 2, 80))),
                ));
            }
        }
        _ => r.metadata.response_code = ResponseCode::NXDomain,
    }
    r
}

fn dns_server(mode: Mode) -> Server {
    dns_server_on("127.0.0.1:0", mode)
}

fn dns_server_on(addr: &str, mode: Mode) -> Server {
    Server::start(addr, move |d| {
        let Ok(q) = Message::from_vec(d) else {
            return vec![];
        };
        match mode {
            Mode::Zone => vec![zone_answer(&q).to_vec().unwrap()],
            Mode::NoiseThenZone => {
                vec![vec![1, 2, 3], d.to_vec(), zone_answer(&q).to_vec().unwrap()]
            }
            Mode::WrongId => {
                let mut r = zone_answer(&q);
                r.metadata.id = q.metadata.id.wrapping_add(1);
                vec![r.to_vec().unwrap()]
            }
            Mode::WrongQuestion => {
                let mut r = zone_answer(&q);
                for question in &mut r.queries {
                    question.set_query_type(RecordType::MX);
                }
                vec![r.to_vec().unwrap()]
            }
            Mode::Garbage => {
                let mut r = d[..2].to_vec();
                r.extend([0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 0xff, 0xff, 0xff]);
                vec![r]
            }
            Mode::Refused => {
                let mut r = zone_answer(&q);
                r.metadata.response_code = ResponseCode::Refused;
                vec![r.to_vec().unwrap()]
            }
        }
    })
}

fn dns_opts(t: DnsType, name: &str) -> DnsOptions {
    DnsOptions {
        query_type: t,
        name: name.to_owned(),
    }
}

#[test]
fn dns_answers_pass_and_nodata_passes_like_keepalived() {
    let rt = rt();
    let server = dns_server(Mode::Zone);
    let e = ep(server.addr, 1000);
    let reply = rt
        .block_on(dns::check(&e, &dns_opts(DnsType::A, "www.example.test")))
        .expect("A answer");
    assert_eq!(reply.answers, 1);
    // NOERROR without answers (AAAA of a name that only has A): keepalived's rule passes it.
    let reply = rt
        .block_on(dns::check(
            &e,
            &dns_opts(DnsType::Aaaa, "www.example.test."),
        ))
        .expect("NODATA is a success");
    assert_eq!(reply.answers, 0);
    // Junk before the answer is ignored.
    let noisy = dns_server(Mode::NoiseThenZone);
    rt.block_on(dns::check(
        &ep(noisy.addr, 1000),
        &dns_opts(DnsType::A, "www.example.test"),
    ))
    .expect("noise is skipped");
    let v6 = dns_server_on("[::1]:0", Mode::Zone);
    rt.block_on(dns::check(
        &ep(v6.addr, 1000),
        &dns_opts(DnsType::A, "www.example.test"),
    ))
    .expect("over IPv6");
}

#[test]
fn dns_failures() {
    let rt = rt();
    let a = dns_opts(DnsType::A, "www.example.test");
    let zone = dns_server(Mode::Zone);
    let r = rt.block_on(dns::check(
        &ep(zone.addr, 1000),
        &dns_opts(DnsType::A, "nope.example.test"),
    ));
    assert!(
        matches!(r, Err(DnsFailure::Rcode(ResponseCode::NXDomain))),
        "{r:?}"
    );
    // The default query, SOA of the root, is NXDOMAIN in this zone too.
    let r = rt.block_on(dns::check(&ep(zone.addr, 1000), &DnsOptions::default()));
    assert!(matches!(r, Err(DnsFailure::Rcode(_))), "{r:?}");

    let refused = dns_server(Mode::Refused);
    let r = rt.block_on(dns::check(&ep(refused.addr, 1000), &a));
    assert!(
        matches!(r, Err(DnsFailure::Rcode(ResponseCode::Refused))),
        "{r:?}"
    );

    for (mode, what) in [
        (Mode::WrongId, "another id"),
        (Mode::WrongQuestion, "another question"),
    ] {
        let s = dns_server(mode);
        let t = Instant::now();
        let r = rt.block_on(dns::check(&ep(s.addr, 400), &a));
        assert!(matches!(r, Err(DnsFailure::Timeout(_))), "{what}: {r:?}");
        assert!(t.elapsed() >= Duration::from_millis(400), "{what}: waited");
    }

    let garbage = dns_server(Mode::Garbage);
    let r = rt.block_on(dns::check(&ep(garbage.addr, 1000), &a));
    assert!(matches!(r, Err(DnsFailure::Malformed(_))), "{r:?}");

    let silent = Server::start("127.0.0.1:0", |_| vec![]);
    let r = rt.block_on(dns::check(&ep(silent.addr, 300), &a));
    assert!(matches!(r, Err(DnsFailure::Timeout(_))), "{r:?}");

    let r = rt.block_on(dns::check(&ep(closed_port("127.0.0.1"), 1000), &a));
    assert!(matches!(r, Err(DnsFailure::Unreachable(_))), "{r:?}");
}
