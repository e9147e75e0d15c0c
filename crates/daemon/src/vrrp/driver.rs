//! The tokio driver: one task runs every VRRP instance, whatever its interface, so sync groups
//! and shared trackers see one engine. Each socket has a small reader task that hands datagrams
//! over a channel ([`super::link::read_socket`]); the driver feeds them to the engine, sleeps
//! until the engine's next deadline on a microsecond timerfd ([`PreciseTimer`]), and executes
//! the engine's actions through the instance's [`Link`]. The same loop answers the parent's
//! watchdog heartbeat ([`heartbeat`]): an answer means this loop turns; the parent's metrics
//! queries are answered there too, with a copy ([`metrics::take`]).
//!
//! On stop every instance gets the `Shutdown` event, so masters send priority-0 adverts and
//! release their addresses, routes and rules (not with `--dont-release-vrrp`). Static addresses,
//! routes and rules are installed before the instances start and removed after they stop.

use std::pin::pin;
use std::time::Duration;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use keepalived_config::Config;
use keepalived_net::{Rtnl, Vmacs};
use keepalived_vrrp::{
    Action, Engine, EngineAction, Event, GroupSpec, InstanceRef, Instant, State, SyncGroupOptions,
    TrackerUpdate,
};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::{info, warn};

use super::dbus::{Bus, Request as DbusRequest};
pub use super::link::StartError;
use super::link::{Datagram, Link, build_links, read_socket};
use super::metrics;
use super::netops::{install_statics, remove_leftover_routes, remove_statics};
use super::notify::{Notifier, NotifyState};
use super::reload::ReloadRequest;
use super::snapshot::{self, SnapshotRequest};
use super::syncd::SyncDaemons;
use super::timer::PreciseTimer;
use super::trackers::Trackers;
use super::trackers::log as track_log;
use crate::plan::convert::{InstancePlan, StaticPlan};
use crate::plan::tracks::TrackPlan;
use crate::services::dump::Dumper;
use crate::services::heartbeat::{self, QueryKind, Request, Responder};
use crate::services::metrics::EngineMetrics;
use crate::services::script::ScriptEnv;

/// Maps the monotonic clock to the engine's [`Instant`]: nanoseconds since the daemon started.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    start: std::time::Instant,
}

impl Clock {
    /// A clock whose epoch is now.
    pub fn new() -> Self {
        Clock {
            start: std::time::Instant::now(),
        }
    }

    /// The engine's now.
    pub fn now(&self) -> Instant {
        Instant::from_duration(self.start.elapsed())
    }

    /// The tokio instant of engine instant `at`.
    pub fn tokio_at(&self, at: Instant) -> tokio::time::Instant {
        tokio::time::Instant::from_std(self.start + at.since_epoch())
    }
}

/// Everything the driver runs, converted from the configuration.
#[derive(Debug, Default)]
pub struct Setup {
    /// One plan per `vrrp_instance`.
    pub plans: Vec<InstancePlan>,
    /// `static_ipaddress`, `static_routes`, `static_rules`.
    pub statics: StaticPlan,
    /// Tracked objects, who tracks them, and the sync groups.
    pub tracks: TrackPlan,
    /// Whether addresses, routes and rules are removed on stop (not with `--dont-release-vrrp`).
    pub release: bool,
    /// The whole configuration (notify scripts, FIFOs, script users).
    pub config: Arc<Config>,
    /// Requests for state snapshots (the dumps), answered between two events.
    pub snapshots: Option<mpsc::UnboundedReceiver<SnapshotRequest>>,
    /// The parent's watchdog heartbeat, answered by the loop of [`run`] itself.
    pub heartbeat: Option<Responder>,
    /// The process's dumps (D-Bus's PrintData and PrintStats write them).
    pub dumper: Option<Dumper<snapshot::Source>>,
}

