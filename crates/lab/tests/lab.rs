//! Tests of the lab itself: links, addresses, bridges, process handling and
//! teardown. They need root and iproute2 and skip (with a message) otherwise.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use lab::{Host, Lab, list_netns, require_root, wait_until};

const PREFIX: &str = "labt";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Retries a single-shot ping for a few seconds (neighbour discovery,
/// links coming up).
fn reaches(from: &Host, to: &str) -> bool {
    wait_until(Duration::from_secs(5), Duration::from_millis(100), || {
        from.ping(ip(to))
    })
    .is_some()
}

/// Whether `pid` is gone or a zombie.
fn dead(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/status")) {
        Err(_) => true,
        Ok(s) => s
            .lines()
            .any(|l| l.starts_with("State:") && l.contains('Z')),
    }
}

#[test]
fn veth_hosts_ping_each_other_v4_and_v6() {
    require_root!();
    let lab = Lab::new(PREFIX).unwrap();
    let ha1 = lab.host("ha1").unwrap();
    let ha2 = lab.host("ha2").unwrap();
    lab.veth(&ha1, "eth0", &ha2, "eth0").unwrap();
    assert!(ha1.iface_exists("eth0") && ha2.iface_exists("eth0"));
    ha1.add_addr("eth0", "192.0.2.1/24").unwrap();
    ha2.add_addr("eth0", "192.0.2.2/24").unwrap();
    ha1.add_addr("eth0", "2001:db8::1/64").unwrap();
    ha2.add_addr("eth0", "2001:db8::2/64").unwrap();
    assert!(reaches(&ha1, "192.0.2.2"));
    assert!(reaches(&ha2, "192.0.2.1"));
    assert!(reaches(&ha1, "2001:db8::2"));
    assert!(reaches(&ha2, "2001:db8::1"));
    // An address nobody has does not answer.
    assert!(!ha1.ping(ip("192.0.2.99")));

    // Taking the link down cuts the path; bringing it back restores it.
    ha2.link_set_down("eth0").unwrap();
    assert!(!ha1.ping(ip("192.0.2.2")));
    ha2.link_set_up("eth0").unwrap();
    assert!(reaches(&ha1, "192.0.2.2"));
}

#[test]
fn two_hosts_share_eth0_and_a_veth_loop_stays_inside() {
    require_root!();
    let lab = Lab::new(PREFIX).unwrap();
    let (a, b) = lab
        .two_hosts(
            "a",
            &["192.0.2.1/24", "2001:db8::1/64"],
            "b",
            &["192.0.2.2/24"],
        )
        .unwrap();
    assert_eq!((a.name(), b.name()), ("a", "b"));
    assert!(a.addrs("eth0").unwrap().contains(&(ip("2001:db8::1"), 64)));
    assert_eq!(
        b.addrs("eth0")
            .unwrap()
            .into_iter()
            .filter(|(addr, _)| !matches!(addr, IpAddr::V6(v6) if v6.segments()[0] == 0xfe80))
            .collect::<Vec<_>>(),
        [(ip("192.0.2.2"), 24)]
    );
    assert!(reaches(&a, "192.0.2.2"));

    a.veth_loop("trk0", "trk1").unwrap();
    for end in ["trk0", "trk1"] {
        let link = a.ip(["-j", "link", "show", "dev", end]).unwrap();
        assert!(
            link.contains("\"operstate\":\"UP\""),
            "{end} not up: {link}"
        );
    }
    assert!(!b.iface_exists("trk1"), "the peer end left the host");
    assert!(a.veth_loop("trk0", "trk2").is_err(), "a taken name");
    assert!(a.veth_loop("x0", "x0").is_err(), "one name for both ends");
}

#[test]
fn addresses_read_back() {
    require_root!();
    let lab = Lab::new(PREFIX).unwrap();
    let h = lab.host("h").unwrap();
    let peer = lab.host("peer").unwrap();
    lab.veth(&h, "eth0", &peer, "veth-peer").unwrap();
    assert!(peer.iface_exists("veth-peer"));
    assert!(!h.iface_exists("nosuch0"));

    h.add_addr("eth0", "198.51.100.7/24").unwrap();
    h.add_addr("eth0", "203.0.113.9/32").unwrap();
    h.add_addr("eth0", "2001:db8:1::7/64").unwrap();
    let got = h.addrs("eth0").unwrap();
    for want in [
        (ip("198.51.100.7"), 24),
        (ip("203.0.113.9"), 32),
        (ip("2001:db8:1::7"), 64),
    ] {
        assert!(got.contains(&want), "{want:?} missing from {got:?}");
    }
    assert!(h.has_addr(ip("2001:db8:1::7")));
    assert!(h.has_addr(ip("127.0.0.1")));
    assert!(!peer.has_addr(ip("198.51.100.7")));

    h.del_addr("eth0", "203.0.113.9/32").unwrap();
    assert!(!h.has_addr(ip("203.0.113.9")));
    assert!(h.addrs("nosuch0").is_err());
    assert!(h.add_addr("eth0", "not-an-address/24").is_err());
}

