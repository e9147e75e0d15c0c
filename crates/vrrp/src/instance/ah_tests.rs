//! Unit tests of an instance with `auth_type AH`.

use super::*;

/// `auth_type AH` receive checks in keepalived's order: an AH on a non-AH instance and none on
/// an AH instance are auth type mismatches; then the ICV, the SPI and the replay check are auth
/// failures; an accepted advert moves the sequence number.
#[test]
fn ah_receive_checks_and_counters() {
    use crate::wire::ah::{self, AhSeal};
    let mut c = cfg(Version::V2, 100);
    c.set_ah(b"s3cret");
    let mut i = started(c.clone());
    let seal = |seq: u32, key: &[u8]| {
        let mut k = [0; 8];
        k[..key.len()].copy_from_slice(key);
        AhSeal {
            key: k,
            seq,
            ip_id: 1,
        }
    };
    let adv = advert(&i, 150);
    let datagram = |src: Ipv4Addr, s: AhSeal| {
        let msg = adv
            .to_bytes(src.into(), meta(src).dst, ChecksumCaps::default())
            .unwrap();
        ah::emit_datagram(&msg, src, Ipv4Addr::new(224, 0, 0, 18), 255, &s, false).unwrap()
    };
    let rx = |i: &mut Instance, bytes: &[u8]| {
        let (m, a) = ah::split(bytes).unwrap();
        i.handle_ah_datagram(t(100), &m, &a).map_err(|e| e.error)
    };
    // No AH on an AH instance.
    let plain = advert(&i, 150);
    assert!(matches!(
        i.handle_packet(t(100), &meta(PEER_HIGH), &plain),
        Err(PeerError {
            error: RxError::AuthTypeMismatch { expected: 2, .. },
            ..
        })
    ));
    assert_eq!(rx(&mut i, &datagram(PEER_HIGH, seal(5, b"s3cret"))), Ok(()));
    assert_eq!(i.ah_seq(), 5);
    assert_eq!(
        rx(&mut i, &datagram(PEER_HIGH, seal(5, b"s3cret"))),
        Err(RxError::AhReplay { seq: 5, last: 5 })
    );
    assert_eq!(
        rx(&mut i, &datagram(PEER_HIGH, seal(9, b"other"))),
        Err(RxError::AhIcv)
    );
    // The SPI names another sender: rewrite it and re-seal as that sender would.
    let mut forged = datagram(PEER_HIGH, seal(9, b"s3cret"));
    forged[24..28].copy_from_slice(&PEER_LOW.octets());
    let (_, a) = ah::split(&forged).unwrap();
    let icv = ah::icv(
        &seal(9, b"s3cret").key,
        a.ip_header,
        a.ah_bytes,
        a.vrrp,
        false,
    );
    forged[32..44].copy_from_slice(&icv);
    assert!(matches!(rx(&mut i, &forged), Err(RxError::AhSpi { .. })));
    let st = i.stats();
    assert_eq!(
        (st.authtype_mismatch, st.auth_failures, st.advert_rcvd),
        (1, 3, 1)
    );
    // An AH on an instance without AH.
    let mut plain_inst = started(cfg(Version::V2, 100));
    let d = datagram(PEER_HIGH, seal(1, b"s3cret"));
    assert!(matches!(
        rx(&mut plain_inst, &d),
        Err(RxError::AuthTypeMismatch {
            got: 2,
            expected: 0
        })
    ));
    // Our own adverts carry the next numbers.
    let mut m = master(c);
    let at = m.poll_timeout().unwrap();
    m.handle_timeout(at);
    let seqs: Vec<u32> = drain(&mut m)
        .iter()
        .filter_map(|a| match a {
            Action::SendAdvert { ah: Some(s), .. } => Some(s.seq),
            _ => None,
        })
        .collect();
    assert_eq!(seqs, [2]);
}
