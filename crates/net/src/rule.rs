//! Policy routing rules over rtnetlink: add, remove and list IPv4 and IPv6
//! rules with source and destination prefixes, table (or a reject action),
//! priority, firewall mark and mask, input and output interface, and
//! inversion (what keepalived's `virtual_rules` entries need).
//!
//! As with routes, every rule we add carries a protocol tag (`FRA_PROTOCOL`,
//! Linux 4.17 and later), by default [`RTPROT_KEEPALIVED`], so that ours can
//! be found again with [`Rtnl::rules`].

use std::net::IpAddr;

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::route::RouteProtocol;
use netlink_packet_route::rule::{
    RuleAction as NlRuleAction, RuleAttribute, RuleFlags, RuleHeader, RuleMessage,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use crate::address::Rtnl;
use crate::error::{NetError, Result};
use crate::route::RTPROT_KEEPALIVED;
use crate::vrrp_socket::IpFamily;

/// The header's "see the attribute" table (tables above 255 only fit
/// `FRA_TABLE`).
const RT_TABLE_UNSPEC: u8 = 0;

/// What a matching rule does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RuleAction {
    /// `lookup TABLE` (`FR_ACT_TO_TBL`).
    Table(u32),
    /// `goto PRIORITY`: continue with the rule of that priority.
    Goto(u32),
    /// `nop`.
    Nop,
    /// `blackhole`: drop silently.
    Blackhole,
    /// `unreachable`: drop with ICMP unreachable.
    Unreachable,
    /// `prohibit`: drop with ICMP administratively prohibited.
    Prohibit,
    /// Any other action number.
    Other(u8),
}

/// A policy rule to add or remove.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleSpec {
    /// The family (a rule without prefixes still has one).
    pub family: IpFamily,
    /// `from PREFIX`: source address and prefix length.
    pub from: Option<(IpAddr, u8)>,
    /// `to PREFIX`: destination address and prefix length.
    pub to: Option<(IpAddr, u8)>,
    /// What a match does.
    pub action: RuleAction,
    /// The priority (`priority` / `pref`); `None` lets the kernel pick
    /// (just above the highest existing one below 32766). When removing,
    /// `None` matches any.
    pub priority: Option<u32>,
    /// `fwmark MARK`.
    pub fwmark: Option<u32>,
    /// `fwmark MARK/MASK`: the mask (only with a mark).
    pub fwmask: Option<u32>,
    /// `iif NAME`: the input interface.
    pub iif: Option<String>,
    /// `oif NAME`: the output interface.
    pub oif: Option<String>,
    /// `not`: match what the selectors do not.
    pub invert: bool,
    /// The protocol tag ([`RTPROT_KEEPALIVED`] by default). When removing,
    /// only a rule with this tag matches (0 matches any).
    pub protocol: u8,
}

impl RuleSpec {
    /// A rule of `family` sending everything to `table`, tagged
    /// [`RTPROT_KEEPALIVED`]; narrow it with the builders.
    #[must_use]
    pub fn lookup(family: IpFamily, table: u32) -> RuleSpec {
        RuleSpec {
            family,
            from: None,
            to: None,
            action: RuleAction::Table(table),
            priority: None,
            fwmark: None,
            fwmask: None,
            iif: None,
            oif: None,
            invert: false,
            protocol: RTPROT_KEEPALIVED,
        }
    }

    /// Sets the source prefix.
    #[must_use]
    pub fn from_prefix(mut self, addr: IpAddr, len: u8) -> RuleSpec {
        self.from = Some((addr, len));
        self
    }

    /// Sets the destination prefix.
    #[must_use]
    pub fn to_prefix(mut self, addr: IpAddr, len: u8) -> RuleSpec {
        self.to = Some((addr, len));
        self
    }

    /// Sets the action.
    #[must_use]
    pub fn with_action(mut self, action: RuleAction) -> RuleSpec {
        self.action = action;
        self
    }

