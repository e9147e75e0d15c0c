//! Interoperability with Debian's keepalived 2.2.7 (issue 3, "Interoperability"): one host
//! runs keepalived-rs, the other keepalived, same VRID 51, and every case runs in both role
//! assignments (ours master / keepalived backup and the reverse):
//!
//! - v2 IPv4 multicast, v3 IPv4 multicast, v3 IPv6 multicast, v2 with PASS authentication, v3
//!   IPv4 unicast: the priority-150 router becomes master and is the only one holding the VIP;
//! - the master freezes (SIGSTOP of all its processes at once): the backup holds the VIP within
//!   Master_Down_Interval + 100 ms (`advert_int 1`) or 250 ms (`version 3`, `advert_int 0.05`);
//! - the frozen master is killed and restarted: it preempts the backup;
//! - SIGTERM of the master: the backup takes over within its Skew_Time + 100 ms (priority-0
//!   advert), and the stopped master releases the VIP;
//! - `nopreempt`: the returning higher-priority router leaves the backup in charge;
//! - a peer with the wrong password or the wrong VRRP version: adverts rejected (keepalived logs
//!   each), both sides become master, nobody crashes;
//! - three routers on a bridge: the next priority takes over, then the last.
//!
//! Every scenario also runs with keepalived on both sides (`*_reference`): that validates the
//! harness and its timing, and gives the reference figures. Tests needing keepalived-rs skip
//! (with a message) while `keepalived-rs -n` does not run the VRRP engine. Measurements are
//! printed as `interop: case=... roles=... event=... takeover_ms=... bound_ms=...` (run with
//! `--nocapture` to see them). Needs root; documentation addresses only.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::support::{
    Case, Conf, Impl, KEEPALIVED, Roles, Router, Side, bridged_hosts, holders, ours_bin,
    remove_vip, report, skip_reason, skip_reason_for, two_hosts, wait_from, wait_sole_holder,
};

/// Slack on top of the protocol's intervals.
const MARGIN: Duration = Duration::from_millis(100);
/// Absolute bound for a takeover after a freeze with `advert_int 0.05`.
const FAST_BOUND: Duration = Duration::from_millis(250);
/// Poll interval while measuring a takeover (each poll runs `ip`, a few ms).
const FINE: Duration = Duration::from_millis(1);

/// The bound for a takeover after the master froze, for a backup with config `backup`.
fn freeze_bound(backup: &Conf) -> Duration {
    if backup.advert_int() < Duration::from_secs(1) {
        FAST_BOUND
    } else {
        backup.master_down() + MARGIN
    }
}

/// How long "exactly one holds the VIP" must hold before it counts as settled.
fn settle_time(conf: &Conf) -> Duration {
    (conf.advert_int() + Duration::from_millis(500)).min(Duration::from_millis(1500))
}

/// Generous limit for an election from start-up: Master_Down_Interval of the lower priority
/// twice, plus process start-up.
fn election_timeout(backup: &Conf) -> Duration {
    backup.master_down() * 2 + Duration::from_secs(8)
}

fn dump(routers: &[&Router]) -> String {
    routers.iter().map(|r| r.describe()).collect()
}

/// Short lab prefix for a case and role assignment.
fn prefix(what: &str, roles: Roles) -> String {
    let r = match (roles.master, roles.backup) {
        (Impl::Ours, Impl::Keepalived) => "om",
        (Impl::Keepalived, Impl::Ours) => "km",
        (Impl::Keepalived, Impl::Keepalived) => "kk",
        (Impl::Ours, Impl::Ours) => "oo",
    };
    format!("kai{what}{r}")
}

