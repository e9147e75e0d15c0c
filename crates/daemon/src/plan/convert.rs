//! From the configuration model to what the driver runs: one [`InstancePlan`] per
//! `vrrp_instance`, holding the engine's [`InstanceConfig`], the transport (multicast group or
//! unicast peers) and the addresses to install when master.
//!
//! Pure apart from the interface facts passed in ([`IfFacts`]), so it is unit-tested without a
//! network.
// Without the VRRP engine the plans are still made (the start policy reports what would not
// run, the parent keeps them for clean-up) but nothing runs them.
#![cfg_attr(not(feature = "vrrp"), allow(dead_code))]

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use keepalived_config::model::global::GlobalDefs;
use keepalived_config::model::vrrp::{
    AuthType, Broadcast, RouteType, RuleAction as CfgRuleAction, RuleAddr, VirtualAddress,
    VirtualRoute, VirtualRule, VrrpInstance, VrrpVersion,
};
use keepalived_config::{Config, Loc};
use keepalived_net::{
    AddrScope, IpFamily, NetError, RT_TABLE_MAIN, RTPROT_KEEPALIVED, RouteKind, RouteSpec,
    RuleAction, RuleSpec,
};
use keepalived_vrrp::{
    AddrList, Auth, Centisecs, ChecksumCaps, Family, GarpConfig, InitialState, InstanceConfig,
    Version,
};

/// What the conversion needs to know about this host's interfaces.
#[derive(Debug, Clone, Default)]
pub struct IfFacts {
    /// Addresses per existing interface, in the kernel's order (primary first).
    pub addrs: BTreeMap<String, Vec<IpAddr>>,
}

impl IfFacts {
    /// Whether `ifname` exists.
    pub fn exists(&self, ifname: &str) -> bool {
        self.addrs.contains_key(ifname)
    }

    /// The address adverts go out from when none is configured: the interface's first IPv4
    /// address, or its first IPv6 link-local address (keepalived's choice), else its first IPv6
    /// address.
    pub fn primary(&self, ifname: &str, family: Family) -> Option<IpAddr> {
        let addrs = self.addrs.get(ifname)?;
        match family {
            Family::V4 => addrs.iter().copied().find(IpAddr::is_ipv4),
            Family::V6 => addrs
                .iter()
                .copied()
                .find(|a| matches!(a, IpAddr::V6(v6) if v6.is_unicast_link_local()))
                .or_else(|| addrs.iter().copied().find(IpAddr::is_ipv6)),
        }
    }
}

/// Where an instance's adverts go.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Transport {
    /// To a multicast group.
    Multicast(IpAddr),
    /// To each peer, with this TTL / hop limit.
    Unicast {
        /// `unicast_peer` addresses.
        peers: Vec<IpAddr>,
        /// `unicast_ttl`.
        ttl: u8,
    },
}

/// One address to install on becoming master (and remove on leaving).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VipSpec {
    /// The interface (`dev`, default the instance's interface).
    pub dev: String,
    /// The address.
    pub addr: IpAddr,
    /// The prefix length.
    pub prefix_len: u8,
    /// `label`.
    pub label: Option<String>,
    /// `brd`, resolved to an address.
    pub broadcast: Option<Ipv4Addr>,
    /// `scope`.
    pub scope: AddrScope,
}

impl std::fmt::Display for VipSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{} dev {}", self.addr, self.prefix_len, self.dev)
    }
}

/// Everything the driver needs for one instance.
#[derive(Debug, Clone)]
pub struct InstancePlan {
    /// The engine's configuration.
    pub cfg: InstanceConfig,
    /// The interface adverts go out on.
    pub ifname: String,
    /// Whether the interface exists (if not, the instance starts in FAULT).
    pub iface_present: bool,
    /// Multicast group or unicast peers.
    pub transport: Transport,
    /// `virtual_ipaddress` and `virtual_ipaddress_excluded`, all installed when master.
    pub vips: Vec<VipSpec>,
    /// `virtual_routes`, installed after the addresses when master.
    pub routes: Vec<RoutePlan>,
    /// `virtual_rules`, installed after the routes when master.
    pub rules: Vec<RulePlan>,
    /// `vrrp_garp_interval`: spacing of the gratuitous ARPs of one burst (zero: back to back).
    pub garp_interval: Duration,
    /// `vrrp_gna_interval`: spacing of the unsolicited neighbour adverts of one burst.
    pub gna_interval: Duration,
    /// `use_vmac`: the macvlan to create on the instance's interface (its `parent` index is
    /// filled in when it is created). Adverts go out on it unless `vmac_xmit_base`; the
    /// addresses configured on the instance's interface sit on it.
    pub vmac: Option<VmacPlan>,
    /// Drop rules for the addresses while master (accept mode off), see [`super::firewall`].
    pub firewall: Option<super::firewall::InstanceFirewall>,
}

