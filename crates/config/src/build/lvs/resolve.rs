//! The end of a `virtual_server` block: keepalived's corrections and checks, and the
//! resolution of values real servers and checkers inherit.

use std::collections::HashSet;
use std::net::SocketAddr;

use super::checker;
use super::vs::{DEFAULT_PERSISTENCE, RsDraft};
use crate::build::Cx;
use crate::model::lvs::*;
use crate::tree::Node;

#[allow(clippy::too_many_arguments)]
pub(super) fn finish_vs(
    cx: &mut Cx,
    node: &Node,
    mut vs: VirtualServer,
    mut af: Option<IpFamily>,
    sched_set: bool,
    method_set: bool,
    sorry_method: Option<ForwardingMethod>,
    rss: Vec<RsDraft>,
) -> Option<VirtualServer> {
    let label = vs_label(&vs);
    let loc = node.loc();
    // Sorry server family (non-tunnelled).
    if let Some(s) = vs.sorry_server.as_mut() {
        s.lvs_method = sorry_method.unwrap_or(vs.lb_kind);
        if !s.lvs_method.is_tunnel() {
            let fam = IpFamily::of(&s.address.ip());
            match af {
                None => af = Some(fam),
                Some(a) if a != fam => {
                    cx.error(
                        s.loc,
                        format!(
                            "address family of virtual server and sorry server {} don't match - skipping sorry server",
                            s.address.ip()
                        ),
                    );
                    vs.sorry_server = None;
                }
                _ => {}
            }
        }
    }
    if rss.is_empty() {
        cx.error(
            loc,
            format!("virtual server {label} has no real servers - ignoring"),
        );
        return None;
    }
    let is_fwmark = matches!(vs.address, VsAddress::Fwmark(_));
    let is_ip = matches!(vs.address, VsAddress::Ip(_));
    if vs.ha_suspend && is_fwmark {
        cx.error(
            loc,
            format!(
                "virtual server {label}: cannot use ha_suspend with fwmarks - clearing ha_suspend"
            ),
        );
        vs.ha_suspend = false;
    }
    if is_ip {
        if !vs.protocol_configured {
            cx.error(
                loc,
                format!("virtual server {label}: no protocol set - defaulting to UDP"),
            );
        }
        if vs.sched_flags.ops && vs.protocol != Protocol::Udp {
            cx.error(
                loc,
                format!("virtual server {label}: one packet scheduling requires UDP - resetting"),
            );
            vs.sched_flags.ops = false;
        }
        if vs.persistence_timeout.is_none() && vs.address_port() == Some(0) {
            cx.error(
                loc,
                format!(
                    "virtual server {label}: zero port only valid for persistent services - setting"
                ),
            );
            vs.persistence_timeout = Some(DEFAULT_PERSISTENCE);
        }
    }
    if is_fwmark && vs.protocol_configured {
        cx.error(
            loc,
            format!(
                "virtual server {label}: protocol specified for fwmark - protocol will be ignored"
            ),
        );
        vs.protocol_configured = false;
    }
    if !sched_set {
        cx.error(
            loc,
            format!("virtual server {label}: no scheduler set (lb_algo) - defaulting to wlc"),
        );
    }
    let _ = af;
    let mut seen: HashSet<SocketAddr> = HashSet::with_capacity(rss.len());
    let mut weight_sum: u64 = 0;
    let mut method_reported = false;
    let vs_port = vs.address_port();
    vs.real_servers.reserve_exact(rss.len());
    for d in rss {
        let RsDraft {
            mut rs,
            cfg,
            vs_method_at_start,
            checkers,
        } = d;
        if !seen.insert(rs.address) {
            cx.error(
                rs.loc,
                format!(
                    "virtual server {label}: real server {} is duplicated - removing second rs",
                    rs.address
                ),
            );
            continue;
        }
        rs.lvs_method = match cfg.method.or(vs_method_at_start) {
            Some(m) => m,
            None => {
                if !method_set && !method_reported {
                    cx.error(loc, format!("virtual server {label}: no forwarding method set (lb_kind) - defaulting to NAT"));
                    method_reported = true;
                }
                vs.lb_kind
            }
        };
        rs.alpha = cfg.alpha.unwrap_or(vs.alpha);
        rs.inhibit_on_failure = cfg.inhibit.unwrap_or(vs.inhibit_on_failure);
        rs.retry = cfg.retry.or(vs.retry);
        rs.connect_timeout = cfg.connect_timeout.unwrap_or(vs.connect_timeout);
        rs.delay_loop = cfg.delay_loop.unwrap_or(vs.delay_loop);
        rs.warmup = cfg.warmup.or(vs.warmup);
        rs.delay_before_retry = cfg.delay_before_retry.or(vs.delay_before_retry);
        rs.weight = cfg.weight.unwrap_or(vs.weight);
        weight_sum += u64::from(rs.weight);
        if let Some(s) = vs.sorry_server.as_mut()
            && s.address == rs.address
            && s.inhibit != rs.inhibit_on_failure
        {
            cx.error(
                    s.loc,
                    format!("virtual server {label}: real server {} matches sorry server, but inhibit setting differs", rs.address),
                );
            s.inhibit = rs.inhibit_on_failure;
        }
        // Ports, as keepalived corrects them.
        if let Some(vport) = vs_port {
            let port = rs.address.port();
            if port == 0 {
                rs.address.set_port(vport);
            } else if port != vport && rs.lvs_method != ForwardingMethod::Nat {
                cx.error(
                    rs.loc,
                    format!(
                        "virtual server {label} and real server {} ports don't match - resetting",
                        rs.address
                    ),
                );
                rs.address.set_port(vport);
            }
        } else if is_fwmark && rs.lvs_method != ForwardingMethod::Nat && rs.address.port() != 0 {
            cx.error(
                rs.loc,
                format!(
                    "fwmark virtual server {label}, real server {} has port specified - clearing",
                    rs.address
                ),
            );
            rs.address.set_port(0);
        }
        rs.checkers = checkers
            .into_iter()
            .map(|c| checker::resolve(c, &rs, &vs))
            .collect();
        vs.real_servers.push(rs);
    }
    if vs.real_servers.is_empty() {
        cx.error(
            loc,
            format!("virtual server {label} has no real servers - ignoring"),
        );
        return None;
    }
    if let Some(s) = vs.sorry_server.as_mut() {
        if sorry_method.is_none() && !method_set && !method_reported {
            cx.error(
                loc,
                format!(
                    "virtual server {label}: no forwarding method set (lb_kind) - defaulting to NAT"
                ),
            );
        }
        if s.lvs_method != ForwardingMethod::Nat {
            if is_fwmark && s.address.port() != 0 {
                cx.error(
                    s.loc,
                    format!("virtual server {label}: sorry server has port specified - clearing"),
                );
                s.address.set_port(0);
            } else if let Some(vport) = vs_port {
                if s.address.port() == 0 {
                    s.address.set_port(vport);
                } else if s.address.port() != vport {
                    cx.error(
                        s.loc,
                        format!(
                            "virtual server {label} and sorry server ports don't match - resetting"
                        ),
                    );
                    s.address.set_port(vport);
                }
            }
        }
    }
    if u64::from(vs.quorum) > weight_sum {
        cx.error(
            loc,
            format!(
                "quorum {} for virtual server {label} exceeds total weight of real servers {weight_sum}, reducing quorum",
                vs.quorum
            ),
        );
        vs.quorum = u32::try_from(weight_sum).unwrap_or(u32::MAX);
    }
    if vs.hysteresis >= vs.quorum {
        cx.error(
            loc,
            format!(
                "virtual server {label}: hysteresis {} >= quorum {}; reducing hysteresis",
                vs.hysteresis, vs.quorum
            ),
        );
        vs.hysteresis = vs.quorum.saturating_sub(1);
    }
    Some(vs)
}

