//! The IPsec Authentication Header of VRRPv2 `auth_type AH` (RFC 2338 §5.3.6.3, RFC 2402 §2,
//! HMAC-MD5-96 of RFC 2403), as keepalived 2.2.7 speaks it: IPv4 only, one manual "security
//! association" per router, no IKE.
//!
//! ```text
//!  IPv4 header (20 bytes, protocol 51, TOS 0xc0, no fragments, TTL 255)
//! +---------------+---------------+-------------------------------+
//! |  Next Header  |  Payload Len  |           RESERVED            |  112, 4, 0
//! +---------------+---------------+-------------------------------+
//! |                 Security Parameters Index (SPI)               |  the sender's IPv4 address
//! +---------------------------------------------------------------+
//! |                        Sequence Number                        |  one per advert
//! +---------------------------------------------------------------+
//! |          Integrity Check Value (ICV, 96 bits, 12 bytes)       |
//! +---------------------------------------------------------------+
//!  VRRPv2 advert, Auth Type 2, Authentication Data zero
//! ```
//!
//! The ICV is the first 12 bytes of HMAC-MD5 keyed with the 8-byte `auth_pass` (zero-padded)
//! over the IP header with its mutable fields zeroed (TOS, flags and fragment offset, header
//! checksum; with unicast peers also the TTL, which keepalived lets users change), then the AH
//! with the ICV zeroed, then the VRRP message. The IP identification is covered, so the sender
//! must choose it (the daemon sends with `IP_HDRINCL`) and never leave it 0, which the kernel
//! would replace.

use core::net::{IpAddr, Ipv4Addr};

use hmac::{Hmac, Mac};
use md5::Md5;

use super::checksum;
use super::ip::{IPV4_MIN_HEADER_LEN, Ipv4Packet, PROTO_VRRP, RxMeta};
use super::vrrp::AUTH_DATA_LEN;
use crate::error::RxError;

/// The IP protocol number of AH.
pub const PROTO_AH: u8 = 51;
/// Length of keepalived's AH: 12 fixed bytes and a 12-byte ICV.
pub const AH_LEN: usize = 24;
/// Length of the HMAC-MD5-96 ICV.
pub const ICV_LEN: usize = 12;
/// The Payload Len field: the AH length in 32-bit words minus 2.
pub const PAYLOAD_LEN: u8 = 4;
/// The TOS keepalived sends adverts with (network control).
pub const TOS_NETWORK_CONTROL: u8 = 0xc0;
/// The longest IPv4 header (IHL 15).
const MAX_IP_HEADER: usize = 60;

/// The HMAC key: `auth_pass` cut to 8 bytes and zero-padded, as for `auth_type PASS`.
pub type AhKey = [u8; AUTH_DATA_LEN];

mod field {
    use core::ops::Range;
    pub const NEXT_HEADER: usize = 0;
    pub const PAYLOAD_LEN: usize = 1;
    pub const SPI: Range<usize> = 4..8;
    pub const SEQ: Range<usize> = 8..12;
    pub const ICV: Range<usize> = 12..24;
    // In the IPv4 header.
    pub const TOS: usize = 1;
    pub const TOTAL_LEN: Range<usize> = 2..4;
    pub const ID: Range<usize> = 4..6;
    pub const FRAG: Range<usize> = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: Range<usize> = 10..12;
    pub const SRC: Range<usize> = 12..16;
    pub const DST: Range<usize> = 16..20;
}

/// What a sender needs to seal one advert: the key, the sequence number and the IP
/// identification (never 0) the instance chose for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AhSeal {
    /// The HMAC key.
    pub key: AhKey,
    /// The AH Sequence Number.
    pub seq: u32,
    /// The IPv4 Identification.
    pub ip_id: u16,
}

/// A parsed AH.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AhHeader {
    /// Next Header (112 for VRRP).
    pub next_header: u8,
    /// Payload Len (4).
    pub payload_len: u8,
    /// Security Parameters Index: keepalived puts the sender's address there.
    pub spi: u32,
    /// Sequence Number.
    pub seq: u32,
    /// Integrity Check Value.
    pub icv: [u8; ICV_LEN],
}

impl AhHeader {
    /// Reads the fixed 24 bytes of `bytes`.
    pub fn parse(bytes: &[u8]) -> Result<AhHeader, RxError> {
        let b = bytes
            .get(..AH_LEN)
            .ok_or(RxError::Truncated { len: bytes.len() })?;
        let word = |r: core::ops::Range<usize>| {
            b.get(r)
                .and_then(|s| <[u8; 4]>::try_from(s).ok())
                .map_or(0, u32::from_be_bytes)
        };
        let mut icv = [0; ICV_LEN];
        icv.copy_from_slice(b.get(field::ICV).unwrap_or(&[0; ICV_LEN]));
        Ok(AhHeader {
            next_header: b[field::NEXT_HEADER],
            payload_len: b[field::PAYLOAD_LEN],
            spi: word(field::SPI),
            seq: word(field::SEQ),
            icv,
        })
    }
}

/// An AH-protected IPv4 advert as received: the parts the ICV covers, and the AH parsed.
#[derive(Clone, Copy, Debug)]
pub struct AhRx<'a> {
    /// The IPv4 header as received (options included).
    pub ip_header: &'a [u8],
    /// The AH as received.
    pub ah_bytes: &'a [u8],
    /// The AH parsed.
    pub header: AhHeader,
    /// The VRRP message after the AH.
    pub vrrp: &'a [u8],
}

