//! Unit tests of one instance: transitions, timers, and each receive check with its counter.

use core::net::{IpAddr, Ipv4Addr};
use core::time::Duration;

use super::*;
use crate::config::InitialState;
use crate::error::{PeerError, RxError};
use crate::stats::InstanceStats;
use crate::timing::Version;
use crate::wire::ChecksumCaps;
use crate::wire::ip::RxMeta;
use crate::wire::vrrp::{AddrList, Auth};

const VIP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 100);
const ME: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const PEER_LOW: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const PEER_HIGH: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 3);

fn cfg(version: Version, priority: u8) -> InstanceConfig {
    let mut c = InstanceConfig::new("VI_1", 51, version, ME.into(), AddrList::V4(vec![VIP]));
    c.priority = priority;
    c
}

fn t(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

fn drain(i: &mut Instance) -> Vec<Action> {
    let mut out = Vec::new();
    let next = i.drain(|a| out.push(a));
    assert_eq!(next, i.poll_timeout());
    assert_eq!(i.poll_action(), None);
    out
}

fn advert(i: &Instance, priority: u8) -> Repr {
    Repr {
        version: i.config().version,
        vrid: 51,
        priority,
        adver_int: i.config().adver_int,
        auth: i.config().auth,
        addrs: AddrList::V4(vec![VIP]),
    }
}

fn meta(src: Ipv4Addr) -> RxMeta {
    RxMeta {
        src: src.into(),
        dst: IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18)),
        ttl: 255,
    }
}

fn started(c: InstanceConfig) -> Instance {
    let mut i = Instance::new(c).unwrap();
    i.handle_start(t(0));
    drain(&mut i);
    i
}

fn master(c: InstanceConfig) -> Instance {
    let mut i = started(c);
    let at = i.poll_timeout().unwrap();
    i.handle_timeout(at);
    drain(&mut i);
    assert_eq!(i.state(), State::Master);
    i
}

fn sent_priorities(actions: &[Action]) -> Vec<u8> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::SendAdvert { repr, .. } => Some(repr.priority),
            _ => None,
        })
        .collect()
}

#[test]
fn backup_start_arms_master_down_only() {
    let mut i = Instance::new(cfg(Version::V2, 100)).unwrap();
    i.handle_start(t(0));
    let a = drain(&mut i);
    assert_eq!(
        a,
        vec![Action::StateChanged {
            from: State::Initialize,
            to: State::Backup,
            reason: Reason::Startup
        }]
    );
    assert_eq!(
        i.timer(Timer::MasterDown),
        Some(Instant::from_nanos(3_609_375_000))
    );
    assert_eq!(i.timer(Timer::Adver), None);
}

#[test]
fn becoming_master_sends_adds_garps_in_order() {
    let mut i = started(cfg(Version::V2, 100));
    i.handle_timeout(Instant::from_nanos(3_609_375_000));
    let a = drain(&mut i);
    assert!(matches!(
        a[0],
        Action::StateChanged {
            to: State::Master,
            reason: Reason::MasterDown,
            ..
        }
    ));
    assert!(matches!(a[1], Action::SendAdvert { .. }));
    assert_eq!(a[2], Action::AddVips);
    assert_eq!(a[3], Action::SendGratuitous { count: 5 });
    assert_eq!(i.timer(Timer::MasterDown), None);
    assert_eq!(i.stats().become_master, 1);
    assert_eq!(i.stats().new_master_reason, 3);
}

#[test]
fn garp_schedule_delay_and_refresh() {
    let mut c = cfg(Version::V2, 255);
    c.garp.master_refresh = Some(Duration::from_secs(60));
    c.garp.master_refresh_repeat = 2;
    let mut i = Instance::new(c).unwrap();
    i.handle_start(t(0));
    drain(&mut i);
    assert_eq!(i.timer(Timer::GarpDelay), Some(t(5000)));
    i.handle_timeout(t(5000));
    let a = drain(&mut i);
    assert!(a.contains(&Action::SendGratuitous { count: 5 }));
    i.handle_timeout(t(60_000));
    let a = drain(&mut i);
    assert!(a.contains(&Action::SendGratuitous { count: 2 }));
    assert_eq!(i.timer(Timer::GarpRefresh), Some(t(120_000)));
}

