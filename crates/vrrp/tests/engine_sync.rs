//! Engine: keepalived's sync groups across two links (two segments), on a simulated network.

mod common;

use core::time::Duration;

use common::engine::*;
use common::secs;
use keepalived_vrrp::sim::{Logged, Net, NetLogged};
use keepalived_vrrp::{
    Event, FaultCause, GroupId, InstanceRef, Reason, State, SyncGroupOptions, TrackKind, Tracked,
    TrackerId, TrackerValue,
};

use TrackerValue::{Down, Up};

struct Pair {
    net: Net,
    /// Node A (host 1, priority 200 on both links) and its instances and group.
    a: usize,
    ra: Vec<InstanceRef>,
    ga: GroupId,
    /// Node B (host 2, priority 100 on both links).
    b: usize,
    rb: Vec<InstanceRef>,
    gb: GroupId,
}

impl Pair {
    /// Two nodes, each with one instance on each of two segments, grouped.
    fn new(
        tracks_a: &[Vec<Tracked>],
        group_tracks_a: Vec<Tracked>,
        opts: SyncGroupOptions,
    ) -> Self {
        let mut net = Net::new();
        let (a, ra) = node(&mut net, 1, &[200, 200], tracks_a);
        let (b, rb) = node(&mut net, 2, &[100, 100], &[]);
        let ga = net
            .engine_mut(a)
            .add_sync_group_with("G", &ra, group_tracks_a, opts)
            .unwrap();
        let gb = net.engine_mut(b).add_sync_group("G", &rb, vec![]).unwrap();
        Pair {
            net,
            a,
            ra,
            ga,
            b,
            rb,
            gb,
        }
    }

    fn start(&mut self) {
        self.net.start(self.a);
        self.net.start(self.b);
        self.net.run_for(secs(10));
        self.assert_master(self.a);
    }

    fn states(&self, node: usize) -> Vec<State> {
        let refs = if node == self.a { &self.ra } else { &self.rb };
        refs.iter().map(|&r| self.net.state(node, r)).collect()
    }

    fn group(&self, node: usize) -> State {
        let g = if node == self.a { self.ga } else { self.gb };
        self.net.engine(node).group_state(g).unwrap()
    }

    fn assert_master(&self, node: usize) {
        let other = if node == self.a { self.b } else { self.a };
        assert_eq!(self.states(node), vec![State::Master; 2], "node {node}");
        assert_eq!(self.group(node), State::Master);
        assert_eq!(self.states(other), vec![State::Backup; 2], "node {other}");
        assert_eq!(self.group(other), State::Backup);
    }
}

fn script(id: usize, weight: i32) -> Tracked {
    Tracked::new(TrackerId(id), TrackKind::Script).weight(weight)
}

#[test]
fn two_member_group_on_two_links_fails_over_together() {
    let mut p = Pair::new(&[], vec![], SyncGroupOptions::default());
    assert_eq!(p.net.engine(p.a).group_name(p.ga), Some("G"));
    assert_eq!(p.net.engine(p.a).group_of(p.ra[1]), Some(p.ga));
    p.start();
    let g = p.net.group_transitions(p.a, p.ga);
    assert_eq!(
        g.iter().map(|x| (x.1, x.2)).collect::<Vec<_>>(),
        vec![
            (State::Initialize, State::Backup),
            (State::Backup, State::Master)
        ]
    );

    // Link 0 of A fails: A's member on link 0 goes to FAULT, and the group takes link 1's too.
    let (a, ra0, ra1) = (p.a, p.ra[0], p.ra[1]);
    p.net.plug(a, 0, false);
    let down_at = p.net.now();
    p.net.event(a, ra0, Event::InterfaceDown);
    assert_eq!(p.states(a), vec![State::Fault; 2]);
    assert_eq!(p.group(a), State::Fault);
    let inst1 = p.net.engine(a).instance(ra1).unwrap();
    assert!(inst1.fault_causes().contains(FaultCause::SyncGroup));
    // Link 1's member resigned with a priority-0 advert.
    assert_eq!(p.net.adverts(a, ra1).last(), Some(&(down_at, 0)));
    // B takes over on both links once its link-0 member times out (3 s + skew).
    p.net.run_for(secs(4));
    assert_eq!(p.states(p.b), vec![State::Master; 2]);
    assert_eq!(p.group(p.b), State::Master);
    let took = p.net.group_transitions(p.b, p.gb).last().unwrap().0 - down_at;
    assert!(took <= Duration::from_millis(3700), "took {took:?}");

    // The link comes back: A's members return to BACKUP together and preempt on both links.
    p.net.plug(a, 0, true);
    p.net.event(a, ra0, Event::InterfaceUp);
    assert_eq!(p.states(a), vec![State::Backup; 2]);
    assert_eq!(p.group(a), State::Backup);
    p.net.run_for(secs(5));
    p.assert_master(a);
    let g: Vec<_> = p
        .net
        .group_transitions(a, p.ga)
        .iter()
        .map(|x| x.2)
        .collect();
    assert_eq!(
        g,
        vec![
            State::Backup,
            State::Master,
            State::Fault,
            State::Backup,
            State::Master
        ]
    );
}

