//! SMTP_CHECK against a real SMTP server (Debian's python3-aiosmtpd, skipped with a message
//! when it is not installed) and against scripted TCP servers on loopback for the failures:
//! garbage, 554, silence, oversized replies, HELO refused, early close, refused connection.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use keepalived_checker::probe::smtp::{self, ReplyError, SmtpFailure, SmtpOptions, Step};
use keepalived_checker::probe::udp::Endpoint;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn ep(dst: SocketAddr, ms: u64) -> Endpoint {
    Endpoint::new(dst, Duration::from_millis(ms))
}

fn opts() -> SmtpOptions {
    SmtpOptions {
        helo_name: "check.example.test".to_owned(),
    }
}

/// One scripted step of a fake server.
enum Act {
    /// Send these bytes.
    Send(Vec<u8>),
    /// Read one line from the client and record it.
    Line,
    /// Wait.
    Sleep(Duration),
}

/// A TCP server on loopback that runs `script` on its first connection and records the lines
/// the client sent.
struct Scripted {
    addr: SocketAddr,
    lines: Arc<Mutex<Vec<String>>>,
    thread: Option<JoinHandle<()>>,
}

impl Scripted {
    fn start(script: Vec<Act>) -> Scripted {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let seen = lines.clone();
        let thread = std::thread::spawn(move || {
            let Ok((stream, _)) = listener.accept() else {
                return;
            };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut stream = stream;
            for act in script {
                match act {
                    Act::Send(b) => {
                        if stream.write_all(&b).is_err() {
                            return;
                        }
                    }
                    Act::Line => {
                        let mut l = String::new();
                        if reader.read_line(&mut l).unwrap_or(0) == 0 {
                            return;
                        }
                        seen.lock().unwrap().push(l);
                    }
                    Act::Sleep(d) => std::thread::sleep(d),
                }
            }
            // Dropping the stream closes the connection.
        });
        Scripted {
            addr,
            lines,
            thread: Some(thread),
        }
    }

    fn lines(&mut self) -> Vec<String> {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.lines.lock().unwrap().clone()
    }
}

fn send(s: &str) -> Act {
    Act::Send(s.as_bytes().to_vec())
}

#[test]
fn multi_line_replies_pass_and_the_conversation_is_right() {
    let mut server = Scripted::start(vec![
        send("220-mx.example.test ESMTP\r\n220-second line\r\n220 ready\r\n"),
        Act::Line,
        send("250-mx.example.test\r\n250 hello\r\n"),
        Act::Line,
        send("221 bye\r\n"),
    ]);
    rt().block_on(smtp::check(&ep(server.addr, 2000), &opts()))
        .expect("multi-line greeting and HELO reply");
    assert_eq!(
        server.lines(),
        ["HELO check.example.test\r\n", "QUIT\r\n"],
        "what the checker sent"
    );
}

/// What a failure case expects.
type Expected = fn(&SmtpFailure) -> bool;

#[test]
fn bad_greetings_fail() {
    let rt = rt();
    let cases: Vec<(&str, Vec<Act>, Expected)> = vec![
        ("garbage", vec![send("HTTP/1.0 200 OK\r\n\r\n")], |f| {
            matches!(
                f,
                SmtpFailure::BadReply {
                    step: Step::Greeting,
                    reason: ReplyError::Syntax { line: 1 }
                }
            )
        }),
        ("554", vec![send("554 no service here\r\n")], |f| {
            matches!(
                f,
                SmtpFailure::UnexpectedCode {
                    step: Step::Greeting,
                    code: 554,
                    expected: 220
                }
            )
        }),
        (
            "code changes mid-reply",
            vec![send("220-hello\r\n554 bye\r\n")],
            |f| {
                matches!(
                    f,
                    SmtpFailure::BadReply {
                        step: Step::Greeting,
                        reason: ReplyError::CodeChanged { line: 2 }
                    }
                )
            },
        ),
        (
            "oversized reply",
            vec![Act::Send(b"220-xxxxxxxxxxxxxxxxxxxx\r\n".repeat(2000))],
            |f| {
                matches!(
                    f,
                    SmtpFailure::BadReply {
                        step: Step::Greeting,
                        reason: ReplyError::TooLong
                    }
                )
            },
        ),
        (
            "endless line",
            vec![Act::Send([b"220 ".to_vec(), vec![b'x'; 100_000]].concat())],
            |f| {
                matches!(
                    f,
                    SmtpFailure::BadReply {
                        step: Step::Greeting,
                        reason: ReplyError::LineTooLong
                    }
                )
            },
        ),
        ("closed at once", vec![], |f| {
            matches!(
                f,
                SmtpFailure::Closed {
                    step: Step::Greeting
                }
            )
        }),
        (
            "HELO refused",
            vec![send("220 hi\r\n"), Act::Line, send("550 go away\r\n")],
            |f| {
                matches!(
                    f,
                    SmtpFailure::UnexpectedCode {
                        step: Step::Helo,
                        code: 550,
                        expected: 250
                    }
                )
            },
        ),
        (
            "closed after the greeting",
            vec![send("220 hi\r\n"), Act::Line],
            |f| matches!(f, SmtpFailure::Closed { step: Step::Helo }),
        ),
        (
            "no QUIT reply",
            vec![send("220 hi\r\n"), Act::Line, send("250 ok\r\n"), Act::Line],
            |f| matches!(f, SmtpFailure::Closed { step: Step::Quit }),
        ),
    ];
    for (what, script, expected) in cases {
        let server = Scripted::start(script);
        let r = rt.block_on(smtp::check(&ep(server.addr, 2000), &opts()));
        match r {
            Err(f) if expected(&f) => {}
            other => panic!("{what}: unexpected {other:?}"),
        }
    }
}

