//! Top-level blocks of the global part besides `global_defs`: static track groups, garp
//! groups, linkbeat interfaces, interface up/down delays and BFD instances.

use std::net::IpAddr;
use std::time::Duration;

use serde::Serialize;

use crate::diag::Loc;

/// `track_group NAME { group { VI_1 VI_2 } }`: VRRP instances that track static addresses,
/// routes and rules naming this group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrackGroup {
    /// The group's name.
    pub name: String,
    /// Names of the member VRRP instances (`group { ... }`).
    pub instances: Vec<String>,
    /// Where the group was declared.
    #[serde(skip)]
    pub loc: Loc,
}

/// One interface named in a `garp_group`, with where it was named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GarpGroupInterface {
    /// Interface name.
    pub name: String,
    /// Where it was named.
    #[serde(skip)]
    pub loc: Loc,
}

/// `garp_group { ... }`: minimum delays between gratuitous ARPs / unsolicited neighbour
/// adverts sent on some interfaces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GarpGroup {
    /// `garp_interval`: delay between gratuitous ARPs (None: not limited by this group).
    #[serde(serialize_with = "crate::model::common::opt_secs")]
    pub garp_interval: Option<Duration>,
    /// `gna_interval`: delay between unsolicited neighbour adverts.
    #[serde(serialize_with = "crate::model::common::opt_secs")]
    pub gna_interval: Option<Duration>,
    /// Interfaces from `interface` and `interfaces { ... }`.
    pub interfaces: Vec<GarpGroupInterface>,
    /// True when `interfaces { }` was used: the delays are aggregated across all of them (one
    /// switch), rather than applied per interface.
    pub aggregate: bool,
    /// Where the group was declared.
    #[serde(skip)]
    pub loc: Loc,
}

/// The link polling method of a `linkbeat_interfaces` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkbeatType {
    /// Not specified: MII if supported, else ethtool, else ioctl.
    #[default]
    Auto,
    /// `MII`.
    Mii,
    /// `ETHTOOL`.
    Ethtool,
    /// `IOCTL`.
    Ioctl,
}

/// One line of `linkbeat_interfaces { IFNAME [MII|ETHTOOL|IOCTL] }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkbeatInterface {
    /// Interface name.
    pub interface: String,
    /// Preferred polling method.
    #[serde(rename = "type")]
    pub kind: LinkbeatType,
    /// Where it was named.
    #[serde(skip)]
    pub loc: Loc,
}

/// One line of `interface_up_down_delays { IFNAME DOWN_DELAY [UP_DELAY] }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InterfaceUpDownDelay {
    /// Interface name.
    pub interface: String,
    /// Delay before a down transition is acted on (0..=255 s).
    #[serde(serialize_with = "crate::model::common::secs")]
    pub down: Duration,
    /// Delay before an up transition is acted on (0..=255 s, default 0).
    #[serde(serialize_with = "crate::model::common::secs")]
    pub up: Duration,
    /// Where it was named.
    #[serde(skip)]
    pub loc: Loc,
}

/// `bfd_instance NAME { ... }`: one BFD session (RFC 5880).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BfdInstance {
    /// Instance name (at most 31 characters).
    pub name: String,
    /// `neighbor_ip` (or `neighbour_ip`): the peer (required).
    pub neighbor_ip: IpAddr,
    /// `source_ip`: local address to use (same family as the neighbour).
    pub source_ip: Option<IpAddr>,
    /// `min_rx`: required minimum receive interval (ms with µs resolution; default 10 ms).
    #[serde(serialize_with = "crate::model::common::secs")]
    pub min_rx: Duration,
    /// `min_tx`: desired minimum transmit interval (default 10 ms).
    #[serde(serialize_with = "crate::model::common::secs")]
    pub min_tx: Duration,
    /// `idle_tx`: desired idle transmit interval (default 1000 ms).
    #[serde(serialize_with = "crate::model::common::secs")]
    pub idle_tx: Duration,
    /// `multiplier`: missed packets before the session is down (1..=255, default 5).
    pub multiplier: u8,
    /// `passive`: do not initiate the session.
    pub passive: bool,
    /// `ttl` / `hoplimit` of outgoing packets (1..=255; default 255 for IPv4, 64 for IPv6).
    pub ttl: u8,
    /// `max_hops`: maximum TTL reduction accepted in received packets (-1..=255, default 0;
    /// 255 disables the check, never more than `ttl`).
    pub max_hops: i16,
    /// `multihop`: use the RFC 5883 multihop port 4784.
    pub multihop: bool,
    /// `weight`: default tracking weight for VRRP instances (-253..=253, default 0).
    pub weight: i32,
    /// `weight ... reverse`.
    pub weight_reverse: bool,
    /// Send events to the VRRP process (`vrrp`, or neither `vrrp` nor `checker` given).
    pub notify_vrrp: bool,
    /// Send events to the checker process (`checker`, or neither given).
    pub notify_checker: bool,
    /// Where the instance was declared.
    #[serde(skip)]
    pub loc: Loc,
}
