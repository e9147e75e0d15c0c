//! The per-interface demultiplexer: routing by (family, VRID), global counters, whole IP
//! datagrams.

mod common;

use core::net::{IpAddr, Ipv4Addr};

use common::*;
use keepalived_vrrp::wire::ip::{RxMeta, emit_header};
use keepalived_vrrp::{
    Action, AddError, Centisecs, ChecksumCaps, Family, Instant, Repr, Router, RxError, State,
};

fn router() -> Router {
    let mut r = Router::new();
    let mut a = v2(2, 100);
    a.vrid = 1;
    let mut b = v2(2, 100);
    b.vrid = 2;
    r.add(keepalived_vrrp::Instance::new(a).unwrap()).unwrap();
    r.add(keepalived_vrrp::Instance::new(b).unwrap()).unwrap();
    r.add(keepalived_vrrp::Instance::new(v3_ipv6(2, 100)).unwrap())
        .unwrap();
    r.handle_start(Instant::ZERO);
    while r.poll_action().is_some() {}
    r
}

fn meta() -> RxMeta {
    RxMeta {
        src: addr(9).into(),
        dst: IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18)),
        ttl: 255,
    }
}

fn advert(vrid: u8, priority: u8) -> Vec<u8> {
    let m = meta();
    Repr {
        vrid,
        priority,
        ..advert_repr()
    }
    .to_bytes(m.src, m.dst, ChecksumCaps::default())
    .unwrap()
}

fn advert_repr() -> Repr {
    Repr {
        version: keepalived_vrrp::Version::V2,
        vrid: 1,
        priority: 100,
        adver_int: Centisecs::from_secs(1),
        auth: keepalived_vrrp::Auth::None,
        addrs: keepalived_vrrp::AddrList::V4(vec![Ipv4Addr::new(10, 0, 0, 100)]),
    }
}

#[test]
fn routes_by_family_and_vrid() {
    let mut r = router();
    assert_eq!(r.find(Family::V4, 2), Some(1));
    assert_eq!(r.find(Family::V6, VRID), Some(2));
    assert_eq!(
        r.handle_datagram(Instant::ZERO, &meta(), &advert(2, 200)),
        Ok(1)
    );
    assert_eq!(r.instance(1).unwrap().stats().advert_rcvd, 1);
    assert_eq!(r.instance(0).unwrap().stats().advert_rcvd, 0);
}

#[test]
fn counts_global_errors() {
    let mut r = router();
    let e = r
        .handle_datagram(Instant::ZERO, &meta(), &advert(3, 200))
        .unwrap_err();
    assert_eq!(e.error, RxError::VridUnknown { vrid: 3 });
    let e = r
        .handle_datagram(Instant::ZERO, &meta(), &[0x21, 1])
        .unwrap_err();
    assert_eq!(e.error, RxError::Truncated { len: 2 });
    let mut bad = advert(1, 200);
    bad[7] ^= 1;
    let e = r.handle_datagram(Instant::ZERO, &meta(), &bad).unwrap_err();
    assert!(matches!(e.error, RxError::Checksum { .. }));
    let s = r.stats();
    assert_eq!((s.vrid_errors, s.truncated, s.checksum_errors), (1, 1, 1));
}

#[test]
fn instance_errors_are_counted_by_the_instance() {
    let mut r = router();
    let mut m = meta();
    m.ttl = 1;
    let e = r
        .handle_datagram(Instant::ZERO, &m, &advert(1, 200))
        .unwrap_err();
    assert_eq!(e.error, RxError::IpTtl { got: 1 });
    assert_eq!(r.instance(0).unwrap().stats().ip_ttl_errors, 1);
    assert_eq!(*r.stats(), keepalived_vrrp::GlobalStats::default());
}

#[test]
fn whole_ipv4_datagrams_with_ttl() {
    let mut r = router();
    let payload = advert(1, 200);
    for (ttl, ok) in [(255, true), (254, false)] {
        let m = RxMeta { ttl, ..meta() };
        let mut buf = vec![0u8; 20 + payload.len()];
        let h = emit_header(&m, payload.len(), &mut buf).unwrap();
        buf[h..].copy_from_slice(&payload);
        assert_eq!(r.handle_ip_datagram(Instant::ZERO, &buf).is_ok(), ok);
    }
    let e = r.handle_ip_datagram(Instant::ZERO, &[0x45, 0]).unwrap_err();
    assert!(matches!(e.error, RxError::IpTruncated { .. }));
    assert_eq!(r.stats().ip_errors, 1);
}

#[test]
fn duplicate_vrid_refused() {
    let mut r = router();
    let mut again = v2(3, 50);
    again.vrid = 2;
    assert_eq!(
        r.add(keepalived_vrrp::Instance::new(again).unwrap()),
        Err(AddError::DuplicateVrid {
            family: Family::V4,
            vrid: 2
        })
    );
}

#[test]
fn actions_and_timeouts_across_instances() {
    let mut r = router();
    let first = r.poll_timeout().unwrap();
    r.handle_timeout(first);
    let mut masters = Vec::new();
    while let Some((id, a)) = r.poll_action() {
        if let Action::StateChanged {
            to: State::Master, ..
        } = a
        {
            masters.push(id);
        }
    }
    // All three instances have the same interval and priority: all fire together.
    assert_eq!(masters, vec![0, 1, 2]);
    assert!(r.poll_timeout().unwrap() > first);
}
