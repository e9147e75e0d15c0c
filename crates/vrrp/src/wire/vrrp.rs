//! VRRP advertisements: VRRPv2 ([RFC 3768 §5.1](https://www.rfc-editor.org/rfc/rfc3768#section-5.1))
//! and VRRPv3 ([RFC 9568 §5.1](https://www.rfc-editor.org/rfc/rfc9568#section-5.1)).
//!
//! ```text
//! VRRPv2                                       VRRPv3
//!  0       4       8               16              24             31
//! +-------+-------+---------------+---------------+---------------+
//! |Version| Type  | Virtual Rtr ID|   Priority    | Count IP Addrs|   (both)
//! +-------+-------+---------------+---------------+---------------+
//! |   Auth Type   |   Adver Int   |           Checksum            |   v2
//! |(rsvd) |     Max Adver Int     |           Checksum            |   v3
//! +---------------+---------------+-------------------------------+
//! |         Count IP Addrs addresses (4 bytes each; v3: 16 for IPv6)    |
//! +---------------------------------------------------------------+
//! |            Authentication Data (v2 only, 8 bytes)             |
//! +---------------------------------------------------------------+
//! ```
//!
//! The v2 interval is whole seconds (8 bits); the v3 interval is centiseconds (12 bits). Both are
//! [`Centisecs`] in [`Repr`]. The v2 checksum covers the VRRP message; the v3 checksum also
//! covers the IPv4 or IPv6 pseudo-header (RFC 9568 §5.2.8), unless
//! [`ChecksumCaps::v3_checksum_as_v2`] says otherwise for IPv4.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::checksum;
use super::ip::PROTO_VRRP;
use super::{ChecksumCaps, read_u16, read_v4, read_v6};
use crate::error::{EmitError, RxError};
use crate::timing::{Centisecs, Version};

/// Length of the fixed header.
pub const HEADER_LEN: usize = 8;
/// Length of the VRRPv2 authentication data.
pub const AUTH_DATA_LEN: usize = 8;
/// The only VRRP message type: ADVERTISEMENT.
pub const TYPE_ADVERTISEMENT: u8 = 1;
/// VRRPv2 auth type 0: no authentication.
pub const AUTH_NONE: u8 = 0;
/// VRRPv2 auth type 1: simple text password.
pub const AUTH_SIMPLE: u8 = 1;
/// VRRPv2 auth type 2: IP Authentication Header (RFC 2338 §5.3.6.3; see [`super::ah`]).
pub const AUTH_IP_AH: u8 = 2;

mod field {
    use core::ops::Range;
    pub const VER_TYPE: usize = 0;
    pub const VRID: usize = 1;
    pub const PRIORITY: usize = 2;
    pub const COUNT: usize = 3;
    pub const AUTH_TYPE: usize = 4;
    pub const ADVER_INT_V2: usize = 5;
    pub const MAX_ADVER_INT_V3: Range<usize> = 4..6;
    pub const CHECKSUM: Range<usize> = 6..8;
    pub const ADDRS: usize = 8;
}

/// VRRPv2 authentication.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Auth {
    /// Type 0 (always, in VRRPv3).
    #[default]
    None,
    /// Type 1: an 8-byte password, zero-padded.
    Simple([u8; AUTH_DATA_LEN]),
    /// Type 2: the advert travels behind an IPsec AH ([`super::ah`]); its Authentication Data
    /// is zero.
    IpAh,
}

impl Auth {
    /// A simple password as keepalived's `auth_pass`: cut to 8 bytes and zero-padded.
    #[must_use]
    pub fn simple(pass: &[u8]) -> Self {
        let mut data = [0; AUTH_DATA_LEN];
        for (d, s) in data.iter_mut().zip(pass) {
            *d = *s;
        }
        Auth::Simple(data)
    }

    /// The auth type number.
    #[must_use]
    pub const fn type_number(&self) -> u8 {
        match self {
            Auth::None => AUTH_NONE,
            Auth::Simple(_) => AUTH_SIMPLE,
            Auth::IpAh => AUTH_IP_AH,
        }
    }
}

/// An address family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

impl Family {
    /// The family of `addr`.
    #[must_use]
    pub const fn of(addr: &IpAddr) -> Self {
        match addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }

    /// Bytes per address.
    #[must_use]
    pub const fn addr_len(self) -> usize {
        match self {
            Family::V4 => 4,
            Family::V6 => 16,
        }
    }
}

