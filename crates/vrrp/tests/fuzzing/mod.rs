//! The fuzz targets' bodies, shared by `fuzz/fuzz_targets/vrrp_*.rs` (through `#[path]`) and by
//! the stable-toolchain tests (`tests/fuzz_replay.rs`, `tests/scenarios.rs`), so a seed is checked
//! the same way with and without the fuzzer.
//!
//! * [`parse_roundtrip`]: any bytes; whatever parses re-emits and parses to the same `Repr`.
//! * [`instance_run`]: bytes decoded as a configuration and a sequence of inputs at increasing
//!   times into a one-instance [`Router`]; [`Checker`] asserts the invariants after every drain.
//!
//! Invariant violations panic (that is how a fuzzer reports them). This code depends only on
//! `keepalived-vrrp` (no `sim` feature, no dev-dependencies), so the fuzz workspace can compile it.

#![allow(dead_code, unused_imports)]

mod checker;
mod encode;
pub mod oracle;

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use core::time::Duration;

pub use checker::{Checker, Input};
pub use encode::{ScenarioInput, encode_instance_seed, encode_parse_seed};
use keepalived_vrrp::wire::ip;
use keepalived_vrrp::{
    Action, AddrList, Auth, Centisecs, ChecksumCaps, Event, GarpConfig, InitialState, Instance,
    InstanceConfig, Instant, Packet, Repr, Router, RxMeta, Version,
};

/// The VRRP IPv4 multicast group.
pub const MCAST_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// The VRRP IPv6 multicast group.
pub const MCAST_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);

/// Reads bytes from the front of the fuzz input; past the end it yields zeros.
pub struct Cursor<'a> {
    data: &'a [u8],
}

impl<'a> Cursor<'a> {
    /// A cursor over `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Cursor { data }
    }

    /// Whether every byte was read.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The next byte, or 0.
    pub fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((b, rest)) => {
                self.data = rest;
                *b
            }
            None => 0,
        }
    }

    /// The next big-endian u16.
    pub fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }

    /// Up to `n` bytes.
    pub fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.data.split_at(n.min(self.data.len()));
        self.data = rest;
        head
    }

    /// The rest.
    pub fn rest(&mut self) -> &'a [u8] {
        self.take(self.data.len())
    }
}

/// `vrrp_parse`: byte 0 picks the family (bit 0: IPv6) and checksum options (bit 1: verify,
/// bit 2: v3 checksum as v2); then come the source and destination addresses and the message.
/// Whatever parses must emit (a parsed advert is always representable) and parse back equal.
/// The whole input is also given to a `Router` as an IP datagram (no panic).
pub fn parse_roundtrip(data: &[u8]) {
    let mut c = Cursor::new(data);
    let flags = c.u8();
    let caps = ChecksumCaps {
        verify: flags & 2 != 0,
        v3_checksum_as_v2: flags & 4 != 0,
    };
    let (src, dst): (IpAddr, IpAddr) = if flags & 1 == 0 {
        let s: [u8; 4] = addr_bytes(&mut c);
        let d: [u8; 4] = addr_bytes(&mut c);
        (Ipv4Addr::from(s).into(), Ipv4Addr::from(d).into())
    } else {
        let s: [u8; 16] = addr_bytes(&mut c);
        let d: [u8; 16] = addr_bytes(&mut c);
        (Ipv6Addr::from(s).into(), Ipv6Addr::from(d).into())
    };
    let msg = c.rest();
    if let Ok(packet) = Packet::new_checked(msg) {
        // Accessors never panic on a checked view.
        let _ = (
            packet.version(),
            packet.msg_type(),
            packet.vrid(),
            packet.count(),
        );
        let _ = (
            packet.auth_data(),
            packet.addr_v6(300),
            packet.max_adver_int_v3(),
        );
        if let Ok(repr) = Repr::parse(&packet, src, dst, caps) {
            let bytes = match repr.to_bytes(src, dst, caps) {
                Ok(b) => b,
                Err(e) => panic!("parsed advert does not emit: {e} ({repr:?})"),
            };
            assert_eq!(bytes.len(), msg.len(), "emitted length differs from parsed");
            assert_eq!(bytes.len(), repr.buffer_len());
            let again = Repr::parse_bytes(&bytes, src, dst, caps);
            assert_eq!(
                again.as_ref(),
                Ok(&repr),
                "parse(emit(parse(x))) != parse(x)"
            );
            // With checksums verified the emitted bytes verify too.
            let strict = ChecksumCaps {
                verify: true,
                ..caps
            };
            assert_eq!(
                Repr::parse_bytes(&bytes, src, dst, strict).as_ref(),
                Ok(&repr)
            );
        }
    }
    let _ = ip::parse_datagram(data);
    let mut router = Router::new();
    for (vrid, version) in [(1, Version::V2), (51, Version::V3)] {
        let cfg = InstanceConfig::new(
            "F",
            vrid,
            version,
            Ipv4Addr::new(192, 0, 2, 1).into(),
            AddrList::V4(vec![Ipv4Addr::new(192, 0, 2, 100)]),
        );
        if let Ok(inst) = Instance::new(cfg) {
            let _ = router.add(inst);
        }
    }
    router.handle_start(Instant::ZERO);
    let _ = router.drain(|_, _| {});
    let _ = router.handle_ip_datagram(Instant::from_millis(1), data);
    let _ = router.handle_datagram(Instant::from_millis(2), &RxMeta { src, dst, ttl: 255 }, msg);
    let _ = router.drain(|_, _| {});
}

