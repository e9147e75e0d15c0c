//! Addresses, routes and rules over rtnetlink for the VRRP engine: virtual and static
//! addresses, `virtual_routes` / `virtual_rules` and their static twins, and the removal of
//! leftovers (tagged `proto keepalived`) of a crashed run. A failure is logged and the engine
//! runs on; an entry already there (or already gone) is not an error.

use keepalived_net::{AddrSpec, NetError, RouteSpec, Rtnl, RuleSpec};
use tracing::{debug, info, warn};

use crate::plan::convert::{RoutePlan, RulePlan, StaticPlan, VipSpec};

/// Installs `static_ipaddress`, `static_routes` and `static_rules`, in that order (leftovers of a
/// crashed run are removed first).
pub fn install_statics(rtnl: &mut Rtnl, statics: &StaticPlan) {
    const WHO: &str = "static";
    remove_leftover_routes(rtnl, WHO, &statics.routes, &statics.rules);
    for a in &statics.addrs {
        add_addr(rtnl, WHO, a);
    }
    add_routes(rtnl, WHO, &statics.routes, &statics.rules);
}

/// Removes what [`install_statics`] installed, in the reverse order.
pub fn remove_statics(rtnl: &mut Rtnl, statics: &StaticPlan) {
    const WHO: &str = "static";
    del_routes(rtnl, WHO, &statics.routes, &statics.rules);
    for a in &statics.addrs {
        del_addr(rtnl, WHO, a);
    }
}

/// Adds `routes`, then `rules` (keepalived's order, after the addresses). One already there
/// is fine.
pub fn add_routes(rtnl: &mut Rtnl, who: &str, routes: &[RoutePlan], rules: &[RulePlan]) {
    for r in routes {
        match r.resolve().and_then(|spec| rtnl.add_route(&spec)) {
            Ok(()) => debug!("({who}) added route {r}"),
            Err(e) if errno(&e) == Some(libc::EEXIST) => {}
            Err(e) => warn!("({who}) cannot add route {r}: {e}"),
        }
    }
    for r in rules {
        match rtnl.add_rule(&r.spec) {
            Ok(()) => debug!("({who}) added rule {r}"),
            Err(e) if errno(&e) == Some(libc::EEXIST) => {}
            Err(e) => warn!("({who}) cannot add rule {r}: {e}"),
        }
    }
}

/// Removes `rules`, then `routes` (the reverse of [`add_routes`]). One already gone is fine.
pub fn del_routes(rtnl: &mut Rtnl, who: &str, routes: &[RoutePlan], rules: &[RulePlan]) {
    for r in rules {
        match rtnl.del_rule(&r.spec) {
            Ok(()) => debug!("({who}) removed rule {r}"),
            Err(e) if matches!(errno(&e), Some(libc::ENOENT | libc::ESRCH)) => {}
            Err(e) => warn!("({who}) cannot remove rule {r}: {e}"),
        }
    }
    for r in routes {
        // Without its interface (gone?) the route is matched on everything else.
        let spec = r.resolve().unwrap_or_else(|_| r.spec.clone());
        match rtnl.del_route(&spec) {
            Ok(()) => debug!("({who}) removed route {r}"),
            Err(e) if matches!(errno(&e), Some(libc::ESRCH | libc::ENOENT | libc::ENODEV)) => {}
            Err(e) => warn!("({who}) cannot remove route {r}: {e}"),
        }
    }
}