/// The addresses in an advert, all of one family.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AddrList {
    /// IPv4 addresses.
    V4(Vec<Ipv4Addr>),
    /// IPv6 addresses.
    V6(Vec<Ipv6Addr>),
}

impl AddrList {
    /// An empty list of `family`.
    #[must_use]
    pub const fn empty(family: Family) -> Self {
        match family {
            Family::V4 => AddrList::V4(Vec::new()),
            Family::V6 => AddrList::V6(Vec::new()),
        }
    }

    /// The family.
    #[must_use]
    pub const fn family(&self) -> Family {
        match self {
            AddrList::V4(_) => Family::V4,
            AddrList::V6(_) => Family::V6,
        }
    }

    /// Number of addresses.
    #[must_use]
    pub fn len(&self) -> usize {
        match self {
            AddrList::V4(v) => v.len(),
            AddrList::V6(v) => v.len(),
        }
    }

    /// Whether the list is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The addresses as [`IpAddr`].
    pub fn iter(&self) -> impl Iterator<Item = IpAddr> + '_ {
        let (v4, v6) = match self {
            AddrList::V4(v) => (v.as_slice(), &[][..]),
            AddrList::V6(v) => (&[][..], v.as_slice()),
        };
        v4.iter()
            .map(|a| IpAddr::V4(*a))
            .chain(v6.iter().map(|a| IpAddr::V6(*a)))
    }

    /// Whether both lists hold the same set of addresses, in any order.
    #[must_use]
    pub fn same_set(&self, other: &AddrList) -> bool {
        fn sorted<T: Ord + Copy>(v: &[T]) -> Vec<T> {
            let mut s = v.to_vec();
            s.sort_unstable();
            s.dedup();
            s
        }
        match (self, other) {
            (AddrList::V4(a), AddrList::V4(b)) => sorted(a) == sorted(b),
            (AddrList::V6(a), AddrList::V6(b)) => sorted(a) == sorted(b),
            _ => false,
        }
    }
}

/// A view of a VRRP message. After [`Packet::new_checked`], no accessor panics (reads past the
/// end of a short buffer yield zeros; [`Repr::parse`] checks the length before using them).
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps `buffer` after checking it holds the fixed header, so VRID and version can be read.
    pub fn new_checked(buffer: T) -> Result<Self, RxError> {
        let len = buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(RxError::Truncated { len });
        }
        Ok(Packet { buffer })
    }

    fn byte(&self, i: usize) -> u8 {
        self.buffer.as_ref().get(i).copied().unwrap_or(0)
    }

    /// The 4-bit version field.
    #[must_use]
    pub fn version(&self) -> u8 {
        self.byte(field::VER_TYPE) >> 4
    }

    /// The 4-bit type field.
    #[must_use]
    pub fn msg_type(&self) -> u8 {
        self.byte(field::VER_TYPE) & 0x0f
    }

    /// Virtual Router ID.
    #[must_use]
    pub fn vrid(&self) -> u8 {
        self.byte(field::VRID)
    }

    /// Priority.
    #[must_use]
    pub fn priority(&self) -> u8 {
        self.byte(field::PRIORITY)
    }

    /// Count IP Addrs.
    #[must_use]
    pub fn count(&self) -> u8 {
        self.byte(field::COUNT)
    }

    /// VRRPv2 Auth Type.
    #[must_use]
    pub fn auth_type(&self) -> u8 {
        self.byte(field::AUTH_TYPE)
    }

    /// VRRPv2 Adver Int, in seconds.
    #[must_use]
    pub fn adver_int_v2(&self) -> u8 {
        self.byte(field::ADVER_INT_V2)
    }

    /// VRRPv3 Max Adver Int, in centiseconds (the reserved bits masked off).
    #[must_use]
    pub fn max_adver_int_v3(&self) -> Centisecs {
        Centisecs(read_u16(self.buffer.as_ref(), field::MAX_ADVER_INT_V3) & 0x0fff)
    }

    /// Checksum.
    #[must_use]
    pub fn checksum(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::CHECKSUM)
    }

    /// The message length the header implies for `version` and `family`.
    #[must_use]
    pub fn expected_len(&self, version: Version, family: Family) -> usize {
        let auth = if version == Version::V2 {
            AUTH_DATA_LEN
        } else {
            0
        };
        HEADER_LEN + usize::from(self.count()) * family.addr_len() + auth
    }

    /// The `i`th IPv4 address.
    #[must_use]
    pub fn addr_v4(&self, i: usize) -> Ipv4Addr {
        read_v4(self.buffer.as_ref(), field::ADDRS + 4 * i)
    }

    /// The `i`th IPv6 address.
    #[must_use]
    pub fn addr_v6(&self, i: usize) -> Ipv6Addr {
        read_v6(self.buffer.as_ref(), field::ADDRS + 16 * i)
    }

    /// VRRPv2 Authentication Data (the 8 bytes after the addresses).
    #[must_use]
    pub fn auth_data(&self) -> [u8; AUTH_DATA_LEN] {
        let at = field::ADDRS + usize::from(self.count()) * 4;
        self.buffer
            .as_ref()
            .get(at..at + AUTH_DATA_LEN)
            .and_then(|s| <[u8; AUTH_DATA_LEN]>::try_from(s).ok())
            .unwrap_or([0; AUTH_DATA_LEN])
    }

    /// The whole message.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// The checksum of `msg` as sent from `src` to `dst`: over the pseudo-header for VRRPv3 (unless
