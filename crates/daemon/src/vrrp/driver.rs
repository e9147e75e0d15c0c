//! The tokio driver: one task runs every VRRP instance, whatever its interface, so sync groups
//! and shared trackers see one engine. Each socket has a small reader task that hands datagrams
//! over a channel ([`super::link::read_socket`]); the driver feeds them to the engine, sleeps
//! until the engine's next deadline on a microsecond timerfd ([`PreciseTimer`]), and executes
//! the engine's actions through the instance's [`Link`].
//!
//! On stop every instance gets the `Shutdown` event, so masters send priority-0 adverts and
//! release their addresses, routes and rules (not with `--dont-release-vrrp`). Static addresses,
//! routes and rules are installed before the instances start and removed after they stop.

use std::pin::pin;
use std::time::Duration;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use keepalived_config::Config;
use keepalived_net::{Rtnl, Vmacs};
use keepalived_vrrp::{
    Action, Engine, EngineAction, Event, InstanceRef, Instant, SyncGroupOptions, TrackerId,
    TrackerUpdate, TrackerValue,
};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::{info, warn};

use super::convert::{InstancePlan, StaticPlan};
pub use super::link::StartError;
use super::link::{Link, build_links, read_socket};
use super::netops::{install_statics, remove_leftover_routes, remove_statics};
use super::notify::{Notifier, NotifyState};
use super::snapshot::{self, SnapshotRequest};
use super::timer::PreciseTimer;
use super::track_plan::TrackPlan;
use super::track_script::{ScriptTrackerConfig, ScriptTrackers, spawn_script_trackers};
use super::{track_file, track_link, track_process};
use crate::script::ScriptEnv;

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
}

/// Runs every instance until `stop` turns true, then shuts them down. Must be called inside a
/// tokio runtime. The static addresses, routes and rules are installed first; on stop, once every
/// instance has released its addresses, routes and rules, they are removed too (unless
/// `release` is false: `--dont-release-vrrp`).
pub async fn run(
    setup: Setup,
    clock: Clock,
    mut stop: watch::Receiver<bool>,
) -> Result<(), StartError> {
    let Setup {
        mut plans,
        statics,
        tracks,
        release,
        config,
        mut snapshots,
    } = setup;
    let env = ScriptEnv::from_defs(&config.global.defs);
    let notifier = Notifier::new(&config, &env);
    let mut rtnl = Rtnl::open().map_err(|e| StartError(format!("rtnetlink: {e}")))?;
    let mut vmacs = Vmacs::new();
    create_vmacs(&mut rtnl, &mut vmacs, &mut plans);
    let mut engine = Engine::new();
    let (mut links, refs) = build_links(plans, release, &mut engine, &tracks)?;
    add_groups(&mut engine, &tracks, &refs)?;
    for unknown in &tracks.unknown {
        warn!("tracked {unknown} is not configured; ignored");
    }
    install_statics(&mut rtnl, &statics);
    let (rx_tx, mut rx) = mpsc::unbounded_channel();
    let mut tasks = Vec::new();
    for (i, link) in links.iter().enumerate() {
        if let Some(socket) = &link.socket {
            tasks.push(tokio::spawn(read_socket(i, socket.clone(), rx_tx.clone())));
        }
    }
    drop(rx_tx);
    let (track_tx, mut track_rx) = mpsc::unbounded_channel();
    tasks.extend(spawn_trackers(&tracks, &track_tx));
    let now = clock.now();
    let scripts = start_scripts(&mut engine, now, &tracks, &env, &track_tx);
    drop(track_tx);

    // Trackers report their first values before they return: apply them before the start.
    while let Ok(update) = track_rx.try_recv() {
        engine.handle_tracker(now, update);
    }
    for (l, link) in links.iter_mut().enumerate() {
        link.remove_leftovers();
        if link.socket.is_none() {
            for id in 0..link.plans.len() {
                info!(
                    "({}): entering FAULT state (interface {} doesn't exist)",
                    link.plans[id].cfg.name, link.key.ifname
                );
                engine.handle_instance_event(
                    now,
                    InstanceRef { link: l, id },
                    Event::InterfaceDown,
                );
            }
        }
    }
    engine.handle_start(now);
    let mut deadline = drain(&mut engine, &mut links, &notifier);
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
            Some(dg) = rx.recv() => {
                let now = clock.now();
                if let Some(link) = links.get_mut(dg.link) {
                    link.note_rx(engine.router(dg.link), &dg);
                    if let Err(e) = engine.handle_datagram(now, dg.link, &dg.meta, &dg.payload) {
                        link.log_rejected(now, engine.router(dg.link), &e, &dg.payload);
                    }
                }
            }
            update = track_rx.recv(), if trackers_open => {
                match update {
                    Some(update) => engine.handle_tracker(clock.now(), update),
                    None => trackers_open = false,
                }
            }
            () = fired(precise.as_mut(), sleep.as_mut()) => {
                engine.handle_timeout(clock.now());
                // A one-shot timer that fired must be armed again even for the same deadline
                // (the engine may not have reached it yet).
                deadline = None;
            }
            request = next_request(&mut snapshots) => {
                match request {
                    Some(reply) => {
                        let cx = snapshot::Context {
                            tracks: &tracks,
                            now: clock.now(),
                            last_transition: &|name| notifier.last_transition(name),
                            smtp_alert: &|name| notifier.smtp_alert(name),
                        };
                        let _ = reply.send(snapshot::take(&engine, &links, &cx));
                    }
                    None => snapshots = None,
                }
            }
        }
        let next = drain(&mut engine, &mut links, &notifier);
        if next != deadline {
            deadline = next;
            match precise.as_mut() {
                Some(t) => arm(t, clock, deadline),
                None => sleep.as_mut().reset(far_future(clock, deadline)),
            }
        }
    }
    for t in tasks {
        t.abort();
    }
    scripts.stop();
    let now = clock.now();
    for link in &mut links {
        link.stopping = true;
    }
    engine.handle_shutdown(now);
    drain(&mut engine, &mut links, &notifier);
    // keepalived gives the stop notifications about a second.
    notifier.shutdown(Duration::from_secs(1)).await;
    for link in &mut links {
        if link.release {
            // Nothing of ours left behind, whatever happened to a removal on the way.
            for id in 0..link.plans.len() {
                let (name, routes, rules) = {
                    let p = &link.plans[id];
                    (p.cfg.name.clone(), p.routes.clone(), p.rules.clone())
                };
                remove_leftover_routes(&mut link.rtnl, &name, &routes, &rules);
            }
        }
    }
    if release {
        remove_statics(&mut rtnl, &statics);
        if let Err(e) = vmacs.remove_all(&mut rtnl) {
            warn!("cannot remove VMAC interfaces: {e}");
        }
    }
    Ok(())
}