/// An instance's VMAC.
#[derive(Debug, Clone)]
pub struct VmacPlan {
    /// The interface it is created on (`interface`).
    pub parent: String,
    /// What to create (parent index 0 until created).
    pub spec: keepalived_net::VmacSpec,
    /// `vmac_xmit_base`: adverts go out on (and come in from) the parent.
    pub xmit_base: bool,
    /// The multicast-report rules of the firewall for this VMAC.
    pub firewall: Option<super::firewall::VmacFirewall>,
}

/// One route of `virtual_routes` / `static_routes`, ready for rtnetlink but for its interface,
/// which is looked up when the route is installed (it may appear later).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutePlan {
    /// The route, without output interface.
    pub spec: RouteSpec,
    /// `dev`.
    pub dev: Option<String>,
}

impl RoutePlan {
    /// The route with its interface index.
    ///
    /// # Errors
    /// The interface does not exist.
    pub fn resolve(&self) -> Result<RouteSpec, NetError> {
        let mut spec = self.spec.clone();
        if let Some(dev) = &self.dev {
            spec.oif = Some(keepalived_net::ifindex(dev)?);
        }
        Ok(spec)
    }
}

impl std::fmt::Display for RoutePlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = &self.spec;
        if s.kind != RouteKind::Unicast {
            write!(f, "{:?} ", s.kind)?;
        }
        write!(f, "{}/{}", s.dst, s.dst_len)?;
        if let Some(gw) = s.gateway {
            write!(f, " via {gw}")?;
        }
        if let Some(dev) = &self.dev {
            write!(f, " dev {dev}")?;
        }
        if let Some(src) = s.src {
            write!(f, " src {src}")?;
        }
        if let Some(m) = s.metric {
            write!(f, " metric {m}")?;
        }
        write!(f, " table {}", s.table)
    }
}

/// One rule of `virtual_rules` / `static_rules`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulePlan {
    /// The rule.
    pub spec: RuleSpec,
}

impl std::fmt::Display for RulePlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = &self.spec;
        if s.invert {
            write!(f, "not ")?;
        }
        match s.from {
            Some((a, l)) => write!(f, "from {a}/{l}")?,
            None => write!(f, "from all")?,
        }
        if let Some((a, l)) = s.to {
            write!(f, " to {a}/{l}")?;
        }
        if let Some(m) = s.fwmark {
            write!(f, " fwmark {m:#x}")?;
        }
        if let Some(i) = &s.iif {
            write!(f, " iif {i}")?;
        }
        if let Some(o) = &s.oif {
            write!(f, " oif {o}")?;
        }
        if let Some(p) = s.priority {
            write!(f, " priority {p}")?;
        }
        match s.action {
            RuleAction::Table(t) => write!(f, " table {t}"),
            RuleAction::Goto(p) => write!(f, " goto {p}"),
            other => write!(f, " {other:?}"),
        }
    }
}

/// `static_ipaddress`, `static_routes` and `static_rules`: installed at start, removed at stop.
#[derive(Debug, Clone, Default)]
pub struct StaticPlan {
    /// `static_ipaddress` (an address without `dev` is refused).
    pub addrs: Vec<VipSpec>,
    /// `static_routes`.
    pub routes: Vec<RoutePlan>,
    /// `static_rules`.
    pub rules: Vec<RulePlan>,
}

/// A problem that prevents an instance from running, with where it was configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanError {
    /// Where.
    pub loc: Loc,
    /// What.
    pub message: String,
}

/// What [`plan`] made of the instances: the ones that run, the ones dropped (name, why), and
/// every problem with its place (a dropped instance, or a route or rule left out of one).
#[derive(Debug, Default)]
pub struct Converted {
    /// One plan per instance that can run.
    pub plans: Vec<InstancePlan>,
    /// `(instance name, reason)` for each instance that cannot run.
    pub dropped: Vec<(String, String)>,
    /// Every problem found, with its place.
    pub errors: Vec<PlanError>,
}

/// Converts every `vrrp_instance` of `config`; one that cannot run is dropped (the others run),
/// a route or rule that cannot be installed is left out of its instance.
pub fn plan(config: &Config, facts: &IfFacts) -> Converted {
    let mut out = Converted::default();
    for inst in &config.vrrp.instances {
        let routes = plan_routes(
            &inst.virtual_routes,
            "virtual_routes",
            &inst.name,
            &mut out.errors,
        );
        let rules = plan_rules(
            &inst.virtual_rules,
            "virtual_rules",
            &inst.name,
            &mut out.errors,
        );
        match plan_instance(inst, &config.global.defs, facts) {
            Ok(mut p) => {
                p.routes = routes;
                p.rules = rules;
                out.plans.push(p);
            }
            Err(message) => {
                let message = format!("({}) {message} - instance not started", inst.name);
                out.dropped.push((inst.name.clone(), message.clone()));
                out.errors.push(PlanError {
                    loc: inst.loc,
                    message,
                });
            }
        }
    }
    out
}

