//! Simulated LAN with `auth_type AH`: every advert really goes through the AH codec (HMAC-MD5-96
//! over the IPv4 header, the AH and the advert), so election, failover, a wrong password and
//! keepalived's sequence-number rules are exercised end to end.

mod common;

use core::time::Duration;

use common::*;
use keepalived_vrrp::sim::Logged;
use keepalived_vrrp::{InstanceConfig, State};

fn ah(n: u8, priority: u8, pass: &[u8]) -> InstanceConfig {
    let mut c = v2(n, priority);
    c.set_ah(pass);
    c
}

/// Drops logged by `node` whose text contains `needle`.
fn dropped(lan: &keepalived_vrrp::sim::Lan, node: usize, needle: &str) -> usize {
    lan.log()
        .iter()
        .filter(|e| e.node == node && matches!(&e.what, Logged::Dropped(t) if t.contains(needle)))
        .count()
}

#[test]
fn election_and_failover_with_ah() {
    let mut lan = lan(vec![ah(1, 200, b"s3cret"), ah(2, 100, b"s3cret")]);
    lan.run_for(secs(10));
    assert_sole_master(&lan, 0, 2);
    // The master has sent one advert per second since it took over at 3.22 s; the backup
    // accepted every one and follows its sequence number.
    let sent = lan.instance(0, VRID).ah_seq();
    assert!((7..=8).contains(&sent), "{sent}");
    assert_eq!(lan.instance(1, VRID).ah_seq(), sent);
    assert_eq!(lan.instance(1, VRID).stats().auth_failures, 0);
    assert_eq!(lan.instance(1, VRID).stats().advert_rcvd, u64::from(sent));

    lan.freeze(0);
    let frozen = lan.now();
    lan.run_for(secs(10));
    let took = entered(&lan, 1, State::Master, frozen).unwrap();
    assert_eq!(
        took - last_advert_before(&lan, 0, frozen),
        Duration::from_nanos(3_609_375_000)
    );
    // The new master continues above the numbers it heard.
    assert!(lan.instance(1, VRID).ah_seq() > sent);
}

#[test]
fn wrong_password_both_master_and_counted() {
    let mut lan = lan(vec![ah(1, 200, b"right1"), ah(2, 100, b"wrong2")]);
    lan.run_for(secs(10));
    assert_eq!(lan.masters(VRID), vec![0, 1]);
    for n in 0..2 {
        let st = lan.instance(n, VRID).stats();
        assert!(st.auth_failures >= 5, "node {n}: {st:?}");
        assert_eq!(st.advert_rcvd, 0);
        assert!(dropped(&lan, n, "HMAC") >= 5);
    }
}

/// keepalived's counters after a restart: the restarted master starts from sequence number 0,
/// so the backup (which followed it up to N) drops its adverts as replays and takes over; the
/// restarted master then accepts the backup's higher number, continues above it, and wins back.
#[test]
fn restarted_master_is_replayed_until_it_syncs_with_the_backup() {
    // The backup waits 5 adverts, so the restarted master's own down timer (3.22 s) fires
    // first and it advertises from sequence number 1.
    let mut backup = ah(2, 100, b"s3cret");
    backup.down_timer_adverts = 5;
    let mut lan = lan(vec![ah(1, 200, b"s3cret"), backup]);
    lan.run_for(secs(20));
    assert_sole_master(&lan, 0, 2);
    let followed = lan.instance(1, VRID).ah_seq();
    // Crash and restart at once: the backup never noticed a silence.
    lan.freeze(0);
    lan.restart(0);
    let restarted = lan.now();
    assert_eq!(lan.instance(0, VRID).ah_seq(), 0);
    lan.run_for(secs(20));
    assert_sole_master(&lan, 0, 2);
    // The backup dropped the restarted master's low numbers as replays...
    assert!(dropped(&lan, 1, "already processed") >= 2);
    assert!(lan.instance(1, VRID).stats().auth_failures >= 2);
    // ...took over for want of a valid master, and handed back once the restarted master had
    // continued above its number.
    assert!(entered(&lan, 1, State::Master, restarted).is_some());
    let back = entered(&lan, 0, State::Master, restarted).unwrap();
    let last = lan.transitions(0, VRID).into_iter().last().unwrap();
    assert_eq!(last.1, State::Master);
    assert!(last.0 >= back);
    assert!(lan.instance(0, VRID).ah_seq() > followed);
    assert_eq!(
        lan.instance(0, VRID).ah_seq(),
        lan.instance(1, VRID).ah_seq()
    );
}
