//! One session's configuration ([`SessionConfig`]), built from keepalived's `bfd_instance`.

use core::net::IpAddr;
use core::time::Duration;

use keepalived_config::model::global::BfdInstance;

use crate::error::ConfigError;

/// RFC 5881 single-hop control port.
pub const SINGLE_HOP_PORT: u16 = 3784;
/// RFC 5883 multihop control port.
pub const MULTIHOP_PORT: u16 = 4784;
/// The first source port RFC 5881 allows.
pub const SOURCE_PORT_MIN: u16 = 49152;
/// `max_hops` value that turns the TTL check off (keepalived's `UCHAR_MAX`; `-1` maps to it).
pub const MAX_HOPS_UNCHECKED: u8 = 255;

/// What one `bfd_instance` asks of its session. Intervals in microseconds, as on the wire
/// (keepalived's `min_rx`/`min_tx`/`idle_tx` are milliseconds with microsecond resolution).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionConfig {
    /// Instance name, used in logs and events.
    pub name: String,
    /// `neighbor_ip`.
    pub neighbor: IpAddr,
    /// `source_ip`: the local address to send from and to accept on (any when `None`).
    pub source: Option<IpAddr>,
    /// `min_rx`: bfd.RequiredMinRxInterval, µs.
    pub min_rx_us: u32,
    /// `min_tx`: bfd.DesiredMinTxInterval while Up, µs.
    pub min_tx_us: u32,
    /// `idle_tx`: bfd.DesiredMinTxInterval while not Up, µs.
    pub idle_tx_us: u32,
    /// `multiplier`: bfd.DetectMult.
    pub multiplier: u8,
    /// `passive`: send nothing until the peer has been heard.
    pub passive: bool,
    /// `ttl` / `hoplimit` of the packets sent.
    pub ttl: u8,
    /// `max_hops`: a received TTL below `ttl - max_hops` is dropped; 255 disables the check.
    pub max_hops: u8,
    /// `multihop`: RFC 5883 (port 4784) instead of RFC 5881 (port 3784).
    pub multihop: bool,
}

impl SessionConfig {
    /// keepalived's defaults for a neighbour: 10 ms min_rx/min_tx, 1 s idle_tx, multiplier 5,
    /// TTL 255 (IPv4) or hop limit 64 (IPv6), max_hops 0, single-hop.
    #[must_use]
    pub fn new(name: impl Into<String>, neighbor: IpAddr) -> SessionConfig {
        SessionConfig {
            name: name.into(),
            neighbor,
            source: None,
            min_rx_us: 10_000,
            min_tx_us: 10_000,
            idle_tx_us: 1_000_000,
            multiplier: 5,
            passive: false,
            ttl: if neighbor.is_ipv4() { 255 } else { 64 },
            max_hops: 0,
            multihop: false,
        }
    }

    /// The session for a parsed `bfd_instance` (the model has already range-checked it).
    pub fn from_model(b: &BfdInstance) -> Result<SessionConfig, ConfigError> {
        let us = |d: Duration, name: &'static str| {
            u32::try_from(d.as_micros())
                .ok()
                .filter(|v| *v > 0)
                .ok_or(ConfigError::BadInterval { name })
        };
        let cfg = SessionConfig {
            name: b.name.clone(),
            neighbor: b.neighbor_ip,
            source: b.source_ip,
            min_rx_us: us(b.min_rx, "min_rx")?,
            min_tx_us: us(b.min_tx, "min_tx")?,
            idle_tx_us: us(b.idle_tx, "idle_tx")?,
            multiplier: b.multiplier,
            passive: b.passive,
            ttl: b.ttl,
            // -1 and 255 both disable the check, as keepalived's uint8_t makes them.
            max_hops: u8::try_from(b.max_hops).unwrap_or(MAX_HOPS_UNCHECKED),
            multihop: b.multihop,
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks what the engine relies on.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.multiplier == 0 {
            return Err(ConfigError::ZeroMultiplier);
        }
        for (v, name) in [
            (self.min_rx_us, "min_rx"),
            (self.min_tx_us, "min_tx"),
            (self.idle_tx_us, "idle_tx"),
        ] {
            if v == 0 {
                return Err(ConfigError::BadInterval { name });
            }
        }
        if let Some(src) = self.source
            && src.is_ipv4() != self.neighbor.is_ipv4()
        {
            return Err(ConfigError::FamilyMismatch);
        }
        Ok(())
    }

    /// The destination port: 3784, or 4784 for multihop.
    #[must_use]
    pub fn port(&self) -> u16 {
        if self.multihop {
            MULTIHOP_PORT
        } else {
            SINGLE_HOP_PORT
        }
    }

    /// The least TTL accepted on receipt, or `None` when unchecked.
    #[must_use]
    pub fn min_rx_ttl(&self) -> Option<u8> {
        (self.max_hops != MAX_HOPS_UNCHECKED).then(|| self.ttl.saturating_sub(self.max_hops))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_model_converts_milliseconds_and_max_hops() {
        let src = "bfd_instance b1 {\n neighbor_ip 192.0.2.2\n min_rx 50\n min_tx 50.5\n \
                   idle_tx 2000\n multiplier 3\n max_hops -1\n passive\n}\n";
        let parsed = keepalived_config::read_str("k.conf", src, &Default::default());
        let b = parsed
            .config
            .global
            .bfd_instance("b1")
            .expect("parsed bfd_instance");
        let cfg = SessionConfig::from_model(b).expect("valid");
        assert_eq!(cfg.min_rx_us, 50_000);
        assert_eq!(cfg.min_tx_us, 50_500);
        assert_eq!(cfg.idle_tx_us, 2_000_000);
        assert_eq!(cfg.multiplier, 3);
        assert!(cfg.passive);
        assert_eq!(cfg.ttl, 255);
        assert_eq!(cfg.max_hops, MAX_HOPS_UNCHECKED);
        assert_eq!(cfg.min_rx_ttl(), None);
        assert_eq!(cfg.port(), SINGLE_HOP_PORT);
    }

    #[test]
    fn defaults_and_ttl_floor() {
        let mut cfg = SessionConfig::new("x", "2001:db8::1".parse().expect("addr"));
        assert_eq!(cfg.ttl, 64);
        assert_eq!(cfg.min_rx_ttl(), Some(64));
        cfg.multihop = true;
        cfg.ttl = 255;
        cfg.max_hops = 5;
        assert_eq!(cfg.min_rx_ttl(), Some(250));
        assert_eq!(cfg.port(), MULTIHOP_PORT);
        cfg.source = Some("192.0.2.1".parse().expect("addr"));
        assert_eq!(cfg.validate(), Err(ConfigError::FamilyMismatch));
    }
}
