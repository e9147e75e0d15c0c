//! Engine: reloading in place (instances updated, removed and added, sync groups replaced,
//! tracked objects forgotten) on a simulated network, keeping whatever did not change.

mod common;

use core::time::Duration;

use common::engine::*;
use common::secs;
use keepalived_vrrp::sim::{Logged, Net, NetLogged};
use keepalived_vrrp::{
    AddrList, Centisecs, Instance, InstanceRef, ReconfigureError, State, SyncGroupOptions,
    TrackKind, Tracked, TrackerId, TrackerValue, UpdateError, Version,
};

/// Node A (priority 200) and node B (priority 100), one instance each on segment 0, started
/// and settled: A master, B backup.
fn pair() -> (Net, usize, InstanceRef, usize, InstanceRef) {
    let mut net = Net::new();
    let (a, ra) = node(&mut net, 1, &[200], &[]);
    let (b, rb) = node(&mut net, 2, &[100], &[]);
    net.start(a);
    net.start(b);
    net.run_for(secs(10));
    assert_eq!(net.state(a, ra[0]), State::Master);
    assert_eq!(net.state(b, rb[0]), State::Backup);
    (net, a, ra[0], b, rb[0])
}

/// Log entries of `node` from index `from` on.
fn since(net: &Net, node: usize, from: usize) -> Vec<NetLogged> {
    net.log()[from..]
        .iter()
        .filter(|e| e.node == node)
        .map(|e| e.what.clone())
        .collect()
}

fn non_advert(entries: &[NetLogged]) -> Vec<NetLogged> {
    entries
        .iter()
        .filter(|w| {
            !matches!(
                w,
                NetLogged::Instance {
                    what: Logged::Sent { .. },
                    ..
                }
            )
        })
        .cloned()
        .collect()
}

/// The longest gap between consecutive adverts of `r` on `node` after `after`.
fn max_gap(net: &Net, node: usize, r: InstanceRef, after: keepalived_vrrp::Instant) -> Duration {
    let times: Vec<_> = net
        .adverts(node, r)
        .into_iter()
        .filter(|(t, _)| *t >= after)
        .map(|(t, _)| t)
        .collect();
    times
        .windows(2)
        .map(|w| w[1] - w[0])
        .max()
        .unwrap_or_default()
}

#[test]
fn unchanged_update_keeps_state_timers_and_sends_nothing_extra() {
    let (mut net, a, ra, b, rb) = pair();
    let mark = net.log().len();
    let start = net.now();
    // A reload every 100 ms for 10 s, with the very same configuration on both nodes.
    for _ in 0..100 {
        for (n, r, prio) in [(a, ra, 200), (b, rb, 100)] {
            let host = if n == a { 1 } else { 2 };
            net.apply(n, |e, now| {
                e.update_instance(now, r, seg_cfg(0, host, prio), vec![])
            })
            .unwrap();
        }
        net.run_for(Duration::from_millis(100));
    }
    assert_eq!(non_advert(&since(&net, a, mark)), vec![]);
    assert_eq!(non_advert(&since(&net, b, mark)), vec![]);
    assert_eq!(net.state(a, ra), State::Master);
    // One advert a second, none extra.
    let sent = net
        .adverts(a, ra)
        .iter()
        .filter(|(t, _)| *t >= start)
        .count();
    assert!((9..=11).contains(&sent), "{sent} adverts in 10 s");
    assert!(max_gap(&net, a, ra, start) <= secs(1));
}

#[test]
fn removed_master_resigns_and_peer_takes_over_after_skew() {
    let (mut net, a, ra, b, rb) = pair();
    let mark = net.log().len();
    let removed = net.apply(a, |e, now| e.remove_instance(now, ra));
    assert!(removed);
    assert!(!net.engine(a).is_live(ra));
    let got: Vec<Logged> = since(&net, a, mark)
        .into_iter()
        .filter_map(|w| match w {
            NetLogged::Instance { what, .. } => Some(what),
            NetLogged::Group { .. } => None,
        })
        .collect();
    assert!(
        matches!(
            got.as_slice(),
            [
                Logged::State {
                    from: State::Master,
                    to: State::Stop,
                    ..
                },
                Logged::Sent { priority: 0 },
                Logged::DelVips,
            ]
        ),
        "{got:?}"
    );
    // Removing twice is refused; the removed instance has no timers and hears nothing.
    assert!(!net.apply(a, |e, now| e.remove_instance(now, ra)));
    net.run_for(secs(5));
    assert_eq!(net.state(b, rb), State::Master);
    assert_eq!(net.engine(a).poll_timeout(), None);
    assert!(net.engine(a).instance_refs().is_empty());
}

