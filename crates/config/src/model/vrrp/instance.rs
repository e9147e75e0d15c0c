//! `vrrp_instance`: one virtual router on one interface.

use std::net::IpAddr;
use std::time::Duration;

use serde::Serialize;

use super::{Track, VirtualAddress, VirtualRoute, VirtualRule};
use crate::diag::Loc;
use crate::model::common::{IpPrefix, Script};

/// The state an instance starts in (`state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum InitialState {
    /// `state MASTER`.
    Master,
    /// `state BACKUP` (the default).
    #[default]
    Backup,
}

/// VRRP protocol version (`version`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum VrrpVersion {
    /// VRRPv2 (RFC 3768), IPv4 only, whole-second advert intervals.
    #[default]
    #[serde(rename = "2")]
    V2,
    /// VRRPv3 (RFC 5798), centi-second advert intervals, required for IPv6.
    #[serde(rename = "3")]
    V3,
}

impl VrrpVersion {
    /// The version number.
    pub fn number(self) -> u8 {
        match self {
            Self::V2 => 2,
            Self::V3 => 3,
        }
    }
}

/// `authentication { auth_type ...; auth_pass ... }` (VRRPv2 only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Authentication {
    /// `auth_type`.
    pub auth_type: AuthType,
    /// `auth_pass` (at most 8 characters are used).
    pub pass: String,
}

/// `auth_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum AuthType {
    /// Simple password.
    #[default]
    Pass,
    /// IPSEC AH.
    Ah,
}

/// `auth_hmac { ... }` (keepalived 2.4): HMAC authentication of adverts.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct AuthHmac {
    /// `key ID SECRET` entries.
    pub keys: Vec<HmacKey>,
    /// `active_key ID`: the key used to sign outgoing adverts.
    pub active_key: Option<u32>,
    /// `time_window SECS`: how far a received advert's timestamp may differ.
    #[serde(serialize_with = "crate::model::common::opt_secs")]
    pub time_window: Option<Duration>,
    /// `anti_replay [BOOL]`.
    pub anti_replay: bool,
    /// `mode NAME`: the digest (e.g. `sha256`).
    pub mode: Option<String>,
}

/// One `key` of `auth_hmac`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HmacKey {
    /// Key id.
    pub id: u32,
    /// The secret.
    #[serde(skip)]
    pub secret: String,
}

/// One `unicast_peer` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnicastPeer {
    /// The peer's address.
    pub addr: IpAddr,
    /// `min_ttl`: adverts with a lower TTL/hop limit are discarded.
    pub min_ttl: Option<u8>,
    /// `max_ttl`.
    pub max_ttl: Option<u8>,
    /// Where it was configured.
    #[serde(skip)]
    pub loc: Loc,
}

/// `use_vmac [NAME] [MAC]`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct UseVmac {
    /// The macvlan's name (default `vrrp.VRID`).
    pub ifname: Option<String>,
    /// The MAC address (5 octets: the VRID is appended).
    pub mac: Option<Vec<u8>>,
}

/// `use_ipvlan [NAME] [ADDR[/LEN]] [bridge|private|vepa]`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct UseIpvlan {
    /// The ipvlan's name.
    pub ifname: Option<String>,
    /// Its address.
    pub addr: Option<IpPrefix>,
    /// Its mode flag.
    pub mode: IpvlanMode,
}

/// ipvlan mode flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IpvlanMode {
    /// `bridge` (default).
    #[default]
    Bridge,
    /// `private`.
    Private,
    /// `vepa`.
    Vepa,
}

/// `old_unicast_checksum [never]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OldUnicastChecksum {
    /// Always use the pre-1.3.6 checksum.
    Always,
    /// `never`: do not even auto-detect old checksums.
    Never,
}

/// `garp_extra_if [all] SECS` / `vmac_garp_intvl SECS [all]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct GarpExtraIf {
    /// Interval between periodic gratuitous ARPs/NAs (zero disables).
    #[serde(serialize_with = "crate::model::common::secs")]
    pub interval: Duration,
    /// `all`: on every interface with a VIP, not only the extra ones.
    pub all: bool,
}

