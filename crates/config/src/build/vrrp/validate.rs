//! Checks across VRRP blocks (and against the global settings they inherit), with
//! keepalived's verdicts: every problem keepalived reports as a configuration error is an
//! error here too.

use std::time::Duration;

use super::Cx;
use crate::model::Config;
use crate::model::vrrp::*;

/// The global `vrrp_version`, if it asks for VRRPv3.
fn global_version(config: &Config) -> Option<VrrpVersion> {
    match config.global.defs.vrrp_version {
        3 => Some(VrrpVersion::V3),
        _ => None,
    }
}

/// All cross-block checks of the VRRP part.
pub fn validate(cx: &mut Cx, config: &mut Config) {
    let config = &*config;
    let vrrp = &config.vrrp;
    for inst in &vrrp.instances {
        instance(cx, config, inst);
    }
    duplicate_vrids(cx, vrrp);
    sync_groups(cx, config);
    ignored_weights(cx, config);
    static_track_groups(cx, config);
}

/// keepalived's `vrrp_complete_instance`: a member of a sync group without
/// `sync_group_tracking_weight`, and the address owner, do not use weights; keepalived reports
/// each weighted tracked interface ("ignoring ... due to SYNC group") and script it ignores. The
/// engine applies the rule (`Engine::effective_tracks`); this reports it, as keepalived does.
fn ignored_weights(cx: &mut Cx, config: &Config) {
    let vrrp = &config.vrrp;
    for inst in &vrrp.instances {
        let name = &inst.name;
        let sync = vrrp
            .sync_groups
            .iter()
            .find(|g| g.members.iter().any(|m| &m.name == name))
            .is_some_and(|g| !g.tracking_weight);
        if !sync && inst.effective_priority() != 255 {
            continue;
        }
        let (why, why_script) = if sync {
            ("SYNC group", "SYNC group")
        } else {
            ("address owner", "address_owner")
        };
        for t in &inst.track_interfaces {
            if t.weight.unwrap_or(0) != 0 {
                let weight = if sync { "weight " } else { "" };
                cx.error(
                    t.loc,
                    format!(
                        "({name}) ignoring {} tracked interface {weight}due to {why}",
                        t.name
                    ),
                );
            }
        }
        for t in &inst.track_scripts {
            let weight = t
                .weight
                .or_else(|| vrrp.script(&t.name).map(|s| s.weight))
                .unwrap_or(0);
            if weight != 0 {
                cx.error(
                    t.loc,
                    format!(
                        "({name}) ignoring tracked script {} with weights due to {why_script}",
                        t.name
                    ),
                );
            }
        }
    }
}

/// A static address/route/rule's `track_group` must name a `track_group` defined before it
/// (keepalived looks it up while reading).
fn static_track_groups(cx: &mut Cx, config: &Config) {
    let vrrp = &config.vrrp;
    let uses = vrrp
        .static_addresses
        .iter()
        .map(|a| (&a.track_group, a.loc))
        .chain(vrrp.static_routes.iter().map(|r| (&r.track_group, r.loc)))
        .chain(vrrp.static_rules.iter().map(|r| (&r.track_group, r.loc)));
    for (group, loc) in uses {
        let Some(group) = group else { continue };
        match config.global.track_group(group) {
            Some(tg) if (tg.loc.file, tg.loc.line) < (loc.file, loc.line) => {}
            Some(_) => cx.error(
                loc,
                format!("track_group {group} must be defined before it is used"),
            ),
            None => cx.error(loc, format!("track_group {group} not found")),
        }
    }
}

