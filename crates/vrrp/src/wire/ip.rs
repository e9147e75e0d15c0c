//! IPv4 and IPv6 header views, enough to check the TTL / hop limit and to learn the source and
//! destination of a VRRP advert.
//!
//! ```text
//! IPv4 (RFC 791 §3.1)                       IPv6 (RFC 8200 §3)
//!  0       4       8              16      31   0       4          12      16      24      31
//! +-------+-------+--------------+-------+    +-------+----------+-------+-------+-------+
//! |Version|  IHL  |     ToS      | Total Length |Version| Traffic  |  Flow Label            |
//! +-------+-------+--------------+-------+    +-------+----------+-------+-------+-------+
//! |  Identification |Flags| Fragment Offset|   |  Payload Length  | Next Hdr | Hop Limit   |
//! +----------------+--------------+-------+    +------------------+----------+-------------+
//! |  TTL  |Protocol|  Header Checksum     |    |             Source Address (16)            |
//! |            Source Address             |    |          Destination Address (16)          |
//! |          Destination Address          |    +--------------------------------------------+
//! |        Options (IHL > 5)   | Padding  |
//! ```
//!
//! The IPv4 view honours IHL, so options are skipped, and the payload ends at Total Length (a
//! link layer may pad). The IPv6 view does not walk extension headers: a VRRP advert has none,
//! and Linux raw IPv6 sockets deliver the payload alone, with the hop limit as ancillary data.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::checksum;
use super::{read_u16, read_v4, read_v6};
use crate::error::RxError;

/// The IP protocol number of VRRP.
pub const PROTO_VRRP: u8 = 112;

/// What the receive path needs to know about the IP header an advert came in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RxMeta {
    /// Source address (the sender's primary address).
    pub src: IpAddr,
    /// Destination address (the multicast group, or our address for unicast).
    pub dst: IpAddr,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
}

mod field {
    use core::ops::Range;
    pub const VER_IHL: usize = 0;
    pub const TOTAL_LEN: Range<usize> = 2..4;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: Range<usize> = 10..12;
    pub const SRC4: Range<usize> = 12..16;
    pub const DST4: Range<usize> = 16..20;
    pub const V6_PAYLOAD_LEN: Range<usize> = 4..6;
    pub const V6_NEXT_HEADER: usize = 6;
    pub const V6_HOP_LIMIT: usize = 7;
    pub const SRC6: Range<usize> = 8..24;
    pub const DST6: Range<usize> = 24..40;
}

/// Length of an IPv4 header without options.
pub const IPV4_MIN_HEADER_LEN: usize = 20;
/// Length of the fixed IPv6 header.
pub const IPV6_HEADER_LEN: usize = 40;

fn byte(buf: &[u8], i: usize) -> u8 {
    buf.get(i).copied().unwrap_or(0)
}

