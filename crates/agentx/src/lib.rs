//! keepalived-rs's AgentX (RFC 2741) subagent protocol, without I/O: the PDUs a subagent sends
//! and receives ([`pdu`]) and the answers to Get, GetNext and GetBulk from a [`View`] of the
//! MIB ([`view`]).
//!
//! Written by hand: the one AgentX crate (`agentx` 0.1) holds an OCTET STRING in a `String`,
//! so it cannot carry the binary values keepalived's MIBs are full of (an `InetAddress` is four
//! or sixteen raw bytes), and it has had no release since 2023. The codec here is small (the
//! subagent's half of RFC 2741 section 6) and is tested on random PDUs.
//!
//! # Determinism contract
//! Nothing here reads a clock or touches a socket: bytes and views in, bytes and answers out.

#![forbid(unsafe_code)]
#![deny(clippy::disallowed_methods, clippy::disallowed_types)]
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

pub mod pdu;
pub mod view;

pub use pdu::{Header, Oid, Pdu, PduError, SearchRange, Value, VarBind};
pub use view::View;
