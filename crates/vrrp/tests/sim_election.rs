//! Simulated LAN: election, failover timing, start-up modes.

mod common;

use core::time::Duration;

use common::*;
use keepalived_vrrp::sim::Lan;
use keepalived_vrrp::{Centisecs, InitialState, Instant, Reason, State};

#[test]
fn higher_priority_wins_the_election() {
    let mut lan = lan(vec![v2(1, 100), v2(2, 200), v2(3, 150)]);
    lan.run_for(secs(30));
    assert_sole_master(&lan, 1, 3);
    assert_eq!(lan.state(0, VRID), State::Backup);
    assert_eq!(lan.state(2, VRID), State::Backup);
    // The 200 router won when its own down timer expired: 3 + 56/256 s after start.
    assert_eq!(
        entered(&lan, 1, State::Master, Instant::ZERO),
        Some(Instant::from_nanos(3_218_750_000))
    );
    // Nobody else was ever master.
    assert_eq!(entered(&lan, 0, State::Master, Instant::ZERO), None);
    assert_eq!(entered(&lan, 2, State::Master, Instant::ZERO), None);
    // The master advertises once a second; backups stay silent.
    let adverts = lan.adverts(1, VRID);
    assert!(adverts.windows(2).all(|w| w[1].0 - w[0].0 == secs(1)));
    assert!(lan.adverts(0, VRID).is_empty());
}

#[test]
fn v2_failover_after_exactly_master_down_interval() {
    let mut lan = lan(vec![v2(1, 200), v2(2, 100)]);
    lan.run_for(secs(10));
    assert_sole_master(&lan, 0, 2);
    lan.freeze(0);
    let frozen_at = lan.now();
    lan.run_for(secs(10));
    let last = last_advert_before(&lan, 0, frozen_at);
    let took_over = entered(&lan, 1, State::Master, frozen_at).unwrap();
    // advert_int 1, priority 100: 3 * 1 + (256 - 100) / 256 = 3.609375 s.
    assert_eq!(took_over - last, Duration::from_nanos(3_609_375_000));
    let (_, _, reason) = lan.transitions(1, VRID).into_iter().last().unwrap();
    assert_eq!(reason, Reason::MasterDown);
    assert!(lan.holds_vips(1, VRID));
}

#[test]
fn v2_failover_with_down_timer_adverts_and_latency() {
    let mut backup = v2(2, 100);
    backup.down_timer_adverts = 5;
    let mut lan = Lan::new(3);
    lan.set_latency(Duration::from_micros(250));
    let a = lan.add_node("a", vec![v2(1, 200)]);
    let b = lan.add_node("b", vec![backup]);
    lan.start(a);
    lan.start(b);
    lan.run_for(secs(10));
    lan.freeze(a);
    let frozen_at = lan.now();
    lan.run_for(secs(10));
    let last = last_advert_before(&lan, a, frozen_at);
    let took_over = entered(&lan, b, State::Master, frozen_at).unwrap();
    // The timer runs from reception: latency + 5 * 1 s + 156/256 s.
    assert_eq!(
        took_over - last,
        Duration::from_micros(250) + Duration::from_nanos(5_609_375_000)
    );
}

#[test]
fn v3_backup_learns_a_fast_master_interval() {
    // The backup is configured with 1 s but learns the master's 50 ms.
    let mut lan = lan(vec![v3(1, 200, Centisecs(5)), v3(2, 100, Centisecs(100))]);
    lan.run_for(secs(5));
    assert_sole_master(&lan, 0, 2);
    assert_eq!(lan.instance(1, VRID).master_adver_int(), Centisecs(5));
    lan.freeze(0);
    let frozen_at = lan.now();
    lan.run_for(secs(2));
    let last = last_advert_before(&lan, 0, frozen_at);
    let took_over = entered(&lan, 1, State::Master, frozen_at).unwrap();
    // 3 * 50 ms + (156 * 5 / 256) cs = 150 ms + 30.46875 ms.
    assert_eq!(took_over - last, Duration::from_nanos(180_468_750));
    // As master it advertises its own interval.
    let adverts = lan.adverts(1, VRID);
    assert!(adverts.windows(2).all(|w| w[1].0 - w[0].0 == secs(1)));
}

