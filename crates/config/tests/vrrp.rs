//! The VRRP part of the model: corpus files under tests/corpus/vrrp parsed into typed values
//! with keepalived's defaults, and the failing configurations under
//! tests/corpus/invalid/vrrp-*.conf reporting the errors their `# error: LINE: TEXT` headers
//! announce.

#![allow(
    clippy::disallowed_methods,
    reason = "lists and reads the corpus of invalid files"
)]

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use keepalived_config::model::common::IpPrefix;
use keepalived_config::model::vrrp::*;
use keepalived_config::{PreprocessOptions, Read, Severity, read_file, read_str};

fn corpus(dir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(dir)
}

fn opts() -> PreprocessOptions {
    PreprocessOptions {
        config_id: "main".into(),
        ..Default::default()
    }
}

/// Reads a valid corpus file and checks it has no errors.
fn valid(name: &str) -> Read {
    let read = read_file(&corpus("vrrp").join(name), &opts());
    let errors: Vec<String> = read
        .render_diagnostics()
        .into_iter()
        .zip(read.diagnostics.items())
        .filter(|(_, d)| d.severity >= Severity::Error)
        .map(|(r, _)| r)
        .collect();
    assert!(errors.is_empty(), "{name}:\n{}", errors.join("\n"));
    read
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

fn prefix(s: &str) -> IpPrefix {
    IpPrefix::parse(s).expect("test prefix")
}

fn inst<'a>(read: &'a Read, name: &str) -> &'a VrrpInstance {
    read.config
        .vrrp
        .instance(name)
        .unwrap_or_else(|| panic!("instance {name} missing"))
}

#[test]
fn basic_instance_values_and_defaults() {
    let read = valid("vrrp-basic.conf");
    let vrrp = &read.config.vrrp;
    assert_eq!(vrrp.instances.len(), 3);

    let web = inst(&read, "VI_WEB");
    assert_eq!(web.state, InitialState::Master);
    assert_eq!(web.interface.as_deref(), Some("eth0"));
    assert_eq!(web.virtual_router_id, 51);
    assert_eq!(web.priority, Some(150));
    assert_eq!(web.effective_priority(), 150);
    assert_eq!(web.advert_int, Duration::from_secs(2));
    assert_eq!(web.src_ip, Some(ip("192.0.2.1")));
    assert_eq!(
        web.authentication,
        Some(Authentication {
            auth_type: AuthType::Pass,
            pass: "s3cret".into()
        })
    );
    assert_eq!(web.track_interfaces.len(), 1);
    assert_eq!(
        (
            web.track_interfaces[0].name.as_str(),
            web.track_interfaces[0].weight
        ),
        ("eth1", Some(-10))
    );
    let scripts: Vec<(&str, Option<i32>, bool)> = web
        .track_scripts
        .iter()
        .map(|t| (t.name.as_str(), t.weight, t.reverse))
        .collect();
    assert_eq!(
        scripts,
        [("chk_web", None, false), ("chk_fail", Some(5), true)]
    );
    assert_eq!(web.virtual_ipaddresses.len(), 2);
    let vip = &web.virtual_ipaddresses[0];
    assert_eq!(vip.addr, prefix("192.0.2.100/24"));
    assert_eq!(vip.dev.as_deref(), Some("eth0"));
    assert_eq!(vip.label.as_deref(), Some("eth0:web"));
    assert_eq!(web.virtual_ipaddresses[1].addr, prefix("192.0.2.101/32"));
    let master = web.notify.master.as_ref().expect("notify_master");
    assert_eq!(master.argv, ["/bin/true", "master"]);
    assert_eq!(master.user.as_deref(), Some("root"));
    assert!(web.notify.backup.is_some() && web.notify.fault.is_some());
    assert!(web.notify.stop.is_some() && web.notify.any.is_some());
    assert_eq!(web.smtp_alert, Some(true));
    // Defaults.
    assert!(web.preempt);
    assert_eq!(web.preempt_delay, Duration::ZERO);
    assert_eq!(web.down_timer_adverts, 3);
    assert_eq!(web.unicast_ttl, 255);
    assert_eq!(web.version, None);
    assert_eq!(web.effective_version(None), VrrpVersion::V2);

    let db = inst(&read, "VI_DB");
    assert_eq!(db.state, InitialState::Backup);
    assert!(!db.preempt);
    assert_eq!(db.priority, Some(90));
    assert_eq!(db.advert_int, Duration::from_secs(1));

    let app = inst(&read, "VI_APP");
    assert!(app.preempt);
    assert_eq!(app.preempt_delay, Duration::from_millis(2500));
    assert_eq!(app.priority, None);
    assert_eq!(app.effective_priority(), 100);

    let chk = vrrp.script("chk_web").expect("chk_web");
    assert_eq!(chk.script.argv, ["/usr/bin/test", "-e", "/etc/hostname"]);
    assert_eq!(chk.interval, Duration::from_secs(2));
    assert_eq!(chk.timeout, Some(Duration::from_secs(5)));
    assert_eq!(
        (chk.weight, chk.reverse, chk.rise, chk.fall),
        (-20, false, 2, 3)
    );
    assert_eq!(chk.user.as_deref(), Some("root"));
    let fail = vrrp.script("chk_fail").expect("chk_fail");
    assert!(fail.init_fail);
    assert_eq!(
        (fail.interval, fail.weight, fail.rise, fail.fall),
        (Duration::from_secs(1), 0, 1, 1)
    );

    let sg = &vrrp.sync_groups[0];
    assert_eq!(sg.name, "SG_1");
    let members: Vec<&str> = sg.members.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(members, ["VI_DB", "VI_APP"]);
    assert_eq!(sg.notify.master.as_ref().map(|s| s.argv.len()), Some(3));
    assert_eq!(sg.smtp_alert, Some(false));
    assert_eq!(sg.notify_priority_changes, Some(true));
    assert!(!sg.tracking_weight);
    assert_eq!(
        vrrp.sync_group_of("VI_APP").map(|g| g.name.as_str()),
        Some("SG_1")
    );
    assert!(vrrp.sync_group_of("VI_WEB").is_none());
}