    /// Sets the priority.
    #[must_use]
    pub fn with_priority(mut self, priority: u32) -> RuleSpec {
        self.priority = Some(priority);
        self
    }

    /// Sets the firewall mark and, optionally, its mask.
    #[must_use]
    pub fn with_fwmark(mut self, mark: u32, mask: Option<u32>) -> RuleSpec {
        self.fwmark = Some(mark);
        self.fwmask = mask;
        self
    }

    /// Sets the input interface.
    #[must_use]
    pub fn with_iif(mut self, ifname: &str) -> RuleSpec {
        self.iif = Some(ifname.to_owned());
        self
    }

    /// Sets the output interface.
    #[must_use]
    pub fn with_oif(mut self, ifname: &str) -> RuleSpec {
        self.oif = Some(ifname.to_owned());
        self
    }

    /// Inverts the match (`not`).
    #[must_use]
    pub fn inverted(mut self) -> RuleSpec {
        self.invert = true;
        self
    }

    /// Sets the protocol tag.
    #[must_use]
    pub fn with_protocol(mut self, protocol: u8) -> RuleSpec {
        self.protocol = protocol;
        self
    }

    /// Checks families, prefix lengths, table, mask and interface names.
    ///
    /// # Errors
    /// [`NetError::InvalidArgument`] saying what is wrong.
    pub fn validate(&self) -> Result<()> {
        let bad = |msg: String| Err(NetError::InvalidArgument(msg));
        let max = if self.family == IpFamily::V4 { 32 } else { 128 };
        for (what, prefix) in [("from", self.from), ("to", self.to)] {
            if let Some((addr, len)) = prefix {
                if IpFamily::of(&addr) != self.family {
                    return bad(format!("{what} {addr} is not of the rule's family"));
                }
                if len > max {
                    return bad(format!("{what} {addr}/{len}: prefix too long"));
                }
            }
        }
        if self.action == RuleAction::Table(0) {
            return bad("table 0".to_owned());
        }
        if self.fwmask.is_some() && self.fwmark.is_none() {
            return bad("a fwmark mask without a mark".to_owned());
        }
        for name in [&self.iif, &self.oif].into_iter().flatten() {
            if name.is_empty() || name.len() > 15 || name.contains('\0') {
                return bad(format!("bad interface name {name:?}"));
            }
        }
        Ok(())
    }

    /// The rtnetlink message.
    fn message(&self) -> RuleMessage {
        let mut msg = RuleMessage::default();
        let h = &mut msg.header;
        h.family = match self.family {
            IpFamily::V4 => AddressFamily::Inet,
            IpFamily::V6 => AddressFamily::Inet6,
        };
        let (action, table) = match self.action {
            RuleAction::Table(t) => (1, Some(t)),
            RuleAction::Goto(_) => (2, None),
            RuleAction::Nop => (3, None),
            RuleAction::Blackhole => (6, None),
            RuleAction::Unreachable => (7, None),
            RuleAction::Prohibit => (8, None),
            RuleAction::Other(n) => (n, None),
        };
        h.action = NlRuleAction::from(action);
        if self.invert {
            h.flags = RuleFlags::Invert;
        }
        let attrs = &mut msg.attributes;
        if let Some(t) = table {
            h.table = u8::try_from(t).unwrap_or(RT_TABLE_UNSPEC);
            attrs.push(RuleAttribute::Table(t));
        }
        if let RuleAction::Goto(target) = self.action {
            attrs.push(RuleAttribute::Goto(target));
        }
        if let Some((addr, len)) = self.from {
            h.src_len = len;
            attrs.push(RuleAttribute::Source(addr));
        }
        if let Some((addr, len)) = self.to {
            h.dst_len = len;
            attrs.push(RuleAttribute::Destination(addr));
        }
        if let Some(p) = self.priority {
            attrs.push(RuleAttribute::Priority(p));
        }
        if let Some(mark) = self.fwmark {
            attrs.push(RuleAttribute::FwMark(mark));
        }
        if let Some(mask) = self.fwmask {
            attrs.push(RuleAttribute::FwMask(mask));
        }
        if let Some(iif) = &self.iif {
            attrs.push(RuleAttribute::Iifname(iif.clone()));
        }
        if let Some(oif) = &self.oif {
            attrs.push(RuleAttribute::Oifname(oif.clone()));
        }
        if self.protocol != 0 {
            attrs.push(RuleAttribute::Protocol(RouteProtocol::from(self.protocol)));
        }
        msg
    }
}

