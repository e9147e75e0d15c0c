//! Engine: tracked objects (scripts, interfaces, files) move priorities and cause FAULT, per
//! keepalived.conf(5).

mod common;

use common::engine::*;
use common::secs;
use keepalived_vrrp::sim::{Logged, Net, NetLogged};
use keepalived_vrrp::{
    Action, Engine, EngineAction, Event, FaultCause, Instant, Reason, State, TrackKind, Tracked,
    TrackerId, TrackerValue,
};

use TrackerValue::{Down, Up, Value};

fn script(id: usize, weight: i32) -> Tracked {
    Tracked::new(TrackerId(id), TrackKind::Script).weight(weight)
}

fn iface(id: usize, weight: i32, reverse: bool) -> Tracked {
    Tracked::new(TrackerId(id), TrackKind::Interface)
        .weight(weight)
        .reverse(reverse)
}

fn file(id: usize, weight: i32) -> Tracked {
    Tracked::new(TrackerId(id), TrackKind::File).weight(weight)
}

fn drain(e: &mut Engine) -> Vec<EngineAction> {
    let mut out = Vec::new();
    e.drain(|a| out.push(a));
    out
}

/// Two nodes on segment 0: A (host 1, `pa`, tracking `tracks`) and B (host 2, `pb`).
fn pair(pa: u8, pb: u8, tracks: Vec<Tracked>) -> (Net, usize, usize) {
    let mut net = Net::new();
    let (a, _) = node(&mut net, 1, &[pa], &[tracks]);
    let (b, _) = node(&mut net, 2, &[pb], &[]);
    (net, a, b)
}

#[test]
fn failing_script_with_negative_weight_hands_over_to_the_backup() {
    let (mut net, a, b) = pair(100, 90, vec![script(0, -30)]);
    let r = net.engine(a).instance_refs()[0];
    net.tracker(a, upd(0, Up));
    net.start(a);
    net.start(b);
    net.run_for(secs(10));
    assert_eq!(net.state(a, r), State::Master);
    assert_eq!(net.state(b, r), State::Backup);

    let fail_at = net.now();
    net.tracker(a, upd(0, Down));
    assert_eq!(net.engine(a).instance(r).unwrap().priority(), 70);
    // The master advertises its new priority at once.
    assert_eq!(net.adverts(a, r).last(), Some(&(fail_at, 70)));
    assert!(net.log().iter().any(|e| e.node == a
        && e.what
            == NetLogged::Instance {
                r,
                vrid: seg_vrid(0),
                what: Logged::Priority { from: 100, to: 70 }
            }));
    net.run_for(secs(5));
    assert_eq!(net.state(a, r), State::Backup);
    assert_eq!(net.state(b, r), State::Master);
    let (at, p) = *net.adverts(b, r).last().unwrap();
    assert_eq!(p, 90);
    // B preempted: it ignored the 70 adverts and its down timer expired (3 s + skew).
    let took = net.transitions(b, r).last().unwrap().0 - fail_at;
    assert!(took <= secs(4), "took {took:?}");
    assert!(at > fail_at);

    // The script recovers: A is 100 again and preempts back.
    net.tracker(a, upd(0, Up));
    net.run_for(secs(5));
    assert_eq!(net.state(a, r), State::Master);
    assert_eq!(net.state(b, r), State::Backup);
    assert_eq!(net.adverts(a, r).last().unwrap().1, 100);
}

#[test]
fn weight_zero_script_failure_is_fault_until_it_recovers() {
    let (mut net, a, b) = pair(100, 90, vec![script(0, 0)]);
    let r = net.engine(a).instance_refs()[0];
    net.tracker(a, upd(0, Up));
    net.start(a);
    net.start(b);
    net.run_for(secs(10));
    assert_eq!(net.state(a, r), State::Master);

    let fail_at = net.now();
    net.tracker(a, upd(0, Down));
    assert_eq!(net.state(a, r), State::Fault);
    let inst = net.engine(a).instance(r).unwrap();
    assert!(inst.fault_causes().contains(FaultCause::Tracker));
    // It resigned with a priority-0 advert, so B takes over after Skew_Time only.
    assert_eq!(net.adverts(a, r).last(), Some(&(fail_at, 0)));
    net.run_for(secs(1));
    assert_eq!(net.state(b, r), State::Master);
    // While failing, A stays in FAULT.
    net.run_for(secs(30));
    assert_eq!(net.state(a, r), State::Fault);

    net.tracker(a, upd(0, Up));
    assert_eq!(net.state(a, r), State::Backup);
    net.run_for(secs(5));
    assert_eq!(net.state(a, r), State::Master);
    assert_eq!(net.state(b, r), State::Backup);
}