#[test]
fn unicast_and_ipv6_instances() {
    let read = valid("vrrp-unicast-v3.conf");
    let u = inst(&read, "VI_U");
    assert_eq!(u.version, Some(VrrpVersion::V3));
    assert_eq!(u.advert_int, Duration::from_millis(250));
    assert_eq!(u.src_ip, Some(ip("192.0.2.1")));
    assert!(u.is_unicast());
    assert_eq!(u.unicast_peers.len(), 2);
    assert_eq!(
        (u.unicast_peers[0].addr, u.unicast_peers[0].min_ttl),
        (ip("192.0.2.2"), None)
    );
    assert_eq!(
        (u.unicast_peers[1].min_ttl, u.unicast_peers[1].max_ttl),
        (Some(250), Some(255))
    );
    assert_eq!(u.unicast_ttl, 64);
    assert!(u.check_unicast_src && u.unicast_fault_no_peer);
    assert_eq!(u.old_unicast_checksum, Some(OldUnicastChecksum::Never));
    assert_eq!(u.accept, Some(true));

    let v6 = inst(&read, "VI_6");
    assert!(v6.is_ipv6() && v6.native_ipv6);
    assert_eq!(v6.effective_version(None), VrrpVersion::V3);
    assert_eq!(v6.accept, Some(false));
    let a = &v6.virtual_ipaddresses[0];
    assert_eq!(a.addr, prefix("2001:db8::60/64"));
    assert!(a.home && a.nodad && a.noprefixroute && a.autojoin && a.no_track);
    assert_eq!(a.preferred_lft, Some(PreferredLft::Forever));
    let b = &v6.virtual_ipaddresses[1];
    assert!(b.mngtmpaddr);
    assert_eq!(b.preferred_lft, Some(PreferredLft::Secs(0)));
    assert_eq!(v6.virtual_ipaddresses_excluded.len(), 2);
    let e = &v6.virtual_ipaddresses_excluded[0];
    assert_eq!(
        (e.broadcast, e.scope),
        (Some(Broadcast::Set), Some(Scope::Link))
    );
}