fn addr_bytes<const N: usize>(c: &mut Cursor<'_>) -> [u8; N] {
    let mut a = [0u8; N];
    for b in &mut a {
        *b = c.u8();
    }
    a
}

/// The address of simulated router `n`: 192.0.2.n or 2001:db8::n.
pub fn node_addr(ipv6: bool, n: u8) -> IpAddr {
    if ipv6 {
        Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, u16::from(n)).into()
    } else {
        Ipv4Addr::new(192, 0, 2, n).into()
    }
}

/// The virtual addresses of the fuzzed instance: `count` of 192.0.2.100.. or 2001:db8::100..
pub fn vips(ipv6: bool, count: u8) -> AddrList {
    if ipv6 {
        AddrList::V6(
            (0..u16::from(count))
                .map(|i| Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x100 + i))
                .collect(),
        )
    } else {
        AddrList::V4(
            (0..count)
                .map(|i| Ipv4Addr::new(192, 0, 2, 100 + i))
                .collect(),
        )
    }
}

/// Decodes the 10-byte configuration header of an `instance_run` input (see
/// [`encode::config_header`] for the layout).
pub fn decode_config(c: &mut Cursor<'_>) -> InstanceConfig {
    let flags = c.u8();
    let v3 = flags & 0x01 != 0;
    let ipv6 = v3 && flags & 0x02 != 0;
    let priority = c.u8().max(1);
    let int_raw = c.u16();
    let preempt_delay = c.u8();
    let down_adverts = c.u8().max(1);
    let garp = c.u8();
    let vrid = c.u8().max(1);
    let own = c.u8().max(1);
    let vip_count = c.u8() % 4;
    let mut cfg = InstanceConfig::new(
        "FZ",
        vrid,
        if v3 { Version::V3 } else { Version::V2 },
        node_addr(ipv6, own),
        vips(ipv6, vip_count),
    );
    cfg.priority = priority;
    cfg.adver_int = if v3 {
        Centisecs((int_raw & 0x0fff).max(1))
    } else {
        Centisecs::from_secs((int_raw & 0xff).max(1))
    };
    cfg.preempt = flags & 0x04 == 0;
    cfg.initial_state = if flags & 0x08 != 0 {
        InitialState::Master
    } else {
        InitialState::Backup
    };
    if !v3 && flags & 0x10 != 0 {
        cfg.auth = Auth::simple(b"secret");
    }
    cfg.check_ttl = flags & 0x20 == 0;
    cfg.strict_addr_check = flags & 0x40 != 0;
    cfg.checksum.v3_checksum_as_v2 = flags & 0x80 != 0;
    cfg.preempt_delay = Duration::from_millis(u64::from(preempt_delay) * 100);
    cfg.down_timer_adverts = down_adverts;
    // Low nibble: second burst after (n - 1) * 500 ms, 0 = none; high nibble: refresh every
    // n * 500 ms, 0 = none (a zero refresh period is not a configuration keepalived accepts).
    cfg.garp = GarpConfig {
        master_delay: match garp & 0x0f {
            0 => None,
            n => Some(Duration::from_millis(u64::from(n - 1) * 500)),
        },
        master_repeat: 5,
        master_refresh: match garp >> 4 {
            0 => None,
            n => Some(Duration::from_millis(u64::from(n) * 500)),
        },
        master_refresh_repeat: 1,
    };
    cfg
}