/// Creates the VMAC of every instance with `use_vmac` (replacing a leftover of a crashed run).
/// An instance whose VMAC cannot be created starts in FAULT.
fn create_vmacs(rtnl: &mut Rtnl, vmacs: &mut Vmacs, plans: &mut [InstancePlan]) {
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
            Ok(vmac) => info!("({name}): Success creating VMAC interface {}", vmac.name),
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

/// Adds the sync groups to the engine.
fn add_groups(
    engine: &mut Engine,
    tracks: &TrackPlan,
    refs: &BTreeMap<String, InstanceRef>,
) -> Result<(), StartError> {
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
        let options = SyncGroupOptions {
            tracking_weight: g.tracking_weight,
        };
        engine
            .add_sync_group_with(&g.name, &members, g.tracks.clone(), options)
            .map_err(|e| StartError(format!("({}) {e}", g.name)))?;
    }
    Ok(())
}

/// Starts the trackers of links, files and processes; each reports its first values before
/// returning.
fn spawn_trackers(
    tracks: &TrackPlan,
    tx: &mpsc::UnboundedSender<TrackerUpdate>,
) -> Vec<JoinHandle<()>> {
    let mut tasks = Vec::new();
    if !tracks.interfaces.is_empty() {
        let mut ids: HashMap<String, Vec<TrackerId>> = HashMap::new();
        for (id, name) in &tracks.interfaces {
            ids.entry(name.clone()).or_default().push(*id);
        }
        match track_link::spawn(ids, tx.clone()) {
            Ok(task) => tasks.push(task),
            Err(e) => warn!("cannot watch link states: {e}"),
        }
    }
    if !tracks.files.is_empty() {
        tasks.push(track_file::spawn(tracks.files.clone(), tx.clone()));
    }
    if !tracks.processes.is_empty() {
        tasks.push(track_process::spawn(tracks.processes.clone(), tx.clone()));
    }
    tasks
}

/// Starts the `vrrp_script`s something tracks. A script with `init_fail` starts failed; the
/// others report when their first run ends (until then a weight-0 script holds its instances
/// in INIT, as keepalived does). A script that cannot run (unknown user, insecure path) is
/// logged and reported failed.
fn start_scripts(
    engine: &mut Engine,
    now: Instant,
    tracks: &TrackPlan,
    env: &ScriptEnv,
    tx: &mpsc::UnboundedSender<TrackerUpdate>,
) -> ScriptTrackers {
    let mut runnable = Vec::new();
    for (id, script) in &tracks.scripts {
        match ScriptTrackerConfig::from_model(script, env) {
            Ok(cfg) => {
                if cfg.initial_value() == TrackerValue::Down {
                    engine.handle_tracker(
                        now,
                        TrackerUpdate {
                            id: *id,
                            value: TrackerValue::Down,
                        },
                    );
                }
                runnable.push((*id, cfg));
            }
            Err(e) => {
                warn!("VRRP_Script({}) cannot run: {e}", script.name);
                engine.handle_tracker(
                    now,
                    TrackerUpdate {
                        id: *id,
                        value: TrackerValue::Down,
                    },
                );
            }
        }
    }
    spawn_script_trackers(runnable, tx.clone())
}

/// Executes every pending action of the engine (and runs the notifications of transitions);
/// returns its next deadline.
fn drain(engine: &mut Engine, links: &mut [Link], notifier: &Notifier) -> Option<Instant> {
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
                    Action::StateChanged { to, .. } => {
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