/// Election, freeze of the master, restart (preemption), SIGTERM of the master.
fn failover(case: Case, roles: Roles) {
    if skip_reason(roles).is_some() {
        return;
    }
    let tag = roles.tag();
    let net = two_hosts(&prefix(&case.tag().replace('-', ""), roles));
    let hosts = &net.hosts;
    let (ha1, ha2) = (&hosts[0], &hosts[1]);
    let vip = case.vip();
    let c1 = case.conf(Side::Ha1, 150);
    let c2 = case.conf(Side::Ha2, 100);
    let mut master = Router::start(roles.master, ha1, "ha1", &c1.render());
    let mut backup = Router::start(roles.backup, ha2, "ha2", &c2.render());

    // 1. Election: the higher priority wins and only it holds the VIP.
    let elected = wait_sole_holder(hosts, 0, vip, election_timeout(&c2), settle_time(&c1));
    assert!(
        elected.is_some(),
        "{} {tag}: ha1 (priority 150) never became the only VIP holder (holders now: {:?})\n{}",
        case.tag(),
        holders(hosts, vip),
        dump(&[&master, &backup])
    );
    assert!(master.is_running() && backup.is_running(), "a router died");
    eprintln!(
        "interop: case={} roles={tag} event=elect elected_ms={}",
        case.tag(),
        elected.unwrap_or_default().as_millis()
    );

    // 2. The master freezes: the backup takes over within Master_Down_Interval (+ margin).
    let bound = freeze_bound(&c2);
    let t0 = master.freeze();
    let took = wait_from(t0, bound * 3, FINE, || ha2.has_addr(vip));
    let Some(took) = took else {
        panic!(
            "{} {tag}: the backup never took over after the freeze\n{}",
            case.tag(),
            dump(&[&master, &backup])
        );
    };
    report(case.tag(), &tag, "freeze", took, bound);
    assert!(
        master.is_frozen(),
        "{} {tag}: not every process of the master is stopped: {:?}",
        case.tag(),
        master.pids()
    );
    assert!(
        took <= bound,
        "{} {tag}: takeover {took:?} after the freeze, bound {bound:?}\n{}",
        case.tag(),
        dump(&[&master, &backup])
    );
    // The freeze came at most one interval after the master's last advert, so the backup
    // cannot have waited much less than Master_Down_Interval - advert_int.
    assert!(
        took + c2.advert_int() + Duration::from_millis(20) >= c2.master_down(),
        "{} {tag}: takeover {took:?} is too early for Master_Down_Interval {:?}",
        case.tag(),
        c2.master_down()
    );
    master.kill();
    remove_vip(ha1, vip);

    // 3. The higher priority returns and preempts.
    let mut master = Router::start(roles.master, ha1, "ha1-again", &c1.render());
    let back = wait_sole_holder(hosts, 0, vip, election_timeout(&c1), settle_time(&c1));
    assert!(
        back.is_some(),
        "{} {tag}: the returning priority-150 router did not preempt (holders now: {:?})\n{}",
        case.tag(),
        holders(hosts, vip),
        dump(&[&master, &backup])
    );
    eprintln!(
        "interop: case={} roles={tag} event=preempt preempt_ms={}",
        case.tag(),
        back.unwrap_or_default().as_millis()
    );

    // 4. SIGTERM: a priority-0 advert; the backup takes over after its Skew_Time.
    let bound = c2.skew() + MARGIN;
    let t0 = master.term();
    let took = wait_from(t0, c2.master_down() * 2, FINE, || ha2.has_addr(vip));
    let Some(took) = took else {
        panic!(
            "{} {tag}: the backup never took over after SIGTERM\n{}",
            case.tag(),
            dump(&[&master, &backup])
        );
    };
    report(case.tag(), &tag, "term", took, bound);
    assert!(
        took <= bound,
        "{} {tag}: takeover {took:?} after SIGTERM, bound {bound:?} (skew + 100 ms)\n{}",
        case.tag(),
        dump(&[&master, &backup])
    );
    let status = master.wait_exit(Duration::from_secs(5));
    assert!(
        status.is_some(),
        "{} {tag}: the master did not exit after SIGTERM\n{}",
        case.tag(),
        dump(&[&master])
    );
    let released = lab::wait_until(Duration::from_secs(2), Duration::from_millis(10), || {
        !ha1.has_addr(vip)
    });
    assert!(
        released.is_some(),
        "{} {tag}: the stopped master left its VIP behind\n{}",
        case.tag(),
        dump(&[&master])
    );
    assert!(
        backup.is_running(),
        "{} {tag}: the backup died\n{}",
        case.tag(),
        dump(&[&backup])
    );
    assert_eq!(
        holders(hosts, vip),
        [1],
        "only the new master holds the VIP"
    );
}