#[test]
fn routes_rules_and_static_entries() {
    let read = valid("vrrp-routes.conf");
    let vrrp = &read.config.vrrp;
    assert_eq!(vrrp.static_addresses.len(), 3);
    assert_eq!(
        vrrp.static_addresses[1].track_group.as_deref(),
        Some("TG_STATIC")
    );
    assert_eq!(vrrp.static_addresses[2].peer, Some(prefix("192.0.2.202")));
    assert_eq!(vrrp.static_routes.len(), 3);
    let r = &vrrp.static_routes[1];
    assert_eq!(
        (r.table, r.metric, r.scope),
        (Some(100), Some(5), Some(Scope::Link))
    );
    assert_eq!(
        r.metrics.mtu,
        Some(Metric {
            value: 1400,
            lock: true
        })
    );
    assert_eq!(r.metrics.advmss.map(|m| m.value), Some(1360));
    assert_eq!(r.metrics.initcwnd.map(|m| m.value), Some(10));
    assert_eq!(vrrp.static_routes[2].route_type, RouteType::Unreachable);
    assert_eq!(vrrp.static_rules.len(), 3);
    let rule = &vrrp.static_rules[0];
    assert_eq!(rule.from, Some(RuleAddr::Prefix(prefix("203.0.113.0/24"))));
    assert_eq!(
        (rule.action, rule.priority),
        (Some(RuleAction::Table(100)), Some(100))
    );
    assert_eq!(rule.iif.as_deref(), Some("eth0"));
    assert_eq!(vrrp.static_rules[1].action, Some(RuleAction::Table(254)));
    assert_eq!(vrrp.static_rules[2].from, Some(RuleAddr::All));
    assert_eq!(vrrp.static_rules[2].fwmark, Some((7, Some(0xff))));

    let i = inst(&read, "VI_R");
    assert!(i.promote_secondaries);
    let routes = &i.virtual_routes;
    assert_eq!(routes.len(), 6);
    assert_eq!(routes[0].src, Some(ip("192.0.2.70")));
    assert_eq!(routes[0].dst, prefix("203.0.113.0/25"));
    assert_eq!(routes[0].via, Some(ip("192.0.2.254")));
    assert_eq!(routes[0].dev.as_deref(), Some("eth0"));
    assert_eq!(routes[2].dst, prefix("0.0.0.0/0"));
    assert_eq!((routes[2].table, routes[2].metric), (Some(200), Some(10)));
    assert_eq!(
        (routes[3].route_type, routes[3].no_track),
        (RouteType::Blackhole, true)
    );
    assert_eq!(routes[4].protocol, Some(18));
    let nh = &routes[5].nexthops;
    assert_eq!(nh.len(), 2);
    assert_eq!(
        (nh[0].via, nh[0].weight),
        (Some(ip("192.0.2.251")), Some(1))
    );
    assert!(nh[1].onlink && nh[1].dev.as_deref() == Some("eth1"));
    let rules = &i.virtual_rules;
    assert_eq!(rules.len(), 3);
    assert_eq!(
        rules[0].from,
        Some(RuleAddr::Prefix(prefix("192.0.2.70/32")))
    );
    assert!(rules[1].no_track);
    assert_eq!((rules[2].tos, rules[2].priority), (Some(0x10), Some(202)));
}