#[test]
fn address_owner_is_master_at_once() {
    let mut i = Instance::new(cfg(Version::V3, 255)).unwrap();
    i.handle_start(t(0));
    let a = drain(&mut i);
    assert!(matches!(
        a[0],
        Action::StateChanged {
            from: State::Initialize,
            to: State::Master,
            reason: Reason::AddressOwner
        }
    ));
    assert_eq!(i.state(), State::Master);
    assert_eq!(i.timer(Timer::Adver), Some(t(1000)));
}

/// keepalived 2.2.7 `vrrp_init_state`: below priority 255 `state MASTER` starts exactly as
/// `state BACKUP` does: Backup "(init)", the full Master_Down_Interval, then Master for want of
/// a master (RFC 6527 masterNoResponse).
#[test]
fn initial_state_master_below_owner_starts_as_backup_with_the_full_down_timer() {
    for version in [Version::V2, Version::V3] {
        let mut c = cfg(version, 90);
        c.initial_state = InitialState::Master;
        let mut m = Instance::new(c.clone()).unwrap();
        c.initial_state = InitialState::Backup;
        let mut b = Instance::new(c).unwrap();
        m.handle_start(t(7));
        b.handle_start(t(7));
        assert_eq!(drain(&mut m), drain(&mut b));
        assert_eq!(m.state(), State::Backup);
        let down = t(7) + m.master_down_interval();
        assert_eq!(m.poll_timeout(), Some(down));
        assert_eq!(b.poll_timeout(), Some(down));
        // Nothing happens before the down timer, not even at one interval plus the skew.
        m.handle_timeout(down - Duration::from_nanos(1));
        assert!(drain(&mut m).is_empty());
        m.handle_timeout(down);
        let a = drain(&mut m);
        assert!(matches!(
            a[0],
            Action::StateChanged {
                from: State::Backup,
                to: State::Master,
                reason: Reason::MasterDown,
            }
        ));
        assert_eq!(m.stats().new_master_reason, 3);
    }
}

/// A live master of higher priority heard during the start-up wait keeps a `state MASTER`
/// instance in Backup: it never sends an advert of its own or adds the addresses.
#[test]
fn initial_state_master_never_claims_mastership_over_a_live_master() {
    let mut c = cfg(Version::V2, 90);
    c.initial_state = InitialState::Master;
    let mut i = Instance::new(c).unwrap();
    i.handle_start(t(0));
    let mut actions = drain(&mut i);
    for n in 0..20u64 {
        let at = t(400 + 1000 * n);
        i.handle_timeout(at);
        let r = advert(&i, 100);
        i.handle_packet(at, &meta(PEER_HIGH), &r).unwrap();
        actions.extend(drain(&mut i));
    }
    assert_eq!(i.state(), State::Backup);
    assert!(sent_priorities(&actions).is_empty(), "{actions:?}");
    assert!(!actions.contains(&Action::AddVips));
}

/// The owner is master at once whatever its `state`.
#[test]
fn owner_is_master_at_once_with_either_initial_state() {
    for state in [InitialState::Master, InitialState::Backup] {
        let mut c = cfg(Version::V2, PRIORITY_OWNER);
        c.initial_state = state;
        let mut i = Instance::new(c).unwrap();
        i.handle_start(t(3));
        assert_eq!(i.state(), State::Master);
    }
}

#[test]
fn master_advertises_every_interval() {
    let mut i = master(cfg(Version::V2, 100));
    let start = i.timer(Timer::Adver).unwrap();
    i.handle_timeout(start);
    assert_eq!(sent_priorities(&drain(&mut i)), vec![100]);
    assert_eq!(i.timer(Timer::Adver), Some(start + Duration::from_secs(1)));
    // A spurious early timeout does nothing.
    i.handle_timeout(start + Duration::from_millis(10));
    assert!(drain(&mut i).is_empty());
}

