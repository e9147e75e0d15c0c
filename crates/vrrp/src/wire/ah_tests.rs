//! AH codec tests; the golden datagrams were captured with tcpdump in a namespace from Debian's
//! keepalived 2.2.7 (`auth_type AH`, `auth_pass s3cret`, VRID 51, priority 100, 192.0.2.1 to
//! 224.0.0.18, VIP 192.0.2.100).

use super::*;
use crate::timing::{Centisecs, Version};
use crate::wire::ChecksumCaps;
use crate::wire::vrrp::{AddrList, Auth, Repr};

/// keepalived's first advert after becoming master: IP id 1, sequence number 1.
const KEEPALIVED_SEQ1: &str = "45c0004000010000ff3318b6c0000201e00000127004000
0c000020100000001f14770221e1cd8402b9ea52521336401
0201b665c00002640000000000000000";
/// Its second advert: IP id 2, sequence number 2.
const KEEPALIVED_SEQ2: &str = "45c0004000020000ff3318b5c0000201e00000127004000
0c000020100000002e1124e63629a806c5902a2a921336401
0201b665c00002640000000000000000";

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(char::is_ascii_hexdigit).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn key() -> AhKey {
    let mut k = [0; 8];
    k[..6].copy_from_slice(b"s3cret");
    k
}

fn advert() -> Repr {
    Repr {
        version: Version::V2,
        vrid: 51,
        priority: 100,
        adver_int: Centisecs::from_secs(1),
        auth: Auth::IpAh,
        addrs: AddrList::V4(vec![Ipv4Addr::new(192, 0, 2, 100)]),
    }
}

const SRC: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);

#[test]
fn emits_keepalived_adverts_byte_for_byte() {
    for (golden, n) in [(KEEPALIVED_SEQ1, 1u16), (KEEPALIVED_SEQ2, 2)] {
        let msg = advert()
            .to_bytes(SRC.into(), GROUP.into(), ChecksumCaps::default())
            .unwrap();
        let seal = AhSeal {
            key: key(),
            seq: u32::from(n),
            ip_id: n,
        };
        let ours = emit_datagram(&msg, SRC, GROUP, 255, &seal, false).unwrap();
        assert_eq!(ours, hex(golden), "advert {n}");
    }
}

#[test]
fn parses_and_verifies_keepalived_adverts() {
    for (golden, n) in [(KEEPALIVED_SEQ1, 1u32), (KEEPALIVED_SEQ2, 2)] {
        let bytes = hex(golden);
        let (meta, rx) = split(&bytes).unwrap();
        assert_eq!(meta.src, IpAddr::V4(SRC));
        assert_eq!(meta.dst, IpAddr::V4(GROUP));
        assert_eq!(meta.ttl, 255);
        assert_eq!(rx.header.seq, n);
        assert_eq!(rx.header.next_header, PROTO_VRRP);
        assert_eq!(rx.header.payload_len, PAYLOAD_LEN);
        assert!(spi_matches(&rx.header, meta.src));
        assert!(!spi_matches(&rx.header, Ipv4Addr::new(192, 0, 2, 2).into()));
        assert!(rx.verify(&key(), false));
        let repr = Repr::parse_bytes(rx.vrrp, meta.src, meta.dst, ChecksumCaps::default());
        assert_eq!(repr.unwrap(), advert());
        // Another password, or the TTL zeroed as for unicast, does not verify.
        let mut other = key();
        other[0] = b'S';
        assert!(!rx.verify(&other, false));
        assert!(!rx.verify(&key(), true));
    }
}

#[test]
fn mutable_fields_do_not_matter_and_the_rest_does() {
    let bytes = hex(KEEPALIVED_SEQ1);
    // TOS, flags / fragment offset and the checksum may change in transit.
    let mut b = bytes.clone();
    b[1] = 0;
    b[6] = 0x40;
    b[10] ^= 0xff;
    assert!(split(&b).unwrap().1.verify(&key(), false));
    // Any other byte, in the IP header, the AH or the advert, breaks the ICV.
    for i in [4, 8, 12, 19, 24, 28, 45, 46, 50, 63] {
        let mut b = bytes.clone();
        b[i] ^= 0x01;
        let ok = split(&b).is_ok_and(|(_, rx)| rx.verify(&key(), false));
        assert!(!ok, "byte {i} changed but the ICV still verifies");
    }
}

#[test]
fn unicast_covers_the_ttl_as_zero() {
    let msg = advert()
        .to_bytes(
            SRC.into(),
            Ipv4Addr::new(192, 0, 2, 2).into(),
            ChecksumCaps::default(),
        )
        .unwrap();
    let seal = AhSeal {
        key: key(),
        seq: 7,
        ip_id: 9,
    };
    let dst = Ipv4Addr::new(192, 0, 2, 2);
    let mut b = emit_datagram(&msg, SRC, dst, 64, &seal, true).unwrap();
    assert!(split(&b).unwrap().1.verify(&key(), true));
    b[8] = 63;
    assert!(split(&b).unwrap().1.verify(&key(), true));
    assert!(!split(&b).unwrap().1.verify(&key(), false));
}

#[test]
fn rejects_short_other_protocol_and_other_next_header() {
    let bytes = hex(KEEPALIVED_SEQ1);
    let mut short = bytes[..40].to_vec();
    short[3] = 40;
    assert!(matches!(split(&short), Err(RxError::Truncated { len: 20 })));
    let mut b = bytes.clone();
    b[9] = PROTO_VRRP;
    assert_eq!(split(&b).unwrap_err(), RxError::IpProtocol { got: 112 });
    let mut b = bytes.clone();
    b[20] = 6;
    assert_eq!(split(&b).unwrap_err(), RxError::AhNextHeader { got: 6 });
    for len in 0..bytes.len() {
        let _ = split(&bytes[..len]);
    }
}