#[test]
fn added_instance_starts_at_once_and_reuses_a_freed_slot() {
    let (mut net, a, ra, b, rb) = pair();
    net.apply(a, |e, now| e.remove_instance(now, ra));
    net.run_for(secs(5));
    // The same VRID may be added again on the link; it takes the freed slot and starts now.
    let inst = Instance::new(seg_cfg(0, 1, 200)).unwrap();
    let r = net
        .apply(a, |e, now| e.insert_instance(now, 0, inst, vec![]))
        .unwrap();
    assert_eq!(r, ra);
    assert_eq!(net.state(a, r), State::Backup);
    // And preempts B (priority 200 over 100): it ignores B's adverts and times out.
    net.run_for(secs(4));
    assert_eq!(net.state(a, r), State::Master);
    assert_eq!(net.state(b, rb), State::Backup);
    // A second instance with a VRID already running is refused.
    let dup = Instance::new(seg_cfg(0, 1, 50)).unwrap();
    assert!(
        net.apply(a, |e, now| e.insert_instance(now, 0, dup, vec![]))
            .is_err()
    );
}

#[test]
fn inserted_before_start_waits_for_start() {
    let mut net = Net::new();
    let n = net.add_node();
    let link = net.add_link(n, 0);
    let inst = Instance::new(seg_cfg(0, 1, 100)).unwrap();
    let r = net
        .apply(n, |e, now| e.insert_instance(now, link, inst, vec![]))
        .unwrap();
    assert_eq!(net.state(n, r), State::Initialize);
    net.start(n);
    assert_eq!(net.state(n, r), State::Backup);
}

#[test]
fn lowered_master_priority_is_advertised_at_once_and_peer_preempts() {
    let (mut net, a, ra, b, rb) = pair();
    let at = net.now();
    net.apply(a, |e, now| {
        e.update_instance(now, ra, seg_cfg(0, 1, 50), vec![])
    })
    .unwrap();
    assert_eq!(net.engine(a).instance(ra).unwrap().priority(), 50);
    assert_eq!(net.adverts(a, ra).last(), Some(&(at, 50)));
    // B ignores the lower priority and times out (3 s + skew); A then steps down.
    net.run_for(secs(4));
    assert_eq!(net.state(b, rb), State::Master);
    assert_eq!(net.state(a, ra), State::Backup);
}

#[test]
fn shorter_advert_interval_takes_effect_without_a_state_change() {
    let (mut net, a, ra, b, rb) = pair();
    let mark = net.log().len();
    let mut fast = seg_cfg(0, 1, 200);
    fast.adver_int = Centisecs::from_secs(1);
    fast.version = Version::V2;
    // v2 keeps whole seconds; use v3 on both sides to shorten to 0.2 s.
    let to_v3 = net.apply(a, |e, now| {
        let mut c = seg_cfg(0, 1, 200);
        c.version = Version::V3;
        e.update_instance(now, ra, c, vec![])
    });
    assert_eq!(
        to_v3,
        Err(UpdateError::Reconfigure(ReconfigureError::Identity))
    );
    // v2 advert_int 1 -> 2 s: the master's next advert comes no later than before.
    let start = net.now();
    fast.adver_int = Centisecs::from_secs(2);
    net.apply(a, |e, now| e.update_instance(now, ra, fast.clone(), vec![]))
        .unwrap();
    let mut slow_b = seg_cfg(0, 2, 100);
    slow_b.adver_int = Centisecs::from_secs(2);
    net.apply(b, |e, now| e.update_instance(now, rb, slow_b, vec![]))
        .unwrap();
    net.run_for(secs(20));
    assert_eq!(non_advert(&since(&net, a, mark)), vec![]);
    assert_eq!(non_advert(&since(&net, b, mark)), vec![]);
    let gaps = max_gap(&net, a, ra, start);
    assert_eq!(gaps, secs(2));
    assert_eq!(
        net.engine(b).instance(rb).unwrap().master_adver_int(),
        Centisecs::from_secs(2)
    );
}

