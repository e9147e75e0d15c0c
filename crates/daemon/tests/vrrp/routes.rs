//! `virtual_routes`, `virtual_rules` and their static counterparts, for real: two keepalived-rs
//! routers on a veth in network namespaces. Only the master holds the virtual route and rule;
//! after a failover (SIGSTOP of the master) the new master has them; static routes and rules are
//! on both from the start; after SIGTERM nothing tagged `proto keepalived` (18) is left; a
//! leftover route and rule of a crashed run are removed at start-up; with `-V` they stay.
//! Needs root (skips otherwise). Documentation addresses only.

use std::net::IpAddr;
use std::time::Duration;

use crate::support::daemon::{Daemon, run_to_exit};
use crate::support::files::TempDir;
use crate::support::net::veth_pair;
use lab::{Host, Lab, wait_until};

use serde_json::Value;

const VIP: &str = "192.0.2.100";
/// The virtual routes' table.
const TABLE: &str = "100";
/// The static routes' table.
const STATIC_TABLE: &str = "101";
const POLL: Duration = Duration::from_millis(20);
/// Master_Down_Interval of the backup: v3, advert_int 0.3 s, priority 100.
const BACKUP_MDI: Duration = Duration::from_nanos(1_082_812_500);

fn conf(priority: u8) -> String {
    format!(
        "static_routes {{\n    198.51.100.128/25 dev eth0 table {STATIC_TABLE}\n}}\n\
         static_rules {{\n    to 203.0.113.0/24 table {STATIC_TABLE} priority 101\n}}\n\
         vrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 52\n    \
         priority {priority}\n    version 3\n    advert_int 0.3\n    \
         virtual_ipaddress {{\n        {VIP}/24\n    }}\n    \
         virtual_routes {{\n        203.0.113.0/24 via 192.0.2.254 dev eth0 table {TABLE}\n        \
         blackhole 198.51.100.0/25 table {TABLE} no_track\n        \
         unreachable 2001:db8:1::/48 table {TABLE} no_track\n    }}\n    \
         virtual_rules {{\n        from {VIP} table {TABLE} priority 100\n        \
         from 2001:db8::/32 table {TABLE} priority 99\n    }}\n}}\n"
    )
}

fn json(host: &Host, args: &[&str]) -> Vec<Value> {
    // A table that never held a route does not exist: no routes.
    let out = match host.ip(args) {
        Ok(out) => out,
        Err(e) if e.to_string().contains("does not exist") => return Vec::new(),
        Err(e) => panic!("ip {args:?}: {e}"),
    };
    if out.trim().is_empty() {
        return Vec::new();
    }
    match serde_json::from_str::<Value>(&out).expect("ip -j output") {
        Value::Array(v) => v,
        _ => Vec::new(),
    }
}

fn is_ours(v: &Value) -> bool {
    matches!(v["protocol"].as_str(), Some("keepalived" | "18")) || v["protocol"] == 18
}

/// Routes of `table` tagged keepalived, as "TYPE DST".
fn our_routes(host: &Host, table: &str) -> Vec<String> {
    let mut v = json(host, &["-j", "-4", "route", "show", "table", table]);
    v.extend(json(host, &["-j", "-6", "route", "show", "table", table]));
    v.iter()
        .filter(|r| is_ours(r))
        .map(|r| {
            format!(
                "{} {}",
                r["type"].as_str().unwrap_or("unicast"),
                r["dst"].as_str().unwrap_or("?")
            )
        })
        .collect()
}

/// Everything tagged keepalived in every table, both families.
fn all_our_routes(host: &Host) -> Vec<Value> {
    let mut v = json(host, &["-j", "-4", "route", "show", "table", "all"]);
    v.extend(json(host, &["-j", "-6", "route", "show", "table", "all"]));
    v.into_iter().filter(is_ours).collect()
}

/// Rules tagged keepalived, as "PRIORITY TABLE".
fn our_rules(host: &Host) -> Vec<String> {
    let mut v = json(host, &["-j", "-4", "rule", "show"]);
    v.extend(json(host, &["-j", "-6", "rule", "show"]));
    v.iter()
        .filter(|r| is_ours(r))
        .map(|r| {
            let table = match &r["table"] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            format!("{} {table}", r["priority"])
        })
        .collect()
}

fn holds_virtual(host: &Host) -> bool {
    let routes = our_routes(host, TABLE);
    host.has_addr(VIP.parse::<IpAddr>().expect("vip"))
        && routes.iter().any(|r| r == "unicast 203.0.113.0/24")
        && routes.iter().any(|r| r == "blackhole 198.51.100.0/25")
        && routes.iter().any(|r| r == "unreachable 2001:db8:1::/48")
        && our_rules(host).iter().any(|r| r == "100 100")
        && our_rules(host).iter().any(|r| r == "99 100")
}

fn holds_no_virtual(host: &Host) -> bool {
    our_routes(host, TABLE).is_empty()
        && !our_rules(host)
            .iter()
            .any(|r| r == "100 100" || r == "99 100")
        && !host.has_addr(VIP.parse::<IpAddr>().expect("vip"))
}

fn holds_static(host: &Host) -> bool {
    our_routes(host, STATIC_TABLE) == ["unicast 198.51.100.128/25"]
        && our_rules(host).iter().any(|r| r == "101 101")
}

fn state(host: &Host, d: &Daemon) -> String {
    format!(
        "routes {TABLE}: {:?}, routes {STATIC_TABLE}: {:?}, rules: {:?}\nlog:\n{}",
        our_routes(host, TABLE),
        our_routes(host, STATIC_TABLE),
        our_rules(host),
        d.log()
    )
}

