//! Turns golden scenarios into fuzz seeds: the inverse of the decoders in `mod.rs`, so the
//! fuzzers start from realistic conversations instead of noise.

use core::net::IpAddr;
use core::time::Duration;

use keepalived_vrrp::{
    AddrList, Auth, ChecksumCaps, Event, InitialState, InstanceConfig, Instant, Version,
};

use super::{MCAST_V4, MCAST_V6, op};

/// One scenario input, without its time.
#[derive(Clone, Debug)]
pub enum ScenarioInput {
    /// `handle_start`.
    Start,
    /// `handle_timeout`.
    Timeout,
    /// A received VRRP message.
    Rx {
        /// Source.
        src: IpAddr,
        /// Destination.
        dst: IpAddr,
        /// TTL / hop limit.
        ttl: u8,
        /// The message.
        bytes: Vec<u8>,
    },
    /// An event.
    Event(Event),
}

/// A `vrrp_parse` seed: flags (family, verify), source, destination, message.
pub fn encode_parse_seed(src: IpAddr, dst: IpAddr, caps: ChecksumCaps, msg: &[u8]) -> Vec<u8> {
    let mut out = vec![
        u8::from(src.is_ipv6())
            | (u8::from(caps.verify) << 1)
            | (u8::from(caps.v3_checksum_as_v2) << 2),
    ];
    for a in [src, dst] {
        match a {
            IpAddr::V4(a) => out.extend_from_slice(&a.octets()),
            IpAddr::V6(a) => out.extend_from_slice(&a.octets()),
        }
    }
    out.extend_from_slice(msg);
    out
}

/// The last byte of an address (the fuzz driver's node number).
fn node_number(a: IpAddr) -> u8 {
    match a {
        IpAddr::V4(a) => a.octets()[3],
        IpAddr::V6(a) => a.octets()[15],
    }
}

fn half_secs(d: Duration) -> u8 {
    u8::try_from(d.as_millis() / 500).unwrap_or(15).min(15)
}

/// The configuration header `decode_config` reads (10 bytes): flags, priority, interval (u16),
/// preempt_delay (100 ms units), down_timer_adverts, garp (low nibble delay, high refresh),
/// VRID, own node number, VIP count.
pub fn config_header(cfg: &InstanceConfig) -> Vec<u8> {
    let v3 = cfg.version == Version::V3;
    let ipv6 = cfg.primary_addr.is_ipv6();
    let flags = u8::from(v3)
        | (u8::from(ipv6) << 1)
        | (u8::from(!cfg.preempt) << 2)
        | (u8::from(cfg.initial_state == InitialState::Master) << 3)
        | (u8::from(matches!(cfg.auth, Auth::Simple(_))) << 4)
        | (u8::from(!cfg.check_ttl) << 5)
        | (u8::from(cfg.strict_addr_check) << 6)
        | (u8::from(cfg.checksum.v3_checksum_as_v2) << 7);
    let int = if v3 {
        cfg.adver_int.0
    } else {
        cfg.adver_int.whole_secs().unwrap_or(1)
    };
    let delay = match cfg.garp.master_delay {
        None => 0,
        Some(d) => half_secs(d).saturating_add(1).min(15),
    };
    let refresh = cfg.garp.master_refresh.map_or(0, |d| half_secs(d).max(1));
    let count = match &cfg.vips {
        AddrList::V4(v) => v.len(),
        AddrList::V6(v) => v.len(),
    };
    let mut out = vec![flags, cfg.priority];
    out.extend_from_slice(&int.to_be_bytes());
    out.push(u8::try_from(cfg.preempt_delay.as_millis() / 100).unwrap_or(u8::MAX));
    out.extend_from_slice(&[
        cfg.down_timer_adverts,
        delay | (refresh << 4),
        cfg.vrid,
        node_number(cfg.primary_addr),
        u8::try_from(count.min(3)).unwrap_or(3),
    ]);
    out
}

fn sleep_to(out: &mut Vec<u8>, now: &mut Instant, to: Instant) {
    let mut ms = (to - *now).as_millis();
    while ms > 0 {
        let step = u16::try_from(ms.min(10_000)).unwrap_or(10_000);
        out.push(op::SLEEP_MS);
        out.extend_from_slice(&step.to_be_bytes());
        ms -= u128::from(step);
        *now += Duration::from_millis(u64::from(step));
    }
}

/// A `vrrp_instance` seed replaying a scenario: the configuration header, then one operation per
/// input (with sleeps between them; timeouts become "advance to the next deadline").
pub fn encode_instance_seed(cfg: &InstanceConfig, inputs: &[(Instant, ScenarioInput)]) -> Vec<u8> {
    let mut out = config_header(cfg);
    let mut now = Instant::ZERO;
    for (at, input) in inputs {
        match input {
            ScenarioInput::Timeout => {
                out.push(op::NEXT_TIMEOUT);
                now = now.max(*at);
                continue;
            }
            _ => sleep_to(&mut out, &mut now, *at),
        }
        match input {
            ScenarioInput::Start => out.extend_from_slice(&[op::EVENT, 3]),
            ScenarioInput::Event(e) => match e {
                Event::InterfaceDown => out.extend_from_slice(&[op::EVENT, 0]),
                Event::InterfaceUp => out.extend_from_slice(&[op::EVENT, 1]),
                Event::Shutdown => out.extend_from_slice(&[op::EVENT, 2]),
                Event::PriorityChanged(p) => out.extend_from_slice(&[op::EVENT, 4, *p]),
                #[allow(unreachable_patterns)]
                _ => {}
            },
            ScenarioInput::Rx {
                src,
                dst,
                ttl,
                bytes,
            } => {
                let mcast = *dst == IpAddr::from(MCAST_V4) || *dst == IpAddr::from(MCAST_V6);
                let dst_n = if mcast { 0 } else { node_number(*dst).max(1) };
                let len = u8::try_from(bytes.len()).unwrap_or(u8::MAX);
                out.extend_from_slice(&[op::RX_RAW, node_number(*src), *ttl, dst_n, len]);
                out.extend_from_slice(&bytes[..usize::from(len)]);
            }
            ScenarioInput::Timeout => {}
        }
    }
    out
}
