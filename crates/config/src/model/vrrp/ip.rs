//! Addresses, routes and rules: `virtual_ipaddress`, `virtual_ipaddress_excluded`,
//! `virtual_routes`, `virtual_rules` and their `static_*` counterparts. The options follow
//! `ip address/route/rule add`.

use std::net::IpAddr;
use std::time::Duration;

use serde::Serialize;

use crate::diag::Loc;
use crate::model::common::IpPrefix;

/// Address scope (`scope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// `global` / `universe` (0).
    Global,
    /// `site` (200).
    Site,
    /// `link` (253).
    Link,
    /// `host` (254).
    Host,
    /// `nowhere` (255).
    Nowhere,
    /// Any other number.
    #[serde(untagged)]
    Other(u8),
}

impl Scope {
    /// The kernel's number for the scope.
    pub fn number(self) -> u8 {
        match self {
            Self::Global => 0,
            Self::Site => 200,
            Self::Link => 253,
            Self::Host => 254,
            Self::Nowhere => 255,
            Self::Other(n) => n,
        }
    }
}

/// `brd`: an explicit broadcast address, or `+`/`-` (host bits set / cleared).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Broadcast {
    /// `+`: the prefix with all host bits set.
    Set,
    /// `-`: the prefix with all host bits cleared.
    Clear,
    /// An explicit address.
    #[serde(untagged)]
    Addr(IpAddr),
}

/// `preferred_lft`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PreferredLft {
    /// `forever`.
    Forever,
    /// A number of seconds (0 deprecates the address).
    #[serde(untagged)]
    Secs(u32),
}

/// One address of `virtual_ipaddress`, `virtual_ipaddress_excluded` or `static_ipaddress`:
/// `ADDR[/LEN] [brd ADDR] [dev IF] [scope SCOPE] [label LABEL] [peer ADDR] [home] [-nodad]
/// [mngtmpaddr] [noprefixroute] [autojoin] [no_track] [track_group NAME] [preferred_lft N|forever]
/// [use_vmac [NAME]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VirtualAddress {
    /// The address and prefix length (default /32 or /128).
    pub addr: IpPrefix,
    /// `brd`.
    pub broadcast: Option<Broadcast>,
    /// `dev` (default: the instance's interface, or `default_interface` for static ones).
    pub dev: Option<String>,
    /// `scope` (default global).
    pub scope: Option<Scope>,
    /// `label` (IPv4 only).
    pub label: Option<String>,
    /// `peer` (point-to-point remote address).
    pub peer: Option<IpPrefix>,
    /// `home` (IPv6).
    pub home: bool,
    /// `-nodad` (IPv6).
    pub nodad: bool,
    /// `mngtmpaddr` (IPv6).
    pub mngtmpaddr: bool,
    /// `noprefixroute`.
    pub noprefixroute: bool,
    /// `autojoin`.
    pub autojoin: bool,
    /// `no_track`: losing the address does not take the instance out of master.
    pub no_track: bool,
    /// `track_group` (static addresses only).
    pub track_group: Option<String>,
    /// `preferred_lft`.
    pub preferred_lft: Option<PreferredLft>,
    /// `use_vmac [NAME]` on the address's own interface (keepalived 2.4).
    pub use_vmac: Option<Option<String>>,
    /// Where it was configured.
    #[serde(skip)]
    pub loc: Loc,
}

impl VirtualAddress {
    /// An address with no options.
    pub fn new(addr: IpPrefix, loc: Loc) -> Self {
        Self {
            addr,
            broadcast: None,
            dev: None,
            scope: None,
            label: None,
            peer: None,
            home: false,
            nodad: false,
            mngtmpaddr: false,
            noprefixroute: false,
            autojoin: false,
            no_track: false,
            track_group: None,
            preferred_lft: None,
            use_vmac: None,
            loc,
        }
    }
}

/// Route type (the word before the destination).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteType {
    /// `unicast` (default).
    #[default]
    Unicast,
    /// `local`.
    Local,
    /// `broadcast`.
    Broadcast,
    /// `anycast`.
    Anycast,
    /// `multicast`.
    Multicast,
    /// `blackhole`.
    Blackhole,
    /// `unreachable`.
    Unreachable,
    /// `prohibit`.
    Prohibit,
    /// `throw`.
    Throw,
    /// `nat`.
    Nat,
}