/// The driver's state: the engine, its links and everything their actions and a reload need.
/// Owned by the one task of [`run`].
pub struct Running {
    /// The engine.
    pub engine: Engine,
    /// Link `i` is the engine's link `i`.
    pub links: Vec<Link>,
    /// Per link: its socket's reader task.
    pub readers: Vec<Option<JoinHandle<()>>>,
    /// Where reader tasks send datagrams.
    pub rx_tx: mpsc::UnboundedSender<Datagram>,
    /// Notify scripts and FIFOs.
    pub notifier: Notifier,
    /// Netlink handle for static entries and VMACs.
    pub rtnl: Rtnl,
    /// The VMACs created.
    pub vmacs: Vmacs,
    /// The static addresses, routes and rules installed.
    pub statics: StaticPlan,
    /// The tracking plan running (ids kept across reloads).
    pub tracks: TrackPlan,
    /// The first tracker id never used.
    pub next_tracker: usize,
    /// The tracker tasks.
    pub trackers: Trackers,
    /// The configuration running.
    pub config: Arc<Config>,
    /// Who runs scripts.
    pub env: ScriptEnv,
    /// Whether addresses, routes and rules are removed on stop.
    pub release: bool,
    /// Instances being removed by a reload (their STOP is notified as deleted).
    pub deleting: BTreeSet<InstanceRef>,
    /// The IPVS sync daemons following their VRRP instance (`lvs_sync_daemon`).
    pub syncd: SyncDaemons,
    /// The instances in maintenance (`keepalived-ctl vrrp NAME maintenance on`), by name.
    pub maintenance: BTreeSet<String>,
    /// The D-Bus interface (`enable_dbus`).
    pub dbus: Option<Bus>,
}