/// Converts `static_ipaddress`, `static_routes` and `static_rules`; an entry that cannot be
/// installed is left out and reported.
pub fn plan_static(config: &Config) -> (StaticPlan, Vec<PlanError>) {
    let mut errors = Vec::new();
    let mut addrs = Vec::new();
    for va in &config.vrrp.static_addresses {
        let Some(dev) = va.dev.as_deref() else {
            errors.push(PlanError {
                loc: va.loc,
                message: format!("static_ipaddress {}: no dev given", va.addr),
            });
            continue;
        };
        match vip_spec(va, dev) {
            Ok(v) => addrs.push(v),
            Err(message) => errors.push(PlanError {
                loc: va.loc,
                message: format!("static_ipaddress: {message}"),
            }),
        }
    }
    let routes = plan_routes(&config.vrrp.static_routes, "static_routes", "", &mut errors);
    let rules = plan_rules(&config.vrrp.static_rules, "static_rules", "", &mut errors);
    (
        StaticPlan {
            addrs,
            routes,
            rules,
        },
        errors,
    )
}

fn who(block: &str, instance: &str) -> String {
    if instance.is_empty() {
        block.to_owned()
    } else {
        format!("({instance}) {block}")
    }
}

fn plan_routes(
    routes: &[VirtualRoute],
    block: &str,
    instance: &str,
    errors: &mut Vec<PlanError>,
) -> Vec<RoutePlan> {
    let mut out = Vec::new();
    for r in routes {
        match route_plan(r) {
            Ok(p) => out.push(p),
            Err(message) => errors.push(PlanError {
                loc: r.loc,
                message: format!("{}: route {}: {message}", who(block, instance), r.dst),
            }),
        }
    }
    out
}

fn plan_rules(
    rules: &[VirtualRule],
    block: &str,
    instance: &str,
    errors: &mut Vec<PlanError>,
) -> Vec<RulePlan> {
    let mut out = Vec::new();
    for r in rules {
        match rule_plan(r) {
            Ok(p) => out.push(p),
            Err(message) => errors.push(PlanError {
                loc: r.loc,
                message: format!("{}: rule: {message}", who(block, instance)),
            }),
        }
    }
    out
}

/// `addr` with the bits beyond `len` cleared (the kernel refuses a route whose destination has
/// host bits set).
fn network(addr: IpAddr, len: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(len.min(32)))
                .unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask))
        }
        IpAddr::V6(a) => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(len.min(128)))
                .unwrap_or(0);
            IpAddr::V6(std::net::Ipv6Addr::from(u128::from(a) & mask))
        }
    }
}

fn not_supported(what: &str) -> Result<(), String> {
    Err(format!(
        "{what} is not supported; left out rather than installed without it"
    ))
}

/// One `virtual_routes` / `static_routes` entry as a [`RoutePlan`]. Options that would change
/// what the route does and that the daemon cannot install are errors: the route is left out,
/// never installed without them.
pub fn route_plan(r: &VirtualRoute) -> Result<RoutePlan, String> {
    if !r.nexthops.is_empty() {
        not_supported("a multipath route (nexthop)")?;
    }
    if r.from.is_some() {
        not_supported("`from` (source-specific route)")?;
    }
    if r.or.is_some() {
        not_supported("`or`")?;
    }
    if r.tos.is_some() {
        not_supported("`tos`")?;
    }
    if r.realms.is_some() {
        not_supported("`realms`")?;
    }
    if r.metrics != Default::default() {
        not_supported("a route metric (mtu, advmss, rtt, window, ...)")?;
    }
    if r.pref.is_some() {
        not_supported("`pref`")?;
    }
    if r.ttl_propagate.is_some() {
        not_supported("`ttl-propagate`")?;
    }
    if r.onlink {
        not_supported("`onlink`")?;
    }
    if r.vrf.is_some() {
        not_supported("`vrf`")?;
    }
    if r.append {
        not_supported("`append`")?;
    }
    let kind = match r.route_type {
        RouteType::Unicast => RouteKind::Unicast,
        RouteType::Local => RouteKind::Local,
        RouteType::Broadcast => RouteKind::Broadcast,
        RouteType::Blackhole => RouteKind::Blackhole,
        RouteType::Unreachable => RouteKind::Unreachable,
        RouteType::Prohibit => RouteKind::Prohibit,
        RouteType::Throw => RouteKind::Throw,
        RouteType::Anycast | RouteType::Multicast | RouteType::Nat => {
            return Err(format!("route type {:?} is not supported", r.route_type));
        }
    };
    if kind.is_reject() && (r.via.is_some() || r.dev.is_some()) {
        return Err("a blackhole/unreachable/prohibit/throw route takes no via or dev".to_owned());
    }
    let mut spec = RouteSpec::new(network(r.dst.addr, r.dst.len), r.dst.len)
        .with_kind(kind)
        .in_table(r.table.unwrap_or(RT_TABLE_MAIN))
        .with_protocol(r.protocol.unwrap_or(RTPROT_KEEPALIVED));
    if let Some(via) = r.via {
        spec = spec.via(via);
    }
    if let Some(src) = r.src {
        spec = spec.with_src(src);
    }
    if let Some(scope) = r.scope {
        spec = spec.with_scope(AddrScope::from(scope.number()));
    }
    if let Some(metric) = r.metric {
        spec = spec.with_metric(metric);
    }
    spec.validate().map_err(|e| e.to_string())?;
    Ok(RoutePlan {
        spec,
        dev: r.dev.clone(),
    })
}

