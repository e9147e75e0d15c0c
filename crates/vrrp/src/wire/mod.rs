//! The wire formats: VRRP adverts ([`vrrp`]), the IP headers they arrive in ([`ip`]) and the
//! Internet checksum ([`checksum`]).
//!
//! # The no-panic contract
//! Untrusted bytes enter only through `new_checked` (a length check) and `Repr::parse` (field
//! semantics). After `new_checked` succeeds, no accessor of the view panics, and `Repr::parse`
//! never panics on any input; every read goes through the bounds-checked helpers below, which
//! read zeros past the end instead of indexing out of bounds. `Repr::emit` writes exactly
//! `Repr::buffer_len()` bytes and returns an error, not a panic, when the buffer is too small or
//! the `Repr` cannot be represented.
//!
//! Checksums: [`ChecksumCaps`] says whether to verify on receive and which VRRPv3-over-IPv4
//! checksum to compute on send. Under `cfg(fuzzing)` verification is skipped so a fuzzer can reach
//! the code behind it.

pub mod ah;
pub mod checksum;
pub mod ip;
pub mod vrrp;

use core::net::{Ipv4Addr, Ipv6Addr};
use core::ops::Range;

/// How checksums are computed and checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChecksumCaps {
    /// Verify checksums on receive (always skipped under `cfg(fuzzing)`).
    pub verify: bool,
    /// Compute the VRRPv3 IPv4 checksum over the VRRP message alone, as VRRPv2 does and as
    /// keepalived did before 1.2.23 with unicast (keepalived's `old_unicast_checksum`). On
    /// receive both forms are then accepted. No effect on IPv6 or VRRPv2.
    pub v3_checksum_as_v2: bool,
}

impl Default for ChecksumCaps {
    fn default() -> Self {
        ChecksumCaps {
            verify: true,
            v3_checksum_as_v2: false,
        }
    }
}

/// Whether this is a fuzzing build (cargo-fuzz sets `cfg(fuzzing)`), which skips checksums.
#[allow(unexpected_cfgs)]
pub(crate) const FUZZING: bool = cfg!(fuzzing);

/// Reads a big-endian u16 at `range`, or 0 if out of bounds.
pub(crate) fn read_u16(buf: &[u8], range: Range<usize>) -> u16 {
    match buf.get(range) {
        Some(&[a, b]) => u16::from_be_bytes([a, b]),
        _ => 0,
    }
}

/// Reads an IPv4 address at `at`, or 0.0.0.0 if out of bounds.
pub(crate) fn read_v4(buf: &[u8], at: usize) -> Ipv4Addr {
    buf.get(at..at + 4)
        .and_then(|s| <[u8; 4]>::try_from(s).ok())
        .map_or(Ipv4Addr::UNSPECIFIED, Ipv4Addr::from)
}

/// Reads an IPv6 address at `at`, or :: if out of bounds.
pub(crate) fn read_v6(buf: &[u8], at: usize) -> Ipv6Addr {
    buf.get(at..at + 16)
        .and_then(|s| <[u8; 16]>::try_from(s).ok())
        .map_or(Ipv6Addr::UNSPECIFIED, Ipv6Addr::from)
}
