//! Unit tests of the VRRP codec: fixtures, one test per rejection.

use super::*;

/// VRRPv2, VRID 51, priority 100, advert_int 1, PASS "1111", 192.168.1.10 and .11. Checksum
/// computed independently (Python, RFC 1071).
static V2_PASS: [u8; 24] = [
    0x21, 0x33, 0x64, 0x02, 0x01, 0x01, 0x94, 0x00, 0xc0, 0xa8, 0x01, 0x0a, 0xc0, 0xa8, 0x01, 0x0b,
    0x31, 0x31, 0x31, 0x31, 0x00, 0x00, 0x00, 0x00,
];

/// VRRPv3 over IPv4 from 10.0.0.2 to 224.0.0.18: VRID 7, priority 200, 1 s, 10.0.0.100.
static V3_V4: [u8; 12] = [
    0x31, 0x07, 0xc8, 0x01, 0x00, 0x64, 0x11, 0x9e, 0x0a, 0x00, 0x00, 0x64,
];
/// The checksum of [`V3_V4`] computed without the pseudo-header (`v3_checksum_as_v2`).
const V3_V4_AS_V2_CHECKSUM: u16 = 0xfc2e;

/// VRRPv3 over IPv6 from fe80::1 to ff02::12: VRID 1, priority 255, 50 ms, 2001:db8::1.
static V3_V6: [u8; 24] = [
    0x31, 0x01, 0xff, 0x01, 0x00, 0x05, 0xa4, 0x1e, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
];

fn v4(s: &str) -> IpAddr {
    IpAddr::V4(s.parse().unwrap())
}
fn v6(s: &str) -> IpAddr {
    IpAddr::V6(s.parse().unwrap())
}
fn caps() -> ChecksumCaps {
    ChecksumCaps::default()
}
fn parse_v2(b: &[u8]) -> Result<Repr, RxError> {
    Repr::parse_bytes(b, v4("192.168.1.2"), v4("224.0.0.18"), caps())
}
fn parse_v3_4(b: &[u8]) -> Result<Repr, RxError> {
    Repr::parse_bytes(b, v4("10.0.0.2"), v4("224.0.0.18"), caps())
}
/// Rewrites the v2 checksum after a test changed a field.
fn fix_v2(b: &mut [u8]) {
    b[6] = 0;
    b[7] = 0;
    let c = checksum::checksum(b);
    b[6..8].copy_from_slice(&c.to_be_bytes());
}

fn v2_repr() -> Repr {
    Repr {
        version: Version::V2,
        vrid: 51,
        priority: 100,
        adver_int: Centisecs::from_secs(1),
        auth: Auth::simple(b"1111"),
        addrs: AddrList::V4(vec![
            Ipv4Addr::new(192, 168, 1, 10),
            Ipv4Addr::new(192, 168, 1, 11),
        ]),
    }
}

#[test]
fn parses_v2_fixture() {
    assert_eq!(parse_v2(&V2_PASS), Ok(v2_repr()));
}

#[test]
fn emits_v2_fixture_exactly() {
    let mut buf = [0xa5u8; 32];
    let n = v2_repr()
        .emit(&mut buf, v4("192.168.1.2"), v4("224.0.0.18"), caps())
        .unwrap();
    assert_eq!(&buf[..n], &V2_PASS[..]);
    assert!(buf[n..].iter().all(|b| *b == 0xa5), "wrote past buffer_len");
}

#[test]
fn v3_ipv4_fixture_round_trips() {
    let repr = parse_v3_4(&V3_V4).unwrap();
    assert_eq!(repr.version, Version::V3);
    assert_eq!(repr.vrid, 7);
    assert_eq!(repr.priority, 200);
    assert_eq!(repr.adver_int, Centisecs(100));
    assert_eq!(repr.addrs, AddrList::V4(vec![Ipv4Addr::new(10, 0, 0, 100)]));
    let bytes = repr
        .to_bytes(v4("10.0.0.2"), v4("224.0.0.18"), caps())
        .unwrap();
    assert_eq!(bytes, V3_V4);
}