/// A routing table: a number, or `default`/`main`/`local`.
pub type TableId = u32;

/// A route metric that may be locked (`mtu lock 1400`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Metric {
    /// The value.
    pub value: u32,
    /// `lock`: the kernel must not change it.
    pub lock: bool,
}

/// A time metric (`rtt`, `rttvar`, `rto_min`), locked or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TimeMetric {
    /// The value.
    #[serde(serialize_with = "crate::model::common::secs")]
    pub value: Duration,
    /// `lock`.
    pub lock: bool,
}

/// `pref` of an IPv6 route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RoutePref {
    /// `low`.
    Low,
    /// `medium`.
    Medium,
    /// `high`.
    High,
}

/// `realms [FROM/]TO`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Realms {
    /// Source realm.
    pub from: Option<u32>,
    /// Destination realm.
    pub to: u32,
}

/// The `RTAX_*` metrics of a route.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct RouteMetrics {
    /// `mtu [lock] N`.
    pub mtu: Option<Metric>,
    /// `hoplimit [lock] N`.
    pub hoplimit: Option<Metric>,
    /// `advmss [lock] N`.
    pub advmss: Option<Metric>,
    /// `rtt [lock] TIME`.
    pub rtt: Option<TimeMetric>,
    /// `rttvar [lock] TIME`.
    pub rttvar: Option<TimeMetric>,
    /// `reordering [lock] N`.
    pub reordering: Option<Metric>,
    /// `window [lock] N`.
    pub window: Option<Metric>,
    /// `cwnd [lock] N`.
    pub cwnd: Option<Metric>,
    /// `ssthresh [lock] N`.
    pub ssthresh: Option<Metric>,
    /// `initcwnd [lock] N`.
    pub initcwnd: Option<Metric>,
    /// `initrwnd [lock] N`.
    pub initrwnd: Option<Metric>,
    /// `rto_min [lock] TIME`.
    pub rto_min: Option<TimeMetric>,
    /// `features ecn`.
    pub features_ecn: bool,
    /// `quickack BOOL`.
    pub quickack: Option<bool>,
    /// `fastopen_no_cookie BOOL`.
    pub fastopen_no_cookie: Option<bool>,
    /// `congctl [lock] NAME`.
    pub congctl: Option<(String, bool)>,
}

/// One `nexthop` of a multipath route.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct NextHop {
    /// `via ADDR`.
    pub via: Option<IpAddr>,
    /// `dev IF`.
    pub dev: Option<String>,
    /// `weight N` (1..=256).
    pub weight: Option<u16>,
    /// `onlink`.
    pub onlink: bool,
    /// `realms`.
    pub realms: Option<Realms>,
}

/// One route of `virtual_routes` or `static_routes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VirtualRoute {
    /// Route type.
    pub route_type: RouteType,
    /// Destination (`to` is optional; `default` is 0.0.0.0/0).
    pub dst: IpPrefix,
    /// `src ADDR`: preferred source address.
    pub src: Option<IpAddr>,
    /// `from PREFIX`: IPv6 source-specific routing.
    pub from: Option<IpPrefix>,
    /// `via ADDR` / `gw ADDR`.
    pub via: Option<IpAddr>,
    /// `or ADDR`: a second gateway (old keepalived multipath form).
    pub or: Option<IpAddr>,
    /// `dev IF`.
    pub dev: Option<String>,
    /// `scope`.
    pub scope: Option<Scope>,
    /// `table` (default main).
    pub table: Option<TableId>,
    /// `metric` / `priority` / `preference`.
    pub metric: Option<u32>,
    /// `protocol` / `proto`.
    pub protocol: Option<u8>,
    /// `tos` / `dsfield`.
    pub tos: Option<u8>,
    /// `realms`.
    pub realms: Option<Realms>,
    /// Route metrics.
    pub metrics: RouteMetrics,
    /// `pref` (IPv6).
    pub pref: Option<RoutePref>,
    /// `ttl-propagate enabled|disabled`.
    pub ttl_propagate: Option<bool>,
    /// `onlink`.
    pub onlink: bool,
    /// `vrf NAME`.
    pub vrf: Option<String>,
    /// `nexthop` entries.
    pub nexthops: Vec<NextHop>,
    /// `append`: add after matching routes instead of before.
    pub append: bool,
    /// `inet6`: force IPv6 when the destination does not say.
    pub inet6: bool,
    /// `no_track`.
    pub no_track: bool,
    /// `track_group` (static routes only).
    pub track_group: Option<String>,
    /// Where it was configured.
    #[serde(skip)]
    pub loc: Loc,
}

