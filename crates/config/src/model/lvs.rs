//! The lvs part of the model: the `SSL` block, virtual server groups, virtual servers, their
//! real servers and health checkers (see [`checker`]).
//!
//! Values that keepalived inherits (virtual server → real server → checker) are stored already
//! resolved, so `--json` shows what keepalived would use.

pub mod checker;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use serde::Serialize;

pub use self::checker::*;
use crate::diag::Loc;
use crate::model::common::{Script, opt_secs, secs};

/// Everything of the lvs part.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LvsConfig {
    /// The top-level `SSL` block (the context of SSL_GET checkers); `None` when absent.
    pub ssl: Option<SslConfig>,
    /// `virtual_server_group NAME { ... }` blocks, in file order (empty groups dropped).
    pub virtual_server_groups: Vec<VirtualServerGroup>,
    /// `virtual_server ... { ... }` blocks, in file order (ones without real servers dropped).
    pub virtual_servers: Vec<VirtualServer>,
}

/// The `SSL` block: files for the SSL_GET checkers' context. All absent = generated context.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SslConfig {
    /// `password`: the key's password.
    pub password: Option<String>,
    /// `ca`: CA file.
    pub ca: Option<String>,
    /// `certificate`: certificate file.
    pub certificate: Option<String>,
    /// `key`: key file.
    pub key: Option<String>,
    /// Where the block starts.
    #[serde(skip)]
    pub loc: Loc,
}

/// An address family (`ip_family inet|inet6`, `fwmark N inet|inet6`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IpFamily {
    /// IPv4 (`inet`).
    Inet,
    /// IPv6 (`inet6`).
    Inet6,
}

impl IpFamily {
    /// The family of an address.
    pub fn of(ip: &IpAddr) -> Self {
        if ip.is_ipv4() {
            Self::Inet
        } else {
            Self::Inet6
        }
    }
}

/// `virtual_server_group NAME { entries }`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VirtualServerGroup {
    /// The group's name.
    pub name: String,
    /// Its entries, in order.
    pub entries: Vec<VsgEntry>,
    /// Where the block starts.
    #[serde(skip)]
    pub loc: Loc,
}

/// One entry of a virtual server group.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VsgEntry {
    /// `IP [PORT]`, `IP-END [PORT]`, `IP-IP [PORT]` or `IP/LEN [PORT]`: an inclusive address
    /// range (`first == last` for a single address); port 0 when none was given.
    Range {
        /// First address.
        first: IpAddr,
        /// Last address (inclusive).
        last: IpAddr,
        /// The port, 0 when omitted (then the service must be persistent).
        port: u16,
    },
    /// `fwmark N [inet|inet6]`.
    Fwmark {
        /// The firewall mark.
        mark: u32,
        /// The family, if given.
        family: Option<IpFamily>,
    },
}

/// What a virtual server is: an address and port, a firewall mark, or a group.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VsAddress {
    /// `virtual_server IP [PORT]` (port 0 when omitted).
    Ip(SocketAddr),
    /// `virtual_server fwmark N`.
    Fwmark(u32),
    /// `virtual_server group NAME`.
    Group(String),
}

/// IPVS schedulers (`lb_algo` / `lvs_sched`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheduler {
    /// Round robin.
    Rr,
    /// Weighted round robin.
    Wrr,
    /// Least connection.
    Lc,
    /// Weighted least connection (keepalived's default).
    #[default]
    Wlc,
    /// Locality-based least connection.
    Lblc,
    /// Locality-based least connection with replication.
    Lblcr,
    /// Source hashing.
    Sh,
    /// Maglev hashing.
    Mh,
    /// Destination hashing.
    Dh,
    /// Shortest expected delay.
    Sed,
    /// Never queue.
    Nq,
    /// Weighted failover.
    Fo,
    /// Weighted overflow.
    Ovf,
    /// Weighted random twos choice.
    Twos,
}

/// Scheduler flags set by the keywords of the same names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct SchedFlags {
    /// `hashed`.
    pub hashed: bool,
    /// `ops`: one-packet scheduling (UDP only).
    pub ops: bool,
    /// `flag-1`.
    pub flag_1: bool,
    /// `flag-2`.
    pub flag_2: bool,
    /// `flag-3`.
    pub flag_3: bool,
    /// `sh-port` (sh scheduler only).
    pub sh_port: bool,
    /// `sh-fallback` (sh scheduler only).
    pub sh_fallback: bool,
    /// `mh-port` (mh scheduler only).
    pub mh_port: bool,
    /// `mh-fallback` (mh scheduler only).
    pub mh_fallback: bool,
}

/// Tunnel encapsulation of the TUN method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TunnelType {
    /// IP in IP (default).
    #[default]
    Ipip,
    /// Generic UDP encapsulation (needs a port).
    Gue,
    /// GRE.
    Gre,
}

