//! The desired table from real configurations and the reconciler's change sets, with an
//! in-memory kernel table (`diff::apply`): NAT/DR/TUN, fwmark and group services, persistence,
//! inhibit_on_failure, quorum with hysteresis and the sorry server, smallest diffs, ownership.

use std::net::SocketAddr;

use keepalived_lb::diff::{Change, Owned, apply, diff};
use keepalived_lb::table::{
    Dest, Forward, Health, Proto, Quorum, SVC_F_PERSISTENT, ServiceKey, Table, desired,
};

fn config(text: &str) -> keepalived_config::Config {
    let read = keepalived_config::read_str("test.conf", text, &Default::default());
    let errors: Vec<String> = read.render_diagnostics();
    assert!(
        read.diagnostics
            .items()
            .iter()
            .all(|d| d.severity < keepalived_config::Severity::Error),
        "{errors:#?}"
    );
    read.config
}

fn sa(s: &str) -> SocketAddr {
    s.parse().expect("socket address")
}

fn tcp(addr: &str) -> ServiceKey {
    ServiceKey::Addr {
        protocol: Proto::Tcp,
        addr: sa(addr),
    }
}

const CONF: &str = "\
virtual_server 192.0.2.100 80 {
    lb_algo wrr
    lb_kind NAT
    protocol TCP
    persistence_timeout 600
    quorum 3
    hysteresis 1
    sorry_server 198.51.100.99 8080
    real_server 198.51.100.1 8080 {
        weight 2
    }
    real_server 198.51.100.2 8080 {
        weight 2
        inhibit_on_failure
    }
}
virtual_server fwmark 7 {
    lb_algo rr
    lb_kind DR
    real_server 198.51.100.3 0 {
        weight 1
    }
}
virtual_server_group web {
    192.0.2.10-12 443
}
virtual_server group web {
    lb_algo sh
    sh-port
    lb_kind TUN
    protocol TCP
    real_server 198.51.100.4 443 {
    }
}
";

fn all_up(_: usize, _: usize) -> Option<Health> {
    None
}

#[test]
fn services_and_destinations_from_the_configuration() {
    let cfg = config(CONF);
    let mut q = Vec::new();
    let t = desired(&cfg, &all_up, &mut q);
    // 1 address service + 1 fwmark + 3 group addresses.
    assert_eq!(t.len(), 5, "{t:#?}");
    let web = &t[&tcp("192.0.2.100:80")];
    assert_eq!(web.service.scheduler, "wrr");
    assert_eq!(web.service.flags & SVC_F_PERSISTENT, SVC_F_PERSISTENT);
    assert_eq!(web.service.timeout, 600);
    assert_eq!(web.dests.len(), 2);
    assert_eq!(
        web.dests[&sa("198.51.100.1:8080")],
        Dest {
            forward: Forward::Masq,
            weight: 2,
            u_threshold: 0,
            l_threshold: 0
        }
    );
    let fw = &t[&ServiceKey::Fwmark {
        mark: 7,
        ipv6: false,
    }];
    assert_eq!(
        fw.dests.values().next().map(|d| d.forward),
        Some(Forward::Route)
    );
    for a in ["192.0.2.10:443", "192.0.2.11:443", "192.0.2.12:443"] {
        let s = &t[&tcp(a)];
        assert_eq!(s.service.scheduler, "sh");
        assert!(matches!(
            s.dests.values().next().map(|d| d.forward),
            Some(Forward::Tunnel { .. })
        ));
    }
    assert_eq!(q, vec![Quorum::Held; 3]);
}

#[test]
fn failures_inhibit_quorum_hysteresis_and_sorry_server() {
    let cfg = config(CONF);
    let mut q = Vec::new();
    let key = tcp("192.0.2.100:80");
    // .1 down: removed; live weight 2 < quorum 3 - hysteresis 1? no (2 >= 2): quorum held.
    let h1 = |v: usize, r: usize| {
        (v == 0 && r == 0).then_some(Health {
            up: false,
            weight: 2,
        })
    };
    let t = desired(&cfg, &h1, &mut q);
    assert_eq!(
        t[&key].dests.keys().copied().collect::<Vec<_>>(),
        [sa("198.51.100.2:8080")]
    );
    assert_eq!(q[0], Quorum::Held);
    // Both down: .2 stays with weight 0 (inhibit_on_failure) until the quorum is lost; then the
    // sorry server alone serves.
    let h2 = |v: usize, _: usize| {
        (v == 0).then_some(Health {
            up: false,
            weight: 2,
        })
    };
    let t = desired(&cfg, &h2, &mut q);
    assert_eq!(q[0], Quorum::Lost);
    let dests: Vec<_> = t[&key].dests.iter().map(|(a, d)| (*a, d.weight)).collect();
    assert_eq!(dests, [(sa("198.51.100.99:8080"), 1)]);
    // One back (live 2): not enough with hysteresis (needs 3 + 1 = 4): still lost.
    let t = desired(&cfg, &h1, &mut q);
    assert_eq!(q[0], Quorum::Lost);
    assert!(t[&key].dests.contains_key(&sa("198.51.100.99:8080")));
    // Both back (live 4): regained; the sorry server goes.
    let t = desired(&cfg, &all_up, &mut q);
    assert_eq!(q[0], Quorum::Held);
    assert!(!t[&key].dests.contains_key(&sa("198.51.100.99:8080")));
    assert_eq!(t[&key].dests.len(), 2);
}