#[test]
fn v3_ipv6_fixture_round_trips() {
    let (src, dst) = (v6("fe80::1"), v6("ff02::12"));
    let repr = Repr::parse_bytes(&V3_V6, src, dst, caps()).unwrap();
    assert_eq!(repr.adver_int, Centisecs(5));
    assert_eq!(repr.priority, 255);
    assert_eq!(
        repr.addrs,
        AddrList::V6(vec!["2001:db8::1".parse().unwrap()])
    );
    assert_eq!(repr.to_bytes(src, dst, caps()).unwrap(), V3_V6);
}

#[test]
fn v3_checksum_depends_on_pseudo_header() {
    // Same bytes, another destination (unicast): the pseudo-header changes the sum.
    assert!(matches!(
        Repr::parse_bytes(&V3_V4, v4("10.0.0.2"), v4("10.0.0.3"), caps()),
        Err(RxError::Checksum { .. })
    ));
}

#[test]
fn v3_checksum_as_v2_option() {
    let mut old = V3_V4;
    old[6..8].copy_from_slice(&V3_V4_AS_V2_CHECKSUM.to_be_bytes());
    // Refused by default...
    assert!(matches!(parse_v3_4(&old), Err(RxError::Checksum { .. })));
    // ...accepted, with the correct form too, when the option is on.
    let compat = ChecksumCaps {
        verify: true,
        v3_checksum_as_v2: true,
    };
    let (src, dst) = (v4("10.0.0.2"), v4("224.0.0.18"));
    assert!(Repr::parse_bytes(&old, src, dst, compat).is_ok());
    assert!(Repr::parse_bytes(&V3_V4, src, dst, compat).is_ok());
    // And emitted in the old form.
    let repr = parse_v3_4(&V3_V4).unwrap();
    assert_eq!(repr.to_bytes(src, dst, compat).unwrap(), old);
}

#[test]
fn checksum_verification_can_be_disabled() {
    let mut b = V2_PASS;
    b[6] ^= 0xff;
    let off = ChecksumCaps {
        verify: false,
        v3_checksum_as_v2: false,
    };
    assert!(Repr::parse_bytes(&b, v4("192.168.1.2"), v4("224.0.0.18"), off).is_ok());
}

#[test]
fn rejects_truncated_header() {
    assert_eq!(parse_v2(&V2_PASS[..7]), Err(RxError::Truncated { len: 7 }));
    assert_eq!(parse_v2(&[]), Err(RxError::Truncated { len: 0 }));
}

#[test]
fn rejects_unknown_version() {
    let mut b = V2_PASS;
    b[0] = 0x41;
    assert_eq!(parse_v2(&b), Err(RxError::Version { got: 4 }));
    b[0] = 0x11;
    assert_eq!(parse_v2(&b), Err(RxError::Version { got: 1 }));
}

#[test]
fn rejects_v2_over_ipv6() {
    let r = Repr::parse_bytes(&V2_PASS, v6("fe80::1"), v6("ff02::12"), caps());
    assert_eq!(r, Err(RxError::Version { got: 2 }));
}

#[test]
fn rejects_length_inconsistent_with_count() {
    let mut b = V2_PASS;
    b[3] = 3; // three addresses claimed, two present
    fix_v2(&mut b);
    assert_eq!(
        parse_v2(&b),
        Err(RxError::PacketLength {
            expected: 28,
            got: 24
        })
    );
    // Trailing bytes are refused too.
    let mut long = V2_PASS.to_vec();
    long.extend([0, 0]);
    assert!(matches!(parse_v2(&long), Err(RxError::PacketLength { .. })));
    // A v2 message without its authentication data.
    assert!(matches!(
        parse_v2(&V2_PASS[..16]),
        Err(RxError::PacketLength { .. })
    ));
}

#[test]
fn rejects_bad_checksum() {
    let mut b = V2_PASS;
    b[2] = 101; // priority changed, checksum not
    assert_eq!(parse_v2(&b), Err(RxError::Checksum { got: 0x9400 }));
}

#[test]
fn rejects_invalid_type() {
    let mut b = V2_PASS;
    b[0] = 0x22;
    fix_v2(&mut b);
    assert_eq!(parse_v2(&b), Err(RxError::InvalidType { got: 2 }));
}

#[test]
fn rejects_unknown_auth_type() {
    let mut b = V2_PASS;
    b[4] = 3;
    fix_v2(&mut b);
    assert_eq!(parse_v2(&b), Err(RxError::InvalidAuthType { got: 3 }));
}

