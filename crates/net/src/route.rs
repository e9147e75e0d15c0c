//! Routes over rtnetlink: add, remove and list IPv4 and IPv6 routes with
//! gateway, device, preferred source, scope, table, metric, protocol and
//! type (what keepalived's `virtual_routes` entries need).
//!
//! Every route we add carries a protocol number, by default
//! [`RTPROT_KEEPALIVED`] (18, `proto keepalived` in iproute2), so that our
//! routes can be told from everyone else's, and a crashed run's leftovers
//! found with [`Rtnl::routes`] and removed with [`RouteInfo::to_spec`] and
//! [`Rtnl::del_route`].

use std::net::IpAddr;

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteHeader, RouteMessage, RouteProtocol, RouteScope,
    RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use crate::address::{AddrScope, Rtnl};
use crate::error::{NetError, Result};
use crate::vrrp_socket::IpFamily;

/// The routing protocol number keepalived tags its routes and rules with
/// (`RTPROT_KEEPALIVED` in `linux/rtnetlink.h`).
pub const RTPROT_KEEPALIVED: u8 = 18;
/// The main routing table (`table main`).
pub const RT_TABLE_MAIN: u32 = 254;
/// The local routing table (`table local`).
pub const RT_TABLE_LOCAL: u32 = 255;

/// A route's type (`ip route add TYPE ...`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum RouteKind {
    /// `unicast` (1), the default: a real route.
    #[default]
    Unicast,
    /// `local` (2): a local address.
    Local,
    /// `broadcast` (3).
    Broadcast,
    /// `blackhole` (6): discarded silently.
    Blackhole,
    /// `unreachable` (7): discarded with ICMP host unreachable.
    Unreachable,
    /// `prohibit` (8): discarded with ICMP administratively prohibited.
    Prohibit,
    /// `throw` (9): lookup continues with the next policy rule.
    Throw,
    /// Any other number.
    Other(u8),
}

impl From<u8> for RouteKind {
    fn from(n: u8) -> RouteKind {
        match n {
            1 => RouteKind::Unicast,
            2 => RouteKind::Local,
            3 => RouteKind::Broadcast,
            6 => RouteKind::Blackhole,
            7 => RouteKind::Unreachable,
            8 => RouteKind::Prohibit,
            9 => RouteKind::Throw,
            n => RouteKind::Other(n),
        }
    }
}

impl From<RouteKind> for u8 {
    fn from(k: RouteKind) -> u8 {
        match k {
            RouteKind::Unicast => 1,
            RouteKind::Local => 2,
            RouteKind::Broadcast => 3,
            RouteKind::Blackhole => 6,
            RouteKind::Unreachable => 7,
            RouteKind::Prohibit => 8,
            RouteKind::Throw => 9,
            RouteKind::Other(n) => n,
        }
    }
}

impl RouteKind {
    /// Whether routes of this type discard packets (and so take no gateway
    /// or device).
    #[must_use]
    pub fn is_reject(self) -> bool {
        matches!(
            self,
            RouteKind::Blackhole | RouteKind::Unreachable | RouteKind::Prohibit | RouteKind::Throw
        )
    }
}

/// A route to add or remove.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteSpec {
    /// The destination prefix's address (`0.0.0.0` / `::` with length 0
    /// for a default route).
    pub dst: IpAddr,
    /// The destination prefix length.
    pub dst_len: u8,
    /// The gateway (`via`), of the destination's family.
    pub gateway: Option<IpAddr>,
    /// The output interface's index (`dev`).
    pub oif: Option<u32>,
    /// The preferred source address (`src`), of the destination's family.
    pub src: Option<IpAddr>,
    /// The scope; `None` chooses as iproute2 does: `link` for a unicast
    /// route without gateway, `host` for `local`, otherwise `global`. When
    /// removing, `None` matches any scope.
    pub scope: Option<AddrScope>,
    /// The table (1-2^32-1; [`RT_TABLE_MAIN`] by default).
    pub table: u32,
    /// The metric (`metric` / `priority`); `None` for the kernel's default
    /// (0 for IPv4, 1024 for IPv6). When removing, `None` matches any.
    pub metric: Option<u32>,
    /// The protocol tag ([`RTPROT_KEEPALIVED`] by default). When removing,
    /// only a route with this tag matches (0 matches any).
    pub protocol: u8,
    /// The type.
    pub kind: RouteKind,
}

