//! The daemon running the VRRP engine for real: two keepalived-rs routers on a veth in network
//! namespaces elect a master, only the master holds the VIP, a frozen master is replaced within
//! Master_Down_Interval, a returning higher-priority router preempts, and a stopped (SIGTERM)
//! master hands over within Skew_Time through its priority-0 advert and removes its VIP.
//! Needs root (skips otherwise). Documentation addresses only.

use std::net::IpAddr;
use std::time::Duration;

use crate::support::daemon::{Daemon, run_to_exit};
use crate::support::files::TempDir;
use crate::support::net::{tcpdump, veth_pair, wait_link_local};
use lab::{Host, Lab, wait_until};

/// The MAC address of a host's eth0.
fn link_mac(host: &Host) -> String {
    let out = host
        .ip(["-j", "link", "show", "dev", "eth0"])
        .expect("ip link");
    let json: serde_json::Value = serde_json::from_str(&out).expect("ip -j link");
    json[0]["address"].as_str().expect("address").to_owned()
}

/// The link-layer address a host's neighbour table holds for `addr`, if any.
fn neighbour_mac(host: &Host, addr: &str) -> Option<String> {
    let out = host.ip(["-j", "neigh", "show", addr, "dev", "eth0"]).ok()?;
    let json: serde_json::Value = serde_json::from_str(&out).ok()?;
    json.get(0)?.get("lladdr")?.as_str().map(str::to_owned)
}

fn conf(vrid: u8, priority: u8, extra: &str, vip: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id {vrid}\n    \
         priority {priority}\n{extra}    virtual_ipaddress {{\n        {vip}\n    }}\n}}\n"
    )
}

/// The scenario for one protocol variant.
struct Case {
    tag: &'static str,
    /// Extra instance lines (version, advert_int).
    extra: &'static str,
    /// Extra lines for ha1 only (unicast source and peer).
    extra_ha1: &'static str,
    /// Extra lines for ha2 only.
    extra_ha2: &'static str,
    vip: &'static str,
    vip_addr: &'static str,
    /// Master_Down_Interval of the backup (priority 100).
    backup_mdi: Duration,
    /// Skew_Time of the backup.
    backup_skew: Duration,
    /// The advert interval.
    advert_int: Duration,
    v6: bool,
}

const MARGIN: Duration = Duration::from_millis(100);
const POLL: Duration = Duration::from_millis(10);

