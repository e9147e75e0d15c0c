//! `track_bfd`: the state of each tracked `bfd_instance`, as the BFD engine publishes it
//! ([`crate::services::bfd_events`]), reported to the engine as Up or Down. A session counts as
//! down until the BFD engine says Up (the caller reports every new one down first), and every
//! session falls back to down while the BFD engine is unreachable; the log lines are
//! keepalived's (`VRRP_Instance(VI_1) Tracked BFD instance b1 is DOWN`).

use std::collections::{BTreeMap, BTreeSet};

use keepalived_vrrp::{TrackerId, TrackerUpdate, TrackerValue};
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;
use tracing::info;

use crate::services::bfd_events;

/// Follows the sessions `bfds` (id and name), reporting on `tx`; `trackers_of(name)` are the
/// instances tracking one, for the log. Call inside a tokio runtime; abort the task to stop.
pub fn spawn(
    bfds: &[(TrackerId, String)],
    trackers_of: BTreeMap<String, Vec<String>>,
    tx: UnboundedSender<TrackerUpdate>,
) -> JoinHandle<()> {
    let ids: BTreeMap<String, TrackerId> = bfds.iter().map(|(id, n)| (n.clone(), *id)).collect();
    let names: BTreeSet<String> = ids.keys().cloned().collect();
    bfd_events::subscribe(names, move |name, up| {
        let Some(id) = ids.get(name) else {
            return;
        };
        for inst in trackers_of.get(name).into_iter().flatten() {
            info!(
                "VRRP_Instance({inst}) Tracked BFD instance {name} is {}",
                if up { "UP" } else { "DOWN" }
            );
        }
        let value = if up {
            TrackerValue::Up
        } else {
            TrackerValue::Down
        };
        let _ = tx.send(TrackerUpdate { id: *id, value });
    })
}