#[test]
fn backup_resets_down_timer_on_higher_advert_and_discards_lower() {
    let mut i = started(cfg(Version::V2, 100));
    let r = advert(&i, 150);
    i.handle_packet(t(500), &meta(PEER_LOW), &r).unwrap();
    assert_eq!(
        i.timer(Timer::MasterDown),
        Some(t(500) + i.master_down_interval())
    );
    // Lower priority with preempt: discarded, timer unchanged.
    let r = advert(&i, 50);
    i.handle_packet(t(900), &meta(PEER_LOW), &r).unwrap();
    assert_eq!(
        i.timer(Timer::MasterDown),
        Some(t(500) + i.master_down_interval())
    );
    assert_eq!(i.stats().advert_rcvd, 2);
}

#[test]
fn nopreempt_backup_accepts_lower_advert() {
    let mut c = cfg(Version::V2, 100);
    c.preempt = false;
    let mut i = started(c);
    let r = advert(&i, 50);
    i.handle_packet(t(900), &meta(PEER_LOW), &r).unwrap();
    assert_eq!(
        i.timer(Timer::MasterDown),
        Some(t(900) + i.master_down_interval())
    );
}

#[test]
fn priority_zero_sets_skew_time() {
    let mut i = started(cfg(Version::V2, 100));
    let r = advert(&i, 0);
    i.handle_packet(t(1000), &meta(PEER_LOW), &r).unwrap();
    assert_eq!(
        i.timer(Timer::MasterDown),
        Some(t(1000) + Duration::from_micros(609_375))
    );
    assert_eq!(i.stats().pri_zero_rcvd, 1);
}

#[test]
fn v3_backup_learns_master_interval() {
    let mut i = started(cfg(Version::V3, 100));
    let mut r = advert(&i, 200);
    r.adver_int = Centisecs(5);
    i.handle_packet(t(10), &meta(PEER_LOW), &r).unwrap();
    assert_eq!(i.master_adver_int(), Centisecs(5));
    assert_eq!(
        i.timer(Timer::MasterDown),
        Some(t(10) + Duration::from_nanos(180_468_750))
    );
    // Counted and reported, not dropped.
    assert_eq!(i.stats().adver_interval_errors, 1);
    assert!(
        drain(&mut i)
            .iter()
            .any(|a| matches!(a, Action::Warning(_)))
    );
}

#[test]
fn v2_interval_mismatch_is_dropped_and_counted() {
    let mut i = started(cfg(Version::V2, 100));
    let mut r = advert(&i, 200);
    r.adver_int = Centisecs::from_secs(2);
    let e = i.handle_packet(t(10), &meta(PEER_LOW), &r).unwrap_err();
    assert!(matches!(e.error, RxError::AdverInterval { .. }));
    assert_eq!(i.stats().adver_interval_errors, 1);
    assert_eq!(i.stats().advert_rcvd, 0);
}

#[test]
fn master_steps_down_for_higher_priority() {
    let mut i = master(cfg(Version::V3, 100));
    let mut r = advert(&i, 101);
    r.adver_int = Centisecs(50);
    i.handle_packet(t(5000), &meta(PEER_LOW), &r).unwrap();
    let a = drain(&mut i);
    // The interval differs from ours: reported first.
    assert!(matches!(a[0], Action::Warning(_)));
    let a = &a[1..];
    assert!(matches!(
        a[0],
        Action::StateChanged {
            to: State::Backup,
            reason: Reason::HigherPriorityAdvert,
            ..
        }
    ));
    assert_eq!(a[1], Action::DelVips);
    assert_eq!(i.master_adver_int(), Centisecs(50));
    assert_eq!(i.timer(Timer::Adver), None);
    assert_eq!(
        i.timer(Timer::MasterDown),
        Some(t(5000) + i.master_down_interval())
    );
    assert_eq!(i.stats().release_master, 1);
}

#[test]
fn equal_priority_broken_by_address() {
    let mut i = master(cfg(Version::V2, 100));
    let r = advert(&i, 100);
    // Lower address: we stay master and answer at once.
    i.handle_packet(t(5000), &meta(PEER_LOW), &r).unwrap();
    assert_eq!(i.state(), State::Master);
    assert_eq!(sent_priorities(&drain(&mut i)), vec![100]);
    // Higher address: we yield.
    i.handle_packet(t(5001), &meta(PEER_HIGH), &r).unwrap();
    assert_eq!(i.state(), State::Backup);
}