#[test]
fn virtual_routes_and_rules_follow_the_master() {
    lab::require_root!();
    let lab = Lab::new("kvrt").expect("lab");
    let (ha1, ha2) = veth_pair(&lab);
    let dir = TempDir::new("follow");

    // Leftovers of a crashed run on the future backup, tagged as ours: removed at start-up.
    ha2.ip([
        "route",
        "add",
        "203.0.113.0/24",
        "via",
        "192.0.2.254",
        "dev",
        "eth0",
        "table",
        TABLE,
        "proto",
        "18",
    ])
    .expect("leftover route");
    ha2.ip([
        "rule", "add", "from", VIP, "table", TABLE, "priority", "100", "proto", "18",
    ])
    .expect("leftover rule");
    // Someone else's route in the same table is not ours to remove.
    ha2.ip([
        "route",
        "add",
        "203.0.113.128/25",
        "dev",
        "eth0",
        "table",
        TABLE,
    ])
    .expect("foreign route");
    assert_eq!(our_routes(&ha2, TABLE), ["unicast 203.0.113.0/24"]);

    let mut master = Daemon::start(&ha1, &dir.0, "ha1", &conf(150), &[]);
    let mut backup = Daemon::start(&ha2, &dir.0, "ha2", &conf(100), &[]);

    let cleaned = wait_until(Duration::from_secs(2), POLL, || {
        our_routes(&ha2, TABLE).is_empty() && !our_rules(&ha2).iter().any(|r| r == "100 100")
    });
    assert!(
        cleaned.is_some(),
        "leftovers not removed: {}",
        state(&ha2, &backup)
    );
    let foreign = ha2.ip(["route", "show", "table", TABLE]).expect("ip route");
    assert!(foreign.contains("203.0.113.128/25"), "{foreign}");
    let log = backup.log();
    assert!(
        log.contains("removed leftover route 203.0.113.0/24"),
        "{log}"
    );
    assert!(
        log.contains("removed leftover rule from 192.0.2.100/32"),
        "{log}"
    );

    // Statics on both from the start.
    for (h, d) in [(&ha1, &master), (&ha2, &backup)] {
        let ok = wait_until(Duration::from_secs(2), POLL, || holds_static(h));
        assert!(ok.is_some(), "static route/rule missing: {}", state(h, d));
    }

    // The master holds VIP, routes and rule; the backup none of them.
    let elected = wait_until(BACKUP_MDI * 4, POLL, || holds_virtual(&ha1));
    assert!(
        elected.is_some(),
        "ha1 never installed its routes: {}",
        state(&ha1, &master)
    );
    let settle = wait_until(BACKUP_MDI, POLL, || !holds_no_virtual(&ha2));
    assert!(
        settle.is_none(),
        "backup holds some: {}",
        state(&ha2, &backup)
    );

    // The master freezes: the backup takes over, routes and rule included.
    master.freeze();
    let took = wait_until(BACKUP_MDI * 3, POLL, || holds_virtual(&ha2));
    assert!(
        took.is_some(),
        "new master lacks its routes: {}",
        state(&ha2, &backup)
    );

    // SIGTERM of the new master: nothing tagged keepalived left in its namespace.
    backup.child.signal("TERM").expect("SIGTERM");
    let status = backup.child.wait_timeout(Duration::from_secs(3));
    assert!(
        status.is_some_and(|s| s.success()),
        "ha2 did not exit 0: {status:?}\n{}",
        backup.log()
    );
    let left = all_our_routes(&ha2);
    assert!(left.is_empty(), "routes left behind: {left:?}");
    let rules = our_rules(&ha2);
    assert!(rules.is_empty(), "rules left behind: {rules:?}");
    assert!(holds_no_virtual(&ha2));
    let foreign = ha2.ip(["route", "show", "table", TABLE]).expect("ip route");
    assert!(foreign.contains("203.0.113.128/25"), "{foreign}");

    master.child.kill();
}

#[test]
fn dont_release_vrrp_keeps_routes_and_rules() {
    lab::require_root!();
    let lab = Lab::new("kvrv").expect("lab");
    let (ha1, _ha2) = veth_pair(&lab);
    let dir = TempDir::new("keep");
    let mut d = Daemon::start(&ha1, &dir.0, "ha1", &conf(150), &["-V"]);
    let elected = wait_until(BACKUP_MDI * 4, POLL, || holds_virtual(&ha1));
    assert!(elected.is_some(), "never master: {}", state(&ha1, &d));
    d.child.signal("TERM").expect("SIGTERM");
    let status = d.child.wait_timeout(Duration::from_secs(3));
    assert!(status.is_some_and(|s| s.success()), "{}", d.log());
    assert!(holds_virtual(&ha1), "released: {}", state(&ha1, &d));
    assert!(holds_static(&ha1), "statics released: {}", state(&ha1, &d));
}

#[test]
fn strict_config_refuses_to_start_on_unsupported_route_options() {
    let dir = TempDir::new("refuse");
    let (code, stderr) = run_to_exit(
        &dir.0,
        "mp.conf",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 3\n    \
         virtual_ipaddress {\n        192.0.2.100\n    }\n    virtual_routes {\n        \
         203.0.113.0/24 no_track nexthop via 192.0.2.251 dev eth0 nexthop via 192.0.2.252 dev eth0\n    \
         }\n    virtual_rules {\n        from 192.0.2.0/24 sport 80 table 100 priority 5\n    }\n}\n",
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("mp.conf:8:9: error: (VI_1) virtual_routes: route 203.0.113.0/24: a multipath route (nexthop) is not supported"),
        "{stderr}"
    );
    assert!(
        stderr
            .contains("mp.conf:11:9: error: (VI_1) virtual_rules: rule: `sport` is not supported"),
        "{stderr}"
    );
    assert!(stderr.contains("not starting"), "{stderr}");
}