/// A policy rule as the kernel reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleInfo {
    /// The family.
    pub family: IpFamily,
    /// The source prefix, if any.
    pub from: Option<(IpAddr, u8)>,
    /// The destination prefix, if any.
    pub to: Option<(IpAddr, u8)>,
    /// The action.
    pub action: RuleAction,
    /// The priority.
    pub priority: u32,
    /// The firewall mark, if any.
    pub fwmark: Option<u32>,
    /// The firewall mask, if reported.
    pub fwmask: Option<u32>,
    /// The input interface, if any.
    pub iif: Option<String>,
    /// The output interface, if any.
    pub oif: Option<String>,
    /// Whether the match is inverted.
    pub invert: bool,
    /// The protocol tag (0 when the kernel reports none).
    pub protocol: u8,
}

impl RuleInfo {
    fn from_message(msg: &RuleMessage) -> Option<RuleInfo> {
        let h = &msg.header;
        let family = match h.family {
            AddressFamily::Inet => IpFamily::V4,
            AddressFamily::Inet6 => IpFamily::V6,
            _ => return None,
        };
        let mut table = u32::from(h.table);
        let mut goto = 0;
        let mut info = RuleInfo {
            family,
            from: None,
            to: None,
            action: RuleAction::Nop,
            priority: 0,
            fwmark: None,
            fwmask: None,
            iif: None,
            oif: None,
            invert: h.flags.contains(RuleFlags::Invert),
            protocol: 0,
        };
        for attr in &msg.attributes {
            match attr {
                RuleAttribute::Source(a) => info.from = Some((*a, h.src_len)),
                RuleAttribute::Destination(a) => info.to = Some((*a, h.dst_len)),
                RuleAttribute::Table(t) => table = *t,
                RuleAttribute::Goto(g) => goto = *g,
                RuleAttribute::Priority(p) => info.priority = *p,
                RuleAttribute::FwMark(m) => info.fwmark = Some(*m),
                RuleAttribute::FwMask(m) => info.fwmask = Some(*m),
                RuleAttribute::Iifname(n) => info.iif = Some(n.clone()),
                RuleAttribute::Oifname(n) => info.oif = Some(n.clone()),
                RuleAttribute::Protocol(p) => info.protocol = u8::from(*p),
                _ => {}
            }
        }
        info.action = match u8::from(h.action) {
            1 => RuleAction::Table(table),
            2 => RuleAction::Goto(goto),
            3 => RuleAction::Nop,
            6 => RuleAction::Blackhole,
            7 => RuleAction::Unreachable,
            8 => RuleAction::Prohibit,
            n => RuleAction::Other(n),
        };
        Some(info)
    }

    /// The spec that removes exactly this rule with [`Rtnl::del_rule`].
    #[must_use]
    pub fn to_spec(&self) -> RuleSpec {
        RuleSpec {
            family: self.family,
            from: self.from,
            to: self.to,
            action: self.action,
            priority: Some(self.priority),
            fwmark: self.fwmark,
            fwmask: self.fwmark.and(self.fwmask),
            iif: self.iif.clone(),
            oif: self.oif.clone(),
            invert: self.invert,
            protocol: self.protocol,
        }
    }
}

impl Rtnl {
    /// Adds `spec` (`RTM_NEWRULE` with `NLM_F_CREATE | NLM_F_EXCL`).
    ///
    /// # Errors
    /// [`NetError::InvalidArgument`] if `spec` does not validate;
    /// [`NetError::Netlink`] with the kernel's errno otherwise (`EEXIST` if
    /// an identical rule is there).
    pub fn add_rule(&mut self, spec: &RuleSpec) -> Result<()> {
        spec.validate()?;
        self.request(
            "RTM_NEWRULE",
            RouteNetlinkMessage::NewRule(spec.message()),
            NLM_F_CREATE | NLM_F_EXCL,
        )
    }

