//! The value types of `global_defs` settings: SMTP server, process settings, LVS sync daemon,
//! firewall, FIFOs, SNMP, D-Bus and file settings.

use std::net::IpAddr;
use std::time::Duration;

use serde::{Serialize, Serializer};

use crate::diag::Loc;
use crate::model::common::Script;

/// The SMTP server for notification e-mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SmtpServer {
    /// An IP address or a host name.
    pub host: String,
    /// TCP port (default 25).
    pub port: u16,
    /// Where it was configured.
    #[serde(skip)]
    pub loc: Loc,
}

/// Per-process scheduling and memory settings (`vrrp_*`, `checker_*`, `bfd_*`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcessSettings {
    /// `*_priority`: nice value (-20..=19, default 0).
    pub priority: i8,
    /// `*_no_swap`: lock the process in memory.
    pub no_swap: bool,
    /// `*_rt_priority`: real-time (SCHED_RR) priority (1..=99).
    pub rt_priority: Option<u8>,
    /// `*_cpu_affinity`: CPUs the process may run on (empty: all).
    pub cpu_affinity: Vec<u32>,
    /// `*_rlimit_rttime` (old spelling `*_rlimit_rtime`): RLIMIT_RTTIME in µs (at least 2;
    /// default 10000).
    pub rlimit_rttime: u32,
}

impl Default for ProcessSettings {
    fn default() -> Self {
        Self {
            priority: 0,
            no_swap: false,
            rt_priority: None,
            cpu_affinity: Vec::new(),
            rlimit_rttime: 10_000,
        }
    }
}

/// A file creation mask, written in JSON as an octal string such as `"0177"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Umask(pub u32);

impl Default for Umask {
    fn default() -> Self {
        Self(0o177)
    }
}

impl Serialize for Umask {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{:04o}", self.0))
    }
}

/// `dynamic_interfaces`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DynamicInterfaces {
    /// Not set: configured interfaces must exist at startup.
    #[default]
    Disabled,
    /// `dynamic_interfaces`: interfaces may appear and disappear.
    Enabled,
    /// `dynamic_interfaces allow_if_changes`: and may be recreated with another type.
    AllowIfChanges,
}

/// `lvs_timeouts`: IPVS connection timeouts (None: leave the kernel's value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct LvsTimeouts {
    /// `tcp SECS`.
    #[serde(serialize_with = "crate::model::common::opt_secs")]
    pub tcp: Option<Duration>,
    /// `tcpfin SECS`.
    #[serde(serialize_with = "crate::model::common::opt_secs")]
    pub tcpfin: Option<Duration>,
    /// `udp SECS`.
    #[serde(serialize_with = "crate::model::common::opt_secs")]
    pub udp: Option<Duration>,
}

/// `lvs_flush_on_stop`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LvsFlushOnStop {
    /// Not set: remove each real and virtual server individually.
    #[default]
    Disabled,
    /// `lvs_flush_on_stop`: flush the whole IPVS table.
    Full,
    /// `lvs_flush_on_stop VS`: remove keepalived's virtual servers (the kernel removes their
    /// real servers).
    Vs,
}

/// `lvs_sync_daemon`: the IPVS connection synchronisation daemon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LvsSyncDaemon {
    /// Interface the sync daemon binds to (at most 15 characters).
    pub interface: String,
    /// `inst NAME` (or the bare second word): VRRP instance whose state selects master/backup.
    pub instance: Option<String>,
    /// `id N` (0..=255; None: the instance's VRID, or 0).
    pub syncid: Option<u8>,
    /// `maxlen N` (1..=65507; None: from the MTU).
    pub maxlen: Option<u16>,
    /// `port N` (default 8848).
    pub port: u16,
    /// `ttl N` (1..=255, default 1).
    pub ttl: u8,
    /// `group IP`: multicast group (default 224.0.0.81).
    pub group: IpAddr,
    /// Where it was configured.
    #[serde(skip)]
    pub loc: Loc,
}

/// `vrrp_garp_extra_if [all] SECS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct GarpExtraIf {
    /// Interval of the periodic gratuitous ARPs / NAs (1..=86400 s).
    #[serde(serialize_with = "crate::model::common::secs")]
    pub interval: Duration,
    /// `all`: on every interface of the instance, not only VMACs.
    pub all: bool,
}

/// `vrrp_rx_bufs_policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RxBufsPolicy {
    /// Not set: the system default receive buffer size.
    #[default]
    System,
    /// `MTU`: sum of interface MTUs times the multiplier.
    Mtu,
    /// `ADVERT`: sum of advert sizes times the multiplier.
    Advert,
    /// A fixed size in bytes.
    Size(u32),
}

