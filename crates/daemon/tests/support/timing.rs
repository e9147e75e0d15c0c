//! Timing for the tests: waiting for a condition measured from a given instant (the freeze),
//! for one host to hold a VIP alone and keep it, and the parseable measurement lines.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use lab::Host;

use super::net::holders;

/// Polls `cond` every `poll` until it holds or `timeout` (counted from `t0`) has passed;
/// returns the time from `t0` to the first poll where it held.
pub fn wait_from(
    t0: Instant,
    timeout: Duration,
    poll: Duration,
    mut cond: impl FnMut() -> bool,
) -> Option<Duration> {
    loop {
        if cond() {
            return Some(t0.elapsed());
        }
        if t0.elapsed() >= timeout {
            return None;
        }
        std::thread::sleep(poll);
    }
}

/// Waits until exactly `holder` (index into `hosts`) holds `vip` and has kept holding it,
/// alone, for `stable`. Returns when that state began (from the call), or `None` if it was not
/// reached within `timeout`.
pub fn wait_sole_holder(
    hosts: &[Host],
    holder: usize,
    vip: IpAddr,
    timeout: Duration,
    stable: Duration,
) -> Option<Duration> {
    let start = Instant::now();
    let mut since: Option<Instant> = None;
    loop {
        if holders(hosts, vip) == [holder] {
            let s = *since.get_or_insert_with(Instant::now);
            if s.elapsed() >= stable {
                return Some(s - start);
            }
        } else {
            since = None;
        }
        if start.elapsed() >= timeout {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Prints one parseable measurement line:
/// `interop: case=v2-ipv4 roles=ours-master event=freeze takeover_ms=3602 bound_ms=3709`.
pub fn report(case: &str, roles: &str, event: &str, took: Duration, bound: Duration) {
    eprintln!(
        "interop: case={case} roles={roles} event={event} takeover_ms={} bound_ms={}",
        took.as_millis(),
        bound.as_millis()
    );
}
