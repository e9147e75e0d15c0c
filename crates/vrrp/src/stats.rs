//! Counters an operator wants: RFC 6527 (`VRRPV3-MIB`) and keepalived's per-instance statistics.

use crate::error::RxError;

/// Per-instance counters (`vrrpStatisticsTable`; keepalived's instance `stats`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InstanceStats {
    /// Valid adverts received (`vrrpStatisticsRcvdAdvertisements`, `advert_rcvd`).
    pub advert_rcvd: u64,
    /// Adverts sent (`advert_sent`).
    pub advert_sent: u64,
    /// Transitions into Master (`vrrpStatisticsMasterTransitions`, `become_master`).
    pub become_master: u64,
    /// Transitions out of Master (`release_master`).
    pub release_master: u64,
    /// Length inconsistent with the address count (`vrrpStatisticsPacketLengthErrors`).
    pub packet_length_errors: u64,
    /// Interval differing from ours (`vrrpStatisticsAdvIntervalErrors`, `advert_interval_err`).
    pub adver_interval_errors: u64,
    /// TTL / hop limit not 255 (`vrrpStatisticsIpTtlErrors`, `ip_ttl_err`).
    pub ip_ttl_errors: u64,
    /// Type not ADVERTISEMENT (`vrrpStatisticsRcvdInvalidTypePackets`, `invalid_type_rcvd`).
    pub invalid_type_rcvd: u64,
    /// Address list differing from ours (`vrrpStatisticsAddressListErrors`, `addr_list_err`).
    pub addr_list_errors: u64,
    /// Unknown auth type (`vrrpStatsInvalidAuthType`, `invalid_authtype`).
    pub invalid_authtype: u64,
    /// Auth type not ours (`vrrpStatsAuthTypeMismatch`, `authtype_mismatch`).
    pub authtype_mismatch: u64,
    /// Password mismatch, or an AH that does not verify or is replayed (`vrrpStatsAuthFailures`,
    /// `auth_failure`).
    pub auth_failures: u64,
    /// Priority-0 adverts received (`vrrpStatisticsRcvdPriZeroPackets`, `pri_zero_rcvd`).
    pub pri_zero_rcvd: u64,
    /// Priority-0 adverts sent (`vrrpStatisticsSentPriZeroPackets`, `pri_zero_sent`).
    pub pri_zero_sent: u64,
    /// RFC 6527 `vrrpStatisticsNewMasterReason` of the last transition into Master.
    pub new_master_reason: u8,
}

impl InstanceStats {
    /// Counts `err` if it is an instance-scope error; returns whether it was counted.
    pub fn record(&mut self, err: &RxError) -> bool {
        let counter = match err {
            RxError::PacketLength { .. } => &mut self.packet_length_errors,
            RxError::AdverInterval { .. } => &mut self.adver_interval_errors,
            RxError::IpTtl { .. } => &mut self.ip_ttl_errors,
            RxError::InvalidType { .. } => &mut self.invalid_type_rcvd,
            RxError::AddressList => &mut self.addr_list_errors,
            RxError::InvalidAuthType { .. } => &mut self.invalid_authtype,
            RxError::AuthTypeMismatch { .. } => &mut self.authtype_mismatch,
            RxError::AuthFailure
            | RxError::AhIcv
            | RxError::AhSpi { .. }
            | RxError::AhReplay { .. } => &mut self.auth_failures,
            _ => return false,
        };
        *counter += 1;
        true
    }
}

/// Counters of the receiving router as a whole (RFC 6527 `vrrpRouter*Errors`), kept by
/// [`crate::Router`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GlobalStats {
    /// `vrrpRouterChecksumErrors`.
    pub checksum_errors: u64,
    /// `vrrpRouterVersionErrors`.
    pub version_errors: u64,
    /// `vrrpRouterVrIdErrors`.
    pub vrid_errors: u64,
    /// Messages too short to hold a VRRP header.
    pub truncated: u64,
    /// Malformed IP headers or a protocol other than VRRP.
    pub ip_errors: u64,
}

impl GlobalStats {
    /// Counts `err` if it is a global-scope error; returns whether it was counted.
    pub fn record(&mut self, err: &RxError) -> bool {
        let counter = match err {
            RxError::Checksum { .. } => &mut self.checksum_errors,
            RxError::Version { .. } => &mut self.version_errors,
            RxError::VridUnknown { .. } => &mut self.vrid_errors,
            RxError::Truncated { .. } => &mut self.truncated,
            RxError::IpTruncated { .. }
            | RxError::IpHeader { .. }
            | RxError::IpProtocol { .. }
            | RxError::AhNextHeader { .. } => &mut self.ip_errors,
            _ => return false,
        };
        *counter += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Scope;
    use crate::timing::Centisecs;

    #[test]
    fn every_error_is_counted_exactly_once_by_its_scope() {
        let all = [
            RxError::IpTruncated { len: 0 },
            RxError::IpHeader { reason: "x" },
            RxError::IpProtocol { got: 6 },
            RxError::Truncated { len: 3 },
            RxError::Version { got: 4 },
            RxError::Checksum { got: 0 },
            RxError::VridUnknown { vrid: 9 },
            RxError::IpTtl { got: 1 },
            RxError::PacketLength {
                expected: 1,
                got: 2,
            },
            RxError::InvalidType { got: 2 },
            RxError::AdverInterval {
                got: Centisecs(1),
                expected: Centisecs(2),
            },
            RxError::InvalidAuthType { got: 9 },
            RxError::AuthTypeMismatch {
                got: 2,
                expected: 0,
            },
            RxError::AuthFailure,
            RxError::AhIcv,
            RxError::AhSpi { spi: 1 },
            RxError::AhReplay { seq: 1, last: 2 },
            RxError::AhNextHeader { got: 6 },
            RxError::AddressList,
        ];
        for e in all {
            let mut g = GlobalStats::default();
            let mut i = InstanceStats::default();
            let counted = (g.record(&e), i.record(&e));
            match e.scope() {
                Scope::Global => assert_eq!(counted, (true, false), "{e}"),
                Scope::Instance => assert_eq!(counted, (false, true), "{e}"),
            }
            assert!(!e.counter().is_empty());
        }
    }
}
