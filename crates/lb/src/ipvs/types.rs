//! The typed IPVS objects: services, destinations, sync daemons, timeouts and the messages
//! that carry them.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use super::consts::*;

/// Address family of a service or destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// `AF_INET`.
    Inet,
    /// `AF_INET6`.
    Inet6,
}

impl Family {
    /// The family of `addr`.
    pub fn of(addr: IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::Inet,
            IpAddr::V6(_) => Family::Inet6,
        }
    }
    /// `AF_INET` / `AF_INET6`.
    pub fn to_raw(self) -> u16 {
        match self {
            Family::Inet => AF_INET,
            Family::Inet6 => AF_INET6,
        }
    }
    /// The family of an `AF_*` number, if IPVS knows it.
    pub fn from_raw(af: u16) -> Option<Family> {
        match af {
            AF_INET => Some(Family::Inet),
            AF_INET6 => Some(Family::Inet6),
            _ => None,
        }
    }
}

/// Transport protocol of an address-based service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// `IPPROTO_TCP`.
    Tcp,
    /// `IPPROTO_UDP`.
    Udp,
    /// `IPPROTO_SCTP`.
    Sctp,
    /// Any other number (the kernel refuses it; kept so decoding is total).
    Other(u16),
}

impl Protocol {
    /// The IP protocol number.
    pub fn to_raw(self) -> u16 {
        match self {
            Protocol::Tcp => IPPROTO_TCP,
            Protocol::Udp => IPPROTO_UDP,
            Protocol::Sctp => IPPROTO_SCTP,
            Protocol::Other(n) => n,
        }
    }
    /// The protocol of an IP protocol number.
    pub fn from_raw(n: u16) -> Protocol {
        match n {
            IPPROTO_TCP => Protocol::Tcp,
            IPPROTO_UDP => Protocol::Udp,
            IPPROTO_SCTP => Protocol::Sctp,
            n => Protocol::Other(n),
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Protocol::Tcp => f.write_str("TCP"),
            Protocol::Udp => f.write_str("UDP"),
            Protocol::Sctp => f.write_str("SCTP"),
            Protocol::Other(n) => write!(f, "proto {n}"),
        }
    }
}

/// What identifies a virtual service in the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceKey {
    /// `protocol address:port` (the port in host order here, big-endian on the wire).
    Addr {
        /// TCP, UDP or SCTP.
        protocol: Protocol,
        /// Virtual address; its family is the service's.
        addr: IpAddr,
        /// Virtual port.
        port: u16,
    },
    /// A firewall-mark service.
    Fwmark {
        /// Family of the packets it takes.
        family: Family,
        /// The mark.
        mark: u32,
    },
}

impl ServiceKey {
    /// The service's address family.
    pub fn family(&self) -> Family {
        match *self {
            ServiceKey::Addr { addr, .. } => Family::of(addr),
            ServiceKey::Fwmark { family, .. } => family,
        }
    }
}

/// `TCP 192.0.2.1:80`, `UDP [2001:db8::1]:53`, `FWM 7 IPv6`: the way `ipvsadm -Ln` names it.
impl fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ServiceKey::Addr {
                protocol,
                addr: IpAddr::V4(a),
                port,
            } => {
                write!(f, "{protocol} {a}:{port}")
            }
            ServiceKey::Addr {
                protocol,
                addr: IpAddr::V6(a),
                port,
            } => {
                write!(f, "{protocol} [{a}]:{port}")
            }
            ServiceKey::Fwmark {
                family: Family::Inet,
                mark,
            } => write!(f, "FWM {mark}"),
            ServiceKey::Fwmark {
                family: Family::Inet6,
                mark,
            } => write!(f, "FWM {mark} IPv6"),
        }
    }
}

/// Traffic counters and rates of a service or destination (read from the kernel; ignored by
/// it in requests).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[allow(missing_docs)] // Field names are the kernel's IPVS_STATS_ATTR_* names.
pub struct Stats {
    pub conns: u64,
    pub inpkts: u64,
    pub outpkts: u64,
    pub inbytes: u64,
    pub outbytes: u64,
    pub cps: u64,
    pub inpps: u64,
    pub outpps: u64,
    pub inbps: u64,
    pub outbps: u64,
}