#[test]
fn one_member_in_fault_pulls_the_group_to_fault_and_back() {
    // Member 0 tracks a weight-0 script.
    let mut p = Pair::new(&[vec![script(0, 0)]], vec![], SyncGroupOptions::default());
    let a = p.a;
    p.net.tracker(a, upd(0, Up));
    p.start();
    p.net.tracker(a, upd(0, Down));
    assert_eq!(p.states(a), vec![State::Fault; 2]);
    let t = p.net.transitions(a, p.ra[1]);
    assert_eq!(t.last().unwrap().1, State::Fault);
    p.net.run_for(secs(5));
    assert_eq!(p.states(p.b), vec![State::Master; 2]);
    assert_eq!(p.states(a), vec![State::Fault; 2]);
    p.net.tracker(a, upd(0, Up));
    assert_eq!(p.states(a), vec![State::Backup; 2]);
    p.net.run_for(secs(5));
    p.assert_master(a);
}

#[test]
fn group_tracking_applies_to_every_member() {
    // A group-level script with weight -150 (200 -> 50 on both links) and one with weight 0.
    let mut p = Pair::new(
        &[],
        vec![script(0, -150), script(1, 0)],
        SyncGroupOptions::default(),
    );
    let a = p.a;
    p.net.tracker(a, upd(0, Up));
    p.net.tracker(a, upd(1, Up));
    p.start();
    p.net.tracker(a, upd(0, Down));
    for &r in &p.ra {
        assert_eq!(p.net.engine(a).instance(r).unwrap().priority(), 50);
    }
    p.net.run_for(secs(5));
    p.assert_master(p.b);
    p.net.tracker(a, upd(0, Up));
    p.net.run_for(secs(5));
    p.assert_master(a);
    // The weight-0 group script: every member in FAULT.
    p.net.tracker(a, upd(1, Down));
    assert_eq!(p.states(a), vec![State::Fault; 2]);
    for &r in &p.ra {
        let causes = p.net.engine(a).instance(r).unwrap().fault_causes();
        assert!(causes.contains(FaultCause::Tracker));
    }
    p.net.tracker(a, upd(1, Up));
    assert_eq!(p.states(a), vec![State::Backup; 2]);
}

#[test]
fn members_own_weights_are_ignored_unless_the_group_allows_them() {
    let tracks = [vec![script(0, -150)]];
    let mut p = Pair::new(&tracks, vec![], SyncGroupOptions::default());
    p.net.tracker(p.a, upd(0, Down));
    assert_eq!(p.net.engine(p.a).instance(p.ra[0]).unwrap().priority(), 200);
    let opts = SyncGroupOptions {
        tracking_weight: true,
    };
    let mut p = Pair::new(&tracks, vec![], opts);
    p.net.tracker(p.a, upd(0, Down));
    assert_eq!(p.net.engine(p.a).instance(p.ra[0]).unwrap().priority(), 50);
    assert_eq!(p.net.engine(p.a).instance(p.ra[1]).unwrap().priority(), 200);
}