/// `nopreempt` on both: after a failover, the returning higher priority stays backup.
fn nopreempt(roles: Roles) {
    if skip_reason(roles).is_some() {
        return;
    }
    let tag = roles.tag();
    let net = two_hosts(&prefix("np", roles));
    let hosts = &net.hosts;
    let (ha1, ha2) = (&hosts[0], &hosts[1]);
    let case = Case::V3Ipv4;
    let vip = case.vip();
    let mut c1 = case.conf(Side::Ha1, 150);
    let mut c2 = case.conf(Side::Ha2, 100);
    c1.nopreempt = true;
    c2.nopreempt = true;

    // The higher priority starts first, so it is master whatever nopreempt does.
    let mut master = Router::start(roles.master, ha1, "ha1", &c1.render());
    let first = wait_sole_holder(hosts, 0, vip, election_timeout(&c1), settle_time(&c1));
    assert!(
        first.is_some(),
        "nopreempt {tag}: ha1 never became master\n{}",
        dump(&[&master])
    );
    let mut backup = Router::start(roles.backup, ha2, "ha2", &c2.render());
    let settled = wait_sole_holder(hosts, 0, vip, election_timeout(&c2), Duration::from_secs(1));
    assert!(
        settled.is_some(),
        "nopreempt {tag}: ha1 did not stay the only master\n{}",
        dump(&[&master, &backup])
    );

    let bound = freeze_bound(&c2);
    let t0 = master.freeze();
    let took = wait_from(t0, bound * 4, FINE, || ha2.has_addr(vip));
    let Some(took) = took else {
        panic!(
            "nopreempt {tag}: no takeover after the freeze\n{}",
            dump(&[&master, &backup])
        );
    };
    report("v3-nopreempt", &tag, "freeze", took, bound);
    assert!(
        took <= bound,
        "nopreempt {tag}: takeover {took:?} > {bound:?}"
    );
    master.kill();
    remove_vip(ha1, vip);

    // ha1 returns with a higher priority but nopreempt: ha2 keeps the VIP. Watch for well
    // over ha1's Master_Down_Interval (it would have preempted by then).
    let mut master = Router::start(roles.master, ha1, "ha1-again", &c1.render());
    let watch = c1.master_down() * 6 + Duration::from_millis(700);
    let t0 = Instant::now();
    while t0.elapsed() < watch {
        let now = holders(hosts, vip);
        assert_eq!(
            now,
            [1],
            "nopreempt {tag}: after {:?} the VIP holders are {now:?}, expected only ha2\n{}",
            t0.elapsed(),
            dump(&[&master, &backup])
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(master.is_running() && backup.is_running(), "a router died");
}

/// A peer whose adverts the other must reject: both end up master, both keep running, and
/// keepalived logs every rejection (`needle`, when the keepalived side is the receiver).
fn rejected_peer(what: &str, roles: Roles, c1: &Conf, c2: &Conf, needle: &str) {
    if skip_reason(roles).is_some() {
        return;
    }
    let tag = roles.tag();
    let net = two_hosts(&prefix(what, roles));
    let hosts = &net.hosts;
    let vip = crate::support::VIP4.parse::<IpAddr>().expect("vip");
    let mut r1 = Router::start(roles.master, &hosts[0], "ha1", &c1.render());
    let mut r2 = Router::start(roles.backup, &hosts[1], "ha2", &c2.render());
    let both = lab::wait_until(election_timeout(c2), Duration::from_millis(20), || {
        holders(hosts, vip) == [0, 1]
    });
    assert!(
        both.is_some(),
        "{what} {tag}: both routers should be master (holders now: {:?})\n{}",
        holders(hosts, vip),
        dump(&[&r1, &r2])
    );
    // Let a few more adverts arrive and be rejected.
    std::thread::sleep(c1.advert_int() * 2 + Duration::from_millis(200));
    assert_eq!(
        holders(hosts, vip),
        [0, 1],
        "{what} {tag}: a router stepped down"
    );
    assert!(
        r1.is_running() && r2.is_running(),
        "{what} {tag}: a router died\n{}",
        dump(&[&r1, &r2])
    );
    for r in [&r1, &r2] {
        let n = r.count_logged(needle);
        eprintln!(
            "interop: case={what} roles={tag} router={} impl={} rejected_logged={n}",
            r.name,
            r.kind.tag()
        );
        // Both implementations log rejected adverts in keepalived's words (ours also counts
        // them in the engine's RFC 6527 statistics).
        {
            assert!(
                n >= 1,
                "{what} {tag}: {} on {} logged {n} rejections ({needle:?})\n{}",
                r.kind.tag(),
                r.name,
                r.describe()
            );
        }
    }
}

fn wrong_password(roles: Roles) {
    let mut c1 = Case::V2Pass.conf(Side::Ha1, 150);
    let mut c2 = Case::V2Pass.conf(Side::Ha2, 100);
    c1.auth_pass = Some("right1".into());
    c2.auth_pass = Some("wrong2".into());
    rejected_peer(
        "badpass",
        roles,
        &c1,
        &c2,
        "(VI_1) received an invalid passwd!",
    );
}

/// ha1 speaks VRRPv3, ha2 VRRPv2, both `advert_int 1`.
fn wrong_version(roles: Roles) {
    let c1 = Conf {
        version: 3,
        ..Case::V2Ipv4.conf(Side::Ha1, 150)
    };
    let c2 = Case::V2Ipv4.conf(Side::Ha2, 100);
    rejected_peer("badver", roles, &c1, &c2, "(VI_1) wrong version.");
}

/// Three routers of one implementation on a bridge, priorities 150, 120, 100 (v3, 0.05 s).
fn three_on_bridge(kind: Impl) {
    let (ka, ours) = (kind == Impl::Keepalived, kind == Impl::Ours);
    if skip_reason_for(ka, ours).is_some() {
        return;
    }
    let tag = format!("{}-x3", kind.tag());
    let net = bridged_hosts(&format!("kaibr{}", &kind.tag()[..1]), 3);
    let hosts = &net.hosts;
    let case = Case::V3Ipv4;
    let vip = case.vip();
    let sides = [Side::Ha1, Side::Ha2, Side::Ha3];
    let prios = [150, 120, 100];
    let confs: Vec<Conf> = (0..3).map(|i| case.conf(sides[i], prios[i])).collect();
    let mut routers: Vec<Router> = (0..3)
        .map(|i| Router::start(kind, &hosts[i], &format!("ha{}", i + 1), &confs[i].render()))
        .collect();
    let all = |rs: &[Router]| dump(&rs.iter().collect::<Vec<_>>());

    let elected = wait_sole_holder(
        hosts,
        0,
        vip,
        election_timeout(&confs[2]),
        settle_time(&confs[0]),
    );
    assert!(
        elected.is_some(),
        "bridge {tag}: ha1 never became the only master (holders {:?})\n{}",
        holders(hosts, vip),
        all(&routers)
    );

    // ha1 freezes: ha2 (120) takes over, and ends up the only holder among the living.
    let t0 = routers[0].freeze();
    let took = wait_from(t0, FAST_BOUND * 4, FINE, || hosts[1].has_addr(vip));
    let Some(took) = took else {
        panic!("bridge {tag}: ha2 never took over\n{}", all(&routers));
    };
    report("v3-bridge", &tag, "freeze", took, FAST_BOUND);
    assert!(
        took <= FAST_BOUND,
        "bridge {tag}: takeover {took:?} > {FAST_BOUND:?}"
    );
    let living = &hosts[1..];
    let settled = wait_sole_holder(
        living,
        0,
        vip,
        Duration::from_secs(3),
        settle_time(&confs[1]),
    );
    assert!(
        settled.is_some(),
        "bridge {tag}: ha2 is not the only master among ha2/ha3 (holders {:?})\n{}",
        holders(hosts, vip),
        all(&routers)
    );
    routers[0].kill();
    remove_vip(&hosts[0], vip);

    // ha2 stops: ha3 takes over after its Skew_Time.
    let bound = confs[2].skew() + MARGIN;
    let t0 = routers[1].term();
    let took = wait_from(t0, Duration::from_secs(2), FINE, || hosts[2].has_addr(vip));
    let Some(took) = took else {
        panic!("bridge {tag}: ha3 never took over\n{}", all(&routers));
    };
    report("v3-bridge", &tag, "term", took, bound);
    assert!(took <= bound, "bridge {tag}: takeover {took:?} > {bound:?}");
    assert!(
        routers[1].wait_exit(Duration::from_secs(5)).is_some(),
        "bridge {tag}: ha2 did not exit\n{}",
        all(&routers)
    );
    assert!(routers[2].is_running(), "bridge {tag}: ha3 died");
    let only = wait_sole_holder(
        hosts,
        2,
        vip,
        Duration::from_secs(3),
        Duration::from_millis(300),
    );
    assert!(
        only.is_some(),
        "bridge {tag}: ha3 is not the only holder (holders {:?})",
        holders(hosts, vip)
    );
}

/// Every config the tests use is valid for keepalived 2.2.7 (`keepalived -t`) and for us.
#[test]
fn configs_are_valid_for_keepalived_2_2_7_and_ours() {
    if skip_reason_for(true, false).is_some() {
        return;
    }
    let net = two_hosts("kaiconf");
    let host = &net.hosts[0];
    let mut confs: Vec<(String, Conf)> = Vec::new();
    for case in Case::ALL {
        for (side, prio) in [(Side::Ha1, 150), (Side::Ha2, 100)] {
            confs.push((format!("{} {side:?}", case.tag()), case.conf(side, prio)));
        }
    }
    let mut np = Case::V3Ipv4.conf(Side::Ha1, 150);
    np.nopreempt = true;
    confs.push(("nopreempt".into(), np));
    confs.push((
        "v3 advert_int 1".into(),
        Conf {
            version: 3,
            ..Case::V2Ipv4.conf(Side::Ha1, 150)
        },
    ));
    let dir = std::env::temp_dir().join(format!("ka-interop-conf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let mut bad = Vec::new();
    for (i, (name, conf)) in confs.iter().enumerate() {
        let path = dir.join(format!("{i}.conf"));
        std::fs::write(&path, conf.render()).expect("write");
        let p = path.display().to_string();
        let theirs = host.run(KEEPALIVED, ["-t", "-l", "-f", &p]);
        if !theirs.status.success() {
            bad.push(format!(
                "keepalived -t rejects {name}:\n{}\n{}{}",
                conf.render(),
                String::from_utf8_lossy(&theirs.stdout),
                String::from_utf8_lossy(&theirs.stderr)
            ));
        }
        let ours = host.run(&ours_bin().display().to_string(), ["-t", "-f", &p]);
        if !ours.status.success() {
            bad.push(format!(
                "keepalived-rs -t rejects {name}:\n{}\n{}{}",
                conf.render(),
                String::from_utf8_lossy(&ours.stdout),
                String::from_utf8_lossy(&ours.stderr)
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// The bounds the tests assert, written out (and checked against the figures).
#[test]
fn bounds_match_the_rfc_figures() {
    let v2 = Case::V2Ipv4.conf(Side::Ha2, 100);
    assert_eq!(v2.master_down(), Duration::from_micros(3_609_375));
    assert_eq!(v2.skew(), Duration::from_micros(609_375));
    assert_eq!(freeze_bound(&v2), Duration::from_micros(3_709_375));
    let v3 = Case::V3Ipv4.conf(Side::Ha2, 100);
    assert_eq!(
        v3.skew(),
        Duration::from_micros(30_468) + Duration::from_nanos(750)
    );
    assert_eq!(freeze_bound(&v3), FAST_BOUND);
    assert!(
        Case::V3Ipv6
            .conf(Side::Ha1, 150)
            .render()
            .contains("2001:db8::100/64")
    );
    let uni = Case::V3Unicast.conf(Side::Ha2, 100).render();
    assert!(uni.contains("unicast_src_ip 192.0.2.2") && uni.contains("        192.0.2.1\n"));
}

macro_rules! both_roles_and_reference {
    ($scenario:expr, $reference:ident, $ours_master:ident, $keepalived_master:ident) => {
        #[test]
        fn $reference() {
            $scenario(Roles::REFERENCE);
        }
        #[test]
        fn $ours_master() {
            $scenario(Roles::OURS_MASTER);
        }
        #[test]
        fn $keepalived_master() {
            $scenario(Roles::KEEPALIVED_MASTER);
        }
    };
}

both_roles_and_reference!(
    |r| failover(Case::V2Ipv4, r),
    v2_ipv4_reference,
    v2_ipv4_ours_master,
    v2_ipv4_keepalived_master
);
both_roles_and_reference!(
    |r| failover(Case::V3Ipv4, r),
    v3_ipv4_reference,
    v3_ipv4_ours_master,
    v3_ipv4_keepalived_master
);
both_roles_and_reference!(
    |r| failover(Case::V3Ipv6, r),
    v3_ipv6_reference,
    v3_ipv6_ours_master,
    v3_ipv6_keepalived_master
);
both_roles_and_reference!(
    |r| failover(Case::V2Pass, r),
    v2_pass_reference,
    v2_pass_ours_master,
    v2_pass_keepalived_master
);
both_roles_and_reference!(
    |r| failover(Case::V3Unicast, r),
    v3_unicast_reference,
    v3_unicast_ours_master,
    v3_unicast_keepalived_master
);
both_roles_and_reference!(
    nopreempt,
    nopreempt_reference,
    nopreempt_ours_master,
    nopreempt_keepalived_master
);
both_roles_and_reference!(
    wrong_password,
    wrong_password_reference,
    wrong_password_ours_master,
    wrong_password_keepalived_master
);
both_roles_and_reference!(
    wrong_version,
    wrong_version_reference,
    wrong_version_ours_master,
    wrong_version_keepalived_master
);

#[test]
fn three_keepalived_on_a_bridge_reference() {
    three_on_bridge(Impl::Keepalived);
}

#[test]
fn three_ours_on_a_bridge() {
    three_on_bridge(Impl::Ours);
}
