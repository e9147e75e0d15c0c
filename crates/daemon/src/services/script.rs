//! Running every script the daemon starts (tracking scripts, notify scripts, FIFO readers): who
//! it runs as, the script-security check, and the timeout that kills its whole process group.
//!
//! A script runs its argv (no shell) in its own process group, with stdin, stdout and stderr on
//! `/dev/null`, as the user keepalived's rules pick ([`ScriptEnv`]), with SIGTERM as its
//! parent-death signal (as keepalived sets it). Finding the program, the security check and the
//! fork happen on one spawner thread that lives as long as the process, so the caller's thread
//! never blocks on the file system or a fork, and the parent-death signal (which follows the
//! forking thread) never fires early. Waiting is async: a hung script delays only its waiter.

use std::fmt;
use std::os::unix::process::ExitStatusExt as _;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, mpsc};
use std::time::Duration;

use keepalived_config::host::{self, DEFAULT_SCRIPT_USER, RunAs};
use keepalived_config::model::common::Script;
use keepalived_config::model::global::GlobalDefs;
use keepalived_net::ChildCreds;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::{Gid, Group, Pid, Uid, User, getegid, geteuid};
use tokio::sync::oneshot;
use tracing::error;

use super::host::SystemHost;

/// Why a script cannot be set up at all (found when the configuration is loaded).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScriptError {
    /// The command line is empty.
    #[error("empty command line")]
    Empty,
    /// The user does not exist.
    #[error("unknown user {0}")]
    UnknownUser(String),
    /// The group does not exist.
    #[error("unknown group {0}")]
    UnknownGroup(String),
    /// No user named, `keepalived_script` missing, and script security forbids the fallback.
    #[error(
        "unable to set default user keepalived_script for script (no such user; set `script_user`)"
    )]
    NoUser,
}

/// Why one run of a script did not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartError {
    /// The program does not exist or is not executable.
    #[error("script {0} not found or not executable")]
    NotFound(String),
    /// Script security: the script would run as root but a non-root user could change it.
    #[error("refusing to run {} as root: {why}", path.display())]
    Insecure {
        /// The program.
        path: PathBuf,
        /// What makes it unsafe.
        why: String,
    },
    /// fork/exec (or setting the user) failed.
    #[error("cannot run {program}: {reason}")]
    Spawn {
        /// The program.
        program: String,
        /// The system's reason.
        reason: String,
    },
}

/// How one run of a script ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunOutcome {
    /// The script exited with this status.
    Exited(i32),
    /// The script ran past its timeout; its process group was killed (SIGKILL).
    TimedOut,
    /// The script was killed by this signal.
    Signalled(i32),
    /// The script could not be started.
    NotStarted(StartError),
}

impl RunOutcome {
    /// True for exit status 0, the only success.
    pub fn is_success(&self) -> bool {
        *self == RunOutcome::Exited(0)
    }
}

impl fmt::Display for RunOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunOutcome::Exited(code) => write!(f, "exited with status {code}"),
            RunOutcome::TimedOut => f.write_str("timed out"),
            RunOutcome::Signalled(sig) => match Signal::try_from(*sig) {
                Ok(s) => write!(f, "killed by {s}"),
                Err(_) => write!(f, "killed by signal {sig}"),
            },
            RunOutcome::NotStarted(e) => write!(f, "not started: {e}"),
        }
    }
}

/// Who a script runs as, resolved to ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user's name, for logs.
    pub user: String,
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Supplementary groups (empty unless asked for with `:GROUP` or
    /// `set_supplementary_groups`); `None` when running as keepalived itself (left unchanged).
    pub groups: Option<Vec<u32>>,
}

/// What decides who runs scripts: the global `script_user`, `enable_script_security`,
/// `set_supplementary_groups`, and whether `keepalived_script` exists.
#[derive(Debug, Clone)]
pub struct ScriptEnv {
    defs: GlobalDefs,
    default_user_exists: bool,
}

