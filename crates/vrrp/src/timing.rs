//! Protocol timing: advertisement intervals, Skew_Time and Master_Down_Interval.
//!
//! * VRRPv2, [RFC 3768 §6.1](https://www.rfc-editor.org/rfc/rfc3768#section-6.1): the interval is
//!   whole seconds; `Skew_Time = (256 - Priority) / 256` seconds;
//!   `Master_Down_Interval = 3 * Advertisement_Interval + Skew_Time`.
//! * VRRPv3, [RFC 9568 §6.1](https://www.rfc-editor.org/rfc/rfc9568#section-6.1): intervals are
//!   centiseconds (12 bits); `Skew_Time = ((256 - Priority) * Master_Adver_Interval) / 256`;
//!   `Master_Down_Interval = 3 * Master_Adver_Interval + Skew_Time`, where a backup learns
//!   `Master_Adver_Interval` from the adverts it accepts.
//!
//! The factor 3 is keepalived's `down_timer_adverts` (default 3). Both skews are computed exactly
//! as rational numbers and rounded down to the nanosecond: the v3 skew is *not* truncated to whole
//! centiseconds (keepalived keeps the fraction too, in microseconds), so priorities 254 and 253
//! still get different skews at short intervals.

use core::fmt;
use core::time::Duration;

/// A VRRP protocol version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Version {
    /// VRRPv2, RFC 3768 (IPv4 only, intervals in seconds, optional simple password).
    V2,
    /// VRRPv3, RFC 9568 (IPv4 and IPv6, intervals in centiseconds, no authentication).
    V3,
}

impl Version {
    /// The value of the 4-bit version field.
    #[must_use]
    pub const fn number(self) -> u8 {
        match self {
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }

    /// The version for a 4-bit version field, if it is one we speak.
    #[must_use]
    pub const fn from_number(n: u8) -> Option<Self> {
        match n {
            2 => Some(Version::V2),
            3 => Some(Version::V3),
            _ => None,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VRRPv{}", self.number())
    }
}

/// A duration in centiseconds, the unit of VRRPv3 intervals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Centisecs(pub u16);

impl Centisecs {
    /// The largest interval a VRRPv3 advert can carry (12 bits): 40.95 s.
    pub const MAX_V3: Centisecs = Centisecs(0x0fff);

    /// Whole seconds as centiseconds (saturating).
    #[must_use]
    pub const fn from_secs(secs: u16) -> Self {
        Centisecs(secs.saturating_mul(100))
    }

    /// Whole seconds, if this is a whole number of seconds.
    #[must_use]
    pub const fn whole_secs(self) -> Option<u16> {
        if (self.0 / 100) * 100 == self.0 {
            Some(self.0 / 100)
        } else {
            None
        }
    }

    /// As a [`Duration`].
    #[must_use]
    pub const fn as_duration(self) -> Duration {
        Duration::from_millis(self.0 as u64 * 10)
    }
}

impl fmt::Display for Centisecs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}s", self.0 / 100, self.0 % 100)
    }
}

/// Skew_Time for a router of `priority` with the master's advertisement interval `adver_int`.
///
/// For v2 the interval does not enter the formula (RFC 3768 §6.1); for v3 it does (RFC 9568 §6.1).
#[must_use]
pub fn skew_time(version: Version, priority: u8, adver_int: Centisecs) -> Duration {
    let weight = 256 - u64::from(priority);
    match version {
        // (256 - p) / 256 s = (256 - p) * 3_906_250 ns, exact.
        Version::V2 => Duration::from_nanos(weight * 3_906_250),
        // (256 - p) * int / 256 cs = (256 - p) * int * 10^7 / 256 ns, rounded down.
        Version::V3 => Duration::from_nanos(weight * u64::from(adver_int.0) * 10_000_000 / 256),
    }
}

/// Master_Down_Interval = `down_timer_adverts` * Master_Adver_Interval + Skew_Time.
#[must_use]
pub fn master_down_interval(
    version: Version,
    priority: u8,
    master_adver_int: Centisecs,
    down_timer_adverts: u8,
) -> Duration {
    master_adver_int.as_duration() * u32::from(down_timer_adverts)
        + skew_time(version, priority, master_adver_int)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_skew_is_exact() {
        assert_eq!(
            skew_time(Version::V2, 100, Centisecs::from_secs(1)),
            Duration::from_micros(609_375)
        );
        assert_eq!(
            skew_time(Version::V2, 255, Centisecs::from_secs(7)),
            Duration::from_nanos(3_906_250)
        );
        assert_eq!(
            skew_time(Version::V2, 1, Centisecs::from_secs(1)),
            Duration::from_nanos(255 * 3_906_250)
        );
    }

    #[test]
    fn v2_master_down_interval() {
        // advert_int 1, priority 100: 3 + 156/256 s.
        assert_eq!(
            master_down_interval(Version::V2, 100, Centisecs::from_secs(1), 3),
            Duration::from_nanos(3_609_375_000)
        );
        // down_timer_adverts replaces the 3.
        assert_eq!(
            master_down_interval(Version::V2, 100, Centisecs::from_secs(2), 5),
            Duration::from_nanos(10_609_375_000)
        );
    }

    #[test]
    fn v3_skew_scales_with_interval() {
        // 100 cs, priority 100: 156 * 100 / 256 cs = 60.9375 cs.
        assert_eq!(
            skew_time(Version::V3, 100, Centisecs(100)),
            Duration::from_micros(609_375)
        );
        // 5 cs, priority 100: 156 * 5 / 256 cs = 3.046875 cs = 30.46875 ms.
        assert_eq!(
            skew_time(Version::V3, 100, Centisecs(5)),
            Duration::from_nanos(30_468_750)
        );
        assert_eq!(
            master_down_interval(Version::V3, 100, Centisecs(5), 3),
            Duration::from_nanos(180_468_750)
        );
        // Priorities 254 and 253 differ even at 1 cs.
        assert!(
            skew_time(Version::V3, 254, Centisecs(1)) < skew_time(Version::V3, 253, Centisecs(1))
        );
        // The largest values do not overflow.
        assert_eq!(
            skew_time(Version::V3, 0, Centisecs(u16::MAX)),
            Duration::from_nanos(655_350_000_000)
        );
    }

    #[test]
    fn centisecs_conversions() {
        assert_eq!(Centisecs::from_secs(3).whole_secs(), Some(3));
        assert_eq!(Centisecs(5).whole_secs(), None);
        assert_eq!(Centisecs(5).as_duration(), Duration::from_millis(50));
        assert_eq!(Centisecs(105).to_string(), "1.05s");
        assert_eq!(Version::from_number(4), None);
    }
}
