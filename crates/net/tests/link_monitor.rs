//! Link notifications against the real kernel, in a lab namespace: [`LinkMonitor`] must report
//! an interface going down (administratively, or by losing carrier when the veth's peer goes
//! down), coming back, being deleted and re-created with a new index, each as an event, without
//! any polling (the test blocks in `poll(2)` on the monitor's socket). An administrative down
//! and a deletion must arrive within 100 ms of the `ip` command returning. Carrier and
//! operational-state changes go through the kernel's linkwatch, which batches non-urgent ones
//! for up to one second (keepalived sees the same delay), so those get 1.1 s.
//! [`Rtnl::links`] must agree with `ip -j link`. Needs root; skips with a message otherwise.

mod common;

use std::time::{Duration, Instant};

use common::in_netns;
use keepalived_net::{LinkEvent, LinkMonitor, Rtnl, ifindex};
use lab::{Host, Lab};

/// Budget for an urgent event (administrative down, deletion) to arrive after the command
/// that causes it returned.
const URGENT: Duration = Duration::from_millis(100);
/// Budget for an event the kernel's linkwatch may delay (carrier, coming up): its batching
/// interval is one second.
const LINKWATCH: Duration = Duration::from_millis(1100);

/// `ha1` with veths `eth0` and `eth1` to `ha2`, and a monitor and rtnetlink socket opened
/// inside `ha1`.
fn setup() -> (Lab, Host, Host, LinkMonitor, Rtnl) {
    let lab = Lab::new("kalink").unwrap();
    let ha1 = lab.host("ha1").unwrap();
    let ha2 = lab.host("ha2").unwrap();
    lab.veth(&ha1, "eth0", &ha2, "eth0").unwrap();
    lab.veth(&ha1, "eth1", &ha2, "eth1").unwrap();
    for ifname in ["eth0", "eth1"] {
        wait_running(&ha1, ifname);
    }
    let (monitor, rtnl) = in_netns(&ha1, || {
        (LinkMonitor::open().unwrap(), Rtnl::open().unwrap())
    });
    (lab, ha1, ha2, monitor, rtnl)
}

/// Waits (up to 2 s) until `ifname` on `host` is operationally up: a fresh veth gets its
/// carrier through the kernel's linkwatch, which may take up to a second.
fn wait_running(host: &Host, ifname: &str) {
    let up = lab::wait_until(Duration::from_secs(2), Duration::from_millis(10), || {
        host.ip(["-j", "link", "show", "dev", ifname])
            .is_ok_and(|o| o.contains("\"operstate\":\"UP\""))
    });
    assert!(up.is_some(), "{ifname} never came up");
}