#[test]
fn vip_change_keeps_state_and_goes_into_the_next_advert() {
    let (mut net, a, ra, _b, _rb) = pair();
    let mark = net.log().len();
    let mut c = seg_cfg(0, 1, 200);
    c.vips = AddrList::V4(vec![
        "192.0.2.100".parse().unwrap(),
        "192.0.2.101".parse().unwrap(),
    ]);
    net.apply(a, |e, now| e.update_instance(now, ra, c.clone(), vec![]))
        .unwrap();
    assert_eq!(net.engine(a).instance(ra).unwrap().config().vips, c.vips);
    net.run_for(secs(3));
    assert_eq!(non_advert(&since(&net, a, mark)), vec![]);
    assert_eq!(net.state(a, ra), State::Master);
}

#[test]
fn invalid_update_is_refused_and_changes_nothing() {
    let (mut net, a, ra, _b, _rb) = pair();
    let mut bad = seg_cfg(0, 1, 200);
    bad.down_timer_adverts = 0;
    let got = net.apply(a, |e, now| e.update_instance(now, ra, bad, vec![]));
    assert!(matches!(
        got,
        Err(UpdateError::Reconfigure(ReconfigureError::Config(_)))
    ));
    let mut other = seg_cfg(0, 1, 200);
    other.vrid = 99;
    let got = net.apply(a, |e, now| e.update_instance(now, ra, other, vec![]));
    assert_eq!(
        got,
        Err(UpdateError::Reconfigure(ReconfigureError::Identity))
    );
    assert_eq!(
        net.engine(a).instance(ra).unwrap().config(),
        &seg_cfg(0, 1, 200)
    );
    let gone = InstanceRef { link: 0, id: 7 };
    assert_eq!(
        net.apply(a, |e, now| e.update_instance(
            now,
            gone,
            seg_cfg(0, 1, 1),
            vec![]
        )),
        Err(UpdateError::UnknownInstance(gone))
    );
}

#[test]
fn new_tracker_on_update_applies_its_weight_and_forgotten_ones_go() {
    let (mut net, a, ra, b, rb) = pair();
    net.tracker(a, upd(5, TrackerValue::Down));
    let t = Tracked::new(TrackerId(5), TrackKind::Script).weight(-150);
    net.apply(a, |e, now| {
        e.update_instance(now, ra, seg_cfg(0, 1, 200), vec![t])
    })
    .unwrap();
    assert_eq!(net.engine(a).instance(ra).unwrap().priority(), 50);
    net.run_for(secs(4));
    assert_eq!(net.state(b, rb), State::Master);
    // Dropped from the configuration: the priority comes back, the status is forgotten.
    net.apply(a, |e, now| {
        e.retain_trackers(|id| id != TrackerId(5));
        e.update_instance(now, ra, seg_cfg(0, 1, 200), vec![])
    })
    .unwrap();
    assert_eq!(net.engine(a).tracker_value(TrackerId(5)), None);
    assert_eq!(net.engine(a).instance(ra).unwrap().priority(), 200);
    net.run_for(secs(4));
    assert_eq!(net.state(a, ra), State::Master);
}

/// Node with two instances on two segments, grouped "G".
fn grouped() -> (Net, usize, Vec<InstanceRef>) {
    let mut net = Net::new();
    let (a, ra) = node(&mut net, 1, &[200, 200], &[]);
    net.engine_mut(a).add_sync_group("G", &ra, vec![]).unwrap();
    net.start(a);
    net.run_for(secs(10));
    assert_eq!(net.state(a, ra[0]), State::Master);
    (net, a, ra)
}

fn spec(name: &str, members: &[InstanceRef]) -> keepalived_vrrp::GroupSpec {
    keepalived_vrrp::GroupSpec {
        name: name.into(),
        members: members.to_vec(),
        tracks: vec![],
        options: SyncGroupOptions::default(),
    }
}

