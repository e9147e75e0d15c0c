//! keepalived's log lines about tracked objects that the engine's actions do not carry: why an
//! instance starts in FAULT (`(VI_1): entering FAULT state (interface eth1 down)`), its
//! effective priority at start, and a tracked file putting an instance in FAULT or letting it
//! out (`(VI_1): tracked file tf now FAULT state`). The texts are keepalived 2.2.7's, so log
//! scraping written for keepalived keeps working.

use keepalived_vrrp::track::Effect;
use keepalived_vrrp::{Engine, InstanceRef, TrackKind, TrackerId, TrackerUpdate};
use tracing::info;

use crate::plan::tracks::TrackPlan;

/// The configured name of tracked object `id`.
fn name_of(tracks: &TrackPlan, id: TrackerId) -> &str {
    tracks
        .interfaces
        .iter()
        .find(|(i, _)| *i == id)
        .map(|(_, n)| n.as_str())
        .or_else(|| {
            tracks
                .scripts
                .iter()
                .find(|(i, _)| *i == id)
                .map(|(_, s)| s.name.as_str())
        })
        .or_else(|| {
            tracks
                .files
                .iter()
                .find(|(i, _)| *i == id)
                .map(|(_, f)| f.name.as_str())
        })
        .or_else(|| {
            tracks
                .processes
                .iter()
                .find(|(i, _)| *i == id)
                .map(|(_, p)| p.name.as_str())
        })
        .unwrap_or("?")
}

/// The status keepalived prints for a tracked file: -254 for a weight-0 file in FAULT, else
/// value × weight (negated by `reverse`), limited to -254..=253.
fn file_status(engine: &Engine, t: &keepalived_vrrp::Tracked) -> i64 {
    if t.weight == 0 {
        return -254;
    }
    let value = match engine.tracker_value(t.id) {
        Some(keepalived_vrrp::TrackerValue::Value(v)) => v,
        _ => 0,
    };
    let sign = if t.reverse { -1 } else { 1 };
    value
        .saturating_mul(i64::from(t.weight))
        .saturating_mul(sign)
        .clamp(-254, 253)
}

/// Logs, before the instances start, what keepalived logs while it initialises tracking: for
/// each instance (`name` and configured priority) put in FAULT by a tracked object, why; and
/// an effective priority that tracking moved.
pub fn at_start<'a>(
    engine: &Engine,
    tracks: &TrackPlan,
    instances: impl IntoIterator<Item = (InstanceRef, &'a str, u8)>,
) {
    for (r, inst, configured) in instances {
        for t in engine.effective_tracks(r) {
            if t.effect(engine.tracker_value(t.id)) != Effect::Fault {
                continue;
            }
            let name = name_of(tracks, t.id);
            match t.kind {
                TrackKind::Interface => {
                    info!("({inst}): entering FAULT state (interface {name} down)");
                }
                TrackKind::Script => info!("({inst}): entering FAULT state due to script {name}"),
                TrackKind::File => info!(
                    "({inst}): entering FAULT state (tracked file {name} has status {})",
                    file_status(engine, &t)
                ),
                TrackKind::Process => info!(
                    "({inst}) entering FAULT state (tracked process {name} quorum not achieved)"
                ),
                // keepalived says nothing at start for a BFD session not yet Up.
                TrackKind::Bfd => {}
            }
        }
        if let Some(p) = engine.instance(r).map(keepalived_vrrp::Instance::priority)
            && p != configured
        {
            info!("({inst}) Changing effective priority from {configured} to {p}");
        }
    }
}

/// The file lines keepalived logs when `update` is applied: call before handing it to the
/// engine. For each instance (and its name) tracking the file, whether the file puts it in
/// FAULT or lets it out.
pub fn file_update<'a>(
    engine: &Engine,
    tracks: &TrackPlan,
    update: TrackerUpdate,
    instances: impl IntoIterator<Item = (InstanceRef, &'a str)>,
) {
    if !tracks.files.iter().any(|(id, _)| *id == update.id) {
        return;
    }
    let name = name_of(tracks, update.id);
    for (r, inst) in instances {
        for t in engine
            .effective_tracks(r)
            .into_iter()
            .filter(|t| t.id == update.id && t.kind == TrackKind::File)
        {
            let was = t.effect(engine.tracker_value(t.id)) == Effect::Fault;
            let now = t.effect(Some(update.value)) == Effect::Fault;
            if now && !was {
                info!("({inst}): tracked file {name} now FAULT state");
            } else if was && !now {
                info!("({inst}): tracked file {name} leaving FAULT state");
            }
        }
    }
}
