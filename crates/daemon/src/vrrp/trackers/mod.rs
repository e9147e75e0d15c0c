//! The running trackers of the VRRP engine (link states, `track_file`s, `vrrp_track_process`es,
//! `vrrp_script`s, `track_bfd`s): started from the [`TrackPlan`] at start-up and re-planned on reload, where
//! whatever is unchanged keeps running (and, with the ids kept by [`crate::plan::track_ids`],
//! keeps its status in the engine). Each kind has its module; [`log`] says what they report.

pub mod bfd;
pub mod link;
pub mod log;
pub mod process;
pub mod script;

use std::collections::{BTreeMap, HashMap};

use keepalived_config::model::vrrp::{TrackFile, TrackProcess};
use keepalived_vrrp::{Engine, Instant, TrackerId, TrackerUpdate, TrackerValue};
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;
use tracing::{debug, warn};

use crate::plan::tracks::TrackPlan;
use crate::services::script::ScriptEnv;
use crate::services::track_file;
use script::{ScriptTrackerConfig, ScriptTrackers, spawn_script_trackers};

/// One task watching a set of objects, and the set.
#[derive(Debug)]
struct Watch<T> {
    set: Vec<(TrackerId, T)>,
    task: Option<JoinHandle<()>>,
}

impl<T> Default for Watch<T> {
    fn default() -> Self {
        Watch {
            set: Vec::new(),
            task: None,
        }
    }
}

impl<T> Watch<T> {
    fn stop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

/// Every tracker task; each reports on the channel it was given.
#[derive(Debug)]
pub struct Trackers {
    tx: UnboundedSender<TrackerUpdate>,
    links: Watch<String>,
    files: Watch<TrackFile>,
    processes: Watch<TrackProcess>,
    bfds: Watch<String>,
    scripts: BTreeMap<TrackerId, (keepalived_config::model::vrrp::VrrpScript, ScriptTrackers)>,
}

impl Trackers {
    /// No trackers yet; they will report on `tx`.
    pub fn new(tx: UnboundedSender<TrackerUpdate>) -> Trackers {
        Trackers {
            tx,
            links: Watch::default(),
            files: Watch::default(),
            processes: Watch::default(),
            bfds: Watch::default(),
            scripts: BTreeMap::new(),
        }
    }

    /// Every tracked `vrrp_script` by name, and whether a run of it is going on now.
    pub fn script_states(&self) -> Vec<(String, bool)> {
        self.scripts
            .values()
            .map(|(script, trackers)| (script.name.clone(), trackers.running()))
            .collect()
    }

    /// Runs what `plan` tracks: a set of links, files or processes that changed has its task
    /// restarted (it reports its objects' first values again before returning, which the
    /// engine ignores where they did not change); scripts are started and stopped one by one.
    /// A new script with `init_fail`, or one that cannot run, is reported failed to `engine`
    /// at once. Call inside a tokio runtime.
    pub fn apply(&mut self, engine: &mut Engine, now: Instant, plan: &TrackPlan, env: &ScriptEnv) {
        if self.links.set != plan.interfaces {
            self.links.stop();
            self.links.set.clone_from(&plan.interfaces);
            if !plan.interfaces.is_empty() {
                let mut ids: HashMap<String, Vec<TrackerId>> = HashMap::new();
                for (id, name) in &plan.interfaces {
                    ids.entry(name.clone()).or_default().push(*id);
                }
                match link::spawn(ids, self.tx.clone()) {
                    Ok(task) => self.links.task = Some(task),
                    Err(e) => warn!("cannot watch link states: {e}"),
                }
            }
        }
        if self.files.set != plan.files {
            self.files.stop();
            self.files.set.clone_from(&plan.files);
            if !plan.files.is_empty() {
                self.files.task = Some(track_file::spawn(plan.files.clone(), self.tx.clone()));
            }
        }
        if self.processes.set != plan.processes {
            self.processes.stop();
            self.processes.set.clone_from(&plan.processes);
            if !plan.processes.is_empty() {
                self.processes.task = Some(process::spawn(plan.processes.clone(), self.tx.clone()));
            }
        }
        if self.bfds.set != plan.bfds {
            self.bfds.stop();
            // A session newly tracked counts as down until the BFD engine says Up; one tracked
            // before keeps its status (the new task hears the same states again).
            for (id, _) in plan.bfds.iter().filter(|b| !self.bfds.set.contains(b)) {
                engine.handle_tracker(now, down(*id));
            }
            self.bfds.set.clone_from(&plan.bfds);
            if !plan.bfds.is_empty() {
                let trackers_of = trackers_of(plan);
                self.bfds.task = Some(bfd::spawn(&plan.bfds, trackers_of, self.tx.clone()));
            }
        }
        let gone: Vec<TrackerId> = self
            .scripts
            .iter()
            .filter(|(id, (script, _))| !plan.scripts.iter().any(|(i, s)| i == *id && s == script))
            .map(|(id, _)| *id)
            .collect();
        for id in gone {
            if let Some((script, runner)) = self.scripts.remove(&id) {
                debug!("VRRP_Script({}) no longer tracked; stopped", script.name);
                runner.stop();
            }
        }
        for (id, script) in &plan.scripts {
            if self.scripts.contains_key(id) {
                continue;
            }
            let runner = match ScriptTrackerConfig::from_model(script, env) {
                Ok(cfg) => {
                    if cfg.initial_value() == Some(TrackerValue::Down) {
                        engine.handle_tracker(now, down(*id));
                    }
                    spawn_script_trackers(vec![(*id, cfg)], self.tx.clone())
                }
                Err(e) => {
                    warn!("VRRP_Script({}) cannot run: {e}", script.name);
                    engine.handle_tracker(now, down(*id));
                    ScriptTrackers::default()
                }
            };
            self.scripts.insert(*id, (script.clone(), runner));
        }
    }

    /// Stops every tracker (running scripts are killed).
    pub fn stop(&mut self) {
        self.links.stop();
        self.files.stop();
        self.processes.stop();
        self.bfds.stop();
        for (_, (_, runner)) in std::mem::take(&mut self.scripts) {
            runner.stop();
        }
    }
}

impl Drop for Trackers {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The instances tracking each `bfd_instance` (directly, or through their sync group), by name.
fn trackers_of(plan: &TrackPlan) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (id, name) in &plan.bfds {
        let mut insts: Vec<String> = plan
            .instances
            .iter()
            .filter(|(_, tracks)| tracks.iter().any(|t| t.id == *id))
            .map(|(inst, _)| inst.clone())
            .collect();
        for g in plan
            .groups
            .iter()
            .filter(|g| g.tracks.iter().any(|t| t.id == *id))
        {
            insts.extend(g.members.iter().cloned());
        }
        insts.sort();
        insts.dedup();
        out.insert(name.clone(), insts);
    }
    out
}

fn down(id: TrackerId) -> TrackerUpdate {
    TrackerUpdate {
        id,
        value: TrackerValue::Down,
    }
}
