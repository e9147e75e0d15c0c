//! `auth_type AH` (IPsec AH, HMAC-MD5-96; issue 14) against Debian's keepalived 2.2.7, which is
//! built with VRRP_AUTH: VRRPv2, `advert_int 1`, VRID 51, in both role assignments, with
//! keepalived on both sides (the reference) and keepalived-rs on both sides.
//!
//! - Election: the priority-150 router becomes master and is the only one holding the VIP.
//! - The master freezes (SIGSTOP of all its processes): the backup takes over within
//!   Master_Down_Interval + 100 ms, so it accepted the master's adverts until then.
//! - The frozen master is killed and restarted, its sequence numbers from zero: it hears the new
//!   master's higher numbers, then preempts, and the other side accepts its adverts again (it
//!   becomes the only holder).
//! - Wrong password: each side rejects the other's adverts, logs it in keepalived's words
//!   ("IPSEC-AH : invalid IPSEC HMAC-MD5 value") and counts it; both become master, nobody
//!   crashes.
//!
//! Measurements are printed as `interop: case=v2-ah ...` (`--nocapture`). Needs root.

use std::net::IpAddr;
use std::time::Duration;

use crate::support::{
    Case, Conf, Impl, Roles, Router, Side, holders, remove_vip, report, skip_reason, two_hosts,
    wait_from, wait_sole_holder,
};

/// The `auth_type AH` config of `side` at `priority` with `pass`.
fn conf(side: Side, priority: u8, pass: &str) -> Conf {
    let mut c = Case::V2Ipv4.conf(side, priority);
    c.auth_pass = Some(pass.to_owned());
    c
}

/// The config text: the PASS template with `auth_type AH`.
fn render(c: &Conf) -> String {
    let text = c.render();
    assert!(text.contains("auth_type PASS"));
    text.replace("auth_type PASS", "auth_type AH")
}

const OURS_BOTH: Roles = Roles {
    master: Impl::Ours,
    backup: Impl::Ours,
};

fn prefix(what: &str, roles: Roles) -> String {
    let r = |i: Impl| if i == Impl::Ours { 'o' } else { 'k' };
    format!("kah{what}{}{}", r(roles.master), r(roles.backup))
}

fn vip() -> IpAddr {
    crate::support::VIP4.parse().expect("vip")
}

/// Election, freeze and takeover, restart and preemption, all with AH.
fn failover(roles: Roles) {
    if skip_reason(roles).is_some() {
        return;
    }
    let tag = roles.tag();
    let net = two_hosts(&prefix("f", roles));
    let hosts = &net.hosts;
    let (ha1, ha2) = (&hosts[0], &hosts[1]);
    let vip = vip();
    let (c1, c2) = (
        conf(Side::Ha1, 150, "s3cret"),
        conf(Side::Ha2, 100, "s3cret"),
    );
    let mut master = Router::start(roles.master, ha1, "ha1", &render(&c1));
    let backup = Router::start(roles.backup, ha2, "ha2", &render(&c2));
    let dump = |rs: &[&Router]| rs.iter().map(|r| r.describe()).collect::<String>();

    let elected = wait_sole_holder(
        hosts,
        0,
        vip,
        c2.master_down() * 2 + Duration::from_secs(8),
        Duration::from_millis(1500),
    );
    assert!(
        elected.is_some(),
        "v2-ah {tag}: ha1 never became the only VIP holder (holders {:?})\n{}",
        holders(hosts, vip),
        dump(&[&master, &backup])
    );
    // A backup that rejected the master's adverts would have taken the VIP by now.
    std::thread::sleep(c2.master_down());
    assert_eq!(
        holders(hosts, vip),
        [0],
        "v2-ah {tag}: the backup took over"
    );

    let bound = c2.master_down() + Duration::from_millis(100);
    let t0 = master.freeze();
    let took = wait_from(t0, bound * 3, Duration::from_millis(1), || {
        ha2.has_addr(vip)
    });
    let Some(took) = took else {
        panic!(
            "v2-ah {tag}: no takeover after the freeze\n{}",
            dump(&[&master, &backup])
        );
    };
    report("v2-ah", &tag, "freeze", took, bound);
    assert!(took <= bound, "v2-ah {tag}: takeover {took:?} > {bound:?}");
    assert!(
        took + c2.advert_int() + Duration::from_millis(20) >= c2.master_down(),
        "v2-ah {tag}: takeover {took:?} too early: the backup was not hearing the master"
    );
    master.kill();
    remove_vip(ha1, vip);

    // Restarted, sequence numbers from zero: it must still win back and be accepted.
    let master = Router::start(roles.master, ha1, "ha1-again", &render(&c1));
    let back = wait_sole_holder(
        hosts,
        0,
        vip,
        c1.master_down() * 3 + Duration::from_secs(8),
        Duration::from_millis(2500),
    );
    assert!(
        back.is_some(),
        "v2-ah {tag}: the restarted priority-150 router is not the only holder (holders {:?})\n{}",
        holders(hosts, vip),
        dump(&[&master, &backup])
    );
    eprintln!(
        "interop: case=v2-ah roles={tag} event=restart-preempt preempt_ms={}",
        back.unwrap_or_default().as_millis()
    );
    for r in [&master, &backup] {
        assert!(
            !r.logged("IPSEC-AH : invalid"),
            "v2-ah {tag}: {} rejected an advert's ICV\n{}",
            r.name,
            r.describe()
        );
    }
}

