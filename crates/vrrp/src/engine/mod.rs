//! The engine: every link's [`Router`], the tracked objects' statuses and keepalived's sync
//! groups (`vrrp_sync_group`), driven as one sans-I/O state machine.
//!
//! Inputs: [`Engine::handle_start`], [`Engine::handle_datagram`], [`Engine::handle_timeout`],
//! [`Engine::handle_tracker`], [`Engine::handle_instance_event`], [`Engine::handle_shutdown`].
//! Outputs: [`Engine::poll_action`] (drain until `None` after every input, and execute in
//! order) and [`Engine::poll_timeout`] (read after draining).
//!
//! Tracking (see [`crate::track`] for the rules): each instance's effective priority is its
//! configured priority plus the adjustments of its own and its sync group's tracked objects;
//! a weight-0 object that fails is a [`FaultCause::Tracker`]. Inside a sync group, keepalived
//! ignores a member's own weighted trackers (its weighted `track_interface`s count as weight 0)
//! unless the group allows `sync_group_tracking_weight` ([`SyncGroupOptions`]), so that every
//! member keeps the same priority relation to its peers.
//!
//! Sync groups follow keepalived: one member in FAULT puts the others in FAULT
//! ([`FaultCause::SyncGroup`]) until no member has a fault of its own; a member leaving MASTER
//! for BACKUP on a better advert takes the other masters to BACKUP; a member whose
//! Master_Down_Timer fires only *wants* to be master, and the group goes MASTER (all members
//! at once) when every member wants to, or at once when the group is already MASTER; a member
//! that becomes master by itself (the address owner) takes the others along. A weight-0 script
//! or process without a first result holds every member of its group in INIT. Group state
//! changes come out as [`EngineAction::Group`] after the member actions that caused them.

mod reload;
mod sync;

pub use reload::{GroupSpec, UpdateError};

use std::collections::{BTreeMap, VecDeque};

use crate::action::Action;
use crate::demux::{AddError, InstanceId, Router};
use crate::error::PeerError;
use crate::instance::Instance;
use crate::state::{Event, FaultCause, State};
use crate::time::Instant;
use crate::track::effective_priority;
use crate::track::{Summary, TrackKind, Tracked, TrackerId, TrackerUpdate, TrackerValue};
use crate::wire::ip::RxMeta;

/// An index into the engine's links (one [`Router`] each).
pub type LinkId = usize;

/// One instance of the engine: its link and its index in that link's [`Router`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InstanceRef {
    /// The link.
    pub link: LinkId,
    /// The instance within the link's router.
    pub id: InstanceId,
}

/// A sync group of the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupId(pub usize);

/// One effect of the engine.
#[must_use]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EngineAction {
    /// An instance's action, to execute on its link.
    Instance(InstanceRef, Action),
    /// A sync group changed state (log "VRRP_Group(G) Syncing instances to MASTER state", run
    /// the group's notify scripts).
    Group {
        /// The group.
        group: GroupId,
        /// The old group state.
        from: State,
        /// The new group state.
        to: State,
    },
}

/// Why a sync group could not be added.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GroupError {
    /// The group has no members.
    Empty,
    /// A member is not an instance of the engine.
    UnknownInstance(InstanceRef),
    /// A member is listed twice.
    DuplicateMember(InstanceRef),
    /// A member already belongs to another group (keepalived: an instance is in one group at
    /// most).
    AlreadyInGroup {
        /// The member.
        instance: InstanceRef,
        /// Its group.
        group: GroupId,
    },
}

impl core::fmt::Display for GroupError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            GroupError::Empty => f.write_str("sync group has no members"),
            GroupError::UnknownInstance(r) => {
                write!(f, "no instance {} on link {}", r.id, r.link)
            }
            GroupError::DuplicateMember(r) => {
                write!(f, "instance {} on link {} listed twice", r.id, r.link)
            }
            GroupError::AlreadyInGroup { instance, group } => write!(
                f,
                "instance {} on link {} is already in sync group {}",
                instance.id, instance.link, group.0
            ),
        }
    }
}

impl std::error::Error for GroupError {}

/// Options of a sync group beyond its members and trackers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyncGroupOptions {
    /// keepalived's `sync_group_tracking_weight`: members' own weighted trackers count (by
    /// default they are ignored, and weighted `track_interface`s count as weight 0).
    pub tracking_weight: bool,
}