#[test]
fn silent_and_trickling_servers_time_out() {
    let rt = rt();
    let silent = Scripted::start(vec![Act::Sleep(Duration::from_secs(3))]);
    let t = Instant::now();
    let r = rt.block_on(smtp::check(&ep(silent.addr, 500), &opts()));
    assert!(
        matches!(
            r,
            Err(SmtpFailure::Timeout {
                step: Step::Greeting,
                ..
            })
        ),
        "{r:?}"
    );
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(500) && took < Duration::from_secs(2),
        "{took:?}"
    );

    // A byte every 100 ms: the whole reply must come within the step's timeout.
    let mut script = Vec::new();
    for b in b"220 slowly but surely\r\n" {
        script.push(Act::Send(vec![*b]));
        script.push(Act::Sleep(Duration::from_millis(100)));
    }
    let trickle = Scripted::start(script);
    let t = Instant::now();
    let r = rt.block_on(smtp::check(&ep(trickle.addr, 500), &opts()));
    assert!(
        matches!(
            r,
            Err(SmtpFailure::Timeout {
                step: Step::Greeting,
                ..
            })
        ),
        "{r:?}"
    );
    assert!(t.elapsed() < Duration::from_secs(2));
}

#[test]
fn refused_connection_and_bad_helo_name_fail() {
    let rt = rt();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let r = rt.block_on(smtp::check(&ep(port, 1000), &opts()));
    assert!(
        matches!(
            r,
            Err(SmtpFailure::Io {
                step: Step::Connect,
                ..
            })
        ),
        "{r:?}"
    );
    let evil = SmtpOptions {
        helo_name: "x\r\nMAIL FROM:<a@b>".to_owned(),
    };
    let r = rt.block_on(smtp::check(&ep(port, 1000), &evil));
    assert!(matches!(r, Err(SmtpFailure::InvalidHelo)), "{r:?}");
}

/// A Python interpreter that has aiosmtpd (Debian's python3-aiosmtpd installs it for
/// /usr/bin/python3, which may not be the first python3 on PATH).
fn aiosmtpd_python() -> Option<&'static str> {
    ["/usr/bin/python3", "python3"].into_iter().find(|py| {
        Command::new(py)
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// aiosmtpd running on loopback, killed on drop.
struct Aiosmtpd {
    child: Child,
    addr: SocketAddr,
}

impl Aiosmtpd {
    fn start(py: &str, ip: &str) -> Aiosmtpd {
        let addr = TcpListener::bind((ip, 0)).unwrap().local_addr().unwrap();
        let listen = match addr {
            SocketAddr::V4(a) => format!("{}:{}", a.ip(), a.port()),
            SocketAddr::V6(a) => format!("{}:{}", a.ip(), a.port()),
        };
        let child = Command::new(py)
            .args(["-m", "aiosmtpd", "-n", "-l", &listen])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let server = Aiosmtpd { child, addr };
        let t = Instant::now();
        while TcpStream::connect(addr).is_err() {
            assert!(
                t.elapsed() < Duration::from_secs(15),
                "aiosmtpd did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }
}

impl Drop for Aiosmtpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn real_smtp_server_passes_and_host_blocks_are_all_checked() {
    let Some(py) = aiosmtpd_python() else {
        eprintln!("SKIP: python3-aiosmtpd is not installed (apt-get install python3-aiosmtpd)");
        return;
    };
    let rt = rt();
    let v4 = Aiosmtpd::start(py, "127.0.0.1");
    rt.block_on(smtp::check(&ep(v4.addr, 3000), &opts()))
        .expect("aiosmtpd on 127.0.0.1");
    rt.block_on(smtp::check(&ep(v4.addr, 3000), &SmtpOptions::default()))
        .expect("default helo_name");
    let v6 = Aiosmtpd::start(py, "::1");
    rt.block_on(smtp::check(&ep(v6.addr, 3000), &opts()))
        .expect("aiosmtpd on ::1");

    // Two good hosts pass; a bad third one fails the checker and is named by its index.
    let bad = Scripted::start(vec![send("421 busy\r\n")]);
    let targets = [ep(v4.addr, 3000), ep(v6.addr, 3000)];
    rt.block_on(smtp::check_all(&targets, &opts()))
        .expect("all hosts up");
    let targets = [ep(v4.addr, 3000), ep(v6.addr, 3000), ep(bad.addr, 3000)];
    let r = rt.block_on(smtp::check_all(&targets, &opts()));
    assert!(
        matches!(r, Err((2, SmtpFailure::UnexpectedCode { code: 421, .. }))),
        "{r:?}"
    );
}
