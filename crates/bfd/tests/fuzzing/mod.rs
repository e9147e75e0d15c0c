//! The fuzz targets' bodies, shared by `fuzz/fuzz_targets/bfd_*.rs` (through `#[path]`) and by
//! the stable-toolchain replay test (`tests/fuzz_replay.rs`), so a seed is checked the same way
//! with and without the fuzzer.
//!
//! * [`parse_roundtrip`]: any bytes; whatever parses emits back to the same bytes and `Repr`.
//! * [`session_run`]: bytes decoded as a session configuration and a sequence of inputs (time
//!   steps, packets from a peer with arbitrary field values, raw bytes, admin changes) into an
//!   [`Engine`]; [`check_drain`] asserts the invariants after every input.
//!
//! Invariant violations panic (that is how a fuzzer reports them). This code depends only on
//! `keepalived-bfd` (no `sim` feature), so the fuzz workspace can compile it.

#![allow(dead_code)]

use core::net::{IpAddr, Ipv4Addr, SocketAddr};
use core::time::Duration;

use keepalived_bfd::{
    Action, Diag, Engine, Instant, Repr, RxMeta, SessionConfig, SessionId, State,
};

/// Reads bytes from the front of the fuzz input; past the end it yields zeros.
pub struct Cursor<'a> {
    data: &'a [u8],
}

impl<'a> Cursor<'a> {
    /// A cursor over `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Cursor { data }
    }
    /// Whether input is left.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
    /// One byte.
    pub fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((b, rest)) => {
                self.data = rest;
                *b
            }
            None => 0,
        }
    }
    /// Two bytes, big-endian.
    pub fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }
    /// Four bytes, big-endian.
    pub fn u32(&mut self) -> u32 {
        u32::from_be_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
    /// Up to `n` bytes.
    pub fn take(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        head
    }
}

/// Any bytes: no panic; a parsed packet re-emits to the very same bytes and parses equal.
pub fn parse_roundtrip(data: &[u8]) {
    let Ok(repr) = Repr::parse(data) else {
        return;
    };
    let _ = repr.check_reception();
    let mut buf = vec![0xa5u8; repr.buffer_len()];
    let n = repr.emit(&mut buf).expect("a parsed packet emits");
    assert_eq!(n, data.len());
    assert_eq!(&buf[..], data, "emit(parse(x)) != x");
    assert_eq!(Repr::parse(&buf).as_ref(), Ok(&repr));
}

/// The local and neighbour addresses of [`session_run`].
pub const LOCAL: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
/// The neighbour.
pub const PEER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);

/// An interval from one byte: the edges (0, 1 µs, u32::MAX) and ordinary values.
pub fn interval(sel: u8, c: &mut Cursor<'_>) -> u32 {
    match sel % 8 {
        0 => 0,
        1 => 1,
        2 => u32::MAX,
        3 => c.u32(),
        _ => u32::from(c.u16()) * 1000,
    }
}

/// The configuration the first bytes describe.
pub fn config_from(c: &mut Cursor<'_>) -> SessionConfig {
    let mut cfg = SessionConfig::new("fz", IpAddr::V4(PEER));
    cfg.source = Some(IpAddr::V4(LOCAL));
    cfg.min_rx_us = u32::from(c.u16()).max(1) * 100;
    cfg.min_tx_us = u32::from(c.u16()).max(1) * 100;
    cfg.idle_tx_us = u32::from(c.u16()).max(1) * 100;
    cfg.multiplier = c.u8().max(1);
    let flags = c.u8();
    cfg.passive = flags & 1 != 0;
    cfg.multihop = flags & 2 != 0;
    cfg.max_hops = if flags & 4 != 0 { 255 } else { c.u8() % 8 };
    cfg
}

/// The invariants after draining: what the engine sent is a valid packet of this session, a
/// Poll accepted is answered by a Final, tracker events alternate, and the next timeout is not
/// in the past.
pub struct Checker {
    /// The last reported verdict.
    pub last_up: Option<bool>,
    /// Packets sent so far.
    pub sent: u64,
    /// Up verdicts reported.
    pub ups: u64,
}

impl Checker {
    /// A fresh checker.
    pub fn new() -> Self {
        Checker {
            last_up: None,
            sent: 0,
            ups: 0,
        }
    }
}

impl Default for Checker {
    fn default() -> Self {
        Self::new()
    }
}