/// A view of an IPv4 datagram. After [`Ipv4Packet::new_checked`], no accessor panics.
#[derive(Debug, Clone, Copy)]
pub struct Ipv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    /// Wraps `buffer` after checking version 4, IHL >= 5, and that the header and Total Length
    /// fit the buffer.
    pub fn new_checked(buffer: T) -> Result<Self, RxError> {
        let buf = buffer.as_ref();
        if buf.len() < IPV4_MIN_HEADER_LEN {
            return Err(RxError::IpTruncated { len: buf.len() });
        }
        let ver_ihl = byte(buf, field::VER_IHL);
        if ver_ihl >> 4 != 4 {
            return Err(RxError::IpHeader {
                reason: "version is not 4",
            });
        }
        let header_len = usize::from(ver_ihl & 0x0f) * 4;
        if header_len < IPV4_MIN_HEADER_LEN {
            return Err(RxError::IpHeader {
                reason: "IHL below 5",
            });
        }
        let total = usize::from(read_u16(buf, field::TOTAL_LEN));
        if header_len > buf.len() || total > buf.len() {
            return Err(RxError::IpTruncated { len: buf.len() });
        }
        if total < header_len {
            return Err(RxError::IpHeader {
                reason: "total length below header length",
            });
        }
        Ok(Ipv4Packet { buffer })
    }

    /// Header length in bytes (IHL * 4).
    #[must_use]
    pub fn header_len(&self) -> usize {
        usize::from(byte(self.buffer.as_ref(), field::VER_IHL) & 0x0f) * 4
    }

    /// Total Length.
    #[must_use]
    pub fn total_len(&self) -> usize {
        usize::from(read_u16(self.buffer.as_ref(), field::TOTAL_LEN))
    }

    /// Time To Live.
    #[must_use]
    pub fn ttl(&self) -> u8 {
        byte(self.buffer.as_ref(), field::TTL)
    }

    /// Protocol.
    #[must_use]
    pub fn protocol(&self) -> u8 {
        byte(self.buffer.as_ref(), field::PROTOCOL)
    }

    /// Source address.
    #[must_use]
    pub fn src(&self) -> Ipv4Addr {
        read_v4(self.buffer.as_ref(), field::SRC4.start)
    }

    /// Destination address.
    #[must_use]
    pub fn dst(&self) -> Ipv4Addr {
        read_v4(self.buffer.as_ref(), field::DST4.start)
    }

    /// Whether the header checksum verifies.
    #[must_use]
    pub fn verify_checksum(&self) -> bool {
        let buf = self.buffer.as_ref();
        buf.get(..self.header_len())
            .is_some_and(|h| checksum::checksum(h) == 0)
    }

    /// The payload: from the end of the header (options skipped) to Total Length.
    #[must_use]
    pub fn payload(&self) -> &[u8] {
        self.buffer
            .as_ref()
            .get(self.header_len()..self.total_len())
            .unwrap_or(&[])
    }
}

/// A view of an IPv6 packet's fixed header. After [`Ipv6Packet::new_checked`], no accessor
/// panics.
#[derive(Debug, Clone, Copy)]
pub struct Ipv6Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv6Packet<T> {
    /// Wraps `buffer` after checking version 6 and that the header and Payload Length fit.
    pub fn new_checked(buffer: T) -> Result<Self, RxError> {
        let buf = buffer.as_ref();
        if buf.len() < IPV6_HEADER_LEN {
            return Err(RxError::IpTruncated { len: buf.len() });
        }
        if byte(buf, 0) >> 4 != 6 {
            return Err(RxError::IpHeader {
                reason: "version is not 6",
            });
        }
        let payload = usize::from(read_u16(buf, field::V6_PAYLOAD_LEN));
        if IPV6_HEADER_LEN + payload > buf.len() {
            return Err(RxError::IpTruncated { len: buf.len() });
        }
        Ok(Ipv6Packet { buffer })
    }

    /// Next Header.
    #[must_use]
    pub fn next_header(&self) -> u8 {
        byte(self.buffer.as_ref(), field::V6_NEXT_HEADER)
    }

    /// Hop Limit.
    #[must_use]
    pub fn hop_limit(&self) -> u8 {
        byte(self.buffer.as_ref(), field::V6_HOP_LIMIT)
    }

    /// Source address.
    #[must_use]
    pub fn src(&self) -> Ipv6Addr {
        read_v6(self.buffer.as_ref(), field::SRC6.start)
    }

    /// Destination address.
    #[must_use]
    pub fn dst(&self) -> Ipv6Addr {
        read_v6(self.buffer.as_ref(), field::DST6.start)
    }

    /// The payload, Payload Length bytes after the fixed header.
    #[must_use]
    pub fn payload(&self) -> &[u8] {
        let buf = self.buffer.as_ref();
        let len = usize::from(read_u16(buf, field::V6_PAYLOAD_LEN));
        buf.get(IPV6_HEADER_LEN..IPV6_HEADER_LEN + len)
            .unwrap_or(&[])
    }
}

