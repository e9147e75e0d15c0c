//! Tracked objects (interfaces, `vrrp_script`s, `track_file`s, `vrrp_track_process`es) as the
//! engine sees them: an identifier and the latest status reported by the daemon's trackers.
//!
//! The daemon owns the I/O (running scripts, watching files, reading link events); it reports
//! each change as a [`TrackerUpdate`]. How a status moves an instance's priority or puts it in
//! FAULT is decided here, without I/O.

/// Identifies one tracked object (assigned by whoever builds the engine, dense from 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TrackerId(pub usize);

/// The latest status of a tracked object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrackerValue {
    /// Interface up and running; script succeeding (after `rise`); process quorum met.
    Up,
    /// Interface down; script failing (after `fall`, or `init_fail`); process quorum not met.
    Down,
    /// A `track_file`'s value (the integer the file holds; unreadable or garbage reads as 0).
    Value(i64),
}

/// A status change reported by a tracker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrackerUpdate {
    /// Which object.
    pub id: TrackerId,
    /// Its new status.
    pub value: TrackerValue,
}
