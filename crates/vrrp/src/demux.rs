//! The receiving side of one interface: parses each datagram once, counts global errors, and
//! routes adverts to instances by (family, VRID).

use std::collections::{BTreeMap, VecDeque};

use crate::action::Action;
use crate::error::{ConfigError, PeerError, RxError};
use crate::instance::Instance;
use crate::state::Event;
use crate::stats::GlobalStats;
use crate::time::Instant;
use crate::wire::ah;
use crate::wire::ip::{self, RxMeta};
use crate::wire::vrrp::{Family, Packet};

/// An index into a [`Router`]'s instances.
pub type InstanceId = usize;

/// Why an instance could not be added to a [`Router`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AddError {
    /// Another instance already runs this VRID in this family.
    DuplicateVrid {
        /// The family.
        family: Family,
        /// The VRID.
        vrid: u8,
    },
    /// The configuration is invalid.
    Config(ConfigError),
    /// The engine has no such link.
    UnknownLink(usize),
}

impl core::fmt::Display for AddError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            AddError::DuplicateVrid { family, vrid } => {
                write!(f, "VRID {vrid} ({family:?}) already runs on this interface")
            }
            AddError::Config(e) => e.fmt(f),
            AddError::UnknownLink(link) => write!(f, "no link {link}"),
        }
    }
}

impl std::error::Error for AddError {}

/// The VRRP instances of one interface (or one socket) and their shared counters.
#[derive(Debug, Clone, Default)]
pub struct Router {
    instances: Vec<Instance>,
    /// Per instance: removed by [`Router::retire`] (its slot may be reused by [`Router::add`]).
    retired: Vec<bool>,
    by_key: BTreeMap<(Family, u8), InstanceId>,
    stats: GlobalStats,
    /// Instances with actions possibly pending, in the order they were touched.
    dirty: VecDeque<InstanceId>,
}

impl Router {
    /// A router without instances.
    #[must_use]
    pub fn new() -> Self {
        Router::default()
    }

    /// Adds an instance (in Initialize; start it with [`Router::handle_start`]). The slot of a
    /// retired instance is reused, so the id may be one [`Router::retire`] freed.
    pub fn add(&mut self, instance: Instance) -> Result<InstanceId, AddError> {
        let key = (instance.config().family(), instance.config().vrid);
        if self.by_key.contains_key(&key) {
            return Err(AddError::DuplicateVrid {
                family: key.0,
                vrid: key.1,
            });
        }
        let id = match self.retired.iter().position(|r| *r) {
            Some(id) => {
                self.instances[id] = instance;
                self.retired[id] = false;
                self.dirty.retain(|d| *d != id);
                id
            }
            None => {
                self.instances.push(instance);
                self.retired.push(false);
                self.instances.len() - 1
            }
        };
        self.by_key.insert(key, id);
        Ok(id)
    }

    /// Removes instance `id` from service: its VRID is free again, it gets no more adverts,
    /// timers or events, and [`Router::add`] may reuse its slot. Drain its actions (stop it
    /// first) before adding another instance. Returns false if there was no such instance.
    pub fn retire(&mut self, id: InstanceId) -> bool {
        let Some(inst) = self.instances.get(id) else {
            return false;
        };
        if self.retired.get(id).copied().unwrap_or(true) {
            return false;
        }
        let key = (inst.config().family(), inst.config().vrid);
        if self.by_key.get(&key) == Some(&id) {
            self.by_key.remove(&key);
        }
        if let Some(r) = self.retired.get_mut(id) {
            *r = true;
        }
        true
    }

    /// Whether `id` is an instance in service (added and not retired).
    #[must_use]
    pub fn is_live(&self, id: InstanceId) -> bool {
        self.retired.get(id).is_some_and(|r| !*r)
    }

    /// The instances.
    #[must_use]
    pub fn instances(&self) -> &[Instance] {
        &self.instances
    }

    /// One instance.
    #[must_use]
    pub fn instance(&self, id: InstanceId) -> Option<&Instance> {
        self.instances.get(id)
    }

    /// One instance, mutably; it is marked as possibly having actions to drain.
    pub(crate) fn instance_mut(&mut self, id: InstanceId) -> Option<&mut Instance> {
        if id < self.instances.len() {
            self.touch(id);
        }
        self.instances.get_mut(id)
    }

    /// The instance running `vrid` in `family`.
    #[must_use]
    pub fn find(&self, family: Family, vrid: u8) -> Option<InstanceId> {
        self.by_key.get(&(family, vrid)).copied()
    }

    /// The global counters.
    #[must_use]
    pub fn stats(&self) -> &GlobalStats {
        &self.stats
    }

    fn touch(&mut self, id: InstanceId) {
        if !self.dirty.contains(&id) {
            self.dirty.push_back(id);
        }
    }

    /// Starts every instance.
    pub fn handle_start(&mut self, now: Instant) {
        for id in 0..self.instances.len() {
            if self.is_live(id) {
                self.instances[id].handle_start(now);
                self.touch(id);
            }
        }
    }