/// Splits a whole IPv4 or IPv6 datagram carrying VRRP into its [`RxMeta`] and the VRRP message.
pub fn parse_datagram(bytes: &[u8]) -> Result<(RxMeta, &[u8]), RxError> {
    match bytes.first().map(|b| b >> 4) {
        Some(4) => {
            let p = Ipv4Packet::new_checked(bytes)?;
            if p.protocol() != PROTO_VRRP {
                return Err(RxError::IpProtocol { got: p.protocol() });
            }
            let meta = RxMeta {
                src: p.src().into(),
                dst: p.dst().into(),
                ttl: p.ttl(),
            };
            let start = p.header_len();
            let end = p.total_len();
            Ok((meta, bytes.get(start..end).unwrap_or(&[])))
        }
        Some(6) => {
            let p = Ipv6Packet::new_checked(bytes)?;
            if p.next_header() != PROTO_VRRP {
                return Err(RxError::IpProtocol {
                    got: p.next_header(),
                });
            }
            let meta = RxMeta {
                src: p.src().into(),
                dst: p.dst().into(),
                ttl: p.hop_limit(),
            };
            let len = usize::from(read_u16(bytes, field::V6_PAYLOAD_LEN));
            Ok((
                meta,
                bytes
                    .get(IPV6_HEADER_LEN..IPV6_HEADER_LEN + len)
                    .unwrap_or(&[]),
            ))
        }
        Some(_) => Err(RxError::IpHeader {
            reason: "version is neither 4 nor 6",
        }),
        None => Err(RxError::IpTruncated { len: 0 }),
    }
}

