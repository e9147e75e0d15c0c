//! Tracked objects (interfaces, `vrrp_script`s, `track_file`s, `vrrp_track_process`es) as the
//! engine sees them: an identifier and the latest status reported by the daemon's trackers.
//!
//! The daemon owns the I/O (running scripts, watching files, reading link events); it reports
//! each change as a [`TrackerUpdate`]. How a status moves an instance's priority or puts it in
//! FAULT is decided here, without I/O ([`Tracked::effect`], [`effective_priority`]), following
//! keepalived.conf(5):
//!
//! * `track_interface`, `track_script`, `track_process` (weight `w`, `reverse`):
//!   with `w == 0` the object being down puts the instance in FAULT (`reverse`: being up does).
//!   With `w > 0`, `w` is added while the object is up; with `w < 0`, `w` is added while it is
//!   down; `reverse` negates the adjustment (keepalived's table: +w/no reverse: up adds w;
//!   -w/no reverse: down subtracts |w|; +w/reverse: up subtracts w; -w/reverse: down adds |w|).
//! * `track_file` (weight `w`, `reverse`): with `w == 0`, a non-zero value is a FAULT; otherwise
//!   `value * w` (negated by `reverse`) is added, and a result below -253 is a FAULT.
//! * The effective priority is the configured one plus every adjustment, limited to 1..=254;
//!   the address owner (255) never changes (weight-0 trackers still put it in FAULT).
//!
//! Objects without a status yet: an interface counts as up and a file as 0 (keepalived knows
//! both at start-up, and the daemon reports them before starting the engine). A script or
//! process is *pending*: with weight 0 it holds its instances (and their whole sync group) in
//! INIT until its first result, as keepalived does for scripts without `init_fail` (with
//! `init_fail` the daemon reports `Down` at once); with a weight it adjusts nothing until then.
//! A [`TrackerValue::Value`] given to a non-file object counts as up when positive; `Up` given
//! to a file counts as 0 and `Down` as a FAULT (unreadable file).

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

/// What kind of object a [`Tracked`] entry watches (the rules differ for files).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TrackKind {
    /// `track_interface`.
    Interface,
    /// `track_script` (a `vrrp_script`).
    Script,
    /// `track_file`.
    File,
    /// `track_process` (a `vrrp_track_process`, up when its quorum is met).
    Process,
    /// `track_bfd` (a `bfd_instance`, up while its session is Up).
    Bfd,
}

/// One `track_*` entry of an instance or sync group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tracked {
    /// The object.
    pub id: TrackerId,
    /// Its kind.
    pub kind: TrackKind,
    /// The weight (0: FAULT on failure).
    pub weight: i32,
    /// `reverse`.
    pub reverse: bool,
}

/// What one tracked object does to an instance now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Nothing.
    None,
    /// Adds this to the priority.
    Adjust(i64),
    /// Puts the instance in FAULT.
    Fault,
    /// Holds the instance in INIT until the object's first status (weight-0 scripts and
    /// processes).
    Pending,
}

/// A `track_file` result below this is a FAULT.
pub const FILE_FAULT_BELOW: i64 = -253;

impl Tracked {
    /// A tracked object with weight 0 and no `reverse`.
    #[must_use]
    pub fn new(id: TrackerId, kind: TrackKind) -> Self {
        Tracked {
            id,
            kind,
            weight: 0,
            reverse: false,
        }
    }

    /// The same entry with `weight`.
    #[must_use]
    pub fn weight(mut self, weight: i32) -> Self {
        self.weight = weight;
        self
    }

    /// The same entry with `reverse`.
    #[must_use]
    pub fn reverse(mut self, reverse: bool) -> Self {
        self.reverse = reverse;
        self
    }

    /// The effect of the object's status (`None`: not reported yet).
    #[must_use]
    pub fn effect(&self, value: Option<TrackerValue>) -> Effect {
        let weight = i64::from(self.weight);
        let sign = if self.reverse { -1 } else { 1 };
        if self.kind == TrackKind::File {
            let v = match value {
                None | Some(TrackerValue::Up) => 0,
                Some(TrackerValue::Down) => return Effect::Fault,
                Some(TrackerValue::Value(v)) => v,
            };
            if weight == 0 {
                return if v == 0 { Effect::None } else { Effect::Fault };
            }
            let result = v.saturating_mul(weight).saturating_mul(sign);
            return if result < FILE_FAULT_BELOW {
                Effect::Fault
            } else if result == 0 {
                Effect::None
            } else {
                Effect::Adjust(result)
            };
        }
        let up = match value {
            None if self.kind == TrackKind::Interface => true,
            None => {
                return if weight == 0 {
                    Effect::Pending
                } else {
                    Effect::None
                };
            }
            Some(TrackerValue::Up) => true,
            Some(TrackerValue::Down) => false,
            Some(TrackerValue::Value(v)) => v > 0,
        };
        match weight.cmp(&0) {
            core::cmp::Ordering::Equal if up == self.reverse => Effect::Fault,
            core::cmp::Ordering::Equal => Effect::None,
            core::cmp::Ordering::Greater if up => Effect::Adjust(weight * sign),
            core::cmp::Ordering::Less if !up => Effect::Adjust(weight * sign),
            _ => Effect::None,
        }
    }
}

