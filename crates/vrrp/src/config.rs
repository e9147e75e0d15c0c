//! An instance's configuration, validated by [`InstanceConfig::validate`] (which
//! [`crate::Instance::new`] calls).
//!
//! Defaults follow keepalived: `preempt` on, no `preempt_delay`, initial state BACKUP,
//! `down_timer_adverts 3`, `garp_master_delay 5`, `garp_master_repeat 5`, no
//! `garp_master_refresh`.

use core::net::IpAddr;
use core::time::Duration;

use crate::error::ConfigError;
use crate::timing::{Centisecs, Version};
use crate::wire::ChecksumCaps;
use crate::wire::ah::AhKey;
use crate::wire::vrrp::{AddrList, Auth, Family};

/// keepalived's `state`: the state an instance asks for at start-up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum InitialState {
    /// `state BACKUP`: wait Master_Down_Interval for a master.
    #[default]
    Backup,
    /// `state MASTER`. keepalived 2.2.7 starts such an instance in Backup with the full
    /// Master_Down_Interval unless it is the address owner (priority 255), which is master at
    /// once whatever its `state`; so below 255 this changes nothing in the engine. Its effects
    /// are in the configuration (keepalived clears `nopreempt` and `preempt_delay` with it, and
    /// clears `state MASTER` itself with `auth_type AH`) and in state dumps.
    Master,
}

/// keepalived's gratuitous ARP / unsolicited NA schedule on becoming master.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GarpConfig {
    /// `garp_master_delay`: a second burst this long after becoming master (`None` = no second
    /// burst; keepalived's 0).
    pub master_delay: Option<Duration>,
    /// `garp_master_repeat`: messages per burst.
    pub master_repeat: u8,
    /// `garp_master_refresh`: a periodic burst while master (`None` = off).
    pub master_refresh: Option<Duration>,
    /// `garp_master_refresh_repeat`: messages per periodic burst.
    pub master_refresh_repeat: u8,
}

impl Default for GarpConfig {
    fn default() -> Self {
        GarpConfig {
            master_delay: Some(Duration::from_secs(5)),
            master_repeat: 5,
            master_refresh: None,
            master_refresh_repeat: 1,
        }
    }
}

/// The configuration of one VRRP instance (one VRID on one interface and family).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceConfig {
    /// The instance's name, for logs (`VI_1`).
    pub name: String,
    /// `virtual_router_id`, 1..=255.
    pub vrid: u8,
    /// `version`.
    pub version: Version,
    /// `priority`, 1..=255; 255 is the address owner.
    pub priority: u8,
    /// `advert_int`: v2 whole seconds 1..=255, v3 1..=4095 centiseconds.
    pub adver_int: Centisecs,
    /// The address adverts are sent from, compared on equal priority (`mcast_src_ip`,
    /// `unicast_src_ip`, or the interface's primary address).
    pub primary_addr: IpAddr,
    /// The virtual addresses carried in adverts (`virtual_ipaddress`, first family only).
    pub vips: AddrList,
    /// `authentication` (v2 only): the auth type, and for PASS the password.
    pub auth: Auth,
    /// The `auth_pass` of `auth_type AH`: the HMAC-MD5 key (8 bytes, zero-padded, as keepalived
    /// uses it); only used with [`Auth::IpAh`].
    pub ah_key: AhKey,
    /// `preempt` (true) / `nopreempt` (false).
    pub preempt: bool,
    /// `preempt_delay`: after start-up or after first hearing a lower-priority master, keep
    /// accepting its adverts this long before preempting it.
    pub preempt_delay: Duration,
    /// `state`.
    pub initial_state: InitialState,
    /// `down_timer_adverts`: adverts missed before the master is declared down (the RFC's 3).
    pub down_timer_adverts: u8,
    /// Require TTL / hop limit 255 (RFC; keepalived can relax it for unicast).
    pub check_ttl: bool,
    /// Adverts go to unicast peers (keepalived's `unicast_peer`): the AH ICV then covers the
    /// TTL as zero, since `unicast_ttl` may change it.
    pub unicast: bool,
    /// keepalived's `strict_mode` for the address list: drop adverts whose addresses differ from
    /// ours (otherwise they are only counted and reported).
    pub strict_addr_check: bool,
    /// Checksum options.
    pub checksum: ChecksumCaps,
    /// Gratuitous ARP / NA schedule.
    pub garp: GarpConfig,
}