/// One `virtual_rules` / `static_rules` entry as a [`RulePlan`]; selectors the daemon cannot
/// install are refused. Without an action the rule looks up the main table (as `ip rule`).
pub fn rule_plan(r: &VirtualRule) -> Result<RulePlan, String> {
    let unsupported = [
        (r.tos.is_some(), "`tos`"),
        (r.realms.is_some(), "`realms`"),
        (r.suppress_prefixlength.is_some(), "`suppress_prefixlength`"),
        (r.suppress_ifgroup.is_some(), "`suppress_ifgroup`"),
        (r.uidrange.is_some(), "`uidrange`"),
        (r.l3mdev, "`l3mdev`"),
        (r.ip_proto.is_some(), "`ipproto`"),
        (r.sport.is_some(), "`sport`"),
        (r.dport.is_some(), "`dport`"),
    ];
    for (set, what) in unsupported {
        if set {
            not_supported(what)?;
        }
    }
    let family = if r.is_ipv6() {
        IpFamily::V6
    } else {
        IpFamily::V4
    };
    let action = match r.action {
        None => RuleAction::Table(RT_TABLE_MAIN),
        Some(CfgRuleAction::Table(t)) => RuleAction::Table(t),
        Some(CfgRuleAction::Goto(p)) => RuleAction::Goto(p),
        Some(CfgRuleAction::Nop) => RuleAction::Nop,
        Some(CfgRuleAction::Blackhole) => RuleAction::Blackhole,
        Some(CfgRuleAction::Unreachable) => RuleAction::Unreachable,
        Some(CfgRuleAction::Prohibit) => RuleAction::Prohibit,
    };
    let mut spec = RuleSpec::lookup(family, RT_TABLE_MAIN)
        .with_action(action)
        .with_protocol(r.protocol.unwrap_or(RTPROT_KEEPALIVED));
    if let Some(RuleAddr::Prefix(p)) = r.from {
        spec = spec.from_prefix(network(p.addr, p.len), p.len);
    }
    if let Some(RuleAddr::Prefix(p)) = r.to {
        spec = spec.to_prefix(network(p.addr, p.len), p.len);
    }
    if let Some(p) = r.priority {
        spec = spec.with_priority(p);
    }
    if let Some((mark, mask)) = r.fwmark {
        spec = spec.with_fwmark(mark, mask);
    }
    if let Some(iif) = &r.iif {
        spec = spec.with_iif(iif);
    }
    if let Some(oif) = &r.oif {
        spec = spec.with_oif(oif);
    }
    if r.invert {
        spec = spec.inverted();
    }
    spec.validate().map_err(|e| e.to_string())?;
    Ok(RulePlan { spec })
}

fn global_version(defs: &GlobalDefs) -> Option<VrrpVersion> {
    match defs.vrrp_version {
        3 => Some(VrrpVersion::V3),
        2 => Some(VrrpVersion::V2),
        _ => None,
    }
}

fn clamp_u8(n: u32) -> u8 {
    u8::try_from(n).unwrap_or(u8::MAX)
}

fn nonzero(d: Option<Duration>) -> Option<Duration> {
    d.filter(|d| !d.is_zero())
}