#[test]
fn tracked_files_processes_and_sync_group_tracking() {
    let read = valid("vrrp-tracking.conf");
    let vrrp = &read.config.vrrp;
    let tf = &vrrp.track_files[0];
    assert_eq!(
        (tf.name.as_str(), tf.file.as_path()),
        ("TF_MAINT", Path::new("/run/keepalived-maint"))
    );
    assert_eq!((tf.weight, tf.reverse), (-5, true));
    assert_eq!(
        tf.init_file,
        Some(InitFile {
            value: 0,
            overwrite: true
        })
    );
    let plain = &vrrp.track_files[1];
    assert_eq!(
        (plain.weight, plain.init_file),
        (
            1,
            Some(InitFile {
                value: 0,
                overwrite: false
            })
        )
    );

    let p = &vrrp.track_processes[0];
    assert_eq!(
        (p.process.as_str(), p.params.as_slice()),
        ("sshd", &["-D".to_owned()][..])
    );
    assert_eq!(p.param_match, Some(ParamMatch::Partial));
    assert_eq!(
        (p.weight, p.reverse, p.quorum, p.quorum_max),
        (20, true, 1, Some(4))
    );
    assert_eq!(p.fork_delay, Duration::from_millis(200));
    assert_eq!(p.terminate_delay, Duration::from_millis(1500));
    assert!(p.full_command);
    let cron = &vrrp.track_processes[1];
    assert_eq!(
        (cron.weight, cron.quorum, cron.quorum_max, cron.full_command),
        (1, 1, None, false)
    );

    let t1 = inst(&read, "VI_T1");
    assert_eq!(t1.track_files[0].weight, Some(0));
    assert_eq!(t1.track_processes[0].name, "TP_CRON");
    assert_eq!(t1.track_bfds[0].name, "BFD_1");

    let sg = &vrrp.sync_groups[0];
    assert_eq!(sg.members.len(), 2);
    assert_eq!(sg.track_interfaces[0].weight, Some(10));
    assert_eq!(sg.track_scripts[0].weight, Some(5));
    let files: Vec<(&str, Option<i32>, bool)> = sg
        .track_files
        .iter()
        .map(|t| (t.name.as_str(), t.weight, t.reverse))
        .collect();
    assert_eq!(
        files,
        [("TF_PLAIN", None, false), ("TF_MAINT", Some(3), false)]
    );
    assert_eq!(sg.track_processes[0].weight, Some(-4));
    assert_eq!(sg.track_bfds[0].weight, Some(7));
    assert!(sg.tracking_weight);
}

#[test]
fn less_common_instance_settings() {
    let read = valid("vrrp-misc.conf");
    let v = inst(&read, "VI_VMAC");
    assert_eq!(
        v.use_vmac,
        Some(UseVmac {
            ifname: Some("vrrp.90".into()),
            mac: None
        })
    );
    assert!(v.vmac_xmit_base && v.use_vmac_addr && v.dont_track_primary && v.track_src_ip);
    assert_eq!(v.mcast_dst_ip, Some(ip("224.0.0.19")));
    assert_eq!(
        (v.skip_check_adv_addr, v.strict_mode),
        (Some(true), Some(false))
    );
    assert_eq!(v.debug, 2);
    assert_eq!(v.garp.master_delay, Some(Duration::from_secs(5)));
    assert_eq!(v.garp.master_repeat, Some(3));
    assert_eq!(v.garp.master_refresh, Some(Duration::from_secs(60)));
    assert_eq!(v.garp.master_refresh_repeat, Some(2));
    assert_eq!(v.garp.lower_prio_delay, Some(Duration::from_secs(4)));
    assert_eq!(v.garp.lower_prio_repeat, Some(2));
    assert_eq!(
        v.garp.extra_if,
        Some(GarpExtraIf {
            interval: Duration::from_secs(30),
            all: true
        })
    );
    assert_eq!(v.down_timer_adverts, 5);
    assert_eq!(
        (v.lower_prio_no_advert, v.higher_prio_send_advert),
        (Some(true), Some(true))
    );
    assert_eq!(v.kernel_rx_buf_size, Some(65536));
    assert!(
        v.notify_deleted
            .as_ref()
            .is_some_and(|d| d.script.is_some())
    );
    assert!(v.notify_master_rx_lower_pri.is_some());
    assert_eq!(
        (v.notify_priority_changes, v.smtp_alert),
        (Some(true), Some(false))
    );
    let vip = &v.virtual_ipaddresses[0];
    assert_eq!(vip.broadcast, Some(Broadcast::Addr(ip("192.0.2.255"))));
    assert_eq!(vip.scope, Some(Scope::Global));

    let i = inst(&read, "VI_IPVLAN");
    let ipvlan = i.use_ipvlan.as_ref().expect("use_ipvlan");
    assert_eq!(ipvlan.ifname.as_deref(), Some("ipvl91"));
    assert_eq!(ipvlan.addr, Some(prefix("198.51.100.91/24")));
    assert_eq!(ipvlan.mode, IpvlanMode::Private);
    assert_eq!(i.effective_priority(), 255);
}