fn instance(cx: &mut Cx, config: &Config, inst: &VrrpInstance) {
    let name = &inst.name;
    if inst.interface.is_none() && inst.vrf.is_none() {
        cx.error(
            inst.loc,
            format!("({name}) no `interface` given (keepalived: unknown interface)"),
        );
    }
    if inst.virtual_ipaddresses.is_empty() && !inst.no_virtual_ipaddress {
        cx.error(
            inst.loc,
            format!("({name}) no virtual_ipaddress specified; at least one is sensible"),
        );
    }
    let version = inst.effective_version(global_version(config));
    let adv = inst.advert_int;
    match version {
        VrrpVersion::V2 => {
            if adv.subsec_nanos() != 0 {
                cx.error(
                    inst.loc,
                    format!("({name}) VRRPv2 advert_int {}s must be a whole number of seconds; keepalived rounds it", adv.as_secs_f64()),
                );
            }
        }
        VrrpVersion::V3 => {
            if adv > Duration::from_millis(40950) {
                cx.error(
                    inst.loc,
                    format!(
                        "({name}) VRRPv3 advert_int {}s is out of range (at most 40.95s)",
                        adv.as_secs_f64()
                    ),
                );
            } else if !adv.as_micros().is_multiple_of(10_000) {
                cx.error(
                    inst.loc,
                    format!("({name}) VRRPv3 advert_int {}s must be in units of 10ms; keepalived rounds it", adv.as_secs_f64()),
                );
            }
        }
    }
    if inst.authentication.is_some() && version == VrrpVersion::V3 {
        cx.error(
            inst.loc,
            format!("({name}) VRRP version 3 does not support authentication - ignored"),
        );
    }
    let strict = inst.strict_mode.unwrap_or(config.global.defs.vrrp_strict);
    auth_and_state(cx, inst, version, strict);
    if !inst.preempt && inst.effective_priority() == 255 {
        cx.error(
            inst.loc,
            format!("({name}) nopreempt is incompatible with priority 255 (address owner) - reset"),
        );
    }
    if !inst.preempt && !inst.preempt_delay.is_zero() && !inst.runs_state_master() {
        cx.error(
            inst.loc,
            format!("({name}) preempt_delay is incompatible with nopreempt - reset"),
        );
    }
    if strict && inst.state == InitialState::Master && inst.effective_priority() != 255 {
        cx.error(
            inst.loc,
            format!("({name}) State MASTER must match being address owner - reset"),
        );
    }
    if strict && !inst.preempt_delay.is_zero() && !inst.runs_state_master() {
        cx.error(
            inst.loc,
            format!("({name}) preempt_delay is incompatible with strict mode - reset"),
        );
    }
    let down_timer_adverts = if inst.down_timer_adverts == 3 {
        config.global.defs.vrrp_down_timer_adverts
    } else {
        inst.down_timer_adverts.into()
    };
    if strict && down_timer_adverts != 3 {
        cx.error(
            inst.loc,
            format!("({name}) down_timer_adverts is incompatible with strict mode - reset"),
        );
    }
    if strict && inst.accept == Some(true) && version == VrrpVersion::V2 {
        cx.error(inst.loc, format!("({name}) accept mode with VRRPv2 does not comply with RFC 3768 in strict mode - reset"));
    }
    if inst.promote_secondaries && (inst.use_vmac.is_some() || inst.use_ipvlan.is_some()) {
        cx.error(
            inst.loc,
            format!(
                "({name}) promote_secondaries is set automatically for vmacs and ipvlans - ignored"
            ),
        );
    }
    if let Some(ipvlan) = &inst.use_ipvlan
        && !inst.is_ipv6()
        && ipvlan.addr.is_none()
    {
        cx.error(
            inst.loc,
            format!("({name}) an IPv4 ipvlan needs an address (`use_ipvlan [NAME] ADDR`)"),
        );
    }
    for t in &inst.track_interfaces {
        if inst.interface.as_deref() == Some(t.name.as_str()) {
            cx.error(
                t.loc,
                format!(
                    "({name}) track_interface {} is the instance's own interface - ignored",
                    t.name
                ),
            );
        }
    }
    track_refs(
        cx,
        config,
        &format!("({name})"),
        &inst.track_scripts,
        &inst.track_files,
        &inst.track_processes,
        &inst.track_bfds,
    );
}

/// keepalived's checks of authentication and of `state MASTER`, in its order
/// (`vrrp_complete_instance`): what it clears is reported, as keepalived reports it. (Its
/// "Cannot use AH authentication with IPv6" is never reached: IPv6 runs VRRPv3, refused first.)
fn auth_and_state(cx: &mut Cx, inst: &VrrpInstance, version: VrrpVersion, strict: bool) {
    let name = &inst.name;
    let ah = inst
        .authentication
        .as_ref()
        .is_some_and(|a| a.auth_type == AuthType::Ah);
    if inst.authentication.is_some() && version == VrrpVersion::V2 {
        if strict {
            cx.error(
                inst.loc,
                format!("({name}) Strict mode does not support authentication - ignored"),
            );
        } else if ah && inst.state == InitialState::Master && inst.effective_priority() != 255 {
            cx.error(
                inst.loc,
                format!(
                    "({name}) Initial state master is incompatible with AH authentication - clearing"
                ),
            );
        }
    }
    // After keepalived's own reset of `nopreempt` for the address owner.
    if inst.runs_state_master() {
        if !inst.preempt && inst.effective_priority() != 255 {
            cx.error(
                inst.loc,
                format!(
                    "({name}) Warning - nopreempt will not work with initial state MASTER - clearing"
                ),
            );
        }
        if !inst.preempt_delay.is_zero() {
            cx.error(
                inst.loc,
                format!(
                    "({name}) Warning - preempt delay will not work with initial state MASTER - clearing"
                ),
            );
        }
    }
}

