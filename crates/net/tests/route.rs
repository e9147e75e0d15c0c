//! Routes and policy rules over rtnetlink against the real kernel, in a lab
//! namespace; what we add and remove is read back both with our own dumps
//! and with iproute2 (`ip -j route show table N`, `ip -j rule`). Needs root;
//! skips with a message otherwise.

mod common;

use std::net::IpAddr;

use common::in_netns;
use keepalived_net::{
    AddrScope, IpFamily, NetError, RTPROT_KEEPALIVED, RouteKind, RouteSpec, Rtnl, RuleAction,
    RuleSpec, ifindex,
};
use lab::{Host, Lab};
use serde_json::Value;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn errno(err: &NetError) -> Option<i32> {
    match err {
        NetError::Netlink { source, .. } => source.raw_os_error(),
        _ => None,
    }
}

/// A host `ha1` whose `eth0` (192.0.2.1/24, 2001:db8::1/64) is a veth to
/// `ha2`, with an rtnetlink socket and the index of `eth0` from inside it.
fn setup() -> (Lab, Host, Rtnl, u32) {
    let lab = Lab::new("karoute").unwrap();
    let ha1 = lab.host("ha1").unwrap();
    let ha2 = lab.host("ha2").unwrap();
    lab.veth(&ha1, "eth0", &ha2, "eth0").unwrap();
    ha1.add_addr("eth0", "192.0.2.1/24").unwrap();
    ha1.ip(["addr", "add", "2001:db8::1/64", "dev", "eth0", "nodad"])
        .unwrap();
    let (rtnl, idx) = in_netns(&ha1, || (Rtnl::open().unwrap(), ifindex("eth0").unwrap()));
    (lab, ha1, rtnl, idx)
}

/// `ip -j [-6] ARGS...` on `host`, parsed.
fn ip_json(host: &Host, v6: bool, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["-j"];
    if v6 {
        all.push("-6");
    }
    all.extend_from_slice(args);
    let out = host.ip(all).unwrap();
    let value: Value = serde_json::from_str(if out.trim().is_empty() { "[]" } else { &out })
        .unwrap_or_else(|e| panic!("{e}: {out}"));
    value.as_array().cloned().unwrap_or_default()
}

fn routes_in(host: &Host, v6: bool, table: &str) -> Vec<Value> {
    ip_json(host, v6, &["route", "show", "table", table])
}

/// The entry of `list` whose `key` is `value`.
fn find<'a>(list: &'a [Value], key: &str, value: &str) -> &'a Value {
    list.iter()
        .find(|r| r[key] == value)
        .unwrap_or_else(|| panic!("no {key}={value} in {list:?}"))
}

/// iproute2 names protocol 18 `keepalived` when its tables know it.
fn is_ours(v: &Value) -> bool {
    v["protocol"] == "keepalived" || v["protocol"] == "18"
}

