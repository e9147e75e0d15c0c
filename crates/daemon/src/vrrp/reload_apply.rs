//! Applying a reloaded configuration to the running driver as a difference (keepalived's reload,
//! without its restart of every instance):
//! * an instance of the same name on the same socket, VRID, family, version and VMAC is kept:
//!   its state, timers and counters stay, and new parameters take effect in place
//!   ([`keepalived_vrrp::Engine::update_instance`]); if it is master, only the addresses,
//!   routes and rules that changed are added or removed, and only the added addresses are
//!   announced (gratuitous ARP / unsolicited NA);
//! * an instance no longer configured (or become another virtual router) stops as at shutdown
//!   (priority-0 advert if master, addresses, routes and rules released, VMAC removed), notified
//!   as deleted (`notify_deleted`, else FAULT, as keepalived);
//! * a new instance starts as at start-up;
//! * static addresses, routes and rules, tracked objects and sync groups are re-planned: what
//!   did not change is not touched, and trackers that did not change keep running and keep
//!   their status.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use keepalived_config::Config;
use keepalived_vrrp::{Event, Instance, InstanceRef, State, TrackerUpdate};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use super::driver::{Clock, Running, create_vmacs};
use super::link::{Link, link_key, read_socket};
use super::netops::{add_routes, del_routes, install_statics, remove_statics};
use super::notify::Notifier;
use super::reload::ReloadSummary;
use crate::plan::convert::{InstancePlan, StaticPlan, VmacPlan};
use crate::plan::track_ids;
use crate::plan::tracks::TrackPlan;
use crate::services::load::Loaded;
use crate::services::script::ScriptEnv;

/// Items of `a` not in `b`.
fn minus<T: PartialEq + Clone>(a: &[T], b: &[T]) -> Vec<T> {
    a.iter().filter(|x| !b.contains(x)).cloned().collect()
}

/// A VMAC plan without what creating it filled in (the parent's index).
fn vmac_key(v: Option<&VmacPlan>) -> Option<(String, keepalived_net::VmacSpec, bool)> {
    v.map(|v| {
        let mut spec = v.spec.clone();
        spec.parent = 0;
        (v.parent.clone(), spec, v.xmit_base)
    })
}

/// Whether the running plan and the new one differ in anything but identity.
fn plan_changed(old: &InstancePlan, new: &InstancePlan) -> bool {
    old.cfg != new.cfg
        || old.transport != new.transport
        || old.vips != new.vips
        || old.routes != new.routes
        || old.rules != new.rules
        || old.garp_interval != new.garp_interval
        || old.gna_interval != new.gna_interval
}

/// What the notifier is built from: a change rebuilds it.
fn notify_inputs(c: &Config) -> impl PartialEq + '_ {
    let instances: Vec<_> = c
        .vrrp
        .instances
        .iter()
        .map(|i| {
            (
                &i.name,
                &i.notify,
                &i.notify_deleted,
                &i.notify_master_rx_lower_pri,
                i.notify_priority_changes,
            )
        })
        .collect();
    let groups: Vec<_> = c
        .vrrp
        .sync_groups
        .iter()
        .map(|g| (&g.name, &g.members, &g.notify, g.notify_priority_changes))
        .collect();
    (instances, groups, &c.global.defs)
}