impl ScriptEnv {
    /// The environment `defs` describes on this host.
    pub fn from_defs(defs: &GlobalDefs) -> Self {
        let default_user_exists = matches!(User::from_name(DEFAULT_SCRIPT_USER), Ok(Some(_)));
        Self::with_default_user(defs, default_user_exists)
    }

    /// As [`ScriptEnv::from_defs`], saying whether `keepalived_script` exists (for tests).
    pub fn with_default_user(defs: &GlobalDefs, default_user_exists: bool) -> Self {
        ScriptEnv {
            defs: defs.clone(),
            default_user_exists,
        }
    }

    /// Prepares `script` (its own `user`/`group`, else the defaults); `label` names it in logs.
    pub fn prepare(
        &self,
        label: impl Into<String>,
        script: &Script,
    ) -> Result<Arc<PreparedScript>, ScriptError> {
        self.prepare_as(
            label,
            &script.argv,
            script.user.as_deref(),
            script.group.as_deref(),
        )
    }

    /// Prepares `argv` to run as `user`/`group` (`None`: keepalived's defaults).
    pub fn prepare_as(
        &self,
        label: impl Into<String>,
        argv: &[String],
        user: Option<&str>,
        group: Option<&str>,
    ) -> Result<Arc<PreparedScript>, ScriptError> {
        if argv.is_empty() {
            return Err(ScriptError::Empty);
        }
        let creds = self.credentials(user, group)?;
        Ok(Arc::new(PreparedScript {
            label: label.into(),
            argv: argv.to_vec(),
            creds,
            security: self.defs.enable_script_security,
            refused: AtomicBool::new(false),
        }))
    }

    /// Resolves who runs a script with this `user`/`group`.
    pub fn credentials(
        &self,
        user: Option<&str>,
        group: Option<&str>,
    ) -> Result<Credentials, ScriptError> {
        match host::run_as(user, group, &self.defs, self.default_user_exists) {
            RunAs::User { name, group } => self.named(name, group),
            RunAs::DefaultScriptUser => self.named(DEFAULT_SCRIPT_USER, None),
            RunAs::NoUser => Err(ScriptError::NoUser),
            RunAs::Keepalived => {
                let uid = geteuid().as_raw();
                let user = User::from_uid(geteuid())
                    .ok()
                    .flatten()
                    .map_or_else(|| uid.to_string(), |u| u.name);
                Ok(Credentials {
                    user,
                    uid,
                    gid: getegid().as_raw(),
                    groups: None,
                })
            }
        }
    }

    fn named(&self, name: &str, group: Option<&str>) -> Result<Credentials, ScriptError> {
        let user = lookup_user(name)?;
        let (supplementary, group) = match group {
            Some(g) => match g.strip_prefix(':') {
                Some(rest) => (true, rest),
                None => (self.defs.set_supplementary_groups, g),
            },
            None => (self.defs.set_supplementary_groups, ""),
        };
        let gid = if group.is_empty() {
            user.gid
        } else {
            lookup_group(group)?
        };
        let groups = if supplementary {
            std::ffi::CString::new(user.name.as_str())
                .ok()
                .and_then(|c| nix::unistd::getgrouplist(&c, gid).ok())
                .map(|g| g.into_iter().map(Gid::as_raw).collect())
                .unwrap_or_else(|| vec![gid.as_raw()])
        } else {
            Vec::new()
        };
        Ok(Credentials {
            user: user.name,
            uid: user.uid.as_raw(),
            gid: gid.as_raw(),
            groups: Some(groups),
        })
    }
}

/// A user by name, or by number when no user has that name.
pub(crate) fn lookup_user(name: &str) -> Result<User, ScriptError> {
    let found = match User::from_name(name) {
        Ok(Some(u)) => Some(u),
        _ => name
            .parse::<u32>()
            .ok()
            .and_then(|id| User::from_uid(Uid::from_raw(id)).ok().flatten()),
    };
    found.ok_or_else(|| ScriptError::UnknownUser(name.to_owned()))
}