#[test]
fn routes_add_list_and_delete() {
    lab::require_root!();
    let (_lab, ha1, mut rtnl, idx) = setup();
    let specs = [
        RouteSpec::new(ip("198.51.100.0"), 24)
            .via(ip("192.0.2.254"))
            .dev(idx)
            .in_table(100)
            .with_metric(5),
        RouteSpec::new(ip("203.0.113.0"), 25)
            .in_table(100)
            .with_kind(RouteKind::Blackhole),
        RouteSpec::new(ip("203.0.113.128"), 26)
            .in_table(100)
            .with_kind(RouteKind::Unreachable),
        RouteSpec::new(ip("203.0.113.192"), 26)
            .in_table(100)
            .with_kind(RouteKind::Prohibit),
        RouteSpec::new(ip("198.51.100.128"), 25)
            .dev(idx)
            .with_src(ip("192.0.2.1")),
        RouteSpec::new(ip("0.0.0.0"), 0)
            .via(ip("192.0.2.254"))
            .in_table(1000),
        RouteSpec::new(ip("2001:db8:1::"), 48)
            .via(ip("2001:db8::fe"))
            .dev(idx)
            .in_table(100),
        RouteSpec::new(ip("2001:db8:2::"), 48)
            .in_table(100)
            .with_kind(RouteKind::Unreachable),
    ];
    for spec in &specs {
        rtnl.add_route(spec)
            .unwrap_or_else(|e| panic!("{spec:?}: {e}"));
    }

    // What iproute2 sees.
    let t100 = routes_in(&ha1, false, "100");
    let r = find(&t100, "dst", "198.51.100.0/24");
    assert_eq!(r["gateway"], "192.0.2.254");
    assert_eq!(r["dev"], "eth0");
    assert_eq!(r["metric"], 5);
    assert!(is_ours(r), "{r}");
    assert_eq!(find(&t100, "dst", "203.0.113.0/25")["type"], "blackhole");
    assert_eq!(
        find(&t100, "dst", "203.0.113.128/26")["type"],
        "unreachable"
    );
    assert_eq!(find(&t100, "dst", "203.0.113.192/26")["type"], "prohibit");
    let main = routes_in(&ha1, false, "main");
    let r = find(&main, "dst", "198.51.100.128/25");
    assert_eq!(r["scope"], "link", "dev-only routes default to link scope");
    assert_eq!(r["prefsrc"], "192.0.2.1");
    assert!(is_ours(r), "{r}");
    let t1000 = routes_in(&ha1, false, "1000");
    assert_eq!(find(&t1000, "dst", "default")["gateway"], "192.0.2.254");
    let v6 = routes_in(&ha1, true, "100");
    assert_eq!(
        find(&v6, "dst", "2001:db8:1::/48")["gateway"],
        "2001:db8::fe"
    );
    assert_eq!(find(&v6, "dst", "2001:db8:2::/48")["type"], "unreachable");

    // What our dump sees: exactly these, by protocol tag.
    let ours: Vec<_> = rtnl
        .routes(None)
        .unwrap()
        .into_iter()
        .filter(|r| r.protocol == RTPROT_KEEPALIVED)
        .collect();
    assert_eq!(ours.len(), specs.len(), "{ours:#?}");
    let gw = ours.iter().find(|r| r.dst == ip("198.51.100.0")).unwrap();
    assert_eq!(gw.dst_len, 24);
    assert_eq!(gw.gateway, Some(ip("192.0.2.254")));
    assert_eq!(gw.oif, Some(idx));
    assert_eq!(gw.table, 100);
    assert_eq!(gw.metric, Some(5));
    assert_eq!(gw.kind, RouteKind::Unicast);
    let dev = ours.iter().find(|r| r.dst == ip("198.51.100.128")).unwrap();
    assert_eq!(dev.scope, AddrScope::Link);
    assert_eq!(dev.src, Some(ip("192.0.2.1")));
    assert_eq!(dev.table, 254);
    let v4only = rtnl.routes(Some(IpFamily::V4)).unwrap();
    assert!(v4only.iter().all(|r| r.dst.is_ipv4()));
    // The kernel's own routes are there too, untagged.
    assert!(
        v4only
            .iter()
            .any(|r| r.dst == ip("192.0.2.0") && r.protocol != RTPROT_KEEPALIVED)
    );

    // Adding one again is EEXIST.
    let again = rtnl.add_route(&specs[0]).unwrap_err();
    assert_eq!(errno(&again), Some(libc::EEXIST), "{again}");

    // Removing what the dump found (a crashed run's cleanup) leaves nothing.
    for r in &ours {
        rtnl.del_route(&r.to_spec())
            .unwrap_or_else(|e| panic!("{r:?}: {e}"));
    }
    assert!(routes_in(&ha1, false, "100").is_empty());
    assert!(routes_in(&ha1, true, "100").is_empty());
    assert!(routes_in(&ha1, false, "1000").is_empty());
    assert!(
        !routes_in(&ha1, false, "main")
            .iter()
            .any(|r| r["dst"] == "198.51.100.128/25")
    );
    // Deleting what is gone is ESRCH.
    let gone = rtnl.del_route(&specs[0]).unwrap_err();
    assert_eq!(errno(&gone), Some(libc::ESRCH), "{gone}");
}

#[test]
fn routes_of_others_are_not_ours_to_delete() {
    lab::require_root!();
    let (_lab, ha1, mut rtnl, idx) = setup();
    // An administrator's route, protocol boot.
    ha1.ip([
        "route",
        "add",
        "198.51.100.0/24",
        "via",
        "192.0.2.254",
        "table",
        "101",
    ])
    .unwrap();
    let ours = RouteSpec::new(ip("198.51.100.0"), 24)
        .via(ip("192.0.2.254"))
        .dev(idx)
        .in_table(101);
    let err = rtnl.del_route(&ours).unwrap_err();
    assert_eq!(errno(&err), Some(libc::ESRCH), "{err}");
    assert_eq!(routes_in(&ha1, false, "101").len(), 1);
    let listed = rtnl.routes(Some(IpFamily::V4)).unwrap();
    let theirs = listed.iter().find(|r| r.table == 101).unwrap();
    assert_ne!(theirs.protocol, RTPROT_KEEPALIVED);
    // With protocol 0 (any), it can be removed.
    rtnl.del_route(&ours.with_protocol(0)).unwrap();
    assert!(routes_in(&ha1, false, "101").is_empty());

    // Refused before the kernel; refused by the kernel.
    let bad = RouteSpec::new(ip("203.0.113.0"), 24)
        .dev(idx)
        .with_kind(RouteKind::Blackhole);
    assert!(matches!(
        rtnl.add_route(&bad),
        Err(NetError::InvalidArgument(_))
    ));
    let unreachable_gw = RouteSpec::new(ip("203.0.113.0"), 24).via(ip("198.51.100.1"));
    let err = rtnl.add_route(&unreachable_gw).unwrap_err();
    assert_eq!(errno(&err), Some(libc::ENETUNREACH), "{err}");
    assert!(rtnl.routes(None).is_ok(), "usable after an error");
}

