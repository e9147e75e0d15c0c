//! The BFD control packet codec ([RFC 5880 section 4.1]): parse and emit, symmetric, no panics.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Vers |  Diag   |Sta|P|F|C|A|D|M|  Detect Mult  |    Length     |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                       My Discriminator                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                      Your Discriminator                       |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                    Desired Min TX Interval                    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                   Required Min RX Interval                    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                 Required Min Echo RX Interval                 |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   Auth Type   |   Auth Len    |    Authentication Data...     |   (when A is set)
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! [`Repr::parse`] checks only the syntax (sizes, version, the length field against the
//! datagram and the authentication section's own length), so any packet that parses emits back
//! to the same bytes. The receive rules of section 6.8.6 that concern values (detect mult 0,
//! multipoint, zero discriminators) are [`Repr::check_reception`], each a counted [`RxError`].
//! Intervals are in microseconds, as on the wire.
//!
//! [RFC 5880 section 4.1]: https://www.rfc-editor.org/rfc/rfc5880#section-4.1

use crate::error::{ParseError, RxError};

/// The protocol version this codec speaks.
pub const VERSION: u8 = 1;
/// Size of the mandatory section: the whole packet when A is clear.
pub const HEADER_LEN: usize = 24;
/// The smallest authentication section (type, length, one byte of data).
const AUTH_MIN_LEN: usize = 3;

mod field {
    pub const VERS_DIAG: usize = 0;
    pub const FLAGS: usize = 1;
    pub const DETECT_MULT: usize = 2;
    pub const LENGTH: usize = 3;
    pub const MY_DISCR: core::ops::Range<usize> = 4..8;
    pub const YOUR_DISCR: core::ops::Range<usize> = 8..12;
    pub const DESIRED_MIN_TX: core::ops::Range<usize> = 12..16;
    pub const REQUIRED_MIN_RX: core::ops::Range<usize> = 16..20;
    pub const REQUIRED_MIN_ECHO_RX: core::ops::Range<usize> = 20..24;
}

const FLAG_P: u8 = 0x20;
const FLAG_F: u8 = 0x10;
const FLAG_C: u8 = 0x08;
const FLAG_A: u8 = 0x04;
const FLAG_D: u8 = 0x02;
const FLAG_M: u8 = 0x01;

/// Session state (section 4.1, "Sta"): all four 2-bit values are states.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// 0: the session is held down by its operator.
    AdminDown,
    /// 1.
    Down,
    /// 2.
    Init,
    /// 3.
    Up,
}

impl State {
    fn from_bits(bits: u8) -> State {
        match bits & 0x03 {
            0 => State::AdminDown,
            1 => State::Down,
            2 => State::Init,
            _ => State::Up,
        }
    }

    fn bits(self) -> u8 {
        match self {
            State::AdminDown => 0,
            State::Down => 1,
            State::Init => 2,
            State::Up => 3,
        }
    }

    /// keepalived's name for the state (`BFD_STATE_STR`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            State::AdminDown => "AdminDown",
            State::Down => "Down",
            State::Init => "Init",
            State::Up => "Up",
        }
    }
}

impl core::fmt::Display for State {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// Diagnostic code (section 4.1, "Diag"): 5 bits; values above 8 are kept as `Unknown`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Diag {
    /// 0.
    None,
    /// 1: the detection timer ran out.
    ControlDetectionTimeExpired,
    /// 2.
    EchoFunctionFailed,
    /// 3: the peer said Down (or AdminDown).
    NeighborSignaledDown,
    /// 4.
    ForwardingPlaneReset,
    /// 5.
    PathDown,
    /// 6.
    ConcatenatedPathDown,
    /// 7.
    AdministrativelyDown,
    /// 8.
    ReverseConcatenatedPathDown,
    /// 9..=31: reserved.
    Unknown(u8),
}

impl Diag {
    /// The code for the 5-bit field (only the low 5 bits are used).
    #[must_use]
    pub fn from_code(code: u8) -> Diag {
        match code & 0x1f {
            0 => Diag::None,
            1 => Diag::ControlDetectionTimeExpired,
            2 => Diag::EchoFunctionFailed,
            3 => Diag::NeighborSignaledDown,
            4 => Diag::ForwardingPlaneReset,
            5 => Diag::PathDown,
            6 => Diag::ConcatenatedPathDown,
            7 => Diag::AdministrativelyDown,
            8 => Diag::ReverseConcatenatedPathDown,
            other => Diag::Unknown(other),
        }
    }