#[test]
fn group_goes_master_only_when_every_member_wants_to() {
    // B's group: its link-0 member hears A (priority 200) but its link-1 member hears nobody.
    let mut net = Net::new();
    let (a, ra) = node(&mut net, 1, &[200], &[]);
    let (b, rb) = node(&mut net, 2, &[100, 100], &[]);
    let gb = net.engine_mut(b).add_sync_group("G", &rb, vec![]).unwrap();
    net.start(a);
    net.start(b);
    net.run_for(secs(60));
    assert_eq!(net.state(a, ra[0]), State::Master);
    // keepalived prefers BACKUP: link 1 wants to be master but waits for the group.
    assert_eq!(net.state(b, rb[1]), State::Backup);
    assert!(net.engine(b).instance(rb[1]).unwrap().wants_master());
    assert_eq!(net.engine(b).group_state(gb), Some(State::Backup));
    // A goes away: now both of B's members want to, and the group goes master together.
    net.shutdown(a);
    net.run_for(secs(2));
    assert_eq!(net.state(b, rb[0]), State::Master);
    assert_eq!(net.state(b, rb[1]), State::Master);
    let t = net.transitions(b, rb[1]);
    assert_eq!(t.last().unwrap().1, State::Master);
    assert_eq!(net.engine(b).group_state(gb), Some(State::Master));
}

#[test]
fn a_member_losing_mastership_takes_the_group_to_backup() {
    // A's members are grouped; B's are not.
    let mut net = Net::new();
    let (a, ra) = node(&mut net, 1, &[200, 200], &[]);
    let (b, rb) = node(&mut net, 2, &[100, 100], &[]);
    let ga = net.engine_mut(a).add_sync_group("G", &ra, vec![]).unwrap();
    net.start(a);
    net.start(b);
    net.run_for(secs(10));
    assert_eq!(net.engine(a).group_state(ga), Some(State::Master));
    // B's link-0 instance now has priority 250: it preempts A on link 0, and A's group takes
    // its link-1 member to BACKUP too (so B's link-1 instance takes over there).
    net.event(b, rb[0], Event::PriorityChanged(250));
    // B's link-0 instance times out (about 3 s), then B's link-1 instance (3.6 s more).
    net.run_for(secs(10));
    assert_eq!(net.state(a, ra[0]), State::Backup);
    assert_eq!(net.state(a, ra[1]), State::Backup);
    assert_eq!(net.engine(a).group_state(ga), Some(State::Backup));
    assert_eq!(net.state(b, rb[0]), State::Master);
    assert_eq!(net.state(b, rb[1]), State::Master);
    let reasons: Vec<Reason> = net
        .log()
        .iter()
        .filter(|e| e.node == a)
        .filter_map(|e| match &e.what {
            NetLogged::Instance {
                r,
                what:
                    Logged::State {
                        from: State::Master,
                        reason,
                        ..
                    },
                ..
            } => Some((*r, *reason)),
            _ => None,
        })
        .map(|(r, reason)| {
            assert_eq!(r == ra[0], reason == Reason::HigherPriorityAdvert);
            reason
        })
        .collect();
    assert_eq!(
        reasons,
        vec![Reason::HigherPriorityAdvert, Reason::SyncGroup]
    );
}

#[test]
fn unequal_member_priorities_keep_the_group_in_backup() {
    // keepalived's warning: B's link-0 member outranks A but its link-1 member does not, so it
    // never has the whole group's agreement and B stays BACKUP (no thrashing).
    let mut p = Pair::new(&[], vec![], SyncGroupOptions::default());
    p.start();
    let rb0 = p.rb[0];
    p.net.event(p.b, rb0, Event::PriorityChanged(250));
    p.net.run_for(secs(30));
    p.assert_master(p.a);
    assert!(p.net.engine(p.b).instance(rb0).unwrap().wants_master());
}

