//! Errors: why a received packet was dropped ([`RxError`], one variant per counter), why an
//! advert could not be written ([`EmitError`]), and why a configuration was refused
//! ([`ConfigError`]).
//!
//! Receive errors are grouped by who counts them ([`Scope`]): RFC 6527 keeps checksum, version and
//! VRID errors per router (the `vrrpRouter*Errors` scalars, here [`crate::GlobalStats`]), and the
//! rest per virtual router (`vrrpStatistics*`, here [`crate::InstanceStats`]).

use core::fmt;
use core::net::IpAddr;

use crate::timing::Centisecs;

/// Who counts a receive error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The receiving router as a whole: the packet could not be given to an instance.
    Global,
    /// The virtual router the packet was addressed to.
    Instance,
}

/// Why a received packet was dropped (or, for [`RxError::AddressList`] outside strict mode and
/// for a v3 interval mismatch, only counted).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RxError {
    /// The IP datagram is shorter than its header or its total length says.
    IpTruncated {
        /// Bytes received.
        len: usize,
    },
    /// The IP header is malformed (bad version or header length).
    IpHeader {
        /// What was wrong.
        reason: &'static str,
    },
    /// The IP protocol / next header is not VRRP (112).
    IpProtocol {
        /// The protocol found.
        got: u8,
    },
    /// The VRRP message is shorter than its fixed header: no VRID can be read.
    Truncated {
        /// Bytes received.
        len: usize,
    },
    /// Unknown VRRP version, a version the instance does not run, or VRRPv2 over IPv6
    /// (`vrrpRouterVersionErrors`).
    Version {
        /// The version field.
        got: u8,
    },
    /// The checksum does not verify (`vrrpRouterChecksumErrors`).
    Checksum {
        /// The checksum field.
        got: u16,
    },
    /// No instance runs this VRID on this interface and family (`vrrpRouterVrIdErrors`).
    VridUnknown {
        /// The VRID.
        vrid: u8,
    },
    /// TTL / hop limit is not 255 (`vrrpStatisticsIpTtlErrors`).
    IpTtl {
        /// The TTL or hop limit received.
        got: u8,
    },
    /// The length does not agree with the address count (`vrrpStatisticsPacketLengthErrors`).
    PacketLength {
        /// Bytes the header implies.
        expected: usize,
        /// Bytes received.
        got: usize,
    },
    /// The type is not 1, ADVERTISEMENT (`vrrpStatisticsRcvdInvalidTypePackets`).
    InvalidType {
        /// The type field.
        got: u8,
    },
    /// VRRPv2 advert interval differs from ours (`vrrpStatsAdvertisementIntervalErrors`); v2
    /// drops the packet, v3 only counts it (but drops an interval of 0, which cannot be learned).
    AdverInterval {
        /// The interval in the packet.
        got: Centisecs,
        /// Our configured interval.
        expected: Centisecs,
    },
    /// An authentication type we do not know (`vrrpStatsInvalidAuthType`).
    InvalidAuthType {
        /// The auth type field.
        got: u8,
    },
    /// A known authentication type other than ours, or an AH header on an instance without
    /// `auth_type AH` (or none on one with it) (`vrrpStatsAuthTypeMismatch`).
    AuthTypeMismatch {
        /// The auth type field.
        got: u8,
        /// Ours.
        expected: u8,
    },
    /// The simple password differs (`vrrpStatsAuthFailures`).
    AuthFailure,
    /// IPsec AH: the ICV does not verify with our key: another password, or the packet was
    /// changed (`vrrpStatsAuthFailures`).
    AhIcv,
    /// IPsec AH: the SPI is not the sender's address (`vrrpStatsAuthFailures`).
    AhSpi {
        /// The SPI received.
        spi: u32,
    },
    /// IPsec AH: a sequence number not above the last one accepted or sent, a replay
    /// (`vrrpStatsAuthFailures`).
    AhReplay {
        /// The sequence number received.
        seq: u32,
        /// Ours: the highest accepted or sent.
        last: u32,
    },
    /// IPsec AH protecting another protocol than VRRP (dropped, counted as an IP error).
    AhNextHeader {
        /// The Next Header field.
        got: u8,
    },
    /// The address list differs from our virtual addresses (`vrrpStatisticsAddressListErrors`).
    AddressList,
}