#[test]
fn same_sync_groups_again_change_nothing() {
    let (mut net, a, ra) = grouped();
    let mark = net.log().len();
    for _ in 0..10 {
        net.apply(a, |e, now| e.set_sync_groups(now, &[spec("G", &ra)]))
            .unwrap();
        net.run_for(Duration::from_millis(300));
    }
    assert_eq!(non_advert(&since(&net, a, mark)), vec![]);
    assert_eq!(
        net.engine(a).group_by_name("G").map(|g| g.1),
        Some(State::Master)
    );
}

#[test]
fn bad_sync_groups_are_refused_whole() {
    let (mut net, a, ra) = grouped();
    let twice = net.apply(a, |e, now| {
        e.set_sync_groups(now, &[spec("G", &ra), spec("H", &ra[..1])])
    });
    assert!(twice.is_err());
    assert!(
        net.apply(a, |e, now| e.set_sync_groups(now, &[spec("E", &[])]))
            .is_err()
    );
    assert_eq!(net.engine(a).groups(), 1);
    assert_eq!(net.engine(a).group_of(ra[1]).map(|g| g.0), Some(0));
}

#[test]
fn group_member_removed_and_group_dropped() {
    let (mut net, a, ra) = grouped();
    // A member in FAULT pulls the other into FAULT; removing it releases the other.
    net.event(a, ra[1], keepalived_vrrp::Event::InterfaceDown);
    assert_eq!(net.state(a, ra[0]), State::Fault);
    net.apply(a, |e, now| e.remove_instance(now, ra[1]));
    assert_eq!(net.state(a, ra[1]), State::Stop);
    net.run_for(secs(5));
    assert_eq!(net.state(a, ra[0]), State::Master);
    // The group is then dropped altogether: the member runs alone, still master.
    let mark = net.log().len();
    net.apply(a, |e, now| e.set_sync_groups(now, &[])).unwrap();
    assert_eq!(net.engine(a).group_of(ra[0]), None);
    net.run_for(secs(3));
    assert_eq!(non_advert(&since(&net, a, mark)), vec![]);
}

#[test]
fn reconfigured_backup_moves_its_down_timer_by_the_difference() {
    use keepalived_vrrp::timer::Timer;
    let (mut net, _a, _ra, b, rb) = pair();
    let before = net
        .engine(b)
        .instance(rb)
        .unwrap()
        .timer(Timer::MasterDown)
        .unwrap();
    let mut c = seg_cfg(0, 2, 100);
    c.down_timer_adverts = 6;
    net.apply(b, |e, now| e.update_instance(now, rb, c, vec![]))
        .unwrap();
    let after = net
        .engine(b)
        .instance(rb)
        .unwrap()
        .timer(Timer::MasterDown)
        .unwrap();
    // Three more advert intervals of 1 s.
    assert_eq!(after - before, secs(3));
    assert_eq!(net.state(b, rb), State::Backup);
}

#[test]
fn reconfigured_master_arms_and_stops_the_garp_refresh() {
    use keepalived_vrrp::timer::Timer;
    let (mut net, a, ra, _b, _rb) = pair();
    let mut c = seg_cfg(0, 1, 200);
    c.garp.master_refresh = Some(secs(10));
    let at = net.now();
    net.apply(a, |e, now| e.update_instance(now, ra, c.clone(), vec![]))
        .unwrap();
    let inst = net.engine(a).instance(ra).unwrap();
    assert_eq!(inst.timer(Timer::GarpRefresh), Some(at + secs(10)));
    net.run_for(secs(11));
    let refreshed = net.log().iter().any(|e| {
        matches!(
            e.what,
            NetLogged::Instance {
                what: Logged::Gratuitous { .. },
                ..
            }
        ) && e.at == at + secs(10)
    });
    assert!(refreshed);
    c.garp.master_refresh = None;
    net.apply(a, |e, now| e.update_instance(now, ra, c, vec![]))
        .unwrap();
    assert_eq!(
        net.engine(a)
            .instance(ra)
            .unwrap()
            .timer(Timer::GarpRefresh),
        None
    );
    assert_eq!(net.state(a, ra), State::Master);
}
