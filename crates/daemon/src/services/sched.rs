//! An engine process's settings from `global_defs`: `vrrp_priority` / `checker_priority`
//! (nice), `*_rt_priority` (SCHED_RR, with `*_rlimit_rttime` as RLIMIT_RTTIME so a runaway
//! real-time loop is stopped by the kernel), `*_no_swap` (mlockall) and `*_cpu_affinity`.
//!
//! Without `vrrp_rt_priority` the VRRP engine also asks for a short EEVDF slice (see
//! [`keepalived_net::sched`]): a wake-up for an advert or a takeover then preempts a CPU-bound
//! process (such as a busy checker) at once, with no priority over it. The checker engine asks
//! for no slice: its work is bulk. Failures are logged and the daemon runs on with the default
//! scheduling, as keepalived does.

use std::time::Duration;

use keepalived_config::model::global::ProcessSettings;
use keepalived_net::sched::{self, SchedRequest};
use nix::sys::mman::{MlockAllFlags, mlockall};
use nix::sys::resource::{Resource, setrlimit};
use tracing::{debug, warn};

#[cfg(feature = "vrrp")]
/// The slice the VRRP engine asks for when not real-time: the kernel's minimum (0.1 ms).
pub const VRRP_SLICE: Duration = Duration::from_micros(100);

/// Applies `settings` of the engine called `label` (`vrrp`, `checker`: the keywords' prefix) to
/// the calling thread, with `slice` when not real-time (call it before the runtime and the
/// engine's threads start, so they inherit it).
pub fn apply(label: &str, settings: &ProcessSettings, slice: Option<Duration>) {
    if settings.rt_priority.is_some() {
        let limit = u64::from(settings.rlimit_rttime);
        if let Err(e) = setrlimit(Resource::RLIMIT_RTTIME, limit, limit) {
            warn!("{label}_rlimit_rttime: cannot set RLIMIT_RTTIME to {limit} us: {e}");
        }
    }
    let req = SchedRequest {
        nice: settings.priority,
        rt_priority: settings.rt_priority,
        slice,
    };
    match sched::apply(&req) {
        Ok(()) => debug!("scheduling: {req:?}"),
        Err(e) => warn!("cannot set the {label} engine's scheduling ({req:?}): {e}"),
    }
    if settings.no_swap
        && let Err(e) = mlockall(MlockAllFlags::MCL_CURRENT | MlockAllFlags::MCL_FUTURE)
    {
        warn!("{label}_no_swap: cannot lock memory: {e}");
    }
    if !settings.cpu_affinity.is_empty() {
        let mut set = nix::sched::CpuSet::new();
        for &cpu in &settings.cpu_affinity {
            let set_one = usize::try_from(cpu)
                .map_err(|_| nix::Error::EINVAL)
                .and_then(|c| set.set(c));
            if let Err(e) = set_one {
                warn!("{label}_cpu_affinity: CPU {cpu}: {e}");
            }
        }
        if let Err(e) = nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set) {
            warn!("{label}_cpu_affinity: {e}");
        }
    }
}