impl RxError {
    /// Who counts this error.
    #[must_use]
    pub fn scope(&self) -> Scope {
        match self {
            RxError::IpTruncated { .. }
            | RxError::IpHeader { .. }
            | RxError::IpProtocol { .. }
            | RxError::AhNextHeader { .. }
            | RxError::Truncated { .. }
            | RxError::Version { .. }
            | RxError::Checksum { .. }
            | RxError::VridUnknown { .. } => Scope::Global,
            _ => Scope::Instance,
        }
    }

    /// The name of the counter this error increments, in keepalived's / RFC 6527's words.
    #[must_use]
    pub fn counter(&self) -> &'static str {
        match self {
            RxError::IpTruncated { .. }
            | RxError::IpHeader { .. }
            | RxError::IpProtocol { .. }
            | RxError::AhNextHeader { .. } => "ip_errors",
            RxError::Truncated { .. } | RxError::PacketLength { .. } => "packet_length_errors",
            RxError::Version { .. } => "version_errors",
            RxError::Checksum { .. } => "checksum_errors",
            RxError::VridUnknown { .. } => "vrid_errors",
            RxError::IpTtl { .. } => "ip_ttl_errors",
            RxError::InvalidType { .. } => "invalid_type_rcvd",
            RxError::AdverInterval { .. } => "advert_interval_errors",
            RxError::InvalidAuthType { .. } => "invalid_authtype",
            RxError::AuthTypeMismatch { .. } => "authtype_mismatch",
            RxError::AuthFailure
            | RxError::AhIcv
            | RxError::AhSpi { .. }
            | RxError::AhReplay { .. } => "auth_failures",
            RxError::AddressList => "addr_list_errors",
        }
    }

    /// Attaches the sender, for logs ("errors carry the place").
    #[must_use]
    pub fn from_peer(self, peer: IpAddr) -> PeerError {
        PeerError { peer, error: self }
    }
}

impl fmt::Display for RxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RxError::IpTruncated { len } => write!(f, "IP datagram truncated ({len} bytes)"),
            RxError::IpHeader { reason } => write!(f, "malformed IP header: {reason}"),
            RxError::IpProtocol { got } => write!(f, "IP protocol {got} is not VRRP (112)"),
            RxError::Truncated { len } => {
                write!(f, "VRRP message truncated ({len} bytes, header is 8)")
            }
            RxError::Version { got } => write!(f, "unexpected VRRP version {got}"),
            RxError::Checksum { got } => write!(f, "bad checksum {got:#06x}"),
            RxError::VridUnknown { vrid } => write!(f, "no instance for VRID {vrid}"),
            RxError::IpTtl { got } => write!(f, "TTL / hop limit {got}, expected 255"),
            RxError::PacketLength { expected, got } => {
                write!(f, "length {got} bytes, address count implies {expected}")
            }
            RxError::InvalidType { got } => write!(f, "invalid VRRP type {got}"),
            RxError::AdverInterval { got, expected } => {
                write!(
                    f,
                    "advertisement interval {got} differs from ours, {expected}"
                )
            }
            RxError::InvalidAuthType { got } => write!(f, "invalid authentication type {got}"),
            RxError::AuthTypeMismatch { got, expected } => {
                write!(f, "authentication type {got}, ours is {expected}")
            }
            RxError::AuthFailure => f.write_str("authentication failure (password mismatch)"),
            RxError::AhIcv => f.write_str("IPsec AH: invalid HMAC-MD5 value (bad password?)"),
            RxError::AhSpi { spi } => write!(f, "IPsec AH: SPI {spi:#010x} is not the sender"),
            RxError::AhReplay { seq, last } => write!(
                f,
                "IPsec AH: sequence number {seq} already processed (ours {last})"
            ),
            RxError::AhNextHeader { got } => {
                write!(f, "IPsec AH protects protocol {got}, not VRRP")
            }
            RxError::AddressList => f.write_str("address list differs from our virtual addresses"),
        }
    }
}