fn run_case(case: &Case) {
    let lab = Lab::new(&format!("kv{}", case.tag)).expect("lab");
    let (ha1, ha2) = veth_pair(&lab);
    if case.v6 {
        wait_link_local(&[&ha1, &ha2]);
    }
    let dir = TempDir::new(case.tag);
    let vip: IpAddr = case.vip_addr.parse().expect("vip");

    if !case.v6 {
        // ha1 learns neighbours from gratuitous ARP, to see ha2's announcement when it takes over.
        ha1.sysctl("net.ipv4.conf.all.arp_accept", "1")
            .expect("sysctl");
        ha1.sysctl("net.ipv4.conf.eth0.arp_accept", "1")
            .expect("sysctl");
    }
    // A leftover of a crashed run on the future backup: removed at start-up.
    ha2.add_addr("eth0", case.vip).expect("leftover VIP");
    let extra1 = format!("{}{}", case.extra, case.extra_ha1);
    let extra2 = format!("{}{}", case.extra, case.extra_ha2);
    let mut master = Daemon::start(&ha1, &dir.0, "ha1", &conf(51, 150, &extra1, case.vip), &[]);
    // Both start in BACKUP; the higher priority's shorter Master_Down_Interval (59 ms shorter
    // at advert_int 0.3) decides, so process start-up jitter must not exceed it.
    std::thread::sleep(Duration::from_millis(100));
    let backup = Daemon::start(&ha2, &dir.0, "ha2", &conf(51, 100, &extra2, case.vip), &[]);
    let cleaned = wait_until(Duration::from_secs(2), POLL, || !ha2.has_addr(vip));
    assert!(
        cleaned.is_some(),
        "leftover VIP not removed:\n{}",
        backup.log()
    );

    // Election: the higher priority becomes master (after its own Master_Down_Interval, as
    // both start in BACKUP) and only it holds the VIP.
    let elected = wait_until(case.backup_mdi * 3, POLL, || ha1.has_addr(vip));
    assert!(
        elected.is_some(),
        "ha1 never became master\nha1:\n{}\nha2:\n{}",
        master.log(),
        backup.log()
    );
    let settle = wait_until(case.backup_mdi, POLL, || ha2.has_addr(vip));
    assert!(settle.is_none(), "ha2 took the VIP too:\n{}", backup.log());
    assert!(ha1.has_addr(vip));
    assert!(master.logged("(VI_1) Entering BACKUP STATE (init)"));
    assert!(
        master.logged("(VI_1) Entering MASTER STATE"),
        "{}",
        master.log()
    );
    assert!(backup.logged("(VI_1) Entering BACKUP STATE (init)"));
    assert!(
        !backup.logged("(VI_1) Entering MASTER STATE"),
        "{}",
        backup.log()
    );

    // The master freezes: the backup takes over within Master_Down_Interval.
    master.freeze();
    let took = wait_until(case.backup_mdi * 2, POLL, || ha2.has_addr(vip));
    eprintln!(
        "[{}] takeover after SIGSTOP of the master: {took:?} (Master_Down_Interval {:?})",
        case.tag, case.backup_mdi
    );
    let took = took.expect("backup never took over");
    assert!(
        took <= case.backup_mdi + MARGIN,
        "takeover took {took:?}, more than {:?} + {MARGIN:?}",
        case.backup_mdi
    );
    // The freeze fell somewhere within one advert interval after the master's last advert.
    assert!(
        took + case.advert_int + MARGIN >= case.backup_mdi,
        "takeover after {took:?} is too early for Master_Down_Interval {:?}",
        case.backup_mdi
    );
    assert!(backup.logged("(VI_1) Entering MASTER STATE"));

    // It thaws: its priority is higher, so it stays (or becomes again) master and the backup
    // steps down.
    master.thaw();
    let back = wait_until(case.backup_mdi * 2, POLL, || {
        !ha2.has_addr(vip) && ha1.has_addr(vip)
    });
    assert!(
        back.is_some(),
        "the higher priority did not take back over\nha1:\n{}\nha2:\n{}",
        master.log(),
        backup.log()
    );

    // SIGTERM: a priority-0 advert, so the backup takes over within Skew_Time; the stopped
    // master removes its VIP and exits 0.
    master.child.signal("TERM").expect("SIGTERM");
    let took = wait_until(case.backup_mdi, Duration::from_millis(5), || {
        ha2.has_addr(vip)
    });
    eprintln!(
        "[{}] takeover after SIGTERM of the master: {took:?} (Skew_Time {:?})",
        case.tag, case.backup_skew
    );
    let took = took.expect("backup never took over after SIGTERM");
    assert!(
        took <= case.backup_skew + MARGIN,
        "takeover took {took:?}, more than {:?} + {MARGIN:?}",
        case.backup_skew
    );
    if !case.v6 {
        // The new master announced the VIP with gratuitous ARP: ha1 maps it to ha2's MAC.
        let mac = link_mac(&ha2);
        let learned = wait_until(Duration::from_secs(2), POLL, || {
            neighbour_mac(&ha1, case.vip_addr) == Some(mac.clone())
        });
        assert!(
            learned.is_some(),
            "no gratuitous ARP for {} from {mac} seen by ha1: {:?}",
            case.vip_addr,
            neighbour_mac(&ha1, case.vip_addr)
        );
    }
    let status = master.child.wait_timeout(Duration::from_secs(2));
    assert!(
        status.is_some_and(|s| s.success()),
        "master did not exit 0 within 2 s: {status:?}\n{}",
        master.log()
    );
    assert!(!ha1.has_addr(vip), "the stopped master kept its VIP");
    assert!(master.logged("(VI_1) sent 0 priority"), "{}", master.log());
    assert!(backup.logged("(VI_1) Backup received priority 0 advertisement"));
    drop(backup);
}

#[test]
fn v2_ipv4_multicast_election_failover_and_handover() {
    lab::require_root!();
    // advert_int 1, priority 100: Master_Down_Interval 3 + 156/256 s, Skew_Time 156/256 s.
    run_case(&Case {
        tag: "v2",
        extra: "    advert_int 1\n",
        extra_ha1: "",
        extra_ha2: "",
        vip: "192.0.2.100/24",
        vip_addr: "192.0.2.100",
        backup_mdi: Duration::from_micros(3_609_375),
        backup_skew: Duration::from_micros(609_375),
        advert_int: Duration::from_secs(1),
        v6: false,
    });
}