impl RouteSpec {
    /// A unicast route to `dst/dst_len` in the main table, tagged
    /// [`RTPROT_KEEPALIVED`]; add a gateway or device with the builders.
    #[must_use]
    pub fn new(dst: IpAddr, dst_len: u8) -> RouteSpec {
        RouteSpec {
            dst,
            dst_len,
            gateway: None,
            oif: None,
            src: None,
            scope: None,
            table: RT_TABLE_MAIN,
            metric: None,
            protocol: RTPROT_KEEPALIVED,
            kind: RouteKind::Unicast,
        }
    }

    /// Sets the gateway.
    #[must_use]
    pub fn via(mut self, gateway: IpAddr) -> RouteSpec {
        self.gateway = Some(gateway);
        self
    }

    /// Sets the output interface.
    #[must_use]
    pub fn dev(mut self, ifindex: u32) -> RouteSpec {
        self.oif = Some(ifindex);
        self
    }

    /// Sets the preferred source address.
    #[must_use]
    pub fn with_src(mut self, src: IpAddr) -> RouteSpec {
        self.src = Some(src);
        self
    }

    /// Sets the scope.
    #[must_use]
    pub fn with_scope(mut self, scope: AddrScope) -> RouteSpec {
        self.scope = Some(scope);
        self
    }

    /// Sets the table.
    #[must_use]
    pub fn in_table(mut self, table: u32) -> RouteSpec {
        self.table = table;
        self
    }

    /// Sets the metric.
    #[must_use]
    pub fn with_metric(mut self, metric: u32) -> RouteSpec {
        self.metric = Some(metric);
        self
    }

    /// Sets the protocol tag.
    #[must_use]
    pub fn with_protocol(mut self, protocol: u8) -> RouteSpec {
        self.protocol = protocol;
        self
    }

    /// Sets the type.
    #[must_use]
    pub fn with_kind(mut self, kind: RouteKind) -> RouteSpec {
        self.kind = kind;
        self
    }

    /// Checks prefix length, families, table and that reject routes have
    /// neither gateway nor device.
    ///
    /// # Errors
    /// [`NetError::InvalidArgument`] saying what is wrong.
    pub fn validate(&self) -> Result<()> {
        let bad = |msg: String| Err(NetError::InvalidArgument(msg));
        let family = IpFamily::of(&self.dst);
        let max = if family == IpFamily::V4 { 32 } else { 128 };
        if self.dst_len > max {
            return bad(format!(
                "prefix /{} too long for {}",
                self.dst_len, self.dst
            ));
        }
        for (what, addr) in [("gateway", self.gateway), ("source", self.src)] {
            if let Some(a) = addr
                && IpFamily::of(&a) != family
            {
                return bad(format!("{what} {a} is not of the family of {}", self.dst));
            }
        }
        if self.table == 0 {
            return bad("table 0".to_owned());
        }
        if self.oif == Some(0) {
            return bad("interface index 0".to_owned());
        }
        if self.kind.is_reject() && (self.gateway.is_some() || self.oif.is_some()) {
            return bad(format!(
                "a {:?} route takes no gateway or device",
                self.kind
            ));
        }
        Ok(())
    }

    /// The scope this route is added with.
    fn add_scope(&self) -> AddrScope {
        self.scope.unwrap_or(match self.kind {
            RouteKind::Unicast if self.gateway.is_none() => AddrScope::Link,
            RouteKind::Local => AddrScope::Host,
            RouteKind::Broadcast => AddrScope::Link,
            _ => AddrScope::Universe,
        })
    }

    /// The rtnetlink message; `scope` is the header's scope.
    fn message(&self, scope: AddrScope) -> RouteMessage {
        let mut msg = RouteMessage::default();
        let h = &mut msg.header;
        h.address_family = match self.dst {
            IpAddr::V4(_) => AddressFamily::Inet,
            IpAddr::V6(_) => AddressFamily::Inet6,
        };
        h.destination_prefix_length = self.dst_len;
        // Tables above 255 only fit the attribute; the header says 0 then.
        h.table = u8::try_from(self.table).unwrap_or(RouteHeader::RT_TABLE_UNSPEC);
        h.protocol = RouteProtocol::from(self.protocol);
        h.scope = RouteScope::from(u8::from(scope));
        h.kind = RouteType::from(u8::from(self.kind));
        let attrs = &mut msg.attributes;
        attrs.push(RouteAttribute::Table(self.table));
        if self.dst_len > 0 || !self.dst.is_unspecified() {
            attrs.push(RouteAttribute::Destination(RouteAddress::from(self.dst)));
        }
        if let Some(gw) = self.gateway {
            attrs.push(RouteAttribute::Gateway(RouteAddress::from(gw)));
        }
        if let Some(oif) = self.oif {
            attrs.push(RouteAttribute::Oif(oif));
        }
        if let Some(src) = self.src {
            attrs.push(RouteAttribute::PrefSource(RouteAddress::from(src)));
        }
        if let Some(metric) = self.metric {
            attrs.push(RouteAttribute::Priority(metric));
        }
        msg
    }
}