impl Running {
    /// Applies `loaded` as a difference to what runs (see the module documentation); returns
    /// what changed. `track_rx` delivers the first values of restarted trackers, applied before
    /// instances are updated.
    pub fn reload(
        &mut self,
        clock: Clock,
        loaded: Loaded,
        track_rx: &mut mpsc::UnboundedReceiver<TrackerUpdate>,
    ) -> ReloadSummary {
        let Loaded {
            config,
            plans,
            statics,
            tracks,
            ..
        } = loaded;
        let tracks = track_ids::stabilise(&self.tracks, tracks, &mut self.next_tracker);
        let now = clock.now();
        let mut summary = ReloadSummary::default();

        let running = self.live_by_name();
        let new_names: BTreeSet<String> = plans.iter().map(|p| p.cfg.name.clone()).collect();
        let mut removes: Vec<InstanceRef> = running
            .iter()
            .filter(|(name, _)| !new_names.contains(*name))
            .map(|(_, r)| *r)
            .collect();
        let mut updates = Vec::new();
        let mut adds = Vec::new();
        for plan in plans {
            match running.get(&plan.cfg.name) {
                Some(&r) if self.same_router(r, &plan) => updates.push((r, plan)),
                Some(&r) => {
                    info!(
                        "({}) is another virtual router now; restarting it",
                        plan.cfg.name
                    );
                    removes.push(r);
                    adds.push(plan);
                }
                None => adds.push(plan),
            }
        }

        // Removed instances stop first, notified through the notifier that knew them.
        for &r in &removes {
            let name = self.links[r.link].name(r.id).to_owned();
            if !new_names.contains(&name) {
                summary.removed.push(name.clone());
            }
            info!("({name}) removed by reload; stopping");
            self.deleting.insert(r);
            self.engine.remove_instance(now, r);
        }
        self.drain();
        for r in removes {
            self.deleting.remove(&r);
            self.links[r.link].retire(r.id);
            self.remove_vmac(r);
        }

        if config.global.defs != self.config.global.defs {
            // (Looks users up: only when global_defs changed.)
            self.env = ScriptEnv::from_defs(&config.global.defs);
        }
        if notify_inputs(&self.config) != notify_inputs(&config) {
            info!("notify scripts or FIFOs changed; restarting the notifier");
            let old = std::mem::replace(&mut self.notifier, Notifier::new(&config, &self.env));
            tokio::spawn(async move { old.shutdown(Duration::from_secs(1)).await });
        }
        self.replan_statics(statics);

        self.engine.retain_trackers(|id| {
            tracks.interfaces.iter().any(|(i, _)| *i == id)
                || tracks.scripts.iter().any(|(i, _)| *i == id)
                || tracks.files.iter().any(|(i, _)| *i == id)
                || tracks.processes.iter().any(|(i, _)| *i == id)
        });
        self.trackers
            .apply(&mut self.engine, now, &tracks, &self.env);
        while let Ok(update) = track_rx.try_recv() {
            self.engine.handle_tracker(now, update);
        }
        for unknown in &tracks.unknown {
            warn!("tracked {unknown} is not configured; ignored");
        }

        for (r, plan) in updates {
            let name = plan.cfg.name.clone();
            if self.update(now, r, plan, &tracks) {
                summary.changed.push(name);
            } else {
                summary.unchanged += 1;
            }
        }
        for plan in adds {
            let name = plan.cfg.name.clone();
            if self.add(now, plan, &tracks) {
                summary.added.push(name);
            }
        }
        self.replan_groups(now, &tracks);
        self.close_idle_links();
        let live = self.live_by_name();
        let engine = &self.engine;
        self.syncd.reload(&config, |name| {
            live.get(name)
                .and_then(|r| engine.instance(*r))
                .map(|i| i.state())
        });
        self.config = Arc::new(config);
        self.tracks = tracks;
        summary
    }

    /// Every instance in service, by name.
    pub(super) fn live_by_name(&self) -> BTreeMap<String, InstanceRef> {
        let mut out = BTreeMap::new();
        for (l, link) in self.links.iter().enumerate() {
            for id in link.live_ids() {
                out.insert(link.name(id).to_owned(), InstanceRef { link: l, id });
            }
        }
        out
    }

    /// Whether running instance `r` can take `plan` in place.
    fn same_router(&self, r: InstanceRef, plan: &InstancePlan) -> bool {
        let Some(link) = self.links.get(r.link) else {
            return false;
        };
        let Some(old) = link.plans.get(r.id) else {
            return false;
        };
        link.key == link_key(plan)
            && old.ifname == plan.ifname
            && old.iface_present == plan.iface_present
            && old.cfg.same_identity(&plan.cfg)
            && vmac_key(old.vmac.as_ref()) == vmac_key(plan.vmac.as_ref())
    }

    /// Gives `plan` to running instance `r`; a master adds and removes only the addresses,
    /// routes and rules that changed. Returns whether anything changed.
    fn update(
        &mut self,
        now: keepalived_vrrp::Instant,
        r: InstanceRef,
        mut plan: InstancePlan,
        tracks: &TrackPlan,
    ) -> bool {
        let Some(link) = self.links.get_mut(r.link) else {
            return false;
        };
        let old = link.plans[r.id].clone();
        // The VMAC exists already: keep what creating it filled in.
        plan.vmac.clone_from(&old.vmac);
        let changed = plan_changed(&old, &plan);
        let name = plan.cfg.name.clone();
        let master = self
            .engine
            .instance(r)
            .is_some_and(|i| i.state() == State::Master);
        let (vips_in, vips_out) = (minus(&plan.vips, &old.vips), minus(&old.vips, &plan.vips));
        let (routes_in, routes_out) = (
            minus(&plan.routes, &old.routes),
            minus(&old.routes, &plan.routes),
        );
        let (rules_in, rules_out) = (
            minus(&plan.rules, &old.rules),
            minus(&old.rules, &plan.rules),
        );
        let cfg = plan.cfg.clone();
        let repeat = plan.cfg.garp.master_repeat;
        link.plans[r.id] = plan;
        if master {
            del_routes(&mut link.rtnl, &name, &routes_out, &rules_out);
            link.del_vips(r.id, &vips_out);
            link.add_vips(r.id, &vips_in, repeat);
            super::firewall::reloaded(&name, &old, &link.plans[r.id]);
            add_routes(&mut link.rtnl, &name, &routes_in, &rules_in);
        }
        if !vips_in.is_empty() || !vips_out.is_empty() {
            info!(
                "({name}) virtual addresses changed on reload: {} added, {} removed{}",
                vips_in.len(),
                vips_out.len(),
                if master {
                    ""
                } else {
                    " (not master: nothing to install)"
                }
            );
        }
        let tracked = tracks.instances.get(&name).cloned().unwrap_or_default();
        if let Err(e) = self.engine.update_instance(now, r, cfg, tracked) {
            warn!("({name}) cannot apply the reloaded parameters: {e}");
        }
        if changed {
            info!("({name}) parameters changed on reload; state kept");
        } else {
            debug!("({name}) unchanged by reload");
        }
        changed
    }