    /// Gives `event` to every instance.
    pub fn handle_event(&mut self, now: Instant, event: Event) {
        for id in 0..self.instances.len() {
            if self.is_live(id) {
                self.instances[id].handle_event(now, event);
                self.touch(id);
            }
        }
    }

    /// Gives `event` to one instance.
    pub fn handle_instance_event(&mut self, now: Instant, id: InstanceId, event: Event) {
        if let Some(inst) = self.instances.get_mut(id) {
            inst.handle_event(now, event);
            self.touch(id);
        }
    }

    /// Handles a VRRP message (an IP payload) received with `meta`. Returns the instance it went
    /// to, or why it was dropped (counted here or in the instance's stats).
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        meta: &RxMeta,
        bytes: &[u8],
    ) -> Result<InstanceId, PeerError> {
        let routed = Packet::new_checked(bytes).and_then(|p| {
            self.find(Family::of(&meta.src), p.vrid())
                .ok_or(RxError::VridUnknown { vrid: p.vrid() })
        });
        let id = routed.map_err(|e| {
            self.stats.record(&e);
            e.from_peer(meta.src)
        })?;
        let inst = self
            .instances
            .get_mut(id)
            .ok_or(RxError::VridUnknown { vrid: 0 }.from_peer(meta.src))?;
        let result = inst.handle_datagram(now, meta, bytes);
        self.touch(id);
        if let Err(e) = &result {
            self.stats.record(&e.error);
        }
        result.map(|()| id)
    }

    /// Handles a whole IPv4 datagram of protocol 51: an advert behind an IPsec AH
    /// (`auth_type AH`), routed by the VRID of the advert inside.
    pub fn handle_ah_datagram(
        &mut self,
        now: Instant,
        bytes: &[u8],
    ) -> Result<InstanceId, PeerError> {
        let split = ah::split(bytes).map_err(|e| {
            self.stats.record(&e);
            e.from_peer(ip_src(bytes))
        })?;
        let (meta, rx) = split;
        let routed = Packet::new_checked(rx.vrrp).and_then(|p| {
            self.find(Family::of(&meta.src), p.vrid())
                .ok_or(RxError::VridUnknown { vrid: p.vrid() })
        });
        let id = routed.map_err(|e| {
            self.stats.record(&e);
            e.from_peer(meta.src)
        })?;
        let inst = self
            .instances
            .get_mut(id)
            .ok_or(RxError::VridUnknown { vrid: 0 }.from_peer(meta.src))?;
        let result = inst.handle_ah_datagram(now, &meta, &rx);
        self.touch(id);
        if let Err(e) = &result {
            self.stats.record(&e.error);
        }
        result.map(|()| id)
    }

    /// Handles a whole IPv4 or IPv6 datagram (header included); IPv4 protocol 51 goes to
    /// [`Router::handle_ah_datagram`].
    pub fn handle_ip_datagram(
        &mut self,
        now: Instant,
        bytes: &[u8],
    ) -> Result<InstanceId, PeerError> {
        if ip::Ipv4Packet::new_checked(bytes).is_ok_and(|p| p.protocol() == ah::PROTO_AH) {
            return self.handle_ah_datagram(now, bytes);
        }
        match ip::parse_datagram(bytes) {
            Ok((meta, payload)) => self.handle_datagram(now, &meta, payload),
            Err(e) => {
                self.stats.record(&e);
                Err(e.from_peer(core::net::Ipv4Addr::UNSPECIFIED.into()))
            }
        }
    }

    /// Handles the timers of every instance due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        for id in 0..self.instances.len() {
            if self.is_live(id) && self.instances[id].poll_timeout().is_some_and(|t| t <= now) {
                self.instances[id].handle_timeout(now);
                self.touch(id);
            }
        }
    }

    /// The next action of any instance, with the instance it belongs to. Drain until `None`
    /// after every `handle_*` call.
    pub fn poll_action(&mut self) -> Option<(InstanceId, Action)> {
        while let Some(&id) = self.dirty.front() {
            if let Some(action) = self.instances.get_mut(id).and_then(Instance::poll_action) {
                return Some((id, action));
            }
            self.dirty.pop_front();
        }
        None
    }

    /// Drains every pending action into `sink`, in order, then returns the next timeout: the
    /// one call a driver makes after each `handle_*`.
    pub fn drain(&mut self, mut sink: impl FnMut(InstanceId, Action)) -> Option<Instant> {
        while let Some((id, action)) = self.poll_action() {
            sink(id, action);
        }
        self.poll_timeout()
    }

    /// The earliest timeout of any instance. Read after draining the actions.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.instances
            .iter()
            .enumerate()
            .filter(|(id, _)| self.is_live(*id))
            .filter_map(|(_, i)| i.poll_timeout())
            .min()
    }
}

/// The IPv4 source of `bytes`, or 0.0.0.0 (for errors about a datagram that could not be split).
fn ip_src(bytes: &[u8]) -> core::net::IpAddr {
    ip::Ipv4Packet::new_checked(bytes)
        .map_or(core::net::Ipv4Addr::UNSPECIFIED, |p| p.src())
        .into()
}