/// A virtual service (`ipvsadm -A`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// What identifies it.
    pub key: ServiceKey,
    /// Scheduler name (`rr`, `wlc`, `mh`, ...; at most 15 bytes).
    pub scheduler: String,
    /// `IP_VS_SVC_F_*` flags: persistent, one-packet, scheduler flags 1 to 3 (the kernel adds
    /// `HASHED` in its replies). Sent with a mask of all ones.
    pub flags: u32,
    /// Persistence timeout in seconds (with `IP_VS_SVC_F_PERSISTENT`).
    pub timeout: u32,
    /// Persistence granularity: IPv4, the mask as the kernel's `__be32` (see [`netmask_v4`]);
    /// IPv6, the prefix length.
    pub netmask: u32,
    /// Persistence engine (`sip`), if any.
    pub pe_name: Option<String>,
    /// Counters, in kernel replies.
    pub stats: Option<Stats>,
}

impl Service {
    /// A service with no flags, no persistence and the kernel's default granularity
    /// (255.255.255.255 or /128), as `ipvsadm -A` without options.
    pub fn new(key: ServiceKey, scheduler: &str) -> Service {
        let netmask = match key.family() {
            Family::Inet => netmask_v4(Ipv4Addr::BROADCAST),
            Family::Inet6 => 128,
        };
        Service {
            key,
            scheduler: scheduler.to_owned(),
            flags: 0,
            timeout: 0,
            netmask,
            pe_name: None,
            stats: None,
        }
    }
}

/// The `u32` attribute value of an IPv4 persistence netmask: the kernel keeps it as `__be32`,
/// so the attribute holds the mask's bytes in network order.
pub fn netmask_v4(mask: Ipv4Addr) -> u32 {
    u32::from_ne_bytes(mask.octets())
}

/// How a destination is reached (`IP_VS_CONN_F_FWD_MASK` bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FwdMethod {
    /// NAT (`-m`).
    Masq,
    /// Local node (the kernel's choice for local addresses).
    LocalNode,
    /// IP tunnel (`-i`).
    Tunnel,
    /// Direct routing (`-g`).
    DirectRoute,
    /// Cache bypass.
    Bypass,
    /// Any other value of the three bits.
    Other(u32),
}

impl FwdMethod {
    /// The `IP_VS_CONN_F_*` value.
    pub fn to_raw(self) -> u32 {
        match self {
            FwdMethod::Masq => IP_VS_CONN_F_MASQ,
            FwdMethod::LocalNode => IP_VS_CONN_F_LOCALNODE,
            FwdMethod::Tunnel => IP_VS_CONN_F_TUNNEL,
            FwdMethod::DirectRoute => IP_VS_CONN_F_DROUTE,
            FwdMethod::Bypass => IP_VS_CONN_F_BYPASS,
            FwdMethod::Other(n) => n,
        }
    }
    /// The method of a connection-flags value (only the `FWD_MASK` bits count).
    pub fn from_raw(n: u32) -> FwdMethod {
        match n & IP_VS_CONN_F_FWD_MASK {
            IP_VS_CONN_F_MASQ => FwdMethod::Masq,
            IP_VS_CONN_F_LOCALNODE => FwdMethod::LocalNode,
            IP_VS_CONN_F_TUNNEL => FwdMethod::Tunnel,
            IP_VS_CONN_F_DROUTE => FwdMethod::DirectRoute,
            IP_VS_CONN_F_BYPASS => FwdMethod::Bypass,
            n => FwdMethod::Other(n),
        }
    }
}

/// Encapsulation of a tunnel destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TunnelType {
    /// IP in IP (the default).
    Ipip,
    /// Generic UDP encapsulation.
    Gue,
    /// GRE.
    Gre,
    /// Unknown to this build.
    Other(u8),
}

impl TunnelType {
    /// The `IP_VS_CONN_F_TUNNEL_TYPE_*` value.
    pub fn to_raw(self) -> u8 {
        match self {
            TunnelType::Ipip => IP_VS_CONN_F_TUNNEL_TYPE_IPIP,
            TunnelType::Gue => IP_VS_CONN_F_TUNNEL_TYPE_GUE,
            TunnelType::Gre => IP_VS_CONN_F_TUNNEL_TYPE_GRE,
            TunnelType::Other(n) => n,
        }
    }
    /// The type of an `IP_VS_CONN_F_TUNNEL_TYPE_*` value.
    pub fn from_raw(n: u8) -> TunnelType {
        match n {
            IP_VS_CONN_F_TUNNEL_TYPE_IPIP => TunnelType::Ipip,
            IP_VS_CONN_F_TUNNEL_TYPE_GUE => TunnelType::Gue,
            IP_VS_CONN_F_TUNNEL_TYPE_GRE => TunnelType::Gre,
            n => TunnelType::Other(n),
        }
    }
}

