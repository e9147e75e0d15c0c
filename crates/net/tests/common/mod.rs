//! Shared helpers for the lab tests: running code inside a lab host's
//! network namespace.

use lab::Host;
use nix::sched::{CloneFlags, setns};

/// Runs `f` on a fresh thread that has joined `host`'s network namespace,
/// and returns its result (re-raising its panic). Sockets opened by `f`
/// stay in that namespace and can be used from any thread afterwards; the
/// calling thread's own namespace is never changed.
pub fn in_netns<T, F>(host: &Host, f: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let path = format!("/run/netns/{}", host.netns());
    std::thread::spawn(move || {
        let ns = std::fs::File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
        setns(&ns, CloneFlags::CLONE_NEWNET).unwrap_or_else(|e| panic!("setns {path}: {e}"));
        f()
    })
    .join()
    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}
