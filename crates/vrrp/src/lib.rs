//! keepalived-rs VRRP engine: VRRPv2 ([RFC 3768]) and VRRPv3 ([RFC 9568]) without I/O.
//!
//! # Determinism contract
//! Nothing in this crate reads a clock, draws random numbers, or touches the network. Time comes
//! in as an argument (`now:` [`Instant`]), packets come in as bytes or [`Repr`]s, and every
//! effect comes out as an [`Action`] to execute. The same inputs at the same times give the same
//! outputs, so the protocol can be driven for hours of virtual time in milliseconds (see the
//! `sim` module, behind the `sim` feature).
//!
//! # Layout
//! * [`wire`]: the packet codec (views and `Repr`s, checksums, IP headers).
//! * [`Instance`]: one VRID's state machine; [`Router`]: the instances of one interface, with
//!   the receive demultiplexer and the global counters.
//! * [`Engine`]: every link's router plus tracked objects ([`track`]) and sync groups; what a
//!   daemon drives.
//! * [`timing`]: Skew_Time and Master_Down_Interval; [`InstanceStats`] / [`GlobalStats`]: the
//!   RFC 6527 and keepalived counters.
//!
//! # Driving an instance
//! After every `handle_*` call, drain [`Instance::poll_action`] (or [`Router::poll_action`])
//! until `None` and execute the actions in order; then read `poll_timeout` and call
//! `handle_timeout` at that instant.
//!
//! [RFC 3768]: https://www.rfc-editor.org/rfc/rfc3768
//! [RFC 9568]: https://www.rfc-editor.org/rfc/rfc9568

#![forbid(unsafe_code)]
// The determinism contract above, checked by clippy (the list and reasons: clippy.toml).
#![deny(clippy::disallowed_methods, clippy::disallowed_types)]
// No panics on input, anywhere in the engine (style guide, "No panics on input"): tests may
// unwrap, the crate may not.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::unreachable,
        clippy::cast_possible_truncation
    )
)]

mod action;
mod config;
mod demux;
mod engine;
pub mod error;
mod instance;
mod state;
mod stats;
pub mod time;
pub mod timer;
pub mod timing;
pub mod track;
pub mod wire;

#[cfg(any(test, feature = "sim"))]
#[allow(
    clippy::panic,
    reason = "a test harness: a scenario that misuses it (an unknown VRID, an invalid config) or an \
              engine that emits an unsendable advert fails the test, as an assert! would"
)]
pub mod sim;

pub use action::Action;
pub use config::{GarpConfig, InitialState, InstanceConfig};
pub use demux::{AddError, InstanceId, Router};
pub use engine::{
    Engine, EngineAction, GroupError, GroupId, GroupSpec, InstanceRef, LinkId, SyncGroupOptions,
    UpdateError,
};
pub use error::{ConfigError, EmitError, PeerError, RxError, Scope};
pub use instance::{Instance, PRIORITY_OWNER, PRIORITY_STOP, ReconfigureError};
pub use state::{Event, FaultCause, FaultCauses, Reason, State};
pub use stats::{GlobalStats, InstanceStats};
pub use time::Instant;
pub use timing::{Centisecs, Version};
pub use track::{TrackKind, Tracked, TrackerId, TrackerUpdate, TrackerValue};
pub use wire::ChecksumCaps;
pub use wire::ip::RxMeta;
pub use wire::vrrp::{AddrList, Auth, Family, Packet, Repr};