#[test]
fn master_answers_priority_zero_at_once() {
    let mut i = master(cfg(Version::V2, 100));
    let r = advert(&i, 0);
    i.handle_packet(t(4000), &meta(PEER_HIGH), &r).unwrap();
    assert_eq!(sent_priorities(&drain(&mut i)), vec![100]);
    assert_eq!(i.timer(Timer::Adver), Some(t(5000)));
}

#[test]
fn shutdown_of_master_sends_priority_zero_and_releases() {
    let mut i = master(cfg(Version::V2, 100));
    i.handle_event(t(9000), Event::Shutdown);
    let a = drain(&mut i);
    assert!(matches!(
        a[0],
        Action::StateChanged {
            to: State::Stop,
            reason: Reason::Shutdown,
            ..
        }
    ));
    assert_eq!(sent_priorities(&a), vec![0]);
    assert!(a.contains(&Action::DelVips));
    assert_eq!(i.stats().pri_zero_sent, 1);
    assert_eq!(i.poll_timeout(), None);
    // Restartable.
    i.handle_start(t(10_000));
    assert_eq!(i.state(), State::Backup);
}

#[test]
fn interface_down_and_up() {
    let mut i = master(cfg(Version::V2, 100));
    i.handle_event(t(100), Event::InterfaceDown);
    let a = drain(&mut i);
    assert!(matches!(
        a[0],
        Action::StateChanged {
            to: State::Fault,
            ..
        }
    ));
    assert!(a.contains(&Action::DelVips));
    assert_eq!(i.poll_timeout(), None);
    // Adverts are ignored in Fault.
    let r = advert(&i, 200);
    assert!(i.handle_packet(t(150), &meta(PEER_LOW), &r).is_ok());
    assert_eq!(i.stats().advert_rcvd, 0);
    i.handle_event(t(200), Event::InterfaceUp);
    assert_eq!(i.state(), State::Backup);
    assert_eq!(i.poll_timeout(), Some(t(200) + i.master_down_interval()));
}

#[test]
fn fault_is_left_only_when_every_cause_is_gone() {
    use crate::state::FaultCause;
    let mut i = master(cfg(Version::V2, 100));
    i.handle_event(t(100), Event::FaultRaised(FaultCause::Tracker));
    i.handle_event(t(110), Event::InterfaceDown);
    let a = drain(&mut i);
    assert!(a.contains(&Action::StateChanged {
        from: State::Master,
        to: State::Fault,
        reason: Reason::TrackerFault,
    }));
    i.handle_event(t(200), Event::InterfaceUp);
    assert_eq!(i.state(), State::Fault);
    assert!(i.fault_causes().contains(FaultCause::Tracker));
    i.handle_event(t(300), Event::FaultCleared(FaultCause::Tracker));
    let a = drain(&mut i);
    assert_eq!(
        a,
        vec![Action::StateChanged {
            from: State::Fault,
            to: State::Backup,
            reason: Reason::TrackerRecovered,
        }]
    );
    assert!(i.fault_causes().is_empty());
    // Clearing a cause that is not there changes nothing.
    i.handle_event(t(400), Event::FaultCleared(FaultCause::SyncGroup));
    assert!(drain(&mut i).is_empty());
}

