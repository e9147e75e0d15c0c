//! BFD on the wire with FRR's bfdd (Debian package `frr`, 8.4), run alone in a lab namespace
//! with its own configuration, pid file and vty directory (never the host's service):
//!
//! - single-hop IPv4 and IPv6 at 50 ms × 3: both sides Up (our log, bfdd's `show bfd peers
//!   json`). IPv6 needs `hoplimit 255` on our side: keepalived's default hop limit 64 is
//!   dropped by bfdd's GTSM check (RFC 5881 section 5), checked here too;
//! - multihop (RFC 5883, port 4784) across a router (TTL 254 on arrival, `max_hops 5`): Up,
//!   then bfdd frozen: our VRRP instance tracking the session releases its VIP within the
//!   detection time + 100 ms.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use lab::{Host, Lab};

use crate::support::{Router, report, skip_reason_for, wait_from};

const BFDD: &str = "/usr/lib/frr/bfdd";
const BOUND: Duration = Duration::from_millis(250);

/// Whether bfdd can run here (root is checked by the caller).
fn missing_bfdd() -> bool {
    if std::path::Path::new(BFDD).exists() {
        return false;
    }
    eprintln!("skipping: {BFDD} not installed (Debian package frr)");
    true
}

/// One bfdd in a lab host, with its files in a temp dir owned by the frr user; killed when
/// dropped.
struct Bfdd {
    host: Host,
    dir: PathBuf,
    pid: u32,
}