#[test]
fn bridge_joins_three_hosts() {
    require_root!();
    let lab = Lab::new(PREFIX).unwrap();
    let lan = lab.bridge("lan").unwrap();
    let hosts: Vec<Host> = ["a", "b", "c"]
        .iter()
        .map(|n| lab.host(n).unwrap())
        .collect();
    let mut ports = Vec::new();
    for (i, h) in hosts.iter().enumerate() {
        ports.push(lab.attach(&lan, h, "eth0").unwrap());
        h.add_addr("eth0", &format!("192.0.2.{}/24", i + 1))
            .unwrap();
        h.add_addr("eth0", &format!("2001:db8::{}/64", i + 1))
            .unwrap();
    }
    assert_eq!(ports, ["a-eth0", "b-eth0", "c-eth0"]);
    for (i, from) in hosts.iter().enumerate() {
        for j in 0..hosts.len() {
            if i != j {
                assert!(reaches(from, &format!("192.0.2.{}", j + 1)), "{i}->{j}");
                assert!(
                    reaches(from, &format!("2001:db8::{}", j + 1)),
                    "{i}->{j} v6"
                );
            }
        }
    }
    // Cutting c's cable on the bridge side isolates it.
    lan.host().link_set_down(&ports[2]).unwrap();
    assert!(!hosts[0].ping(ip("192.0.2.3")));
    assert!(hosts[0].ping(ip("192.0.2.2")));
}

#[test]
fn drop_removes_namespaces_even_after_panic() {
    require_root!();
    let names = Mutex::new(Vec::new());
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let lab = Lab::new(PREFIX).unwrap();
        let a = lab.host("pa").unwrap();
        let b = lab.host("pb").unwrap();
        lab.veth(&a, "eth0", &b, "eth0").unwrap();
        let seg = lab.bridge("pseg").unwrap();
        lab.attach(&seg, &a, "eth1").unwrap();
        let _child = a.spawn("sleep", ["1000"]).unwrap();
        *names.lock().unwrap() = lab.namespaces();
        assert!(list_netns().unwrap().contains(&a.netns().to_owned()));
        panic!("deliberate panic inside a lab");
    }));
    assert!(result.is_err());
    let names = names.into_inner().unwrap();
    assert_eq!(names.len(), 3);
    let left = list_netns().unwrap();
    for n in &names {
        assert!(!left.contains(n), "{n} survived the lab");
    }
}

#[test]
fn spawned_processes_are_killed() {
    require_root!();
    let lab = Lab::new(PREFIX).unwrap();
    let h = lab.host("procs").unwrap();

    // A LabChild kills its process when dropped.
    let child = h.spawn("sleep", ["1000"]).unwrap();
    let pid = child.id();
    assert!(!dead(pid));
    drop(child);
    assert!(dead(pid));

    // Signals reach it; it exits on TERM.
    let mut child = h.spawn("sleep", ["1000"]).unwrap();
    assert!(child.is_running());
    child.signal("TERM").unwrap();
    assert!(child.wait_timeout(Duration::from_secs(5)).is_some());
    assert!(child.signal("bad name").is_err());

    // Dropping the lab kills what is still running in its namespaces,
    // whether or not this process started it directly.
    let mut kept = h.spawn("sleep", ["1000"]).unwrap();
    let out = h.exec_sh("sleep 1000 >/dev/null 2>&1 & echo $!");
    assert!(out.status.success());
    let orphan: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    assert!(!dead(orphan));
    drop(lab);
    assert!(kept.wait_timeout(Duration::from_secs(5)).is_some());
    assert!(
        wait_until(Duration::from_secs(5), Duration::from_millis(20), || dead(
            orphan
        ))
        .is_some()
    );
}

#[test]
fn run_reports_output_and_status() {
    require_root!();
    let lab = Lab::new(PREFIX).unwrap();
    let h = lab.host("run").unwrap();
    let out = h.run("sh", ["-c", "echo hi; exit 3"]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hi\n");
    let err = h.run_ok("sh", ["-c", "echo oops >&2; exit 1"]).unwrap_err();
    assert!(err.to_string().contains("oops"), "{err}");
    // Commands really run inside the namespace: only lo is there.
    let links = h.run_ok("ip", ["-o", "link"]).unwrap();
    assert_eq!(links.lines().count(), 1, "{links}");
    h.sysctl("net.ipv4.ip_forward", "1").unwrap();
    let fwd = h.exec_sh("cat /proc/sys/net/ipv4/ip_forward");
    assert_eq!(String::from_utf8_lossy(&fwd.stdout).trim(), "1");
}

#[test]
fn bad_names_are_refused() {
    require_root!();
    let lab = Lab::new(PREFIX).unwrap();
    assert!(Lab::new("bad/prefix").is_err());
    let h = lab.host("names").unwrap();
    assert!(lab.host("names").is_err(), "duplicate host name");
    assert!(lab.host("a b").is_err());
    assert!(lab.veth(&h, "x0", &h, "x0").is_err());
    assert!(lab.veth(&h, "sixteen-chars-xx", &h, "y0").is_err());
    // A loop inside one namespace is fine with distinct names.
    lab.veth(&h, "x0", &h, "y0").unwrap();
    assert!(h.iface_exists("x0") && h.iface_exists("y0"));
}

#[test]
fn cleanup_stale_removes_dead_runs_only() {
    require_root!();
    let prefix = "labstale";
    // A pid that existed and is now gone.
    let mut c = std::process::Command::new("true").spawn().unwrap();
    let dead_pid = c.id();
    c.wait().unwrap();
    assert!(!Path::new(&format!("/proc/{dead_pid}")).exists());
    let stale = format!("{prefix}-{dead_pid}-0-x");
    let ok = std::process::Command::new("ip")
        .args(["netns", "add", &stale])
        .status()
        .unwrap();
    assert!(ok.success());

    let live = Lab::new(prefix).unwrap(); // also runs cleanup_stale
    let h = live.host("alive").unwrap();
    lab::cleanup_stale(prefix).unwrap();
    let left = list_netns().unwrap();
    assert!(!left.contains(&stale), "stale namespace survived");
    assert!(
        left.contains(&h.netns().to_owned()),
        "live namespace removed"
    );
}