    /// The 5-bit code.
    #[must_use]
    pub fn code(self) -> u8 {
        match self {
            Diag::None => 0,
            Diag::ControlDetectionTimeExpired => 1,
            Diag::EchoFunctionFailed => 2,
            Diag::NeighborSignaledDown => 3,
            Diag::ForwardingPlaneReset => 4,
            Diag::PathDown => 5,
            Diag::ConcatenatedPathDown => 6,
            Diag::AdministrativelyDown => 7,
            Diag::ReverseConcatenatedPathDown => 8,
            Diag::Unknown(c) => c & 0x1f,
        }
    }

    /// keepalived's text for the code (`BFD_DIAG_STR`).
    #[must_use]
    pub fn text(self) -> &'static str {
        match self {
            Diag::None => "No Diagnostic",
            Diag::ControlDetectionTimeExpired => "Control Detection Time Expired",
            Diag::EchoFunctionFailed => "Echo Function Failed",
            Diag::NeighborSignaledDown => "Neighbor Signaled Session Down",
            Diag::ForwardingPlaneReset => "Forwarding Plane Reset",
            Diag::PathDown => "Path Down",
            Diag::ConcatenatedPathDown => "Concatenated Path Down",
            Diag::AdministrativelyDown => "Administratively Down",
            Diag::ReverseConcatenatedPathDown => "Reverse Concatenated Path Down",
            Diag::Unknown(_) => "Unknown",
        }
    }
}

/// The optional authentication section (section 4.2), kept as bytes: this engine configures no
/// authentication (neither does keepalived), so a packet carrying one is parsed, then dropped by
/// the reception checks.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AuthSection {
    /// Auth Type (1 simple password, 2/3 keyed MD5, 4/5 keyed SHA1).
    pub auth_type: u8,
    /// Everything after the Auth Type and Auth Len bytes.
    pub data: Vec<u8>,
}

/// A control packet, owned and decoded.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Diagnostic code.
    pub diag: Diag,
    /// Sender's session state.
    pub state: State,
    /// P: Poll.
    pub poll: bool,
    /// F: Final.
    pub fin: bool,
    /// C: Control Plane Independent.
    pub cpi: bool,
    /// D: Demand.
    pub demand: bool,
    /// M: Multipoint (reserved, must be 0).
    pub multipoint: bool,
    /// Detect Mult.
    pub detect_mult: u8,
    /// My Discriminator.
    pub my_discr: u32,
    /// Your Discriminator.
    pub your_discr: u32,
    /// Desired Min TX Interval, µs.
    pub desired_min_tx_us: u32,
    /// Required Min RX Interval, µs.
    pub required_min_rx_us: u32,
    /// Required Min Echo RX Interval, µs.
    pub required_min_echo_rx_us: u32,
    /// The authentication section, present exactly when A is set.
    pub auth: Option<AuthSection>,
}

fn be32(data: &[u8], range: core::ops::Range<usize>) -> u32 {
    let mut b = [0u8; 4];
    if let Some(src) = data.get(range) {
        b.copy_from_slice(src);
    }
    u32::from_be_bytes(b)
}

fn byte(data: &[u8], at: usize) -> u8 {
    data.get(at).copied().unwrap_or(0)
}

impl Repr {
    /// Decodes one UDP payload. Checks sizes, the version, the Length field (equal to the
    /// datagram's size, as keepalived requires) and the authentication section's own length.
    pub fn parse(data: &[u8]) -> Result<Repr, ParseError> {
        if data.len() < HEADER_LEN {
            return Err(ParseError::Truncated { len: data.len() });
        }
        let vers = byte(data, field::VERS_DIAG) >> 5;
        if vers != VERSION {
            return Err(ParseError::BadVersion { version: vers });
        }
        let flags = byte(data, field::FLAGS);
        let length = usize::from(byte(data, field::LENGTH));
        let has_auth = flags & FLAG_A != 0;
        let min = if has_auth {
            HEADER_LEN + AUTH_MIN_LEN
        } else {
            HEADER_LEN
        };
        // Without authentication exactly 24 bytes (RFC 5880 allows more and ignores them, but
        // then emit(parse(x)) would differ from x; no implementation sends them).
        if length < min || length != data.len() || (!has_auth && length != HEADER_LEN) {
            return Err(ParseError::BadLength {
                field: byte(data, field::LENGTH),
                datagram: data.len(),
            });
        }
        let auth = if has_auth {
            let auth_type = byte(data, HEADER_LEN);
            let auth_len = usize::from(byte(data, HEADER_LEN + 1));
            if auth_len < AUTH_MIN_LEN || HEADER_LEN + auth_len != length {
                return Err(ParseError::BadAuthLength {
                    auth_len: byte(data, HEADER_LEN + 1),
                });
            }
            let data = data
                .get(HEADER_LEN + 2..length)
                .map(<[u8]>::to_vec)
                .unwrap_or_default();
            Some(AuthSection { auth_type, data })
        } else {
            None
        };
        Ok(Repr {
            diag: Diag::from_code(byte(data, field::VERS_DIAG)),
            state: State::from_bits(flags >> 6),
            poll: flags & FLAG_P != 0,
            fin: flags & FLAG_F != 0,
            cpi: flags & FLAG_C != 0,
            demand: flags & FLAG_D != 0,
            multipoint: flags & FLAG_M != 0,
            detect_mult: byte(data, field::DETECT_MULT),
            my_discr: be32(data, field::MY_DISCR),
            your_discr: be32(data, field::YOUR_DISCR),
            desired_min_tx_us: be32(data, field::DESIRED_MIN_TX),
            required_min_rx_us: be32(data, field::REQUIRED_MIN_RX),
            required_min_echo_rx_us: be32(data, field::REQUIRED_MIN_ECHO_RX),
            auth,
        })
    }