fn vs_label(vs: &VirtualServer) -> String {
    match &vs.address {
        VsAddress::Ip(sa) => sa.to_string(),
        VsAddress::Fwmark(m) => format!("fwmark {m}"),
        VsAddress::Group(g) => format!("group {g}"),
    }
}

impl VirtualServer {
    /// The port of an address-based virtual server.
    pub fn address_port(&self) -> Option<u16> {
        match &self.address {
            VsAddress::Ip(sa) => Some(sa.port()),
            _ => None,
        }
    }
}

/// Checks a virtual server against the group it uses (which may be defined after it).
pub(super) fn validate_group_use(cx: &mut Cx, vs: &VirtualServer, group: &VirtualServerGroup) {
    let label = vs_label(vs);
    let has_ranges = group
        .entries
        .iter()
        .any(|e| matches!(e, VsgEntry::Range { .. }));
    let has_fwmarks = group
        .entries
        .iter()
        .any(|e| matches!(e, VsgEntry::Fwmark { .. }));
    if vs.ha_suspend && has_fwmarks {
        cx.error(
            vs.loc,
            format!(
                "virtual server {label}: cannot use ha_suspend with fwmarks - clearing ha_suspend"
            ),
        );
    }
    if has_ranges {
        if !vs.protocol_configured {
            cx.error(
                vs.loc,
                format!("virtual server {label}: no protocol set - defaulting to UDP"),
            );
        }
        if vs.sched_flags.ops && vs.protocol != Protocol::Udp {
            cx.error(
                vs.loc,
                format!("virtual server {label}: one packet scheduling requires UDP - resetting"),
            );
        }
    } else if vs.protocol_configured && has_fwmarks {
        cx.error(
            vs.loc,
            format!(
                "virtual server {label}: protocol specified for fwmark - protocol will be ignored"
            ),
        );
    }
    if vs.persistence_timeout.is_none()
        && group
            .entries
            .iter()
            .any(|e| matches!(e, VsgEntry::Range { port: 0, .. }))
    {
        cx.error(
            vs.loc,
            format!(
                "virtual server {label}: zero port only valid for persistent services - setting"
            ),
        );
    }
    for rs in &vs.real_servers {
        if rs.lvs_method == ForwardingMethod::Nat || rs.address.port() == 0 {
            continue;
        }
        if group
            .entries
            .iter()
            .any(|e| matches!(e, VsgEntry::Range { port, .. } if *port != rs.address.port()))
        {
            cx.error(
                rs.loc,
                format!(
                    "virtual server {label} and real server {} ports don't match",
                    rs.address
                ),
            );
        }
    }
    // Family: non-tunnelled servers must match the group's addresses.
    let fams: Vec<IpFamily> = group
        .entries
        .iter()
        .filter_map(|e| match e {
            VsgEntry::Range { first, .. } => Some(IpFamily::of(first)),
            VsgEntry::Fwmark { family, .. } => *family,
        })
        .collect();
    if let Some(&f) = fams.first()
        && fams.iter().all(|x| *x == f)
    {
        for rs in &vs.real_servers {
            if !rs.lvs_method.is_tunnel() && IpFamily::of(&rs.address.ip()) != f {
                cx.error(
                    rs.loc,
                    format!(
                        "address family of virtual server group {} and real server {} don't match",
                        group.name,
                        rs.address.ip()
                    ),
                );
            }
        }
    }
}