impl Bfdd {
    fn start(host: &Host, tag: &str, peers: &str) -> Bfdd {
        let dir = std::env::temp_dir().join(format!("ka-bfdd-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("bfdd dir");
        std::fs::write(dir.join("bfdd.conf"), format!("bfd\n{peers}!\n")).expect("bfdd conf");
        let ok = Command::new("chown")
            .args(["-R", "frr:frr"])
            .arg(&dir)
            .status()
            .expect("chown")
            .success();
        assert!(ok, "chown frr {dir:?}");
        let out = host
            .command(BFDD)
            .arg("-d")
            .arg("-f")
            .arg(dir.join("bfdd.conf"))
            .arg("-i")
            .arg(dir.join("bfdd.pid"))
            .arg("-z")
            .arg(dir.join("zserv.api"))
            .arg("--vty_socket")
            .arg(&dir)
            .args(["-u", "frr", "-g", "frr", "--log"])
            .arg(format!("file:{}", dir.join("bfdd.log").display()))
            .output()
            .expect("run bfdd");
        assert!(out.status.success(), "bfdd: {out:?}");
        let read_pid = || {
            std::fs::read_to_string(dir.join("bfdd.pid"))
                .ok()
                .and_then(|s| s.trim().parse::<u32>().ok())
        };
        lab::wait_until(Duration::from_secs(5), Duration::from_millis(20), || {
            read_pid().is_some()
        });
        let pid = read_pid().expect("bfdd pid file");
        Bfdd {
            host: host.clone(),
            dir,
            pid,
        }
    }

    /// `show bfd peers json`.
    fn peers(&self) -> String {
        let out = Command::new("vtysh")
            .arg("--vty_socket")
            .arg(&self.dir)
            .args(["-c", "show bfd peers json"])
            .output()
            .expect("vtysh");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The status of its session with `peer` (`up`, `down`, `init`), if it has one.
    fn status(&self, peer: &str, multihop: bool) -> Option<String> {
        let v: serde_json::Value = serde_json::from_str(&self.peers()).ok()?;
        v.as_array()?
            .iter()
            .find(|p| p["peer"] == peer && p["multihop"] == multihop)
            .and_then(|p| p["status"].as_str().map(str::to_owned))
    }

    fn signal(&self, sig: &str) {
        let _ = Command::new("kill")
            .args([&format!("-{sig}"), &self.pid.to_string()])
            .status();
    }

    fn describe(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("bfdd.log")).unwrap_or_default();
        format!(
            "===== bfdd in {} =====\n{}\n{log}",
            self.host.netns(),
            self.peers()
        )
    }
}

impl Drop for Bfdd {
    fn drop(&mut self) {
        self.signal("CONT");
        self.signal("KILL");
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn peer_block(peer: &str, local: &str, extra: &str) -> String {
    format!(
        " peer {peer}{extra} local-address {local}\n  receive-interval 50\n  \
         transmit-interval 50\n  detect-multiplier 3\n !\n"
    )
}

fn instance(name: &str, nbr: &str, src: &str, extra: &str) -> String {
    format!(
        "bfd_instance {name} {{\n    neighbor_ip {nbr}\n    source_ip {src}\n    min_rx 50\n    \
         min_tx 50\n    idle_tx 1000\n    multiplier 3\n{extra}}}\n"
    )
}

#[test]
fn single_hop_ipv4_and_ipv6_come_up_with_frr_bfdd() {
    if skip_reason_for(false, true).is_some() || missing_bfdd() {
        return;
    }
    let net = crate::support::two_hosts("kaifrr1");
    let (ha1, ha2) = (&net.hosts[0], &net.hosts[1]);
    let peers = format!(
        "{}{}{}",
        peer_block("192.0.2.1", "192.0.2.2", ""),
        peer_block("2001:db8::1", "2001:db8::2", ""),
        // Our second IPv6 session keeps keepalived's default hop limit 64.
        peer_block("2001:db8::11", "2001:db8::2", ""),
    );
    ha1.add_addr("eth0", "2001:db8::11/64").expect("addr");
    let bfdd = Bfdd::start(ha2, "single", &peers);
    let conf = format!(
        "{}{}{}",
        instance("b4", "192.0.2.2", "192.0.2.1", ""),
        instance("b6", "2001:db8::2", "2001:db8::1", "    hoplimit 255\n"),
        instance("b64", "2001:db8::2", "2001:db8::11", ""),
    );
    let ours = Router::ours(ha1, &conf);
    let up = wait_from(
        Instant::now(),
        Duration::from_secs(15),
        Duration::from_millis(50),
        || {
            bfdd.status("192.0.2.1", false).as_deref() == Some("up")
                && bfdd.status("2001:db8::1", false).as_deref() == Some("up")
                && ours.logged("(b4) Entering Up state")
                && ours.logged("(b6) Entering Up state")
        },
    );
    assert!(up.is_some(), "{}{}", ours.describe(), bfdd.describe());
    // The hop limit 64 session never comes up on bfdd's side (GTSM), as with keepalived.
    std::thread::sleep(Duration::from_secs(1));
    assert_ne!(
        bfdd.status("2001:db8::11", false).as_deref(),
        Some("up"),
        "{}",
        bfdd.describe()
    );
    assert!(
        !ours.logged("(b64) Entering Up state"),
        "{}",
        ours.describe()
    );
}

/// ha1 (192.0.2.1) - router (192.0.2.254 | 198.51.100.254) - ha2 (198.51.100.2).
fn routed(lab: &Lab) -> (Host, Host, Host) {
    let ha1 = lab.host("ha1").expect("host");
    let r = lab.host("rt").expect("host");
    let ha2 = lab.host("ha2").expect("host");
    lab.veth(&ha1, "eth0", &r, "eth0").expect("veth");
    lab.veth(&r, "eth1", &ha2, "eth0").expect("veth");
    ha1.add_addr("eth0", "192.0.2.1/24").expect("addr");
    r.add_addr("eth0", "192.0.2.254/24").expect("addr");
    r.add_addr("eth1", "198.51.100.254/24").expect("addr");
    ha2.add_addr("eth0", "198.51.100.2/24").expect("addr");
    r.sysctl("net.ipv4.ip_forward", "1").expect("forwarding");
    ha1.ip(["route", "add", "198.51.100.0/24", "via", "192.0.2.254"])
        .expect("route");
    ha2.ip(["route", "add", "192.0.2.0/24", "via", "198.51.100.254"])
        .expect("route");
    (ha1, r, ha2)
}

#[test]
fn multihop_through_a_router_with_frr_bfdd_tracks_vrrp() {
    if skip_reason_for(false, true).is_some() || missing_bfdd() {
        return;
    }
    let lab = Lab::new("kaifrrm").expect("lab");
    let (ha1, _r, ha2) = routed(&lab);
    let bfdd = Bfdd::start(
        &ha2,
        "multihop",
        &peer_block("192.0.2.1", "198.51.100.2", " multihop"),
    );
    let vip: IpAddr = "192.0.2.100".parse().expect("vip");
    let conf = format!(
        "{}vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    \
         virtual_router_id 51\n    priority 100\n    version 3\n    advert_int 0.1\n    \
         track_bfd {{\n        m1\n    }}\n    virtual_ipaddress {{\n        192.0.2.100/24\n    \
         }}\n}}\n",
        instance(
            "m1",
            "198.51.100.2",
            "192.0.2.1",
            "    multihop\n    max_hops 5\n"
        )
    );
    let ours = Router::ours(&ha1, &conf);
    let up = wait_from(
        Instant::now(),
        Duration::from_secs(15),
        Duration::from_millis(20),
        || ha1.has_addr(vip) && bfdd.status("192.0.2.1", true).as_deref() == Some("up"),
    );
    assert!(up.is_some(), "{}{}", ours.describe(), bfdd.describe());
    let t0 = Instant::now();
    bfdd.signal("STOP");
    let gone = wait_from(t0, Duration::from_secs(3), Duration::from_millis(1), || {
        !ha1.has_addr(vip)
    });
    let Some(d) = gone else {
        panic!("the VIP stayed\n{}", ours.describe());
    };
    report("bfd-frr-multihop", "ours-vs-bfdd", "fault", d, BOUND);
    assert!(d <= BOUND, "{d:?}\n{}", ours.describe());
    bfdd.signal("CONT");
    let back = wait_from(
        Instant::now(),
        Duration::from_secs(10),
        Duration::from_millis(10),
        || ha1.has_addr(vip),
    );
    assert!(back.is_some(), "{}{}", ours.describe(), bfdd.describe());
}