/// Operation codes of an `instance_run` input, after the configuration header.
pub mod op {
    /// Advert built from fields: src, flags (bit 7 set: bits 0..6 each break one check),
    /// priority, interval (u16).
    pub const RX_FIELDS: u8 = 0;
    /// Raw VRRP message: src, ttl, dst (0: multicast, else 192.0.2.n / 2001:db8::n), len, bytes.
    pub const RX_RAW: u8 = 1;
    /// Advance to the next deadline exactly and handle it.
    pub const NEXT_TIMEOUT: u8 = 2;
    /// `handle_timeout(now)` whether or not anything is due.
    pub const SPURIOUS_TIMEOUT: u8 = 3;
    /// Advance by a u16 of milliseconds (at most 10 s), handling due timers on time on the way.
    pub const SLEEP_MS: u8 = 4;
    /// An event: 0 down, 1 up, 2 shutdown, 3 start, else priority change to the byte after.
    pub const EVENT: u8 = 5;
    /// Advance to 1 ns before the next deadline (without handling anything).
    pub const JUST_BEFORE: u8 = 6;
    /// Advance by a u16 of milliseconds, then handle the overdue timers late, at once.
    pub const SLEEP_LATE_MS: u8 = 7;
    /// Number of operation codes.
    pub const COUNT: u8 = 8;
}

/// Operations after which `instance_run` stops (keeps each fuzz run short).
const MAX_OPS: usize = 1_000;
/// Timer expiries after which `instance_run` stops (a long sleep at a 10 ms interval fires
/// often).
const MAX_FIRES: u32 = 20_000;
/// The longest sleep of one operation.
const MAX_SLEEP_MS: u16 = 10_000;

/// What an `instance_run` reached, so tests can tell whether random programs explore.
#[derive(Clone, Copy, Debug, Default)]
pub struct Summary {
    /// Transitions into Master.
    pub become_master: u64,
    /// Transitions out of Master.
    pub release_master: u64,
    /// Adverts accepted.
    pub advert_rcvd: u64,
    /// Operations run.
    pub ops: usize,
}

/// `vrrp_instance`: a configuration header, then operations (see [`op`]) at increasing times
/// into a one-instance router. Panics if an invariant of [`Checker`] breaks.
pub fn instance_run(data: &[u8]) -> Summary {
    let mut c = Cursor::new(data);
    let cfg = decode_config(&mut c);
    let ipv6 = matches!(cfg.vips, AddrList::V6(_));
    let Ok(inst) = Instance::new(cfg.clone()) else {
        return Summary::default();
    };
    let mut router = Router::new();
    if router.add(inst).is_err() {
        return Summary::default();
    }
    let mut d = Driver {
        router,
        checker: Checker::new(),
        now: Instant::ZERO,
        cfg,
        ipv6,
        fires: 0,
    };
    // Started at time zero (a later start op restarts after a shutdown).
    d.router.handle_start(d.now);
    let _ = d.drain(Input::Other);
    let mut ops = 0;
    while ops < MAX_OPS && d.fires < MAX_FIRES && !c.is_empty() {
        let code = c.u8() % op::COUNT;
        d.step(code, &mut c);
        ops += 1;
    }
    let s = d.instance().stats();
    Summary {
        become_master: s.become_master,
        release_master: s.release_master,
        advert_rcvd: s.advert_rcvd,
        ops,
    }
}

struct Driver {
    router: Router,
    checker: Checker,
    now: Instant,
    cfg: InstanceConfig,
    ipv6: bool,
    /// `handle_timeout` calls so far.
    fires: u32,
}

impl Driver {
    fn instance(&self) -> &Instance {
        &self.router.instances()[0]
    }

    /// Drains and checks the invariants after `input`; returns the actions.
    fn drain(&mut self, input: Input) -> Vec<Action> {
        let mut actions = Vec::new();
        let next = self.router.drain(|_, a| actions.push(a));
        let inst = &self.router.instances()[0];
        if let Err(e) = self.checker.check(inst, &actions, self.now, input) {
            panic!(
                "invariant broken at {}: {e}\nactions: {actions:?}",
                self.now
            );
        }
        assert_eq!(next, inst.poll_timeout());
        actions
    }

    /// Delivers a message, drains, and checks the reaction to an accepted advert against the
    /// RFC rules in [`oracle`].
    fn receive(&mut self, meta: &RxMeta, bytes: &[u8]) {
        let before = oracle::Before::of(self.instance());
        let accepted = self.router.handle_datagram(self.now, meta, bytes).is_ok();
        let actions = self.drain(Input::Rx);
        if !accepted {
            return;
        }
        let Ok(repr) = Repr::parse_bytes(bytes, meta.src, meta.dst, self.cfg.checksum) else {
            panic!("accepted a message that does not parse: {bytes:02x?}");
        };
        if let Err(e) = oracle::check(before, self.instance(), &actions, meta.src, &repr, self.now)
        {
            panic!("RFC rule broken at {}: {e}", self.now);
        }
    }