#[test]
fn rules_add_list_and_delete() {
    lab::require_root!();
    let (_lab, ha1, mut rtnl, _idx) = setup();
    let specs = [
        RuleSpec::lookup(IpFamily::V4, 100)
            .from_prefix(ip("192.0.2.0"), 24)
            .with_priority(100),
        RuleSpec::lookup(IpFamily::V4, 1000)
            .to_prefix(ip("198.51.100.0"), 24)
            .with_fwmark(7, Some(0xff))
            .with_iif("eth0")
            .with_priority(101),
        RuleSpec::lookup(IpFamily::V4, 0)
            .with_action(RuleAction::Unreachable)
            .with_oif("eth0")
            .inverted()
            .with_priority(102),
        RuleSpec::lookup(IpFamily::V6, 0)
            .with_action(RuleAction::Prohibit)
            .from_prefix(ip("2001:db8::"), 32)
            .with_priority(103),
        RuleSpec::lookup(IpFamily::V6, 200)
            .to_prefix(ip("2001:db8:1::"), 48)
            .with_priority(104),
    ];
    for spec in &specs {
        rtnl.add_rule(spec)
            .unwrap_or_else(|e| panic!("{spec:?}: {e}"));
    }

    let v4 = ip_json(&ha1, false, &["rule"]);
    let by_prio = |list: &[Value], p: u64| -> Value {
        list.iter()
            .find(|r| r["priority"] == p)
            .cloned()
            .unwrap_or_else(|| panic!("no priority {p} in {list:?}"))
    };
    let r = by_prio(&v4, 100);
    assert_eq!(r["src"], "192.0.2.0");
    assert_eq!(r["srclen"], 24);
    assert_eq!(r["table"], "100");
    assert!(is_ours(&r), "{r}");
    let r = by_prio(&v4, 101);
    assert_eq!(r["dst"], "198.51.100.0");
    assert_eq!(r["dstlen"], 24);
    assert_eq!(r["fwmark"], "0x7");
    assert_eq!(r["fwmask"], "0xff");
    assert_eq!(r["iif"], "eth0");
    assert_eq!(r["table"], "1000");
    let r = by_prio(&v4, 102);
    assert_eq!(r["action"], "unreachable");
    assert_eq!(r["oif"], "eth0");
    assert!(r.get("not").is_some(), "{r}");
    let v6 = ip_json(&ha1, true, &["rule"]);
    let r = by_prio(&v6, 103);
    assert_eq!(r["action"], "prohibit");
    assert_eq!(r["src"], "2001:db8::");
    assert_eq!(r["srclen"], 32);
    assert_eq!(by_prio(&v6, 104)["table"], "200");

    // Our dump: exactly these by tag, each the spec we gave.
    let ours: Vec<_> = rtnl
        .rules(None)
        .unwrap()
        .into_iter()
        .filter(|r| r.protocol == RTPROT_KEEPALIVED)
        .collect();
    assert_eq!(ours.len(), specs.len(), "{ours:#?}");
    for spec in &specs {
        assert!(
            ours.iter().any(|r| r.to_spec() == *spec),
            "{spec:?} not in {ours:#?}"
        );
    }
    // The default rules (local, main, default) are listed, untagged.
    let v4_all = rtnl.rules(Some(IpFamily::V4)).unwrap();
    assert!(v4_all.iter().all(|r| r.family == IpFamily::V4));
    assert!(
        v4_all
            .iter()
            .any(|r| r.priority == 32766 && r.action == RuleAction::Table(254))
    );

    let again = rtnl.add_rule(&specs[0]).unwrap_err();
    assert_eq!(errno(&again), Some(libc::EEXIST), "{again}");

    for r in &ours {
        rtnl.del_rule(&r.to_spec())
            .unwrap_or_else(|e| panic!("{r:?}: {e}"));
    }
    let left = |v6| {
        ip_json(&ha1, v6, &["rule"])
            .iter()
            .filter(|r| (100..=104).contains(&r["priority"].as_u64().unwrap_or(0)))
            .count()
    };
    assert_eq!(left(false), 0);
    assert_eq!(left(true), 0);
    let gone = rtnl.del_rule(&specs[0]).unwrap_err();
    assert_eq!(errno(&gone), Some(libc::ENOENT), "{gone}");
    assert!(matches!(
        rtnl.add_rule(&RuleSpec::lookup(IpFamily::V4, 100).from_prefix(ip("2001:db8::"), 32)),
        Err(NetError::InvalidArgument(_))
    ));
}
