//! What goes into the engine (an attempt's [`Outcome`]) and what comes out ([`Action`]s: runs to
//! start, real-server events, failed attempts to log).

use std::net::SocketAddr;

use keepalived_config::model::common::Script;

use super::plan::{CheckId, RsId};

/// The result of one attempt of a check, as the driver reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The attempt passed.
    Success,
    /// The attempt failed (refused, timed out, wrong status, script exit 1, ...).
    Failure {
        /// Why, for logs and the real server's down event.
        reason: String,
    },
    /// MISC_CHECK with `misc_dynamic`: the script exited with 2..=255 and asks for weight
    /// `code - 2`. A pass. For other checkers it counts as a plain [`Outcome::Success`].
    Weight(u32),
    /// FILE_CHECK: the value the tracked file now holds (unreadable or garbage content reads
    /// as 0, as keepalived does). The engine applies the checker's `weight` multiplier,
    /// `reverse` and `dynamic`; a file that cannot be watched at all is a
    /// [`Outcome::Failure`]. Ignored (counted as stray) for other checkers.
    FileValue(i64),
}

/// Something the driver must do, drained with
/// [`CheckerEngine::poll_action`](crate::CheckerEngine::poll_action).
#[must_use]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Start one attempt of this check now; when it ends (or after
    /// [`CheckSpec::attempt_timeout`](crate::CheckSpec::attempt_timeout)), report it
    /// with [`CheckerEngine::handle_outcome`](crate::CheckerEngine::handle_outcome).
    /// A check is never asked to run again before its outcome is reported.
    Run(CheckId),
    /// A real server changed (or, with `initial`, its starting state).
    Event(RsEvent),
    /// A failed attempt of a check with `log_all_failures`, while the checker is still up
    /// (retries included): worth a log line even though no server changes yet.
    LogFailure(FailedAttempt),
}

/// A failed attempt of a check with `log_all_failures`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailedAttempt {
    /// The check.
    pub check: CheckId,
    /// Which attempt of the current series this was (1 = the first try).
    pub attempt: u32,
    /// Attempts allowed before the checker fails (`retry + 1`).
    pub attempts: u32,
    /// Why it failed.
    pub reason: String,
}

/// What happened to a real server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RsEventKind {
    /// All its checkers pass: the load balancer should use it.
    Up,
    /// A checker failed: remove it (or set weight 0 with `inhibit_on_failure`).
    Down,
    /// Still up, with a new effective weight (MISC_CHECK `misc_dynamic`, FILE_CHECK `dynamic`).
    Weight(u32),
}

/// A real server's state change, with the reason and the notify script to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RsEvent {
    /// The real server of one virtual server.
    pub server: RsId,
    /// Index of the virtual server in the configuration.
    pub vs: usize,
    /// Index of the real server in that virtual server.
    pub rs: usize,
    /// The real server's address.
    pub address: SocketAddr,
    /// Up, down or weight change.
    pub kind: RsEventKind,
    /// The effective weight now (configured weight plus dynamic adjustments, 0..=i32::MAX);
    /// for [`RsEventKind::Up`] the weight to program.
    pub weight: u32,
    /// Why, naming the checker and its failure, e.g.
    /// `TCP_CHECK 192.0.2.10:80 failed: connection refused (attempt 2 of 2)`.
    pub reason: String,
    /// The check whose result caused the event (`None` for initial states).
    pub check: Option<CheckId>,
    /// `notify_up` for Up, `notify_down` for Down, if configured (never for initial states or
    /// weight changes). Whether to run it is the daemon's decision.
    pub notify: Option<Script>,
    /// True for the starting state reported by
    /// [`CheckerEngine::handle_start`](crate::CheckerEngine::handle_start): up, or down
    /// with `alpha`. Not a transition (no notify).
    pub initial: bool,
}