#[test]
fn keepalived_2_4_keywords() {
    let read = valid("vrrp-2.4.conf");
    let h = inst(&read, "VI_HMAC");
    assert!(h.owner_ignore_adverts && h.timer_expired_backup && h.thread_timer_expired);
    assert!(h.v3_checksum_as_v2 && h.no_virtual_ipaddress);
    let hmac = h.auth_hmac.as_ref().expect("auth_hmac");
    assert_eq!(hmac.keys.len(), 2);
    assert_eq!(hmac.keys[0].secret, "first secret");
    assert_eq!(hmac.active_key, Some(2));
    assert_eq!(hmac.time_window, Some(Duration::from_secs(30)));
    assert!(hmac.anti_replay);
    assert_eq!(hmac.mode.as_deref(), Some("sha256"));
    let vrf = inst(&read, "VI_VRF");
    assert_eq!(
        (vrf.vrf.as_deref(), vrf.interface.as_deref()),
        (Some("eth1"), None)
    );
    assert_eq!(vrf.virtual_ipaddresses[1].use_vmac, Some(None));
}

/// Every `# error: LINE: TEXT` header of an invalid VRRP corpus file is matched by an error
/// diagnostic on that line containing TEXT.
#[test]
fn invalid_corpus_reports_announced_errors() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus("invalid"))
        .expect("invalid corpus")
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("vrrp-") && n.ends_with(".conf"))
        })
        .collect();
    files.sort();
    assert!(
        files.len() >= 8,
        "expected the vrrp invalid corpus, found {files:?}"
    );
    let mut problems = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read");
        let read = read_file(file, &opts());
        let mut announced = 0;
        for header in text.lines().filter_map(|l| l.strip_prefix("# error: ")) {
            announced += 1;
            let (line, want) = header.split_once(": ").expect("`# error: LINE: TEXT`");
            let line: u32 = line.parse().expect("line number");
            let found = read.diagnostics.items().iter().any(|d| {
                d.severity >= Severity::Error && d.loc.line == line && d.message.contains(want)
            });
            if !found {
                problems.push(format!(
                    "{}: no error on line {line} containing {want:?}; got:\n{}",
                    file.display(),
                    read.render_diagnostics().join("\n")
                ));
            }
        }
        assert!(announced > 0, "{} announces no errors", file.display());
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// Reads a configuration from text and returns it with its error messages.
fn read(text: &str) -> (Read, Vec<String>) {
    let read = read_str("t.conf", text, &opts());
    let errors = read
        .diagnostics
        .items()
        .iter()
        .filter(|d| d.severity >= Severity::Error)
        .map(|d| format!("{}: {}", d.loc.line, d.message))
        .collect();
    (read, errors)
}

#[test]
fn global_vrrp_version_applies_to_advert_int_checks() {
    let inst = "vrrp_instance V {\n interface eth0\n virtual_router_id 1\n advert_int 0.5\n virtual_ipaddress { 192.0.2.1 }\n}\n";
    let (_, errors) = read(inst);
    assert!(
        errors.iter().any(|e| e.contains("whole number of seconds")),
        "{errors:?}"
    );
    let (r, errors) = read(&format!("global_defs {{\n vrrp_version 3\n}}\n{inst}"));
    assert!(errors.is_empty(), "{errors:?}");
    let v = &r.config.vrrp.instances[0];
    assert_eq!(v.effective_version(Some(VrrpVersion::V3)), VrrpVersion::V3);
    assert_eq!(
        v.effective_advert_int(VrrpVersion::V3),
        Duration::from_millis(500)
    );
    assert_eq!(
        v.effective_advert_int(VrrpVersion::V2),
        Duration::from_secs(1)
    );
}