/// `notify_deleted [SCRIPT]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotifyDeleted {
    /// The script to run, if one was given.
    pub script: Option<Script>,
}

/// The notify scripts of an instance or sync group.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Notify {
    /// `notify_master`.
    pub master: Option<Script>,
    /// `notify_backup`.
    pub backup: Option<Script>,
    /// `notify_fault`.
    pub fault: Option<Script>,
    /// `notify_stop`.
    pub stop: Option<Script>,
    /// `notify` (any transition, with state arguments appended).
    pub any: Option<Script>,
}

/// Gratuitous ARP settings of an instance; `None` means the global `vrrp_garp_*` value.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct GarpSettings {
    /// `garp_master_delay` (whole seconds).
    #[serde(serialize_with = "crate::model::common::opt_secs")]
    pub master_delay: Option<Duration>,
    /// `garp_master_repeat`.
    pub master_repeat: Option<u32>,
    /// `garp_master_refresh` (zero disables).
    #[serde(serialize_with = "crate::model::common::opt_secs")]
    pub master_refresh: Option<Duration>,
    /// `garp_master_refresh_repeat`.
    pub master_refresh_repeat: Option<u32>,
    /// `garp_lower_prio_delay`.
    #[serde(serialize_with = "crate::model::common::opt_secs")]
    pub lower_prio_delay: Option<Duration>,
    /// `garp_lower_prio_repeat`.
    pub lower_prio_repeat: Option<u32>,
    /// `garp_extra_if` / `vmac_garp_intvl`.
    pub extra_if: Option<GarpExtraIf>,
}