/// A group id by name, or the number itself.
pub(crate) fn lookup_group(name: &str) -> Result<Gid, ScriptError> {
    match Group::from_name(name) {
        Ok(Some(g)) => Ok(g.gid),
        _ => name
            .parse::<u32>()
            .map(Gid::from_raw)
            .map_err(|_| ScriptError::UnknownGroup(name.to_owned())),
    }
}

/// A script ready to run: its argv, who runs it, and whether script security applies.
#[derive(Debug)]
pub struct PreparedScript {
    label: String,
    argv: Vec<String>,
    creds: Credentials,
    security: bool,
    /// The last start failed (its reason was logged; the next failure is not).
    refused: AtomicBool,
}

impl PreparedScript {
    /// Its name in logs.
    #[cfg(feature = "vrrp")]
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The configured command line.
    #[cfg(all(test, feature = "vrrp"))]
    pub fn argv(&self) -> &[String] {
        &self.argv
    }

    /// Who runs it.
    #[cfg(test)]
    pub fn credentials(&self) -> &Credentials {
        &self.creds
    }

    /// Runs the script with `extra` arguments appended and waits for it; past `timeout` its
    /// process group is killed and the run counts as [`RunOutcome::TimedOut`].
    pub async fn run(&self, extra: &[String], timeout: Option<Duration>) -> RunOutcome {
        match self.start(extra).await {
            Ok(mut running) => running.wait(timeout).await,
            Err(e) => RunOutcome::NotStarted(e),
        }
    }

    /// Starts the script with `extra` arguments appended. A failure is logged once (one line
    /// saying why), and again only after a start has succeeded in between.
    pub async fn start(&self, extra: &[String]) -> Result<RunningScript, StartError> {
        let result = self.spawn(extra).await;
        match &result {
            Ok(_) => self.refused.store(false, Ordering::Relaxed),
            Err(e) => {
                if !self.refused.swap(true, Ordering::Relaxed) {
                    error!("{}: {e}", self.label);
                }
            }
        }
        result
    }

    async fn spawn(&self, extra: &[String]) -> Result<RunningScript, StartError> {
        let program = self.argv.first().cloned().unwrap_or_default();
        let lost = |reason: &str| StartError::Spawn {
            program: program.clone(),
            reason: reason.to_owned(),
        };
        let handle = tokio::runtime::Handle::try_current().map_err(|_| lost("no runtime"))?;
        let mut argv = self.argv.clone();
        argv.extend(extra.iter().cloned());
        let (reply, answer) = oneshot::channel();
        let request = SpawnRequest {
            argv,
            creds: child_creds(&self.creds),
            check_security: self.security && self.creds.uid == 0,
            handle,
            reply,
        };
        spawner()
            .and_then(|tx| tx.send(request).ok())
            .ok_or_else(|| lost("the spawner thread is gone"))?;
        let child = answer
            .await
            .map_err(|_| lost("the spawner thread is gone"))??;
        let pid = child.id().and_then(|p| i32::try_from(p).ok()).unwrap_or(0);
        Ok(RunningScript {
            child,
            pgid: Pid::from_raw(pid),
            finished: false,
        })
    }
}

/// The credentials to set in the child: always when we are root; otherwise only if they differ
/// from ours (and then the change fails, reported as a start error).
fn child_creds(c: &Credentials) -> Option<ChildCreds> {
    let root = geteuid().is_root();
    let same = c.uid == geteuid().as_raw() && c.gid == getegid().as_raw();
    if same && (!root || c.groups.is_none()) {
        return None;
    }
    Some(ChildCreds {
        uid: c.uid,
        gid: c.gid,
        groups: c.groups.clone().unwrap_or_default(),
    })
}

/// A started script. Dropping it before it has been waited for kills its process group.
#[derive(Debug)]
pub struct RunningScript {
    child: tokio::process::Child,
    pgid: Pid,
    finished: bool,
}