/// A route as the kernel reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteInfo {
    /// The destination prefix's address (unspecified for a default route).
    pub dst: IpAddr,
    /// The destination prefix length.
    pub dst_len: u8,
    /// The gateway, if any.
    pub gateway: Option<IpAddr>,
    /// The output interface's index, if any.
    pub oif: Option<u32>,
    /// The preferred source address, if any.
    pub src: Option<IpAddr>,
    /// The scope.
    pub scope: AddrScope,
    /// The table.
    pub table: u32,
    /// The metric, if reported.
    pub metric: Option<u32>,
    /// The protocol tag ([`RTPROT_KEEPALIVED`] for ours; 2 kernel, 3 boot, ...).
    pub protocol: u8,
    /// The type.
    pub kind: RouteKind,
}

impl RouteInfo {
    fn from_message(msg: &RouteMessage) -> Option<RouteInfo> {
        let h = &msg.header;
        let family = match h.address_family {
            AddressFamily::Inet => IpFamily::V4,
            AddressFamily::Inet6 => IpFamily::V6,
            _ => return None,
        };
        if h.flags.contains(RouteFlags::Cloned) {
            return None;
        }
        let ip = |a: &RouteAddress| match a {
            RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
            RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
            _ => None,
        };
        let mut info = RouteInfo {
            dst: match family {
                IpFamily::V4 => IpAddr::from([0u8; 4]),
                IpFamily::V6 => IpAddr::from([0u8; 16]),
            },
            dst_len: h.destination_prefix_length,
            gateway: None,
            oif: None,
            src: None,
            scope: AddrScope::from(u8::from(h.scope)),
            table: u32::from(h.table),
            metric: None,
            protocol: u8::from(h.protocol),
            kind: RouteKind::from(u8::from(h.kind)),
        };
        for attr in &msg.attributes {
            match attr {
                RouteAttribute::Destination(a) => info.dst = ip(a)?,
                RouteAttribute::Gateway(a) => info.gateway = ip(a),
                RouteAttribute::PrefSource(a) => info.src = ip(a),
                RouteAttribute::Oif(i) => info.oif = Some(*i),
                RouteAttribute::Table(t) => info.table = *t,
                RouteAttribute::Priority(p) => info.metric = Some(*p),
                _ => {}
            }
        }
        Some(info)
    }

    /// The spec that removes exactly this route with [`Rtnl::del_route`].
    #[must_use]
    pub fn to_spec(&self) -> RouteSpec {
        RouteSpec {
            dst: self.dst,
            dst_len: self.dst_len,
            gateway: self.gateway,
            // The kernel puts IPv6 reject routes on `lo`; they are matched
            // without a device.
            oif: if self.kind.is_reject() {
                None
            } else {
                self.oif
            },
            src: self.src,
            scope: Some(self.scope),
            table: self.table,
            metric: self.metric,
            protocol: self.protocol,
            kind: self.kind,
        }
    }
}

impl Rtnl {
    /// Adds `spec` (`RTM_NEWROUTE` with `NLM_F_CREATE | NLM_F_EXCL`).
    ///
    /// # Errors
    /// [`NetError::InvalidArgument`] if `spec` does not validate;
    /// [`NetError::Netlink`] with the kernel's errno otherwise (`EEXIST` if
    /// the route is there, `ENETUNREACH` for an unreachable gateway,
    /// `ENODEV` for a bad index).
    pub fn add_route(&mut self, spec: &RouteSpec) -> Result<()> {
        spec.validate()?;
        self.request(
            "RTM_NEWROUTE",
            RouteNetlinkMessage::NewRoute(spec.message(spec.add_scope())),
            NLM_F_CREATE | NLM_F_EXCL,
        )
    }

    /// Removes the route `spec` describes (`RTM_DELROUTE`). The kernel
    /// matches prefix, table, type and protocol, and gateway, device,
    /// source, scope and metric where given.
    ///
    /// # Errors
    /// As for [`Rtnl::add_route`]; `ESRCH` if no route matches.
    pub fn del_route(&mut self, spec: &RouteSpec) -> Result<()> {
        spec.validate()?;
        // As `ip route del`: scope "nowhere" matches any scope.
        let scope = spec.scope.unwrap_or(AddrScope::Nowhere);
        self.request(
            "RTM_DELROUTE",
            RouteNetlinkMessage::DelRoute(spec.message(scope)),
            0,
        )
    }

