//! keepalived-rs BFD engine: RFC 5880 asynchronous mode with RFC 5881 single-hop and RFC 5883
//! multihop sessions, without I/O.
//!
//! # Determinism contract
//! Nothing in this crate reads a clock, draws entropy or touches the network. Time comes in as
//! `now: `[`Instant`], datagrams as bytes with their [`RxMeta`] (source, local address, received
//! TTL, port kind), randomness (discriminators, source ports, transmit jitter) from the seed given
//! to [`Engine::new`]; every effect comes out as an [`Action`]: a packet to send
//! ([`Transmit`]: payload, source port, destination, TTL), a verdict for trackers
//! ([`StateChange`]: Up, or Down with the diagnostic) and log lines in keepalived's words.
//!
//! # Driving the engine
//! After every `add_session`, `remove_session`, `set_admin_down`, `handle_datagram` or
//! `handle_timeout`, drain [`Engine::poll_action`] until `None` and execute the actions in order;
//! then read [`Engine::poll_timeout`] and call [`Engine::handle_timeout`] at that instant.
//!
//! # Layout
//! * [`wire`]: the control packet codec and the value checks of RFC 5880 section 6.8.6.
//! * [`Engine`]: the sessions, the receive demultiplexer (by Your Discriminator, else by
//!   address), the TTL check, the counters ([`GlobalStats`]).
//! * [`Session`]: one session's state machine and timers.
//! * [`SessionConfig`]: what a `bfd_instance` asks for ([`SessionConfig::from_model`]).
//! * `sim` (feature `sim`): engines on a virtual wire with loss, delay and reordering.

#![forbid(unsafe_code)]
// The determinism contract above, checked by clippy (the list and reasons: clippy.toml).
#![deny(clippy::disallowed_methods, clippy::disallowed_types)]
// No panics on input (style guide, "No panics on input"): tests may unwrap, the crate may not.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::unreachable,
        clippy::indexing_slicing,
        clippy::cast_possible_truncation
    )
)]

mod action;
mod config;
mod engine;
pub mod error;
mod session;
mod stats;
pub mod wire;

#[cfg(any(test, feature = "sim"))]
#[allow(
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a test harness: a scenario that misuses it fails the test, as an assert! would"
)]
pub mod sim;

pub use action::{Action, Level, Log, SessionId, StateChange, Transmit};
pub use config::{
    MAX_HOPS_UNCHECKED, MULTIHOP_PORT, SINGLE_HOP_PORT, SOURCE_PORT_MIN, SessionConfig,
};
pub use engine::{Engine, RxMeta, TX_EARLY_MAX};
pub use error::{ConfigError, ParseError, RxError};
pub use keepalived_clock::Instant;
pub use session::{Session, SessionSnapshot};
pub use stats::{GlobalStats, SessionStats};
pub use wire::{AuthSection, Diag, Repr, State};
