//! SIGHUP in the BFD engine: the configuration is read by the shared reload task
//! ([`crate::services::loader::Reloader`]) and the driver applies the difference by instance
//! name ([`plan`]): an unchanged session is not touched, a changed one keeps its state and
//! renegotiates (a Poll Sequence) unless its neighbour, source or port kind changed, which
//! makes it a new session.

use keepalived_bfd::SessionConfig;

use crate::services::loader;

pub use crate::services::loader::ReloadSummary;

/// A checked configuration for the BFD driver; it answers with a [`ReloadSummary`].
pub type ReloadRequest = loader::ReloadRequest<ReloadSummary>;

/// One step of a reload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Stop the session of this name.
    Remove(String),
    /// Start this session.
    Add(SessionConfig),
    /// Give the running session of this name these settings.
    Reconfigure(SessionConfig),
}

/// The steps that take the sessions `old` to `new` (both by name), removals first so that a
/// session moving to another name frees its neighbour for the new one.
pub fn plan(old: &[SessionConfig], new: &[SessionConfig]) -> (Vec<Step>, ReloadSummary) {
    let mut steps = Vec::new();
    let mut summary = ReloadSummary::default();
    for o in old {
        match new.iter().find(|n| n.name == o.name) {
            None => {
                steps.push(Step::Remove(o.name.clone()));
                summary.removed.push(o.name.clone());
            }
            Some(n) if same_identity(o, n) => {}
            Some(_) => steps.push(Step::Remove(o.name.clone())),
        }
    }
    for n in new {
        match old.iter().find(|o| o.name == n.name) {
            None => {
                steps.push(Step::Add(n.clone()));
                summary.added.push(n.name.clone());
            }
            Some(o) if o == n => summary.unchanged += 1,
            Some(o) if same_identity(o, n) => {
                steps.push(Step::Reconfigure(n.clone()));
                summary.changed.push(n.name.clone());
            }
            Some(_) => {
                steps.push(Step::Add(n.clone()));
                summary.changed.push(n.name.clone());
            }
        }
    }
    (steps, summary)
}

/// Whether a session can take `new` in place (the engine's rule: same neighbour, source and
/// port kind).
fn same_identity(old: &SessionConfig, new: &SessionConfig) -> bool {
    (old.neighbor, old.source, old.multihop) == (new.neighbor, new.source, new.multihop)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(name: &str, nbr: &str) -> SessionConfig {
        SessionConfig::new(name, nbr.parse().expect("address"))
    }

    #[test]
    fn only_the_difference_is_applied() {
        let old = [
            s("a", "192.0.2.2"),
            s("b", "192.0.2.3"),
            s("c", "192.0.2.4"),
        ];
        let mut b2 = s("b", "192.0.2.3");
        b2.min_tx_us = 50_000;
        let c2 = s("c", "192.0.2.9");
        let new = [b2.clone(), c2.clone(), s("d", "192.0.2.5")];
        let (steps, summary) = plan(&old, &new);
        assert_eq!(
            steps,
            [
                Step::Remove("a".into()),
                Step::Remove("c".into()),
                Step::Reconfigure(b2),
                Step::Add(c2),
                Step::Add(s("d", "192.0.2.5")),
            ]
        );
        assert_eq!(summary.added, ["d"]);
        assert_eq!(summary.removed, ["a"]);
        assert_eq!(summary.changed, ["b", "c"]);
        let (steps, summary) = plan(&new, &new);
        assert!(steps.is_empty());
        assert_eq!(summary.unchanged, 3);
    }
}
