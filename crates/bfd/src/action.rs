//! What the engine asks its driver to do ([`Action`]): send a packet, report a state, log a line.

use core::net::{IpAddr, SocketAddr};

use crate::wire::{Diag, HEADER_LEN, State};

/// A session's handle, stable for the session's life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionId(pub u32);

/// One effect for the driver, in the order queued.
#[must_use]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Send a control packet.
    Send(Transmit),
    /// A session's verdict for trackers changed (keepalived's `bfd_event_send`).
    State(StateChange),
    /// A line for the log, in keepalived's words.
    Log(Log),
}

/// A control packet to send: a UDP datagram from `src`:`src_port` to `dst` with IP TTL (or hop
/// limit) `ttl`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// The session sending it.
    pub session: SessionId,
    /// The local address (`source_ip`), or `None` for the kernel's choice.
    pub src: Option<IpAddr>,
    /// The session's source port (49152..=65535, fixed for the session: RFC 5881 section 4).
    pub src_port: u16,
    /// The neighbour and port 3784 (single-hop) or 4784 (multihop).
    pub dst: SocketAddr,
    /// TTL / hop limit to send with.
    pub ttl: u8,
    /// The UDP payload (this engine sends no authentication section).
    pub payload: [u8; HEADER_LEN],
}

/// Up or Down for trackers. keepalived reports Up only in Up; Down, Init and AdminDown are down.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateChange {
    /// The session.
    pub session: SessionId,
    /// Its `bfd_instance` name.
    pub name: String,
    /// True when the session is Up.
    pub up: bool,
    /// The session's state now.
    pub state: State,
    /// The local diagnostic (why it went down).
    pub diag: Diag,
}

/// Severity of a [`Log`] line (syslog's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Detail (keepalived logs these only with `-D`).
    Debug,
    /// LOG_INFO.
    Info,
    /// LOG_WARNING.
    Warning,
}

/// A log line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Log {
    /// Severity.
    pub level: Level,
    /// The text, in keepalived's words (`(NAME) Entering Up state`).
    pub text: String,
}