    /// Starts a new instance as at start-up (VMAC, socket, FAULT if its interface is missing).
    /// Returns whether it runs.
    fn add(
        &mut self,
        now: keepalived_vrrp::Instant,
        plan: InstancePlan,
        tracks: &TrackPlan,
    ) -> bool {
        let mut plans = [plan];
        create_vmacs(&mut self.rtnl, &mut self.vmacs, &mut plans);
        let [plan] = plans;
        let name = plan.cfg.name.clone();
        let key = link_key(&plan);
        let l = match self.links.iter().position(|l| l.key == key) {
            Some(l)
                if !self.links[l].live_ids().is_empty()
                    || self.links[l].socket.is_some() == plan.iface_present =>
            {
                l
            }
            found => {
                let link = match Link::open(key, plan.iface_present, self.release) {
                    Ok(link) => link,
                    Err(e) => {
                        warn!("({name}) cannot start: {}", e.0);
                        return false;
                    }
                };
                match found {
                    // An idle link of the same key: replace its socket.
                    Some(l) => {
                        if let Some(t) = self.readers[l].take() {
                            t.abort();
                        }
                        self.links[l].socket = link.socket;
                        l
                    }
                    None => {
                        let l = self.engine.add_link();
                        debug_assert_eq!(l, self.links.len());
                        self.links.push(link);
                        self.readers.push(None);
                        l
                    }
                }
            }
        };
        if self.readers[l].is_none()
            && let Some(socket) = &self.links[l].socket
        {
            self.readers[l] = Some(tokio::spawn(read_socket(
                l,
                socket.clone(),
                self.rx_tx.clone(),
            )));
        }
        let mut instance = match Instance::new(plan.cfg.clone()) {
            Ok(i) => i,
            Err(e) => {
                warn!("({name}) cannot start: {e}");
                return false;
            }
        };
        if self.links[l].socket.is_none() {
            info!(
                "({name}): entering FAULT state (interface {} doesn't exist)",
                plan.ifname
            );
            instance.handle_event(now, Event::InterfaceDown);
        }
        let tracked = tracks.instances.get(&name).cloned().unwrap_or_default();
        match self.engine.insert_instance(now, l, instance, tracked) {
            Ok(r) => {
                info!("({name}) added by reload; starting");
                self.links[l].set_plan(r.id, plan);
                true
            }
            Err(e) => {
                warn!("({name}) cannot start: {e}");
                false
            }
        }
    }

    /// Removes the VMAC of (retired) instance `r`, if it had one.
    fn remove_vmac(&mut self, r: InstanceRef) {
        let Some((name, fw)) = self.links[r.link].plans[r.id]
            .vmac
            .as_ref()
            .map(|v| (v.spec.name.clone(), v.firewall.clone()))
        else {
            return;
        };
        let found = self.vmacs.vmacs().iter().find(|v| v.name == name).cloned();
        if let Some(vmac) = found {
            match self.vmacs.remove(&mut self.rtnl, &vmac) {
                Ok(()) => {
                    info!("Removed VMAC interface {name}");
                    if let Some(fw) = &fw {
                        let inst = &self.links[r.link].plans[r.id].cfg.name;
                        super::firewall::vmac_removed(inst, fw, vmac.ifindex, vmac.parent);
                    }
                }
                Err(e) => warn!("cannot remove VMAC interface {name}: {e}"),
            }
        }
    }

    /// Installs the static entries that are new and removes those no longer configured.
    fn replan_statics(&mut self, new: StaticPlan) {
        let old = &self.statics;
        let gone = StaticPlan {
            addrs: minus(&old.addrs, &new.addrs),
            routes: minus(&old.routes, &new.routes),
            rules: minus(&old.rules, &new.rules),
        };
        let added = StaticPlan {
            addrs: minus(&new.addrs, &old.addrs),
            routes: minus(&new.routes, &old.routes),
            rules: minus(&new.rules, &old.rules),
        };
        remove_statics(&mut self.rtnl, &gone);
        install_statics(&mut self.rtnl, &added);
        self.statics = new;
    }

    /// Replaces the sync groups (a group of the same name keeps its state).
    fn replan_groups(&mut self, now: keepalived_vrrp::Instant, tracks: &TrackPlan) {
        let specs = super::driver::group_specs(tracks, &self.live_by_name());
        if let Err(e) = self.engine.set_sync_groups(now, &specs) {
            warn!("sync groups not changed: {e}");
        }
    }

    /// Closes the socket (and its reader) of every link left without instances.
    fn close_idle_links(&mut self) {
        for (l, link) in self.links.iter_mut().enumerate() {
            if link.live_ids().is_empty() && link.socket.is_some() {
                if let Some(t) = self.readers[l].take() {
                    t.abort();
                }
                link.socket = None;
                debug!(
                    "closed the VRRP socket on {} (no instance left)",
                    link.key.ifname
                );
            }
        }
    }
}