/// A `vrrp_instance` block.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VrrpInstance {
    /// Its name.
    pub name: String,
    /// Where it was declared.
    #[serde(skip)]
    pub loc: Loc,
    /// `state` (default BACKUP).
    pub state: InitialState,
    /// `interface`.
    pub interface: Option<String>,
    /// Where `interface` was written.
    #[serde(skip)]
    pub interface_loc: Loc,
    /// `vrf` (only without `interface`, for unicast).
    pub vrf: Option<String>,
    /// `virtual_router_id` (1..=255; an instance without one is dropped).
    pub virtual_router_id: u8,
    /// `priority` as configured (`None`: 255 with `state MASTER`, else 100; see
    /// [`VrrpInstance::effective_priority`]).
    pub priority: Option<u8>,
    /// `advert_int` as configured (default 1 s); see [`VrrpInstance::effective_advert_int`].
    #[serde(serialize_with = "crate::model::common::secs")]
    pub advert_int: Duration,
    /// `version` as configured (`None`: global `vrrp_version`, else 2; IPv6 forces 3).
    pub version: Option<VrrpVersion>,
    /// `native_ipv6`: force an IPv6 instance (deprecated).
    pub native_ipv6: bool,
    /// `mcast_src_ip` / `unicast_src_ip`: the advert source address.
    pub src_ip: Option<IpAddr>,
    /// `mcast_dst_ip`: alternative multicast group.
    pub mcast_dst_ip: Option<IpAddr>,
    /// `track_src_ip`: fault when the source address goes away.
    pub track_src_ip: bool,
    /// `unicast_peer` entries (empty: multicast).
    pub unicast_peers: Vec<UnicastPeer>,
    /// `unicast_ttl` (default 255).
    pub unicast_ttl: u8,
    /// `unicast_fault_no_peer`.
    pub unicast_fault_no_peer: bool,
    /// `check_unicast_src`.
    pub check_unicast_src: bool,
    /// `old_unicast_checksum`.
    pub old_unicast_checksum: Option<OldUnicastChecksum>,
    /// `v3_checksum_as_v2`.
    pub v3_checksum_as_v2: bool,
    /// `use_vmac`.
    pub use_vmac: Option<UseVmac>,
    /// `use_vmac_addr`.
    pub use_vmac_addr: bool,
    /// `vmac_xmit_base`.
    pub vmac_xmit_base: bool,
    /// `use_ipvlan`.
    pub use_ipvlan: Option<UseIpvlan>,
    /// `dont_track_primary`.
    pub dont_track_primary: bool,
    /// `track_interface` entries.
    pub track_interfaces: Vec<Track>,
    /// `track_script` entries.
    pub track_scripts: Vec<Track>,
    /// `track_file` entries.
    pub track_files: Vec<Track>,
    /// `track_process` entries.
    pub track_processes: Vec<Track>,
    /// `track_bfd` entries.
    pub track_bfds: Vec<Track>,
    /// `virtual_ipaddress`.
    pub virtual_ipaddresses: Vec<VirtualAddress>,
    /// `virtual_ipaddress_excluded`.
    pub virtual_ipaddresses_excluded: Vec<VirtualAddress>,
    /// `no_virtual_ipaddress`: no VIPs on purpose.
    pub no_virtual_ipaddress: bool,
    /// `virtual_routes`.
    pub virtual_routes: Vec<VirtualRoute>,
    /// `virtual_rules`.
    pub virtual_rules: Vec<VirtualRule>,
    /// `promote_secondaries`.
    pub promote_secondaries: bool,
    /// `linkbeat_use_polling` (deprecated).
    pub linkbeat_use_polling: bool,
    /// `accept` (true) / `no_accept` (false); `None`: accept unless strict mode.
    pub accept: Option<bool>,
    /// `skip_check_adv_addr` (`None`: global `vrrp_skip_check_adv_addr`).
    pub skip_check_adv_addr: Option<bool>,
    /// `strict_mode` (`None`: global `vrrp_strict`).
    pub strict_mode: Option<bool>,
    /// `preempt` / `nopreempt` (default true).
    pub preempt: bool,
    /// `preempt_delay` (0..=1000 s).
    #[serde(serialize_with = "crate::model::common::secs")]
    pub preempt_delay: Duration,
    /// `debug` level 0..=4.
    pub debug: u8,
    /// `notify_*` scripts.
    pub notify: Notify,
    /// `notify_deleted`.
    pub notify_deleted: Option<NotifyDeleted>,
    /// `notify_master_rx_lower_pri`.
    pub notify_master_rx_lower_pri: Option<Script>,
    /// `smtp_alert` (`None`: the global setting).
    pub smtp_alert: Option<bool>,
    /// `notify_priority_changes` (`None`: the global setting).
    pub notify_priority_changes: Option<bool>,
    /// `lvs_sync_daemon_interface` (deprecated).
    pub lvs_sync_daemon_interface: Option<String>,
    /// `garp_*` settings.
    pub garp: GarpSettings,
    /// `down_timer_adverts` (1..=100, default 3).
    pub down_timer_adverts: u8,
    /// `timer_expired_backup`.
    pub timer_expired_backup: bool,
    /// `thread_timer_expired` (debugging aid).
    pub thread_timer_expired: bool,
    /// `lower_prio_no_advert` (`None`: global).
    pub lower_prio_no_advert: Option<bool>,
    /// `higher_prio_send_advert` (`None`: global).
    pub higher_prio_send_advert: Option<bool>,
    /// `owner_ignore_adverts`.
    pub owner_ignore_adverts: bool,
    /// `kernel_rx_buf_size` (bytes).
    pub kernel_rx_buf_size: Option<u64>,
    /// `authentication`.
    pub authentication: Option<Authentication>,
    /// `auth_hmac`.
    pub auth_hmac: Option<AuthHmac>,
}