/// Removes routes and rules tagged as ours ([`keepalived_net::RTPROT_KEEPALIVED`]) that match
/// `routes` / `rules`: left by a crashed run, or still there at stop.
pub fn remove_leftover_routes(
    rtnl: &mut Rtnl,
    who: &str,
    routes: &[RoutePlan],
    rules: &[RulePlan],
) {
    let ours = keepalived_net::RTPROT_KEEPALIVED;
    if routes.iter().any(|r| r.spec.protocol == ours) {
        match rtnl.routes(None) {
            Ok(present) => {
                for r in routes.iter().filter(|r| r.spec.protocol == ours) {
                    let want = r.resolve().ok();
                    for info in present
                        .iter()
                        .filter(|i| route_matches(r, want.as_ref(), i))
                    {
                        match rtnl.del_route(&info.to_spec()) {
                            Ok(()) => info!("({who}) removed leftover route {r}"),
                            Err(e) => debug!("({who}) cannot remove leftover route {r}: {e}"),
                        }
                    }
                }
            }
            Err(e) => warn!("cannot list routes: {e}"),
        }
    }
    if rules.iter().any(|r| r.spec.protocol == ours) {
        match rtnl.rules(None) {
            Ok(present) => {
                for r in rules.iter().filter(|r| r.spec.protocol == ours) {
                    for info in present.iter().filter(|i| rule_matches(&r.spec, i)) {
                        match rtnl.del_rule(&info.to_spec()) {
                            Ok(()) => info!("({who}) removed leftover rule {r}"),
                            Err(e) => debug!("({who}) cannot remove leftover rule {r}: {e}"),
                        }
                    }
                }
            }
            Err(e) => warn!("cannot list rules: {e}"),
        }
    }
}

/// Whether the kernel's route `info` is the route `plan` installs (`resolved`: with its
/// interface, when that exists).
fn route_matches(
    plan: &RoutePlan,
    resolved: Option<&RouteSpec>,
    info: &keepalived_net::RouteInfo,
) -> bool {
    let s = &plan.spec;
    let oif_ok = s.kind.is_reject()
        || match (plan.dev.is_some(), resolved.and_then(|r| r.oif)) {
            (false, _) => true,
            (true, Some(oif)) => info.oif == Some(oif),
            (true, None) => false,
        };
    info.protocol == s.protocol
        && info.dst == s.dst
        && info.dst_len == s.dst_len
        && info.table == s.table
        && info.kind == s.kind
        && (s.gateway.is_none() || info.gateway == s.gateway)
        && (s.metric.is_none() || info.metric == s.metric)
        && oif_ok
}

/// Whether the kernel's rule `info` is the rule `spec` installs.
fn rule_matches(spec: &RuleSpec, info: &keepalived_net::RuleInfo) -> bool {
    info.protocol == spec.protocol
        && info.family == spec.family
        && info.from == spec.from
        && info.to == spec.to
        && info.action == spec.action
        && spec.priority.is_none_or(|p| info.priority == p)
        && info.fwmark == spec.fwmark
        && (spec.fwmask.is_none() || info.fwmask == spec.fwmask)
        && info.iif == spec.iif
        && info.oif == spec.oif
        && info.invert == spec.invert
}

pub fn add_addr(rtnl: &mut Rtnl, who: &str, vip: &VipSpec) {
    let result = addr_spec(vip).and_then(|s| rtnl.add_addr(&s));
    match result {
        Ok(()) => {}
        Err(e) if errno(&e) == Some(libc::EEXIST) => {}
        Err(e) => warn!("({who}) cannot add {vip}: {e}"),
    }
}

pub fn del_addr(rtnl: &mut Rtnl, who: &str, vip: &VipSpec) {
    let result = addr_spec(vip).and_then(|s| rtnl.del_addr(&s));
    match result {
        Ok(()) => {}
        Err(e) if errno(&e) == Some(libc::EADDRNOTAVAIL) => {}
        Err(e) => warn!("({who}) cannot remove {vip}: {e}"),
    }
}

pub fn errno(e: &NetError) -> Option<i32> {
    match e {
        NetError::Netlink { source, .. } | NetError::Socket { source, .. } => source.raw_os_error(),
        _ => None,
    }
}
/// The rtnetlink request for `vip` (its interface looked up now).
pub fn addr_spec(vip: &VipSpec) -> Result<AddrSpec, NetError> {
    let ifindex = keepalived_net::ifindex(&vip.dev)?;
    let mut spec = AddrSpec::new(ifindex, vip.addr, vip.prefix_len).with_scope(vip.scope);
    if let Some(label) = &vip.label {
        spec = spec.with_label(label);
    }
    if let Some(b) = vip.broadcast {
        spec = spec.with_broadcast(b);
    }
    Ok(spec)
}
