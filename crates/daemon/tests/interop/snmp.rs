//! KEEPALIVED-MIB over AgentX (issue 21), keepalived-rs against Debian's keepalived 2.2.7: each
//! runs the same configuration beside its own net-snmp `snmpd` (the AgentX master agent, in
//! the lab namespace), and `snmpwalk` of the whole KEEPALIVED-MIB subtree must give the same
//! objects with the same values, but for the version string and what keepalived-rs does not
//! serve yet (listed in [`NOT_SERVED`]: a keepalived object outside that list that ours lacks
//! fails the test). Needs root, snmpd and snmpwalk.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use lab::{Host, LabChild};

use crate::support::{Impl, Router, ours_bin, skip_reason_for, two_hosts};

const MIB: &str = ".1.3.6.1.4.1.9586.100.5";

/// keepalived's objects keepalived-rs does not serve yet, as OID prefixes below [`MIB`]: the
/// sync group and tracking tables, instance columns 6, 11, 16, 17 and 21 on, the address,
/// route, rule and script tables.
const NOT_SERVED: &[&str] = &[
    ".2.1.",
    ".2.2.",
    ".2.3.1.6.",
    ".2.3.1.11.",
    ".2.3.1.16.",
    ".2.3.1.17.",
    ".2.3.1.21.",
    ".2.3.1.22.",
    ".2.3.1.23.",
    ".2.3.1.24.",
    ".2.3.1.25.",
    ".2.3.1.26.",
    ".2.3.1.27.",
    ".2.3.1.28.",
    ".2.3.1.29.",
    ".2.3.1.30.",
    ".2.3.1.31.",
    ".2.3.1.32.",
    ".2.3.1.33.",
    ".2.3.1.34.",
    ".2.3.1.35.",
    ".2.3.1.36.",
    ".2.3.1.37.",
    ".2.4.",
    ".2.5.",
    ".2.6.",
    ".2.7.",
    ".2.8.",
    ".2.9.",
    ".2.10.",
    ".2.11.",
    ".2.12.",
    ".2.13.",
    ".2.14.",
    ".2.15.",
    ".2.16.",
    ".2.17.",
    ".2.18.",
    ".2.19.",
    ".2.20.",
    ".2.21.",
    ".2.22.",
];

fn conf(dir: &Path) -> String {
    format!(
        "global_defs {{
    router_id snmpdiff
    enable_snmp_vrrp
    snmp_socket unix:{}/agentx
}}
vrrp_sync_group G1 {{
    group {{
        VI_1
        VI_2
    }}
}}
vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    virtual_ipaddress {{
        192.0.2.100/32
    }}
}}
vrrp_instance VI_2 {{
    state BACKUP
    interface eth0
    virtual_router_id 52
    priority 120
    version 3
    advert_int 0.5
    garp_master_delay 3
    smtp_alert
    virtual_ipaddress {{
        192.0.2.101/32
    }}
}}
",
        dir.display()
    )
}

/// net-snmp's agent: the AgentX master on `dir/agentx`, SNMP on 127.0.0.1:1161 of `host`.
fn snmpd(host: &Host, dir: &Path) -> LabChild {
    let conf = dir.join("snmpd.conf");
    std::fs::write(
        &conf,
        format!(
            "master agentx\nagentXSocket {}/agentx\nagentaddress udp:127.0.0.1:1161\n\
             rocommunity public 127.0.0.1\n",
            dir.display()
        ),
    )
    .expect("snmpd.conf");
    let mut cmd = host.command("snmpd");
    cmd.args(["-f", "-Lf", "/dev/null", "-C", "-c"]).arg(&conf);
    LabChild::spawn(&mut cmd).expect("snmpd")
}

/// `snmpwalk` of KEEPALIVED-MIB: OID (below [`MIB`]) to `TYPE: VALUE`.
fn walk(host: &Host) -> BTreeMap<String, String> {
    let out = host
        .command("snmpwalk")
        .args([
            "-v2c",
            "-c",
            "public",
            "-On",
            "-t",
            "2",
            "127.0.0.1:1161",
            MIB,
        ])
        .output()
        .expect("snmpwalk");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (oid, value) = l.split_once(" = ")?;
            Some((oid.strip_prefix(MIB)?.to_owned(), value.trim().to_owned()))
        })
        .collect()
}

/// The walk once both instances are master (their state column says 2), or the last one.
fn walk_when_master(kind: Impl) -> BTreeMap<String, String> {
    let net = two_hosts(&format!("kasn{}", &kind.tag()[..1]));
    let host = &net.hosts[0];
    let dir = std::env::temp_dir().join(format!("ka-snmp-{}-{}", std::process::id(), kind.tag()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let _agent = snmpd(host, &dir);
    let _router = Router::start(kind, host, "snmp", &conf(&dir));
    let t0 = Instant::now();
    let mut last = BTreeMap::new();
    while t0.elapsed() < Duration::from_secs(20) {
        last = walk(host);
        let master = |i: u32| last.get(&format!(".2.3.1.4.{i}")).map(String::as_str);
        if master(1) == Some("INTEGER: 2") && master(2) == Some("INTEGER: 2") {
            // One more second: the values a transition sets settle.
            std::thread::sleep(Duration::from_secs(1));
            last = walk(host);
            break;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    let _ = std::fs::remove_dir_all(&dir);
    last
}

#[test]
fn the_keepalived_mib_walk_matches_keepalived() {
    if skip_reason_for(true, true).is_some() {
        return;
    }
    if !Path::new("/usr/sbin/snmpd").exists() || !Path::new("/usr/bin/snmpwalk").exists() {
        eprintln!("skipped: snmpd or snmpwalk missing");
        return;
    }
    let _ = ours_bin();
    let theirs = walk_when_master(Impl::Keepalived);
    let ours = walk_when_master(Impl::Ours);
    assert!(
        theirs.get(".2.3.1.2.2").map(String::as_str) == Some("STRING: \"VI_2\""),
        "keepalived's walk has no instance table: {theirs:#?}"
    );
    let version = ".1.1.0";
    assert!(
        ours.get(version)
            .is_some_and(|v| v.contains("keepalived-rs"))
    );
    let mut differ = Vec::new();
    for (oid, value) in &ours {
        if oid != version && theirs.get(oid) != Some(value) {
            differ.push(format!(
                "{oid}: ours {value}, keepalived {:?}",
                theirs.get(oid)
            ));
        }
    }
    for (oid, value) in &theirs {
        let skipped = NOT_SERVED.iter().any(|p| oid.starts_with(p));
        if !ours.contains_key(oid) && !skipped {
            differ.push(format!("{oid}: keepalived {value}, ours missing"));
        }
    }
    let served = ours.len();
    let skipped = theirs.keys().filter(|o| !ours.contains_key(*o)).count();
    eprintln!(
        "interop: case=snmp-walk ours={served} keepalived={} not-served={skipped}",
        theirs.len()
    );
    assert!(differ.is_empty(), "walks differ:\n{}", differ.join("\n"));
}