/// Tunnel options of a `Tunnel` destination (Linux 5.2+).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TunnelOpts {
    /// Encapsulation.
    pub kind: TunnelType,
    /// UDP port of GUE (host order here, big-endian on the wire); 0 otherwise.
    pub port: u16,
    /// `IP_VS_TUNNEL_ENCAP_FLAG_*` (checksum, remote checksum offload).
    pub flags: u16,
}

/// Connection counts of a destination (read from the kernel).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DestConns {
    /// Active connections.
    pub active: u32,
    /// Inactive connections.
    pub inactive: u32,
    /// Persistence templates.
    pub persistent: u32,
}

/// What identifies a destination within its service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DestKey {
    /// Real server address (its family may differ from the service's for tunnels).
    pub addr: IpAddr,
    /// Real server port (host order; 0 for fwmark services means "same port").
    pub port: u16,
}

impl fmt::Display for DestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.addr {
            IpAddr::V4(a) => write!(f, "{a}:{}", self.port),
            IpAddr::V6(a) => write!(f, "[{a}]:{}", self.port),
        }
    }
}

/// A real server of a service (`ipvsadm -a`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// Real server address (family sent as `IPVS_DEST_ATTR_ADDR_FAMILY`).
    pub addr: IpAddr,
    /// Real server port, host order.
    pub port: u16,
    /// Forwarding method.
    pub fwd: FwdMethod,
    /// Weight (the kernel refuses negative values).
    pub weight: i32,
    /// Upper connection threshold (0: none).
    pub u_threshold: u32,
    /// Lower connection threshold (0: none).
    pub l_threshold: u32,
    /// Tunnel options, sent when present.
    pub tunnel: Option<TunnelOpts>,
    /// Connection counts, in kernel replies.
    pub conns: Option<DestConns>,
    /// Counters, in kernel replies.
    pub stats: Option<Stats>,
}

impl Destination {
    /// A destination with no thresholds and no tunnel options.
    pub fn new(addr: IpAddr, port: u16, fwd: FwdMethod, weight: i32) -> Destination {
        Destination {
            addr,
            port,
            fwd,
            weight,
            u_threshold: 0,
            l_threshold: 0,
            tunnel: None,
            conns: None,
            stats: None,
        }
    }
    /// Its address and port.
    pub fn key(&self) -> DestKey {
        DestKey {
            addr: self.addr,
            port: self.port,
        }
    }
}

/// Role of a connection sync daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DaemonState {
    /// Sends the connection table (`IP_VS_STATE_MASTER`).
    Master,
    /// Receives it (`IP_VS_STATE_BACKUP`).
    Backup,
    /// Any other value.
    Other(u32),
}

impl DaemonState {
    /// The `IP_VS_STATE_*` value.
    pub fn to_raw(self) -> u32 {
        match self {
            DaemonState::Master => IP_VS_STATE_MASTER,
            DaemonState::Backup => IP_VS_STATE_BACKUP,
            DaemonState::Other(n) => n,
        }
    }
    /// The state of an `IP_VS_STATE_*` value.
    pub fn from_raw(n: u32) -> DaemonState {
        match n {
            IP_VS_STATE_MASTER => DaemonState::Master,
            IP_VS_STATE_BACKUP => DaemonState::Backup,
            n => DaemonState::Other(n),
        }
    }
}

/// A connection synchronisation daemon (`lvs_sync_daemon`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncDaemon {
    /// Master or backup.
    pub state: DaemonState,
    /// Interface it multicasts on (at most 15 bytes).
    pub mcast_ifn: String,
    /// Sync id.
    pub sync_id: u32,
    /// Largest UDP payload.
    pub sync_maxlen: Option<u16>,
    /// Multicast group (IPv4 as `in_addr`, IPv6 as 16 bytes).
    pub mcast_group: Option<IpAddr>,
    /// Base UDP port (host order, as the kernel reads it).
    pub mcast_port: Option<u16>,
    /// Multicast TTL.
    pub mcast_ttl: Option<u8>,
}

/// Connection timeouts in seconds (`ipvsadm --set`); `None` leaves one unchanged (sent as 0).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timeouts {
    /// Established TCP.
    pub tcp: Option<u32>,
    /// TCP after FIN.
    pub tcp_fin: Option<u32>,
    /// UDP.
    pub udp: Option<u32>,
}

/// The answer to `GET_INFO`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Info {
    /// `IP_VS_VERSION_CODE` (0x010201 is 1.2.1).
    pub version: u32,
    /// Size of the connection hash table.
    pub conn_tab_size: u32,
}