impl RunningScript {
    /// Waits for the script to end; past `timeout` (if any) kills its process group.
    pub async fn wait(&mut self, timeout: Option<Duration>) -> RunOutcome {
        let status = match timeout {
            None => self.child.wait().await,
            Some(t) => match tokio::time::timeout(t, self.child.wait()).await {
                Ok(status) => status,
                Err(_) => {
                    self.signal_group(Signal::SIGKILL);
                    let _ = self.child.wait().await;
                    self.finished = true;
                    return RunOutcome::TimedOut;
                }
            },
        };
        self.finished = true;
        match status {
            Ok(s) => match (s.code(), s.signal()) {
                (Some(code), _) => RunOutcome::Exited(code),
                (None, Some(sig)) => RunOutcome::Signalled(sig),
                (None, None) => RunOutcome::Exited(-1),
            },
            Err(e) => RunOutcome::NotStarted(StartError::Spawn {
                program: String::new(),
                reason: format!("lost the child: {e}"),
            }),
        }
    }

    #[cfg(feature = "vrrp")]
    /// Stops watching the script without killing it: it runs on and is reaped in the background.
    pub fn detach(mut self) {
        self.finished = true;
    }

    /// Sends `signal` to the script's process group (nothing once it has been reaped).
    pub fn signal_group(&self, signal: Signal) {
        if !self.finished && self.pgid.as_raw() > 0 {
            let _ = killpg(self.pgid, signal);
        }
    }
}

impl Drop for RunningScript {
    fn drop(&mut self) {
        self.signal_group(Signal::SIGKILL);
    }
}

/// One fork for the spawner thread.
struct SpawnRequest {
    argv: Vec<String>,
    creds: Option<ChildCreds>,
    check_security: bool,
    handle: tokio::runtime::Handle,
    reply: oneshot::Sender<Result<tokio::process::Child, StartError>>,
}

/// The spawner thread's queue, started on first use.
fn spawner() -> Option<&'static mpsc::Sender<SpawnRequest>> {
    static SPAWNER: OnceLock<Option<mpsc::Sender<SpawnRequest>>> = OnceLock::new();
    SPAWNER
        .get_or_init(|| {
            let (tx, rx) = mpsc::channel::<SpawnRequest>();
            let started = std::thread::Builder::new()
                .name("script-spawner".into())
                .spawn(move || {
                    for request in rx {
                        // The thread must outlive every script (their parent-death signal
                        // follows it): a panic (e.g. a runtime without I/O) fails one start.
                        let result =
                            std::panic::catch_unwind(AssertUnwindSafe(|| spawn_now(&request)))
                                .unwrap_or_else(|_| {
                                    Err(StartError::Spawn {
                                        program: request.argv.first().cloned().unwrap_or_default(),
                                        reason: "the spawner panicked".into(),
                                    })
                                });
                        let _ = request.reply.send(result);
                    }
                });
            match started {
                Ok(_) => Some(tx),
                Err(e) => {
                    error!("cannot start the script spawner thread: {e}");
                    None
                }
            }
        })
        .as_ref()
}

/// Finds the program, applies script security, and forks (on the spawner thread).
fn spawn_now(request: &SpawnRequest) -> Result<tokio::process::Child, StartError> {
    let name = request.argv.first().cloned().unwrap_or_default();
    let path =
        host::find_program(&SystemHost, &name).ok_or_else(|| StartError::NotFound(name.clone()))?;
    if request.check_security
        && let Some(why) = host::insecure_path(&SystemHost, &path)
    {
        return Err(StartError::Insecure { path, why });
    }
    let mut cmd = std::process::Command::new(&path);
    cmd.args(request.argv.iter().skip(1))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    keepalived_net::prepare_child(
        &mut cmd,
        request.creds.clone(),
        Some(Signal::SIGTERM as i32),
    );
    let _runtime = request.handle.enter();
    tokio::process::Command::from(cmd)
        .spawn()
        .map_err(|e| StartError::Spawn {
            program: path.display().to_string(),
            reason: e.to_string(),
        })
}

#[cfg(test)]
pub(crate) mod tests;
