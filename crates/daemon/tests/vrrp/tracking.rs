//! Tracking, sync groups, notifications and VMAC with real processes in network namespaces:
//! a failing `vrrp_script` moves mastership to the peer and back, a tracked link going down
//! gives FAULT and a handover, a sync group moves together, notify scripts and the notify FIFO
//! see the exact transitions, a hanging script is killed at its timeout, and `use_vmac` puts the
//! VIP behind the virtual MAC. Each case runs with keepalived-rs and, where the behaviour is
//! keepalived's to define, with Debian's keepalived as the reference or as the peer.
//! Needs root (skips otherwise). Documentation addresses only.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::files::{TempDir, fifo_reader, script, script_dir};
use crate::support::net::tcpdump;
use crate::support::{
    Impl, Roles, Router, VIP4, count_processes, holders, skip_reason, skip_reason_for, two_hosts,
};
use lab::Host;

const POLL: Duration = Duration::from_millis(20);

/// One router's config: `global_defs` with `router_id` and `script_user root`, then `top`
/// (vrrp_script, sync groups, ...), then `VI_1` on eth0 (VRID 51, VIP 192.0.2.100/24) with
/// `priority` and the extra instance lines `inst`.
fn conf(router_id: &str, priority: u8, global: &str, top: &str, inst: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "global_defs {{\n    router_id {router_id}\n    script_user root\n{global}}}\n"
    );
    s.push_str(top);
    let _ = writeln!(
        s,
        "vrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 51\n    priority {priority}\n    \
         advert_int 1\n{inst}    virtual_ipaddress {{\n        {VIP4}/24 dev eth0\n    }}\n}}"
    );
    s
}

fn vip() -> IpAddr {
    VIP4.parse().expect("vip")
}

/// Waits until exactly host `holder` holds the VIP; panics with both routers' output if not
/// within `timeout`.
fn expect_holder(
    hosts: &[Host],
    holder: usize,
    timeout: Duration,
    routers: &[&Router],
    what: &str,
) {
    let t0 = Instant::now();
    while holders(hosts, vip()) != [holder] {
        if t0.elapsed() > timeout {
            let mut s = format!(
                "{what}: VIP holders {:?}, want [{holder}]\n",
                holders(hosts, vip())
            );
            for r in routers {
                s.push_str(&r.describe());
            }
            panic!("{s}");
        }
        std::thread::sleep(POLL);
    }
    eprintln!("{what}: after {:?}", t0.elapsed());
}

fn track_script_case(roles: Roles) {
    if skip_reason(roles).is_some() {
        return;
    }
    let net = two_hosts("kvtscr");
    let dir = script_dir(&format!("tscr-{}", roles.tag()));
    let flag = dir.0.join("fail");
    let check = script(&dir.0, "check.sh", &format!("[ ! -e {} ]", flag.display()));
    let top = format!(
        "vrrp_script chk {{\n    script \"{}\"\n    interval 1\n    fall 2\n    rise 2\n    weight -60\n}}\n",
        check.display()
    );
    let c1 = conf(
        "ha1",
        150,
        "",
        &top,
        "    track_script {\n        chk\n    }\n",
    );
    let c2 = conf("ha2", 120, "", "", "");
    let r1 = Router::start(roles.master, &net.hosts[0], "ha1", &c1);
    let r2 = Router::start(roles.backup, &net.hosts[1], "ha2", &c2);
    expect_holder(
        &net.hosts,
        0,
        Duration::from_secs(8),
        &[&r1, &r2],
        "election",
    );
    std::thread::sleep(Duration::from_secs(2));
    // Script fails: after fall (2) runs ha1 is at 90 < 120 and ha2 takes over after its
    // Master_Down_Interval (3.53 s).
    std::fs::write(&flag, "x").expect("flag");
    expect_holder(
        &net.hosts,
        1,
        Duration::from_secs(9),
        &[&r1, &r2],
        "script failing",
    );
    std::fs::remove_file(&flag).expect("unflag");
    expect_holder(
        &net.hosts,
        0,
        Duration::from_secs(9),
        &[&r1, &r2],
        "script recovered",
    );
}

#[test]
fn failing_script_moves_mastership_ours_tracking_keepalived_peer() {
    track_script_case(Roles::OURS_MASTER);
}

#[test]
fn failing_script_moves_mastership_keepalived_tracking_ours_peer() {
    track_script_case(Roles::KEEPALIVED_MASTER);
}

