//! Errors of the codec ([`ParseError`]), of reception ([`RxError`], one variant per counter) and
//! of configuration ([`ConfigError`]).

use core::fmt;
use core::net::IpAddr;

use crate::wire::State;

/// A datagram that is not a well-formed BFD control packet (or a `Repr` that cannot be emitted).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseError {
    /// Shorter than the 24-byte mandatory section.
    Truncated {
        /// The datagram's size.
        len: usize,
    },
    /// Version other than 1.
    BadVersion {
        /// The version field.
        version: u8,
    },
    /// The Length field is below the minimum or differs from the datagram's size.
    BadLength {
        /// The Length field.
        field: u8,
        /// The datagram's size.
        datagram: usize,
    },
    /// The authentication section's Auth Len does not fill the packet.
    BadAuthLength {
        /// The Auth Len field.
        auth_len: u8,
    },
    /// Emit: the packet would exceed the 8-bit Length field.
    TooLong {
        /// The length it would have.
        len: usize,
    },
    /// Emit: the output buffer is too short.
    BufferTooShort {
        /// Bytes needed.
        need: usize,
    },
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Truncated { len } => write!(f, "Packet is too small: {len} bytes"),
            ParseError::BadVersion { version } => {
                write!(f, "Packet is of unsupported version: {version}")
            }
            ParseError::BadLength { field, datagram } if usize::from(*field) != *datagram => {
                write!(
                    f,
                    "Packet size mismatch: length field: {field} bytes, buffer size: {datagram} bytes"
                )
            }
            ParseError::BadLength { field, .. } => write!(
                f,
                "Packet length {field} is invalid (24 bytes without authentication, 27 or more with)"
            ),
            ParseError::BadAuthLength { auth_len } => {
                write!(f, "Packet authentication length {auth_len} is invalid")
            }
            ParseError::TooLong { len } => write!(f, "packet of {len} bytes exceeds 255"),
            ParseError::BufferTooShort { need } => write!(f, "buffer shorter than {need} bytes"),
        }
    }
}

impl std::error::Error for ParseError {}

/// Why a received datagram was dropped: each variant is one counter in [`crate::GlobalStats`]
/// (and, once a session is found, in its [`crate::SessionStats`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RxError {
    /// Not a well-formed control packet.
    Parse(ParseError),
    /// Detect Mult is zero.
    ZeroDetectMult,
    /// The Multipoint bit is set.
    Multipoint,
    /// My Discriminator is zero.
    ZeroMyDiscriminator,
    /// Your Discriminator is zero while the sender is neither Down nor AdminDown.
    ZeroYourDiscriminator {
        /// The sender's state.
        state: State,
    },
    /// Poll and Final both set (keepalived's extra check).
    PollAndFinal,
    /// A diagnostic code above 8 (keepalived's extra check).
    BadDiag {
        /// The code.
        code: u8,
    },
    /// Your Discriminator names no session.
    UnknownDiscriminator {
        /// The Your Discriminator field.
        your_discr: u32,
    },
    /// Your Discriminator is zero and no session has this neighbour and local address.
    NoSession {
        /// The packet's source.
        src: IpAddr,
    },
    /// The session exists but the packet came on the other port (single-hop vs multihop).
    WrongPort,
    /// The TTL or hop limit is below the configured minimum (RFC 5881 GTSM, RFC 5883 max_hops).
    BadTtl {
        /// The received TTL.
        ttl: u8,
        /// The least accepted.
        min: u8,
    },
    /// The A bit is set but the session uses no authentication.
    AuthNotConfigured,
    /// The session is AdminDown: packets are discarded.
    AdminDown,
}

impl From<ParseError> for RxError {
    fn from(e: ParseError) -> Self {
        RxError::Parse(e)
    }
}

impl fmt::Display for RxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RxError::Parse(e) => e.fmt(f),
            RxError::ZeroDetectMult => f.write_str("Packet 'detection multiplier' field is zero"),
            RxError::Multipoint => f.write_str("Packet has 'multipoint' flag"),
            RxError::ZeroMyDiscriminator => f.write_str("Packet 'my discriminator' field is zero"),
            RxError::ZeroYourDiscriminator { .. } => f.write_str(
                "Packet 'your discriminator' field is zero and 'state' field is not Down or AdminDown",
            ),
            RxError::PollAndFinal => f.write_str("Packet has both poll and final flags set"),
            RxError::BadDiag { code } => write!(f, "Packet has invalid 'diag' field: {code}"),
            RxError::UnknownDiscriminator { your_discr } => write!(
                f,
                "session is not found - your discriminator field is 0x{your_discr:08x}"
            ),
            RxError::NoSession { src } => {
                write!(f, "session is not found - no session for neighbor {src}")
            }
            RxError::WrongPort => f.write_str("packet on the wrong port (single-hop/multihop)"),
            RxError::BadTtl { ttl, min } => write!(f, "Packet ttl({ttl}) < {min} - discarding"),
            RxError::AuthNotConfigured => {
                f.write_str("auth bit is set, but no authentication is in use")
            }
            RxError::AdminDown => f.write_str("session is in AdminDown state"),
        }
    }
}

impl std::error::Error for RxError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RxError::Parse(e) => Some(e),
            _ => None,
        }
    }
}

/// A session configuration the engine refuses.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// `multiplier` 0.
    ZeroMultiplier,
    /// An interval of 0 or beyond what the wire's 32-bit microseconds hold.
    BadInterval {
        /// The keyword.
        name: &'static str,
    },
    /// `source_ip` and `neighbor_ip` of different families.
    FamilyMismatch,
    /// A reconfiguration changes the neighbour, source or port kind: that is another session.
    IdentityChanged,
    /// No session has this handle.
    UnknownSession,
    /// Another session already has this neighbour, local address and port kind.
    Duplicate {
        /// The other session's name.
        other: String,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::ZeroMultiplier => f.write_str("multiplier must be at least 1"),
            ConfigError::BadInterval { name } => write!(f, "{name} is out of range"),
            ConfigError::FamilyMismatch => {
                f.write_str("source and neighbor are not of the same family")
            }
            ConfigError::IdentityChanged => f.write_str(
                "neighbor, source or multihop changed: remove the session and add a new one",
            ),
            ConfigError::UnknownSession => f.write_str("no such BFD session"),
            ConfigError::Duplicate { other } => write!(
                f,
                "duplicates the neighbor/source address of BFD instance {other}"
            ),
        }
    }
}

impl std::error::Error for ConfigError {}