/// Runs every instance until `stop` turns true, then shuts them down. Must be called inside a
/// tokio runtime. The static addresses, routes and rules are installed first; on stop, once every
/// instance has released its addresses, routes and rules, they are removed too (unless
/// `release` is false: `--dont-release-vrrp`). Each configuration received on `reloads` is
/// applied as a difference ([`super::reload_apply`]) and acknowledged.
pub async fn run(
    setup: Setup,
    clock: Clock,
    mut stop: watch::Receiver<bool>,
    mut reloads: mpsc::UnboundedReceiver<ReloadRequest>,
) -> Result<(), StartError> {
    let Setup {
        mut plans,
        statics,
        tracks,
        release,
        config,
        mut snapshots,
        mut heartbeat,
        dumper,
    } = setup;
    let env = ScriptEnv::from_defs(&config.global.defs);
    let notifier = Notifier::new(&config, &env);
    let mut rtnl = Rtnl::open().map_err(|e| StartError(format!("rtnetlink: {e}")))?;
    let mut vmacs = Vmacs::new();
    create_vmacs(&mut rtnl, &mut vmacs, &mut plans);
    let dbus = Bus::start(&config, &plans, dumper);
    let mut engine = Engine::new();
    let (links, refs) = build_links(plans, release, &mut engine, &tracks)?;
    add_groups(&mut engine, &tracks, &refs)?;
    for unknown in &tracks.unknown {
        warn!("tracked {unknown} is not configured; ignored");
    }
    install_statics(&mut rtnl, &statics);
    let (rx_tx, mut rx) = mpsc::unbounded_channel();
    let readers = links
        .iter()
        .enumerate()
        .map(|(i, link)| {
            link.socket
                .as_ref()
                .map(|socket| tokio::spawn(read_socket(i, socket.clone(), rx_tx.clone())))
        })
        .collect();
    let (track_tx, mut track_rx) = mpsc::unbounded_channel();
    let now = clock.now();
    let syncd = SyncDaemons::new(&config);
    let mut run = Running {
        engine,
        links,
        readers,
        rx_tx,
        notifier,
        rtnl,
        vmacs,
        statics,
        next_tracker: crate::plan::track_ids::next_after(&tracks),
        tracks,
        trackers: Trackers::new(track_tx),
        config,
        env,
        release,
        deleting: BTreeSet::new(),
        syncd,
        maintenance: BTreeSet::new(),
        dbus,
    };
    run.trackers
        .apply(&mut run.engine, now, &run.tracks, &run.env);

    // Trackers report their first values before they return: apply them before the start.
    while let Ok(update) = track_rx.try_recv() {
        run.engine.handle_tracker(now, update);
    }
    track_log::at_start(
        &run.engine,
        &run.tracks,
        run.engine.instance_refs().into_iter().filter_map(|r| {
            let cfg = &run.links.get(r.link)?.plans.get(r.id)?.cfg;
            Some((r, cfg.name.as_str(), cfg.priority))
        }),
    );
    for (l, link) in run.links.iter_mut().enumerate() {
        link.remove_leftovers();
        if link.socket.is_none() {
            for id in 0..link.plans.len() {
                info!(
                    "({}): entering FAULT state (interface {} doesn't exist)",
                    link.plans[id].cfg.name, link.key.ifname
                );
                run.engine.handle_instance_event(
                    now,
                    InstanceRef { link: l, id },
                    Event::InterfaceDown,
                );
            }
        }
    }
    run.engine.handle_start(now);
    let mut deadline = run.drain();
    // The engine's deadlines need better than tokio's millisecond timer (see `timer`); if no
    // timerfd can be had, fall back to tokio's sleep rather than not running at all.
    let mut precise = match PreciseTimer::new() {
        Ok(t) => Some(t),
        Err(e) => {
            warn!("no timerfd ({e}); timers fall back to millisecond resolution");
            None
        }
    };
    let mut sleep = pin!(tokio::time::sleep_until(far_future(clock, deadline)));
    if let Some(t) = precise.as_mut() {
        arm(t, clock, deadline);
    }
    let mut trackers_open = true;
    let mut reloads_open = true;
    loop {
        if *stop.borrow() {
            break;
        }
        tokio::select! {
            biased;
            changed = stop.changed() => {
                if changed.is_err() {
                    break;
                }
                continue;
            }
            // Before the sockets: a flood of datagrams must not starve the watchdog's ping.
            request = heartbeat::next_request(&mut heartbeat) => {
                // A command changes instances: its actions are carried out below, as any
                // event's; a ping or a query changes nothing.
                let mut commanded = false;
                if let Some(h) = &heartbeat {
                    match request {
                        Request::Ping(n) => h.answer(n),
                        Request::Query(n, QueryKind::Metrics) => {
                            let cx = snapshot::Context {
                                tracks: &run.tracks,
                                now: clock.now(),
                                last_transition: &|name| run.notifier.last_transition(name),
                                smtp_alert: &|name| run.notifier.smtp_alert(name),
                            };
                            let mut vrrp = metrics::take(&run.engine, &run.links, &cx);
                            vrrp.script_states = run.trackers.script_states();
                            h.reply(n, move || {
                                let m = EngineMetrics { vrrp: Some(vrrp), checker: None, bfd: None };
                                m.to_wire()
                            });
                        }
                        Request::Query(n, QueryKind::Command(c)) => {
                            let json_v2 = run.config.global.defs.json_version
                                == keepalived_config::model::global::JsonVersion::V2;
                            let answer = run.command(clock.now(), c, json_v2);
                            h.reply(n, move || answer.bytes());
                            commanded = true;
                        }
                    }
                }
                if !commanded {
                    continue;
                }
            }
            Some(dg) = rx.recv() => {
                let now = clock.now();
                if let Some(link) = run.links.get_mut(dg.link) {
                    link.note_rx(run.engine.router(dg.link), &dg);
                    let handled = match &dg.ip {
                        Some(whole) => run.engine.handle_ip_datagram(now, dg.link, whole),
                        None => run.engine.handle_datagram(now, dg.link, &dg.meta, &dg.payload),
                    };
                    if let Err(e) = handled {
                        link.log_rejected(now, run.engine.router(dg.link), &e, &dg.payload);
                    }
                }
            }
            update = track_rx.recv(), if trackers_open => {
                match update {
                    Some(update) => run.handle_tracker(clock.now(), update),
                    None => trackers_open = false,
                }
            }
            () = fired(precise.as_mut(), sleep.as_mut()) => {
                run.engine.handle_timeout(clock.now());
                // A one-shot timer that fired must be armed again even for the same deadline
                // (the engine may not have reached it yet).
                deadline = None;
            }
            request = next_request(&mut snapshots) => {
                match request {
                    Some(reply) => {
                        let cx = snapshot::Context {
                            tracks: &run.tracks,
                            now: clock.now(),
                            last_transition: &|name| run.notifier.last_transition(name),
                            smtp_alert: &|name| run.notifier.smtp_alert(name),
                        };
                        let _ = reply.send(snapshot::take(&run.engine, &run.links, &cx));
                    }
                    None => snapshots = None,
                }
            }
            Some(request) = next_dbus(&mut run.dbus) => {
                let DbusRequest::SendGarp(name) = request;
                run.send_garp(&name);
            }
            request = reloads.recv(), if reloads_open => {
                match request {
                    Some(request) => {
                        let summary = run.reload(clock, request.loaded, &mut track_rx);
                        run.reapply_maintenance(clock.now());
                        if let Some(bus) = &run.dbus {
                            bus.reloaded(bus.instances(run.live_plans()));
                        }
                        let _ = request.done.send(summary);
                    }
                    None => reloads_open = false,
                }
            }
        }
        let next = run.drain();
        if next != deadline {
            deadline = next;
            match precise.as_mut() {
                Some(t) => arm(t, clock, deadline),
                None => sleep.as_mut().reset(far_future(clock, deadline)),
            }
        }
    }
    for t in run.readers.iter_mut().filter_map(Option::take) {
        t.abort();
    }
    run.trackers.stop();
    let now = clock.now();
    for link in &mut run.links {
        link.stopping = true;
    }
    run.engine.handle_shutdown(now);
    run.drain();
    run.syncd.stop();
    // keepalived gives the stop notifications about a second.
    run.notifier.shutdown(Duration::from_secs(1)).await;
    for link in &mut run.links {
        if link.release {
            // Nothing of ours left behind, whatever happened to a removal on the way.
            for id in link.live_ids() {
                let (name, routes, rules) = {
                    let p = &link.plans[id];
                    (p.cfg.name.clone(), p.routes.clone(), p.rules.clone())
                };
                remove_leftover_routes(&mut link.rtnl, &name, &routes, &rules);
            }
        }
    }
    if let Some(bus) = &run.dbus {
        bus.stop().await;
    }
    // keepalived deletes its firewall tables at stop, --dont-release-vrrp or not.
    super::firewall::stop();
    if release {
        remove_statics(&mut run.rtnl, &run.statics);
        if let Err(e) = run.vmacs.remove_all(&mut run.rtnl) {
            warn!("cannot remove VMAC interfaces: {e}");
        }
    }
    Ok(())
}

