//! Process set-up for the processes the daemon runs: credentials and the parent-death signal,
//! applied in the child between `fork` and `exec` (the one step std cannot do without `unsafe`),
//! and signals to them.

// Two `unsafe` uses: `CommandExt::pre_exec`, whose hook only makes async-signal-safe system calls
// (setgroups, setgid, setuid, prctl, getppid) on data prepared before the fork; and `kill`.
#![allow(unsafe_code)]

use std::io;
use std::os::unix::process::CommandExt as _;
use std::process::Command;

/// Who the child runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildCreds {
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Supplementary groups (empty: none).
    pub groups: Vec<u32>,
}

/// Arranges for `cmd`'s child, after the fork and before the exec, to take `creds` (groups,
/// then group, then user: the order in which each step is still permitted) and then to ask
/// for `parent_death_signal` when the forking thread ends (set after the user change, which
/// would clear it). A child whose parent is already gone fails to start.
///
/// The parent-death signal follows the *thread* that forks: spawn from a thread that lives as
/// long as the process.
pub fn prepare_child(
    cmd: &mut Command,
    creds: Option<ChildCreds>,
    parent_death_signal: Option<i32>,
) {
    let parent = std::process::id();
    let hook = move || -> io::Result<()> {
        if let Some(c) = &creds {
            // SAFETY: plain system calls on a live Vec; nothing is allocated or locked.
            unsafe {
                if libc::setgroups(c.groups.len(), c.groups.as_ptr()) != 0 {
                    return Err(io::Error::last_os_error());
                }
                if libc::setgid(c.gid) != 0 {
                    return Err(io::Error::last_os_error());
                }
                if libc::setuid(c.uid) != 0 {
                    return Err(io::Error::last_os_error());
                }
            }
        }
        if let Some(sig) = parent_death_signal {
            // SAFETY: prctl with integer arguments and getppid have no memory effects.
            unsafe {
                if libc::prctl(libc::PR_SET_PDEATHSIG, sig as libc::c_ulong, 0, 0, 0) != 0 {
                    return Err(io::Error::last_os_error());
                }
                if libc::getppid() as u32 != parent {
                    return Err(io::Error::from_raw_os_error(libc::ESRCH));
                }
            }
        }
        Ok(())
    };
    // SAFETY: the hook runs in the forked child and only makes async-signal-safe calls.
    unsafe {
        cmd.pre_exec(hook);
    }
}

/// Sends signal number `signo` to process `pid` (`kill(2)`); also for the real-time signals
/// (keepalived's JSON signal is SIGRTMIN+2), which `nix`'s `Signal` cannot name.
///
/// # Errors
/// `kill`'s error (`ESRCH`: no such process), or `InvalidInput` for a pid that does not fit.
pub fn send_signal(pid: u32, signo: i32) -> io::Result<()> {
    let pid = libc::pid_t::try_from(pid)
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "bad pid"))?;
    // SAFETY: kill takes two integers and touches no memory.
    if unsafe { libc::kill(pid, signo) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