#[test]
fn maintenance_resigns_with_priority_zero_and_holds_until_taken_off() {
    use crate::state::FaultCause;
    let mut i = master(cfg(Version::V3, 150));
    i.handle_event(t(100), Event::FaultRaised(FaultCause::Maintenance));
    let a = drain(&mut i);
    assert_eq!(sent_priorities(&a), vec![0]);
    assert!(a.contains(&Action::DelVips));
    assert!(a.contains(&Action::StateChanged {
        from: State::Master,
        to: State::Fault,
        reason: Reason::MaintenanceOn,
    }));
    // Nothing runs, whatever the peers do, until maintenance ends.
    assert_eq!(i.poll_timeout(), None);
    i.handle_event(t(200), Event::InterfaceDown);
    i.handle_event(t(300), Event::InterfaceUp);
    assert_eq!(i.state(), State::Fault);
    i.handle_event(t(400), Event::FaultCleared(FaultCause::Maintenance));
    let a = drain(&mut i);
    assert!(a.contains(&Action::StateChanged {
        from: State::Fault,
        to: State::Backup,
        reason: Reason::MaintenanceOff,
    }));
    assert_eq!(i.poll_timeout(), Some(t(400) + i.master_down_interval()));
}

#[test]
fn master_reports_lower_priority_adverts() {
    let mut i = master(cfg(Version::V2, 100));
    i.handle_packet(t(100), &meta(PEER_LOW), &advert(&i, 50))
        .unwrap();
    let a = drain(&mut i);
    assert_eq!(
        a[0],
        Action::MasterRxLowerPriority {
            from: PEER_LOW.into(),
            priority: 50
        }
    );
    assert_eq!(sent_priorities(&a), vec![100]);
    // Equal priority from a lower address: answered, but not a lower priority.
    i.handle_packet(t(200), &meta(PEER_LOW), &advert(&i, 100))
        .unwrap();
    let a = drain(&mut i);
    assert!(
        !a.iter()
            .any(|a| matches!(a, Action::MasterRxLowerPriority { .. }))
    );
}

#[test]
fn priority_change_is_reported_and_moves_the_down_timer() {
    let mut i = started(cfg(Version::V3, 100));
    let before = i.poll_timeout().unwrap();
    let old_skew = i.skew_time();
    i.handle_event(t(10), Event::PriorityChanged(200));
    assert_eq!(
        drain(&mut i),
        vec![Action::PriorityChanged { from: 100, to: 200 }]
    );
    let after = i.poll_timeout().unwrap();
    assert_eq!(before - after, old_skew - i.skew_time());
    // Before start nothing is reported.
    let mut j = Instance::new(cfg(Version::V2, 100)).unwrap();
    j.handle_event(t(0), Event::PriorityChanged(50));
    assert_eq!(j.priority(), 50);
    assert!(drain(&mut j).is_empty());
}

#[test]
fn gated_member_only_wants_master() {
    let mut i = started(cfg(Version::V2, 100));
    i.set_sync_gate(true);
    let at = i.poll_timeout().unwrap();
    i.handle_timeout(at);
    assert!(drain(&mut i).is_empty());
    assert_eq!(i.state(), State::Backup);
    assert!(i.wants_master());
    assert_eq!(i.poll_timeout(), Some(at + i.master_down_interval()));
    // A master heard: no longer.
    i.handle_packet(at, &meta(PEER_HIGH), &advert(&i, 150))
        .unwrap();
    assert!(!i.wants_master());
    assert!(i.sync_to(at, State::Master));
    assert_eq!(i.state(), State::Master);
    assert!(!i.sync_to(at, State::Master));
}

#[test]
fn start_with_interface_down_is_fault() {
    let mut i = Instance::new(cfg(Version::V2, 100)).unwrap();
    i.handle_event(t(0), Event::InterfaceDown);
    i.handle_start(t(0));
    assert_eq!(i.state(), State::Fault);
}

#[test]
fn priority_change_is_advertised_at_once() {
    let mut i = master(cfg(Version::V2, 100));
    i.handle_event(t(4200), Event::PriorityChanged(80));
    assert_eq!(sent_priorities(&drain(&mut i)), vec![80]);
    assert_eq!(i.priority(), 80);
    assert_eq!(i.timer(Timer::Adver), Some(t(5200)));
    // Clamped to 1..=254; unchanged priority sends nothing.
    i.handle_event(t(4300), Event::PriorityChanged(255));
    assert_eq!(i.priority(), 254);
    drain(&mut i);
    i.handle_event(t(4400), Event::PriorityChanged(254));
    assert!(drain(&mut i).is_empty());
}