impl std::error::Error for RxError {}

/// A receive error with the sender's address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerError {
    /// The sender.
    pub peer: IpAddr,
    /// What was wrong.
    pub error: RxError,
}

impl fmt::Display for PeerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "advert from {}: {}", self.peer, self.error)
    }
}

impl std::error::Error for PeerError {}

/// Why an advert could not be written.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EmitError {
    /// The buffer is not [`crate::Repr::buffer_len`] bytes or more.
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        got: usize,
    },
    /// More than 255 addresses.
    TooManyAddresses(usize),
    /// VRRPv2 carries only IPv4 addresses.
    V2NotIpv4,
    /// Authentication exists only in VRRPv2.
    AuthOnV3,
    /// The interval does not fit the field (v2: whole seconds 0..=255; v3: 0..=4095 cs).
    Interval(Centisecs),
    /// The source or destination address is not of the advert's family.
    FamilyMismatch,
}

impl fmt::Display for EmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EmitError::BufferTooSmall { needed, got } => {
                write!(f, "buffer of {got} bytes, advert needs {needed}")
            }
            EmitError::TooManyAddresses(n) => write!(f, "{n} addresses, at most 255"),
            EmitError::V2NotIpv4 => f.write_str("VRRPv2 carries only IPv4 addresses"),
            EmitError::AuthOnV3 => f.write_str("authentication exists only in VRRPv2"),
            EmitError::Interval(i) => write!(f, "interval {i} does not fit the advert"),
            EmitError::FamilyMismatch => f.write_str("addresses of different families"),
        }
    }
}

impl std::error::Error for EmitError {}

/// Why an instance configuration was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// VRID 0 is reserved.
    Vrid(u8),
    /// Priority 0 is reserved for resigning masters.
    Priority(u8),
    /// The interval is zero or does not fit the version's field.
    AdverInterval(Centisecs),
    /// `down_timer_adverts` must be at least 1.
    DownTimerAdverts(u8),
    /// `garp_master_refresh` of zero (use `None` for off).
    GarpRefreshZero,
    /// VRRPv2 runs over IPv4 only.
    V2NotIpv4,
    /// Authentication exists only in VRRPv2.
    AuthOnV3,
    /// The primary address and the virtual addresses are not of one family.
    FamilyMismatch,
    /// More than 255 virtual addresses in the advert.
    TooManyAddresses(usize),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Vrid(v) => write!(f, "virtual_router_id {v} out of range 1..255"),
            ConfigError::Priority(p) => write!(f, "priority {p} out of range 1..255"),
            ConfigError::AdverInterval(i) => {
                write!(f, "advert_int {i} is zero or too large for this version")
            }
            ConfigError::DownTimerAdverts(n) => write!(f, "down_timer_adverts {n} must be >= 1"),
            ConfigError::GarpRefreshZero => {
                f.write_str("garp_master_refresh must not be 0 (off is none)")
            }
            ConfigError::V2NotIpv4 => f.write_str("VRRPv2 runs over IPv4 only"),
            ConfigError::AuthOnV3 => f.write_str("authentication is only valid with VRRPv2"),
            ConfigError::FamilyMismatch => {
                f.write_str("primary and virtual addresses are of different families")
            }
            ConfigError::TooManyAddresses(n) => write!(f, "{n} virtual addresses, at most 255"),
        }
    }
}

impl std::error::Error for ConfigError {}
