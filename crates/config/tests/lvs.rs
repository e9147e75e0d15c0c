//! The lvs part: corpus files under tests/corpus/lvs read into the typed model (values,
//! defaults, inherited values), and failing configs under tests/corpus/invalid/lvs-*.conf
//! reporting the right message on the right line.

#![allow(
    clippy::disallowed_methods,
    reason = "lists the corpus of invalid files"
)]

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use keepalived_config::model::lvs::*;
use keepalived_config::{PreprocessOptions, Read, read_file, read_str};

fn read(rel: &str) -> Read {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(rel);
    read_file(
        &path,
        &PreprocessOptions {
            config_id: "main".into(),
            ..Default::default()
        },
    )
}

fn valid(rel: &str) -> LvsConfig {
    let r = read(rel);
    assert!(
        !r.diagnostics.has_errors(),
        "{rel}: {:#?}",
        r.render_diagnostics()
    );
    r.config.lvs
}

fn sa(s: &str) -> SocketAddr {
    s.parse().expect("socket address")
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip")
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

#[test]
fn basic_virtual_server_and_inheritance() {
    let lvs = valid("lvs/basic.conf");
    assert_eq!(lvs.virtual_servers.len(), 1);
    let vs = &lvs.virtual_servers[0];
    assert_eq!(vs.address, VsAddress::Ip(sa("192.0.2.10:80")));
    assert_eq!(vs.delay_loop, secs(10.0));
    assert_eq!(vs.lb_algo, Scheduler::Wrr);
    assert_eq!(vs.lb_kind, ForwardingMethod::Nat);
    assert_eq!(vs.protocol, Protocol::Tcp);
    assert_eq!(vs.persistence_timeout, Some(secs(600.0)));
    assert_eq!(
        vs.persistence_granularity,
        Some(Granularity::Netmask("255.255.255.0".parse().unwrap()))
    );
    assert_eq!(vs.persistence_engine.as_deref(), Some("sip"));
    assert!(vs.ha_suspend && vs.alpha && vs.omega && vs.inhibit_on_failure);
    assert_eq!((vs.quorum, vs.hysteresis, vs.weight), (2, 1, 2));
    assert_eq!(
        vs.quorum_up.as_ref().map(|s| s.argv.clone()),
        Some(vec!["/bin/true".to_owned(), "up".to_owned()])
    );
    assert_eq!(
        vs.quorum_down.as_ref().and_then(|s| s.user.as_deref()),
        Some("root")
    );
    assert_eq!(vs.smtp_alert, Some(true));
    assert_eq!(vs.virtualhost.as_deref(), Some("www.example.com"));
    assert_eq!(vs.snmp_name.as_deref(), Some("web"));
    assert_eq!(
        (vs.retry, vs.delay_before_retry, vs.warmup),
        (Some(2), Some(secs(2.5)), Some(secs(3.0)))
    );
    assert_eq!(vs.connect_timeout, secs(4.0));
    let sorry = vs.sorry_server.as_ref().expect("sorry server");
    assert_eq!(
        (sorry.address, sorry.inhibit, sorry.lvs_method),
        (sa("192.0.2.99:8080"), true, ForwardingMethod::Nat)
    );

    // First real server: everything inherited from the virtual server.
    let rs = &vs.real_servers[0];
    assert_eq!(rs.address, sa("192.0.2.20:80"));
    assert_eq!(
        rs.weight, 2,
        "weight defaults to the virtual server's weight"
    );
    assert!(rs.inhibit_on_failure && rs.alpha);
    assert_eq!(
        (rs.retry, rs.delay_loop, rs.connect_timeout),
        (Some(2), secs(10.0), secs(4.0))
    );
    let c = &rs.checkers[0];
    assert_eq!(c.kind, CheckerKind::Tcp);
    assert_eq!(c.common.connect_ip, Some(ip("192.0.2.21")));
    assert_eq!(
        (c.common.connect_port, c.common.bind_port),
        (Some(8080), Some(4000))
    );
    assert_eq!(c.common.bindto, Some(ip("192.0.2.1")));
    assert_eq!(c.common.bind_if.as_deref(), Some("eth0"));
    assert_eq!(c.common.fwmark, Some(7));
    assert_eq!(
        (
            c.common.retry,
            c.common.connect_timeout,
            c.common.delay_loop
        ),
        (0, secs(3.0), secs(5.0))
    );
    assert_eq!(
        (c.common.delay_before_retry, c.common.warmup),
        (secs(2.0), secs(1.0))
    );
    assert!(c.common.alpha && c.common.log_all_failures);

    // Second real server: its own values; port taken from the virtual server; the checker inherits.
    let rs = &vs.real_servers[1];
    assert_eq!(rs.address, sa("192.0.2.21:80"));
    assert_eq!((rs.weight, rs.uthreshold, rs.lthreshold), (5, 100, 10));
    assert!(!rs.inhibit_on_failure && !rs.alpha);
    assert_eq!(rs.smtp_alert, Some(false));
    assert_eq!(
        rs.notify_up.as_ref().map(|s| s.command.as_str()),
        Some("/bin/true rs up")
    );
    assert!(rs.notify_down.is_some());
    assert_eq!(
        (rs.virtualhost.as_deref(), rs.snmp_name.as_deref()),
        (Some("rs.example.com"), Some("rs2"))
    );
    let c = &rs.checkers[0].common;
    assert_eq!(
        (c.retry, c.delay_before_retry, c.warmup),
        (4, secs(1.0), secs(0.0))
    );
    assert_eq!((c.connect_timeout, c.delay_loop), (secs(6.0), secs(20.0)));
    assert!(!c.alpha);
    assert_eq!(lvs.scripts().count(), 4);
}

#[test]
fn http_and_ssl_checkers() {
    let lvs = valid("lvs/http.conf");
    let ssl = lvs.ssl.as_ref().expect("SSL block");
    assert_eq!(ssl.password.as_deref(), Some("secret"));
    assert_eq!(
        ssl.ca.as_deref(),
        Some("/etc/ssl/certs/ca-certificates.crt")
    );
    assert_eq!(
        ssl.certificate.as_deref(),
        Some("/etc/keepalived/client.pem")
    );
    assert_eq!(ssl.key.as_deref(), Some("/etc/keepalived/client.key"));
    let vs = &lvs.virtual_servers[0];
    assert_eq!(
        (vs.lb_algo, vs.lb_kind),
        (Scheduler::Rr, ForwardingMethod::Dr)
    );
    let rs = &vs.real_servers[0];
    let CheckerKind::Http(h) = &rs.checkers[0].kind else {
        panic!("HTTP_GET expected")
    };
    assert_eq!(h.http_protocol, HttpProtocol::Http11);
    assert!(h.fast_recovery && h.enable_sni);
    assert_eq!(
        h.virtualhost.as_deref(),
        Some("rs.example.com"),
        "virtualhost inherited from the real server"
    );
    assert_eq!(
        rs.checkers[0].common.delay_before_retry,
        secs(3.0),
        "HTTP default delay_before_retry"
    );
    assert_eq!(rs.checkers[0].common.retry, 1);
    let u = &h.urls[0];
    assert_eq!(u.path, "/health");
    assert_eq!(
        serde_json::to_value(u.digest).unwrap(),
        "9b3a0c85a887a256d6939da88aabd8cd"
    );
    assert_eq!(
        u.status_codes,
        vec![
            StatusRange { from: 200, to: 299 },
            StatusRange { from: 404, to: 404 },
            StatusRange { from: 503, to: 503 }
        ]
    );
    assert_eq!(u.virtualhost.as_deref(), Some("url.example.com"));
    assert_eq!(u.regex.as_deref(), Some("^OK"));
    assert!(u.regex_no_match);
    assert_eq!(
        u.regex_options,
        vec![RegexOption::Caseless, RegexOption::Multiline]
    );
    assert_eq!(
        (u.regex_min_offset, u.regex_max_offset, u.regex_stack),
        (Some(0), Some(1024), Some((32768, 1048576)))
    );
    assert_eq!(
        h.urls[1].status_codes,
        vec![StatusRange { from: 200, to: 299 }],
        "default status codes"
    );
    let CheckerKind::Ssl(s) = &rs.checkers[1].kind else {
        panic!("SSL_GET expected")
    };
    assert_eq!(s.http_protocol, HttpProtocol::Http10C);
    assert_eq!(s.virtualhost.as_deref(), Some("checker.example.com"));
    assert_eq!(rs.checkers[1].common.connect_port, Some(8443));
}

#[test]
fn groups_fwmarks_and_flags() {
    let lvs = valid("lvs/groups.conf");
    let web = &lvs.virtual_server_groups[0];
    assert_eq!(web.name, "WEB");
    assert_eq!(
        web.entries,
        vec![
            VsgEntry::Range {
                first: ip("192.0.2.10"),
                last: ip("192.0.2.10"),
                port: 80
            },
            VsgEntry::Range {
                first: ip("192.0.2.11"),
                last: ip("192.0.2.20"),
                port: 80
            },
            VsgEntry::Range {
                first: ip("192.0.2.32"),
                last: ip("192.0.2.39"),
                port: 80
            },
            VsgEntry::Range {
                first: ip("192.0.2.100"),
                last: ip("192.0.2.110"),
                port: 80
            },
        ]
    );
    assert_eq!(
        lvs.virtual_server_groups[1].entries,
        vec![
            VsgEntry::Fwmark {
                mark: 7,
                family: None
            },
            VsgEntry::Fwmark {
                mark: 8,
                family: Some(IpFamily::Inet)
            }
        ]
    );
    let vs = &lvs.virtual_servers;
    assert_eq!(vs[0].address, VsAddress::Group("WEB".into()));
    assert_eq!(vs[0].lb_algo, Scheduler::Sh);
    assert!(vs[0].sched_flags.sh_port && vs[0].sched_flags.sh_fallback && vs[0].sched_flags.hashed);
    let f = vs[1].sched_flags;
    assert!(f.mh_port && f.mh_fallback && f.flag_1 && f.flag_2 && f.flag_3 && !f.sh_port);
    assert_eq!(vs[1].real_servers[0].checkers[0].kind, CheckerKind::Ping);
    assert_eq!(vs[2].address, VsAddress::Fwmark(5));
    assert_eq!(vs[2].ip_family, Some(IpFamily::Inet));
    assert_eq!(vs[2].real_servers[0].weight, 3);
    assert_eq!(
        vs[2].real_servers[1].lvs_method,
        ForwardingMethod::Tun {
            kind: TunnelType::Ipip,
            port: None,
            checksum: TunnelChecksum::Nocsum
        }
    );
    assert_eq!(
        (vs[3].protocol, vs[3].sched_flags.ops),
        (Protocol::Udp, true)
    );
    let CheckerKind::Dns(d) = &vs[3].real_servers[0].checkers[0].kind else {
        panic!("DNS_CHECK expected")
    };
    assert_eq!(
        (d.query_type, d.name.as_str()),
        (DnsType::Aaaa, "example.com")
    );
    let c = &vs[3].real_servers[0].checkers[0].common;
    assert_eq!(
        (c.retry, c.delay_before_retry),
        (3, secs(60.0)),
        "DNS defaults: retry 3, delay_before_retry = delay_loop"
    );
}

#[test]
fn misc_smtp_udp_and_tunnels() {
    let lvs = valid("lvs/checkers.conf");
    let vs = &lvs.virtual_servers[0];
    assert_eq!(
        vs.lb_kind,
        ForwardingMethod::Tun {
            kind: TunnelType::Gue,
            port: Some(6080),
            checksum: TunnelChecksum::Csum
        }
    );
    let rs = &vs.real_servers[0];
    let CheckerKind::Misc(m) = &rs.checkers[0].kind else {
        panic!("MISC_CHECK expected")
    };
    assert_eq!(m.script.argv, ["/usr/bin/test", "-e", "/"]);
    assert_eq!(m.script.user.as_deref(), Some("root"));
    assert_eq!(m.timeout, secs(5.0));
    assert!(m.dynamic);
    assert_eq!(rs.checkers[0].common.retry, 2);
    let CheckerKind::Smtp(s) = &rs.checkers[1].kind else {
        panic!("SMTP_CHECK expected")
    };
    assert_eq!(s.helo_name, "mail.example.com");
    assert_eq!(s.hosts.len(), 2);
    assert_eq!(
        (s.hosts[0].connect_ip, s.hosts[0].connect_port),
        (Some(ip("192.0.2.62")), Some(587))
    );
    assert_eq!(
        (s.hosts[0].bindto, s.hosts[0].bind_port, s.hosts[0].fwmark),
        (Some(ip("192.0.2.1")), Some(2525), Some(9))
    );
    assert_eq!(s.hosts[0].connect_timeout, secs(3.0));
    assert_eq!(
        s.hosts[1].connect_timeout,
        secs(8.0),
        "host inherits the checker's connect_timeout"
    );
    let rs = &vs.real_servers[1];
    assert_eq!(
        rs.lvs_method,
        ForwardingMethod::Tun {
            kind: TunnelType::Gre,
            port: None,
            checksum: TunnelChecksum::Csum
        }
    );
    let CheckerKind::Udp(u) = &rs.checkers[0].kind else {
        panic!("UDP_CHECK expected")
    };
    assert_eq!(u.payload, Some(vec![0x0a, 0x1b, 0x2c, 0x03]));
    assert!(u.require_reply);
    assert_eq!(
        u.reply_pattern,
        Some(HexPattern {
            data: vec![0x0a, 0x10],
            mask: vec![0xff, 0xf0]
        })
    );
    assert_eq!((u.min_reply_length, u.max_reply_length), (2, 100));
    let CheckerKind::Udp(u) = &vs.real_servers[2].checkers[0].kind else {
        panic!("UDP_CHECK expected")
    };
    assert!(u.require_reply && u.reply_pattern.is_none());
    assert_eq!((u.min_reply_length, u.max_reply_length), (0, 255));
}

#[test]
fn file_bfd_and_newer_keywords() {
    let lvs = valid("lvs/file-bfd.conf");
    let rs = &lvs.virtual_servers[0].real_servers[0];
    assert_eq!(lvs.virtual_servers[0].protocol, Protocol::Sctp);
    let CheckerKind::File(f) = &rs.checkers[0].kind else {
        panic!("FILE_CHECK expected")
    };
    assert_eq!(
        (f.track_file.as_str(), f.dynamic, f.weight, f.reverse),
        ("weightfile", false, -5, true)
    );
    let CheckerKind::Bfd(b) = &rs.checkers[1].kind else {
        panic!("BFD_CHECK expected")
    };
    assert_eq!(b.name, "bfd1");
    assert!(rs.checkers[1].common.alpha);

    let lvs = valid("lvs/newer.conf");
    let vs = &lvs.virtual_servers[0];
    assert_eq!(vs.lb_algo, Scheduler::Twos);
    let CheckerKind::Ssl(s) = &vs.real_servers[0].checkers[0].kind else {
        panic!("SSL_GET expected")
    };
    assert!(s.enable_sni && s.tls_compliant && s.urls[0].tls_compliant);
    assert_eq!(s.sni_name.as_deref(), Some("www.example.com"));
    let CheckerKind::File(f) = &vs.real_servers[0].checkers[1].kind else {
        panic!("FILE_CHECK expected")
    };
    assert!(f.dynamic);
}

#[test]
fn defaults() {
    let r = read_str(
        "d.conf",
        "virtual_server 192.0.2.10 80 {\n lb_algo rr\n lb_kind DR\n protocol TCP\n real_server 192.0.2.20 {\n  TCP_CHECK {\n  }\n  MISC_CHECK {\n   misc_path /bin/true\n  }\n }\n}\n",
        &Default::default(),
    );
    assert!(!r.diagnostics.has_errors(), "{:?}", r.render_diagnostics());
    let vs = &r.config.lvs.virtual_servers[0];
    assert_eq!(
        (vs.delay_loop, vs.connect_timeout, vs.quorum, vs.hysteresis),
        (secs(60.0), secs(5.0), 1, 0)
    );
    assert_eq!((vs.persistence_timeout, vs.weight), (None, 1));
    let rs = &vs.real_servers[0];
    assert_eq!(
        (rs.address, rs.weight, rs.lvs_method),
        (sa("192.0.2.20:80"), 1, ForwardingMethod::Dr)
    );
    let c = &rs.checkers[0].common;
    assert_eq!(
        (c.retry, c.delay_before_retry, c.warmup, c.connect_timeout),
        (1, secs(1.0), secs(60.0), secs(5.0))
    );
    assert!(!c.alpha && !c.log_all_failures);
    assert_eq!(rs.checkers[1].common.retry, 0, "MISC_CHECK default retry");
    let CheckerKind::Misc(m) = &rs.checkers[1].kind else {
        panic!()
    };
    assert_eq!(m.timeout, secs(60.0), "misc_timeout defaults to delay_loop");

    // persistence_timeout without a value, and granularity alone, mean 360 s.
    let r = read_str(
        "p.conf",
        "virtual_server 2001:db8::10 {\n lb_algo rr\n lb_kind NAT\n protocol TCP\n persistence_granularity 64\n real_server 2001:db8::20 80 {\n }\n}\nvirtual_server 192.0.2.10 {\n lb_algo rr\n lb_kind NAT\n protocol TCP\n persistence_timeout\n real_server 192.0.2.20 80 {\n }\n}\n",
        &Default::default(),
    );
    assert!(!r.diagnostics.has_errors(), "{:?}", r.render_diagnostics());
    let v = &r.config.lvs.virtual_servers;
    assert_eq!(
        v[0].persistence_granularity,
        Some(Granularity::PrefixLen(64))
    );
    assert_eq!(
        (v[0].persistence_timeout, v[1].persistence_timeout),
        (Some(secs(360.0)), Some(secs(360.0)))
    );
}

/// Every invalid lvs corpus file: (file, line, message substring).
const INVALID: &[(&str, u32, &str)] = &[
    ("lvs-bad-scheduler.conf", 7, "unknown value `fastest`"),
    ("lvs-no-real-servers.conf", 3, "has no real servers"),
    ("lvs-no-protocol.conf", 3, "no protocol set"),
    (
        "lvs-family-mismatch.conf",
        9,
        "address family of virtual server and real server 192.0.2.20 don't match",
    ),
    ("lvs-duplicate-rs.conf", 9, "is duplicated"),
    ("lvs-digest.conf", 11, "must be 32 hexadecimal characters"),
    ("lvs-misc-no-path.conf", 8, "no script path (misc_path)"),
    (
        "lvs-rs-port.conf",
        7,
        "`real server` must be between 0 and 65535",
    ),
    (
        "lvs-vs-weight.conf",
        7,
        "`weight` must be between 1 and 2147483647",
    ),
    (
        "lvs-quorum.conf",
        3,
        "exceeds total weight of real servers 2",
    ),
    ("lvs-gue-port.conf", 5, "gue tunnels require a port"),
    ("lvs-status-code.conf", 11, "invalid HTTP status code `600`"),
    ("lvs-no-url.conf", 8, "HTTP_GET checker has no url"),
    ("lvs-dns-type.conf", 9, "unknown DNS check type `BOGUS`"),
    (
        "lvs-udp-lengths.conf",
        8,
        "min_reply_length 200 > max_reply_length 100",
    ),
    ("lvs-bindto-family.conf", 9, "does not match address family"),
    (
        "lvs-connect-port.conf",
        9,
        "`connect_port` must be between 1 and 65535",
    ),
    (
        "lvs-unknown-keyword.conf",
        8,
        "unknown keyword `wieght` in real_server; did you mean `weight`?",
    ),
    ("lvs-vsg-range.conf", 4, "address range end is not greater"),
    (
        "lvs-vsg-range.conf",
        6,
        "virtual server group G2 has no entries",
    ),
    (
        "lvs-persistence.conf",
        7,
        "`persistence_timeout` must be between 1 and 2678400",
    ),
    (
        "lvs-zero-port.conf",
        3,
        "zero port only valid for persistent services",
    ),
    ("lvs-ip-family.conf", 7, "ip_family conflicts"),
    ("lvs-nb-get-retry.conf", 9, "nb_get_retry is deprecated"),
    (
        "lvs-unknown-group.conf",
        4,
        "Virtual server group NOSUCH specified but not configured - ignoring virtual server",
    ),
    ("lvs-ssl-twice.conf", 5, "SSL context already specified"),
    ("lvs-ssl-twice.conf", 6, "`password` needs an argument"),
    ("lvs-sh-flag.conf", 7, "`sh-port` only applies to the sh"),
    ("lvs-hysteresis.conf", 3, "hysteresis 1 >= quorum 1"),
    (
        "lvs-checker-references.conf",
        9,
        "track_file nosuchfile not found",
    ),
    (
        "lvs-checker-references.conf",
        14,
        "BFD nosuchbfd not configured",
    ),
];

#[test]
fn checkers_naming_unknown_blocks_are_dropped() {
    let r = read("invalid/lvs-checker-references.conf");
    let vs = &r.config.lvs.virtual_servers[0];
    assert!(vs.real_servers.iter().all(|rs| rs.checkers.is_empty()));
}

#[test]
fn invalid_configs_report_the_right_error_on_the_right_line() {
    let mut failures = Vec::new();
    for (file, line, msg) in INVALID {
        let r = read(&format!("invalid/{file}"));
        let found = r
            .diagnostics
            .items()
            .iter()
            .any(|d| d.loc.line == *line && d.message.contains(msg));
        if !found {
            failures.push(format!(
                "{file}: no `{msg}` at line {line}; got {:#?}",
                r.render_diagnostics()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Every invalid lvs file is listed above.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/invalid");
    for f in std::fs::read_dir(dir).expect("dir").flatten() {
        let name = f.file_name().to_string_lossy().into_owned();
        if name.starts_with("lvs-") {
            assert!(
                INVALID.iter().any(|(n, _, _)| *n == name),
                "{name} has no expectation in INVALID"
            );
        }
    }
}

#[test]
fn a_virtual_server_of_an_unknown_group_is_dropped_with_a_warning() {
    let r = read("invalid/lvs-unknown-group.conf");
    assert!(!r.diagnostics.has_errors(), "{:?}", r.render_diagnostics());
    assert_eq!(r.exit_code(), 0);
    assert!(r.config.lvs.virtual_servers.is_empty());
}

#[test]
fn garbage_never_panics() {
    let texts = [
        "virtual_server\n",
        "virtual_server group\n",
        "virtual_server fwmark x {\n}\n",
        "virtual_server 192.0.2.1 80 { real_server { TCP_CHECK } }\n",
        "virtual_server 192.0.2.1 80 { real_server 192.0.2.2 { HTTP_GET { url { digest } status_code - } UDP_CHECK { payload ZZ require_reply x } } }\n",
        "virtual_server_group { 1-2 } virtual_server_group g { 2001:db8::1-zzzzz 1 fwmark -1 192.0.2.1/0 ::/200 }\n",
        "virtual_server 192.0.2.1 80 { lb_kind TUN type port csum real_server 192.0.2.2 80 { lvs_method TUN type gue port 0 } }\n",
        "virtual_server 192.0.2.1 80 { persistence_granularity 300 sorry_server x sorry_server_inhibit }\n",
    ];
    for t in texts {
        let r = read_str("g.conf", t, &Default::default());
        assert!(r.diagnostics.has_errors(), "{t}");
    }
}
