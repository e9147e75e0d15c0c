//! The smallest set of changes that turns the table the kernel holds into the desired one.
//!
//! Ownership: we touch only services we own, which are the ones we created or adopted (a service
//! of the desired table found in the kernel at start-up, left by a crashed run, is adopted and
//! corrected); other services in the kernel are left alone. Inside a service we own, the
//! destinations are ours to add, edit and remove. A real server's change is one destination
//! edit, never a rebuild of its service.

use std::collections::BTreeSet;
use std::net::SocketAddr;

use crate::table::{Dest, Service, ServiceKey, Table};

/// One change to apply (one netlink request each).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// Create a service.
    AddService(ServiceKey, Service),
    /// Change a service's settings.
    EditService(ServiceKey, Service),
    /// Delete a service (and its destinations with it).
    DelService(ServiceKey),
    /// Add a destination.
    AddDest(ServiceKey, SocketAddr, Dest),
    /// Change a destination's settings.
    EditDest(ServiceKey, SocketAddr, Dest),
    /// Remove a destination.
    DelDest(ServiceKey, SocketAddr),
}

/// The services we own.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Owned(pub BTreeSet<ServiceKey>);

impl Owned {
    /// Records the effect of applied changes (a created service becomes ours; a deleted one
    /// no longer is).
    pub fn apply(&mut self, changes: &[Change]) {
        for c in changes {
            match c {
                Change::AddService(k, _) => {
                    self.0.insert(*k);
                }
                Change::DelService(k) => {
                    self.0.remove(k);
                }
                _ => {}
            }
        }
    }

    /// Adopts every service of `desired` that `current` already holds (start-up after a
    /// crash: what the previous run left is corrected, not duplicated).
    pub fn adopt(&mut self, current: &Table, desired: &Table) {
        for k in desired.keys().filter(|k| current.contains_key(k)) {
            self.0.insert(*k);
        }
    }
}

/// The changes from `current` (what the kernel holds) to `desired`, in the order to apply them:
/// new services and their destinations first, then edits, then removals (destinations before
/// services). Services in `current` that we do not own are never touched.
pub fn diff(current: &Table, desired: &Table, owned: &Owned) -> Vec<Change> {
    let mut adds = Vec::new();
    let mut edits = Vec::new();
    let mut dels = Vec::new();
    let mut del_services = Vec::new();
    // Both tables are sorted by key: one merge pass, no lookups.
    let mut held = current.iter().peekable();
    for (key, want) in desired {
        while let Some((k, _)) = held.next_if(|(k, _)| *k < key) {
            if owned.0.contains(k) {
                del_services.push(Change::DelService(*k));
            }
        }
        let have = held.next_if(|(k, _)| *k == key).map(|(_, h)| h);
        match have {
            None => {
                adds.push(Change::AddService(*key, want.service.clone()));
                for (addr, d) in &want.dests {
                    adds.push(Change::AddDest(*key, *addr, *d));
                }
            }
            // The common case: nothing to do (one pass over both).
            Some(have) if have == want => {}
            Some(have) if owned.0.contains(key) => {
                if have.service != want.service {
                    edits.push(Change::EditService(*key, want.service.clone()));
                }
                for (addr, d) in &want.dests {
                    match have.dests.get(addr) {
                        None => adds.push(Change::AddDest(*key, *addr, *d)),
                        Some(h) if h != d => edits.push(Change::EditDest(*key, *addr, *d)),
                        Some(_) => {}
                    }
                }
                for addr in have.dests.keys().filter(|a| !want.dests.contains_key(a)) {
                    dels.push(Change::DelDest(*key, *addr));
                }
            }
            // Someone else's service with our key: left alone (the caller may report it).
            Some(_) => {}
        }
    }
    for (k, _) in held {
        if owned.0.contains(k) {
            del_services.push(Change::DelService(*k));
        }
    }
    adds.extend(edits);
    adds.extend(dels);
    adds.extend(del_services);
    adds
}

/// Applies `changes` to `table` (what the kernel holds after they succeed; also the model the
/// tests use in place of the kernel).
pub fn apply(table: &mut Table, changes: &[Change]) {
    for c in changes {
        match c {
            Change::AddService(k, s) | Change::EditService(k, s) => {
                let e = table
                    .entry(*k)
                    .or_insert_with(|| crate::table::ServiceEntry {
                        service: s.clone(),
                        dests: Default::default(),
                    });
                e.service = s.clone();
            }
            Change::DelService(k) => {
                table.remove(k);
            }
            Change::AddDest(k, a, d) | Change::EditDest(k, a, d) => {
                if let Some(e) = table.get_mut(k) {
                    e.dests.insert(*a, *d);
                }
            }
            Change::DelDest(k, a) => {
                if let Some(e) = table.get_mut(k) {
                    e.dests.remove(a);
                }
            }
        }
    }
}