fn plan_instance(
    inst: &VrrpInstance,
    defs: &GlobalDefs,
    facts: &IfFacts,
) -> Result<InstancePlan, String> {
    let ifname = inst
        .interface
        .clone()
        .ok_or("no interface configured (vrf-only instances are not supported yet)")?;
    let family = if inst.is_ipv6() {
        Family::V6
    } else {
        Family::V4
    };
    let version = match inst.effective_version(global_version(defs)) {
        VrrpVersion::V2 => Version::V2,
        VrrpVersion::V3 => Version::V3,
    };
    let advert = inst.effective_advert_int(inst.effective_version(global_version(defs)));
    let adver_int = Centisecs(u16::try_from(advert.as_millis() / 10).unwrap_or(u16::MAX));
    let iface_present = facts.exists(&ifname);
    let primary_addr = match inst.src_ip {
        Some(a) => a,
        None => match facts.primary(&ifname, family) {
            Some(a) => a,
            // No interface (the instance starts in FAULT), or no address of the family yet:
            // as keepalived (set_vrrp_src_addr), the instance runs and the kernel picks the
            // source when sending.
            None => match family {
                Family::V4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                Family::V6 => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
            },
        },
    };
    if Family::of(&primary_addr) != family {
        return Err(format!(
            "source address {primary_addr} is not of the instance's family"
        ));
    }

    let mut advertised = Vec::new();
    let mut vips = Vec::new();
    for va in &inst.virtual_ipaddresses {
        if Family::of(&va.addr.addr) == family {
            advertised.push(va.addr.addr);
        }
        vips.push(vip_spec(va, &ifname)?);
    }
    for va in &inst.virtual_ipaddresses_excluded {
        vips.push(vip_spec(va, &ifname)?);
    }
    let addrs = match family {
        Family::V4 => AddrList::V4(
            advertised
                .iter()
                .filter_map(|a| match a {
                    IpAddr::V4(v4) => Some(*v4),
                    IpAddr::V6(_) => None,
                })
                .collect(),
        ),
        Family::V6 => AddrList::V6(
            advertised
                .iter()
                .filter_map(|a| match a {
                    IpAddr::V6(v6) => Some(*v6),
                    IpAddr::V4(_) => None,
                })
                .collect(),
        ),
    };

    let mut cfg = InstanceConfig::new(
        inst.name.clone(),
        inst.virtual_router_id,
        version,
        primary_addr,
        addrs,
    );
    cfg.priority = inst.effective_priority();
    cfg.adver_int = adver_int;
    // keepalived: `state MASTER` (unless AH cleared it) clears `nopreempt` and `preempt_delay`.
    let master = inst.runs_state_master();
    cfg.preempt = inst.preempt || master;
    let strict = inst.strict_mode.unwrap_or(defs.vrrp_strict);
    // keepalived resets `preempt_delay` and `down_timer_adverts` in strict mode.
    cfg.preempt_delay = if master || strict {
        Duration::ZERO
    } else {
        inst.preempt_delay
    };
    cfg.initial_state = if master {
        InitialState::Master
    } else {
        InitialState::Backup
    };
    // The instance's default (3) defers to the global `vrrp_down_timer_adverts`.
    cfg.down_timer_adverts = if strict {
        3
    } else if inst.down_timer_adverts == 3 {
        clamp_u8(defs.vrrp_down_timer_adverts).max(1)
    } else {
        inst.down_timer_adverts
    };
    cfg.check_ttl = !inst.is_unicast();
    cfg.unicast = inst.is_unicast();
    cfg.strict_addr_check = strict;
    cfg.checksum = ChecksumCaps {
        v3_checksum_as_v2: inst.v3_checksum_as_v2 || defs.v3_checksum_as_v2,
        ..ChecksumCaps::default()
    };
    if let (Some(auth), Version::V2) = (&inst.authentication, version) {
        cfg.auth = match auth.auth_type {
            AuthType::Pass => Auth::simple(auth.pass.as_bytes()),
            AuthType::Ah => {
                cfg.set_ah(auth.pass.as_bytes());
                cfg.auth
            }
        };
    }
    let g = &inst.garp;
    cfg.garp = GarpConfig {
        master_delay: nonzero(Some(g.master_delay.unwrap_or(defs.vrrp_garp_master_delay))),
        master_repeat: clamp_u8(g.master_repeat.unwrap_or(defs.vrrp_garp_master_repeat)),
        master_refresh: nonzero(g.master_refresh.or(defs.vrrp_garp_master_refresh)),
        master_refresh_repeat: clamp_u8(
            g.master_refresh_repeat
                .unwrap_or(defs.vrrp_garp_master_refresh_repeat),
        ),
    };
    cfg.validate().map_err(|e| e.to_string())?;

    let transport = if inst.is_unicast() {
        Transport::Unicast {
            peers: inst.unicast_peers.iter().map(|p| p.addr).collect(),
            ttl: inst.unicast_ttl,
        }
    } else {
        Transport::Multicast(inst.mcast_dst_ip.unwrap_or(match family {
            Family::V4 => defs.vrrp_mcast_group4,
            Family::V6 => defs.vrrp_mcast_group6,
        }))
    };
    let net_family = match family {
        Family::V4 => IpFamily::V4,
        Family::V6 => IpFamily::V6,
    };
    let vmac =
        crate::plan::vmac::vmac_spec(inst, &defs.vmac_prefix, 0, net_family).map(|spec| VmacPlan {
            parent: ifname.clone(),
            spec,
            xmit_base: inst.vmac_xmit_base,
            firewall: super::firewall::vmac_plan(
                defs,
                matches!(family, Family::V6),
                vips.iter()
                    .any(|v| v.addr.is_ipv6() != matches!(family, Family::V6)),
            ),
        });
    let mut ifname = ifname;
    if let Some(v) = &vmac {
        // keepalived puts the addresses of the instance's interface on the VMAC.
        for vip in &mut vips {
            if vip.dev == v.parent {
                vip.dev.clone_from(&v.spec.name);
            }
        }
        if !v.xmit_base {
            ifname.clone_from(&v.spec.name);
        }
    }
    Ok(InstancePlan {
        cfg,
        ifname,
        iface_present,
        transport,
        vips,
        routes: Vec::new(),
        rules: Vec::new(),
        garp_interval: defs.vrrp_garp_interval,
        gna_interval: defs.vrrp_gna_interval,
        vmac,
        firewall: super::firewall::plan(inst, defs, inst.effective_version(global_version(defs))),
    })
}