#[test]
fn cold_start_then_one_weight_change_is_one_destination_edit() {
    let cfg = config(CONF);
    let mut q = Vec::new();
    let want = desired(&cfg, &all_up, &mut q);
    let mut kernel = Table::new();
    let mut owned = Owned::default();
    let changes = diff(&kernel, &want, &owned);
    assert_eq!(
        changes
            .iter()
            .filter(|c| matches!(c, Change::AddService(..)))
            .count(),
        5
    );
    apply(&mut kernel, &changes);
    owned.apply(&changes);
    assert_eq!(kernel, want);
    assert!(diff(&kernel, &want, &owned).is_empty(), "converged");
    let heavier = |v: usize, r: usize| {
        (v == 0 && r == 1).then_some(Health {
            up: true,
            weight: 5,
        })
    };
    let want2 = desired(&cfg, &heavier, &mut q);
    let changes = diff(&kernel, &want2, &owned);
    assert_eq!(
        changes,
        [Change::EditDest(
            tcp("192.0.2.100:80"),
            sa("198.51.100.2:8080"),
            Dest {
                forward: Forward::Masq,
                weight: 5,
                u_threshold: 0,
                l_threshold: 0
            }
        )]
    );
}

#[test]
fn only_owned_services_are_touched_and_leftovers_are_adopted() {
    let cfg = config(CONF);
    let mut q = Vec::new();
    let want = desired(&cfg, &all_up, &mut q);
    // The kernel holds someone else's service and a leftover of ours with a stale weight.
    let mut kernel = Table::new();
    let foreign = tcp("203.0.113.5:25");
    let mut stale = want[&tcp("192.0.2.100:80")].clone();
    stale.dests.values_mut().for_each(|d| d.weight = 9);
    kernel.insert(tcp("192.0.2.100:80"), stale);
    kernel.insert(foreign, want[&tcp("192.0.2.100:80")].clone());
    let mut owned = Owned::default();
    owned.adopt(&kernel, &want);
    let changes = diff(&kernel, &want, &owned);
    assert!(changes.iter().all(|c| !matches!(c,
        Change::DelService(k) | Change::EditService(k, _) | Change::DelDest(k, _) if *k == foreign)));
    // The leftover is corrected in place: two destination edits, no service re-created.
    let edits = changes
        .iter()
        .filter(|c| matches!(c, Change::EditDest(k, ..) if *k == tcp("192.0.2.100:80")))
        .count();
    assert_eq!(edits, 2);
    assert!(
        !changes
            .iter()
            .any(|c| matches!(c, Change::AddService(k, _) if *k == tcp("192.0.2.100:80")))
    );
    apply(&mut kernel, &changes);
    owned.apply(&changes);
    assert!(kernel.contains_key(&foreign));
    // A virtual server removed from the configuration: its service goes, the foreign one stays.
    let smaller = config(&CONF.replace("virtual_server fwmark 7", "virtual_server fwmark 8"));
    let want2 = desired(&smaller, &all_up, &mut q);
    let changes = diff(&kernel, &want2, &owned);
    assert!(changes.contains(&Change::DelService(ServiceKey::Fwmark {
        mark: 7,
        ipv6: false
    })));
    assert!(!changes.contains(&Change::DelService(foreign)));
}

/// The changes as IPVS requests, "executed" into a dump the way the kernel would hold them,
/// read back as a table: the same table (so the start-up comparison sees no difference), and
/// every request survives the netlink codec.
#[test]
fn changes_as_ipvs_requests_and_a_kernel_dump_as_a_table() {
    use keepalived_lb::backend::{kernel_table, messages};
    use keepalived_lb::ipvs::{Destination, IpvsMessage, Service as KService, ServiceKey as KKey};

    let cfg = config(CONF);
    let mut q = Vec::new();
    let want = desired(&cfg, &all_up, &mut q);
    let changes = diff(&Table::new(), &want, &Owned::default());
    let msgs = messages(&changes);
    assert_eq!(msgs.len(), changes.len());
    let mut dump: Vec<(KService, Vec<Destination>)> = Vec::new();
    for m in &msgs {
        let mut buf = Vec::new();
        m.emit(&mut buf);
        assert_eq!(
            IpvsMessage::parse(m.command(), &buf).as_ref(),
            Ok(m),
            "codec round trip"
        );
        match m {
            IpvsMessage::NewService(s) => dump.push((s.clone(), Vec::new())),
            IpvsMessage::NewDest { service, dest } => {
                let entry = dump
                    .iter_mut()
                    .find(|(s, _)| s.key == *service)
                    .expect("service before its destinations");
                entry.1.push(dest.clone());
            }
            other => panic!("unexpected request at cold start: {other:?}"),
        }
    }
    assert_eq!(kernel_table(&dump), want);
    let fw: Vec<&KKey> = dump
        .iter()
        .map(|(s, _)| &s.key)
        .filter(|k| matches!(k, KKey::Fwmark { .. }))
        .collect();
    assert_eq!(fw.len(), 1);
}
