//! Reloading the engine in place: instances added, removed or reconfigured, sync groups
//! replaced, tracked objects forgotten, while whatever did not change keeps its state, its
//! timers and its counters (keepalived's reload, without restarting the instances).

use std::collections::BTreeMap;

use super::{Engine, Group, GroupError, GroupId, InstanceRef, LinkId, Member, SyncGroupOptions};
use crate::demux::AddError;
use crate::instance::{Instance, ReconfigureError};
use crate::state::{Event, State};
use crate::time::Instant;
use crate::track::{Tracked, TrackerId};

/// One sync group of a reloaded configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupSpec {
    /// Its name: a group of the same name keeps its state.
    pub name: String,
    /// Its members.
    pub members: Vec<InstanceRef>,
    /// Its own tracked objects.
    pub tracks: Vec<Tracked>,
    /// Its options.
    pub options: SyncGroupOptions,
}

/// Why an instance could not be updated.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UpdateError {
    /// No such instance in service.
    UnknownInstance(InstanceRef),
    /// The instance cannot take the configuration in place.
    Reconfigure(ReconfigureError),
}

impl core::fmt::Display for UpdateError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            UpdateError::UnknownInstance(r) => write!(f, "no instance {} on link {}", r.id, r.link),
            UpdateError::Reconfigure(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for UpdateError {}

impl Engine {
    /// Whether `r` is an instance in service (added and not removed).
    #[must_use]
    pub fn is_live(&self, r: InstanceRef) -> bool {
        self.routers
            .get(r.link)
            .is_some_and(|router| router.is_live(r.id))
    }

    /// Adds an instance to a running engine: as [`Engine::add_instance`], then, once the engine
    /// has started, starts it at `now` (unless a weight-0 tracker holds it). The reference may
    /// be one a removed instance had.
    pub fn insert_instance(
        &mut self,
        now: Instant,
        link: LinkId,
        instance: Instance,
        tracks: Vec<Tracked>,
    ) -> Result<InstanceRef, AddError> {
        let r = self.place(now, link, instance, tracks)?;
        self.start_ready(now);
        self.settle(now);
        Ok(r)
    }

    /// Removes an instance as a shutdown would stop it (a master sends a priority-0 advert and
    /// releases its addresses: [`crate::Action::StateChanged`] to STOP, then
    /// [`crate::Action::DelVips`]); it first leaves its sync group, so the group does not react.
    /// Drain the actions before adding another instance (it may reuse the reference). Returns
    /// false if `r` was not in service.
    pub fn remove_instance(&mut self, now: Instant, r: InstanceRef) -> bool {
        if !self.is_live(r) {
            return false;
        }
        if let Some(g) = self.member(r).and_then(|m| m.group)
            && let Some(group) = self.groups.get_mut(g.0)
        {
            group.members.retain(|&m| m != r);
        }
        if let Some(inst) = self.instance_mut(r) {
            inst.set_sync_gate(false);
            inst.handle_event(now, Event::Shutdown);
        }
        self.settle(now);
        if let Some(router) = self.routers.get_mut(r.link) {
            router.retire(r.id);
        }
        self.set_member(r, Member::default());
        true
    }

    /// Gives a running instance a new configuration and tracked objects, keeping its state (see
    /// [`Instance::reconfigure`]); the effective priority is recomputed from the new priority
    /// and the tracked objects (a master advertises a changed priority at once).
    ///
    /// # Errors
    /// No such instance, or one that cannot take `cfg` in place (remove it and add the new one).
    pub fn update_instance(
        &mut self,
        now: Instant,
        r: InstanceRef,
        cfg: crate::InstanceConfig,
        tracks: Vec<Tracked>,
    ) -> Result<(), UpdateError> {
        if !self.is_live(r) {
            return Err(UpdateError::UnknownInstance(r));
        }
        let inst = self
            .instance_mut(r)
            .ok_or(UpdateError::UnknownInstance(r))?;
        inst.reconfigure(now, cfg)
            .map_err(UpdateError::Reconfigure)?;
        if let Some(m) = self.member_mut(r) {
            m.tracks = tracks;
        }
        self.refresh(now, r);
        self.start_ready(now);
        self.settle(now);
        Ok(())
    }

    /// Replaces every sync group. A group named as before keeps its state (a change of it caused
    /// by the new membership is reported as usual); a new group starts from its members' states
    /// without a report. Members whose group membership changed are gated or released; every
    /// instance's effective priority is recomputed (group trackers may have changed). Returns
    /// the new groups' ids, in order.
    ///
    /// # Errors
    /// A group is empty, names an instance not in service, lists one twice, or shares one with
    /// another group; nothing is changed then.
    pub fn set_sync_groups(
        &mut self,
        now: Instant,
        specs: &[GroupSpec],
    ) -> Result<Vec<GroupId>, GroupError> {
        let mut seen: BTreeMap<InstanceRef, usize> = BTreeMap::new();
        for (g, spec) in specs.iter().enumerate() {
            if spec.members.is_empty() {
                return Err(GroupError::Empty);
            }
            for &r in &spec.members {
                if !self.is_live(r) {
                    return Err(GroupError::UnknownInstance(r));
                }
                match seen.insert(r, g) {
                    Some(other) if other == g => return Err(GroupError::DuplicateMember(r)),
                    Some(other) => {
                        return Err(GroupError::AlreadyInGroup {
                            instance: r,
                            group: GroupId(other),
                        });
                    }
                    None => {}
                }
            }
        }
        let old = std::mem::take(&mut self.groups);
        for r in self.instance_refs() {
            let new = seen.get(&r).map(|g| GroupId(*g));
            let was = self.member(r).and_then(|m| m.group);
            if let Some(m) = self.member_mut(r) {
                m.group = new;
            }
            if was.is_some() != new.is_some()
                && let Some(inst) = self.instance_mut(r)
            {
                inst.set_sync_gate(new.is_some());
            }
        }
        for spec in specs {
            let state = old.iter().find(|g| g.name == spec.name).map_or_else(
                || super::sync::group_state(&self.routers, &spec.members),
                |g| g.state,
            );
            self.groups.push(Group {
                name: spec.name.clone(),
                members: spec.members.clone(),
                tracks: spec.tracks.clone(),
                options: spec.options,
                state,
            });
        }
        for r in self.instance_refs() {
            self.refresh(now, r);
        }
        self.start_ready(now);
        self.settle(now);
        Ok((0..specs.len()).map(GroupId).collect())
    }

    /// Forgets the status of every tracked object for which `keep` is false (objects no longer
    /// configured), so an id given again later starts without a status.
    pub fn retain_trackers(&mut self, keep: impl Fn(TrackerId) -> bool) {
        self.values.retain(|id, _| keep(*id));
    }

    /// The id and state of the sync group named `name`.
    #[must_use]
    pub fn group_by_name(&self, name: &str) -> Option<(GroupId, State)> {
        self.groups
            .iter()
            .position(|g| g.name == name)
            .map(|i| (GroupId(i), self.groups[i].state))
    }

    /// Puts `member` at `r`, growing the link's member list as needed.
    pub(super) fn set_member(&mut self, r: InstanceRef, member: Member) {
        let Some(members) = self.members.get_mut(r.link) else {
            return;
        };
        if r.id < members.len() {
            members[r.id] = member;
        } else {
            members.resize_with(r.id, Member::default);
            members.push(member);
        }
    }
}