    /// Bytes [`emit`](Self::emit) writes: 24, plus the authentication section.
    #[must_use]
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN
            + self
                .auth
                .as_ref()
                .map_or(0, |a| 2usize.saturating_add(a.data.len()))
    }

    /// Encodes into `buf`, which must be at least [`buffer_len`](Self::buffer_len) bytes;
    /// returns the number of bytes written. An authentication section too long for the 8-bit
    /// length fields, or a buffer too short, is an error, never a panic.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, ParseError> {
        let len = self.buffer_len();
        let len_u8 = u8::try_from(len).map_err(|_| ParseError::TooLong { len })?;
        let out = buf
            .get_mut(..len)
            .ok_or(ParseError::BufferTooShort { need: len })?;
        out.fill(0);
        let mut flags = self.state.bits() << 6;
        for (set, bit) in [
            (self.poll, FLAG_P),
            (self.fin, FLAG_F),
            (self.cpi, FLAG_C),
            (self.auth.is_some(), FLAG_A),
            (self.demand, FLAG_D),
            (self.multipoint, FLAG_M),
        ] {
            if set {
                flags |= bit;
            }
        }
        let head = [
            (VERSION << 5) | self.diag.code(),
            flags,
            self.detect_mult,
            len_u8,
        ];
        for (dst, src) in out.iter_mut().zip(head) {
            *dst = src;
        }
        for (range, value) in [
            (field::MY_DISCR, self.my_discr),
            (field::YOUR_DISCR, self.your_discr),
            (field::DESIRED_MIN_TX, self.desired_min_tx_us),
            (field::REQUIRED_MIN_RX, self.required_min_rx_us),
            (field::REQUIRED_MIN_ECHO_RX, self.required_min_echo_rx_us),
        ] {
            if let Some(dst) = out.get_mut(range) {
                dst.copy_from_slice(&value.to_be_bytes());
            }
        }
        if let Some(auth) = &self.auth {
            let auth_len = len_u8.saturating_sub(24);
            if let Some(dst) = out.get_mut(HEADER_LEN..) {
                let mut it = dst.iter_mut();
                for b in [auth.auth_type, auth_len].iter().chain(auth.data.iter()) {
                    if let Some(d) = it.next() {
                        *d = *b;
                    }
                }
            }
        }
        Ok(len)
    }

    /// Encodes a packet without authentication into a fixed 24-byte array.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut buf = [0u8; HEADER_LEN];
        let plain = Repr {
            auth: None,
            ..self.clone()
        };
        // A packet without authentication is always exactly HEADER_LEN bytes.
        let _ = plain.emit(&mut buf);
        buf
    }

    /// The value checks of RFC 5880 section 6.8.6 that need no session, plus keepalived's two
    /// extra ones (P and F together; a diagnostic above 8).
    pub fn check_reception(&self) -> Result<(), RxError> {
        if self.detect_mult == 0 {
            return Err(RxError::ZeroDetectMult);
        }
        if self.multipoint {
            return Err(RxError::Multipoint);
        }
        if self.my_discr == 0 {
            return Err(RxError::ZeroMyDiscriminator);
        }
        if self.your_discr == 0 && !matches!(self.state, State::Down | State::AdminDown) {
            return Err(RxError::ZeroYourDiscriminator { state: self.state });
        }
        if self.poll && self.fin {
            return Err(RxError::PollAndFinal);
        }
        if let Diag::Unknown(code) = self.diag {
            return Err(RxError::BadDiag { code });
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "wire_tests.rs"]
mod tests;