impl InstanceConfig {
    /// A configuration with keepalived's defaults: priority 100, advert_int 1 s, preempt,
    /// initial state BACKUP, no authentication.
    #[must_use]
    pub fn new(
        name: impl Into<String>,
        vrid: u8,
        version: Version,
        primary_addr: IpAddr,
        vips: AddrList,
    ) -> Self {
        InstanceConfig {
            name: name.into(),
            vrid,
            version,
            priority: 100,
            adver_int: Centisecs::from_secs(1),
            primary_addr,
            vips,
            auth: Auth::None,
            ah_key: [0; 8],
            preempt: true,
            preempt_delay: Duration::ZERO,
            initial_state: InitialState::Backup,
            down_timer_adverts: 3,
            check_ttl: true,
            unicast: false,
            strict_addr_check: false,
            checksum: ChecksumCaps::default(),
            garp: GarpConfig::default(),
        }
    }

    /// Sets `auth_type AH` with `pass` as the key (cut to 8 bytes and zero-padded).
    pub fn set_ah(&mut self, pass: &[u8]) {
        self.auth = Auth::IpAh;
        self.ah_key = match Auth::simple(pass) {
            Auth::Simple(k) => k,
            _ => [0; 8],
        };
    }

    /// The address family.
    #[must_use]
    pub fn family(&self) -> Family {
        Family::of(&self.primary_addr)
    }

    /// Checks the configuration can run.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.vrid == 0 {
            return Err(ConfigError::Vrid(self.vrid));
        }
        if self.priority == 0 {
            return Err(ConfigError::Priority(self.priority));
        }
        if self.down_timer_adverts == 0 {
            return Err(ConfigError::DownTimerAdverts(0));
        }
        if self.garp.master_refresh == Some(Duration::ZERO) {
            return Err(ConfigError::GarpRefreshZero);
        }
        if self.vips.family() != self.family() {
            return Err(ConfigError::FamilyMismatch);
        }
        if self.vips.len() > 255 {
            return Err(ConfigError::TooManyAddresses(self.vips.len()));
        }
        let int_ok = match self.version {
            Version::V2 => {
                if self.family() != Family::V4 {
                    return Err(ConfigError::V2NotIpv4);
                }
                matches!(self.adver_int.whole_secs(), Some(1..=255))
            }
            Version::V3 => {
                if self.auth != Auth::None {
                    return Err(ConfigError::AuthOnV3);
                }
                self.adver_int.0 >= 1 && self.adver_int <= Centisecs::MAX_V3
            }
        };
        if !int_ok {
            return Err(ConfigError::AdverInterval(self.adver_int));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::{Ipv4Addr, Ipv6Addr};

    fn base() -> InstanceConfig {
        InstanceConfig::new(
            "VI_1",
            51,
            Version::V2,
            Ipv4Addr::new(10, 0, 0, 1).into(),
            AddrList::V4(vec![Ipv4Addr::new(10, 0, 0, 100)]),
        )
    }

    #[test]
    fn defaults_validate() {
        assert_eq!(base().validate(), Ok(()));
    }

    #[test]
    fn refuses_each_invalid_field() {
        let mut c = base();
        c.vrid = 0;
        assert_eq!(c.validate(), Err(ConfigError::Vrid(0)));
        let mut c = base();
        c.priority = 0;
        assert_eq!(c.validate(), Err(ConfigError::Priority(0)));
        let mut c = base();
        c.down_timer_adverts = 0;
        assert_eq!(c.validate(), Err(ConfigError::DownTimerAdverts(0)));
        let mut c = base();
        c.adver_int = Centisecs(5);
        assert_eq!(c.validate(), Err(ConfigError::AdverInterval(Centisecs(5))));
        let mut c = base();
        c.version = Version::V3;
        c.auth = Auth::simple(b"x");
        assert_eq!(c.validate(), Err(ConfigError::AuthOnV3));
        let mut c = base();
        c.version = Version::V3;
        c.adver_int = Centisecs(4096);
        assert!(c.validate().is_err());
        let mut c = base();
        c.vips = AddrList::V6(vec![Ipv6Addr::LOCALHOST]);
        assert_eq!(c.validate(), Err(ConfigError::FamilyMismatch));
        let mut c = base();
        c.primary_addr = Ipv6Addr::LOCALHOST.into();
        c.vips = AddrList::V6(vec![]);
        assert_eq!(c.validate(), Err(ConfigError::V2NotIpv4));
        c.version = Version::V3;
        assert_eq!(c.validate(), Ok(()));
    }
}