#[test]
fn state_master_without_priority_is_the_address_owner() {
    let (r, errors) = read(
        "vrrp_instance V {\n state MASTER\n interface eth0\n virtual_router_id 1\n virtual_ipaddress { 192.0.2.1 }\n}\n",
    );
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(r.config.vrrp.instances[0].effective_priority(), 255);
}

/// keepalived 2.2.7's `vrrp_complete_instance`: `state MASTER` below 255 with `auth_type AH` is
/// cleared to BACKUP; `state MASTER` clears `nopreempt` and `preempt_delay`; strict mode and
/// VRRPv3 refuse authentication. Each is reported as keepalived reports it (`-t` fails).
#[test]
fn state_master_and_authentication_are_checked_as_keepalived_does() {
    let conf = |body: &str| {
        format!(
            "vrrp_instance V {{\n interface eth0\n virtual_router_id 1\n{body}\n virtual_ipaddress {{ 192.0.2.1 }}\n}}\n"
        )
    };
    let ah = " authentication {\n  auth_type AH\n  auth_pass s3cret\n }\n";
    let (r, errors) = read(&conf(&format!(
        " state MASTER\n priority 90\n nopreempt\n{ah}"
    )));
    assert_eq!(
        errors,
        ["1: (V) Initial state master is incompatible with AH authentication - clearing"]
    );
    // Cleared to BACKUP first, so nopreempt stays (as in keepalived).
    assert!(!r.config.vrrp.instances[0].runs_state_master());
    // The owner keeps `state MASTER` with AH.
    let (r, errors) = read(&conf(&format!(" state MASTER\n{ah}")));
    assert!(errors.is_empty(), "{errors:?}");
    assert!(r.config.vrrp.instances[0].runs_state_master());

    let (r, errors) = read(&conf(
        " state MASTER\n priority 90\n nopreempt\n preempt_delay 5",
    ));
    assert_eq!(
        errors,
        [
            "1: (V) Warning - nopreempt will not work with initial state MASTER - clearing",
            "1: (V) Warning - preempt delay will not work with initial state MASTER - clearing",
        ]
    );
    assert!(r.config.vrrp.instances[0].runs_state_master());
    let (_, errors) = read(&conf(" state MASTER\n priority 90"));
    assert!(errors.is_empty(), "{errors:?}");

    let (_, errors) = read(&conf(&format!(" strict_mode on\n{ah}")));
    assert!(
        errors
            .iter()
            .any(|e| e.contains("Strict mode does not support authentication")),
        "{errors:?}"
    );
    let (_, errors) = read(&format!(
        "vrrp_instance V {{\n interface eth0\n virtual_router_id 1\n version 2\n native_ipv6\n{ah} virtual_ipaddress {{ 2001:db8::1 }}\n}}\n"
    ));
    // IPv6 runs VRRPv3, which refuses authentication before keepalived's IPv6 check.
    assert!(
        errors
            .iter()
            .any(|e| e.contains("VRRP version 3 does not support authentication")),
        "{errors:?}"
    );
}

#[test]
fn bad_entries_are_dropped_and_the_rest_kept() {
    let (r, errors) = read(
        "vrrp_instance V {\n interface eth0\n virtual_router_id 7\n virtual_ipaddress {\n  192.0.2.1\n  nonsense\n  192.0.2.2/24 dev eth0\n }\n\
         track_interface {\n  eth1 weight 999\n  eth1 weight 3\n }\n}\n",
    );
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].starts_with("6: ") && errors[0].contains("`nonsense` is not an IP address"));
    assert!(errors[1].starts_with("10: "));
    let v = &r.config.vrrp.instances[0];
    assert_eq!(v.virtual_ipaddresses.len(), 2);
    assert_eq!(v.track_interfaces.len(), 1);
    assert_eq!(v.track_interfaces[0].weight, Some(3));
}

