//! BFD_CHECK: each check follows its `bfd_instance`'s session as the BFD engine publishes it
//! ([`crate::services::bfd_events`]). A session counts as down until the BFD engine says Up,
//! so a real server checked by BFD starts down ([`initial`]) and comes up with its session;
//! every session falls back to down while the BFD engine is unreachable.

use std::collections::BTreeSet;

use keepalived_checker::logic::{CheckId, CheckerEngine, Instant, Outcome};
use keepalived_config::Config;
use keepalived_config::model::lvs::CheckerKind;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::services::bfd_events;

/// The sessions' events, for the driver's loop.
#[derive(Debug)]
pub struct BfdChecks {
    names: BTreeSet<String>,
    task: Option<JoinHandle<()>>,
    tx: mpsc::UnboundedSender<(String, bool)>,
    /// Each session's change: its name and whether it is Up.
    pub rx: mpsc::UnboundedReceiver<(String, bool)>,
}

impl BfdChecks {
    /// Follows the sessions the BFD_CHECKs of `config` name (inside a tokio runtime).
    pub fn new(config: &Config) -> BfdChecks {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut me = BfdChecks {
            names: BTreeSet::new(),
            task: None,
            tx,
            rx,
        };
        me.follow(config);
        me
    }

    /// Follows the sessions of a reloaded configuration (the same ones keep their state).
    pub fn follow(&mut self, config: &Config) {
        let names: BTreeSet<String> = config
            .lvs
            .virtual_servers
            .iter()
            .flat_map(|vs| &vs.real_servers)
            .flat_map(|rs| &rs.checkers)
            .filter_map(|c| match &c.kind {
                CheckerKind::Bfd(b) => Some(b.name.clone()),
                _ => None,
            })
            .filter(|n| {
                config
                    .global
                    .bfd_instance(n)
                    .is_some_and(|b| b.notify_checker)
            })
            .collect();
        if names == self.names && self.task.is_some() {
            return;
        }
        if let Some(t) = self.task.take() {
            t.abort();
        }
        self.names.clone_from(&names);
        if names.is_empty() {
            return;
        }
        let tx = self.tx.clone();
        self.task = Some(bfd_events::subscribe(names, move |name, up| {
            let _ = tx.send((name.to_owned(), up));
        }));
    }
}

impl Drop for BfdChecks {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

/// The BFD_CHECKs of the engine's plan following session `name`.
fn checks_of<'a>(engine: &'a CheckerEngine, name: &'a str) -> impl Iterator<Item = CheckId> + 'a {
    engine
        .plan()
        .checks
        .iter()
        .enumerate()
        .filter(move |(_, s)| matches!(&s.kind, CheckerKind::Bfd(b) if b.name == name))
        .map(|(i, _)| CheckId(i))
}

/// Reports every BFD_CHECK failed: call before `handle_start`, so real servers checked by BFD
/// start down until their session is Up.
pub fn initial(engine: &mut CheckerEngine, now: Instant) {
    let all: Vec<CheckId> = engine
        .plan()
        .checks
        .iter()
        .enumerate()
        .filter(|(_, s)| matches!(s.kind, CheckerKind::Bfd(_)))
        .map(|(i, _)| CheckId(i))
        .collect();
    for id in all {
        engine.handle_outcome(now, id, down());
    }
}

/// Applies one session's change to the checks following it.
pub fn apply(engine: &mut CheckerEngine, now: Instant, name: &str, up: bool) {
    let ids: Vec<CheckId> = checks_of(engine, name).collect();
    for id in ids {
        let outcome = if up { Outcome::Success } else { down() };
        engine.handle_outcome(now, id, outcome);
    }
}

fn down() -> Outcome {
    Outcome::Failure {
        reason: "BFD session not Up".to_owned(),
    }
}