/// Waits (in `poll(2)`, at most `budget` from `since`) for an event about `name` matching
/// `want`; returns it and when it was read. Events about other links, and intermediate ones
/// about `name`, are skipped.
fn expect_event(
    monitor: &mut LinkMonitor,
    budget: Duration,
    since: Instant,
    name: &str,
    want: impl Fn(&LinkEvent) -> bool,
) -> (LinkEvent, Duration) {
    let mut seen = Vec::new();
    loop {
        let left = budget.saturating_sub(since.elapsed());
        if !monitor.wait_readable(left).unwrap() {
            panic!("no matching event for {name} within {budget:?}; saw {seen:?}");
        }
        loop {
            match monitor.recv() {
                Ok(events) => {
                    for e in events {
                        if e.name == name && want(&e) {
                            return (e, since.elapsed());
                        }
                        seen.push(e);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("recv: {e}"),
            }
        }
    }
}

/// Reads whatever is queued, without waiting.
fn drain(monitor: &mut LinkMonitor) -> Vec<LinkEvent> {
    let mut out = Vec::new();
    loop {
        match monitor.recv() {
            Ok(events) => out.extend(events),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return out,
            Err(e) => panic!("recv: {e}"),
        }
    }
}

#[test]
fn dump_matches_ip_link() {
    lab::require_root!();
    let (_lab, ha1, _ha2, _monitor, mut rtnl) = setup();
    let links = rtnl.links().unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&ha1.ip(["-j", "link", "show"]).unwrap()).unwrap();
    let theirs = json.as_array().unwrap();
    assert_eq!(links.len(), theirs.len(), "{links:?}");
    for l in &links {
        let t = theirs.iter().find(|t| t["ifname"] == l.name).unwrap();
        assert_eq!(t["ifindex"], l.ifindex);
        let flags: Vec<&str> = t["flags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap())
            .collect();
        // iproute2 shows RUNNING as LOWER_UP's companion only in `operstate`; UP and
        // LOWER_UP are what `ip` prints, and a veth with its peer up is running.
        assert_eq!(
            l.up,
            flags.contains(&"UP") && flags.contains(&"LOWER_UP"),
            "{l:?} {t}"
        );
        if let Some(mac) = l.mac {
            assert_eq!(t["address"], keepalived_net::mac_str(&mac));
        }
    }
    let eth0 = links.iter().find(|l| l.name == "eth0").unwrap();
    assert!(eth0.up);
    assert_eq!(eth0.kind.as_deref(), Some("veth"));
    assert!(!eth0.event().deleted);
    let idx = in_netns(&ha1, || ifindex("eth0").unwrap());
    assert_eq!(eth0.ifindex, idx);
    assert_eq!(rtnl.link_by_name("eth0").unwrap().unwrap().ifindex, idx);
    assert_eq!(rtnl.link_by_index(idx).unwrap().unwrap().name, "eth0");
    assert!(rtnl.link_by_name("nope0").unwrap().is_none());
}

#[test]
fn down_up_carrier_and_delete_are_events() {
    lab::require_root!();
    let (_lab, ha1, ha2, mut monitor, mut rtnl) = setup();
    drain(&mut monitor);
    let eth0 = rtnl.link_by_name("eth0").unwrap().unwrap();

    // Administratively down.
    ha1.link_set_down("eth0").unwrap();
    let t = Instant::now();
    let (e, took) = expect_event(&mut monitor, URGENT, t, "eth0", |e| !e.up);
    assert_eq!((e.ifindex, e.deleted), (eth0.ifindex, false));
    eprintln!("down seen {took:?} after `ip link set eth0 down` returned");

    // Up again.
    ha1.link_set_up("eth0").unwrap();
    let (e, took) = expect_event(&mut monitor, LINKWATCH, Instant::now(), "eth0", |e| e.up);
    assert_eq!(e.ifindex, eth0.ifindex);
    eprintln!("up seen {took:?} after `ip link set eth0 up` returned");

    // Carrier lost: the peer goes down, eth0 stays administratively up but not running.
    ha2.link_set_down("eth0").unwrap();
    let (e, _) = expect_event(&mut monitor, LINKWATCH, Instant::now(), "eth0", |e| !e.up);
    assert!(!e.deleted);
    let info = rtnl.link_by_name("eth0").unwrap().unwrap();
    assert!(
        !info.up && info.flags & 1 == 1,
        "UP without RUNNING: {info:?}"
    );
    ha2.link_set_up("eth0").unwrap();
    expect_event(&mut monitor, LINKWATCH, Instant::now(), "eth0", |e| e.up);

    // Nothing happens: no event (the monitor does not poll or repeat itself).
    drain(&mut monitor);
    assert!(!monitor.wait_readable(Duration::from_millis(200)).unwrap());

    // Deleted, then created again under the same name: a new index, up once both ends are.
    let eth1 = rtnl.link_by_name("eth1").unwrap().unwrap();
    ha1.ip(["link", "del", "eth1"]).unwrap();
    let (e, took) = expect_event(&mut monitor, URGENT, Instant::now(), "eth1", |e| e.deleted);
    assert_eq!(e.ifindex, eth1.ifindex);
    assert!(!e.up);
    eprintln!("deletion seen {took:?} after `ip link del eth1` returned");
    ha1.veth_loop("eth1", "peer1").unwrap();
    let (e, _) = expect_event(&mut monitor, LINKWATCH, Instant::now(), "eth1", |e| e.up);
    assert_ne!(e.ifindex, eth1.ifindex);
    assert!(!e.deleted);

    // A rename is an event under the new name with the same index.
    ha1.link_set_down("eth1").unwrap();
    ha1.ip(["link", "set", "eth1", "name", "eth9"]).unwrap();
    let (r, _) = expect_event(&mut monitor, URGENT, Instant::now(), "eth9", |_| true);
    assert_eq!(r.ifindex, e.ifindex);
}

#[test]
fn an_overrun_is_reported_and_reading_goes_on() {
    lab::require_root!();
    let (_lab, ha1, _ha2, mut monitor, _rtnl) = setup();
    drain(&mut monitor);
    monitor.set_recv_buffer(1).unwrap();
    // Each MTU change is a notification of about a kilobyte: far more than the smallest buffer.
    for mtu in 1400..1440 {
        ha1.ip(["link", "set", "eth0", "mtu", &mtu.to_string()])
            .unwrap();
    }
    let mut overruns = 0;
    let mut events = 0;
    loop {
        match monitor.recv() {
            Ok(e) => events += e.len(),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) if LinkMonitor::is_overrun(&e) => overruns += 1,
            Err(e) => panic!("recv: {e}"),
        }
    }
    assert!(
        overruns >= 1,
        "no ENOBUFS after 40 changes ({events} events read)"
    );
    assert!(events < 40, "{events} events fitted in the smallest buffer");
    // The socket still works afterwards.
    monitor.set_recv_buffer(1 << 20).unwrap();
    ha1.link_set_down("eth0").unwrap();
    expect_event(&mut monitor, URGENT, Instant::now(), "eth0", |e| !e.up);
}