/// Issue 14's snippet: `vrrp_script chk_httpd { ...; interval 1; fall 2; rise 1 }` (interval 2
/// in the issue) tracked without a weight, so a failing script means FAULT, by ha1 (priority
/// 150); ha2 (100) tracks nothing. ha1 must leave INIT on the script's first success and win
/// the election (before the fix it stayed in INIT and ha2 became master), go to FAULT after
/// two failures (ha2 takes over), and come back when the script succeeds again. The times are
/// printed as `interop:` lines, beside keepalived's own in the reference run.
fn unweighted_script_case(roles: Roles) {
    if skip_reason(roles).is_some() {
        return;
    }
    let net = two_hosts("kvuws");
    let dir = script_dir(&format!("uws-{}", roles.tag()));
    let flag = dir.0.join("fail");
    let check = script(&dir.0, "check.sh", &format!("[ ! -e {} ]", flag.display()));
    let top = format!(
        "vrrp_script chk_httpd {{\n    script \"{}\"\n    interval 1\n    fall 2\n    rise 1\n}}\n",
        check.display()
    );
    let c1 = conf(
        "ha1",
        150,
        "",
        &top,
        "    track_script {\n        chk_httpd\n    }\n",
    );
    let c2 = conf("ha2", 100, "", "", "");
    let r1 = Router::start(roles.master, &net.hosts[0], "ha1", &c1);
    let r2 = Router::start(roles.backup, &net.hosts[1], "ha2", &c2);
    let routers = [&r1, &r2];
    let t0 = Instant::now();
    expect_holder(&net.hosts, 0, Duration::from_secs(8), &routers, "election");
    crate::support::report(
        "unweighted-script",
        &roles.tag(),
        "election",
        t0.elapsed(),
        Duration::from_secs(8),
    );
    assert!(
        r1.logged("VRRP_Script(chk_httpd) succeeded"),
        "{}",
        r1.describe()
    );
    assert!(!r1.logged("FAULT"), "{}", r1.describe());
    // Stable for a while: ha2 never took over.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(holders(&net.hosts, vip()), [0], "{}", r1.describe());

    std::fs::write(&flag, "x").expect("flag");
    let t0 = Instant::now();
    // Two failures (up to 2 s with interval 1), FAULT with a priority-0 advert, ha2 takes over
    // after its skew time.
    let bound = Duration::from_secs(4);
    expect_holder(&net.hosts, 1, bound, &routers, "script failing");
    crate::support::report(
        "unweighted-script",
        &roles.tag(),
        "fail",
        t0.elapsed(),
        bound,
    );
    let logged = lab::wait_until(Duration::from_secs(1), POLL, || {
        r1.logged("VRRP_Script(chk_httpd) failed (exited with status 1)")
            && r1.logged("(VI_1) Entering FAULT STATE")
    });
    assert!(logged.is_some(), "{}", r1.describe());
    assert!(!net.hosts[0].has_addr(vip()), "FAULT keeps no VIP");

    std::fs::remove_file(&flag).expect("unflag");
    let t0 = Instant::now();
    // One success (rise 1, within 1 s), BACKUP, then preemption after ha1's
    // Master_Down_Interval (3 + 106/256 s).
    let bound = Duration::from_secs(6);
    expect_holder(&net.hosts, 0, bound, &routers, "script recovered");
    crate::support::report(
        "unweighted-script",
        &roles.tag(),
        "recover",
        t0.elapsed(),
        bound,
    );
    assert_eq!(
        r1.count_logged("VRRP_Script(chk_httpd) succeeded"),
        2,
        "{}",
        r1.describe()
    );
}

#[test]
fn unweighted_script_moves_mastership_ours_tracking_keepalived_peer() {
    unweighted_script_case(Roles::OURS_MASTER);
}

#[test]
fn unweighted_script_moves_mastership_keepalived_tracking_ours_peer() {
    unweighted_script_case(Roles::KEEPALIVED_MASTER);
}

#[test]
fn unweighted_script_moves_mastership_keepalived_reference() {
    unweighted_script_case(Roles::REFERENCE);
}

/// A link to track on `host`: trk0, one end of a veth pair whose other end (trk1) stays in the
/// same namespace (this kernel has no dummy interfaces), both up.
fn tracked_link(host: &Host) {
    host.veth_loop("trk0", "trk1").expect("veth trk0");
}

