use super::*;

/// A packet FRR's bfdd sends in Up: version 1, diag 0, state Up, detect mult 3, length 24,
/// discriminators 0x11223344 / 0x55667788, 300 ms / 300 ms / echo 50 ms.
static UP_PACKET: [u8; 24] = [
    0x20, 0xc0, 0x03, 0x18, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x00, 0x04, 0x93, 0xe0,
    0x00, 0x04, 0x93, 0xe0, 0x00, 0x00, 0xc3, 0x50,
];

fn up_repr() -> Repr {
    Repr {
        diag: Diag::None,
        state: State::Up,
        poll: false,
        fin: false,
        cpi: false,
        demand: false,
        multipoint: false,
        detect_mult: 3,
        my_discr: 0x1122_3344,
        your_discr: 0x5566_7788,
        desired_min_tx_us: 300_000,
        required_min_rx_us: 300_000,
        required_min_echo_rx_us: 50_000,
        auth: None,
    }
}

#[test]
fn parses_and_emits_the_fixture() {
    let r = Repr::parse(&UP_PACKET).unwrap();
    assert_eq!(r, up_repr());
    let mut buf = [0xa5u8; 24];
    assert_eq!(r.emit(&mut buf), Ok(24));
    assert_eq!(buf, UP_PACKET);
    assert_eq!(r.to_bytes(), UP_PACKET);
    assert_eq!(r.check_reception(), Ok(()));
}

#[test]
fn flags_and_diag_round_trip() {
    let mut r = up_repr();
    r.state = State::Down;
    r.diag = Diag::ControlDetectionTimeExpired;
    r.poll = true;
    r.cpi = true;
    r.demand = true;
    let bytes = r.to_bytes();
    assert_eq!(bytes[0], 0x21);
    assert_eq!(bytes[1], 0x40 | 0x20 | 0x08 | 0x02);
    assert_eq!(Repr::parse(&bytes).unwrap(), r);
}

#[test]
fn rejects_short_wrong_version_and_length() {
    assert_eq!(
        Repr::parse(&UP_PACKET[..23]),
        Err(ParseError::Truncated { len: 23 })
    );
    let mut v = UP_PACKET;
    v[0] = 0x40;
    assert_eq!(Repr::parse(&v), Err(ParseError::BadVersion { version: 2 }));
    let mut l = UP_PACKET;
    l[3] = 23;
    assert!(matches!(
        Repr::parse(&l),
        Err(ParseError::BadLength { field: 23, .. })
    ));
    let mut long = UP_PACKET.to_vec();
    long.push(0);
    assert!(matches!(
        Repr::parse(&long),
        Err(ParseError::BadLength {
            field: 24,
            datagram: 25
        })
    ));
}

#[test]
fn auth_section_parses_and_round_trips() {
    // Simple password (type 1), key id 1, password "abc": Auth Len 6.
    let mut p = UP_PACKET.to_vec();
    p[1] |= 0x04;
    p[3] = 30;
    p.extend_from_slice(&[1, 6, 1, b'a', b'b', b'c']);
    let r = Repr::parse(&p).unwrap();
    assert_eq!(
        r.auth,
        Some(AuthSection {
            auth_type: 1,
            data: vec![1, b'a', b'b', b'c']
        })
    );
    assert_eq!(r.buffer_len(), 30);
    let mut buf = vec![0xa5; 30];
    assert_eq!(r.emit(&mut buf), Ok(30));
    assert_eq!(buf, p);
    // Auth Len that does not fill the packet.
    p[25] = 5;
    assert_eq!(
        Repr::parse(&p),
        Err(ParseError::BadAuthLength { auth_len: 5 })
    );
    // A set without room for a section.
    let mut bare = UP_PACKET;
    bare[1] |= 0x04;
    assert!(matches!(
        Repr::parse(&bare),
        Err(ParseError::BadLength { .. })
    ));
}

#[test]
fn emit_errors_instead_of_panicking() {
    let r = up_repr();
    assert_eq!(
        r.emit(&mut [0u8; 10]),
        Err(ParseError::BufferTooShort { need: 24 })
    );
    let mut big = up_repr();
    big.auth = Some(AuthSection {
        auth_type: 2,
        data: vec![0; 240],
    });
    assert_eq!(
        big.emit(&mut [0u8; 300]),
        Err(ParseError::TooLong { len: 266 })
    );
}

#[test]
fn reception_checks_each_rule() {
    let ok = up_repr();
    let with = |f: fn(&mut Repr)| {
        let mut r = ok.clone();
        f(&mut r);
        r.check_reception()
    };
    assert_eq!(with(|r| r.detect_mult = 0), Err(RxError::ZeroDetectMult));
    assert_eq!(with(|r| r.multipoint = true), Err(RxError::Multipoint));
    assert_eq!(with(|r| r.my_discr = 0), Err(RxError::ZeroMyDiscriminator));
    assert_eq!(
        with(|r| r.your_discr = 0),
        Err(RxError::ZeroYourDiscriminator { state: State::Up })
    );
    assert_eq!(
        with(|r| {
            r.your_discr = 0;
            r.state = State::Init;
        }),
        Err(RxError::ZeroYourDiscriminator { state: State::Init })
    );
    assert_eq!(
        with(|r| {
            r.your_discr = 0;
            r.state = State::Down;
        }),
        Ok(())
    );
    assert_eq!(
        with(|r| {
            r.your_discr = 0;
            r.state = State::AdminDown;
        }),
        Ok(())
    );
    assert_eq!(
        with(|r| {
            r.poll = true;
            r.fin = true;
        }),
        Err(RxError::PollAndFinal)
    );
    assert_eq!(
        with(|r| r.diag = Diag::Unknown(9)),
        Err(RxError::BadDiag { code: 9 })
    );
}

#[test]
fn every_diag_code_maps_back() {
    for code in 0..32u8 {
        assert_eq!(Diag::from_code(code).code(), code);
    }
    assert_eq!(Diag::from_code(3).text(), "Neighbor Signaled Session Down");
}