impl VirtualRoute {
    /// A route to `dst` with no options.
    pub fn new(dst: IpPrefix, loc: Loc) -> Self {
        Self {
            route_type: RouteType::Unicast,
            dst,
            src: None,
            from: None,
            via: None,
            or: None,
            dev: None,
            scope: None,
            table: None,
            metric: None,
            protocol: None,
            tos: None,
            realms: None,
            metrics: RouteMetrics::default(),
            pref: None,
            ttl_propagate: None,
            onlink: false,
            vrf: None,
            nexthops: Vec::new(),
            append: false,
            inet6: false,
            no_track: false,
            track_group: None,
            loc,
        }
    }
}

/// A rule selector address: `all` or a prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleAddr {
    /// `all` / `any` / `default`.
    All,
    /// A prefix.
    #[serde(untagged)]
    Prefix(IpPrefix),
}

/// What a rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleAction {
    /// `table ID` / `lookup ID`.
    Table(TableId),
    /// `goto PRIORITY`.
    Goto(u32),
    /// `nop`.
    Nop,
    /// `blackhole`.
    Blackhole,
    /// `unreachable`.
    Unreachable,
    /// `prohibit`.
    Prohibit,
}

/// A port range (`sport`/`dport`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PortRange {
    /// First port.
    pub start: u16,
    /// Last port.
    pub end: u16,
}

/// One rule of `virtual_rules` or `static_rules`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VirtualRule {
    /// `from`.
    pub from: Option<RuleAddr>,
    /// `to`.
    pub to: Option<RuleAddr>,
    /// `not`: invert the selector.
    pub invert: bool,
    /// The action (`table`, `goto`, `nop`, `blackhole`, ...).
    pub action: Option<RuleAction>,
    /// `priority` / `preference` / `pref`.
    pub priority: Option<u32>,
    /// `fwmark MARK[/MASK]`.
    pub fwmark: Option<(u32, Option<u32>)>,
    /// `iif` / `dev`.
    pub iif: Option<String>,
    /// `oif`.
    pub oif: Option<String>,
    /// `tos` / `dsfield`.
    pub tos: Option<u8>,
    /// `realms`.
    pub realms: Option<Realms>,
    /// `suppress_prefixlength`.
    pub suppress_prefixlength: Option<u32>,
    /// `suppress_ifgroup`.
    pub suppress_ifgroup: Option<u32>,
    /// `uidrange START-END`.
    pub uidrange: Option<(u32, u32)>,
    /// `l3mdev`.
    pub l3mdev: bool,
    /// `protocol`.
    pub protocol: Option<u8>,
    /// `ip_proto` (name or number).
    pub ip_proto: Option<u8>,
    /// `sport`.
    pub sport: Option<PortRange>,
    /// `dport`.
    pub dport: Option<PortRange>,
    /// `inet6`: force IPv6 when no address says.
    pub inet6: bool,
    /// `no_track`.
    pub no_track: bool,
    /// `track_group` (static rules only).
    pub track_group: Option<String>,
    /// Where it was configured.
    #[serde(skip)]
    pub loc: Loc,
}

impl VirtualRule {
    /// An empty rule.
    pub fn new(loc: Loc) -> Self {
        Self {
            from: None,
            to: None,
            invert: false,
            action: None,
            priority: None,
            fwmark: None,
            iif: None,
            oif: None,
            tos: None,
            realms: None,
            suppress_prefixlength: None,
            suppress_ifgroup: None,
            uidrange: None,
            l3mdev: false,
            protocol: None,
            ip_proto: None,
            sport: None,
            dport: None,
            inet6: false,
            no_track: false,
            track_group: None,
            loc,
        }
    }
    /// True when the rule is IPv6 (by its addresses or `inet6`).
    pub fn is_ipv6(&self) -> bool {
        let v6 = |a: &Option<RuleAddr>| matches!(a, Some(RuleAddr::Prefix(p)) if !p.is_ipv4());
        self.inet6 || v6(&self.from) || v6(&self.to)
    }
}
