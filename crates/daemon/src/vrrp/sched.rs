//! The VRRP engine's process settings from `global_defs`: `vrrp_priority` (nice),
//! `vrrp_rt_priority` (SCHED_RR, with `vrrp_rlimit_rttime` as RLIMIT_RTTIME so a runaway
//! real-time loop is stopped by the kernel), `vrrp_no_swap` (mlockall) and `vrrp_cpu_affinity`.
//!
//! Without `vrrp_rt_priority` the engine also asks for a short EEVDF slice (see
//! [`keepalived_net::sched`]): a wake-up for an advert or a takeover then preempts a CPU-bound
//! process at once, with no priority over it. Failures are logged and the daemon runs on with
//! the default scheduling, as keepalived does.

use std::time::Duration;

use keepalived_config::model::global::ProcessSettings;
use keepalived_net::sched::{self, SchedRequest};
use nix::sys::mman::{MlockAllFlags, mlockall};
use nix::sys::resource::{Resource, setrlimit};
use tracing::{debug, warn};

/// The slice asked for when not real-time: the kernel's minimum (0.1 ms).
pub const ENGINE_SLICE: Duration = Duration::from_micros(100);

/// Applies `settings` to the calling thread (call it before the runtime starts, so its threads
/// inherit it).
pub fn apply(settings: &ProcessSettings) {
    if settings.rt_priority.is_some() {
        let limit = u64::from(settings.rlimit_rttime);
        if let Err(e) = setrlimit(Resource::RLIMIT_RTTIME, limit, limit) {
            warn!("cannot set RLIMIT_RTTIME to {limit} us: {e}");
        }
    }
    let req = SchedRequest {
        nice: settings.priority,
        rt_priority: settings.rt_priority,
        slice: Some(ENGINE_SLICE),
    };
    match sched::apply(&req) {
        Ok(()) => debug!("scheduling: {req:?}"),
        Err(e) => warn!("cannot set the VRRP engine's scheduling ({req:?}): {e}"),
    }
    if settings.no_swap
        && let Err(e) = mlockall(MlockAllFlags::MCL_CURRENT | MlockAllFlags::MCL_FUTURE)
    {
        warn!("vrrp_no_swap: cannot lock memory: {e}");
    }
    if !settings.cpu_affinity.is_empty() {
        let mut set = nix::sched::CpuSet::new();
        for &cpu in &settings.cpu_affinity {
            let set_one = usize::try_from(cpu)
                .map_err(|_| nix::Error::EINVAL)
                .and_then(|c| set.set(c));
            if let Err(e) = set_one {
                warn!("vrrp_cpu_affinity: CPU {cpu}: {e}");
            }
        }
        if let Err(e) = nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set) {
            warn!("vrrp_cpu_affinity: {e}");
        }
    }
}
