//! What the VRRP engine reports for the Prometheus metrics ([`take`]): a copy of its numbers,
//! taken by the driver between two events like the dumps' snapshot, serialized off the loop.

use std::net::IpAddr;
use std::time::UNIX_EPOCH;

use keepalived_vrrp::{Engine, InstanceStats, TrackerValue};

use super::link::Link;
use super::snapshot::{Context, kind_word, state_number, track_name};
use crate::services::metrics::{InstanceMetrics, SocketMetrics, TrackMetrics, VrrpMetrics};

/// The counters of `s` in the order of `services::metrics::INSTANCE_COUNTERS`.
fn counters(s: &InstanceStats) -> Vec<u64> {
    vec![
        s.advert_rcvd,
        s.advert_sent,
        s.become_master,
        s.release_master,
        s.packet_length_errors,
        s.adver_interval_errors,
        s.ip_ttl_errors,
        s.invalid_type_rcvd,
        s.addr_list_errors,
        s.invalid_authtype,
        s.authtype_mismatch,
        s.auth_failures,
        s.pri_zero_rcvd,
        s.pri_zero_sent,
    ]
}

fn value(v: TrackerValue) -> i64 {
    match v {
        TrackerValue::Up => 1,
        TrackerValue::Down => 0,
        TrackerValue::Value(n) => n,
    }
}

/// Copies the numbers of the metrics out of the engine.
pub fn take(engine: &Engine, links: &[Link], cx: &Context<'_>) -> VrrpMetrics {
    let mut out = VrrpMetrics::default();
    for r in engine.instance_refs() {
        let (Some(inst), Some(link)) = (engine.instance(r), links.get(r.link)) else {
            continue;
        };
        let Some(plan) = link.plans.get(r.id) else {
            continue;
        };
        let cfg = inst.config();
        let tracks: Vec<TrackMetrics> = cx
            .tracks
            .instances
            .get(&cfg.name)
            .map(|list| {
                list.iter()
                    .map(|t| TrackMetrics {
                        kind: kind_word(t.kind).to_owned(),
                        name: track_name(cx.tracks, t.kind, t.id),
                        value: engine.tracker_value(t.id).map(value),
                    })
                    .collect()
            })
            .unwrap_or_default();
        for t in tracks.iter().filter(|t| t.kind == "script") {
            if !out.scripts.iter().any(|(n, _)| *n == t.name) {
                out.scripts.push((t.name.clone(), t.value.map(|v| v > 0)));
            }
        }
        // What the adverts carry; the other addresses are keepalived's excluded ones.
        let (vips, excluded): (Vec<_>, Vec<_>) = plan
            .vips
            .iter()
            .partition(|v| cfg.vips.iter().any(|a| a == v.addr));
        let pairs = |list: Vec<&crate::plan::convert::VipSpec>| -> Vec<(IpAddr, String)> {
            list.iter().map(|v| (v.addr, v.dev.clone())).collect()
        };
        let (vips, excluded) = (pairs(vips), pairs(excluded));
        out.instances.push(InstanceMetrics {
            name: cfg.name.clone(),
            intf: plan.ifname.clone(),
            vrid: cfg.vrid,
            state: state_number(inst.state()),
            vips,
            excluded,
            base_priority: cfg.priority,
            effective_priority: inst.priority(),
            last_transition: (cx.last_transition)(&cfg.name)
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map(|d| d.as_secs_f64()),
            garp_delay: cfg.garp.master_delay.unwrap_or_default().as_secs_f64(),
            counters: counters(inst.stats()),
            tracks,
            master_address: inst.master_addr(),
            maintenance: inst
                .fault_causes()
                .contains(keepalived_vrrp::FaultCause::Maintenance),
        });
    }
    for (l, link) in links.iter().enumerate() {
        if let Some(router) = engine.router(l) {
            let s = router.stats();
            out.sockets.push(SocketMetrics {
                intf: link.key.ifname.clone(),
                family: if link.key.src.is_ipv6() {
                    "ipv6"
                } else {
                    "ipv4"
                }
                .to_owned(),
                counters: vec![
                    s.checksum_errors,
                    s.version_errors,
                    s.vrid_errors,
                    s.truncated,
                    s.ip_errors,
                ],
            });
        }
    }
    out.groups = (0..engine.groups())
        .map(keepalived_vrrp::GroupId)
        .filter_map(|g| {
            Some((
                engine.group_name(g)?.to_owned(),
                state_number(engine.group_state(g)?),
            ))
        })
        .collect();
    out
}