#[test]
fn owner_priority_is_fixed() {
    let mut i = Instance::new(cfg(Version::V2, 255)).unwrap();
    i.handle_event(t(0), Event::PriorityChanged(10));
    assert_eq!(i.priority(), 255);
}

#[test]
fn preempt_delay_accepts_lower_master_until_deadline() {
    let mut c = cfg(Version::V2, 200);
    c.preempt_delay = Duration::from_secs(10);
    let mut i = started(c);
    let r = advert(&i, 100);
    i.handle_packet(t(1000), &meta(PEER_LOW), &r).unwrap();
    assert_eq!(
        i.timer(Timer::MasterDown),
        Some(t(1000) + i.master_down_interval())
    );
    i.handle_packet(t(9999), &meta(PEER_LOW), &r).unwrap();
    assert_eq!(
        i.timer(Timer::MasterDown),
        Some(t(9999) + i.master_down_interval())
    );
    // Past the deadline (start-up + 10 s): discarded.
    i.handle_packet(t(10_000), &meta(PEER_LOW), &r).unwrap();
    assert_eq!(
        i.timer(Timer::MasterDown),
        Some(t(9999) + i.master_down_interval())
    );
}

// ---- one test per receive rejection, with its counter ----

#[test]
fn rejects_bad_ttl_unless_disabled() {
    let mut i = started(cfg(Version::V2, 100));
    let r = advert(&i, 200);
    let mut m = meta(PEER_LOW);
    m.ttl = 64;
    let e = i.handle_packet(t(1), &m, &r).unwrap_err();
    assert_eq!(e.error, RxError::IpTtl { got: 64 });
    assert_eq!(e.peer, IpAddr::V4(PEER_LOW));
    assert_eq!(i.stats().ip_ttl_errors, 1);
    let mut c = cfg(Version::V2, 100);
    c.check_ttl = false;
    let mut i = started(c);
    assert!(i.handle_packet(t(1), &m, &r).is_ok());
}

#[test]
fn rejects_other_version_as_global() {
    let mut i = started(cfg(Version::V2, 100));
    let mut r = advert(&i, 200);
    r.version = Version::V3;
    let e = i.handle_packet(t(1), &meta(PEER_LOW), &r).unwrap_err();
    assert_eq!(e.error, RxError::Version { got: 3 });
    assert_eq!(*i.stats(), InstanceStats::default());
}

#[test]
fn rejects_other_vrid_as_global() {
    let mut i = started(cfg(Version::V2, 100));
    let mut r = advert(&i, 200);
    r.vrid = 52;
    let e = i.handle_packet(t(1), &meta(PEER_LOW), &r).unwrap_err();
    assert_eq!(e.error, RxError::VridUnknown { vrid: 52 });
}

#[test]
fn rejects_auth_type_mismatch_and_ah() {
    let mut c = cfg(Version::V2, 100);
    c.auth = Auth::simple(b"secret");
    let mut i = started(c);
    let mut r = advert(&i, 200);
    r.auth = Auth::None;
    let e = i.handle_packet(t(1), &meta(PEER_LOW), &r).unwrap_err();
    assert_eq!(
        e.error,
        RxError::AuthTypeMismatch {
            got: 0,
            expected: 1
        }
    );
    r.auth = Auth::IpAh;
    let e = i.handle_packet(t(1), &meta(PEER_LOW), &r).unwrap_err();
    assert_eq!(
        e.error,
        RxError::AuthTypeMismatch {
            got: 2,
            expected: 1
        }
    );
    assert_eq!(i.stats().authtype_mismatch, 2);
}

#[test]
fn rejects_wrong_password() {
    let mut c = cfg(Version::V2, 100);
    c.auth = Auth::simple(b"secret");
    let mut i = started(c);
    let mut r = advert(&i, 200);
    r.auth = Auth::simple(b"Secret");
    let e = i.handle_packet(t(1), &meta(PEER_LOW), &r).unwrap_err();
    assert_eq!(e.error, RxError::AuthFailure);
    assert_eq!(i.stats().auth_failures, 1);
}