#[test]
fn unreported_weight_zero_script_holds_the_instance_in_init() {
    let (mut e, r) = single(100, vec![script(0, 0), script(1, -10)]);
    e.handle_start(Instant::ZERO);
    assert_eq!(e.instance(r).unwrap().state(), State::Initialize);
    assert!(e.is_held(r));
    // The weighted script's missing result holds nothing and adjusts nothing.
    e.handle_tracker(Instant::from_millis(100), upd(0, Up));
    assert_eq!(e.instance(r).unwrap().state(), State::Backup);
    assert_eq!(e.instance(r).unwrap().priority(), 100);
    // An init_fail script reported Down before start: FAULT at start.
    let (mut e, r) = single(100, vec![script(0, 0)]);
    e.handle_tracker(Instant::ZERO, upd(0, Down));
    e.handle_start(Instant::ZERO);
    assert_eq!(e.instance(r).unwrap().state(), State::Fault);
}

#[test]
fn track_interface_weight_fault_and_reverse() {
    let tracks = vec![iface(0, 0, false), iface(1, -20, false), iface(2, 10, true)];
    let (mut e, r) = single(100, tracks);
    let prio = |e: &Engine| e.instance(r).unwrap().priority();
    let state = |e: &Engine| e.instance(r).unwrap().state();
    // Unreported interfaces count as up: the reversed +10 subtracts while up.
    assert_eq!(prio(&e), 90);
    e.handle_start(Instant::ZERO);
    assert_eq!(state(&e), State::Backup);
    let t = Instant::from_millis;
    e.handle_tracker(t(10), upd(1, Down));
    assert_eq!(prio(&e), 70);
    e.handle_tracker(t(20), upd(2, Down));
    assert_eq!(prio(&e), 80);
    let a = drain(&mut e);
    assert!(a.contains(&EngineAction::Instance(
        r,
        Action::PriorityChanged { from: 70, to: 80 }
    )));
    // Weight 0: down is FAULT, up again leaves it.
    e.handle_tracker(t(30), upd(0, Down));
    assert_eq!(state(&e), State::Fault);
    let a = drain(&mut e);
    assert!(a.contains(&EngineAction::Instance(
        r,
        Action::StateChanged {
            from: State::Backup,
            to: State::Fault,
            reason: Reason::TrackerFault
        }
    )));
    e.handle_tracker(t(40), upd(0, Up));
    assert_eq!(state(&e), State::Backup);

    // `weight 0 reverse`: FAULT while the interface is up.
    let (mut e, r) = single(100, vec![iface(0, 0, true)]);
    e.handle_start(Instant::ZERO);
    assert_eq!(e.instance(r).unwrap().state(), State::Fault);
    e.handle_tracker(t(10), upd(0, Down));
    assert_eq!(e.instance(r).unwrap().state(), State::Backup);
}

#[test]
fn interface_fault_and_tracker_fault_are_separate_causes() {
    let (mut e, r) = single(100, vec![iface(0, 0, false)]);
    e.handle_start(Instant::ZERO);
    let t = Instant::from_millis;
    e.handle_instance_event(t(10), r, Event::InterfaceDown);
    e.handle_tracker(t(20), upd(0, Down));
    e.handle_instance_event(t(30), r, Event::InterfaceUp);
    assert_eq!(e.instance(r).unwrap().state(), State::Fault);
    e.handle_tracker(t(40), upd(0, Up));
    assert_eq!(e.instance(r).unwrap().state(), State::Backup);
}