fn track_interface_case(roles: Roles) {
    if skip_reason(roles).is_some() {
        return;
    }
    let net = two_hosts("kvtif");
    let ha1 = &net.hosts[0];
    tracked_link(ha1);
    let c1 = conf(
        "ha1",
        150,
        "",
        "",
        "    track_interface {\n        trk0\n    }\n",
    );
    let c2 = conf("ha2", 100, "", "", "");
    let r1 = Router::start(roles.master, ha1, "ha1", &c1);
    let r2 = Router::start(roles.backup, &net.hosts[1], "ha2", &c2);
    expect_holder(
        &net.hosts,
        0,
        Duration::from_secs(8),
        &[&r1, &r2],
        "election",
    );
    ha1.link_set_down("trk0").expect("down");
    // FAULT: ha1 resigns with a priority-0 advert, ha2 takes over after its skew time.
    expect_holder(
        &net.hosts,
        1,
        Duration::from_secs(2),
        &[&r1, &r2],
        "tracked link down",
    );
    let fault = lab::wait_until(Duration::from_secs(2), POLL, || {
        r1.logged("Entering FAULT STATE")
    });
    assert!(fault.is_some(), "no FAULT logged\n{}", r1.describe());
    ha1.link_set_up("trk0").expect("up");
    // BACKUP, then MASTER by preemption after ha1's Master_Down_Interval.
    expect_holder(
        &net.hosts,
        0,
        Duration::from_secs(8),
        &[&r1, &r2],
        "tracked link up",
    );
}

#[test]
fn tracked_link_down_gives_fault_ours_tracking_keepalived_peer() {
    track_interface_case(Roles::OURS_MASTER);
}

#[test]
fn tracked_link_down_gives_fault_keepalived_tracking_ours_peer() {
    track_interface_case(Roles::KEEPALIVED_MASTER);
}

/// Two instances (eth0 VRID 51, eth1 VRID 52) in one sync group; ha1 tracks trk0 in VI_2
/// only. trk0 down: both of ha1's instances leave MASTER and ha2 holds both VIPs.
fn sync_group_case(kind: Impl) {
    if skip_reason_for(kind == Impl::Keepalived, kind == Impl::Ours).is_some() {
        return;
    }
    let net = two_hosts("kvsync");
    let (ha1, ha2) = (&net.hosts[0], &net.hosts[1]);
    net.lab.veth(ha1, "eth1", ha2, "eth1").expect("veth eth1");
    ha1.add_addr("eth1", "198.51.100.1/24").expect("addr");
    ha2.add_addr("eth1", "198.51.100.2/24").expect("addr");
    tracked_link(ha1);
    let vip2: IpAddr = "198.51.100.100".parse().expect("vip2");
    let group = "vrrp_sync_group G {\n    group {\n        VI_1\n        VI_2\n    }\n}\n";
    let second = |prio: u8, track: &str| {
        format!(
            "vrrp_instance VI_2 {{\n    interface eth1\n    virtual_router_id 52\n    priority {prio}\n    \
             advert_int 1\n{track}    virtual_ipaddress {{\n        198.51.100.100/24 dev eth1\n    }}\n}}\n"
        )
    };
    let c1 = conf("ha1", 150, "", group, "")
        + &second(150, "    track_interface {\n        trk0\n    }\n");
    let c2 = conf("ha2", 100, "", group, "") + &second(100, "");
    let r1 = Router::start(kind, ha1, "ha1", &c1);
    let r2 = Router::start(kind, ha2, "ha2", &c2);
    expect_holder(
        &net.hosts,
        0,
        Duration::from_secs(8),
        &[&r1, &r2],
        "election VI_1",
    );
    let both_on = |h: usize| {
        lab::wait_until(Duration::from_secs(8), POLL, || {
            holders(&net.hosts, vip()) == [h] && holders(&net.hosts, vip2) == [h]
        })
    };
    assert!(both_on(0).is_some(), "{}{}", r1.describe(), r2.describe());
    ha1.link_set_down("trk0").expect("down");
    assert!(
        both_on(1).is_some(),
        "group did not move to ha2\n{}{}",
        r1.describe(),
        r2.describe()
    );
    ha1.link_set_up("trk0").expect("up");
    assert!(
        both_on(0).is_some(),
        "group did not come back\n{}{}",
        r1.describe(),
        r2.describe()
    );
}

#[test]
fn sync_group_moves_together_keepalived_reference() {
    sync_group_case(Impl::Keepalived);
}