/// Different passwords: both master, each rejection logged in keepalived's words.
fn wrong_password(roles: Roles) {
    if skip_reason(roles).is_some() {
        return;
    }
    let tag = roles.tag();
    let net = two_hosts(&prefix("w", roles));
    let hosts = &net.hosts;
    let vip = vip();
    let (c1, c2) = (
        conf(Side::Ha1, 150, "right1"),
        conf(Side::Ha2, 100, "wrong2"),
    );
    let mut r1 = Router::start(roles.master, &hosts[0], "ha1", &render(&c1));
    let mut r2 = Router::start(roles.backup, &hosts[1], "ha2", &render(&c2));
    let both = lab::wait_until(
        c2.master_down() * 2 + Duration::from_secs(8),
        Duration::from_millis(20),
        || holders(hosts, vip) == [0, 1],
    );
    assert!(
        both.is_some(),
        "v2-ah-badpass {tag}: both should be master (holders {:?})\n{}{}",
        holders(hosts, vip),
        r1.describe(),
        r2.describe()
    );
    std::thread::sleep(Duration::from_millis(2200));
    assert_eq!(holders(hosts, vip), [0, 1], "{tag}: a router stepped down");
    assert!(r1.is_running() && r2.is_running(), "{tag}: a router died");
    for r in [&r1, &r2] {
        let n = r.count_logged("(VI_1) IPSEC-AH : invalid IPSEC HMAC-MD5 value");
        eprintln!(
            "interop: case=v2-ah-badpass roles={tag} router={} impl={} rejected_logged={n}",
            r.name,
            r.kind.tag()
        );
        assert!(
            n >= 1,
            "{tag}: {} logged no rejection\n{}",
            r.name,
            r.describe()
        );
    }
}

#[test]
fn ah_failover_reference() {
    failover(Roles::REFERENCE);
}

#[test]
fn ah_failover_ours_master() {
    failover(Roles::OURS_MASTER);
}

#[test]
fn ah_failover_keepalived_master() {
    failover(Roles::KEEPALIVED_MASTER);
}

#[test]
fn ah_failover_ours_both() {
    failover(OURS_BOTH);
}

#[test]
fn ah_wrong_password_reference() {
    wrong_password(Roles::REFERENCE);
}

#[test]
fn ah_wrong_password_ours_master() {
    wrong_password(Roles::OURS_MASTER);
}

#[test]
fn ah_wrong_password_keepalived_master() {
    wrong_password(Roles::KEEPALIVED_MASTER);
}

#[test]
fn ah_wrong_password_ours_both() {
    wrong_password(OURS_BOTH);
}