/// Tunnel checksum option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TunnelChecksum {
    /// `nocsum` (default).
    #[default]
    Nocsum,
    /// `csum`.
    Csum,
    /// `remcsum` (GUE only).
    Remcsum,
}

/// LVS forwarding method (`lb_kind` / `lvs_method` / `sorry_server_lvs_method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ForwardingMethod {
    /// Masquerading (keepalived's default).
    #[default]
    Nat,
    /// Direct routing.
    Dr,
    /// Tunnelling: `TUN [type ipip|gue port N|gre] [nocsum|csum|remcsum]`.
    Tun {
        /// Encapsulation.
        #[serde(rename = "type")]
        kind: TunnelType,
        /// GUE port (only with `gue`).
        port: Option<u16>,
        /// Checksum option.
        checksum: TunnelChecksum,
    },
}

impl ForwardingMethod {
    /// True for TUN (whose servers may be of another family than the virtual server).
    pub fn is_tunnel(&self) -> bool {
        matches!(self, Self::Tun { .. })
    }
}

/// Layer 4 protocol of a virtual server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Protocol {
    /// TCP.
    Tcp,
    /// UDP (what keepalived and the kernel use when no protocol is given).
    #[default]
    Udp,
    /// SCTP.
    Sctp,
}

/// `persistence_granularity`: an IPv4 netmask or an IPv6 prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    /// IPv4 netmask, e.g. 255.255.255.0.
    Netmask(Ipv4Addr),
    /// IPv6 prefix length 1..=128.
    PrefixLen(u8),
}

/// `sorry_server IP [PORT]` with its options.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SorryServer {
    /// Address and port (port resolved as keepalived does: the virtual server's when omitted
    /// and not NAT with fwmark).
    pub address: SocketAddr,
    /// `sorry_server_inhibit`.
    pub inhibit: bool,
    /// `sorry_server_lvs_method`, or the virtual server's method.
    pub lvs_method: ForwardingMethod,
    /// Where it was configured.
    #[serde(skip)]
    pub loc: Loc,
}

/// A `virtual_server` block.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VirtualServer {
    /// Address and port, fwmark, or group.
    pub address: VsAddress,
    /// `ip_family`, as configured.
    pub ip_family: Option<IpFamily>,
    /// `delay_loop` (default 60 s): default for real servers and checkers.
    #[serde(serialize_with = "secs")]
    pub delay_loop: Duration,
    /// `lb_algo` / `lvs_sched` (default wlc).
    pub lb_algo: Scheduler,
    /// Scheduler flags.
    pub sched_flags: SchedFlags,
    /// `lb_kind` / `lvs_method` (default NAT).
    pub lb_kind: ForwardingMethod,
    /// `persistence_engine` (e.g. sip).
    pub persistence_engine: Option<String>,
    /// `persistence_timeout` (360 s when given without a value, or when only
    /// `persistence_granularity` is given).
    #[serde(serialize_with = "opt_secs")]
    pub persistence_timeout: Option<Duration>,
    /// `persistence_granularity`.
    pub persistence_granularity: Option<Granularity>,
    /// `protocol` (keepalived uses UDP when none is given; ignored for fwmark services).
    pub protocol: Protocol,
    /// Whether `protocol` was given.
    pub protocol_configured: bool,
    /// `ha_suspend`.
    pub ha_suspend: bool,
    /// `smtp_alert` (None = the global default).
    pub smtp_alert: Option<bool>,
    /// `virtualhost`: default Host for HTTP_GET / SSL_GET.
    pub virtualhost: Option<String>,
    /// `snmp_name`.
    pub snmp_name: Option<String>,
    /// `alpha`.
    pub alpha: bool,
    /// `omega`.
    pub omega: bool,
    /// `quorum` (default 1).
    pub quorum: u32,
    /// `hysteresis` (default 0).
    pub hysteresis: u32,
    /// `quorum_up` script.
    pub quorum_up: Option<Script>,
    /// `quorum_down` script.
    pub quorum_down: Option<Script>,
    /// `weight` (default 1): the default weight of real servers.
    pub weight: u32,
    /// `sorry_server`.
    pub sorry_server: Option<SorryServer>,
    /// `connect_timeout` (default 5 s).
    #[serde(serialize_with = "secs")]
    pub connect_timeout: Duration,
    /// `retry` (None: each checker's own default).
    pub retry: Option<u32>,
    /// `delay_before_retry` (None: each checker's own default).
    #[serde(serialize_with = "opt_secs")]
    pub delay_before_retry: Option<Duration>,
    /// `warmup` (None: the checker's delay_loop).
    #[serde(serialize_with = "opt_secs")]
    pub warmup: Option<Duration>,
    /// `inhibit_on_failure`.
    pub inhibit_on_failure: bool,
    /// The real servers.
    pub real_servers: Vec<RealServer>,
    /// Where the block starts.
    #[serde(skip)]
    pub loc: Loc,
}