#[test]
fn sync_group_moves_together_ours() {
    sync_group_case(Impl::Ours);
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// ha1 alone at priority 150: BACKUP, MASTER, then SIGTERM (STOP). Notify scripts append
/// their arguments to files; the notify FIFO is read by `cat`.
fn notify_case(kind: Impl) {
    if skip_reason_for(kind == Impl::Keepalived, kind == Impl::Ours).is_some() {
        return;
    }
    let net = two_hosts("kvnot");
    let dir = script_dir(&format!("notify-{}", kind.tag()));
    let any_log = dir.0.join("any.log");
    let master_log = dir.0.join("master.log");
    let stop_log = dir.0.join("stop.log");
    let any = script(
        &dir.0,
        "any.sh",
        &format!("echo \"$@\" >> {}", any_log.display()),
    );
    let on_master = script(
        &dir.0,
        "master.sh",
        &format!("echo \"master $@\" >> {}", master_log.display()),
    );
    let on_stop = script(
        &dir.0,
        "stop.sh",
        &format!("echo stop >> {}", stop_log.display()),
    );
    let fifo = dir.0.join("notify.fifo");
    let fifo_out = dir.0.join("fifo.out");
    let mut reader = fifo_reader(&fifo, &fifo_out);
    let inst = format!(
        "    notify \"{}\"\n    notify_master \"{} extra\"\n    notify_stop \"{}\"\n",
        any.display(),
        on_master.display(),
        on_stop.display()
    );
    let global = format!("    notify_fifo {}\n", fifo.display());
    let c1 = conf("ha1", 150, &global, "", &inst);
    let mut r1 = Router::start(kind, &net.hosts[0], "ha1", &c1);
    expect_holder(&net.hosts, 0, Duration::from_secs(8), &[&r1], "master");
    let got_master = lab::wait_until(Duration::from_secs(3), POLL, || {
        lines(&any_log).len() >= 2 && !lines(&master_log).is_empty()
    });
    assert!(got_master.is_some(), "{}", r1.describe());
    r1.term();
    assert!(r1.wait_exit(Duration::from_secs(5)).is_some(), "no exit");
    let _ = lab::wait_until(Duration::from_secs(2), POLL, || lines(&any_log).len() >= 3);
    std::thread::sleep(Duration::from_millis(300));
    reader.kill();
    assert_eq!(
        lines(&any_log),
        [
            "INSTANCE VI_1 BACKUP 150",
            "INSTANCE VI_1 MASTER 150",
            "INSTANCE VI_1 STOP 150"
        ],
        "notify arguments ({})",
        kind.tag()
    );
    assert_eq!(
        lines(&master_log),
        ["master extra"],
        "notify_master ({})",
        kind.tag()
    );
    assert_eq!(lines(&stop_log), ["stop"], "notify_stop ({})", kind.tag());
    let fifo_lines = lines(&fifo_out);
    let instance_lines: Vec<&str> = fifo_lines
        .iter()
        .map(String::as_str)
        .filter(|l| l.starts_with("INSTANCE"))
        .collect();
    assert_eq!(
        instance_lines,
        [
            "INSTANCE \"VI_1\" BACKUP 150",
            "INSTANCE \"VI_1\" MASTER 150",
            "INSTANCE \"VI_1\" STOP 150"
        ],
        "notify FIFO ({}): {fifo_lines:?}",
        kind.tag()
    );
}

#[test]
fn notify_scripts_and_fifo_keepalived_reference() {
    notify_case(Impl::Keepalived);
}

#[test]
fn notify_scripts_and_fifo_ours() {
    notify_case(Impl::Ours);
}

/// A tracking script that hangs (sleep) with `timeout 1`: killed, counted as failed (weight 0:
/// FAULT), and no process of it left behind.
fn hanging_script_case(kind: Impl) {
    if skip_reason_for(kind == Impl::Keepalived, kind == Impl::Ours).is_some() {
        return;
    }
    let net = two_hosts("kvhang");
    let dir = script_dir(&format!("hang-{}", kind.tag()));
    let marker = format!("{}.{}", 6000 + std::process::id() % 1000, kind.tag().len());
    let hang = script(&dir.0, "hang.sh", &format!("exec sleep {marker}"));
    let top = format!(
        "vrrp_script hang {{\n    script \"{}\"\n    interval 5\n    timeout 1\n}}\n",
        hang.display()
    );
    let c1 = conf(
        "ha1",
        150,
        "",
        &top,
        "    track_script {\n        hang\n    }\n",
    );
    let r1 = Router::start(kind, &net.hosts[0], "ha1", &c1);
    let started = lab::wait_until(Duration::from_secs(3), Duration::from_millis(5), || {
        count_processes(&format!("sleep {marker}")) > 0
    });
    assert!(started.is_some(), "script never ran\n{}", r1.describe());
    let killed = lab::wait_until(
        Duration::from_millis(1800),
        Duration::from_millis(10),
        || count_processes(&format!("sleep {marker}")) == 0,
    );
    assert!(
        killed.is_some(),
        "hanging script not killed within its timeout\n{}",
        r1.describe()
    );
    // keepalived 2.2.7 keeps an instance whose script never succeeded out of service without
    // logging a transition; ours logs FAULT. Neither may become master.
    if kind == Impl::Ours {
        let fault = lab::wait_until(Duration::from_secs(3), POLL, || {
            r1.logged("Entering FAULT STATE") || r1.logged("entering FAULT state")
        });
        assert!(fault.is_some(), "no FAULT\n{}", r1.describe());
    }
    std::thread::sleep(Duration::from_secs(4));
    assert!(!r1.logged("Entering MASTER STATE"), "{}", r1.describe());
    assert!(
        holders(&net.hosts, vip()).is_empty(),
        "a faulty instance holds the VIP"
    );
}

#[test]
fn hanging_script_is_killed_keepalived_reference() {
    hanging_script_case(Impl::Keepalived);
}

#[test]
fn hanging_script_is_killed_ours() {
    hanging_script_case(Impl::Ours);
}

/// The MAC address of `ifname` on `host`.
fn mac_of(host: &Host, ifname: &str) -> Option<String> {
    let out = host.ip(["-j", "link", "show", "dev", ifname]).ok()?;
    let json: serde_json::Value = serde_json::from_str(&out).ok()?;
    json.get(0)?.get("address")?.as_str().map(str::to_owned)
}

/// `use_vmac`: the VIP sits on vrrp.51 with MAC 00:00:5e:00:01:33, the peer learns that MAC
/// for the VIP and sees adverts from it; the VMAC is removed on stop.
fn vmac_case(kind: Impl) {
    if skip_reason_for(kind == Impl::Keepalived, kind == Impl::Ours).is_some() {
        return;
    }
    if !lab::have_program("tcpdump") {
        eprintln!("skipping: tcpdump not installed");
        return;
    }
    let net = two_hosts("kvvmac");
    let (ha1, ha2) = (&net.hosts[0], &net.hosts[1]);
    let dir = TempDir::new(&format!("vmac-{}", kind.tag()));
    let capture_file = dir.0.join("vrrp.txt");
    let mut capture = tcpdump(
        ha2,
        &["-e", "-nn", "-l", "--immediate-mode", "ip proto 112"],
        &capture_file,
    );
    std::thread::sleep(Duration::from_millis(300));
    // Let the gratuitous ARPs create ha2's neighbour entry (without it, ha2's own ARP request
    // could be answered by ha1's eth0 too).
    ha2.sysctl("net.ipv4.conf.eth0.arp_accept", "1")
        .expect("arp_accept");
    let c1 = conf("ha1", 150, "", "", "    use_vmac\n");
    let mut r1 = Router::start(kind, ha1, "ha1", &c1);
    expect_holder(&net.hosts, 0, Duration::from_secs(8), &[&r1], "vmac master");
    assert_eq!(mac_of(ha1, "vrrp.51").as_deref(), Some("00:00:5e:00:01:33"));
    let on_vmac = ha1.addrs("vrrp.51").unwrap_or_default();
    assert!(
        on_vmac.iter().any(|(a, _)| *a == vip()),
        "VIP not on vrrp.51: {on_vmac:?}\n{}",
        r1.describe()
    );
    let details = ha1
        .ip(["-d", "link", "show", "dev", "vrrp.51"])
        .unwrap_or_default();
    assert!(details.contains("macvlan mode private"), "{details}");
    let neigh = || {
        ha2.ip(["neigh", "show", VIP4, "dev", "eth0"])
            .unwrap_or_default()
    };
    let learned = lab::wait_until(Duration::from_secs(2), POLL, || {
        neigh().contains("00:00:5e:00:01:33")
    });
    assert!(learned.is_some(), "peer's neighbour entry: {}", neigh());
    // (A later ARP exchange may be answered from eth0's own MAC: keepalived 2.2.7 behaves
    // the same here without extra arp_ignore settings on the base interface.)
    assert!(ha2.ping(vip()), "VIP unreachable from the peer");
    std::thread::sleep(Duration::from_millis(1200));
    capture.kill();
    let text = std::fs::read_to_string(&capture_file).unwrap_or_default();
    assert!(
        text.lines()
            .any(|l| l.contains("00:00:5e:00:01:33 > ") && l.contains("VRRP")),
        "no advert from the virtual MAC:\n{text}"
    );
    r1.term();
    assert!(r1.wait_exit(Duration::from_secs(5)).is_some());
    assert!(!ha1.iface_exists("vrrp.51"), "VMAC left behind");
}

#[test]
fn use_vmac_keepalived_reference() {
    vmac_case(Impl::Keepalived);
}

#[test]
fn use_vmac_ours() {
    vmac_case(Impl::Ours);
}
