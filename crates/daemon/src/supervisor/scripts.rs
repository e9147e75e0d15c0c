//! `startup_script` and `shutdown_script` (global_defs): the parent runs the first before it
//! starts the engines and the second after they have all stopped, each waited for at most its
//! timeout (`startup_script_timeout` / `shutdown_script_timeout`, 10 s by default), as
//! keepalived's main.c does. The run goes through [`crate::services::script`] (who it runs as,
//! script security, its own process group); past the timeout the whole group is killed
//! (keepalived sends SIGTERM, then SIGKILL two seconds later) and the daemon goes on.
//!
//! Logging follows keepalived: `Running startup script X` with `-D`; a failure `startup
//! script failed, status N` (keepalived repeats the word: "startup script script failed");
//! a success `startup script succeeded` with `-D`.

use std::time::Duration;

use keepalived_config::model::common::Script;
use keepalived_config::model::global::GlobalDefs;
use tracing::{debug, info};

use crate::services::script::{RunOutcome, ScriptEnv};

/// Which of the two scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Before the engines start.
    Startup,
    /// After the engines stopped.
    Shutdown,
}

impl When {
    fn name(self) -> &'static str {
        match self {
            When::Startup => "startup script",
            When::Shutdown => "shutdown script",
        }
    }

    fn script(self, defs: &GlobalDefs) -> Option<(&Script, Duration)> {
        match self {
            When::Startup => defs
                .startup_script
                .as_ref()
                .map(|s| (s, defs.startup_script_timeout)),
            When::Shutdown => defs
                .shutdown_script
                .as_ref()
                .map(|s| (s, defs.shutdown_script_timeout)),
        }
    }
}

/// Runs the startup script (if any); a SIGTERM or SIGINT while it runs ends it (its process
/// group is killed) and returns false: the daemon then stops without starting the engines.
pub async fn startup(defs: &GlobalDefs) -> bool {
    if defs.startup_script.is_none() {
        return true;
    }
    let (mut term, mut int, _hup) = match crate::services::signals::main_signals() {
        Ok(s) => s,
        Err(e) => {
            info!("cannot install signal handlers: {e}");
            run(When::Startup, defs).await;
            return true;
        }
    };
    tokio::select! {
        () = run(When::Startup, defs) => true,
        _ = term.recv() => false,
        _ = int.recv() => false,
    }
}

/// Runs the `when` script of `defs`, if there is one, and waits for it (at most its timeout).
pub async fn run(when: When, defs: &GlobalDefs) {
    let Some((script, timeout)) = when.script(defs) else {
        return;
    };
    let program = script.argv.first().map_or("", String::as_str);
    debug!("Running {} {program}", when.name());
    let prepared = match ScriptEnv::from_defs(defs).prepare(when.name(), script) {
        Ok(p) => p,
        Err(e) => {
            info!("Call of {} {program} failed: {e}", when.name());
            return;
        }
    };
    match prepared.run(&[], Some(timeout)).await {
        RunOutcome::Exited(0) => debug!("{} succeeded", when.name()),
        RunOutcome::Exited(status) => info!("{} failed, status {status}", when.name()),
        RunOutcome::TimedOut => info!(
            "{} {program} timed out after {}s: killed",
            when.name(),
            timeout.as_secs()
        ),
        RunOutcome::Signalled(sig) => info!("{} {program} killed by signal {sig}", when.name()),
        RunOutcome::NotStarted(e) => info!("Call of {} {program} failed: {e}", when.name()),
    }
}