#[test]
fn v3_ipv6_multicast_election_failover_and_handover() {
    lab::require_root!();
    // advert_int 0.5 s, priority 100: Skew_Time = (256 - 100) * 50 cs / 256 = 30.47 cs
    // (RFC 9568 §6.1), Master_Down_Interval 3 * 0.5 s + Skew_Time.
    run_case(&Case {
        tag: "v3",
        extra: "    version 3\n    advert_int 0.5\n",
        extra_ha1: "",
        extra_ha2: "",
        vip: "2001:db8::100/64",
        vip_addr: "2001:db8::100",
        backup_mdi: Duration::from_nanos(1_804_687_500),
        backup_skew: Duration::from_nanos(304_687_500),
        advert_int: Duration::from_millis(500),
        v6: true,
    });
}

#[test]
fn v3_ipv4_unicast_election_failover_and_handover() {
    lab::require_root!();
    // advert_int 0.3 s, priority 100: Skew_Time = 156 * 30 cs / 256 = 18.28 cs.
    run_case(&Case {
        tag: "uc",
        extra: "    version 3\n    advert_int 0.3\n",
        extra_ha1: "    unicast_src_ip 192.0.2.1\n    unicast_peer {\n        192.0.2.2\n    }\n",
        extra_ha2: "    unicast_src_ip 192.0.2.2\n    unicast_peer {\n        192.0.2.1\n    }\n",
        vip: "192.0.2.101/24",
        vip_addr: "192.0.2.101",
        backup_mdi: Duration::from_nanos(1_082_812_500),
        backup_skew: Duration::from_nanos(182_812_500),
        advert_int: Duration::from_millis(300),
        v6: false,
    });
}

#[test]
fn strict_config_refuses_to_start_on_configuration_errors() {
    let dir = TempDir::new("bad");
    let (code, stderr) = run_to_exit(
        &dir.0,
        "bad.conf",
        "vrrp_instance VI_1 {\n    interface lo\n    virtual_router_id 300\n}\n",
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("bad.conf:3:"), "{stderr}");
    assert!(stderr.contains("not starting"), "{stderr}");
}

/// As keepalived: errors drop only their own part. VI_BAD (VRID 300, line 17) is dropped, the
/// unknown keyword (line 5) and the unsupported multipath route (line 9) are named and left out,
/// and VI_1 runs: it becomes master with its VIP and its plain route.
#[test]
fn starts_with_what_keepalived_runs_and_names_what_it_drops() {
    if Lab::skip_unless_root() {
        return;
    }
    let lab = Lab::new("kvdrop").expect("lab");
    let (ha1, _ha2) = veth_pair(&lab);
    let dir = TempDir::new("drop");
    let conf = "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    \
                priority 150\n    no_such_keyword\n    advert_int 0.2\n    virtual_routes {\n        \
                203.0.113.0/26 via 192.0.2.254 dev eth0\n        \
                203.0.113.64/26 nexthop via 192.0.2.251 dev eth0 nexthop via 192.0.2.252 dev eth0\n    \
                }\n    virtual_ipaddress {\n        192.0.2.100/24\n    }\n}\n\
                vrrp_instance VI_BAD {\n    interface eth0\n    virtual_router_id 300\n    \
                virtual_ipaddress {\n        192.0.2.101/24\n    }\n}\n";
    let mut router = Daemon::start(&ha1, &dir.0, "ha1", conf, &[]);
    let vip: IpAddr = "192.0.2.100".parse().expect("vip");
    let became_master = wait_until(Duration::from_secs(6), POLL, || ha1.has_addr(vip));
    let log = router.log();
    assert!(became_master.is_some(), "{log}");
    for place in ["ha1.conf:5:", "ha1.conf:9:", "ha1.conf:17:"] {
        assert!(log.contains(place), "{place} not named:\n{log}");
    }
    let routes = ha1.run("ip", ["route", "show"]);
    let routes = String::from_utf8_lossy(&routes.stdout);
    assert!(
        routes.contains("203.0.113.0/26 via 192.0.2.254"),
        "{routes}"
    );
    assert!(!routes.contains("203.0.113.64/26"), "{routes}");
    assert!(!ha1.has_addr("192.0.2.101".parse().expect("addr")));
    router.child.signal("TERM").expect("TERM");
    let status = router.child.wait_timeout(Duration::from_secs(5));
    assert!(status.is_some_and(|s| s.success()), "{}", router.log());
    assert!(!ha1.has_addr(vip), "VIP left behind");
}