/// `as_v2` and IPv4), over the message alone for VRRPv2. A message whose checksum field is filled
/// verifies to zero.
#[must_use]
pub fn compute_checksum(
    version: Version,
    as_v2: bool,
    src: IpAddr,
    dst: IpAddr,
    msg: &[u8],
) -> u16 {
    let as_v2 = as_v2 && Family::of(&src) == Family::V4;
    let start = match version {
        Version::V3 if !as_v2 => checksum::pseudo_header(
            src,
            dst,
            PROTO_VRRP,
            u32::try_from(msg.len()).unwrap_or(u32::MAX),
        ),
        _ => 0,
    };
    checksum::finish(checksum::accumulate(start, msg))
}

/// An advert, parsed and validated as far as the message alone allows.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Protocol version.
    pub version: Version,
    /// Virtual Router ID.
    pub vrid: u8,
    /// Priority; 0 means the master is resigning.
    pub priority: u8,
    /// v2 Adver Int (whole seconds) or v3 Max Adver Int, in centiseconds.
    pub adver_int: Centisecs,
    /// Authentication ([`Auth::None`] in v3).
    pub auth: Auth,
    /// The virtual addresses; the count on the wire is derived from this.
    pub addrs: AddrList,
}

impl Repr {
    /// Parses and validates `packet`, received from `src` to `dst` (the family comes from `src`).
    ///
    /// Checks, in order: version (2 or 3; 2 only over IPv4), length against the address count,
    /// checksum, type, and the v2 auth type (0, 1 and 2 are known). Checks that need the
    /// instance (VRID, TTL, auth match, interval) are the instance's.
    pub fn parse<T: AsRef<[u8]>>(
        packet: &Packet<T>,
        src: IpAddr,
        dst: IpAddr,
        caps: ChecksumCaps,
    ) -> Result<Repr, RxError> {
        let family = Family::of(&src);
        let version = match Version::from_number(packet.version()) {
            Some(Version::V2) if family == Family::V6 => None,
            v => v,
        }
        .ok_or(RxError::Version {
            got: packet.version(),
        })?;
        let got = packet.as_bytes().len();
        let expected = packet.expected_len(version, family);
        if got != expected {
            return Err(RxError::PacketLength { expected, got });
        }
        if caps.verify && !super::FUZZING {
            let msg = packet.as_bytes();
            let ok = compute_checksum(version, false, src, dst, msg) == 0
                || (caps.v3_checksum_as_v2
                    && family == Family::V4
                    && compute_checksum(version, true, src, dst, msg) == 0);
            if !ok {
                return Err(RxError::Checksum {
                    got: packet.checksum(),
                });
            }
        }
        if packet.msg_type() != TYPE_ADVERTISEMENT {
            return Err(RxError::InvalidType {
                got: packet.msg_type(),
            });
        }
        let (adver_int, auth) = match version {
            Version::V2 => {
                let auth = match packet.auth_type() {
                    AUTH_NONE => Auth::None,
                    AUTH_SIMPLE => Auth::Simple(packet.auth_data()),
                    AUTH_IP_AH => Auth::IpAh,
                    got => return Err(RxError::InvalidAuthType { got }),
                };
                (Centisecs::from_secs(u16::from(packet.adver_int_v2())), auth)
            }
            Version::V3 => (packet.max_adver_int_v3(), Auth::None),
        };
        let count = usize::from(packet.count());
        let addrs = match family {
            Family::V4 => AddrList::V4((0..count).map(|i| packet.addr_v4(i)).collect()),
            Family::V6 => AddrList::V6((0..count).map(|i| packet.addr_v6(i)).collect()),
        };
        Ok(Repr {
            version,
            vrid: packet.vrid(),
            priority: packet.priority(),
            adver_int,
            auth,
            addrs,
        })
    }