impl VrrpInstance {
    /// An instance with keepalived's defaults.
    pub fn new(name: &str, loc: Loc) -> Self {
        Self {
            name: name.to_owned(),
            loc,
            state: InitialState::Backup,
            interface: None,
            interface_loc: Loc::default(),
            vrf: None,
            virtual_router_id: 0,
            priority: None,
            advert_int: Duration::from_secs(1),
            version: None,
            native_ipv6: false,
            src_ip: None,
            mcast_dst_ip: None,
            track_src_ip: false,
            unicast_peers: Vec::new(),
            unicast_ttl: 255,
            unicast_fault_no_peer: false,
            check_unicast_src: false,
            old_unicast_checksum: None,
            v3_checksum_as_v2: false,
            use_vmac: None,
            use_vmac_addr: false,
            vmac_xmit_base: false,
            use_ipvlan: None,
            dont_track_primary: false,
            track_interfaces: Vec::new(),
            track_scripts: Vec::new(),
            track_files: Vec::new(),
            track_processes: Vec::new(),
            track_bfds: Vec::new(),
            virtual_ipaddresses: Vec::new(),
            virtual_ipaddresses_excluded: Vec::new(),
            no_virtual_ipaddress: false,
            virtual_routes: Vec::new(),
            virtual_rules: Vec::new(),
            promote_secondaries: false,
            linkbeat_use_polling: false,
            accept: None,
            skip_check_adv_addr: None,
            strict_mode: None,
            preempt: true,
            preempt_delay: Duration::ZERO,
            debug: 0,
            notify: Notify::default(),
            notify_deleted: None,
            notify_master_rx_lower_pri: None,
            smtp_alert: None,
            notify_priority_changes: None,
            lvs_sync_daemon_interface: None,
            garp: GarpSettings::default(),
            down_timer_adverts: 3,
            timer_expired_backup: false,
            thread_timer_expired: false,
            lower_prio_no_advert: None,
            higher_prio_send_advert: None,
            owner_ignore_adverts: false,
            kernel_rx_buf_size: None,
            authentication: None,
            auth_hmac: None,
        }
    }

    /// Whether keepalived runs the instance with `state MASTER`: as configured, except that
    /// `auth_type AH` below priority 255 clears it to BACKUP (keepalived: "Initial state master
    /// is incompatible with AH authentication - clearing"; an AH router must hear an advert to
    /// learn the sequence number before it may take over).
    pub fn runs_state_master(&self) -> bool {
        let ah = self
            .authentication
            .as_ref()
            .is_some_and(|a| a.auth_type == AuthType::Ah);
        self.state == InitialState::Master && !(ah && self.effective_priority() != 255)
    }

    /// The priority keepalived uses: as configured, else 255 for `state MASTER`, else 100.
    pub fn effective_priority(&self) -> u8 {
        match (self.priority, self.state) {
            (Some(p), _) => p,
            (None, InitialState::Master) => 255,
            (None, InitialState::Backup) => 100,
        }
    }

    /// True when the instance is IPv6: its first VIP is IPv6 (or `native_ipv6`).
    pub fn is_ipv6(&self) -> bool {
        match self.virtual_ipaddresses.first() {
            Some(vip) => !vip.addr.is_ipv4(),
            None => self.native_ipv6 || self.src_ip.is_some_and(|a| a.is_ipv6()),
        }
    }

    /// The version keepalived runs: IPv6 always 3, else as configured, else `global_default`
    /// (the global `vrrp_version`), else 2.
    pub fn effective_version(&self, global_default: Option<VrrpVersion>) -> VrrpVersion {
        if self.is_ipv6() {
            return VrrpVersion::V3;
        }
        self.version.or(global_default).unwrap_or_default()
    }

    /// The advert interval keepalived uses for `version`: VRRPv2 rounds to whole seconds
    /// (1..=255), VRRPv3 to centi-seconds (0.01..=40.95).
    pub fn effective_advert_int(&self, version: VrrpVersion) -> Duration {
        let cs = (self.advert_int.as_secs_f64() * 100.0).round();
        match version {
            VrrpVersion::V2 => Duration::from_secs(((cs / 100.0).round() as u64).clamp(1, 255)),
            VrrpVersion::V3 => Duration::from_millis((cs as u64).clamp(1, 4095) * 10),
        }
    }

    /// True when adverts go to unicast peers.
    pub fn is_unicast(&self) -> bool {
        !self.unicast_peers.is_empty()
    }
}
