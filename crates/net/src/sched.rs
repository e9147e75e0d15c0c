//! The calling thread's CPU scheduling: nice value, real-time round-robin priority, and the
//! EEVDF time slice, set with one `sched_setattr(2)`.
//!
//! It lives in this crate because it is the workspace's one crate allowed `unsafe`, and
//! `sched_setattr` has no safe wrapper in libc, nix or socket2 (nix has neither it nor
//! `setpriority`/`sched_setscheduler`). The structure below is the kernel's `struct sched_attr`
//! (include/uapi/linux/sched/types.h), version 1 (56 bytes, with the utilisation clamps).
//!
//! Why a slice: since Linux 6.12 a SCHED_OTHER thread may ask for a shorter EEVDF slice
//! (`sched_runtime`, clamped by the kernel to 0.1..100 ms). A thread with a short slice that
//! wakes up preempts a CPU-bound thread at once instead of waiting for the running slice to
//! end, without any priority over it: exactly what a mostly-sleeping VRRP engine needs so its
//! adverts and takeovers stay on time while other processes keep the cores busy. Older kernels
//! ignore the field.

#![allow(unsafe_code)]

use std::io;
use std::time::Duration;

/// What to ask the scheduler for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SchedRequest {
    /// Nice value, -20..=19 (keepalived's `vrrp_priority`).
    pub nice: i8,
    /// SCHED_RR with this priority, 1..=99 (keepalived's `vrrp_rt_priority`); `None`: SCHED_OTHER.
    pub rt_priority: Option<u8>,
    /// The EEVDF slice for SCHED_OTHER (ignored with `rt_priority`).
    pub slice: Option<Duration>,
}

/// `struct sched_attr`, SCHED_ATTR_SIZE_VER1.
#[repr(C)]
#[derive(Default)]
struct SchedAttr {
    size: u32,
    sched_policy: u32,
    sched_flags: u64,
    sched_nice: i32,
    sched_priority: u32,
    sched_runtime: u64,
    sched_deadline: u64,
    sched_period: u64,
    sched_util_min: u32,
    sched_util_max: u32,
}

const SCHED_OTHER: u32 = 0;
const SCHED_RR: u32 = 2;
/// Children (scripts) start with the default policy, never real-time.
const SCHED_FLAG_RESET_ON_FORK: u64 = 0x01;

/// Applies `req` to the calling thread (threads it creates afterwards inherit it; child
/// processes do not inherit a real-time policy).
pub fn apply(req: &SchedRequest) -> io::Result<()> {
    let mut attr = SchedAttr {
        size: u32::try_from(std::mem::size_of::<SchedAttr>()).unwrap_or(56),
        sched_nice: i32::from(req.nice.clamp(-20, 19)),
        ..SchedAttr::default()
    };
    match req.rt_priority {
        Some(p) => {
            attr.sched_policy = SCHED_RR;
            attr.sched_priority = u32::from(p.clamp(1, 99));
            attr.sched_flags = SCHED_FLAG_RESET_ON_FORK;
        }
        None => {
            attr.sched_policy = SCHED_OTHER;
            attr.sched_runtime = req
                .slice
                .map_or(0, |s| u64::try_from(s.as_nanos()).unwrap_or(u64::MAX));
        }
    }
    // SAFETY: `attr` is a properly sized, initialised `struct sched_attr` that outlives the
    // call; pid 0 is the calling thread; flags must be 0.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_sched_setattr,
            0 as libc::pid_t,
            &raw const attr,
            0 as libc::c_uint,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The calling thread's (policy, nice, rt priority, slice in ns), from `sched_getattr(2)`.
pub fn current() -> io::Result<(u32, i32, u32, u64)> {
    let mut attr = SchedAttr::default();
    let size = u32::try_from(std::mem::size_of::<SchedAttr>()).unwrap_or(56);
    // SAFETY: `attr` is writable and `size` bytes long; pid 0 is the calling thread.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_sched_getattr,
            0 as libc::pid_t,
            &raw mut attr,
            size as libc::c_uint,
            0 as libc::c_uint,
        )
    };
    if rc == 0 {
        Ok((
            attr.sched_policy,
            attr.sched_nice,
            attr.sched_priority,
            attr.sched_runtime,
        ))
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attr_is_the_kernels_version_1_size() {
        assert_eq!(std::mem::size_of::<SchedAttr>(), 56);
    }

    /// Runs in its own thread so the test runner's thread keeps its policy.
    #[test]
    fn nice_slice_and_round_robin_are_applied() {
        std::thread::spawn(|| {
            let req = SchedRequest {
                nice: 5,
                rt_priority: None,
                slice: Some(Duration::from_micros(300)),
            };
            apply(&req).expect("sched_setattr SCHED_OTHER");
            let (policy, nice, _, slice) = current().expect("sched_getattr");
            assert_eq!((policy, nice), (SCHED_OTHER, 5));
            // Kernels before 6.12 have no custom slice and report 0 or their default.
            if slice != 0 {
                assert!(slice <= 3_000_000, "slice {slice} ns");
            }
            // SAFETY: geteuid has no preconditions.
            if unsafe { libc::geteuid() } == 0 {
                apply(&SchedRequest {
                    rt_priority: Some(10),
                    ..SchedRequest::default()
                })
                .expect("SCHED_RR as root");
                let (policy, _, prio, _) = current().expect("sched_getattr");
                assert_eq!((policy, prio), (SCHED_RR, 10));
            }
        })
        .join()
        .expect("thread");
    }
}