impl AhRx<'_> {
    /// Whether the ICV verifies with `key`; `unicast` zeroes the TTL too.
    #[must_use]
    pub fn verify(&self, key: &AhKey, unicast: bool) -> bool {
        let want = icv(key, self.ip_header, self.ah_bytes, self.vrrp, unicast);
        // Constant time, as keepalived compares.
        want.iter()
            .zip(self.header.icv.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

/// Splits a whole IPv4 datagram of protocol 51 into its [`RxMeta`] and [`AhRx`].
pub fn split(bytes: &[u8]) -> Result<(RxMeta, AhRx<'_>), RxError> {
    let p = Ipv4Packet::new_checked(bytes)?;
    if p.protocol() != PROTO_AH {
        return Err(RxError::IpProtocol { got: p.protocol() });
    }
    let meta = RxMeta {
        src: p.src().into(),
        dst: p.dst().into(),
        ttl: p.ttl(),
    };
    let hl = p.header_len();
    let payload = bytes.get(hl..p.total_len()).unwrap_or(&[]);
    if payload.len() < AH_LEN {
        return Err(RxError::Truncated { len: payload.len() });
    }
    let header = AhHeader::parse(payload)?;
    if header.next_header != PROTO_VRRP {
        return Err(RxError::AhNextHeader {
            got: header.next_header,
        });
    }
    Ok((
        meta,
        AhRx {
            ip_header: bytes.get(..hl).unwrap_or(&[]),
            ah_bytes: payload.get(..AH_LEN).unwrap_or(&[]),
            header,
            vrrp: payload.get(AH_LEN..).unwrap_or(&[]),
        },
    ))
}

/// The ICV of an advert: HMAC-MD5-96 keyed with `key` over `ip_header` (mutable fields
/// zeroed; the TTL too when `unicast`), `ah` (ICV zeroed) and `vrrp`. Headers longer than
/// their maximum (60 and 24 bytes) are cut there.
#[must_use]
pub fn icv(key: &AhKey, ip_header: &[u8], ah: &[u8], vrrp: &[u8], unicast: bool) -> [u8; ICV_LEN] {
    let mut ip = [0u8; MAX_IP_HEADER];
    let ip_len = ip_header.len().min(MAX_IP_HEADER);
    ip[..ip_len].copy_from_slice(&ip_header[..ip_len]);
    ip[field::TOS] = 0;
    ip[field::FRAG].fill(0);
    ip[field::CHECKSUM].fill(0);
    if unicast {
        ip[field::TTL] = 0;
    }
    let mut ah_copy = [0u8; AH_LEN];
    let ah_len = ah.len().min(AH_LEN);
    ah_copy[..ah_len].copy_from_slice(&ah[..ah_len]);
    ah_copy[field::ICV].fill(0);
    // HMAC accepts keys of any length; the key is 8 bytes.
    let Ok(mut mac) = Hmac::<Md5>::new_from_slice(key) else {
        return [0; ICV_LEN];
    };
    mac.update(&ip[..ip_len]);
    mac.update(&ah_copy[..ah_len]);
    mac.update(vrrp);
    let digest = mac.finalize().into_bytes();
    let mut out = [0; ICV_LEN];
    for (o, d) in out.iter_mut().zip(digest.iter()) {
        *o = *d;
    }
    out
}

/// Writes a whole AH-protected IPv4 datagram carrying the VRRP message `vrrp` (emitted with
/// auth type 2) from `src` to `dst` with `ttl`: IP header, AH sealed with `seal`, message.
/// The IP header checksum is filled in too (the kernel would fill the same). `None` if the
/// datagram would exceed 65535 bytes.
#[must_use]
pub fn emit_datagram(
    vrrp: &[u8],
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ttl: u8,
    seal: &AhSeal,
    unicast: bool,
) -> Option<Vec<u8>> {
    let total = IPV4_MIN_HEADER_LEN + AH_LEN + vrrp.len();
    let total16 = u16::try_from(total).ok()?;
    let mut buf = vec![0u8; total];
    {
        let (ip, rest) = buf.split_at_mut(IPV4_MIN_HEADER_LEN);
        ip[0] = 0x45;
        ip[field::TOS] = TOS_NETWORK_CONTROL;
        ip[field::TOTAL_LEN].copy_from_slice(&total16.to_be_bytes());
        ip[field::ID].copy_from_slice(&seal.ip_id.to_be_bytes());
        ip[field::TTL] = ttl;
        ip[field::PROTOCOL] = PROTO_AH;
        ip[field::SRC].copy_from_slice(&src.octets());
        ip[field::DST].copy_from_slice(&dst.octets());
        let (ah, msg) = rest.split_at_mut(AH_LEN);
        ah[field::NEXT_HEADER] = PROTO_VRRP;
        ah[field::PAYLOAD_LEN] = PAYLOAD_LEN;
        ah[field::SPI].copy_from_slice(&src.octets());
        ah[field::SEQ].copy_from_slice(&seal.seq.to_be_bytes());
        msg.copy_from_slice(vrrp);
        let mac = icv(&seal.key, ip, ah, msg, unicast);
        ah[field::ICV].copy_from_slice(&mac);
        let c = checksum::checksum(ip);
        ip[field::CHECKSUM].copy_from_slice(&c.to_be_bytes());
    }
    Some(buf)
}

/// Whether `src` is the SPI keepalived expects from that sender.
#[must_use]
pub fn spi_matches(header: &AhHeader, src: IpAddr) -> bool {
    match src {
        IpAddr::V4(a) => header.spi == u32::from(a),
        IpAddr::V6(_) => false,
    }
}

#[cfg(test)]
#[path = "ah_tests.rs"]
mod tests;