#[test]
fn v3_ipv6_election_and_failover() {
    let mut lan = lan(vec![v3_ipv6(1, 100), v3_ipv6(2, 150)]);
    lan.run_for(secs(10));
    assert_sole_master(&lan, 1, 2);
    lan.freeze(1);
    let frozen_at = lan.now();
    lan.run_for(secs(10));
    let last = last_advert_before(&lan, 1, frozen_at);
    let took_over = entered(&lan, 0, State::Master, frozen_at).unwrap();
    assert_eq!(took_over - last, Duration::from_nanos(3_609_375_000));
}

#[test]
fn equal_priority_is_broken_by_the_higher_address() {
    // Same priority, all start together: the down timers expire at the same instant, all
    // become master before hearing each other (latency), and the lower addresses yield on
    // hearing the higher one.
    let mut lan = Lan::new(1);
    lan.set_latency(Duration::from_micros(100));
    for n in 1..=3 {
        let id = lan.add_node(&format!("r{n}"), vec![v2(n, 100)]);
        lan.start(id);
    }
    lan.run_for(secs(20));
    for n in 0..3 {
        assert_eq!(
            entered(&lan, n, State::Master, Instant::ZERO),
            Some(Instant::from_nanos(3_609_375_000))
        );
    }
    assert_sole_master(&lan, 2, 3);
    for n in [0, 1] {
        let t = lan.transitions(n, VRID);
        assert!(
            t.iter()
                .all(|(at, _, _)| *at <= Instant::from_nanos(3_609_475_000))
        );
    }
}

#[test]
fn without_latency_the_first_master_heard_wins_an_equal_election() {
    // RFC 9568 §6.4.2: a backup accepts an advert of equal priority whatever its address, so the
    // first instance whose timer fires is master if the others hear it before their own fire.
    let mut lan = lan(vec![v2(1, 100), v2(2, 100)]);
    lan.run_for(secs(10));
    assert_sole_master(&lan, 0, 2);
    assert_eq!(entered(&lan, 1, State::Master, Instant::ZERO), None);
}

#[test]
fn address_owner_becomes_master_at_once() {
    let mut lan = lan(vec![v2(1, 200)]);
    lan.run_for(secs(10));
    let owner = lan.add_node("owner", vec![v2(2, 255)]);
    lan.start(owner);
    let started = lan.now();
    assert_eq!(lan.state(owner, VRID), State::Master);
    lan.run_for(Duration::from_millis(1));
    // The old master yielded to the owner's first advert.
    assert_eq!(lan.masters(VRID), vec![owner]);
    assert_eq!(entered(&lan, 0, State::Backup, started), Some(started));
}

/// keepalived 2.2.7: a `state MASTER` router below priority 255 joining a LAN with a live
/// master of higher priority never becomes master (it starts in Backup with the full
/// Master_Down_Interval and hears the master first); alone, it takes over after exactly that
/// interval, like `state BACKUP`.
#[test]
fn initial_state_master_joining_a_live_master_never_takes_over() {
    let mut net = lan(vec![v2(1, 100)]);
    net.run_for(secs(5));
    assert_sole_master(&net, 0, 1);
    let mut joiner = v2(2, 90);
    joiner.initial_state = InitialState::Master;
    let j = net.add_node("j", vec![joiner]);
    net.start(j);
    let joined = net.now();
    net.run_for(secs(20));
    assert_sole_master(&net, 0, 2);
    assert_eq!(entered(&net, j, State::Master, joined), None);
    assert!(net.adverts(j, VRID).is_empty());

    // Alone, the same router is master after 3 + 166/256 s, for want of a master.
    let mut alone = v2(2, 90);
    alone.initial_state = InitialState::Master;
    let mut solo = lan(vec![alone]);
    solo.run_for(secs(5));
    assert_eq!(
        entered(&solo, 0, State::Master, Instant::ZERO),
        Some(Instant::from_nanos(3_648_437_500))
    );
    let (_, _, reason) = solo.transitions(0, VRID).into_iter().last().unwrap();
    assert_eq!(reason, Reason::MasterDown);
}

#[test]
fn restarted_master_reclaims_with_preempt() {
    let mut lan = lan(vec![v2(1, 200), v2(2, 100)]);
    lan.run_for(secs(10));
    lan.freeze(0);
    lan.run_for(secs(10));
    assert_eq!(lan.masters(VRID), vec![1]);
    lan.restart(0);
    let restarted = lan.now();
    lan.run_for(secs(10));
    assert_sole_master(&lan, 0, 2);
    // It waited its own Master_Down_Interval, ignoring the lower master's adverts.
    assert_eq!(
        entered(&lan, 0, State::Master, restarted).unwrap() - restarted,
        Duration::from_nanos(3_218_750_000)
    );
}