#[test]
fn track_file_adds_value_times_weight_and_faults_below_minus_253() {
    let (mut e, r) = single(100, vec![file(0, 5), file(1, 1)]);
    e.handle_start(Instant::ZERO);
    let t = Instant::from_millis;
    let prio = |e: &Engine| e.instance(r).unwrap().priority();
    let state = |e: &Engine| e.instance(r).unwrap().state();
    e.handle_tracker(t(10), upd(0, Value(3)));
    assert_eq!(prio(&e), 115);
    e.handle_tracker(t(20), upd(0, Value(-10)));
    assert_eq!(prio(&e), 50);
    e.handle_tracker(t(30), upd(1, Value(-253)));
    assert_eq!(prio(&e), 1, "clamped, not FAULT");
    assert_eq!(state(&e), State::Backup);
    e.handle_tracker(t(40), upd(1, Value(-254)));
    assert_eq!(state(&e), State::Fault);
    e.handle_tracker(t(50), upd(1, Value(0)));
    assert_eq!(state(&e), State::Backup);
    assert_eq!(prio(&e), 50);

    // Weight 0: any non-zero value is FAULT.
    let (mut e, r) = single(100, vec![file(0, 0)]);
    e.handle_start(Instant::ZERO);
    e.handle_tracker(t(10), upd(0, Value(2)));
    assert_eq!(e.instance(r).unwrap().state(), State::Fault);
    e.handle_tracker(t(20), upd(0, Value(0)));
    assert_eq!(e.instance(r).unwrap().state(), State::Backup);
    assert_eq!(e.instance(r).unwrap().priority(), 100);

    // reverse negates the result.
    let (mut e, r) = single(100, vec![file(0, 5).reverse(true)]);
    e.handle_tracker(t(0), upd(0, Value(3)));
    assert_eq!(e.instance(r).unwrap().priority(), 85);
}

#[test]
fn effective_priority_is_clamped_to_1_254() {
    let (mut e, r) = single(100, vec![script(0, 200), script(1, -253)]);
    e.handle_start(Instant::ZERO);
    let t = Instant::from_millis;
    e.handle_tracker(t(10), upd(0, Up));
    assert_eq!(e.instance(r).unwrap().priority(), 254);
    e.handle_tracker(t(20), upd(0, Down));
    e.handle_tracker(t(30), upd(1, Down));
    assert_eq!(e.instance(r).unwrap().priority(), 1);
    assert_eq!(e.instance(r).unwrap().state(), State::Backup);
}

#[test]
fn address_owner_priority_never_changes_but_weight_zero_still_faults() {
    let (mut e, r) = single(255, vec![script(0, -50), script(1, 0)]);
    let t = Instant::from_millis;
    e.handle_tracker(t(0), upd(1, Up));
    e.handle_start(t(0));
    assert_eq!(e.instance(r).unwrap().state(), State::Master);
    drain(&mut e);
    e.handle_tracker(t(10), upd(0, Down));
    assert_eq!(e.instance(r).unwrap().priority(), 255);
    assert!(drain(&mut e).is_empty());
    e.handle_tracker(t(20), upd(1, Down));
    assert_eq!(e.instance(r).unwrap().state(), State::Fault);
    e.handle_tracker(t(30), upd(1, Up));
    assert_eq!(e.instance(r).unwrap().state(), State::Master);
}

#[test]
fn a_master_reports_lower_priority_adverts_after_a_partition_heals() {
    let (mut net, a, b) = pair(100, 90, vec![]);
    let r = net.engine(a).instance_refs()[0];
    // B advertises half a second before A in every interval, so after the partition heals the
    // greater master A hears B's lesser advert first.
    net.plug(a, 0, false);
    net.start(b);
    net.run_for(core::time::Duration::from_millis(500));
    net.start(a);
    net.run_for(secs(10));
    assert_eq!(net.state(b, r), State::Master);
    net.plug(a, 0, true);
    net.run_for(secs(2));
    assert_eq!(net.state(a, r), State::Master);
    assert_eq!(net.state(b, r), State::Backup);
    assert!(net.log().iter().any(|e| e.node == a
        && matches!(
            e.what,
            NetLogged::Instance {
                what: Logged::RxLowerPriority { priority: 90, .. },
                ..
            }
        )));
}