/// The sum of several effects: the priority adjustment, and whether any is a FAULT or pending.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// The sum of the adjustments.
    pub adjust: i64,
    /// Some object puts the instance in FAULT.
    pub fault: bool,
    /// Some weight-0 object has no status yet.
    pub pending: bool,
}

impl Summary {
    /// Adds one effect.
    pub fn add(&mut self, effect: Effect) {
        match effect {
            Effect::None => {}
            Effect::Adjust(a) => self.adjust = self.adjust.saturating_add(a),
            Effect::Fault => self.fault = true,
            Effect::Pending => self.pending = true,
        }
    }
}

/// keepalived's effective priority: `configured + adjust` limited to 1..=254; the address owner
/// (255) is never changed.
#[must_use]
pub fn effective_priority(configured: u8, adjust: i64) -> u8 {
    if configured == crate::PRIORITY_OWNER {
        return configured;
    }
    let p = i64::from(configured).saturating_add(adjust).clamp(1, 254);
    u8::try_from(p).unwrap_or(254)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(kind: TrackKind, weight: i32, reverse: bool) -> Tracked {
        Tracked::new(TrackerId(0), kind)
            .weight(weight)
            .reverse(reverse)
    }

    const UP: Option<TrackerValue> = Some(TrackerValue::Up);
    const DOWN: Option<TrackerValue> = Some(TrackerValue::Down);

    #[test]
    fn weight_zero_faults_on_failure_and_reverse_flips() {
        for kind in [TrackKind::Interface, TrackKind::Script, TrackKind::Process] {
            assert_eq!(t(kind, 0, false).effect(UP), Effect::None);
            assert_eq!(t(kind, 0, false).effect(DOWN), Effect::Fault);
            assert_eq!(t(kind, 0, true).effect(UP), Effect::Fault);
            assert_eq!(t(kind, 0, true).effect(DOWN), Effect::None);
        }
    }

    #[test]
    fn weights_follow_keepalived_table() {
        let s = TrackKind::Script;
        assert_eq!(t(s, 10, false).effect(UP), Effect::Adjust(10));
        assert_eq!(t(s, 10, false).effect(DOWN), Effect::None);
        assert_eq!(t(s, -10, false).effect(UP), Effect::None);
        assert_eq!(t(s, -10, false).effect(DOWN), Effect::Adjust(-10));
        assert_eq!(t(s, 10, true).effect(UP), Effect::Adjust(-10));
        assert_eq!(t(s, 10, true).effect(DOWN), Effect::None);
        assert_eq!(t(s, -10, true).effect(UP), Effect::None);
        assert_eq!(t(s, -10, true).effect(DOWN), Effect::Adjust(10));
    }

    #[test]
    fn unreported_objects() {
        assert_eq!(t(TrackKind::Interface, 0, false).effect(None), Effect::None);
        assert_eq!(t(TrackKind::Script, 0, false).effect(None), Effect::Pending);
        assert_eq!(t(TrackKind::Process, 0, true).effect(None), Effect::Pending);
        assert_eq!(t(TrackKind::Script, -5, false).effect(None), Effect::None);
        assert_eq!(t(TrackKind::File, 0, false).effect(None), Effect::None);
    }

    #[test]
    fn files_multiply_and_fault_below_minus_253() {
        let f = TrackKind::File;
        let v = |n| Some(TrackerValue::Value(n));
        assert_eq!(t(f, 0, false).effect(v(0)), Effect::None);
        assert_eq!(t(f, 0, false).effect(v(3)), Effect::Fault);
        assert_eq!(t(f, 0, false).effect(v(-1)), Effect::Fault);
        assert_eq!(t(f, 5, false).effect(v(3)), Effect::Adjust(15));
        assert_eq!(t(f, 5, true).effect(v(3)), Effect::Adjust(-15));
        assert_eq!(t(f, -2, false).effect(v(3)), Effect::Adjust(-6));
        assert_eq!(t(f, 1, false).effect(v(-253)), Effect::Adjust(-253));
        assert_eq!(t(f, 1, false).effect(v(-254)), Effect::Fault);
        assert_eq!(t(f, 254, false).effect(v(-1)), Effect::Fault);
        assert_eq!(t(f, 1, false).effect(v(i64::MIN)), Effect::Fault);
        assert_eq!(t(f, 1, false).effect(DOWN), Effect::Fault);
    }

    #[test]
    fn priority_is_clamped_and_owner_fixed() {
        assert_eq!(effective_priority(100, -30), 70);
        assert_eq!(effective_priority(100, -500), 1);
        assert_eq!(effective_priority(100, 500), 254);
        assert_eq!(effective_priority(254, 0), 254);
        assert_eq!(effective_priority(255, -100), 255);
        assert_eq!(effective_priority(100, i64::MIN), 1);
    }
}
