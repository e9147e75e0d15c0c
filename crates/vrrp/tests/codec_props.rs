//! Property-style tests of the codec over many generated values (deterministic generator):
//! parse(emit(x)) == x, emit(parse(b)) == b, and no panic on mutated or random input.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use keepalived_vrrp::sim::SplitMix64;
use keepalived_vrrp::wire::ip;
use keepalived_vrrp::{
    AddrList, Auth, Centisecs, ChecksumCaps, Instant, Packet, Repr, Router, RxMeta, Version,
};

fn byte(rng: &mut SplitMix64) -> u8 {
    rng.next_u64().to_le_bytes()[0]
}

fn v4(rng: &mut SplitMix64) -> Ipv4Addr {
    Ipv4Addr::from(
        rng.next_u64().to_le_bytes()[..4]
            .try_into()
            .unwrap_or([0; 4]),
    )
}

fn v6(rng: &mut SplitMix64) -> Ipv6Addr {
    let mut o = [0u8; 16];
    o[..8].copy_from_slice(&rng.next_u64().to_le_bytes());
    o[8..].copy_from_slice(&rng.next_u64().to_le_bytes());
    Ipv6Addr::from(o)
}

/// An address count biased towards small lists, sometimes the maximum.
fn count(rng: &mut SplitMix64) -> usize {
    match rng.below(20) {
        0 => 255,
        1 => 0,
        _ => usize::try_from(rng.below(21)).unwrap_or(1),
    }
}

/// A random emittable advert with its source and destination.
fn gen_advert(rng: &mut SplitMix64) -> (Repr, IpAddr, IpAddr, ChecksumCaps) {
    let v3 = rng.below(2) == 0;
    let ipv6 = v3 && rng.below(2) == 0;
    let n = count(rng);
    let (addrs, src, dst): (AddrList, IpAddr, IpAddr) = if ipv6 {
        (
            AddrList::V6((0..n).map(|_| v6(rng)).collect()),
            v6(rng).into(),
            v6(rng).into(),
        )
    } else {
        (
            AddrList::V4((0..n).map(|_| v4(rng)).collect()),
            v4(rng).into(),
            v4(rng).into(),
        )
    };
    let (version, adver_int, auth) = if v3 {
        let cs = u16::try_from(rng.below(4096)).unwrap_or(0);
        (Version::V3, Centisecs(cs), Auth::None)
    } else {
        let secs = u16::from(byte(rng));
        let auth = match rng.below(3) {
            0 => Auth::None,
            1 => Auth::Simple(rng.next_u64().to_le_bytes()),
            _ => Auth::IpAh,
        };
        (Version::V2, Centisecs::from_secs(secs), auth)
    };
    let caps = ChecksumCaps {
        verify: true,
        v3_checksum_as_v2: rng.below(4) == 0,
    };
    let repr = Repr {
        version,
        vrid: byte(rng),
        priority: byte(rng),
        adver_int,
        auth,
        addrs,
    };
    (repr, src, dst, caps)
}

#[test]
fn parse_emit_round_trip() {
    let mut rng = SplitMix64::new(0x5eed);
    for case in 0..20_000 {
        let (repr, src, dst, caps) = gen_advert(&mut rng);
        let mut buf = vec![0xa5u8; repr.buffer_len() + 7];
        let n = repr
            .emit(&mut buf, src, dst, caps)
            .unwrap_or_else(|e| panic!("case {case}: {repr:?}: {e}"));
        assert_eq!(n, repr.buffer_len());
        assert!(
            buf[n..].iter().all(|b| *b == 0xa5),
            "case {case}: wrote past the end"
        );
        let parsed = Repr::parse_bytes(&buf[..n], src, dst, caps)
            .unwrap_or_else(|e| panic!("case {case}: {repr:?}: {e}"));
        assert_eq!(parsed, repr, "case {case}");
        // And the other way: emit(parse(b)) == b.
        let again = parsed.to_bytes(src, dst, caps).unwrap();
        assert_eq!(again, &buf[..n], "case {case}");
    }
}

#[test]
fn mutated_packets_never_panic_and_reparse_stably() {
    let mut rng = SplitMix64::new(42);
    let mut accepted = 0;
    for _ in 0..30_000 {
        let (repr, src, dst, _) = gen_advert(&mut rng);
        let no_verify = ChecksumCaps {
            verify: false,
            v3_checksum_as_v2: false,
        };
        let mut bytes = repr.to_bytes(src, dst, no_verify).unwrap();
        // Flip a few bytes, truncate or extend.
        for _ in 0..rng.below(4) {
            if !bytes.is_empty() {
                let i = usize::try_from(rng.below(bytes.len() as u64)).unwrap_or(0);
                bytes[i] = byte(&mut rng);
            }
        }
        match rng.below(4) {
            0 => bytes.truncate(usize::try_from(rng.below(bytes.len() as u64 + 1)).unwrap_or(0)),
            1 => bytes.push(byte(&mut rng)),
            _ => {}
        }
        if let Ok(p) = Packet::new_checked(&bytes[..]) {
            // Accessors never panic whatever the count says.
            let _ = (
                p.addr_v4(300),
                p.addr_v6(300),
                p.auth_data(),
                p.max_adver_int_v3(),
            );
        }
        if let Ok(parsed) = Repr::parse_bytes(&bytes, src, dst, no_verify) {
            accepted += 1;
            // parse(emit(parse(x))) == parse(x), whenever parse(x) is emittable.
            if let Ok(out) = parsed.to_bytes(src, dst, no_verify) {
                assert_eq!(Repr::parse_bytes(&out, src, dst, no_verify), Ok(parsed));
            }
        }
    }
    assert!(
        accepted > 1000,
        "the mutator should leave many packets valid ({accepted})"
    );
}

#[test]
fn random_datagrams_never_panic_the_router() {
    let mut rng = SplitMix64::new(9);
    let mut router = Router::new();
    for len in 0..2_000usize {
        let mut bytes: Vec<u8> = (0..len % 97).map(|_| byte(&mut rng)).collect();
        if let Some(b) = bytes.first_mut() {
            // Mostly plausible IP versions and header lengths.
            *b = match rng.below(3) {
                0 => 0x45,
                1 => 0x60,
                _ => *b,
            };
        }
        let _ = router.handle_ip_datagram(Instant::from_millis(len as u64), &bytes);
        let meta = RxMeta {
            src: v4(&mut rng).into(),
            dst: v4(&mut rng).into(),
            ttl: byte(&mut rng),
        };
        let _ = router.handle_datagram(Instant::ZERO, &meta, &bytes);
        let _ = ip::parse_datagram(&bytes);
    }
    let s = router.stats();
    assert!(s.ip_errors + s.truncated + s.vrid_errors + s.version_errors + s.checksum_errors > 0);
}
