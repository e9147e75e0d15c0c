//! The global part of the model: `global_defs`, the top-level daemon settings, track groups,
//! garp groups, linkbeat interfaces, interface delays and BFD instances, read from the corpus
//! files in tests/corpus/global and tests/corpus/invalid/global-*.conf.

mod fake_host;

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use keepalived_config::model::global::*;
use keepalived_config::{PreprocessOptions, Read, read_file, read_str};

fn read(name: &str) -> Read {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(name);
    read_file(
        &path,
        &PreprocessOptions {
            config_id: "main".into(),
            ..Default::default()
        },
    )
}

fn valid(name: &str) -> Read {
    let r = read(name);
    assert!(
        !r.diagnostics.has_errors(),
        "{name}:\n{}",
        r.render_diagnostics().join("\n")
    );
    r
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

fn secs(v: u64) -> Duration {
    Duration::from_secs(v)
}

/// Asserts that an error containing `msg` was reported on `line`.
fn has_error(r: &Read, line: u32, msg: &str) {
    let found = r.diagnostics.items().iter().any(|d| {
        d.severity >= keepalived_config::Severity::Error
            && d.loc.line == line
            && d.message.contains(msg)
    });
    assert!(
        found,
        "no error `{msg}` on line {line}; got:\n{}",
        r.render_diagnostics().join("\n")
    );
}

#[test]
fn defaults_are_keepalived_defaults() {
    let r = read_str(
        "d.conf",
        "global_defs {\n}\n",
        &PreprocessOptions::default(),
    );
    assert!(!r.diagnostics.has_errors());
    let g = &r.config.global;
    let d = &g.defs;
    assert_eq!(g.child_wait_time, secs(5));
    assert!(!g.use_pid_dir);
    assert_eq!(d.router_id, None);
    assert_eq!(d.smtp_connect_timeout, secs(30));
    assert_eq!(d.smtp_server, None);
    assert_eq!(d.vrrp_mcast_group4, ip("224.0.0.18"));
    assert_eq!(d.vrrp_mcast_group6, ip("ff02::12"));
    assert_eq!(d.vrrp_garp_master_delay, secs(5));
    assert_eq!(d.vrrp_garp_master_repeat, 5);
    assert_eq!(d.vrrp_garp_master_refresh, None);
    assert_eq!(d.vrrp_garp_master_refresh_repeat, 1);
    assert_eq!(d.vrrp_garp_lower_prio_delay, secs(5));
    assert_eq!(d.vrrp_garp_lower_prio_repeat, 5);
    assert_eq!(d.vrrp_garp_interval, Duration::ZERO);
    assert_eq!(d.vrrp_down_timer_adverts, 3);
    assert_eq!(d.vrrp_version, 2);
    assert!(!d.vrrp_strict);
    assert_eq!(d.default_interface, "eth0");
    assert_eq!(d.lvs_flush_on_stop, LvsFlushOnStop::Disabled);
    assert_eq!(d.lvs_timeouts, LvsTimeouts::default());
    assert_eq!(d.startup_script_timeout, secs(10));
    assert_eq!(d.min_auto_priority_delay, secs(1));
    assert_eq!(d.vrrp_process, ProcessSettings::default());
    assert_eq!(d.vrrp_process.rlimit_rttime, 10_000);
    assert_eq!(d.vrrp_rx_bufs_policy, RxBufsPolicy::System);
    assert_eq!(d.vrrp_rx_bufs_multiplier, 3);
    assert_eq!(
        (d.vmac_prefix.as_str(), d.vmac_addr_prefix.as_str()),
        ("vrrp", "vrrp")
    );
    assert_eq!(d.nftables_priority, -1);
    assert_eq!(d.nftables_ipvs_start_fwmark, 1000);
    assert_eq!(d.snmp.vs_stats_update_interval, secs(5));
    assert_eq!(d.dbus.service_name, "org.keepalived.Vrrp1");
    assert_eq!(d.dbus.no_interface_name, "none");
    assert_eq!(d.umask, Umask(0o177));
    assert_eq!(d.json_version, JsonVersion::V1);
    assert!(!d.enable_script_security);
    // No block at all gives the same defaults.
    let empty = read_str("e.conf", "", &PreprocessOptions::default());
    assert_eq!(empty.config.global, r.config.global);
}

#[test]
fn json_has_every_default_filled_in() {
    let r = read_str("d.conf", "", &PreprocessOptions::default());
    let v = serde_json::to_value(&r.config.global).expect("json");
    let d = &v["defs"];
    assert_eq!(d["smtp_connect_timeout"], 30.0);
    assert_eq!(d["vrrp_mcast_group4"], "224.0.0.18");
    assert_eq!(d["vrrp_mcast_group6"], "ff02::12");
    assert_eq!(d["vrrp_garp_master_delay"], 5.0);
    assert_eq!(d["vrrp_garp_master_refresh"], serde_json::Value::Null);
    assert_eq!(d["umask"], "0177");
    assert_eq!(d["json_version"], 1);
    assert_eq!(d["lvs_flush_on_stop"], "disabled");
    assert_eq!(d["vrrp_rx_bufs_policy"], "system");
    assert_eq!(d["vrrp_process"]["rlimit_rttime"], 10_000);
    assert_eq!(d["snmp"]["rs_stats_update_interval"], 5.0);
    assert_eq!(v["child_wait_time"], 5.0);
    assert!(d.get("explicit").is_none());
}

#[test]
fn global_defs_values() {
    let r = valid("global/global-defs.conf");
    let d = &r.config.global.defs;
    assert_eq!(d.process_name.as_deref(), Some("ka_parent"));
    assert_eq!(d.vrrp_process_name.as_deref(), Some("ka_vrrp"));
    assert_eq!(d.checker_process_name.as_deref(), Some("ka_checker"));
    assert_eq!(d.bfd_process_name.as_deref(), Some("ka_bfd"));
    assert_eq!(d.router_id.as_deref(), Some("lb1"));
    assert_eq!(
        d.notification_email,
        [
            "admin@example.com",
            "Ops Team <ops@example.com>",
            "noc@example.com"
        ]
    );
    assert_eq!(
        d.notification_email_from.as_deref(),
        Some("keepalived@example.com")
    );
    let smtp = d.smtp_server.as_ref().expect("smtp_server");
    assert_eq!((smtp.host.as_str(), smtp.port), ("192.0.2.25", 2525));
    assert_eq!(smtp.loc.line, 15);
    assert_eq!(d.smtp_helo_name.as_deref(), Some("lb1.example.com"));
    assert_eq!(d.smtp_connect_timeout, secs(12));
    assert_eq!(
        (d.smtp_alert, d.smtp_alert_vrrp, d.smtp_alert_checker),
        (Some(true), Some(false), Some(true))
    );
    assert!(d.checker_log_all_failures && d.no_email_faults && d.no_checker_emails);
    assert!(d.enable_script_security);
    assert_eq!(d.script_user, Some(("root".to_owned(), None)));
    let start = d.startup_script.as_ref().expect("startup_script");
    assert_eq!(start.argv, ["/bin/true", "start"]);
    assert_eq!(start.user.as_deref(), Some("root"));
    assert_eq!(d.startup_script_timeout, secs(20));
    assert_eq!(
        d.shutdown_script.as_ref().map(|s| s.command.as_str()),
        Some("/bin/true")
    );
    assert_eq!(d.shutdown_script_timeout, secs(30));
    assert_eq!(d.max_auto_priority, 50);
    assert_eq!(d.min_auto_priority_delay, ms(500));
    assert_eq!(d.dynamic_interfaces, DynamicInterfaces::Enabled);
    assert_eq!(d.default_interface, "eth1");
    assert_eq!(
        d.lvs_timeouts,
        LvsTimeouts {
            tcp: Some(secs(7200)),
            tcpfin: Some(secs(120)),
            udp: Some(secs(300))
        }
    );
    assert!(d.lvs_flush);
    assert_eq!(d.lvs_flush_on_stop, LvsFlushOnStop::Vs);
    let sd = d.lvs_sync_daemon.as_ref().expect("lvs_sync_daemon");
    assert_eq!(sd.interface, "eth0");
    assert_eq!(sd.instance.as_deref(), Some("VI_1"));
    assert_eq!(
        (sd.syncid, sd.maxlen, sd.port, sd.ttl),
        (Some(10), Some(1400), 8849, 2)
    );
    assert_eq!(sd.group, ip("239.0.0.81"));
    assert_eq!(d.vrrp_mcast_group4, ip("224.0.0.19"));
    assert_eq!(d.vrrp_mcast_group6, ip("ff02::13"));
    assert_eq!(d.vrrp_garp_master_delay, secs(10));
    assert_eq!(d.vrrp_garp_master_repeat, 3);
    assert_eq!(d.vrrp_garp_master_refresh, Some(secs(60)));
    assert_eq!(d.vrrp_garp_master_refresh_repeat, 2);
    // The lower-priority values follow the master values when not given.
    assert_eq!(d.vrrp_garp_lower_prio_delay, secs(10));
    assert_eq!(d.vrrp_garp_lower_prio_repeat, 3);
    assert_eq!(d.vrrp_garp_interval, ms(1));
    assert_eq!(d.vrrp_gna_interval, Duration::from_micros(2));
    assert_eq!(
        d.vrrp_garp_extra_if,
        Some(GarpExtraIf {
            interval: secs(100),
            all: true
        })
    );
    assert_eq!(d.vrrp_down_timer_adverts, 4);
    assert!(d.vrrp_lower_prio_no_advert && !d.vrrp_higher_prio_send_advert);
    assert_eq!(d.vrrp_version, 3);
    assert!(
        d.vrrp_check_unicast_src
            && d.vrrp_skip_check_adv_addr
            && d.vrrp_strict
            && d.vrrp_notify_priority_changes
    );
    assert_eq!(d.nftables.as_deref(), Some("kad"));
    assert_eq!(d.nftables_priority, -5);
    assert!(d.nftables_ifindex && d.nftables_counters);
    assert_eq!(d.nftables_ipvs.as_deref(), Some("kad_ipvs"));
    assert_eq!(
        (d.nftables_ipvs_priority, d.nftables_ipvs_start_fwmark),
        (3, 2000)
    );
    assert_eq!(
        d.vrrp_process,
        ProcessSettings {
            priority: -10,
            no_swap: true,
            rt_priority: Some(20),
            cpu_affinity: vec![0],
            rlimit_rttime: 20_000
        }
    );
    assert_eq!(
        d.checker_process,
        ProcessSettings {
            priority: 5,
            no_swap: true,
            rt_priority: Some(30),
            cpu_affinity: vec![0],
            rlimit_rttime: 30_000
        }
    );
    assert_eq!(
        d.bfd_process,
        ProcessSettings {
            priority: -3,
            no_swap: true,
            rt_priority: Some(40),
            cpu_affinity: vec![0],
            rlimit_rttime: 40_000
        }
    );
    assert_eq!(d.notify_fifo.path.as_deref(), Some("/tmp/ka_notify.fifo"));
    assert_eq!(d.notify_fifo.user.as_deref(), Some("root"));
    assert_eq!(
        d.notify_fifo.script.as_ref().map(|s| s.command.as_str()),
        Some("/bin/true")
    );
    assert_eq!(
        d.vrrp_notify_fifo.path.as_deref(),
        Some("/tmp/ka_vrrp.fifo")
    );
    assert_eq!(
        d.vrrp_notify_fifo.script.as_ref().map(|s| s.argv.len()),
        Some(2)
    );
    assert_eq!(
        (
            d.lvs_notify_fifo.user.as_deref(),
            d.lvs_notify_fifo.group.as_deref()
        ),
        (Some("root"), Some("root"))
    );
    assert!(d.lvs_notify_fifo.script.is_some());
    assert!(d.fifo_write_vrrp_states_on_reload);
    assert_eq!(d.snmp.socket.as_deref(), Some("udp:192.0.2.1:705"));
    assert!(d.snmp.traps && d.snmp.vrrp && d.snmp.checker && d.snmp.rfcv2 && d.snmp.rfcv3);
    assert!(d.dbus.enabled);
    assert_eq!(d.dbus.service_name, "org.keepalived.Vrrp2");
    assert_eq!(
        d.vrrp_netlink_cmd_rcv_bufs,
        NetlinkBufs {
            size: Some(1_048_576),
            force: true
        }
    );
    assert_eq!(
        d.vrrp_netlink_monitor_rcv_bufs,
        NetlinkBufs {
            size: Some(2_097_152),
            force: true
        }
    );
    assert_eq!(
        d.process_monitor_rcv_bufs,
        NetlinkBufs {
            size: Some(500_000),
            force: false
        }
    );
    assert_eq!(
        d.lvs_netlink_cmd_rcv_bufs,
        NetlinkBufs {
            size: Some(1_048_576),
            force: true
        }
    );
    assert_eq!(
        d.lvs_netlink_monitor_rcv_bufs,
        NetlinkBufs {
            size: Some(1_048_576),
            force: true
        }
    );
    assert!(d.rs_init_notifies);
    assert_eq!(d.vrrp_rx_bufs_policy, RxBufsPolicy::Mtu);
    assert_eq!(d.vrrp_rx_bufs_multiplier, 4);
    assert_eq!(d.vrrp_startup_delay, ms(5500));
    assert!(d.log_unknown_vrids);
    assert_eq!(
        (d.vmac_prefix.as_str(), d.vmac_addr_prefix.as_str()),
        ("vm", "vm")
    );
    assert_eq!(d.umask, Umask(0o177));
    assert_eq!(d.random_seed, Some(42));
    assert_eq!(d.reload_check_config.as_deref(), Some("/tmp/ka_check.log"));
    assert_eq!(d.reload_time_file.as_deref(), Some("/tmp/ka_reload_time"));
    assert!(d.reload_repeat);
    assert_eq!(
        d.reload_file,
        Some(ReloadFile::Path("/tmp/ka.reload".into()))
    );
    assert_eq!(
        d.include_check,
        Some(IncludeCheck {
            readable: true,
            matched: true,
            wildcard_match: true,
            brace_match: true
        })
    );
    assert_eq!(d.config_save_dir.as_deref(), Some("/tmp/ka_saved"));
    assert_eq!(d.tmp_config_directory.as_deref(), Some("/tmp"));
    assert!(d.data_use_instance);
}

#[test]
fn old_spellings_and_min_garp() {
    let r = valid("global/global-defs-aliases.conf");
    let d = &r.config.global.defs;
    assert_eq!(d.checker_process_name.as_deref(), Some("ka_lvs"));
    assert_eq!(d.lvs_flush_on_stop, LvsFlushOnStop::Full);
    assert_eq!(d.vrrp_process.rlimit_rttime, 5000);
    assert_eq!(
        d.checker_process.rlimit_rttime, 2,
        "1 is raised to 2 as keepalived does"
    );
    assert_eq!(d.bfd_process.rlimit_rttime, 7000);
    assert!(d.snmp.vrrp && d.snmp.rfcv2 && d.snmp.rfcv3 && !d.snmp.checker);
    // vrrp_min_garp: one GARP, no second burst, no refresh repeat.
    assert!(d.vrrp_min_garp);
    assert_eq!(d.vrrp_garp_master_repeat, 1);
    assert_eq!(d.vrrp_garp_master_delay, Duration::ZERO);
    assert_eq!(d.vrrp_garp_master_refresh_repeat, 0);
    assert_eq!(d.vrrp_garp_lower_prio_delay, secs(7));
    assert_eq!(d.vrrp_garp_lower_prio_repeat, 0);
    assert!(d.disable_local_igmp);
    assert_eq!(
        (d.vmac_prefix.as_str(), d.vmac_addr_prefix.as_str()),
        ("vm", "va")
    );
    assert_eq!(d.dynamic_interfaces, DynamicInterfaces::AllowIfChanges);
    assert_eq!(d.max_auto_priority, 99);
    assert_eq!(d.vrrp_rx_bufs_policy, RxBufsPolicy::Size(65_536));
    assert_eq!(d.umask, Umask(0o027));
    assert_eq!(d.reload_check_config.as_deref(), Some("/dev/null"));
    assert_eq!(d.reload_file, Some(ReloadFile::Default));
    assert_eq!(
        d.include_check,
        Some(IncludeCheck {
            readable: true,
            matched: true,
            wildcard_match: false,
            brace_match: false
        })
    );
    assert_eq!(
        d.vrrp_garp_extra_if,
        Some(GarpExtraIf {
            interval: secs(30),
            all: false
        })
    );
    // Deprecated spellings are warned about.
    let warned = |kw: &str| {
        r.diagnostics
            .items()
            .iter()
            .any(|d| d.message.contains(kw) && d.message.contains("deprecated"))
    };
    assert!(warned("lvs_process_name") && warned("vrrp_rlimit_rtime"));
}

#[test]
fn keepalived_2_4_keywords() {
    let r = valid("global/global-defs-2.4.conf");
    let d = &r.config.global.defs;
    assert!(d.use_symlink_paths && d.set_supplementary_groups && d.v3_checksum_as_v2);
    assert_eq!(
        d.vrrp_iptables,
        Some(IptablesChains {
            in_chain: "ka_in".into(),
            out_chain: Some("ka_out".into())
        })
    );
    assert_eq!(
        d.vrrp_ipsets,
        Some(VrrpIpsets::Sets {
            address: "ka".into(),
            address6: "ka6".into(),
            address_iface6: "ka_if6".into(),
            igmp: "ka_igmp".into(),
            mld: "ka_mld".into(),
            vmac_nd: None,
        })
    );
    assert_eq!(d.snmp.vs_stats_update_interval, ms(500));
    assert_eq!(d.snmp.rs_stats_update_interval, secs(10));
    assert_eq!(d.dbus.no_interface_name, "nil");
    assert_eq!(d.vrrp_delay_after_boot, ms(15_230));
    assert!(d.vrrp_owner_ignore_adverts);
    assert_eq!(d.json_version, JsonVersion::V2);
    assert_eq!(d.iproute_usr_dir.as_deref(), Some("/usr/lib/iproute2"));
    assert_eq!(d.iproute_etc_dir.as_deref(), Some("/etc/iproute2"));
    assert_eq!(d.state_dump_file.as_deref(), Some("/tmp/ka/"));
    assert_eq!(d.stats_dump_file.as_deref(), Some("/tmp/ka/stats"));
    assert_eq!(d.json_dump_file.as_deref(), Some("/tmp/ka/ka.json"));
    assert_eq!(
        d.include_check,
        Some(IncludeCheck {
            readable: true,
            matched: false,
            wildcard_match: false,
            brace_match: true
        })
    );
    assert_eq!(d.umask, Umask(0o077));
}

#[test]
fn top_level_settings_and_blocks() {
    let r = valid("global/global-top.conf");
    let g = &r.config.global;
    assert!(g.linkbeat_use_polling && g.namespace_with_ipsets && g.use_pid_dir);
    assert_eq!(g.net_namespace.as_deref(), Some("ka_ns"));
    assert_eq!(g.net_namespace_ipvs.as_deref(), Some(""));
    assert_eq!(g.instance.as_deref(), Some("lb1"));
    assert_eq!(g.child_wait_time, secs(7));

    let tg = g.track_group("TG1").expect("track_group");
    assert_eq!(tg.instances, ["VI_1", "VI_2"]);
    assert_eq!(tg.loc.line, 11);

    assert_eq!(g.garp_groups.len(), 2);
    let g1 = &g.garp_groups[0];
    assert_eq!(
        (g1.garp_interval, g1.gna_interval),
        (Some(ms(1)), Some(ms(2)))
    );
    assert_eq!(
        g1.interfaces
            .iter()
            .map(|i| i.name.as_str())
            .collect::<Vec<_>>(),
        ["eth0"]
    );
    assert!(!g1.aggregate);
    let g2 = &g.garp_groups[1];
    assert_eq!((g2.garp_interval, g2.gna_interval), (Some(ms(500)), None));
    assert_eq!(g2.interfaces[0].name, "eth1");
    assert!(g2.aggregate);

    let lb: Vec<_> = g
        .linkbeat_interfaces
        .iter()
        .map(|l| (l.interface.as_str(), l.kind))
        .collect();
    assert_eq!(
        lb,
        [
            ("eth0", LinkbeatType::Auto),
            ("eth1", LinkbeatType::Ethtool)
        ]
    );

    let delays: Vec<_> = g
        .interface_up_down_delays
        .iter()
        .map(|d| (d.interface.as_str(), d.down, d.up))
        .collect();
    assert_eq!(
        delays,
        [
            ("eth0", secs(2), ms(1500)),
            ("eth1", ms(500), Duration::ZERO)
        ]
    );

    let b1 = g.bfd_instance("b1").expect("b1");
    assert_eq!(b1.neighbor_ip, ip("192.0.2.2"));
    assert_eq!(b1.source_ip, Some(ip("192.0.2.1")));
    assert_eq!(
        (b1.min_rx, b1.min_tx, b1.idle_tx),
        (ms(20), Duration::from_micros(30_500), ms(2000))
    );
    assert_eq!(
        (b1.multiplier, b1.passive, b1.ttl, b1.max_hops),
        (3, true, 200, 5)
    );
    assert_eq!((b1.weight, b1.weight_reverse), (10, true));
    assert_eq!((b1.notify_vrrp, b1.notify_checker), (true, false));
    let b2 = g.bfd_instance("b2").expect("b2");
    assert_eq!(b2.neighbor_ip, ip("2001:db8::2"));
    assert_eq!((b2.ttl, b2.max_hops, b2.multiplier), (10, 0, 5));
    assert_eq!(
        (b2.min_rx, b2.min_tx, b2.idle_tx),
        (ms(10), ms(10), ms(1000))
    );
    assert_eq!((b2.notify_vrrp, b2.notify_checker), (false, true));

    let mh = valid("global/global-bfd-2.4.conf");
    let mh = mh.config.global.bfd_instance("mh").expect("mh");
    assert!(mh.multihop);
    assert_eq!((mh.ttl, mh.max_hops), (255, 255));
    assert!(mh.notify_vrrp && mh.notify_checker);
}

#[test]
fn bfd_default_ttl_follows_the_family() {
    let text = "bfd_instance a {\n neighbor_ip 192.0.2.9\n}\nbfd_instance b {\n neighbor_ip 2001:db8::9\n}\n";
    let r = read_str("b.conf", text, &PreprocessOptions::default());
    assert!(!r.diagnostics.has_errors(), "{:?}", r.render_diagnostics());
    let ttls: Vec<_> = r
        .config
        .global
        .bfd_instances
        .iter()
        .map(|b| b.ttl)
        .collect();
    assert_eq!(ttls, [255, 64]);
}

#[test]
fn misspelled_keyword_suggests_the_right_one() {
    let r = read("invalid/global-typo.conf");
    has_error(
        &r,
        4,
        "unknown keyword `smtp_conect_timeout` in global_defs; did you mean `smtp_connect_timeout`?",
    );
    assert_eq!(r.diagnostics.error_count(), 1);
    // The rest of the block is still read.
    assert_eq!(r.config.global.defs.router_id.as_deref(), Some("lb1"));
}

#[test]
fn out_of_range_values_are_located_and_dropped() {
    let r = read("invalid/global-range.conf");
    has_error(&r, 3, "`vrrp_version` must be between 2 and 3, got 4");
    has_error(&r, 4, "`vrrp_priority` must be between -20 and 19, got 25");
    has_error(
        &r,
        5,
        "`startup_script_timeout` must be between 1 and 1000, got 0",
    );
    has_error(
        &r,
        6,
        "`vrrp_down_timer_adverts` must be between 1 and 100, got 101",
    );
    has_error(
        &r,
        7,
        "`smtp_connect_timeout` must be greater than 0; using 1",
    );
    has_error(
        &r,
        8,
        "`vrrp_garp_master_repeat` must be greater than 0; using 1",
    );
    has_error(
        &r,
        9,
        "`lvs_timeouts tcp` must be between 0 and 2678400, got 99999999",
    );
    has_error(
        &r,
        10,
        "`max_auto_priority` must be between -1 and 99, got 100",
    );
    has_error(
        &r,
        12,
        "`child_wait_time` must be between 0 and 4294967295, got -1",
    );
    let d = &r.config.global.defs;
    assert_eq!(d.vrrp_version, 2);
    assert_eq!(d.vrrp_process.priority, 0);
    assert_eq!(d.vrrp_down_timer_adverts, 3);
    assert_eq!(d.smtp_connect_timeout, secs(1));
    assert_eq!(d.vrrp_garp_master_repeat, 1);
    assert_eq!(d.lvs_timeouts.tcp, None);
}

#[test]
fn bad_addresses_are_located() {
    let r = read("invalid/global-address.conf");
    has_error(
        &r,
        3,
        "`vrrp_mcast_group4`: 192.0.2.1 is not a multicast address",
    );
    has_error(
        &r,
        4,
        "`vrrp_mcast_group6`: 224.0.0.18 is not an IPv6 address",
    );
    has_error(
        &r,
        5,
        "`vrrp_mcast_group4`: ff02::12 is not an IPv4 address",
    );
    has_error(
        &r,
        6,
        "`lvs_sync_daemon group`: `192.0.2.300` is not an IP address",
    );
    has_error(&r, 7, "invalid `smtp_server` `bad..name`");
    let d = &r.config.global.defs;
    assert_eq!(d.vrrp_mcast_group4, ip("224.0.0.18"));
    assert_eq!(d.vrrp_mcast_group6, ip("ff02::12"));
    assert_eq!(
        d.lvs_sync_daemon.as_ref().map(|s| s.group),
        Some(ip("224.0.0.81"))
    );
    assert_eq!(d.smtp_server, None);
}

#[test]
fn bad_bfd_instances_are_dropped() {
    let r = read("invalid/global-bfd.conf");
    has_error(&r, 2, "BFD instance `nonbr` has no `neighbor_ip`");
    has_error(
        &r,
        7,
        "source 2001:db8::1 and neighbor 192.0.2.2 are not of the same family",
    );
    has_error(&r, 11, "`multiplier` must be between 1 and 255, got 0");
    has_error(
        &r,
        9,
        "BFD instance `b1`: max_hops exceeds ttl/hoplimit; using 5",
    );
    has_error(&r, 15, "BFD instance `b1` already defined");
    has_error(
        &r,
        18,
        "BFD instance `b3` duplicates the neighbor/source address",
    );
    let names: Vec<_> = r
        .config
        .global
        .bfd_instances
        .iter()
        .map(|b| b.name.as_str())
        .collect();
    assert_eq!(names, ["b1"]);
    assert_eq!(r.config.global.bfd_instances[0].max_hops, 5);
}

#[test]
fn bad_blocks_are_located() {
    let r = read("invalid/global-blocks.conf");
    has_error(
        &r,
        2,
        "garp_group has no `garp_interval` or `gna_interval`; removed",
    );
    has_error(&r, 5, "track_group `TG1` has no members; removed");
    has_error(
        &r,
        8,
        "`linkbeat_interfaces`: unknown value `FOO` (expected one of: MII, ETHTOOL, IOCTL)",
    );
    has_error(&r, 11, "must be between 0 and 255 seconds, got 300");
    let g = &r.config.global;
    assert!(g.garp_groups.is_empty() && g.track_groups.is_empty());
    assert!(g.linkbeat_interfaces.is_empty() && g.interface_up_down_delays.is_empty());
}

#[test]
fn deprecated_and_malformed_values() {
    let r = read("invalid/global-deprecated.conf");
    has_error(
        &r,
        3,
        "`vrrp_vmac_garp_intvl` is deprecated; use `vrrp_garp_extra_if`",
    );
    has_error(
        &r,
        4,
        "process name `abcdefghijklmnopqrstu` is longer than 15 characters; truncated",
    );
    has_error(&r, 5, "invalid umask value `01777`");
    has_error(&r, 6, "cannot be both MTU and ADVERT; ADVERT ignored");
    let d = &r.config.global.defs;
    assert_eq!(
        d.vrrp_garp_extra_if,
        Some(GarpExtraIf {
            interval: secs(10),
            all: false
        })
    );
    assert_eq!(d.process_name.as_deref(), Some("abcdefghijklmno"));
    assert_eq!(d.umask, Umask(0o177));
    assert_eq!(d.vrrp_rx_bufs_policy, RxBufsPolicy::Mtu);
}

#[test]
fn duplicates_and_missing_arguments() {
    let text = "global_defs {\n lvs_sync_daemon eth0\n lvs_sync_daemon eth1\n router_id\n nftables\n nftables t2\n \
                startup_script /bin/true\n startup_script /bin/false\n}\ninstance a\ninstance b\ntrack_group T {\n group { X }\n}\n\
                track_group T {\n group { Y }\n}\n";
    let r = read_str("dup.conf", text, &PreprocessOptions::default());
    has_error(&r, 3, "`lvs_sync_daemon` already specified");
    has_error(&r, 4, "`router_id` needs an argument");
    has_error(&r, 6, "`nftables` already specified");
    has_error(&r, 8, "`startup_script` already specified");
    has_error(&r, 11, "duplicate `instance` (b) ignored");
    has_error(&r, 15, "track_group `T` already defined");
    let g = &r.config.global;
    assert_eq!(
        g.defs
            .lvs_sync_daemon
            .as_ref()
            .map(|s| s.interface.as_str()),
        Some("eth0")
    );
    assert_eq!(g.defs.nftables.as_deref(), Some("keepalived"));
    assert_eq!(g.instance.as_deref(), Some("a"));
    assert_eq!(g.track_groups.len(), 1);
    assert_eq!(g.track_groups[0].instances, ["X"]);
}

#[test]
fn legacy_lvs_sync_daemon_form() {
    let r = read_str(
        "l.conf",
        "global_defs {\n lvs_sync_daemon eth0 VI_1 7\n}\n",
        &PreprocessOptions::default(),
    );
    has_error(&r, 2, "write `id` before the `lvs_sync_daemon` sync id");
    let sd = r.config.global.defs.lvs_sync_daemon.expect("sync daemon");
    assert_eq!((sd.instance.as_deref(), sd.syncid), (Some("VI_1"), Some(7)));
}

#[test]
fn global_scripts_without_script_security_are_flagged() {
    let mut r = read_str(
        "s.conf",
        "global_defs {\n startup_script /bin/true\n}\n",
        &PreprocessOptions::default(),
    );
    assert!(!r.diagnostics.has_errors());
    // The check is the host's: scripts run as root only when keepalived runs as root.
    let root = keepalived_config::host::HostFacts {
        is_root: true,
        ..Default::default()
    };
    let host = fake_host::FakeHost::new().program("/bin/true");
    keepalived_config::host::check(&mut r.config, &root, &host, &mut r.diagnostics);
    assert!(
        r.diagnostics
            .items()
            .iter()
            .any(|d| d.kind == keepalived_config::DiagKind::ScriptSecurity && d.loc.line == 2)
    );
    assert_eq!(r.exit_code(), 6);
}

#[test]
fn several_global_defs_blocks_merge_and_defaults_follow() {
    let text = "global_defs {\n vrrp_garp_master_delay 3\n}\nglobal_defs {\n vrrp_garp_master_repeat 2\n vmac_prefix v\n}\n";
    let r = read_str("m.conf", text, &PreprocessOptions::default());
    assert!(!r.diagnostics.has_errors());
    let d = &r.config.global.defs;
    assert_eq!(
        (d.vrrp_garp_master_delay, d.vrrp_garp_lower_prio_delay),
        (secs(3), secs(3))
    );
    assert_eq!(
        (d.vrrp_garp_master_repeat, d.vrrp_garp_lower_prio_repeat),
        (2, 2)
    );
    assert_eq!(d.vmac_addr_prefix, "v");
}

#[test]
fn random_global_statements_never_panic() {
    let kws: Vec<&str> = include_str!("data/keepalived-keywords.md")
        .lines()
        .filter(|l| l.starts_with("  ") && !l.starts_with("    "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let args = [
        "",
        "0",
        "-1",
        "1",
        "99999999999999999999",
        "0x10",
        "0.5",
        "1.",
        ".",
        "all",
        "VS",
        "MTU",
        "ADVERT",
        "x|",
        "|",
        "IRUSR|",
        "IRUSR||IWUSR",
        "inst",
        "id",
        "group",
        "maxlen",
        "ttl",
        "port",
        "tcp",
        "224.0.0.1",
        "ff02::1",
        "::",
        "\"\"",
        "reverse",
        "+match",
        "-",
        "é",
    ];
    let block_kws = [
        "neighbor_ip",
        "source_ip",
        "min_rx",
        "ttl",
        "max_hops",
        "weight",
        "group",
        "interfaces",
        "eth0",
        "garp_interval",
        "interface",
    ];
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        usize::try_from(seed % n as u64).unwrap_or(0)
    };
    for _ in 0..2000 {
        let mut s = String::from("global_defs {\n");
        for _ in 0..4 {
            s.push_str(kws[next(kws.len())]);
            for _ in 0..next(4) {
                s.push(' ');
                s.push_str(args[next(args.len())]);
            }
            s.push('\n');
        }
        s.push_str("}\n");
        for top in [
            "bfd_instance b {",
            "garp_group {",
            "track_group t {",
            "linkbeat_interfaces {",
            "interface_up_down_delays {",
        ] {
            s.push_str(top);
            s.push('\n');
            for _ in 0..3 {
                s.push_str(block_kws[next(block_kws.len())]);
                for _ in 0..next(3) {
                    s.push(' ');
                    s.push_str(args[next(args.len())]);
                }
                s.push('\n');
            }
            s.push_str("}\n");
        }
        let r = read_str("f.conf", &s, &PreprocessOptions::default());
        assert!(serde_json::to_string(&r.config.global).is_ok());
    }
}
