//! Small helpers for lab tests: polling for a condition and deciding
//! whether the test can run at all (root, `ip` present).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Calls `cond` every `poll` until it returns `true` or `timeout` has
/// passed. Returns how long it took for `cond` to hold, or `None` if it
/// never did. `cond` is always tried at least once, and once more at the
/// deadline.
pub fn wait_until(
    timeout: Duration,
    poll: Duration,
    mut cond: impl FnMut() -> bool,
) -> Option<Duration> {
    let start = Instant::now();
    loop {
        if cond() {
            return Some(start.elapsed());
        }
        let elapsed = start.elapsed();
        if elapsed >= timeout {
            return None;
        }
        std::thread::sleep(poll.min(timeout - elapsed));
    }
}

/// Whether the effective uid is 0, from the `Uid:` line of
/// `/proc/self/status` (no `unsafe` `geteuid` call needed).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().nth(1).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

/// Returns `true`, after printing `skipping TEST: ...` on stderr, when the
/// lab cannot work here: not root, or iproute2's `ip` not runnable.
/// Use as `if lab::skip_unless_root() { return; }` or [`crate::require_root!`].
pub fn skip_unless_root() -> bool {
    let reason = if !is_root() {
        "needs root (network namespaces)"
    } else if !Command::new("ip")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
    {
        "needs iproute2 (`ip`)"
    } else {
        return false;
    };
    let current = std::thread::current();
    eprintln!("skipping {}: {reason}", current.name().unwrap_or("test"));
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_until_reports_time_or_none() {
        let start = Instant::now();
        let t = wait_until(Duration::from_secs(1), Duration::from_millis(5), || {
            start.elapsed() >= Duration::from_millis(30)
        });
        assert!(t.is_some_and(|d| d >= Duration::from_millis(30)));
        assert_eq!(
            wait_until(Duration::from_millis(20), Duration::from_millis(5), || {
                false
            }),
            None
        );
        assert!(wait_until(Duration::ZERO, Duration::from_millis(5), || true).is_some());
    }

    #[test]
    fn is_root_reads_status() {
        // Just exercise the parser; the answer depends on who runs the test.
        let _ = is_root();
    }
}
