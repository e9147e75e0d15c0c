//! Start-up with `state MASTER` below priority 255 (issue 14), against Debian's keepalived
//! 2.2.7: keepalived's `vrrp_init_state` makes only the address owner master at once; any other
//! `state MASTER` instance enters BACKUP "(init)" with the full Master_Down_Interval, so it hears
//! a live master before it could claim anything.
//!
//! - A live master (priority 100, `advert_int 1`) holds the VIP; a priority-90 `state MASTER`
//!   router (no `nopreempt`) starts beside it: polled every few milliseconds for twice its
//!   Master_Down_Interval, the newcomer never holds the VIP and the master never loses it. Run
//!   with keepalived-rs starting beside keepalived, keepalived beside keepalived-rs, and
//!   keepalived beside keepalived (the reference).
//! - The same router started alone takes the VIP after its Master_Down_Interval (3.648 s), not
//!   at once, in both implementations.
//!
//! Both log "(VI_1) Entering BACKUP STATE (init)". Measurements are printed as
//! `interop: case=state-master ...` (`--nocapture`). Needs root; documentation addresses only.

use std::time::{Duration, Instant};

use crate::support::{
    Case, Conf, Impl, Router, Side, holders, ours_bin, skip_reason_for, two_hosts, wait_sole_holder,
};

/// The live master on ha1: priority 100, `state BACKUP`, VRRPv2, `advert_int 1`.
fn live_master() -> Conf {
    Case::V2Ipv4.conf(Side::Ha1, 100)
}

/// The newcomer on ha2: priority 90, `state MASTER`, no `nopreempt`.
fn newcomer() -> Conf {
    Conf {
        state: "MASTER",
        ..Case::V2Ipv4.conf(Side::Ha2, 90)
    }
}

fn tag(kind: Impl) -> &'static str {
    kind.tag()
}

/// `starting` comes up with `state MASTER` beside a live `live` master and must never hold the
/// VIP.
fn joins_live_master(starting: Impl, live: Impl) {
    let uses = |k: Impl| starting == k || live == k;
    if skip_reason_for(uses(Impl::Keepalived), uses(Impl::Ours)).is_some() {
        return;
    }
    let _ = ours_bin();
    let roles = format!("{}-joins-{}", tag(starting), tag(live));
    let net = two_hosts(&format!("kais{}{}", &tag(starting)[..1], &tag(live)[..1]));
    let hosts = &net.hosts;
    let vip = Case::V2Ipv4.vip();
    let (c1, c2) = (live_master(), newcomer());
    let master = Router::start(live, &hosts[0], "ha1", &c1.render());
    let elected = wait_sole_holder(
        hosts,
        0,
        vip,
        c1.master_down() * 2 + Duration::from_secs(5),
        Duration::from_millis(1500),
    );
    assert!(
        elected.is_some(),
        "{roles}: the live master never held the VIP alone\n{}",
        master.describe()
    );

    let mut joiner = Router::start(starting, &hosts[1], "ha2", &c2.render());
    let t0 = Instant::now();
    let watch = c2.master_down() * 2;
    let mut polls = 0u32;
    while t0.elapsed() < watch {
        let now = holders(hosts, vip);
        polls += 1;
        assert_eq!(
            now,
            [0],
            "{roles}: {:?} after the state MASTER router started, the VIP holders are {now:?}\n{}{}",
            t0.elapsed(),
            master.describe(),
            joiner.describe()
        );
        std::thread::sleep(Duration::from_millis(3));
    }
    assert!(joiner.is_running(), "{roles}: the newcomer died");
    assert!(
        joiner.logged("(VI_1) Entering BACKUP STATE (init)"),
        "{roles}: no BACKUP (init) line\n{}",
        joiner.describe()
    );
    assert!(
        !joiner.logged("Entering MASTER STATE"),
        "{roles}: the newcomer entered MASTER\n{}",
        joiner.describe()
    );
    eprintln!(
        "interop: case=state-master roles={roles} event=join watched_ms={} polls={polls} newcomer_held_vip=0",
        watch.as_millis()
    );
}

/// `kind` started alone with `state MASTER` priority 90: master after its
/// Master_Down_Interval, not at once.
fn alone(kind: Impl) {
    if skip_reason_for(kind == Impl::Keepalived, kind == Impl::Ours).is_some() {
        return;
    }
    let net = two_hosts(&format!("kaisa{}", &tag(kind)[..1]));
    let hosts = &net.hosts;
    let vip = Case::V2Ipv4.vip();
    let c2 = newcomer();
    let t0 = Instant::now();
    let router = Router::start(kind, &hosts[1], "ha2", &c2.render());
    let took =
        crate::support::wait_from(t0, c2.master_down() * 3, Duration::from_millis(3), || {
            hosts[1].has_addr(vip)
        });
    let Some(took) = took else {
        panic!(
            "{}: never became master alone\n{}",
            tag(kind),
            router.describe()
        );
    };
    let down = c2.master_down();
    eprintln!(
        "interop: case=state-master roles={} event=alone master_ms={} master_down_ms={}",
        tag(kind),
        took.as_millis(),
        down.as_millis()
    );
    // From the spawn: the process start-up comes on top of the down interval.
    assert!(
        took >= down && took <= down + Duration::from_millis(600),
        "{}: master after {took:?}, Master_Down_Interval {down:?}\n{}",
        tag(kind),
        router.describe()
    );
    assert!(router.logged("(VI_1) Entering BACKUP STATE (init)"));
    assert!(router.logged("(VI_1) Receive advertisement timeout"));
}

#[test]
fn state_master_joining_live_keepalived_master_ours() {
    joins_live_master(Impl::Ours, Impl::Keepalived);
}

#[test]
fn state_master_joining_live_ours_master_keepalived() {
    joins_live_master(Impl::Keepalived, Impl::Ours);
}

#[test]
fn state_master_joining_live_master_reference() {
    joins_live_master(Impl::Keepalived, Impl::Keepalived);
}

#[test]
fn state_master_alone_waits_master_down_ours() {
    alone(Impl::Ours);
}

#[test]
fn state_master_alone_waits_master_down_reference() {
    alone(Impl::Keepalived);
}