    /// Removes the first rule matching `spec` (`RTM_DELRULE`); the kernel
    /// matches every selector given.
    ///
    /// # Errors
    /// As for [`Rtnl::add_rule`]; `ENOENT` if no rule matches.
    pub fn del_rule(&mut self, spec: &RuleSpec) -> Result<()> {
        spec.validate()?;
        self.request(
            "RTM_DELRULE",
            RouteNetlinkMessage::DelRule(spec.message()),
            0,
        )
    }

    /// Every rule of `family` (both when `None`), in priority order per
    /// family; filter on [`RuleInfo::protocol`] to find ours.
    ///
    /// # Errors
    /// [`NetError::Netlink`] / [`NetError::NetlinkDecode`].
    pub fn rules(&mut self, family: Option<IpFamily>) -> Result<Vec<RuleInfo>> {
        let mut req = RuleMessage::default();
        req.header = RuleHeader {
            family: match family {
                None => AddressFamily::Unspec,
                Some(IpFamily::V4) => AddressFamily::Inet,
                Some(IpFamily::V6) => AddressFamily::Inet6,
            },
            ..RuleHeader::default()
        };
        let msgs = self.dump("RTM_GETRULE", RouteNetlinkMessage::GetRule(req))?;
        Ok(msgs
            .iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewRule(r) => RuleInfo::from_message(r),
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
    fn validation() {
        let r = RuleSpec::lookup(IpFamily::V4, 100).from_prefix(ip("192.0.2.0"), 24);
        assert!(r.validate().is_ok());
        assert!(
            r.clone()
                .to_prefix(ip("2001:db8::"), 32)
                .validate()
                .is_err()
        );
        assert!(
            r.clone()
                .from_prefix(ip("192.0.2.0"), 33)
                .validate()
                .is_err()
        );
        assert!(RuleSpec::lookup(IpFamily::V4, 0).validate().is_err());
        let mut mask_only = r.clone();
        mask_only.fwmask = Some(0xff);
        assert!(mask_only.validate().is_err());
        assert!(r.clone().with_iif("").validate().is_err());
        assert!(r.with_oif("a-name-far-too-long").validate().is_err());
    }

    #[test]
    fn message_round_trips_into_info_and_back() {
        let spec = RuleSpec::lookup(IpFamily::V4, 1000)
            .from_prefix(ip("192.0.2.0"), 24)
            .to_prefix(ip("198.51.100.0"), 25)
            .with_priority(100)
            .with_fwmark(7, Some(0xff))
            .with_iif("eth0")
            .with_oif("eth1")
            .inverted();
        let msg = spec.message();
        assert_eq!(msg.header.table, 0, "tables over 255 only in the attribute");
        let info = RuleInfo::from_message(&msg).unwrap();
        assert_eq!(info.action, RuleAction::Table(1000));
        assert_eq!(info.from, Some((ip("192.0.2.0"), 24)));
        assert_eq!(info.to, Some((ip("198.51.100.0"), 25)));
        assert_eq!(info.priority, 100);
        assert!(info.invert);
        assert_eq!(info.protocol, RTPROT_KEEPALIVED);
        assert_eq!(info.to_spec(), spec);

        for action in [
            RuleAction::Goto(200),
            RuleAction::Nop,
            RuleAction::Blackhole,
            RuleAction::Unreachable,
            RuleAction::Prohibit,
        ] {
            let spec = RuleSpec::lookup(IpFamily::V6, 5)
                .with_action(action)
                .with_priority(10);
            let info = RuleInfo::from_message(&spec.message()).unwrap();
            assert_eq!(info.action, action);
            assert_eq!(info.family, IpFamily::V6);
        }
    }
}