/// What the engine keeps about one instance beside the instance itself.
#[derive(Clone, Debug, Default)]
struct Member {
    tracks: Vec<Tracked>,
    group: Option<GroupId>,
    /// A weight-0 script or process of its own (or of its group) has not reported yet.
    pending: bool,
    /// Started by the engine since its last `handle_start` (held instances are not).
    started: bool,
}

#[derive(Clone, Debug)]
struct Group {
    name: String,
    members: Vec<InstanceRef>,
    tracks: Vec<Tracked>,
    options: SyncGroupOptions,
    state: State,
}

/// All links' instances, tracked objects and sync groups. See the module documentation.
#[derive(Clone, Debug, Default)]
pub struct Engine {
    routers: Vec<Router>,
    members: Vec<Vec<Member>>,
    groups: Vec<Group>,
    values: BTreeMap<TrackerId, TrackerValue>,
    started: bool,
    actions: VecDeque<EngineAction>,
}

impl Engine {
    /// An engine without links.
    #[must_use]
    pub fn new() -> Self {
        Engine::default()
    }

    /// Adds a link (an interface, or a socket) and returns its id.
    pub fn add_link(&mut self) -> LinkId {
        self.routers.push(Router::new());
        self.members.push(Vec::new());
        self.routers.len() - 1
    }

    /// The links.
    #[must_use]
    pub fn links(&self) -> usize {
        self.routers.len()
    }

    /// Adds an instance (in Initialize) to `link` with its `track_*` entries. Statuses already
    /// reported apply at once. Add instances and groups before [`Engine::handle_start`].
    pub fn add_instance(
        &mut self,
        link: LinkId,
        instance: Instance,
        tracks: Vec<Tracked>,
    ) -> Result<InstanceRef, AddError> {
        let r = self.place(Instant::ZERO, link, instance, tracks)?;
        self.settle(Instant::ZERO);
        Ok(r)
    }

    /// Puts `instance` on `link` with its tracked objects and applies the statuses already
    /// known at `now` (shared by [`Engine::add_instance`] and [`Engine::insert_instance`]).
    pub(crate) fn place(
        &mut self,
        now: Instant,
        link: LinkId,
        instance: Instance,
        tracks: Vec<Tracked>,
    ) -> Result<InstanceRef, AddError> {
        let router = self
            .routers
            .get_mut(link)
            .ok_or(AddError::UnknownLink(link))?;
        let id = router.add(instance)?;
        let r = InstanceRef { link, id };
        self.set_member(
            r,
            Member {
                tracks,
                ..Member::default()
            },
        );
        self.refresh(now, r);
        Ok(r)
    }

    /// Adds a sync group (`vrrp_sync_group`) with keepalived's default options.
    pub fn add_sync_group(
        &mut self,
        name: &str,
        members: &[InstanceRef],
        tracks: Vec<Tracked>,
    ) -> Result<GroupId, GroupError> {
        self.add_sync_group_with(name, members, tracks, SyncGroupOptions::default())
    }

    /// Adds a sync group with `options`.
    pub fn add_sync_group_with(
        &mut self,
        name: &str,
        members: &[InstanceRef],
        tracks: Vec<Tracked>,
        options: SyncGroupOptions,
    ) -> Result<GroupId, GroupError> {
        if members.is_empty() {
            return Err(GroupError::Empty);
        }
        for (i, &r) in members.iter().enumerate() {
            let m = self.member(r).ok_or(GroupError::UnknownInstance(r))?;
            if let Some(group) = m.group {
                return Err(GroupError::AlreadyInGroup { instance: r, group });
            }
            if members[..i].contains(&r) {
                return Err(GroupError::DuplicateMember(r));
            }
        }
        let g = GroupId(self.groups.len());
        self.groups.push(Group {
            name: name.to_owned(),
            members: members.to_vec(),
            tracks,
            options,
            state: State::Initialize,
        });
        for &r in members {
            if let Some(m) = self.member_mut(r) {
                m.group = Some(g);
            }
            if let Some(inst) = self.instance_mut(r) {
                inst.set_sync_gate(true);
            }
            self.refresh(Instant::ZERO, r);
        }
        self.settle(Instant::ZERO);
        if let Some(group) = self.groups.get_mut(g.0) {
            group.state = sync::group_state(&self.routers, &group.members);
        }
        Ok(g)
    }

    /// Starts every instance, except those held by a weight-0 script or process that has not
    /// reported yet (they start when it does).
    pub fn handle_start(&mut self, now: Instant) {
        self.started = true;
        for m in self.members.iter_mut().flatten() {
            m.started = false;
        }
        self.start_ready(now);
        self.settle(now);
    }

