//! Health-check logic without I/O: the check plan built from the configuration (unique checks,
//! shared by every virtual server that uses the same real server), the scheduler and verdicts,
//! and the real-server events that come out.
//!
//! # Determinism contract
//! Nothing here reads a clock, draws entropy, or touches the network: time comes in as
//! [`Instant`] arguments, randomness from the seed given to [`CheckerEngine::new`], results of
//! attempts as [`Outcome`]s. The same inputs at the same times give the same [`Action`]s.
//!
//! # Driving it
//! ```text
//! let plan = plan(&config);                  // unique checks + who depends on them
//! let mut engine = CheckerEngine::new(plan, seed);
//! engine.handle_start(now);                  // schedules warmups, queues initial states
//! loop {
//!     while let Some(a) = engine.poll_action() {
//!         match a {
//!             Action::Run(id) => /* start engine.plan().checks[id.0]'s probe with its
//!                                   attempt_timeout(); later: handle_outcome(now, id, outcome) */,
//!             Action::Event(ev) => /* to the load balancer; ev.notify to the script runner */,
//!             Action::LogFailure(f) => /* log it */,
//!         }
//!     }
//!     // sleep until engine.poll_timeout() or an outcome arrives, then
//!     // engine.handle_timeout(now) / engine.handle_outcome(now, id, outcome)
//! }
//! ```
//! FILE_CHECK and BFD_CHECK are passive ([`CheckSpec::is_passive`]): the engine never runs them;
//! the driver reports the file's value ([`Outcome::FileValue`]) or the session's state whenever
//! it changes, preferably once before `handle_start`.

// The determinism contract above, checked by clippy (the list and reasons: clippy.toml).
#![deny(clippy::disallowed_methods, clippy::disallowed_types)]

mod engine;
mod event;
mod plan;
mod time;

pub use engine::{CheckStats, CheckerEngine, Reloaded, RsStatus, VsStatus, WEIGHT_MAX};
pub use event::{Action, FailedAttempt, Outcome, RsEvent, RsEventKind};
pub use plan::{CheckId, CheckPlan, CheckSpec, RsId, RsPlan, Target, Timing, VsPlan, plan};
pub use time::Instant;