    /// Every route of `family` (both when `None`) in every table, without
    /// the route cache; filter on [`RouteInfo::table`] and
    /// [`RouteInfo::protocol`] to find ours.
    ///
    /// # Errors
    /// [`NetError::Netlink`] / [`NetError::NetlinkDecode`].
    pub fn routes(&mut self, family: Option<IpFamily>) -> Result<Vec<RouteInfo>> {
        let mut req = RouteMessage::default();
        req.header.address_family = match family {
            None => AddressFamily::Unspec,
            Some(IpFamily::V4) => AddressFamily::Inet,
            Some(IpFamily::V6) => AddressFamily::Inet6,
        };
        let msgs = self.dump("RTM_GETROUTE", RouteNetlinkMessage::GetRoute(req))?;
        Ok(msgs
            .iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewRoute(r) => RouteInfo::from_message(r),
                _ => None,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn kind_numbers_round_trip() {
        for n in 0..=255u8 {
            assert_eq!(u8::from(RouteKind::from(n)), n);
        }
        assert_eq!(RouteKind::from(6), RouteKind::Blackhole);
        assert!(RouteKind::Prohibit.is_reject());
        assert!(!RouteKind::Unicast.is_reject());
    }

    #[test]
    fn validation() {
        let r = RouteSpec::new(ip("198.51.100.0"), 24).via(ip("192.0.2.254"));
        assert!(r.validate().is_ok());
        assert!(r.clone().with_src(ip("2001:db8::1")).validate().is_err());
        let mut long = r.clone();
        long.dst_len = 33;
        assert!(long.validate().is_err());
        assert!(r.clone().in_table(0).validate().is_err());
        assert!(
            r.clone()
                .with_kind(RouteKind::Blackhole)
                .validate()
                .is_err()
        );
        assert!(
            RouteSpec::new(ip("2001:db8:1::"), 48)
                .with_kind(RouteKind::Unreachable)
                .validate()
                .is_ok()
        );
        assert!(
            RouteSpec::new(ip("2001:db8:1::"), 48)
                .via(ip("192.0.2.1"))
                .validate()
                .is_err()
        );
    }

    #[test]
    fn default_scope_follows_iproute2() {
        let dev = RouteSpec::new(ip("198.51.100.0"), 24).dev(2);
        assert_eq!(dev.add_scope(), AddrScope::Link);
        let gw = dev.clone().via(ip("192.0.2.1"));
        assert_eq!(gw.add_scope(), AddrScope::Universe);
        let bh = RouteSpec::new(ip("203.0.113.0"), 24).with_kind(RouteKind::Blackhole);
        assert_eq!(bh.add_scope(), AddrScope::Universe);
        assert_eq!(gw.with_scope(AddrScope::Site).add_scope(), AddrScope::Site);
    }

    #[test]
    fn message_round_trips_into_info_and_back() {
        let spec = RouteSpec::new(ip("198.51.100.0"), 24)
            .via(ip("192.0.2.254"))
            .dev(3)
            .with_src(ip("192.0.2.1"))
            .in_table(1000)
            .with_metric(7);
        let msg = spec.message(spec.add_scope());
        assert_eq!(msg.header.table, 0, "tables over 255 only in the attribute");
        assert_eq!(u8::from(msg.header.protocol), RTPROT_KEEPALIVED);
        let info = RouteInfo::from_message(&msg).unwrap();
        assert_eq!(info.dst, spec.dst);
        assert_eq!(info.gateway, spec.gateway);
        assert_eq!(info.oif, Some(3));
        assert_eq!(info.src, spec.src);
        assert_eq!(info.table, 1000);
        assert_eq!(info.metric, Some(7));
        assert_eq!(info.kind, RouteKind::Unicast);
        let back = info.to_spec();
        assert_eq!(back.scope, Some(AddrScope::Universe));
        assert_eq!(
            RouteSpec {
                scope: None,
                ..back
            },
            spec
        );
        // A default route carries no destination attribute.
        let default = RouteSpec::new(ip("0.0.0.0"), 0).via(ip("192.0.2.254"));
        let msg = default.message(default.add_scope());
        assert!(
            !msg.attributes
                .iter()
                .any(|a| matches!(a, RouteAttribute::Destination(_)))
        );
        let info = RouteInfo::from_message(&msg).unwrap();
        assert_eq!(info.dst, ip("0.0.0.0"));
    }
}