/// One IPVS generic netlink message: a request, or a kernel reply (which reuses the `NEW_*` and
/// `SET_*` commands). [`IpvsMessage::emit`] and [`IpvsMessage::parse`] are inverse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IpvsMessage {
    /// `IPVS_CMD_NEW_SERVICE`: add a service; also each reply of a service dump.
    NewService(Service),
    /// `IPVS_CMD_SET_SERVICE`: change scheduler, flags, persistence of a service.
    SetService(Service),
    /// `IPVS_CMD_DEL_SERVICE`.
    DelService(ServiceKey),
    /// `IPVS_CMD_GET_SERVICE`: one service, or with `None` (sent with `NLM_F_DUMP`) all.
    GetService(Option<ServiceKey>),
    /// `IPVS_CMD_NEW_DEST`: add `dest` to `service`.
    NewDest {
        /// The service.
        service: ServiceKey,
        /// The real server.
        dest: Destination,
    },
    /// `IPVS_CMD_SET_DEST`: change weight, thresholds, method of a destination.
    SetDest {
        /// The service.
        service: ServiceKey,
        /// The real server, with its new settings.
        dest: Destination,
    },
    /// `IPVS_CMD_DEL_DEST`.
    DelDest {
        /// The service.
        service: ServiceKey,
        /// The real server.
        dest: DestKey,
    },
    /// `IPVS_CMD_GET_DEST` (with `NLM_F_DUMP`): every destination of a service.
    GetDest(ServiceKey),
    /// `IPVS_CMD_NEW_DEST` without a service: one reply of a destination dump.
    DestEntry(Destination),
    /// `IPVS_CMD_NEW_DAEMON`: start a sync daemon; also each reply of `GET_DAEMON`.
    NewDaemon(SyncDaemon),
    /// `IPVS_CMD_DEL_DAEMON`: stop the daemon of that role.
    DelDaemon(DaemonState),
    /// `IPVS_CMD_GET_DAEMON` (with `NLM_F_DUMP`).
    GetDaemon,
    /// `IPVS_CMD_SET_CONFIG`: set timeouts; also the reply to `GET_CONFIG`.
    SetConfig(Timeouts),
    /// `IPVS_CMD_GET_CONFIG`.
    GetConfig,
    /// `IPVS_CMD_SET_INFO`: the reply to `GET_INFO`.
    SetInfo(Info),
    /// `IPVS_CMD_GET_INFO`.
    GetInfo,
    /// `IPVS_CMD_ZERO`: zero the counters of one service, or of all.
    Zero(Option<ServiceKey>),
    /// `IPVS_CMD_FLUSH`: remove every service and destination.
    Flush,
}

impl IpvsMessage {
    /// Its generic netlink command.
    pub fn command(&self) -> u8 {
        match self {
            IpvsMessage::NewService(_) => IPVS_CMD_NEW_SERVICE,
            IpvsMessage::SetService(_) => IPVS_CMD_SET_SERVICE,
            IpvsMessage::DelService(_) => IPVS_CMD_DEL_SERVICE,
            IpvsMessage::GetService(_) => IPVS_CMD_GET_SERVICE,
            IpvsMessage::NewDest { .. } | IpvsMessage::DestEntry(_) => IPVS_CMD_NEW_DEST,
            IpvsMessage::SetDest { .. } => IPVS_CMD_SET_DEST,
            IpvsMessage::DelDest { .. } => IPVS_CMD_DEL_DEST,
            IpvsMessage::GetDest(_) => IPVS_CMD_GET_DEST,
            IpvsMessage::NewDaemon(_) => IPVS_CMD_NEW_DAEMON,
            IpvsMessage::DelDaemon(_) => IPVS_CMD_DEL_DAEMON,
            IpvsMessage::GetDaemon => IPVS_CMD_GET_DAEMON,
            IpvsMessage::SetConfig(_) => IPVS_CMD_SET_CONFIG,
            IpvsMessage::GetConfig => IPVS_CMD_GET_CONFIG,
            IpvsMessage::SetInfo(_) => IPVS_CMD_SET_INFO,
            IpvsMessage::GetInfo => IPVS_CMD_GET_INFO,
            IpvsMessage::Zero(_) => IPVS_CMD_ZERO,
            IpvsMessage::Flush => IPVS_CMD_FLUSH,
        }
    }

    /// Whether the request is a dump (sent with `NLM_F_DUMP`; answered by many messages).
    pub fn is_dump(&self) -> bool {
        matches!(
            self,
            IpvsMessage::GetService(None) | IpvsMessage::GetDest(_) | IpvsMessage::GetDaemon
        )
    }
}