fn vip_spec(va: &VirtualAddress, ifname: &str) -> Result<VipSpec, String> {
    let broadcast = match (va.broadcast, va.addr.addr) {
        (None, _) | (_, IpAddr::V6(_)) => None,
        (Some(Broadcast::Addr(IpAddr::V4(b))), _) => Some(b),
        (Some(Broadcast::Addr(IpAddr::V6(b))), _) => {
            return Err(format!("broadcast {b} for {} is not IPv4", va.addr));
        }
        (Some(Broadcast::Set), IpAddr::V4(a)) => {
            Some(Ipv4Addr::from(u32::from(a) | host_mask(va.addr.len)))
        }
        (Some(Broadcast::Clear), IpAddr::V4(a)) => {
            Some(Ipv4Addr::from(u32::from(a) & !host_mask(va.addr.len)))
        }
    };
    Ok(VipSpec {
        dev: va.dev.clone().unwrap_or_else(|| ifname.to_owned()),
        addr: va.addr.addr,
        prefix_len: va.addr.len,
        label: va.label.clone().filter(|_| va.addr.is_ipv4()),
        broadcast,
        scope: va
            .scope
            .map_or(AddrScope::Universe, |s| AddrScope::from(s.number())),
    })
}

fn host_mask(len: u8) -> u32 {
    u32::MAX.checked_shr(u32::from(len)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Config {
        let read = keepalived_config::read_str("k.conf", text, &Default::default());
        assert!(
            !read.diagnostics.has_errors(),
            "{:?}",
            read.render_diagnostics()
        );
        read.config
    }

    fn facts() -> IfFacts {
        let mut f = IfFacts::default();
        f.addrs.insert(
            "eth0".into(),
            vec![
                "192.0.2.1".parse().unwrap(),
                "2001:db8::1".parse().unwrap(),
                "fe80::1".parse().unwrap(),
            ],
        );
        f
    }

    #[test]
    fn v2_instance_with_defaults_and_options() {
        let c = read(
            "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority 150\n \
             advert_int 2\n nopreempt\n authentication {\n auth_type PASS\n auth_pass secret12\n }\n \
             virtual_ipaddress {\n 192.0.2.100/24 brd + dev eth1 label eth1:v scope link\n 192.0.2.101\n }\n}\n",
        );
        let plans = plan(&c, &facts()).plans;
        let p = &plans[0];
        assert_eq!(p.cfg.name, "VI_1");
        assert_eq!(p.cfg.vrid, 51);
        assert_eq!(p.cfg.priority, 150);
        assert_eq!(p.cfg.version, Version::V2);
        assert_eq!(p.cfg.adver_int, Centisecs(200));
        assert!(!p.cfg.preempt);
        assert_eq!(p.cfg.auth, Auth::simple(b"secret12"));
        assert_eq!(p.cfg.primary_addr, "192.0.2.1".parse::<IpAddr>().unwrap());
        assert_eq!(p.cfg.garp.master_repeat, 5);
        assert_eq!(p.cfg.garp.master_delay, Some(Duration::from_secs(5)));
        assert_eq!(
            p.transport,
            Transport::Multicast("224.0.0.18".parse().unwrap())
        );
        assert_eq!(p.vips.len(), 2);
        assert_eq!(p.vips[0].dev, "eth1");
        assert_eq!(p.vips[0].prefix_len, 24);
        assert_eq!(p.vips[0].broadcast, Some(Ipv4Addr::new(192, 0, 2, 255)));
        assert_eq!(p.vips[0].label.as_deref(), Some("eth1:v"));
        assert_eq!(p.vips[0].scope, AddrScope::Link);
        assert_eq!(p.vips[1].dev, "eth0");
        assert_eq!(p.vips[1].prefix_len, 32);
        assert!(p.iface_present);
    }

    #[test]
    fn v3_ipv6_unicast_and_garp_globals() {
        let c = read(
            "global_defs {\n vrrp_garp_master_delay 0\n vrrp_garp_master_repeat 2\n }\n\
             vrrp_instance VI_6 {\n state MASTER\n interface eth0\n virtual_router_id 7\n \
             advert_int 0.05\n unicast_peer {\n 2001:db8::2\n }\n unicast_ttl 10\n \
             virtual_ipaddress {\n 2001:db8::100/64\n }\n}\n",
        );
        let p = &plan(&c, &facts()).plans[0];
        assert_eq!(p.cfg.version, Version::V3);
        assert_eq!(p.cfg.adver_int, Centisecs(5));
        assert_eq!(p.cfg.priority, 255);
        assert_eq!(p.cfg.initial_state, InitialState::Master);
        assert_eq!(p.cfg.primary_addr, "fe80::1".parse::<IpAddr>().unwrap());
        assert_eq!(p.cfg.garp.master_delay, None);
        assert_eq!(p.cfg.garp.master_repeat, 2);
        assert!(!p.cfg.check_ttl);
        assert_eq!(
            p.transport,
            Transport::Unicast {
                peers: vec!["2001:db8::2".parse().unwrap()],
                ttl: 10
            }
        );
    }

    #[test]
    fn missing_interface_is_planned_for_fault_and_src_ip_wins() {
        let c = read(
            "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n \
             mcast_src_ip 192.0.2.9\n virtual_ipaddress {\n 192.0.2.100\n }\n}\n",
        );
        let p = &plan(&c, &facts()).plans[0];
        assert_eq!(p.cfg.primary_addr, "192.0.2.9".parse::<IpAddr>().unwrap());
        let p = &plan(&c, &IfFacts::default()).plans[0];
        assert!(!p.iface_present);
    }

    #[test]
    fn interface_without_address_runs_with_the_kernel_choosing_the_source() {
        let c = read(
            "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n \
             virtual_ipaddress {\n 192.0.2.100\n }\n}\n",
        );
        let mut f = IfFacts::default();
        f.addrs.insert("eth0".into(), vec![]);
        let converted = plan(&c, &f);
        assert!(converted.errors.is_empty(), "{:?}", converted.errors);
        assert_eq!(converted.plans.len(), 1);
    }

    #[test]
    fn strict_mode_resets_preempt_delay_and_down_timer_adverts() {
        let text = |strict: &str| {
            format!(
                "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 1\n{strict} \
                 preempt_delay 5\n down_timer_adverts 5\n virtual_ipaddress {{\n 192.0.2.100\n }}\n}}\n"
            )
        };
        let strict =
            keepalived_config::read_str("k.conf", &text(" strict_mode on\n"), &Default::default());
        assert_eq!(
            strict.diagnostics.error_count(),
            2,
            "{:?}",
            strict.render_diagnostics()
        );
        let p = &plan(&strict.config, &facts()).plans[0];
        assert_eq!(p.cfg.preempt_delay, Duration::ZERO);
        assert_eq!(p.cfg.down_timer_adverts, 3);
        let p = &plan(&read(&text("")), &facts()).plans[0];
        assert_eq!(p.cfg.preempt_delay, Duration::from_secs(5));
        assert_eq!(p.cfg.down_timer_adverts, 5);
    }

    #[test]
    fn excluded_addresses_are_installed_but_not_advertised() {
        let c = read(
            "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n \
             virtual_ipaddress {\n 192.0.2.100\n }\n \
             virtual_ipaddress_excluded {\n 192.0.2.101\n 198.51.100.7/24\n }\n}\n",
        );
        let p = &plan(&c, &facts()).plans[0];
        assert_eq!(
            p.cfg.vips,
            AddrList::V4(vec![Ipv4Addr::new(192, 0, 2, 100)]),
            "only virtual_ipaddress goes into adverts"
        );
        let installed: Vec<IpAddr> = p.vips.iter().map(|v| v.addr).collect();
        assert_eq!(
            installed,
            ["192.0.2.100", "192.0.2.101", "198.51.100.7"].map(|a| a.parse::<IpAddr>().unwrap())
        );
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn virtual_routes_and_rules_convert() {
        let c = read(
            "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n \
             virtual_ipaddress {\n 192.0.2.100\n }\n virtual_routes {\n \
             src 192.0.2.100 to 203.0.113.5/25 via 192.0.2.254 dev eth0 metric 7\n \
             default via 192.0.2.254 table 200 no_track\n \
             blackhole 198.51.100.0/24 table 100 no_track\n \
             unreachable 2001:db8:1::/48 no_track\n prohibit 203.0.113.128/26 no_track\n \
             throw 203.0.113.192/26 table 100 no_track\n \
             198.51.100.128/25 dev eth0 scope link protocol 4 no_track\n }\n \
             virtual_rules {\n from 192.0.2.100 table 200 priority 200\n \
             to 203.0.113.0/24 lookup 100 preference 201\n \
             from all fwmark 7/0xff iif eth0 oif eth1 blackhole priority 202\n \
             not from 2001:db8::/32 table main priority 204\n from 192.0.2.0/24 goto 300 priority 203\n }\n}\n",
        );
        let p = &plan(&c, &facts()).plans[0];
        let r = &p.routes;
        assert_eq!(r.len(), 7);
        assert_eq!(r[0].spec.dst, ip("203.0.113.0"), "host bits cleared");
        assert_eq!(r[0].spec.dst_len, 25);
        assert_eq!(r[0].spec.src, Some(ip("192.0.2.100")));
        assert_eq!(r[0].spec.gateway, Some(ip("192.0.2.254")));
        assert_eq!(r[0].dev.as_deref(), Some("eth0"));
        assert_eq!(r[0].spec.metric, Some(7));
        assert_eq!(r[0].spec.table, RT_TABLE_MAIN);
        assert_eq!(r[0].spec.protocol, RTPROT_KEEPALIVED);
        assert_eq!(r[0].spec.oif, None, "resolved at install time");
        assert_eq!(
            r[0].to_string(),
            "203.0.113.0/25 via 192.0.2.254 dev eth0 src 192.0.2.100 metric 7 table 254"
        );
        assert_eq!((r[1].spec.dst, r[1].spec.dst_len), (ip("0.0.0.0"), 0));
        assert_eq!(r[1].spec.table, 200);
        assert_eq!(r[2].spec.kind, RouteKind::Blackhole);
        assert_eq!(r[2].spec.table, 100);
        assert_eq!(r[3].spec.kind, RouteKind::Unreachable);
        assert_eq!(r[3].spec.dst, ip("2001:db8:1::"));
        assert_eq!(r[4].spec.kind, RouteKind::Prohibit);
        assert_eq!(r[5].spec.kind, RouteKind::Throw);
        assert_eq!(r[6].spec.scope, Some(AddrScope::Link));
        assert_eq!(r[6].spec.protocol, 4);

        let u = &p.rules;
        assert_eq!(u.len(), 5);
        assert_eq!(
            u[0].spec,
            RuleSpec::lookup(IpFamily::V4, 200)
                .from_prefix(ip("192.0.2.100"), 32)
                .with_priority(200)
        );
        assert_eq!(
            u[1].spec,
            RuleSpec::lookup(IpFamily::V4, 100)
                .to_prefix(ip("203.0.113.0"), 24)
                .with_priority(201)
        );
        assert_eq!(
            u[2].spec,
            RuleSpec::lookup(IpFamily::V4, RT_TABLE_MAIN)
                .with_action(RuleAction::Blackhole)
                .with_fwmark(7, Some(0xff))
                .with_iif("eth0")
                .with_oif("eth1")
                .with_priority(202)
        );
        assert_eq!(
            u[3].spec,
            RuleSpec::lookup(IpFamily::V6, RT_TABLE_MAIN)
                .from_prefix(ip("2001:db8::"), 32)
                .with_priority(204)
                .inverted()
        );
        assert_eq!(u[4].spec.action, RuleAction::Goto(300));
        assert_eq!(
            u[0].to_string(),
            "from 192.0.2.100/32 priority 200 table 200"
        );
    }

    #[test]
    fn unsupported_route_and_rule_options_are_refused_with_their_line() {
        let c = read(
            "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n \
             virtual_ipaddress {\n 192.0.2.100\n }\n virtual_routes {\n \
             203.0.113.0/24 via 192.0.2.254 dev eth0\n \
             203.0.113.240/28 no_track nexthop via 192.0.2.251 dev eth0 nexthop via 192.0.2.252 dev eth0\n \
             203.0.113.64/26 dev eth0 mtu 1400\n }\n \
             virtual_rules {\n from 192.0.2.0/24 tos 0x10 table 200 priority 5\n }\n}\n",
        );
        let converted = plan(&c, &facts());
        let errs = converted.errors;
        assert_eq!(errs.len(), 3, "{errs:?}");
        // The instance runs without what cannot be installed.
        assert!(converted.dropped.is_empty());
        assert_eq!(converted.plans[0].routes.len(), 1);
        assert!(converted.plans[0].rules.is_empty());
        assert_eq!(errs[0].loc.line, 9);
        assert!(
            errs[0].message.contains("(VI_1) virtual_routes"),
            "{errs:?}"
        );
        assert!(errs[0].message.contains("multipath"), "{errs:?}");
        assert_eq!(errs[1].loc.line, 10);
        assert!(errs[1].message.contains("mtu"), "{errs:?}");
        assert_eq!(errs[2].loc.line, 13);
        assert!(errs[2].message.contains("`tos`"), "{errs:?}");
    }

    #[test]
    fn static_addresses_routes_and_rules() {
        let c = read(
            "static_ipaddress {\n 192.0.2.200/24 dev eth0\n}\n\
             static_routes {\n 203.0.113.0/26 via 192.0.2.254 dev eth0\n unreachable 203.0.113.128/26 no_track\n}\n\
             static_rules {\n to 203.0.113.64/26 table main preference 101\n}\n",
        );
        let (s, errs) = plan_static(&c);
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(s.addrs.len(), 1);
        assert_eq!(s.addrs[0].dev, "eth0");
        assert_eq!(s.routes.len(), 2);
        assert_eq!(s.routes[1].spec.kind, RouteKind::Unreachable);
        assert_eq!(s.rules.len(), 1);
        assert_eq!(s.rules[0].spec.priority, Some(101));

        let bad = read("static_routes {\n 203.0.113.0/26 via 192.0.2.254 dev eth0 onlink\n}\n");
        let (s, errs) = plan_static(&bad);
        assert!(s.routes.is_empty());
        assert_eq!(errs[0].loc.line, 2);
        assert!(
            errs[0].message.starts_with("static_routes: route"),
            "{errs:?}"
        );
    }
}
