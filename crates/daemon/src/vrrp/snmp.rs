//! The VRRP process's part of KEEPALIVED-MIB (`enable_snmp_vrrp`), served by its AgentX
//! subagent ([`crate::services::snmp`]): the global objects and the instance table, built
//! from a snapshot of the engine as keepalived's `vrrp_snmp.c` reports them (values checked
//! against keepalived's own walk in tests/interop/snmp.rs).
//!
//! Not served yet (keepalived has them): the sync group, tracked object, address, route, rule
//! and script tables, the instance columns 6 (wanted state), 11 (tracks its primary
//! interface), 16 and 17 (LVS sync daemon), 21 to 35 (notify scripts and later options), the
//! RFC 2787 and RFC 6527 MIBs, the traps and the writable objects.

use keepalived_agentx::{Oid, Value, View};
use keepalived_config::Config;
use keepalived_config::model::global::{DynamicInterfaces, LvsFlushOnStop};

use super::snapshot::{InstanceSnapshot, VrrpSnapshot, state_number};
use crate::services::snmp::KEEPALIVED_MIB;

/// `smtp_connect_timeout`'s default, in seconds.
const DEFAULT_SMTP_TIMEOUT: u64 = 30;

/// The subtrees the VRRP process registers: keepalived's global objects and VRRP objects.
pub fn subtrees() -> Vec<Oid> {
    let base = Oid(KEEPALIVED_MIB.to_vec());
    vec![base.child(&[1]), base.child(&[2])]
}

/// SNMPv2's TruthValue: true 1, false 2.
fn truth(b: bool) -> Value {
    Value::Integer(if b { 1 } else { 2 })
}

fn text(s: &str) -> Value {
    Value::OctetString(s.as_bytes().to_vec())
}

fn gauge(n: u64) -> Value {
    Value::Gauge32(u32::try_from(n).unwrap_or(u32::MAX))
}

/// An alert setting as keepalived reports it: 1 on, 2 off, 3 not set.
fn alert(v: Option<bool>) -> Value {
    Value::Integer(match v {
        Some(true) => 1,
        Some(false) => 2,
        None => 3,
    })
}

/// The view of `config`'s global objects and `snap`'s instances; `order`: the instances' names
/// in configuration order (their table index, from 1).
pub fn view(config: &Config, order: &[String], snap: &VrrpSnapshot) -> View {
    let mut v = View::new();
    global(&mut v, config);
    let table = Oid(KEEPALIVED_MIB.to_vec()).child(&[2, 3, 1]);
    for (n, name) in order.iter().enumerate() {
        let Some(i) = snap.instances.iter().find(|i| &i.name == name) else {
            continue;
        };
        let index = u32::try_from(n + 1).unwrap_or(u32::MAX);
        for (column, value) in instance_columns(i) {
            v.insert(table.child(&[column, index]), value);
        }
    }
    v
}

fn global(v: &mut View, config: &Config) {
    let g = Oid(KEEPALIVED_MIB.to_vec()).child(&[1]);
    let d = &config.global.defs;
    let scalar =
        |v: &mut View, sub: &[u32], value: Value| v.insert(g.child(sub).child(&[0]), value);
    scalar(
        v,
        &[1],
        text(&format!("keepalived-rs {}", env!("CARGO_PKG_VERSION"))),
    );
    let host = crate::services::mail::host_name();
    scalar(v, &[2], text(d.router_id.as_deref().unwrap_or(&host)));
    let smtp: Option<std::net::IpAddr> = d.smtp_server.as_ref().and_then(|s| s.host.parse().ok());
    scalar(
        v,
        &[3, 1],
        Value::Integer(if matches!(smtp, Some(std::net::IpAddr::V4(_))) {
            1
        } else {
            2
        }),
    );
    let address = match smtp {
        Some(std::net::IpAddr::V4(a)) => a.octets().to_vec(),
        Some(std::net::IpAddr::V6(a)) => a.octets().to_vec(),
        // keepalived reports the empty IPv4 address of an unset server.
        None => vec![0; 4],
    };
    scalar(v, &[3, 2], Value::OctetString(address));
    // keepalived fills in the 30 s default and the sender only for a configured server.
    let timeout = match (smtp, d.smtp_connect_timeout.as_secs()) {
        (None, DEFAULT_SMTP_TIMEOUT) => 0,
        (_, secs) => secs,
    };
    scalar(v, &[3, 3], gauge(timeout));
    let from = match (&d.notification_email_from, smtp) {
        (Some(from), _) => Some(from.clone()),
        (None, Some(_)) => Some(format!("keepalived@{host}")),
        (None, None) => None,
    };
    if let Some(from) = from {
        scalar(v, &[3, 4], text(&from));
    }
    let port = d
        .smtp_server
        .as_ref()
        .filter(|_| smtp.is_some())
        .map_or(0, |s| s.port);
    scalar(v, &[3, 6], gauge(u64::from(port)));
    scalar(v, &[3, 7], truth(!d.no_email_faults));
    scalar(v, &[3, 8], alert(d.smtp_alert));
    scalar(v, &[3, 9], alert(d.smtp_alert_vrrp));
    scalar(v, &[3, 10], alert(d.smtp_alert_checker));
    for (n, address) in d.notification_email.iter().enumerate() {
        let index = u32::try_from(n + 1).unwrap_or(u32::MAX);
        v.insert(g.child(&[3, 5, 1, 2, index]), text(address));
    }
    scalar(v, &[4], truth(d.snmp.traps));
    scalar(
        v,
        &[5],
        Value::Integer(if config.global.linkbeat_use_polling {
            2
        } else {
            1
        }),
    );
    scalar(v, &[6], truth(d.lvs_flush));
    scalar(v, &[7], truth(true));
    scalar(
        v,
        &[8],
        text(config.global.net_namespace.as_deref().unwrap_or("")),
    );
    scalar(v, &[9], truth(d.dbus.enabled));
    scalar(
        v,
        &[10],
        truth(d.dynamic_interfaces != DynamicInterfaces::Disabled),
    );
    scalar(
        v,
        &[11],
        Value::Integer(match d.lvs_flush_on_stop {
            LvsFlushOnStop::Full => 1,
            LvsFlushOnStop::Vs => 3,
            LvsFlushOnStop::Disabled => 2,
        }),
    );
}

/// The columns of vrrpInstanceTable served, for one instance.
fn instance_columns(i: &InstanceSnapshot) -> Vec<(u32, Value)> {
    let state = |n: u8| Value::Integer(if n <= 3 { i32::from(n) } else { 4 });
    let adver = if i.version == 2 {
        i.adver_int.as_secs()
    } else {
        u64::try_from(i.adver_int.as_millis() / 10).unwrap_or(u64::MAX)
    };
    let mut out = vec![
        (2, text(&i.name)),
        (3, gauge(u64::from(i.vrid))),
        (4, state(state_number(i.state))),
        (5, state(if i.initial_master { 2 } else { 1 })),
        (7, Value::Integer(i32::from(i.base_priority))),
        (8, Value::Integer(i32::from(i.effective_priority))),
        (9, truth(i.state == keepalived_vrrp::State::Master)),
        (10, text(&i.ifname)),
        (12, gauge(adver)),
        (13, truth(i.preempt)),
        (14, gauge(i.preempt_delay.as_secs())),
        (
            15,
            Value::Integer(if i.version == 2 {
                i32::from(i.auth_type)
            } else {
                0
            }),
        ),
    ];
    if let Some(group) = &i.group {
        out.push((18, text(group)));
    }
    out.push((19, gauge(i.garp.0.as_secs())));
    out.push((20, truth(i.smtp_alert)));
    out
}