#[test]
fn address_list_mismatch_counted_dropped_only_in_strict_mode() {
    let mut i = started(cfg(Version::V2, 100));
    let mut r = advert(&i, 200);
    r.addrs = AddrList::V4(vec![Ipv4Addr::new(10, 0, 0, 99)]);
    assert!(i.handle_packet(t(1), &meta(PEER_LOW), &r).is_ok());
    assert_eq!(i.stats().addr_list_errors, 1);
    let mut c = cfg(Version::V2, 100);
    c.strict_addr_check = true;
    let mut i = started(c);
    let e = i.handle_packet(t(1), &meta(PEER_LOW), &r).unwrap_err();
    assert_eq!(e.error, RxError::AddressList);
    assert_eq!(i.stats().addr_list_errors, 1);
}

#[test]
fn datagram_path_counts_codec_errors() {
    let mut i = started(cfg(Version::V2, 100));
    let m = meta(PEER_LOW);
    let r = advert(&i, 200);
    let mut bytes = r.to_bytes(m.src, m.dst, ChecksumCaps::default()).unwrap();
    assert!(i.handle_datagram(t(1), &m, &bytes).is_ok());
    bytes[0] = 0x22; // type 2
    let e = i.handle_datagram(t(2), &m, &bytes).unwrap_err();
    // The checksum fails before the type is looked at: global scope, not counted here.
    assert!(matches!(e.error, RxError::Checksum { .. }));
    let mut c = cfg(Version::V2, 100);
    c.checksum.verify = false;
    let mut i = started(c);
    let e = i.handle_datagram(t(2), &m, &bytes).unwrap_err();
    assert_eq!(e.error, RxError::InvalidType { got: 2 });
    assert_eq!(i.stats().invalid_type_rcvd, 1);
    let e = i.handle_datagram(t(3), &m, &bytes[..16]).unwrap_err();
    assert!(matches!(e.error, RxError::PacketLength { .. }));
    assert_eq!(i.stats().packet_length_errors, 1);
}

#[test]
fn own_adverts_are_ignored() {
    let mut i = master(cfg(Version::V2, 100));
    let r = advert(&i, 100);
    i.handle_packet(t(1), &meta(ME), &r).unwrap();
    assert!(drain(&mut i).is_empty());
    assert_eq!(i.stats().advert_rcvd, 0);
}

#[test]
fn poll_timeout_never_in_the_past_after_handling() {
    // A small fuzz of inputs: after every handled input at `now`, the next timeout is > now
    // (or none), MasterDown is armed only in Backup and Adver only in Master.
    let mut rng = crate::sim::SplitMix64::new(7);
    let mut i = started(cfg(Version::V3, 100));
    let mut now = t(0);
    for _ in 0..20_000 {
        now += Duration::from_millis(rng.below(700));
        match rng.below(6) {
            0 => i.handle_event(
                now,
                Event::PriorityChanged(u8::try_from(rng.below(256)).unwrap_or(1)),
            ),
            1 if rng.below(20) == 0 => i.handle_event(now, Event::InterfaceDown),
            1 => i.handle_event(now, Event::InterfaceUp),
            2 if rng.below(50) == 0 => {
                i.handle_event(now, Event::Shutdown);
                i.handle_start(now);
            }
            3 | 4 => {
                let mut r = advert(&i, u8::try_from(rng.below(256)).unwrap_or(0));
                r.adver_int = Centisecs(u16::try_from(rng.below(300)).unwrap_or(1));
                let src = if rng.below(2) == 0 {
                    PEER_LOW
                } else {
                    PEER_HIGH
                };
                let _ = i.handle_packet(now, &meta(src), &r);
            }
            _ => {}
        }
        if let Some(at) = i.poll_timeout().filter(|at| *at <= now) {
            i.handle_timeout(at.max(now));
        }
        drain(&mut i);
        assert!(
            i.poll_timeout().is_none_or(|at| at > now),
            "timer in the past at {now}"
        );
        assert_eq!(
            i.timer(Timer::MasterDown).is_some(),
            i.state() == State::Backup
        );
        assert_eq!(i.timer(Timer::Adver).is_some(), i.state() == State::Master);
    }
}

#[path = "ah_tests.rs"]
mod ah_tests;