/// `vrrp_iptables`: the chains for VRRP filtering rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IptablesChains {
    /// Inbound chain (default INPUT).
    pub in_chain: String,
    /// Outbound chain (default OUTPUT when no chain is named, else none).
    pub out_chain: Option<String>,
}

/// `vrrp_ipsets`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum VrrpIpsets {
    /// `vrrp_ipsets` without names: do not use ipsets.
    Disabled,
    /// Named sets; omitted names derived from the previous ones as keepalived does.
    Sets {
        /// IPv4 addresses.
        address: String,
        /// IPv6 addresses.
        address6: String,
        /// IPv6 link-local addresses with interface.
        address_iface6: String,
        /// IGMP.
        igmp: String,
        /// MLD.
        mld: String,
        /// VMAC neighbour discovery (keepalived 2.4).
        vmac_nd: Option<String>,
    },
}

/// A notify FIFO and the script reading it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct NotifyFifo {
    /// The FIFO path.
    pub path: Option<String>,
    /// Owner user of the FIFO.
    pub user: Option<String>,
    /// Owner group of the FIFO.
    pub group: Option<String>,
    /// `*_notify_fifo_script`: script given the FIFO name as last argument.
    pub script: Option<Script>,
    /// Where the FIFO was configured.
    #[serde(skip)]
    pub loc: Loc,
}

/// SNMP settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnmpSettings {
    /// `snmp_socket`: the AgentX master socket (default `unix:/var/agentx/master`).
    pub socket: Option<String>,
    /// `enable_traps`.
    pub traps: bool,
    /// `enable_snmp_vrrp` (old spelling `enable_snmp_keepalived`).
    pub vrrp: bool,
    /// `enable_snmp_checker`.
    pub checker: bool,
    /// `enable_snmp_rfcv2` (or `enable_snmp_rfc`).
    pub rfcv2: bool,
    /// `enable_snmp_rfcv3` (or `enable_snmp_rfc`).
    pub rfcv3: bool,
    /// `snmp_vs_stats_update_interval` (0.001..=30 s, default 5 s).
    #[serde(serialize_with = "crate::model::common::secs")]
    pub vs_stats_update_interval: Duration,
    /// `snmp_rs_stats_update_interval` (0.001..=30 s, default 5 s).
    #[serde(serialize_with = "crate::model::common::secs")]
    pub rs_stats_update_interval: Duration,
}

impl Default for SnmpSettings {
    fn default() -> Self {
        Self {
            socket: None,
            traps: false,
            vrrp: false,
            checker: false,
            rfcv2: false,
            rfcv3: false,
            vs_stats_update_interval: Duration::from_secs(5),
            rs_stats_update_interval: Duration::from_secs(5),
        }
    }
}

/// D-Bus settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DbusSettings {
    /// `enable_dbus`.
    pub enabled: bool,
    /// `dbus_service_name` (default `org.keepalived.Vrrp1`).
    pub service_name: String,
    /// `dbus_no_interface_name`: path element for instances without an interface (default
    /// `none`).
    pub no_interface_name: String,
}

impl Default for DbusSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            service_name: "org.keepalived.Vrrp1".to_owned(),
            no_interface_name: "none".to_owned(),
        }
    }
}

/// A netlink socket's receive buffer setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct NetlinkBufs {
    /// Size in bytes (None: the system default).
    pub size: Option<u32>,
    /// `*_force`: use SO_RCVBUFFORCE to exceed rmem_max.
    pub force: bool,
}

/// `reload_file [PATH]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReloadFile {
    /// No path: `keepalived.reload` in the pid directory.
    Default,
    /// An explicit path.
    Path(String),
}

/// `include_check [[+|-]readable|match|wildcard_match|brace_match ...]` (no option: all).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct IncludeCheck {
    /// Error if a match is not a readable file.
    pub readable: bool,
    /// Error if nothing matches (unless a wildcard was used).
    #[serde(rename = "match")]
    pub matched: bool,
    /// Error if nothing matches even with a wildcard.
    pub wildcard_match: bool,
    /// Error if a brace expansion does not match a file.
    pub brace_match: bool,
}

/// `json_version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JsonVersion {
    /// Version 1 (the default).
    #[default]
    V1,
    /// Version 2: VRRP data in a named array, plus track_process details.
    V2,
}

impl Serialize for JsonVersion {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(match self {
            JsonVersion::V1 => 1,
            JsonVersion::V2 => 2,
        })
    }
}