#[test]
fn recognises_ah_and_none() {
    let mut b = V2_PASS;
    b[4] = AUTH_IP_AH;
    fix_v2(&mut b);
    assert_eq!(parse_v2(&b).unwrap().auth, Auth::IpAh);
    b[4] = AUTH_NONE;
    fix_v2(&mut b);
    // Auth data is ignored with type 0.
    assert_eq!(parse_v2(&b).unwrap().auth, Auth::None);
}

#[test]
fn v3_ignores_reserved_bits() {
    let mut b = V3_V4;
    b[4] |= 0xf0;
    b[6..8].copy_from_slice(&[0, 0]);
    let c = compute_checksum(Version::V3, false, v4("10.0.0.2"), v4("224.0.0.18"), &b);
    b[6..8].copy_from_slice(&c.to_be_bytes());
    assert_eq!(parse_v3_4(&b).unwrap().adver_int, Centisecs(100));
}

#[test]
fn zero_addresses_are_allowed_by_the_codec() {
    let mut r = v2_repr();
    r.addrs = AddrList::V4(vec![]);
    let b = r
        .to_bytes(v4("192.168.1.2"), v4("224.0.0.18"), caps())
        .unwrap();
    assert_eq!(b.len(), 16);
    assert_eq!(parse_v2(&b), Ok(r));
}

#[test]
fn emit_refuses_what_the_wire_cannot_say() {
    let (s, d) = (v4("192.168.1.2"), v4("224.0.0.18"));
    let mut r = v2_repr();
    r.adver_int = Centisecs(150);
    assert_eq!(
        r.to_bytes(s, d, caps()),
        Err(EmitError::Interval(Centisecs(150)))
    );
    r.adver_int = Centisecs::from_secs(256);
    assert!(matches!(
        r.to_bytes(s, d, caps()),
        Err(EmitError::Interval(_))
    ));
    let mut r = v2_repr();
    r.addrs = AddrList::V6(vec![Ipv6Addr::LOCALHOST]);
    assert_eq!(r.to_bytes(s, d, caps()), Err(EmitError::V2NotIpv4));
    let mut r = v2_repr();
    r.version = Version::V3;
    assert_eq!(r.to_bytes(s, d, caps()), Err(EmitError::AuthOnV3));
    r.auth = Auth::None;
    r.adver_int = Centisecs(4096);
    assert!(matches!(
        r.to_bytes(s, d, caps()),
        Err(EmitError::Interval(_))
    ));
    r.adver_int = Centisecs(4095);
    assert_eq!(
        r.to_bytes(v6("::1"), d, caps()),
        Err(EmitError::FamilyMismatch)
    );
    r.addrs = AddrList::V4(vec![Ipv4Addr::LOCALHOST; 256]);
    assert_eq!(
        r.to_bytes(s, d, caps()),
        Err(EmitError::TooManyAddresses(256))
    );
    let mut small = [0u8; 10];
    assert_eq!(
        v2_repr().emit(&mut small, s, d, caps()),
        Err(EmitError::BufferTooSmall {
            needed: 24,
            got: 10
        })
    );
}

#[test]
fn auth_simple_truncates_and_pads() {
    assert_eq!(Auth::simple(b"0123456789"), Auth::Simple(*b"01234567"));
    assert_eq!(Auth::simple(b"ab"), Auth::Simple(*b"ab\0\0\0\0\0\0"));
}

#[test]
fn addr_list_same_set_ignores_order() {
    let a = AddrList::V4(vec![Ipv4Addr::new(1, 1, 1, 1), Ipv4Addr::new(2, 2, 2, 2)]);
    let b = AddrList::V4(vec![Ipv4Addr::new(2, 2, 2, 2), Ipv4Addr::new(1, 1, 1, 1)]);
    assert!(a.same_set(&b));
    assert!(!a.same_set(&AddrList::empty(Family::V4)));
    assert!(!a.same_set(&AddrList::empty(Family::V6)));
}

#[test]
fn view_accessors_never_panic_on_header_only() {
    let p = Packet::new_checked(&[0x21, 1, 2, 200, 1, 1, 0, 0][..]).unwrap();
    assert_eq!(p.addr_v4(199), Ipv4Addr::UNSPECIFIED);
    assert_eq!(p.addr_v6(199), Ipv6Addr::UNSPECIFIED);
    assert_eq!(p.auth_data(), [0; 8]);
}
