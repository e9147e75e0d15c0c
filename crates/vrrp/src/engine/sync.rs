//! Sync groups at work: after every input the engine drains its routers, lets each group react
//! to its members' transitions, and repeats until nothing moves; then reports group changes.

use super::{Engine, EngineAction, GroupId, InstanceRef};
use crate::action::Action;
use crate::demux::Router;
use crate::state::{Event, FaultCause, Reason, State};
use crate::time::Instant;

/// A member's transition seen while draining.
struct Moved {
    r: InstanceRef,
    group: GroupId,
    from: State,
    to: State,
    reason: Reason,
}

/// Rounds after which `settle` gives up (each round moves at least one member one step, so a
/// handful suffice; the bound only guards against a bug looping forever).
const MAX_ROUNDS: usize = 64;

/// A group's state from its members' states.
pub(super) fn group_state(routers: &[Router], members: &[InstanceRef]) -> State {
    let states: Vec<State> = members
        .iter()
        .filter_map(|r| routers.get(r.link)?.instance(r.id))
        .map(crate::Instance::state)
        .collect();
    let any = |s: State| states.contains(&s);
    if any(State::Fault) {
        State::Fault
    } else if any(State::Master) {
        State::Master
    } else if any(State::Backup) {
        State::Backup
    } else if !states.is_empty() && states.iter().all(|s| *s == State::Stop) {
        State::Stop
    } else {
        State::Initialize
    }
}

impl Engine {
    /// Drains the routers into the engine's queue and applies the sync groups' rules until
    /// nothing changes.
    pub(super) fn settle(&mut self, now: Instant) {
        for _ in 0..MAX_ROUNDS {
            let moved = self.drain_routers();
            let mut changed = !moved.is_empty();
            for m in &moved {
                changed |= self.follow(now, m);
            }
            for g in 0..self.groups.len() {
                changed |= self.sync_faults(now, GroupId(g));
                changed |= self.elect(now, GroupId(g));
            }
            // Anything the group rules queued is drained (and reported) before the group's own
            // transition.
            if changed {
                continue;
            }
            self.report_groups();
            return;
        }
        // Not reached in practice; still leave nothing undrained.
        let _ = self.drain_routers();
        self.report_groups();
    }

    /// Moves every router action to the engine queue; returns the group members' transitions.
    fn drain_routers(&mut self) -> Vec<Moved> {
        let mut moved = Vec::new();
        for link in 0..self.routers.len() {
            while let Some((id, action)) = self.routers[link].poll_action() {
                let r = InstanceRef { link, id };
                if let (Action::StateChanged { from, to, reason }, Some(group)) =
                    (&action, self.group_of(r))
                {
                    moved.push(Moved {
                        r,
                        group,
                        from: *from,
                        to: *to,
                        reason: *reason,
                    });
                }
                self.actions.push_back(EngineAction::Instance(r, action));
            }
        }
        moved
    }

    /// keepalived's `vrrp_sync_master` / `vrrp_sync_backup`: a member that became master by
    /// itself takes the others to MASTER; one that left MASTER for BACKUP takes the others to
    /// BACKUP. Moves made by the group itself do not cascade.
    fn follow(&mut self, now: Instant, m: &Moved) -> bool {
        if m.reason == Reason::SyncGroup {
            return false;
        }
        let target = match (m.from, m.to) {
            (_, State::Master) => State::Master,
            (State::Master, State::Backup) => State::Backup,
            _ => return false,
        };
        let mut moved = false;
        for r in self.others(m.group, m.r) {
            if let Some(inst) = self.instance_mut(r) {
                moved |= inst.sync_to(now, target);
            }
        }
        moved
    }

    /// One member with a fault of its own puts every other member in FAULT; the last one
    /// recovering brings them all back.
    fn sync_faults(&mut self, now: Instant, g: GroupId) -> bool {
        let members = self.groups[g.0].members.clone();
        let own_fault: Vec<bool> = members
            .iter()
            .map(|&r| {
                self.instance(r)
                    .is_some_and(|i| !i.fault_causes().without(FaultCause::SyncGroup).is_empty())
            })
            .collect();
        let mut changed = false;
        for (i, &r) in members.iter().enumerate() {
            let want = own_fault.iter().enumerate().any(|(j, f)| j != i && *f);
            let Some(inst) = self.instance_mut(r) else {
                continue;
            };
            let has = inst.fault_causes().contains(FaultCause::SyncGroup);
            if want && !has {
                inst.handle_event(now, Event::FaultRaised(FaultCause::SyncGroup));
                changed = true;
            } else if !want && has {
                inst.handle_event(now, Event::FaultCleared(FaultCause::SyncGroup));
                changed = true;
            }
        }
        changed
    }

    /// keepalived's `vrrp_sync_can_goto_master`: a member that wants to be master takes the
    /// group to MASTER when the group already is, or when every other member wants to (or is)
    /// master too; otherwise it waits (its timer was re-armed).
    fn elect(&mut self, now: Instant, g: GroupId) -> bool {
        let group = &self.groups[g.0];
        let wants = |r: &InstanceRef| {
            self.instance(*r)
                .is_some_and(|i| i.wants_master() || i.state() == State::Master)
        };
        let someone = group.members.iter().any(|r| {
            self.instance(*r)
                .is_some_and(|i| i.wants_master() && i.state() == State::Backup)
        });
        if !someone || !(group.state == State::Master || group.members.iter().all(wants)) {
            return false;
        }
        let mut moved = false;
        for r in group.members.clone() {
            if let Some(inst) = self.instance_mut(r) {
                moved |= inst.sync_to(now, State::Master);
            }
        }
        moved
    }

    fn others(&self, g: GroupId, r: InstanceRef) -> Vec<InstanceRef> {
        self.groups
            .get(g.0)
            .map(|g| g.members.iter().copied().filter(|&n| n != r).collect())
            .unwrap_or_default()
    }

    fn report_groups(&mut self) {
        for (i, group) in self.groups.iter_mut().enumerate() {
            if group.members.is_empty() {
                continue;
            }
            let to = group_state(&self.routers, &group.members);
            if to != group.state {
                self.actions.push_back(EngineAction::Group {
                    group: GroupId(i),
                    from: group.state,
                    to,
                });
                group.state = to;
            }
        }
    }
}