#[test]
fn duplicate_vrids_are_allowed_across_families_interfaces_and_multicast_groups() {
    let (_, errors) = read(
        "vrrp_instance A {\n interface eth0\n virtual_router_id 9\n virtual_ipaddress { 192.0.2.1 }\n}\n\
         vrrp_instance B {\n interface eth0\n virtual_router_id 9\n virtual_ipaddress { 2001:db8::9 }\n}\n\
         vrrp_instance C {\n interface eth1\n virtual_router_id 9\n virtual_ipaddress { 198.51.100.9 }\n}\n\
         vrrp_instance D {\n interface eth0\n virtual_router_id 9\n mcast_dst_ip 224.0.0.20\n virtual_ipaddress { 192.0.2.9 }\n}\n",
    );
    assert!(errors.is_empty(), "{errors:?}");
}

#[test]
fn json_uses_seconds_and_names() {
    let r = valid("vrrp-basic.conf");
    let json = serde_json::to_value(&r.config.vrrp).expect("json");
    let web = &json["instances"][0];
    assert_eq!(web["state"], "MASTER");
    assert_eq!(web["advert_int"], 2.0);
    assert_eq!(web["virtual_ipaddresses"][0]["addr"], "192.0.2.100/24");
    assert_eq!(web["authentication"]["auth_type"], "PASS");
}

#[test]
fn arbitrary_words_never_panic() {
    let words = [
        "",
        "x",
        "-1",
        "0x",
        "999999999999999999999",
        "/",
        "1.2.3.4/99",
        "lock",
        "nexthop",
        "weight",
        "{",
        "}",
    ];
    let kws = [
        "virtual_ipaddress",
        "virtual_routes",
        "virtual_rules",
        "track_script",
        "unicast_peer",
        "authentication",
        "auth_hmac",
        "use_vmac",
        "use_ipvlan",
        "garp_extra_if",
    ];
    for kw in kws {
        for a in words {
            for b in words {
                let text = format!(
                    "vrrp_instance V {{\n {kw} {a} {b}\n {kw} {{\n  {a} {b} {a}\n }}\n}}\nstatic_routes {{ {a} {b} }}\n"
                );
                let _ = read_str("t.conf", &text, &opts());
            }
        }
    }
}

#[test]
fn unicast_addresses_with_a_prefix_are_read_as_keepalived_reads_them() {
    // keepalived's inet_stosockaddr ignores what follows `/` or `-`: a warning, not an error.
    let (r, errors) = read(
        "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n \
         unicast_src_ip 192.0.2.22/24\n unicast_peer {\n 192.0.2.21/24\n }\n \
         virtual_ipaddress {\n 192.0.2.10\n }\n}\n",
    );
    assert!(errors.is_empty(), "{errors:?}");
    let inst = &r.config.vrrp.instances[0];
    assert_eq!(inst.src_ip, Some("192.0.2.22".parse().unwrap()));
    assert_eq!(
        inst.unicast_peers[0].addr,
        "192.0.2.21".parse::<std::net::IpAddr>().unwrap()
    );
    assert!(
        r.diagnostics
            .items()
            .iter()
            .any(|d| d.loc.line == 6 && d.message.contains("`/24`"))
    );
}

#[test]
fn an_empty_unicast_peer_block_is_a_unicast_keyword_without_peers() {
    let text = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n unicast_peer {\n }\n \
                virtual_ipaddress {\n 192.0.2.10\n }\n}\n";
    let (_, errors) = read(text);
    assert!(
        errors
            .iter()
            .any(|e| e.contains("A unicast keyword has been specified without any unicast peers")),
        "{errors:?}"
    );
    // unicast_fault_no_peer: keepalived holds the instance in FAULT, no error.
    let (_, errors) =
        read(&text.replace(" unicast_peer {", " unicast_fault_no_peer\n unicast_peer {"));
    assert!(errors.is_empty(), "{errors:?}");
}