    /// Parses a VRRP message from raw bytes; see [`Repr::parse`].
    pub fn parse_bytes(
        bytes: &[u8],
        src: IpAddr,
        dst: IpAddr,
        caps: ChecksumCaps,
    ) -> Result<Repr, RxError> {
        Repr::parse(&Packet::new_checked(bytes)?, src, dst, caps)
    }

    /// The family of the addresses.
    #[must_use]
    pub fn family(&self) -> Family {
        self.addrs.family()
    }

    /// Bytes [`Repr::emit`] writes.
    #[must_use]
    pub fn buffer_len(&self) -> usize {
        let auth = if self.version == Version::V2 {
            AUTH_DATA_LEN
        } else {
            0
        };
        HEADER_LEN + self.addrs.len() * self.family().addr_len() + auth
    }

    fn check_emittable(&self, src: IpAddr, dst: IpAddr) -> Result<(u8, [u8; 2]), EmitError> {
        let count = u8::try_from(self.addrs.len())
            .map_err(|_| EmitError::TooManyAddresses(self.addrs.len()))?;
        let int_field = match self.version {
            Version::V2 => {
                if self.family() != Family::V4 {
                    return Err(EmitError::V2NotIpv4);
                }
                let secs = self
                    .adver_int
                    .whole_secs()
                    .and_then(|s| u8::try_from(s).ok())
                    .ok_or(EmitError::Interval(self.adver_int))?;
                [self.auth.type_number(), secs]
            }
            Version::V3 => {
                if self.auth != Auth::None {
                    return Err(EmitError::AuthOnV3);
                }
                if self.adver_int > Centisecs::MAX_V3 {
                    return Err(EmitError::Interval(self.adver_int));
                }
                if Family::of(&src) != self.family() || Family::of(&dst) != self.family() {
                    return Err(EmitError::FamilyMismatch);
                }
                self.adver_int.0.to_be_bytes()
            }
        };
        Ok((count, int_field))
    }

    /// Writes the advert, as sent from `src` to `dst`, into the first [`Repr::buffer_len`] bytes
    /// of `buf`, checksum included; returns the length written.
    pub fn emit(
        &self,
        buf: &mut [u8],
        src: IpAddr,
        dst: IpAddr,
        caps: ChecksumCaps,
    ) -> Result<usize, EmitError> {
        let (count, int_field) = self.check_emittable(src, dst)?;
        let len = self.buffer_len();
        let got = buf.len();
        let msg = buf
            .get_mut(..len)
            .ok_or(EmitError::BufferTooSmall { needed: len, got })?;
        msg.fill(0);
        msg[field::VER_TYPE] = (self.version.number() << 4) | TYPE_ADVERTISEMENT;
        msg[field::VRID] = self.vrid;
        msg[field::PRIORITY] = self.priority;
        msg[field::COUNT] = count;
        msg[field::MAX_ADVER_INT_V3].copy_from_slice(&int_field);
        let mut at = field::ADDRS;
        match &self.addrs {
            AddrList::V4(v) => {
                for (slot, a) in msg[at..].chunks_exact_mut(4).zip(v) {
                    slot.copy_from_slice(&a.octets());
                }
                at += 4 * v.len();
            }
            AddrList::V6(v) => {
                for (slot, a) in msg[at..].chunks_exact_mut(16).zip(v) {
                    slot.copy_from_slice(&a.octets());
                }
                at += 16 * v.len();
            }
        }
        if let (Version::V2, Auth::Simple(data)) = (self.version, &self.auth) {
            msg[at..at + AUTH_DATA_LEN].copy_from_slice(data);
        }
        let c = compute_checksum(self.version, caps.v3_checksum_as_v2, src, dst, msg);
        msg[field::CHECKSUM].copy_from_slice(&c.to_be_bytes());
        Ok(len)
    }

    /// Emits into a new vector; see [`Repr::emit`].
    pub fn to_bytes(
        &self,
        src: IpAddr,
        dst: IpAddr,
        caps: ChecksumCaps,
    ) -> Result<Vec<u8>, EmitError> {
        let mut buf = vec![0; self.buffer_len()];
        self.emit(&mut buf, src, dst, caps)?;
        Ok(buf)
    }
}

#[cfg(test)]
#[path = "vrrp_tests.rs"]
mod tests;