/// Creates the VMAC of every instance with `use_vmac` (replacing a leftover of a crashed run).
/// An instance whose VMAC cannot be created starts in FAULT.
pub(super) fn create_vmacs(rtnl: &mut Rtnl, vmacs: &mut Vmacs, plans: &mut [InstancePlan]) {
    for plan in plans.iter_mut().filter(|p| p.iface_present) {
        let name = plan.cfg.name.clone();
        let Some(v) = plan.vmac.as_mut() else {
            continue;
        };
        let created = keepalived_net::ifindex(&v.parent).and_then(|parent| {
            v.spec.parent = parent;
            vmacs.create(rtnl, &v.spec)
        });
        match created {
            Ok(vmac) => {
                info!("({name}): Success creating VMAC interface {}", vmac.name);
                if let Some(fw) = &v.firewall {
                    super::firewall::vmac_added(&name, fw, vmac.ifindex, vmac.parent);
                }
            }
            Err(e) => {
                warn!(
                    "({name}): cannot create VMAC interface {}: {e}",
                    v.spec.name
                );
                plan.iface_present = false;
            }
        }
    }
}

/// The sync groups of `tracks` with their members resolved by name (a member that is not a
/// configured instance, and a group left without members, are logged and left out).
pub fn group_specs(tracks: &TrackPlan, refs: &BTreeMap<String, InstanceRef>) -> Vec<GroupSpec> {
    let mut specs = Vec::new();
    for g in &tracks.groups {
        let members: Vec<InstanceRef> = g
            .members
            .iter()
            .filter_map(|name| {
                let r = refs.get(name).copied();
                if r.is_none() {
                    warn!(
                        "({}) member {name} is not a configured instance; ignored",
                        g.name
                    );
                }
                r
            })
            .collect();
        if members.is_empty() {
            warn!("({}) sync group has no usable member; ignored", g.name);
            continue;
        }
        specs.push(GroupSpec {
            name: g.name.clone(),
            members,
            tracks: g.tracks.clone(),
            options: SyncGroupOptions {
                tracking_weight: g.tracking_weight,
            },
        });
    }
    specs
}

/// Adds the sync groups to the engine.
fn add_groups(
    engine: &mut Engine,
    tracks: &TrackPlan,
    refs: &BTreeMap<String, InstanceRef>,
) -> Result<(), StartError> {
    for g in group_specs(tracks, refs) {
        engine
            .add_sync_group_with(&g.name, &g.members, g.tracks, g.options)
            .map_err(|e| StartError(format!("({}) {e}", g.name)))?;
    }
    Ok(())
}

