//! The Internet checksum ([RFC 1071](https://www.rfc-editor.org/rfc/rfc1071)) and the IPv4/IPv6
//! pseudo-headers VRRPv3 covers ([RFC 9568 §5.2.8](https://www.rfc-editor.org/rfc/rfc9568#section-5.2.8),
//! [RFC 8200 §8.1](https://www.rfc-editor.org/rfc/rfc8200#section-8.1)).
//!
//! VRRPv2 ([RFC 3768 §5.3.8](https://www.rfc-editor.org/rfc/rfc3768#section-5.3.8)) sums the VRRP
//! message alone.

use core::net::IpAddr;

/// The one's-complement sum of `data` as big-endian 16-bit words (an odd byte is padded with
/// zero), added to `acc`, without folding.
#[must_use]
pub fn accumulate(mut acc: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for pair in &mut chunks {
        acc = acc.wrapping_add(u32::from(u16::from_be_bytes([pair[0], pair[1]])));
        // Fold early so the accumulator never overflows however long the data.
        acc = (acc & 0xffff) + (acc >> 16);
    }
    if let [last] = chunks.remainder() {
        acc = acc.wrapping_add(u32::from(*last) << 8);
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc
}

/// Folds an accumulated sum to 16 bits and complements it: the value to put in a checksum field.
#[must_use]
pub fn finish(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    // `acc` now fits 16 bits.
    !(u16::try_from(acc).unwrap_or(0xffff))
}

/// The checksum of `data` alone (IPv4 header, VRRPv2 message).
#[must_use]
pub fn checksum(data: &[u8]) -> u16 {
    finish(accumulate(0, data))
}

/// The sum of the pseudo-header for an upper-layer message of `len` bytes, protocol `next_header`,
/// from `src` to `dst`. Mixed families contribute the addresses as they are.
#[must_use]
pub fn pseudo_header(src: IpAddr, dst: IpAddr, next_header: u8, len: u32) -> u32 {
    let mut acc = 0;
    for addr in [src, dst] {
        acc = match addr {
            IpAddr::V4(a) => accumulate(acc, &a.octets()),
            IpAddr::V6(a) => accumulate(acc, &a.octets()),
        };
    }
    match (src, dst) {
        (IpAddr::V4(_), IpAddr::V4(_)) => {
            // zero, protocol, 16-bit length
            let len16 = u16::try_from(len).unwrap_or(u16::MAX);
            let [l0, l1] = len16.to_be_bytes();
            accumulate(acc, &[0, next_header, l0, l1])
        }
        _ => {
            // 32-bit length, three zero bytes, next header
            let mut tail = [0u8; 8];
            tail[..4].copy_from_slice(&len.to_be_bytes());
            tail[7] = next_header;
            accumulate(acc, &tail)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2, checksum 220d.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(finish(accumulate(0, &data)), !0xddf2);
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(
            checksum(&[0x12, 0x34, 0x56]),
            checksum(&[0x12, 0x34, 0x56, 0x00])
        );
        assert_eq!(checksum(&[]), 0xffff);
    }

    #[test]
    fn verifying_a_filled_message_gives_zero() {
        let mut data = [0x45u8, 0, 0, 0x28, 1, 2, 3, 4, 5, 6, 0, 0];
        let c = checksum(&data);
        data[10..12].copy_from_slice(&c.to_be_bytes());
        assert_eq!(checksum(&data), 0);
    }

    #[test]
    fn pseudo_headers_differ_by_family() {
        let v4 = pseudo_header(
            Ipv4Addr::new(10, 0, 0, 1).into(),
            Ipv4Addr::new(224, 0, 0, 18).into(),
            112,
            20,
        );
        assert_eq!(
            v4,
            accumulate(0, &[10, 0, 0, 1, 224, 0, 0, 18, 0, 112, 0, 20])
        );
        let v6 = pseudo_header(
            Ipv6Addr::LOCALHOST.into(),
            Ipv6Addr::LOCALHOST.into(),
            112,
            20,
        );
        let mut bytes = [0u8; 40];
        bytes[15] = 1;
        bytes[31] = 1;
        bytes[35] = 20;
        bytes[39] = 112;
        assert_eq!(v6, accumulate(0, &bytes));
    }
}
