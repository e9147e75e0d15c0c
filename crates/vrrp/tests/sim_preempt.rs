//! Simulated LAN: preemption, preempt_delay, nopreempt, priority-0 handover, priority changes.

mod common;

use core::time::Duration;

use common::*;
use keepalived_vrrp::{Event, Instant, Reason, State};

#[test]
fn higher_priority_joining_later_preempts_after_its_down_interval() {
    let mut lan = lan(vec![v2(1, 100)]);
    lan.run_for(secs(10));
    assert_sole_master(&lan, 0, 1);
    let b = lan.add_node("b", vec![v2(2, 200)]);
    lan.start(b);
    let joined = lan.now();
    lan.run_for(secs(10));
    assert_sole_master(&lan, b, 2);
    // It discarded the lower adverts (RFC 9568 §6.4.2 (645)) and its timer expired after
    // 3 + 56/256 s; the old master yielded on its first advert.
    let took_over = entered(&lan, b, State::Master, joined).unwrap();
    assert_eq!(took_over - joined, Duration::from_nanos(3_218_750_000));
    assert_eq!(entered(&lan, 0, State::Backup, joined), Some(took_over));
}

#[test]
fn preempt_delay_postpones_preemption() {
    let mut lan = lan(vec![v2(1, 100)]);
    lan.run_for(Duration::from_millis(10_500));
    let mut delayed = v2(2, 200);
    delayed.preempt_delay = secs(10);
    let b = lan.add_node("b", vec![delayed]);
    lan.start(b);
    let joined = lan.now();
    lan.run_for(secs(30));
    assert_sole_master(&lan, b, 2);
    let took_over = entered(&lan, b, State::Master, joined).unwrap();
    // The lower master's adverts were accepted until joined + 10 s, then ignored: the timer
    // expires one Master_Down_Interval after the last accepted one.
    let last_accepted = last_advert_before(&lan, 0, joined + secs(10) - Duration::from_nanos(1));
    assert_eq!(
        took_over - last_accepted,
        Duration::from_nanos(3_218_750_000)
    );
    assert!(took_over >= joined + secs(10));
    assert!(took_over < joined + secs(10) + Duration::from_nanos(3_218_750_000));
}

#[test]
fn nopreempt_keeps_the_current_master() {
    let mut lan = lan(vec![v2(1, 100)]);
    lan.run_for(secs(10));
    let mut patient = v2(2, 200);
    patient.preempt = false;
    let b = lan.add_node("b", vec![patient]);
    lan.start(b);
    let joined = lan.now();
    lan.run_for(secs(120));
    assert_sole_master(&lan, 0, 2);
    assert_eq!(entered(&lan, b, State::Master, joined), None);
    // It still takes over when the master fails.
    lan.freeze(0);
    let frozen_at = lan.now();
    lan.run_for(secs(10));
    let last = last_advert_before(&lan, 0, frozen_at);
    assert_eq!(
        entered(&lan, b, State::Master, frozen_at).unwrap() - last,
        Duration::from_nanos(3_218_750_000)
    );
}

#[test]
fn priority_zero_handover_takes_only_skew_time() {
    let mut lan = lan(vec![v2(1, 200), v2(2, 100), v2(3, 50)]);
    lan.run_for(Duration::from_millis(10_250));
    assert_sole_master(&lan, 0, 3);
    lan.event(0, Event::Shutdown);
    let stopped = lan.now();
    assert_eq!(lan.adverts(0, VRID).last(), Some(&(stopped, 0)));
    assert!(!lan.holds_vips(0, VRID));
    lan.run_for(secs(10));
    // The 100 router's skew is 156/256 s, the 50 router's 206/256 s: the former wins.
    let took_over = entered(&lan, 1, State::Master, stopped).unwrap();
    assert_eq!(took_over - stopped, Duration::from_nanos(609_375_000));
    assert_eq!(lan.masters(VRID), vec![1]);
    assert_eq!(entered(&lan, 2, State::Master, stopped), None);
    assert_eq!(lan.instance(0, VRID).stats().pri_zero_sent, 1);
    assert_eq!(lan.instance(1, VRID).stats().pri_zero_rcvd, 1);
}

#[test]
fn lowered_priority_is_advertised_at_once_and_preempted() {
    let mut lan = lan(vec![v2(1, 200), v2(2, 150)]);
    lan.run_for(Duration::from_millis(10_300));
    lan.event(0, Event::PriorityChanged(120));
    let changed = lan.now();
    assert_eq!(lan.adverts(0, VRID).last(), Some(&(changed, 120)));
    lan.run_for(secs(10));
    // The backup now discards the lower adverts and preempts after its interval, counted from
    // the last advert it accepted (the one before the change).
    let last_accepted = last_advert_before(&lan, 0, changed - Duration::from_nanos(1));
    let took_over = entered(&lan, 1, State::Master, changed).unwrap();
    assert_eq!(
        took_over - last_accepted,
        Duration::from_nanos(3_000_000_000 + 106 * 3_906_250)
    );
    assert_sole_master(&lan, 1, 2);
}

#[test]
fn raised_backup_priority_preempts() {
    let mut lan = lan(vec![v2(1, 200), v2(2, 150)]);
    lan.run_for(secs(10));
    lan.event(1, Event::PriorityChanged(250));
    let changed = lan.now();
    lan.run_for(secs(10));
    assert_sole_master(&lan, 1, 2);
    let (_, _, reason) = lan
        .transitions(0, VRID)
        .into_iter()
        .find(|(at, to, _)| *at >= changed && *to == State::Backup)
        .unwrap();
    assert_eq!(reason, Reason::HigherPriorityAdvert);
    assert!(entered(&lan, 1, State::Master, changed).unwrap() < changed + secs(4));
    let _ = Instant::ZERO;
}