impl Running {
    /// Applies a tracker's update to the engine, logging what keepalived logs about it.
    pub fn handle_tracker(&mut self, now: Instant, update: TrackerUpdate) {
        let links = &self.links;
        track_log::file_update(
            &self.engine,
            &self.tracks,
            update,
            self.engine
                .instance_refs()
                .into_iter()
                .filter_map(|r| Some((r, links.get(r.link)?.plans.get(r.id)?.cfg.name.as_str()))),
        );
        self.engine.handle_tracker(now, update);
    }

    /// Executes every pending action of the engine (and runs the notifications of
    /// transitions); returns its next deadline.
    pub fn drain(&mut self) -> Option<Instant> {
        drain(
            &mut self.engine,
            &mut self.links,
            &self.notifier,
            &self.deleting,
            &mut self.syncd,
            self.dbus.as_ref(),
        )
    }
}

/// Executes every pending action of `engine` on `links` and notifies through `notifier`; a
/// STOP of an instance in `deleting` is notified as a deletion; `syncd` follows the
/// transitions. Returns the next deadline.
fn drain(
    engine: &mut Engine,
    links: &mut [Link],
    notifier: &Notifier,
    deleting: &BTreeSet<InstanceRef>,
    syncd: &mut SyncDaemons,
    dbus: Option<&Bus>,
) -> Option<Instant> {
    while let Some(action) = engine.poll_action() {
        match action {
            EngineAction::Instance(r, action) => {
                let Some(link) = links.get_mut(r.link) else {
                    continue;
                };
                let priority = engine.instance(r).map_or(0, |i| i.priority());
                let state = engine.instance(r).map(|i| i.state());
                let name = link.name(r.id).to_owned();
                match &action {
                    Action::StateChanged {
                        to: State::Stop, ..
                    } if deleting.contains(&r) => {
                        notifier.instance_deleted(&name, priority);
                    }
                    Action::StateChanged { to, .. } => {
                        syncd.follow(&name, *to);
                        if let Some(bus) = dbus {
                            bus.state(&name, u32::from(snapshot::state_number(*to)));
                        }
                        if let Some(state) = NotifyState::from_state(*to) {
                            notifier.instance(&name, state, priority);
                        }
                    }
                    Action::PriorityChanged { to, .. } => {
                        if let Some(state) = state.and_then(NotifyState::from_state) {
                            notifier.priority_changed(&name, state, *to);
                        }
                    }
                    Action::MasterRxLowerPriority { .. } => {
                        notifier.master_rx_lower_pri(&name, priority);
                    }
                    _ => {}
                }
                link.execute(r.id, action, engine.router(r.link));
            }
            EngineAction::Group { group, from, to } => {
                let name = engine.group_name(group).unwrap_or("?");
                info!("VRRP_Group({name}) Syncing instances to {to} state (from {from})");
                if let Some(state) = NotifyState::from_state(to) {
                    notifier.group(name, state);
                }
            }
        }
    }
    engine.poll_timeout()
}

/// The next D-Bus call for the engine (never, without D-Bus).
async fn next_dbus(bus: &mut Option<Bus>) -> Option<DbusRequest> {
    match bus {
        Some(bus) => bus.requests.recv().await,
        None => std::future::pending().await,
    }
}

/// The next snapshot request (never, without a channel).
async fn next_request(
    rx: &mut Option<mpsc::UnboundedReceiver<SnapshotRequest>>,
) -> Option<SnapshotRequest> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Arms the precise timer for engine deadline `deadline` (disarms it for none).
fn arm(timer: &mut PreciseTimer, clock: Clock, deadline: Option<Instant>) {
    let after = deadline.map(|at| at - clock.now());
    if let Err(e) = timer.arm(after) {
        warn!("timerfd: {e}");
    }
}

/// Completes when the engine's deadline is reached: on the precise timer when there is one,
/// else on tokio's sleep.
async fn fired(precise: Option<&mut PreciseTimer>, sleep: std::pin::Pin<&mut tokio::time::Sleep>) {
    match precise {
        Some(t) => t.fired().await,
        None => sleep.await,
    }
}

/// The sleep target for `deadline`, or a day from now when nothing is armed.
fn far_future(clock: Clock, deadline: Option<Instant>) -> tokio::time::Instant {
    match deadline {
        Some(at) => clock.tokio_at(at),
        None => tokio::time::Instant::now() + Duration::from_secs(86_400),
    }
}