#[test]
fn gratuitous_arp_burst_is_spaced_by_vrrp_garp_interval() {
    if Lab::skip_unless_root() {
        return;
    }
    if !lab::have_program("tcpdump") {
        eprintln!("skipping: tcpdump not installed");
        return;
    }
    let lab = Lab::new("kvgarp").expect("lab");
    let (ha1, ha2) = veth_pair(&lab);
    let dir = TempDir::new("garp");
    let capture_file = dir.0.join("arp.txt");
    let mut capture = tcpdump(
        &ha2,
        &["-nn", "-tt", "-l", "--immediate-mode", "arp"],
        &capture_file,
    );
    std::thread::sleep(Duration::from_millis(300));
    let conf = "global_defs {\n    vrrp_garp_interval 0.2\n    vrrp_garp_master_delay 0\n}\n\
                vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority 150\n    \
                garp_master_repeat 3\n    virtual_ipaddress {\n        192.0.2.100/24\n    }\n}\n";
    let _router = Daemon::start(&ha1, &dir.0, "ha1", conf, &[]);
    let vip: IpAddr = "192.0.2.100".parse().expect("vip");
    assert!(wait_until(Duration::from_secs(6), POLL, || ha1.has_addr(vip)).is_some());
    std::thread::sleep(Duration::from_millis(900));
    capture.kill();
    let text = std::fs::read_to_string(&capture_file).unwrap_or_default();
    let times: Vec<f64> = text
        .lines()
        .filter(|l| l.contains("who-has 192.0.2.100 tell 192.0.2.100"))
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    assert_eq!(times.len(), 3, "expected 3 gratuitous ARPs:\n{text}");
    for pair in times.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            (0.19..0.35).contains(&gap),
            "gratuitous ARPs {gap:.3} s apart, not 0.2 s:\n{text}"
        );
    }
}

/// Fields of /proc/PID/stat after the command name: (nice, rt_priority, policy).
fn sched_fields(pid: u32) -> Option<(i64, u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state): field N is f[N - 3].
    Some((
        f[19 - 3].parse().ok()?,
        f[40 - 3].parse().ok()?,
        f[41 - 3].parse().ok()?,
    ))
}

fn locked_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmLck:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

#[test]
fn vrrp_process_settings_are_applied() {
    if Lab::skip_unless_root() {
        return;
    }
    let lab = Lab::new("kvsched").expect("lab");
    let (ha1, ha2) = veth_pair(&lab);
    let dir = TempDir::new("sched");
    let vrrp = conf(51, 150, "", "192.0.2.100/24");
    let rt = format!("global_defs {{\n    vrrp_rt_priority 20\n    vrrp_no_swap\n}}\n{vrrp}");
    let nice = format!("global_defs {{\n    vrrp_priority -5\n}}\n{vrrp}");
    let mut rt_router = Daemon::start(&ha1, &dir.0, "rt", &rt, &[]);
    let mut nice_router = Daemon::start(&ha2, &dir.0, "nice", &nice, &[]);
    // The parent writes an engine's pid file once the engine runs: under load that can come
    // after the engine's first log lines.
    let settled = wait_until(Duration::from_secs(5), POLL, || {
        rt_router.logged("Entering")
            && nice_router.logged("Entering")
            && rt_router.vrrp_pid().is_some()
            && nice_router.vrrp_pid().is_some()
    });
    assert!(
        settled.is_some(),
        "{}\n{}",
        rt_router.log(),
        nice_router.log()
    );
    // The settings apply to the VRRP engine process, not to the supervising parent.
    let (rt_pid, nice_pid) = (
        rt_router.vrrp_pid().expect("VRRP process of rt"),
        nice_router.vrrp_pid().expect("VRRP process of nice"),
    );
    let (parent_policy, parent_prio) = sched_fields(rt_router.child.id())
        .map(|(_, prio, policy)| (policy, prio))
        .expect("stat of the parent");
    assert_eq!(
        (parent_policy, parent_prio),
        (0, 0),
        "the parent stays SCHED_OTHER"
    );
    let (_, rt_prio, rt_policy) = sched_fields(rt_pid).expect("stat of rt");
    assert_eq!((rt_policy, rt_prio), (2, 20), "SCHED_RR 20 expected");
    assert!(locked_kb(rt_pid) > 0, "vrrp_no_swap: nothing locked");
    let (nice_value, _, nice_policy) = sched_fields(nice_pid).expect("stat of nice");
    assert_eq!(
        (nice_policy, nice_value),
        (0, -5),
        "SCHED_OTHER nice -5 expected"
    );
    assert_eq!(locked_kb(nice_pid), 0);
    rt_router.child.kill();
    nice_router.child.kill();
}
