//! keepalived-ctl's drain and the metrics' IPVS counters (issue 18), against the real kernel
//! IPVS in the VM: `rs drain` gives the real server weight 0 in `ipvsadm -Ln` and `undrain`
//! its weight back; a reload keeps the drain; a client in a namespace connects to the virtual
//! server, and the metrics show the kernel's connection counter for the service.

use lab::vm::VmBuilder;

use super::table;

const CONF: &str = "\
global_defs {
    metrics_listen 127.0.0.1:9165
}
virtual_server 192.0.2.10 80 {
    delay_loop 1
    lb_algo wrr
    lb_kind NAT
    protocol TCP
    real_server 198.51.100.1 8080 {
        weight 3
    }
    real_server 198.51.100.2 8080 {
        weight 1
    }
}
";

#[test]
fn drain_is_weight_zero_in_ipvs_and_the_metrics_count_the_kernels_connections() {
    let bin = super::ours_bin();
    let ctl = std::path::Path::new(&bin).with_file_name("keepalived-ctl");
    assert!(
        ctl.exists(),
        "{} is missing: build it first (`cargo build --release --workspace --bins`)",
        ctl.display()
    );
    let builder = VmBuilder::new()
        .binary(bin, "/usr/sbin/keepalived-rs")
        .binary(ctl, "/usr/sbin/keepalived-ctl")
        .data("/etc/keepalived.conf", CONF, 0o644);
    let Some(vm) = builder.build_or_skip().expect("building the VM") else {
        return;
    };
    let script = "(/usr/sbin/keepalived-rs -n -l -D -f /etc/keepalived.conf -p /tmp/k.pid \
                  -c /tmp/c.pid > /tmp/k.log 2>&1 &)\n\
                  ip addr add 192.0.2.10/32 dev lo\n\
                  ip netns add client\n\
                  ip link add d0 type veth peer name c0\n\
                  ip link set c0 netns client\n\
                  ip addr add 203.0.113.1/24 dev d0; ip link set d0 up\n\
                  ip -n client addr add 203.0.113.2/24 dev c0; ip -n client link set c0 up\n\
                  ip -n client route add 192.0.2.10/32 via 203.0.113.1\n\
                  sleep 4\n\
                  C='/usr/sbin/keepalived-ctl --socket /tmp/k.ctl'\n\
                  echo '== drain'; $C rs drain 192.0.2.10:80 198.51.100.1:8080\n\
                  sleep 1\n\
                  echo '== drained'; ipvsadm -Ln\n\
                  echo '== reload'; $C reload\n\
                  sleep 2\n\
                  echo '== reloaded'; ipvsadm -Ln\n\
                  echo '== undrain'; $C rs undrain 192.0.2.10:80 198.51.100.1:8080\n\
                  sleep 1\n\
                  echo '== undrained'; ipvsadm -Ln\n\
                  for i in 1 2 3; do ip netns exec client busybox timeout 1 busybox nc \
                  192.0.2.10 80 < /dev/null; done\n\
                  echo '== metrics'; busybox wget -q -O - http://127.0.0.1:9165/metrics\n\
                  echo '== log'; cat /tmp/k.log\n";
    let out = vm.run(script).expect("running the VM");
    assert_eq!(out.exit_code, 0, "{}\n{}", out.stdout, out.stderr);
    let s = super::sections(&out.stdout);
    let part = |name: &str| s.get(name).cloned().unwrap_or_default();
    let log = part("log");
    assert!(
        part("drain").contains("drained"),
        "drain: {}\nlog:\n{log}",
        part("drain")
    );
    let drained = [
        "TCP 192.0.2.10:80 wrr",
        "-> 198.51.100.1:8080 Masq 0 0 0",
        "-> 198.51.100.2:8080 Masq 1 0 0",
    ];
    assert_eq!(table(&part("drained")), drained, "log:\n{log}");
    assert!(part("reload").contains("applied"), "{}", part("reload"));
    assert_eq!(
        table(&part("reloaded")),
        drained,
        "after a reload\nlog:\n{log}"
    );
    let undrained = [
        "TCP 192.0.2.10:80 wrr",
        "-> 198.51.100.1:8080 Masq 3 0 0",
        "-> 198.51.100.2:8080 Masq 1 0 0",
    ];
    assert_eq!(table(&part("undrained")), undrained, "log:\n{log}");

    // The kernel's counters, as the metrics read them at the scrape.
    let metrics = part("metrics");
    let conns = metrics
        .lines()
        .find_map(|l| {
            l.strip_prefix(
                "keepalived_ipvs_service_connections_total{virtual_server=\"[192.0.2.10]:tcp:80\"} ",
            )?
            .parse::<f64>()
            .ok()
        })
        .unwrap_or_else(|| panic!("no connection counter for the service:\n{metrics}"));
    println!("control: the kernel counted {conns} connections to the virtual server");
    assert!(conns >= 1.0, "{metrics}");
    assert!(
        metrics.contains(
            "keepalived_lvs_real_server_drained{virtual_server=\"[192.0.2.10]:tcp:80\",real_server=\"[198.51.100.1]:tcp:8080\"} 0"
        ),
        "{metrics}"
    );
}
