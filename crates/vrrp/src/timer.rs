//! The instance's timers (RFC 9568 §6.2 plus keepalived's gratuitous ARP schedule) as a table of
//! deadlines; the next wake-up is their minimum.

use crate::time::Instant;

/// One timer of an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    /// Master_Down_Timer: armed only in Backup.
    MasterDown,
    /// Adver_Timer: armed only in Master.
    Adver,
    /// The second gratuitous burst, `garp_master_delay` after becoming master.
    GarpDelay,
    /// The periodic gratuitous burst, every `garp_master_refresh`.
    GarpRefresh,
}

impl Timer {
    /// All timers, in the order due ones are handled.
    pub const VALUES: [Timer; 4] = [
        Timer::MasterDown,
        Timer::Adver,
        Timer::GarpDelay,
        Timer::GarpRefresh,
    ];

    const fn index(self) -> usize {
        match self {
            Timer::MasterDown => 0,
            Timer::Adver => 1,
            Timer::GarpDelay => 2,
            Timer::GarpRefresh => 3,
        }
    }
}

/// Deadlines of every [`Timer`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimerTable {
    deadlines: [Option<Instant>; 4],
}

impl TimerTable {
    /// Arms `timer` for `at`.
    pub fn set(&mut self, timer: Timer, at: Instant) {
        self.deadlines[timer.index()] = Some(at);
    }

    /// Disarms `timer`.
    pub fn stop(&mut self, timer: Timer) {
        self.deadlines[timer.index()] = None;
    }

    /// Disarms all timers.
    pub fn stop_all(&mut self) {
        self.deadlines = [None; 4];
    }

    /// The deadline of `timer`.
    #[must_use]
    pub fn get(&self, timer: Timer) -> Option<Instant> {
        self.deadlines[timer.index()]
    }

    /// Disarms and returns `timer` if it is due at `now`.
    pub fn expire(&mut self, timer: Timer, now: Instant) -> bool {
        let slot = &mut self.deadlines[timer.index()];
        if slot.is_some_and(|t| t <= now) {
            *slot = None;
            true
        } else {
            false
        }
    }

    /// The earliest deadline.
    #[must_use]
    pub fn next_timeout(&self) -> Option<Instant> {
        self.deadlines.iter().flatten().min().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_min_and_expire() {
        let mut t = TimerTable::default();
        assert_eq!(t.next_timeout(), None);
        t.set(Timer::Adver, Instant::from_millis(20));
        t.set(Timer::GarpDelay, Instant::from_millis(10));
        assert_eq!(t.next_timeout(), Some(Instant::from_millis(10)));
        assert!(!t.expire(Timer::Adver, Instant::from_millis(19)));
        assert!(t.expire(Timer::Adver, Instant::from_millis(20)));
        assert_eq!(t.get(Timer::Adver), None);
        t.stop_all();
        assert_eq!(t.next_timeout(), None);
    }
}
