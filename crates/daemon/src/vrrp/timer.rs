//! A microsecond-precise one-shot timer for the engine's deadlines. tokio's timer wheel has a
//! resolution of one millisecond and rounds sleeps up, which would make every advert and every
//! Master_Down_Interval up to a millisecond late; a `timerfd` fires when asked.

use std::io;
use std::os::fd::{AsFd as _, AsRawFd, RawFd};
use std::time::Duration;

use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
use tokio::io::unix::AsyncFd;

/// The timerfd, seen as a raw fd for [`AsyncFd`].
struct Fd(TimerFd);

impl AsRawFd for Fd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

/// A one-shot CLOCK_MONOTONIC timer that a tokio task can await.
pub struct PreciseTimer {
    fd: AsyncFd<Fd>,
    armed: bool,
}

impl PreciseTimer {
    /// A disarmed timer. Must be called inside a tokio runtime.
    pub fn new() -> io::Result<Self> {
        let timer = TimerFd::new(
            ClockId::CLOCK_MONOTONIC,
            TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
        )?;
        // `AsyncFd::new` is deprecated because a caller could close the fd while it is
        // registered; the `TimerFd` owns its fd and lives exactly as long as the `AsyncFd`.
        #[allow(deprecated)]
        let fd = AsyncFd::new(Fd(timer))?;
        Ok(Self { fd, armed: false })
    }

    /// Fires `after` from now (at least one nanosecond: a zero timespec would disarm), or never.
    pub fn arm(&mut self, after: Option<Duration>) -> io::Result<()> {
        let timer = &self.fd.get_ref().0;
        match after {
            Some(after) => {
                let after = after.max(Duration::from_nanos(1));
                timer.set(
                    Expiration::OneShot(TimeSpec::from_duration(after)),
                    TimerSetTimeFlags::empty(),
                )?;
                self.armed = true;
            }
            None => {
                timer.unset()?;
                self.armed = false;
            }
        }
        Ok(())
    }

    /// Waits until the timer fires; pending forever while disarmed.
    pub async fn fired(&mut self) {
        if !self.armed {
            return std::future::pending().await;
        }
        loop {
            let Ok(mut guard) = self.fd.readable().await else {
                return std::future::pending().await;
            };
            match guard.try_io(|fd| fd.get_ref().0.wait().map_err(io::Error::from)) {
                Ok(_) => {
                    self.armed = false;
                    return;
                }
                Err(_would_block) => continue,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn fires_within_a_fraction_of_a_millisecond() {
        let mut timer = PreciseTimer::new().expect("timerfd");
        let mut lateness = Vec::new();
        for _ in 0..21 {
            let start = std::time::Instant::now();
            timer.arm(Some(Duration::from_micros(2_300))).expect("arm");
            timer.fired().await;
            assert!(start.elapsed() >= Duration::from_micros(2_300));
            lateness.push(start.elapsed() - Duration::from_micros(2_300));
        }
        lateness.sort();
        // tokio's sleep would round 2.3 ms up to 3 ms or more (at least 700 us late every
        // time); a timerfd is late by microseconds. The median ignores the odd scheduling
        // delay of a loaded machine.
        let median = lateness[lateness.len() / 2];
        assert!(
            median < Duration::from_micros(600),
            "median lateness {median:?}"
        );
    }

    #[tokio::test]
    async fn disarmed_timer_never_fires() {
        let mut timer = PreciseTimer::new().expect("timerfd");
        timer.arm(Some(Duration::from_millis(1))).expect("arm");
        timer.arm(None).expect("disarm");
        let r = tokio::time::timeout(Duration::from_millis(20), timer.fired()).await;
        assert!(r.is_err());
    }
}
