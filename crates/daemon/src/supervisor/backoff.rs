//! The respawn schedule of an engine process that died, as keepalived paces it.
//!
//! A process that ran for a minute or more is restarted at once and its back-off is forgotten.
//! One that died sooner waits the delay it was owed, and the next one owed grows: nothing
//! owed (immediately), then 1 s, doubled after each quick death, and a minute once it would
//! pass 30 s. So a process that keeps crashing right after its start is restarted after 0, 1,
//! 2, 4, 8, 16, 32, 60, 60 ... seconds.

use std::time::Duration;

/// A run at least this long counts as healthy: the next restart is immediate.
pub const LONG_RUN: Duration = Duration::from_secs(60);

/// The longest delay between restarts.
pub const MAX_DELAY: Duration = Duration::from_secs(60);

/// The delay before restarting a process that ran for `ran`, when `owed` is the delay its
/// earlier quick deaths left for this one; returns that delay and the one owed to the next
/// death.
#[must_use]
pub fn restart_delay(ran: Duration, owed: Duration) -> (Duration, Duration) {
    if ran >= LONG_RUN {
        return (Duration::ZERO, Duration::ZERO);
    }
    let next = if owed.is_zero() {
        Duration::from_secs(1)
    } else if owed > MAX_DELAY / 2 {
        MAX_DELAY
    } else {
        owed * 2
    };
    (owed, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn a_crash_loop_backs_off_to_a_minute() {
        let mut owed = Duration::ZERO;
        let mut delays = Vec::new();
        for _ in 0..10 {
            let (delay, next) = restart_delay(Duration::from_millis(200), owed);
            delays.push(delay.as_secs());
            owed = next;
        }
        assert_eq!(delays, [0, 1, 2, 4, 8, 16, 32, 60, 60, 60]);
    }

    #[test]
    fn a_long_run_restarts_at_once_and_forgets_the_back_off() {
        assert_eq!(restart_delay(secs(60), secs(32)), (secs(0), secs(0)));
        assert_eq!(restart_delay(secs(3600), secs(60)), (secs(0), secs(0)));
        // Just short of a minute still pays what is owed.
        assert_eq!(
            restart_delay(secs(60) - Duration::from_millis(1), secs(8)),
            (secs(8), secs(16))
        );
        // After the reset, a quick death is again restarted at once, then after 1 s.
        let (_, owed) = restart_delay(secs(600), secs(60));
        assert_eq!(restart_delay(secs(1), owed), (secs(0), secs(1)));
    }

    #[test]
    fn the_delay_never_exceeds_a_minute() {
        let mut owed = Duration::ZERO;
        for _ in 0..100 {
            let (delay, next) = restart_delay(Duration::ZERO, owed);
            assert!(
                delay <= MAX_DELAY && next <= MAX_DELAY,
                "{delay:?} {next:?}"
            );
            assert!(next >= delay);
            owed = next;
        }
    }
}
