//! [`LabChild`]: a background process started in a lab namespace that is
//! killed and reaped when dropped, so a failing test never leaks daemons.

use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

use crate::cmd;
use crate::error::{LabError, Result};

/// A running child process, killed (SIGKILL) and waited for on drop.
#[derive(Debug)]
pub struct LabChild {
    child: Child,
    command: String,
    status: Option<ExitStatus>,
}

impl LabChild {
    /// Spawns `cmd` (typically from [`crate::Host::command`]) and takes
    /// ownership of the process.
    ///
    /// # Errors
    /// [`LabError::Spawn`] if the program cannot be started.
    pub fn spawn(cmd: &mut Command) -> Result<LabChild> {
        let command = cmd::describe(cmd);
        let child = cmd.spawn().map_err(|source| LabError::Spawn {
            command: command.clone(),
            source,
        })?;
        Ok(LabChild {
            child,
            command,
            status: None,
        })
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The command line it was started with.
    pub fn command_line(&self) -> &str {
        &self.command
    }

    /// The underlying [`Child`], e.g. to take its piped stdout. Waiting on
    /// it directly is fine; prefer [`LabChild::try_status`] though.
    pub fn child_mut(&mut self) -> &mut Child {
        &mut self.child
    }

    /// The exit status if the process has exited (reaping it), else `None`.
    pub fn try_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.try_status().is_none()
    }

    /// Sends signal `sig` (a name like `TERM`, `HUP`, `USR1`, or a number)
    /// to the process. Does nothing if it already exited.
    ///
    /// # Errors
    /// [`LabError::InvalidArgument`] for a malformed signal name;
    /// [`LabError::Command`] if `kill` fails.
    pub fn signal(&mut self, sig: &str) -> Result<()> {
        if sig.is_empty() || !sig.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(LabError::InvalidArgument {
                value: sig.to_owned(),
                reason: "not a signal name",
            });
        }
        if !self.is_running() {
            return Ok(());
        }
        let pid = self.id().to_string();
        cmd::checked(Command::new("sh").args(["-c", "kill -s \"$1\" \"$2\"", "sh", sig, &pid]))
            .map(drop)
    }

    /// Waits up to `timeout` for the process to exit by itself.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_status() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Kills the process (SIGKILL) if still running and reaps it; returns
    /// its exit status. Idempotent.
    pub fn kill(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            let _ = self.child.kill();
            self.status = self.child.wait().ok();
        }
        self.status
    }
}

impl Drop for LabChild {
    fn drop(&mut self) {
        self.kill();
    }
}