    /// Handles a VRRP message (the IP payload) received on `link` with `meta`. Returns why it
    /// was dropped (counted in the link's or the instance's stats).
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        link: LinkId,
        meta: &RxMeta,
        bytes: &[u8],
    ) -> Result<(), PeerError> {
        let result = match self.routers.get_mut(link) {
            Some(router) => router.handle_datagram(now, meta, bytes).map(|_| ()),
            None => Err(crate::error::RxError::VridUnknown {
                vrid: bytes.get(1).copied().unwrap_or(0),
            }
            .from_peer(meta.src)),
        };
        self.settle(now);
        result
    }

    /// Handles a whole IP datagram (header included) received on `link`: what an IPsec AH
    /// socket (`auth_type AH`) delivers; see [`Router::handle_ip_datagram`].
    pub fn handle_ip_datagram(
        &mut self,
        now: Instant,
        link: LinkId,
        bytes: &[u8],
    ) -> Result<(), PeerError> {
        let result = match self.routers.get_mut(link) {
            Some(router) => router.handle_ip_datagram(now, bytes).map(|_| ()),
            None => Err(crate::error::RxError::VridUnknown { vrid: 0 }
                .from_peer(core::net::Ipv4Addr::UNSPECIFIED.into())),
        };
        self.settle(now);
        result
    }

    /// Handles every timer due at `now`. Calling it early or twice is harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        for router in &mut self.routers {
            router.handle_timeout(now);
        }
        self.settle(now);
    }

    /// Records a tracked object's new status and applies it to every instance (and sync group)
    /// that tracks it. Valid before [`Engine::handle_start`] too: report initial statuses then.
    pub fn handle_tracker(&mut self, now: Instant, update: TrackerUpdate) {
        if self.values.get(&update.id) == Some(&update.value) {
            return;
        }
        self.values.insert(update.id, update.value);
        for r in self.instance_refs() {
            if self.effective_tracks(r).iter().any(|t| t.id == update.id) {
                self.refresh(now, r);
            }
        }
        self.start_ready(now);
        self.settle(now);
    }

    /// Gives `event` to one instance (for example [`Event::InterfaceDown`] for the link it runs
    /// on). A [`Event::PriorityChanged`] given here lasts until trackers change the priority.
    pub fn handle_instance_event(&mut self, now: Instant, r: InstanceRef, event: Event) {
        if let Some(router) = self.routers.get_mut(r.link) {
            router.handle_instance_event(now, r.id, event);
        }
        self.settle(now);
    }

    /// Stops every instance: masters send priority-0 adverts and release their addresses.
    pub fn handle_shutdown(&mut self, now: Instant) {
        self.started = false;
        for router in &mut self.routers {
            router.handle_event(now, Event::Shutdown);
        }
        self.settle(now);
    }

    /// The next effect to carry out. Drain until `None` after every `handle_*` call.
    pub fn poll_action(&mut self) -> Option<EngineAction> {
        self.actions.pop_front()
    }

    /// Drains every pending action into `sink`, in order, then returns the next timeout.
    pub fn drain(&mut self, mut sink: impl FnMut(EngineAction)) -> Option<Instant> {
        while let Some(action) = self.actions.pop_front() {
            sink(action);
        }
        self.poll_timeout()
    }

    /// When to call [`Engine::handle_timeout`] next. Read after draining the actions.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.routers.iter().filter_map(Router::poll_timeout).min()
    }

    /// The router of `link`.
    #[must_use]
    pub fn router(&self, link: LinkId) -> Option<&Router> {
        self.routers.get(link)
    }

    /// One instance.
    #[must_use]
    pub fn instance(&self, r: InstanceRef) -> Option<&Instance> {
        self.routers.get(r.link)?.instance(r.id)
    }

    /// Every instance in service (not removed), link by link.
    #[must_use]
    pub fn instance_refs(&self) -> Vec<InstanceRef> {
        (0..self.routers.len())
            .flat_map(|link| {
                let router = &self.routers[link];
                (0..router.instances().len())
                    .filter(|id| router.is_live(*id))
                    .map(move |id| InstanceRef { link, id })
            })
            .collect()
    }

    /// The latest status reported for a tracked object.
    #[must_use]
    pub fn tracker_value(&self, id: TrackerId) -> Option<TrackerValue> {
        self.values.get(&id).copied()
    }

    /// Whether `r` is held in INIT by a weight-0 script or process without a first result.
    #[must_use]
    pub fn is_held(&self, r: InstanceRef) -> bool {
        self.held(r)
    }

    /// The sync groups.
    #[must_use]
    pub fn groups(&self) -> usize {
        self.groups.len()
    }

    /// A group's name.
    #[must_use]
    pub fn group_name(&self, g: GroupId) -> Option<&str> {
        self.groups.get(g.0).map(|g| g.name.as_str())
    }

    /// A group's state (FAULT if any member is, else MASTER if any member is, else BACKUP if any
    /// member is, else STOP or INIT).
    #[must_use]
    pub fn group_state(&self, g: GroupId) -> Option<State> {
        self.groups.get(g.0).map(|g| g.state)
    }

    /// A group's members.
    #[must_use]
    pub fn group_members(&self, g: GroupId) -> Option<&[InstanceRef]> {
        self.groups.get(g.0).map(|g| g.members.as_slice())
    }

    /// The group `r` belongs to.
    #[must_use]
    pub fn group_of(&self, r: InstanceRef) -> Option<GroupId> {
        self.member(r)?.group
    }

    fn member(&self, r: InstanceRef) -> Option<&Member> {
        self.members.get(r.link)?.get(r.id)
    }

    fn member_mut(&mut self, r: InstanceRef) -> Option<&mut Member> {
        self.members.get_mut(r.link)?.get_mut(r.id)
    }

    fn instance_mut(&mut self, r: InstanceRef) -> Option<&mut Instance> {
        self.routers.get_mut(r.link)?.instance_mut(r.id)
    }

    /// The trackers that apply to `r`: its own (filtered inside a sync group) and its group's.
    #[must_use]
    pub fn effective_tracks(&self, r: InstanceRef) -> Vec<Tracked> {
        let Some(m) = self.member(r) else {
            return Vec::new();
        };
        let group = m.group.and_then(|g| self.groups.get(g.0));
        let mut out: Vec<Tracked> = match group {
            Some(g) if !g.options.tracking_weight => m
                .tracks
                .iter()
                .filter_map(|t| match (t.weight, t.kind) {
                    (0, _) => Some(*t),
                    (_, TrackKind::Interface) => Some(Tracked { weight: 0, ..*t }),
                    _ => None,
                })
                .collect(),
            _ => m.tracks.clone(),
        };
        if let Some(g) = group {
            out.extend(g.tracks.iter().copied());
        }
        out
    }

    fn summary(&self, r: InstanceRef) -> Summary {
        let mut s = Summary::default();
        for t in self.effective_tracks(r) {
            s.add(t.effect(self.values.get(&t.id).copied()));
        }
        s
    }

    /// Applies the trackers' current effect to `r`: priority, FAULT, pending.
    fn refresh(&mut self, now: Instant, r: InstanceRef) {
        let s = self.summary(r);
        if let Some(m) = self.member_mut(r) {
            m.pending = s.pending;
        }
        let Some(inst) = self.instance_mut(r) else {
            return;
        };
        let priority = effective_priority(inst.config().priority, s.adjust);
        let faulted = inst.fault_causes().contains(FaultCause::Tracker);
        if s.fault && !faulted {
            inst.handle_event(now, Event::FaultRaised(FaultCause::Tracker));
        }
        if priority != inst.priority() {
            inst.handle_event(now, Event::PriorityChanged(priority));
        }
        if !s.fault && faulted {
            inst.handle_event(now, Event::FaultCleared(FaultCause::Tracker));
        }
    }

    /// Whether `r` may not start yet: it, or a member of its group, is pending.
    fn held(&self, r: InstanceRef) -> bool {
        let Some(m) = self.member(r) else {
            return false;
        };
        match m.group.and_then(|g| self.groups.get(g.0)) {
            Some(g) => g
                .members
                .iter()
                .any(|&n| self.member(n).is_some_and(|m| m.pending)),
            None => m.pending,
        }
    }

    /// Starts every instance not yet started and no longer held (once the engine is started).
    fn start_ready(&mut self, now: Instant) {
        if !self.started {
            return;
        }
        for r in self.instance_refs() {
            if self.member(r).is_some_and(|m| !m.started) && !self.held(r) {
                if let Some(m) = self.member_mut(r) {
                    m.started = true;
                }
                if let Some(inst) = self.instance_mut(r) {
                    inst.handle_start(now);
                }
            }
        }
    }
}
