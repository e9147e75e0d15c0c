//! E-mail alerts against a real SMTP server (Debian's python3-aiosmtpd, storing every message in
//! a Maildir) started by the test in the daemon's namespace: a VRRP instance entering MASTER, a
//! real server going DOWN, its virtual server losing and regaining its quorum, and the instance
//! stopping each send keepalived's subject, headers and body. And an SMTP server that accepts connections but never answers delays neither the adverts
//! (the backup never takes over) nor the health checks. Needs root (skips otherwise).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::daemon::Daemon;
use crate::support::files::TempDir;
use lab::{Host, LabChild, wait_until};

use crate::support::servers::{http_server, listening};

const POLL: Duration = Duration::from_millis(50);

/// A Python with aiosmtpd (Debian's python3-aiosmtpd installs it for /usr/bin/python3).
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

/// aiosmtpd on 127.0.0.1:`port` in `host`, storing mail in the Maildir `maildir`.
fn smtp_server(host: &Host, py: &str, port: u16, maildir: &Path) -> LabChild {
    let mut cmd = host.command(py);
    cmd.args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
        .args(["-c", "aiosmtpd.handlers.Mailbox"])
        .arg(maildir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let child = LabChild::spawn(&mut cmd).expect("aiosmtpd");
    assert!(
        wait_until(Duration::from_secs(10), POLL, || listening(host, port)).is_some(),
        "aiosmtpd did not start"
    );
    child
}

/// One stored message: its headers (name lower-cased) and body.
#[derive(Debug)]
struct Message {
    headers: Vec<(String, String)>,
    body: String,
}

impl Message {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Every message in the Maildir so far.
fn messages(maildir: &Path) -> Vec<Message> {
    let mut out = Vec::new();
    for sub in ["new", "cur"] {
        let Ok(dir) = std::fs::read_dir(maildir.join(sub)) else {
            continue;
        };
        for entry in dir.flatten() {
            let Ok(text) = std::fs::read_to_string(entry.path()) else {
                continue;
            };
            let text = text.replace("\r\n", "\n");
            let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
            let headers = head
                .lines()
                .filter_map(|l| l.split_once(':'))
                .map(|(n, v)| (n.trim().to_lowercase(), v.trim().to_owned()))
                .collect();
            out.push(Message {
                headers,
                body: body.to_owned(),
            });
        }
    }
    out
}

fn wait_message(maildir: &Path, subject: &str, secs: u64) -> Option<Message> {
    let mut found = None;
    wait_until(Duration::from_secs(secs), POLL, || {
        found = messages(maildir)
            .into_iter()
            .find(|m| m.header("subject") == Some(subject));
        found.is_some()
    })?;
    found
}

/// One host with eth0 = 192.0.2.1/24 (a veth whose peer stays in the host) and lo up.
fn one_host(lab: &lab::Lab) -> Host {
    let host = lab.host("lb").expect("host");
    host.veth_loop("eth0", "eth1").expect("veth");
    host.add_addr("eth0", "192.0.2.1/24").expect("addr");
    host
}

#[test]
fn vrrp_and_real_server_alerts_reach_a_real_smtp_server() {
    if let Some(reason) = crate::support::skip_reason_for(false, true) {
        eprintln!("skipping: {reason}");
        return;
    }
    let Some(py) = aiosmtpd_python() else {
        eprintln!("skipping: python3-aiosmtpd not installed");
        return;
    };
    let lab = lab::Lab::new("kvmail").expect("lab");
    let host = one_host(&lab);
    let dir = TempDir::new("alerts");
    let maildir: PathBuf = dir.0.join("Maildir");
    let _smtp = smtp_server(&host, py, 2525, &maildir);
    let mut web = http_server(&host, &dir.0, 18095);
    let conf = "global_defs {\n    router_id LB1\n    notification_email {\n        ops@example.com\n        \
                \"Second Admin <second@example.com>\"\n    }\n    notification_email_from ka@example.com\n    \
                smtp_server 127.0.0.1 2525\n    smtp_connect_timeout 5\n    smtp_helo_name lb1.example.com\n    \
                smtp_alert\n}\n\
                vrrp_instance VI_1 {\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    \
                priority 150\n    version 3\n    advert_int 0.1\n    virtual_ipaddress {\n        192.0.2.100/24\n    }\n}\n\
                virtual_server 192.0.2.100 80 {\n    delay_loop 1\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n    \
                real_server 127.0.0.1 18095 {\n        TCP_CHECK {\n            connect_timeout 1\n            retry 0\n        }\n    }\n}\n";
    let mut daemon = Daemon::start(&host, &dir.0, "lb", conf, &[]);

    let master = wait_message(
        &maildir,
        "[LB1] VRRP Instance VI_1 - Entering MASTER state",
        15,
    )
    .unwrap_or_else(|| panic!("no MASTER alert; log:\n{}", daemon.log()));
    assert_eq!(master.header("from"), Some("ka@example.com"));
    assert_eq!(
        master.header("to"),
        Some("ops@example.com, Second Admin <second@example.com>")
    );
    assert_eq!(master.header("x-mailer"), Some("Keepalived"));
    assert!(master.header("date").is_some_and(|d| d.ends_with("+0000")));
    // aiosmtpd records the envelope: sender and both recipients.
    assert_eq!(master.header("x-mailfrom"), Some("ka@example.com"));
    let rcpt = master.header("x-rcptto").unwrap_or_default();
    assert!(
        rcpt.contains("ops@example.com") && rcpt.contains("second@example.com"),
        "{rcpt}"
    );
    assert_eq!(
        master.body.trim(),
        "=> VRRP Instance is now owning VRRP VIPs <="
    );

    // The real server starts up (no alert for the initial state); then its server stops.
    std::thread::sleep(Duration::from_millis(1500));
    web.kill();
    let down = wait_message(
        &maildir,
        "[LB1] Realserver [127.0.0.1]:tcp:18095 of virtual server [192.0.2.100]:tcp:80 - DOWN",
        15,
    )
    .unwrap_or_else(|| panic!("no real server DOWN alert; log:\n{}", daemon.log()));
    assert!(
        down.body.trim().starts_with("=> CHECK failed on service"),
        "{:?}",
        down.body
    );
    assert!(down.body.trim().ends_with("<="), "{:?}", down.body);
    assert_eq!(down.header("from"), Some("ka@example.com"));

    // Its virtual server (quorum 1 by default) loses its quorum; and gains it again when the
    // server is back.
    let vs_down = wait_message(
        &maildir,
        "[LB1] Virtualserver [192.0.2.100]:tcp:80 - DOWN",
        15,
    )
    .unwrap_or_else(|| panic!("no virtual server DOWN alert; log:\n{}", daemon.log()));
    assert_eq!(vs_down.body.trim(), "=> Lost quorum 1-0=1 > 0 <=");
    let _web = http_server(&host, &dir.0, 18095);
    let vs_up = wait_message(
        &maildir,
        "[LB1] Virtualserver [192.0.2.100]:tcp:80 - UP",
        15,
    )
    .unwrap_or_else(|| panic!("no virtual server UP alert; log:\n{}", daemon.log()));
    assert_eq!(vs_up.body.trim(), "=> Gained quorum 1+0=1 <= 1 <=");
    assert_eq!(vs_up.header("x-mailer"), Some("Keepalived"));

    // Stopping sends the instance's "Stopping" alert before the daemon exits.
    daemon.child.signal("TERM").expect("TERM");
    assert!(daemon.child.wait_timeout(Duration::from_secs(8)).is_some());
    let stop = wait_message(&maildir, "[LB1] VRRP Instance VI_1 - Stopping", 5)
        .unwrap_or_else(|| panic!("no Stopping alert; log:\n{}", daemon.log()));
    assert_eq!(stop.body.trim(), "=> VRRP Instance stopping <=");
    // One MASTER alert only (the same state is not mailed twice).
    let masters = messages(&maildir)
        .iter()
        .filter(|m| {
            m.header("subject")
                .is_some_and(|s| s.contains("Entering MASTER"))
        })
        .count();
    assert_eq!(masters, 1);
}

/// A TCP server in `host` that accepts connections and never says anything; counts them.
fn silent_server(host: &Host, port: u16) -> Arc<Mutex<Vec<std::net::TcpStream>>> {
    let held = Arc::new(Mutex::new(Vec::new()));
    let ns = std::fs::File::open(format!("/run/netns/{}", host.netns())).expect("netns");
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let h = held.clone();
    std::thread::spawn(move || {
        nix::sched::setns(&ns, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind");
        let _ = ready_tx.send(());
        for conn in listener.incoming().flatten() {
            if let Ok(mut v) = h.lock() {
                v.push(conn);
            }
        }
    });
    ready_rx
        .recv_timeout(Duration::from_secs(5))
        .expect("silent server ready");
    held
}

#[test]
fn hanging_smtp_server_delays_neither_adverts_nor_checks() {
    if let Some(reason) = crate::support::skip_reason_for(false, true) {
        eprintln!("skipping: {reason}");
        return;
    }
    let net = crate::support::two_hosts("kvmailhang");
    let (ha1, ha2) = (&net.hosts[0], &net.hosts[1]);
    ha1.link_set_up("lo").expect("lo");
    let dir = TempDir::new("alerts-hang");
    let held = silent_server(ha1, 2526);
    let mut web = http_server(ha1, &dir.0, 18096);
    let vrrp = |prio: u8| {
        format!(
            "vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    \
             priority {prio}\n    version 3\n    advert_int 0.1\n    virtual_ipaddress {{\n        \
             192.0.2.100/24 dev eth0\n    }}\n}}\n"
        )
    };
    let conf1 = format!(
        "global_defs {{\n    router_id HA1\n    notification_email {{\n        ops@example.com\n    }}\n    \
         notification_email_from ka@example.com\n    smtp_server 127.0.0.1 2526\n    smtp_alert\n}}\n{}\
         virtual_server 192.0.2.100 80 {{\n    delay_loop 1\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n    \
         real_server 127.0.0.1 18096 {{\n        TCP_CHECK {{\n            connect_timeout 1\n            retry 0\n        }}\n    }}\n}}\n",
        vrrp(150)
    );
    let d1 = Daemon::start(ha1, &dir.0, "ha1", &conf1, &[]);
    let d2 = Daemon::start(ha2, &dir.0, "ha2", &vrrp(100), &[]);
    let vip = "192.0.2.100".parse().expect("vip");
    assert!(
        wait_until(Duration::from_secs(10), POLL, || ha1.has_addr(vip)).is_some(),
        "ha1 never became master:\n{}",
        d1.log()
    );
    // The MASTER alert is stuck on the silent server (smtp_connect_timeout is 30 s).
    assert!(
        wait_until(Duration::from_secs(5), POLL, || held
            .lock()
            .is_ok_and(|v| !v.is_empty()))
        .is_some(),
        "no SMTP connection was made:\n{}",
        d1.log()
    );
    // For the next 4 s, with adverts every 100 ms, the backup never takes over (it would after
    // 360 ms without an advert) and the health check still notices its server going away.
    // Both routers start at once and may both time out before hearing each other: only a
    // takeover after ha1 settled as master counts.
    assert!(
        wait_until(Duration::from_secs(5), POLL, || !ha2.has_addr(vip)).is_some(),
        "ha2 kept the VIP:\n{}",
        d2.log()
    );
    let masters_before = d2.log().matches("Entering MASTER").count();
    let t0 = std::time::Instant::now();
    std::thread::sleep(Duration::from_millis(1500));
    web.kill();
    let removed = wait_until(Duration::from_secs(5), POLL, || {
        d1.logged("Removing service [127.0.0.1]:tcp:18096")
    });
    assert!(removed.is_some(), "check was delayed:\n{}", d1.log());
    while t0.elapsed() < Duration::from_secs(4) {
        assert!(
            !ha2.has_addr(vip),
            "backup took over:\n{}\n{}",
            d2.log(),
            d1.log()
        );
        std::thread::sleep(POLL);
    }
    assert!(
        d2.log().matches("Entering MASTER").count() == masters_before,
        "backup took over:\n{}\n{}",
        d2.log(),
        d1.log()
    );
    assert!(held.lock().is_ok_and(|v| !v.is_empty()));
    // Nor does it hold up the stop: the queued alerts are given up after a second.
    let mut d1 = d1;
    let t1 = std::time::Instant::now();
    d1.child.signal("TERM").expect("TERM");
    assert!(
        d1.child.wait_timeout(Duration::from_secs(5)).is_some(),
        "did not stop:\n{}",
        d1.log()
    );
    eprintln!("stop with a silent SMTP server took {:?}", t1.elapsed());
}