    /// Fires every deadline up to `until`, each on time, then sets the clock to `until`.
    fn advance_on_time(&mut self, until: Instant) {
        let mut spins = 0u32;
        while let Some(t) = self.router.poll_timeout().filter(|t| *t <= until) {
            self.now = self.now.max(t);
            self.fire();
            spins += 1;
            assert!(spins < 1_000_000, "timers never settle before {until}");
        }
        self.now = self.now.max(until);
    }

    fn fire(&mut self) {
        self.fires += 1;
        self.router.handle_timeout(self.now);
        let _ = self.drain(Input::Timeout);
    }

    fn step(&mut self, code: u8, c: &mut Cursor<'_>) {
        match code {
            op::RX_FIELDS => {
                let (meta, bytes) = self.advert_from_fields(c);
                self.receive(&meta, &bytes);
            }
            op::RX_RAW => {
                let src = node_addr(self.ipv6, c.u8());
                let ttl = c.u8();
                let dst = match c.u8() {
                    0 => self.mcast(),
                    n => node_addr(self.ipv6, n),
                };
                let len = usize::from(c.u8());
                let bytes = c.take(len).to_vec();
                let meta = RxMeta { src, dst, ttl };
                self.receive(&meta, &bytes);
            }
            op::NEXT_TIMEOUT => {
                let t = self
                    .router
                    .poll_timeout()
                    .unwrap_or(self.now + Duration::from_millis(1));
                self.now = self.now.max(t);
                self.fire();
            }
            op::SPURIOUS_TIMEOUT => self.fire(),
            op::SLEEP_MS => {
                let ms = c.u16().min(MAX_SLEEP_MS);
                let until = self.now + Duration::from_millis(u64::from(ms));
                self.advance_on_time(until);
            }
            op::EVENT => {
                let event = match c.u8() {
                    0 => Some(Event::InterfaceDown),
                    1 => Some(Event::InterfaceUp),
                    2 => Some(Event::Shutdown),
                    3 => None,
                    _ => Some(Event::PriorityChanged(c.u8())),
                };
                match event {
                    Some(e) => self.router.handle_event(self.now, e),
                    None => self.router.handle_start(self.now),
                }
                let _ = self.drain(Input::Other);
            }
            op::JUST_BEFORE => {
                if let Some(t) = self.router.poll_timeout() {
                    self.now = self.now.max(t - Duration::from_nanos(1));
                }
            }
            _ => {
                // SLEEP_LATE_MS: a busy driver handles overdue timers late, all at once.
                self.now += Duration::from_millis(u64::from(c.u16()));
                if self.router.poll_timeout().is_some_and(|t| t <= self.now) {
                    self.fire();
                }
            }
        }
    }

    fn mcast(&self) -> IpAddr {
        if self.ipv6 {
            MCAST_V6.into()
        } else {
            MCAST_V4.into()
        }
    }

    /// An advert from fields: mostly valid for the instance, with flag bits that break one
    /// check each.
    fn advert_from_fields(&self, c: &mut Cursor<'_>) -> (RxMeta, Vec<u8>) {
        let src_n = c.u8();
        // Bit 7 clear: a valid advert (only priority, source and interval vary).
        let flags = match c.u8() {
            f if f & 0x80 == 0 => f & 0x02,
            f => f,
        };
        let priority = c.u8();
        let int_raw = c.u16();
        let cfg = &self.cfg;
        let version = if flags & 0x01 != 0 {
            match cfg.version {
                Version::V2 => Version::V3,
                Version::V3 => Version::V2,
            }
        } else {
            cfg.version
        };
        let adver_int = if flags & 0x02 == 0 {
            cfg.adver_int
        } else if version == Version::V2 {
            Centisecs::from_secs(int_raw & 0xff)
        } else {
            Centisecs(int_raw & 0x0fff)
        };
        let auth = if version == Version::V3 {
            Auth::None
        } else if flags & 0x04 != 0 {
            Auth::simple(b"wrong")
        } else {
            cfg.auth
        };
        let addrs = if flags & 0x08 != 0 {
            vips(self.ipv6, 3)
        } else {
            cfg.vips.clone()
        };
        let repr = Repr {
            version,
            vrid: if flags & 0x10 != 0 {
                cfg.vrid ^ 1
            } else {
                cfg.vrid
            },
            priority,
            adver_int,
            auth,
            addrs,
        };
        let meta = RxMeta {
            src: node_addr(self.ipv6, src_n),
            dst: self.mcast(),
            ttl: if flags & 0x20 != 0 { 64 } else { 255 },
        };
        let mut bytes = repr
            .to_bytes(meta.src, meta.dst, cfg.checksum)
            .unwrap_or_default();
        if flags & 0x40 != 0
            && let Some(b) = bytes.get_mut(6)
        {
            *b ^= 0x55; // corrupt the checksum
        }
        (meta, bytes)
    }
}