/// Drains `engine` and checks its actions; `polled` says the last input was an accepted Poll.
pub fn check_drain(
    engine: &mut Engine,
    id: SessionId,
    now: Instant,
    polled: bool,
    chk: &mut Checker,
) {
    let mut first_send = true;
    while let Some(a) = engine.poll_action() {
        match a {
            Action::Send(t) => {
                chk.sent += 1;
                let r = Repr::parse(&t.payload).expect("we send parseable packets");
                assert_eq!(r.check_reception(), Ok(()), "we send valid packets: {r:?}");
                let s = engine.session(id);
                if let Some(s) = s {
                    assert_eq!(t.src_port, s.src_port());
                    assert!(t.src_port >= keepalived_bfd::SOURCE_PORT_MIN);
                    assert_eq!(t.dst.port(), s.config().port());
                    assert_eq!(r.my_discr, s.snapshot().local_discr);
                    if r.state == State::Up {
                        assert_eq!(r.desired_min_tx_us, s.config().min_tx_us);
                    } else {
                        assert_eq!(r.desired_min_tx_us, s.config().idle_tx_us);
                    }
                }
                if polled && first_send {
                    assert!(r.fin, "a Poll must be answered by a Final at once: {r:?}");
                }
                first_send = false;
            }
            Action::State(s) => {
                assert_ne!(chk.last_up, Some(s.up), "the same verdict twice: {s:?}");
                assert_eq!(s.up, s.state == State::Up);
                if !s.up && chk.last_up.is_some() {
                    assert_ne!(s.diag, Diag::None, "a Down without a reason");
                }
                chk.last_up = Some(s.up);
                chk.ups += u64::from(s.up);
            }
            Action::Log(_) => {}
        }
    }
    if polled {
        assert!(!first_send, "a Poll got no answer");
    }
    if let Some(t) = engine.poll_timeout() {
        assert!(t >= now, "poll_timeout {t} is before now {now}");
    }
    if let Some(s) = engine.session(id)
        && matches!(s.state(), State::Up | State::Init)
    {
        assert!(
            engine.poll_timeout().is_some(),
            "Up/Init without a detection timer"
        );
    }
}

/// Runs the inputs the bytes describe through one session and checks the invariants.
pub fn session_run(data: &[u8]) {
    let _ = session_checked(data);
}

/// [`session_run`], returning the checker (what the run reached).
pub fn session_checked(data: &[u8]) -> Checker {
    let mut c = Cursor::new(data);
    let cfg = config_from(&mut c);
    let multihop = cfg.multihop;
    let mut engine = Engine::new(u64::from(c.u32()));
    let mut now = Instant::ZERO;
    let id = engine.add_session(now, cfg).expect("valid config");
    let mut chk = Checker::new();
    check_drain(&mut engine, id, now, false, &mut chk);
    let peer_discr = c.u32().max(1);
    let mut steps = 0;
    while !c.is_empty() && steps < 2000 {
        steps += 1;
        let op = c.u8();
        match op % 6 {
            0 | 1 => {
                // Time passes: up to 65 s, timers fire at their deadlines.
                let until = now + Duration::from_millis(u64::from(c.u16()));
                while let Some(t) = engine.poll_timeout().filter(|t| *t <= until) {
                    now = t.max(now);
                    engine.handle_timeout(now);
                    check_drain(&mut engine, id, now, false, &mut chk);
                }
                now = until;
            }
            2 | 3 => {
                // A packet from the peer with arbitrary values: sel (state in bits 6-7, Your
                // Discriminator kind in bits 0-1), flags, interval kinds (tx bits 0-2, rx bits
                // 3-5), detect mult, then the variable fields.
                let sel = c.u8();
                let flags = c.u8();
                let kinds = c.u8();
                let mult = c.u8().max(1);
                let your = match sel % 4 {
                    0 => 0,
                    1 => c.u32(),
                    _ => engine.session(id).map_or(0, |s| s.snapshot().local_discr),
                };
                let tx = interval(kinds, &mut c);
                let rx = interval(kinds >> 3, &mut c);
                let repr = Repr {
                    diag: Diag::from_code(flags & 0x0f),
                    state: match sel >> 6 {
                        0 => State::AdminDown,
                        1 => State::Down,
                        2 => State::Init,
                        _ => State::Up,
                    },
                    poll: flags & 0x10 != 0,
                    fin: flags & 0x20 != 0 && flags & 0x10 == 0,
                    cpi: false,
                    demand: flags & 0x40 != 0 && flags & 0x80 != 0,
                    multipoint: false,
                    detect_mult: mult,
                    my_discr: peer_discr,
                    your_discr: your,
                    desired_min_tx_us: tx,
                    required_min_rx_us: rx,
                    required_min_echo_rx_us: 0,
                    auth: None,
                };
                let meta = RxMeta {
                    src: SocketAddr::new(IpAddr::V4(PEER), 49152),
                    dst: Some(IpAddr::V4(LOCAL)),
                    ttl: Some(if flags & 0x80 != 0 { c.u8() } else { 255 }),
                    multihop,
                };
                let ok = engine.handle_datagram(now, &meta, &repr.to_bytes()).is_ok();
                check_drain(&mut engine, id, now, ok && repr.poll, &mut chk);
            }
            4 => {
                // Raw bytes.
                let n = usize::from(c.u8() % 40);
                let bytes = c.take(n).to_vec();
                let meta = RxMeta {
                    src: SocketAddr::new(IpAddr::V4(PEER), 49152),
                    dst: None,
                    ttl: None,
                    multihop,
                };
                let _ = engine.handle_datagram(now, &meta, &bytes);
                check_drain(&mut engine, id, now, false, &mut chk);
            }
            _ => {
                let down = c.u8() & 1 != 0;
                engine.set_admin_down(now, id, down);
                check_drain(&mut engine, id, now, false, &mut chk);
            }
        }
    }
    chk
}

/// Encodes a [`session_run`] seed: configuration bytes, seed, peer discriminator, then ops.
pub fn encode_session_seed(cfg: &[u8; 9], seed: u32, peer_discr: u32, ops: &[u8]) -> Vec<u8> {
    let mut v = cfg.to_vec();
    v.extend_from_slice(&seed.to_be_bytes());
    v.extend_from_slice(&peer_discr.to_be_bytes());
    v.extend_from_slice(ops);
    v
}