/// Writes an IP header without options for a VRRP payload of `payload_len` bytes into the front
/// of `buf`, returning the header length; `None` if `buf` is too short, the families differ or
/// the payload is too long. Mainly for tests and the simulator: the kernel writes real headers.
pub fn emit_header(meta: &RxMeta, payload_len: usize, buf: &mut [u8]) -> Option<usize> {
    match (meta.src, meta.dst) {
        (IpAddr::V4(src), IpAddr::V4(dst)) => {
            let total = u16::try_from(IPV4_MIN_HEADER_LEN + payload_len).ok()?;
            let h = buf.get_mut(..IPV4_MIN_HEADER_LEN)?;
            h.fill(0);
            h[field::VER_IHL] = 0x45;
            h[field::TOTAL_LEN].copy_from_slice(&total.to_be_bytes());
            h[field::TTL] = meta.ttl;
            h[field::PROTOCOL] = PROTO_VRRP;
            h[field::SRC4].copy_from_slice(&src.octets());
            h[field::DST4].copy_from_slice(&dst.octets());
            let c = checksum::checksum(h);
            h[field::CHECKSUM].copy_from_slice(&c.to_be_bytes());
            Some(IPV4_MIN_HEADER_LEN)
        }
        (IpAddr::V6(src), IpAddr::V6(dst)) => {
            let len = u16::try_from(payload_len).ok()?;
            let h = buf.get_mut(..IPV6_HEADER_LEN)?;
            h.fill(0);
            h[0] = 0x60;
            h[field::V6_PAYLOAD_LEN].copy_from_slice(&len.to_be_bytes());
            h[field::V6_NEXT_HEADER] = PROTO_VRRP;
            h[field::V6_HOP_LIMIT] = meta.ttl;
            h[field::SRC6].copy_from_slice(&src.octets());
            h[field::DST6].copy_from_slice(&dst.octets());
            Some(IPV6_HEADER_LEN)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An IPv4 header with IHL 6 (one option word), TTL 255, protocol 112, 10.0.0.1 ->
    /// 224.0.0.18, carrying 4 payload bytes, followed by 2 bytes of link padding.
    static V4_WITH_OPTION: [u8; 30] = [
        0x46, 0x00, 0x00, 0x1c, 0x00, 0x00, 0x00, 0x00, 0xff, 0x70, 0x00, 0x00, 10, 0, 0, 1, 224,
        0, 0, 18, 0x94, 0x04, 0x00, 0x00, 0xde, 0xad, 0xbe, 0xef, 0xa5, 0xa5,
    ];

    #[test]
    fn ipv4_honours_ihl_and_total_length() {
        let (meta, payload) = parse_datagram(&V4_WITH_OPTION).unwrap();
        assert_eq!(meta.ttl, 255);
        assert_eq!(meta.src, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(meta.dst, IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18)));
        assert_eq!(payload, &[0xde, 0xad, 0xbe, 0xef]);
        let p = Ipv4Packet::new_checked(&V4_WITH_OPTION[..]).unwrap();
        assert_eq!(p.header_len(), 24);
    }

    #[test]
    fn ipv4_rejects_short_buffer() {
        assert_eq!(
            parse_datagram(&V4_WITH_OPTION[..19]),
            Err(RxError::IpTruncated { len: 19 })
        );
    }

    #[test]
    fn ipv4_rejects_small_ihl() {
        let mut b = V4_WITH_OPTION;
        b[0] = 0x44;
        assert!(matches!(parse_datagram(&b), Err(RxError::IpHeader { .. })));
    }

    #[test]
    fn ipv4_rejects_ihl_beyond_buffer() {
        let mut b = V4_WITH_OPTION;
        b[0] = 0x4f;
        assert!(matches!(
            parse_datagram(&b),
            Err(RxError::IpTruncated { .. })
        ));
    }

    #[test]
    fn ipv4_rejects_total_length_beyond_buffer_or_below_header() {
        let mut b = V4_WITH_OPTION;
        b[3] = 0xff;
        assert!(matches!(
            parse_datagram(&b),
            Err(RxError::IpTruncated { .. })
        ));
        b[3] = 0x10;
        assert!(matches!(parse_datagram(&b), Err(RxError::IpHeader { .. })));
    }

    #[test]
    fn ipv4_rejects_other_protocol() {
        let mut b = V4_WITH_OPTION;
        b[9] = 17;
        assert_eq!(parse_datagram(&b), Err(RxError::IpProtocol { got: 17 }));
    }

    #[test]
    fn rejects_unknown_version_and_empty() {
        let mut b = V4_WITH_OPTION;
        b[0] = 0x55;
        assert!(matches!(parse_datagram(&b), Err(RxError::IpHeader { .. })));
        assert_eq!(parse_datagram(&[]), Err(RxError::IpTruncated { len: 0 }));
    }

    #[test]
    fn emit_then_parse_both_families() {
        let metas = [
            RxMeta {
                src: Ipv4Addr::new(192, 0, 2, 1).into(),
                dst: Ipv4Addr::new(224, 0, 0, 18).into(),
                ttl: 255,
            },
            RxMeta {
                src: "fe80::1".parse::<Ipv6Addr>().unwrap().into(),
                dst: "ff02::12".parse::<Ipv6Addr>().unwrap().into(),
                ttl: 254,
            },
        ];
        for meta in metas {
            let mut buf = [0xa5u8; 64];
            let h = emit_header(&meta, 8, &mut buf).unwrap();
            let (got, payload) = parse_datagram(&buf[..h + 8]).unwrap();
            assert_eq!(got, meta);
            assert_eq!(payload.len(), 8);
            if h == IPV4_MIN_HEADER_LEN {
                assert!(Ipv4Packet::new_checked(&buf[..]).unwrap().verify_checksum());
            }
        }
    }

    #[test]
    fn ipv6_rejects_truncated_payload_and_other_next_header() {
        let meta = RxMeta {
            src: Ipv6Addr::LOCALHOST.into(),
            dst: Ipv6Addr::LOCALHOST.into(),
            ttl: 255,
        };
        let mut buf = [0u8; 48];
        emit_header(&meta, 8, &mut buf).unwrap();
        assert!(matches!(
            parse_datagram(&buf[..47]),
            Err(RxError::IpTruncated { .. })
        ));
        buf[6] = 0;
        assert_eq!(parse_datagram(&buf), Err(RxError::IpProtocol { got: 0 }));
        let p = Ipv6Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(p.hop_limit(), 255);
        assert_eq!(p.payload().len(), 8);
        buf[0] = 0x40;
        assert!(Ipv6Packet::new_checked(&buf[..]).is_err());
    }

    #[test]
    fn never_panics_on_any_short_input() {
        for len in 0..64 {
            for fill in [0u8, 0x45, 0x4f, 0x60, 0xff] {
                let buf = vec![fill; len];
                let _ = parse_datagram(&buf);
            }
        }
    }
}