/// `track_script`, `track_file`, `track_process` and `track_bfd` entries must name a block.
fn track_refs(
    cx: &mut Cx,
    config: &Config,
    who: &str,
    scripts: &[Track],
    files: &[Track],
    procs: &[Track],
    bfds: &[Track],
) {
    let vrrp = &config.vrrp;
    for t in scripts {
        if vrrp.script(&t.name).is_none() {
            cx.error(
                t.loc,
                format!(
                    "{who} track script `{}` not found (no such vrrp_script) - ignored",
                    t.name
                ),
            );
        }
    }
    for t in files {
        if !vrrp.track_files.iter().any(|f| f.name == t.name) {
            cx.error(
                t.loc,
                format!(
                    "{who} track file `{}` not found (no such track_file) - ignored",
                    t.name
                ),
            );
        }
    }
    for t in procs {
        if !vrrp.track_processes.iter().any(|p| p.name == t.name) {
            cx.error(
                t.loc,
                format!(
                    "{who} track process `{}` not found (no such vrrp_track_process) - ignored",
                    t.name
                ),
            );
        }
    }
    for t in bfds {
        if config.global.bfd_instance(&t.name).is_none() {
            cx.error(
                t.loc,
                format!(
                    "{who} track bfd `{}` not found (no such bfd_instance) - ignored",
                    t.name
                ),
            );
        }
    }
}

/// Two instances with the same VRID, interface and family collide, unless they use different
/// multicast groups or unicast peer sets that do not overlap.
fn duplicate_vrids(cx: &mut Cx, vrrp: &VrrpConfig) {
    let list = &vrrp.instances;
    for (i, a) in list.iter().enumerate() {
        for b in list.iter().skip(i + 1) {
            if a.virtual_router_id != b.virtual_router_id
                || a.interface.is_none()
                || a.interface != b.interface
            {
                continue;
            }
            if a.is_ipv6() != b.is_ipv6() {
                continue;
            }
            if a.is_unicast() != b.is_unicast() {
                continue;
            }
            if a.is_unicast()
                && !a
                    .unicast_peers
                    .iter()
                    .any(|p| b.unicast_peers.iter().any(|q| q.addr == p.addr))
            {
                continue;
            }
            if !a.is_unicast() && a.mcast_dst_ip != b.mcast_dst_ip {
                continue;
            }
            let fam = if a.is_ipv6() { "IPv6" } else { "IPv4" };
            cx.error(
                b.loc,
                format!(
                    "{} (line {}) and {} (line {}) both use VRID {} with {fam} on interface {}",
                    a.name,
                    a.loc.line,
                    b.name,
                    b.loc.line,
                    a.virtual_router_id,
                    a.interface.as_deref().unwrap_or(""),
                ),
            );
        }
    }
}

fn sync_groups(cx: &mut Cx, config: &Config) {
    let vrrp = &config.vrrp;
    // instance name -> first group claiming it
    let mut owner: Vec<(&str, &str)> = Vec::new();
    for g in &vrrp.sync_groups {
        let mut valid = 0usize;
        for m in &g.members {
            if vrrp.instance(&m.name).is_none() {
                cx.error(
                    m.loc,
                    format!(
                        "virtual router {} in sync group {} does not exist - ignored",
                        m.name, g.name
                    ),
                );
                continue;
            }
            if let Some((_, first)) = owner.iter().find(|(i, _)| *i == m.name) {
                cx.error(
                    m.loc,
                    format!("virtual router {} cannot be in more than one sync group (already in {first}) - ignored", m.name),
                );
                continue;
            }
            owner.push((&m.name, &g.name));
            valid += 1;
            if let Some(inst) = vrrp.instance(&m.name) {
                doubly_tracked(cx, g, inst);
            }
        }
        if g.members.is_empty() && valid == 0 {
            cx.error(
                g.loc,
                format!(
                    "sync group {} has no `group` of virtual routers - removed",
                    g.name
                ),
            );
        } else if valid == 0 {
            cx.error(
                g.loc,
                format!(
                    "sync group {}: no matching virtual router found - removed",
                    g.name
                ),
            );
        } else if valid == 1 {
            cx.error(
                g.loc,
                format!(
                    "sync group {} has only 1 virtual router - this probably isn't what you want",
                    g.name
                ),
            );
        }
        track_refs(
            cx,
            config,
            &format!("sync group {}:", g.name),
            &g.track_scripts,
            &g.track_files,
            &g.track_processes,
            &g.track_bfds,
        );
    }
}

/// An interface tracked by a sync group must not also be tracked by a member (keepalived: "is
/// configured on VRRP instance and sync group"); a member's own interface counts as tracked.
/// (keepalived accepts scripts, files, processes and BFDs tracked by both.)
fn doubly_tracked(cx: &mut Cx, g: &SyncGroup, inst: &VrrpInstance) {
    for t in &g.track_interfaces {
        let own = inst.interface.as_deref() == Some(t.name.as_str());
        if own || inst.track_interfaces.iter().any(|i| i.name == t.name) {
            cx.error(
                t.loc,
                format!(
                    "({}) track_interface {} is configured on both the vrrp instance and sync group {}; remove one",
                    inst.name, t.name, g.name
                ),
            );
        }
    }
}
