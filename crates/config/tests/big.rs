//! The big-config cases of the benchmark, read as tests: 2,300 virtual servers with 36,800 real
//! servers (TCP_CHECK, about 235,000 lines) and 1,000 vrrp_instances, with assertions on the
//! model, so the benchmark always measures a reader that gets the answer right.

use std::net::SocketAddr;
use std::time::Duration;

use keepalived_config::model::lvs::{CheckerKind, ForwardingMethod, Scheduler, VsAddress};
use keepalived_config::{PreprocessOptions, read_str};

#[test]
fn large_lvs_config_reads_completely() {
    let generated = keepalived_bench::r#gen::lvs(2300, 16);
    assert!(generated.lines > 230_000, "{} lines", generated.lines);
    let read = read_str("lvs.conf", &generated.text, &PreprocessOptions::default());
    assert!(
        !read.diagnostics.has_errors(),
        "{:?}",
        &read.render_diagnostics()[..5.min(read.diagnostics.items().len())]
    );
    let vss = &read.config.lvs.virtual_servers;
    assert_eq!(vss.len(), 2300);
    assert_eq!(
        vss.iter().map(|v| v.real_servers.len()).sum::<usize>(),
        36_800
    );
    let first = &vss[0];
    assert_eq!(
        first.address,
        VsAddress::Ip("192.0.2.1:80".parse::<SocketAddr>().expect("addr"))
    );
    assert_eq!(first.lb_algo, Scheduler::Rr);
    assert_eq!(first.lb_kind, ForwardingMethod::Nat);
    assert_eq!(first.delay_loop, Duration::from_secs(6));
    assert_eq!(first.persistence_timeout, Some(Duration::from_secs(50)));
    for rs in vss.iter().flat_map(|v| &v.real_servers) {
        assert_eq!(rs.checkers.len(), 1);
        assert!(matches!(rs.checkers[0].kind, CheckerKind::Tcp));
        assert_eq!(
            rs.checkers[0].common.connect_timeout,
            Duration::from_secs(3)
        );
    }
    let last = &vss[2299].real_servers[15];
    assert_eq!(last.weight, 1);
}

#[test]
fn thousand_vrrp_instances_read_completely() {
    let generated = keepalived_bench::r#gen::vrrp(1000);
    let read = read_str("vrrp.conf", &generated.text, &PreprocessOptions::default());
    assert!(
        !read.diagnostics.has_errors(),
        "{:?}",
        read.render_diagnostics().first()
    );
    let instances = &read.config.vrrp.instances;
    assert_eq!(instances.len(), 1000);
    let mut keys: Vec<(Option<&str>, u8, bool)> = instances
        .iter()
        .map(|i| (i.interface.as_deref(), i.virtual_router_id, i.is_ipv6()))
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(
        keys.len(),
        1000,
        "every (interface, VRID, family) is distinct"
    );
}