impl VirtualServer {
    /// A virtual server with keepalived's defaults.
    pub fn new(address: VsAddress, loc: Loc) -> Self {
        Self {
            address,
            ip_family: None,
            delay_loop: Duration::from_secs(60),
            lb_algo: Scheduler::Wlc,
            sched_flags: SchedFlags::default(),
            lb_kind: ForwardingMethod::Nat,
            persistence_engine: None,
            persistence_timeout: None,
            persistence_granularity: None,
            protocol: Protocol::Udp,
            protocol_configured: false,
            ha_suspend: false,
            smtp_alert: None,
            virtualhost: None,
            snmp_name: None,
            alpha: false,
            omega: false,
            quorum: 1,
            hysteresis: 0,
            quorum_up: None,
            quorum_down: None,
            weight: 1,
            sorry_server: None,
            connect_timeout: Duration::from_secs(5),
            retry: None,
            delay_before_retry: None,
            warmup: None,
            inhibit_on_failure: false,
            real_servers: Vec::new(),
            loc,
        }
    }

    /// What identifies this virtual server across a reload, as keepalived matches them: its
    /// address (or fwmark, or group name), its protocol (not for fwmark services) and its
    /// family.
    pub fn identity(&self) -> VsIdentity {
        VsIdentity {
            address: self.address.clone(),
            protocol: (!matches!(self.address, VsAddress::Fwmark(_))).then_some(self.protocol),
            ip_family: self.ip_family,
        }
    }
}

/// See [`VirtualServer::identity`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VsIdentity {
    /// Address, fwmark or group.
    pub address: VsAddress,
    /// The protocol (`None` for fwmark services).
    pub protocol: Option<Protocol>,
    /// `ip_family`.
    pub ip_family: Option<IpFamily>,
}

/// A `real_server IP [PORT]` block. Inheritable values are resolved from the virtual server.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RealServer {
    /// Address and port (port 0 resolved to the virtual server's as keepalived does).
    pub address: SocketAddr,
    /// `weight` (default: the virtual server's `weight`, 1).
    pub weight: u32,
    /// `lvs_method` (default: the virtual server's).
    pub lvs_method: ForwardingMethod,
    /// `uthreshold` (0 = none).
    pub uthreshold: u32,
    /// `lthreshold` (0 = none).
    pub lthreshold: u32,
    /// `inhibit_on_failure` (default: the virtual server's).
    pub inhibit_on_failure: bool,
    /// `notify_up` script.
    pub notify_up: Option<Script>,
    /// `notify_down` script.
    pub notify_down: Option<Script>,
    /// `alpha` (default: the virtual server's).
    pub alpha: bool,
    /// `retry` (default: the virtual server's; None = each checker's default).
    pub retry: Option<u32>,
    /// `delay_before_retry` (default: the virtual server's; None = each checker's default).
    #[serde(serialize_with = "opt_secs")]
    pub delay_before_retry: Option<Duration>,
    /// `warmup` (default: the virtual server's; None = each checker's delay_loop).
    #[serde(serialize_with = "opt_secs")]
    pub warmup: Option<Duration>,
    /// `connect_timeout` (default: the virtual server's).
    #[serde(serialize_with = "secs")]
    pub connect_timeout: Duration,
    /// `delay_loop` (default: the virtual server's).
    #[serde(serialize_with = "secs")]
    pub delay_loop: Duration,
    /// `smtp_alert` (None = the global default).
    pub smtp_alert: Option<bool>,
    /// `virtualhost`, as configured on the real server.
    pub virtualhost: Option<String>,
    /// `snmp_name`.
    pub snmp_name: Option<String>,
    /// Health checkers.
    pub checkers: Vec<Checker>,
    /// Where the block starts.
    #[serde(skip)]
    pub loc: Loc,
}

impl LvsConfig {
    /// Every script of this part (quorum_up/down, notify_up/down, MISC_CHECK paths), for the
    /// script-security check.
    pub fn scripts(&self) -> impl Iterator<Item = &Script> {
        self.virtual_servers.iter().flat_map(|v| {
            v.quorum_up
                .iter()
                .chain(v.quorum_down.iter())
                .chain(v.real_servers.iter().flat_map(|rs| {
                    rs.notify_up.iter().chain(rs.notify_down.iter()).chain(
                        rs.checkers.iter().filter_map(|c| match &c.kind {
                            CheckerKind::Misc(m) => Some(&m.script),
                            _ => None,
                        }),
                    )
                }))
        })
    }
}
