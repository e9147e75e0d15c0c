//! Daemon mode and network namespaces: the fork that detaches the daemon from its caller (with
//! a pipe on which the daemon tells the caller how its start went), and entering a network
//! namespace by name as `ip netns exec` does.

// One `unsafe` use: `fork`, called while the process has a single thread (the caller's duty,
// stated on `fork_daemon`), after which the child only makes system calls before returning.
#![allow(unsafe_code)]

use std::fs::File;
use std::io::{self, Read as _, Write as _};
use std::os::fd::AsFd as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::fcntl::OFlag;
use nix::poll::{PollFd, PollFlags};
use nix::sched::CloneFlags;
use nix::unistd::ForkResult;

/// Which side of [`fork_daemon`] this is.
#[derive(Debug)]
pub enum Forked {
    /// The caller's process: it waits for the daemon's word ([`StartWait::wait`]) and exits.
    Caller(StartWait),
    /// The daemon: a session leader in `/`, standard descriptors on `/dev/null`; it reports
    /// how its start went on [`StartReport::report`].
    Daemon(StartReport),
}

/// The caller's end of the start pipe.
#[derive(Debug)]
pub struct StartWait {
    pipe: File,
    /// The daemon's pid.
    pub daemon: u32,
}

/// How the daemon's start ended, as the caller saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartOutcome {
    /// The daemon reported this exit code (0: up and running).
    Reported(u8),
    /// The daemon ended without a word.
    Vanished,
    /// No word within the time allowed; the daemon goes on starting.
    Pending,
}

impl StartWait {
    /// Waits up to `within` for the daemon's report.
    pub fn wait(mut self, within: Duration) -> StartOutcome {
        let millis = u16::try_from(within.as_millis()).unwrap_or(u16::MAX);
        let mut polls = [PollFd::new(self.pipe.as_fd(), PollFlags::POLLIN)];
        match nix::poll::poll(&mut polls, millis) {
            Ok(0) => return StartOutcome::Pending,
            Ok(_) => {}
            Err(_) => return StartOutcome::Vanished,
        }
        let mut byte = [0u8; 1];
        match self.pipe.read(&mut byte) {
            Ok(1) => StartOutcome::Reported(byte[0]),
            _ => StartOutcome::Vanished,
        }
    }
}

/// The daemon's end of the start pipe.
#[derive(Debug)]
pub struct StartReport {
    pipe: File,
}

impl StartReport {
    /// Tells the caller the start is over with exit code `code` (0: running), and closes.
    pub fn report(mut self, code: u8) {
        let _ = self.pipe.write_all(&[code]);
    }
}

/// Forks the daemon off the caller: the child becomes a session leader (`setsid`), moves to `/`
/// and puts `/dev/null` on its standard descriptors, as keepalived's `xdaemon` does; the caller
/// keeps the read end of a pipe on which the daemon reports the end of its start.
///
/// Call while the process has one thread only (before any runtime or helper thread starts):
/// the child of a multi-threaded process may only exec.
///
/// # Errors
/// `pipe`, `fork`, `setsid` or opening `/dev/null` failed.
pub fn fork_daemon() -> io::Result<Forked> {
    let (read, write) = nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(io::Error::from)?;
    // SAFETY: the caller guarantees a single thread; the child only makes system calls below.
    match unsafe { nix::unistd::fork() }.map_err(io::Error::from)? {
        ForkResult::Parent { child } => {
            drop(write);
            Ok(Forked::Caller(StartWait {
                pipe: File::from(read),
                daemon: u32::try_from(child.as_raw()).unwrap_or_default(),
            }))
        }
        ForkResult::Child => {
            drop(read);
            nix::unistd::setsid().map_err(io::Error::from)?;
            let _ = std::env::set_current_dir("/");
            let null = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/null")?;
            nix::unistd::dup2_stdin(&null).map_err(io::Error::from)?;
            nix::unistd::dup2_stdout(&null).map_err(io::Error::from)?;
            nix::unistd::dup2_stderr(&null).map_err(io::Error::from)?;
            Ok(Forked::Daemon(StartReport {
                pipe: File::from(write),
            }))
        }
    }
}

/// Where `ip netns` keeps its named network namespaces.
pub const NETNS_RUN_DIR: &str = "/run/netns";

/// The path of the named network namespace `name` (`/run/netns/NAME`).
pub fn netns_path(name: &str) -> PathBuf {
    Path::new(NETNS_RUN_DIR).join(name)
}

/// Moves the calling thread into the network namespace `name` (`/run/netns/NAME`, as
/// `ip netns exec` opens it). Threads started afterwards, and processes started by them,
/// inherit it: call before any other thread starts.
///
/// # Errors
/// The namespace does not exist, or `setns` failed (not root, or not a network namespace).
pub fn enter_netns(name: &str) -> io::Result<()> {
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("invalid network namespace name {name:?}"),
        ));
    }
    let file = File::open(netns_path(name))?;
    nix::sched::setns(file, CloneFlags::CLONE_NEWNET).map_err(io::Error::from)
}

/// Runs `f` on a short-lived thread that first enters the network namespace at `path` (a
/// `/run/netns/NAME` file, or `/proc/1/ns/net` for the host's): the sockets `f` opens belong
/// to that namespace for their whole life, while the calling thread stays where it is.
///
/// # Errors
/// The namespace cannot be opened or entered, or the thread could not run.
pub fn in_netns<T: Send + 'static>(
    path: &Path,
    f: impl FnOnce() -> T + Send + 'static,
) -> io::Result<T> {
    let file = File::open(path)?;
    std::thread::Builder::new()
        .name("netns".into())
        .spawn(move || {
            nix::sched::setns(file, CloneFlags::CLONE_NEWNET).map_err(io::Error::from)?;
            Ok(f())
        })?
        .join()
        .map_err(|_| io::Error::other("the namespace thread panicked"))?
}