#[test]
fn a_pending_member_script_holds_the_whole_group() {
    let mut p = Pair::new(
        &[vec![], vec![script(0, 0)]],
        vec![],
        SyncGroupOptions::default(),
    );
    p.net.start(p.a);
    assert_eq!(p.states(p.a), vec![State::Initialize; 2]);
    p.net.tracker(p.a, upd(0, Up));
    assert_eq!(p.states(p.a), vec![State::Backup; 2]);
    p.net.shutdown(p.a);
    assert_eq!(p.states(p.a), vec![State::Stop; 2]);
    assert_eq!(p.group(p.a), State::Stop);
}

#[test]
fn random_faults_keep_members_together_and_end_with_one_master_per_link() {
    use keepalived_vrrp::sim::SplitMix64;
    // A: group script 0 (weight -150), member script 1 (weight 0) on link 0. B: plain group.
    let mut p = Pair::new(
        &[vec![script(1, 0)]],
        vec![script(0, -150)],
        SyncGroupOptions::default(),
    );
    let (a, b) = (p.a, p.b);
    p.net.tracker(a, upd(0, Up));
    p.net.tracker(a, upd(1, Up));
    p.start();
    let mut rng = SplitMix64::new(7);
    let mut plugged = [[true; 2]; 2];
    for step in 0..3000 {
        let node = if rng.below(2) == 0 { a } else { b };
        let link = usize::try_from(rng.below(2)).unwrap();
        let r = if node == a { p.ra[link] } else { p.rb[link] };
        match rng.below(4) {
            0 => {
                let id = usize::try_from(rng.below(2)).unwrap();
                let v = if rng.below(2) == 0 { Up } else { Down };
                p.net.tracker(a, upd(id, v));
            }
            1 => {
                let up = !plugged[node][link];
                plugged[node][link] = up;
                p.net.plug(node, link, up);
                let ev = if up {
                    Event::InterfaceUp
                } else {
                    Event::InterfaceDown
                };
                p.net.event(node, r, ev);
            }
            _ => {}
        }
        p.net.run_for(Duration::from_millis(rng.below(3000)));
        for n in [a, b] {
            let s = p.states(n);
            assert!(s.iter().all(|x| *x == s[0]), "step {step}: node {n} {s:?}");
        }
    }
    // The run really moved the groups around.
    for (n, g) in [(a, p.ga), (b, p.gb)] {
        let moves = p.net.group_transitions(n, g).len();
        assert!(moves > 100, "node {n}: {moves} group transitions");
    }
    // Heal everything: A (200) is master on both links again.
    for (node, refs) in [(a, p.ra.clone()), (b, p.rb.clone())] {
        for (link, &r) in refs.iter().enumerate() {
            p.net.plug(node, link, true);
            p.net.event(node, r, Event::InterfaceUp);
        }
    }
    p.net.tracker(a, upd(0, Up));
    p.net.tracker(a, upd(1, Up));
    p.net.run_for(secs(20));
    p.assert_master(a);
}

#[test]
fn sync_group_errors() {
    use keepalived_vrrp::GroupError;
    let mut net = Net::new();
    let (a, ra) = node(&mut net, 1, &[200, 200], &[]);
    let e = net.engine_mut(a);
    assert_eq!(e.add_sync_group("G", &[], vec![]), Err(GroupError::Empty));
    let ghost = InstanceRef { link: 5, id: 0 };
    assert_eq!(
        e.add_sync_group("G", &[ra[0], ghost], vec![]),
        Err(GroupError::UnknownInstance(ghost))
    );
    assert_eq!(
        e.add_sync_group("G", &[ra[0], ra[0]], vec![]),
        Err(GroupError::DuplicateMember(ra[0]))
    );
    let g = e.add_sync_group("G", &ra, vec![]).unwrap();
    assert_eq!(
        e.add_sync_group("H", &ra[1..], vec![]),
        Err(GroupError::AlreadyInGroup {
            instance: ra[1],
            group: g
        })
    );
    assert_eq!(e.groups(), 1);
    assert_eq!(e.group_members(g), Some(&ra[..]));
    assert_eq!(e.group_state(g), Some(State::Initialize));
    assert_eq!(e.group_state(GroupId(1)), None);
}
