//! The IPVS VM harness against Debian's real kernel under QEMU: the IPVS
//! table through ipvsadm, a cargo-built binary with its libraries, network
//! namespaces with veth, IPVS NAT traffic, and Debian's keepalived inside
//! the VM. Each test skips (with a message) when QEMU, the helper packages
//! or the kernel package are missing.

use std::time::{Duration, Instant};

use lab::vm::{Vm, VmBuilder, VmError};

/// The smoke script of `scripts/ipvs-vm.sh`.
const SMOKE: &str = "ipvsadm -A -t 192.0.2.10:80 -s rr
ipvsadm -a -t 192.0.2.10:80 -r 192.0.2.20:80 -m -w 3
ipvsadm -Ln
";

fn vm(builder: VmBuilder) -> Option<Vm> {
    let start = Instant::now();
    let vm = builder.build_or_skip().expect("building the VM")?;
    eprintln!(
        "VM ready (kernel {}) in {:?}",
        vm.kernel_release(),
        start.elapsed()
    );
    Some(vm)
}

#[test]
fn ipvsadm_programs_the_real_kernel_table() {
    let Some(vm) = vm(VmBuilder::new()) else {
        return;
    };
    let out = vm.run(SMOKE).expect("running the VM");
    eprintln!(
        "boot {:?}, total {:?}\n{}",
        out.boot_time, out.total_time, out.stdout
    );
    assert_eq!(out.exit_code, 0, "stderr: {}", out.stderr);
    assert!(out.module_failures.is_empty(), "{:?}", out.module_failures);
    let rows: Vec<Vec<&str>> = out
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert!(
        out.stdout.starts_with("IP Virtual Server version "),
        "{}",
        out.stdout
    );
    assert!(
        rows.contains(&vec!["TCP", "192.0.2.10:80", "rr"]),
        "{rows:?}"
    );
    assert!(
        rows.contains(&vec!["->", "192.0.2.20:80", "Masq", "3", "0", "0"]),
        "{rows:?}"
    );
}

#[test]
fn script_exit_code_stderr_and_run_files_come_back() {
    let Some(vm) = vm(VmBuilder::new()) else {
        return;
    };
    let out = vm
        .run_with(
            "echo out; echo err >&2; grep -c '^ip_vs_wrr ' /proc/modules; /etc/run.sh; exit 7",
            &[("/etc/run.sh", b"#!/bin/sh\necho from-run-file\n")],
        )
        .expect("running the VM");
    assert_eq!(out.exit_code, 7, "{}", out.console);
    assert_eq!(out.stdout, "out\n1\nfrom-run-file\n");
    assert_eq!(out.stderr, "err\n");
}

#[test]
fn a_run_past_its_timeout_is_killed_and_reported() {
    let Some(vm) = vm(VmBuilder::new().timeout(Duration::from_millis(300))) else {
        return;
    };
    let start = Instant::now();
    match vm.run("sleep 600") {
        Err(VmError::Timeout { after, .. }) => assert_eq!(after, Duration::from_millis(300)),
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn cargo_built_binary_runs_inside_with_its_libraries() {
    let probe = env!("CARGO_BIN_EXE_vm-probe");
    let Some(vm) = vm(VmBuilder::new()
        .binary(probe, "/usr/local/bin/vm-probe")
        .data("/etc/probe.conf", "hello from the host\n", 0o644))
    else {
        return;
    };
    let out = vm
        .run("cat /etc/probe.conf\nvm-probe one two --exit 5\n")
        .expect("running the VM");
    eprintln!("boot {:?}, total {:?}", out.boot_time, out.total_time);
    assert_eq!(out.exit_code, 5, "stderr: {}", out.stderr);
    let expected = format!(
        "hello from the host\nvm-probe: kernel {} ipvs true args [\"one\", \"two\", \"--exit\", \"5\"]\n",
        vm.kernel_release()
    );
    assert_eq!(out.stdout, expected);
}

#[test]
fn namespaces_and_veth_work_inside() {
    let Some(vm) = vm(VmBuilder::new()) else {
        return;
    };
    let script = "set -e
ip netns add client
ip netns add server
ip link add c0 netns client type veth peer name s0 netns server
ip -n client addr add 192.0.2.1/24 dev c0
ip -n server addr add 192.0.2.2/24 dev s0
ip -n client link set c0 up
ip -n server link set s0 up
ip netns exec client ping -c 1 -W 5 192.0.2.2 >/dev/null
echo ping-ok
ip netns list | sort
ip -n server -br addr show dev s0
";
    let out = vm.run(script).expect("running the VM");
    assert_eq!(out.exit_code, 0, "stderr: {}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.first(), Some(&"ping-ok"), "{}", out.stdout);
    assert!(lines.iter().any(|l| l.starts_with("client")), "{lines:?}");
    assert!(lines.iter().any(|l| l.starts_with("server")), "{lines:?}");
    assert!(out.stdout.contains("192.0.2.2/24"), "{}", out.stdout);
}

/// A director (the VM's own namespace) with a VIP on a dummy link, a client
/// namespace on one veth and two real servers (busybox httpd) behind a
/// bridge; the client asks the VIP four times through IPVS NAT. (Busybox's
/// static `wget` crashes here; `nc` works.)
const NAT_TRAFFIC: &str = r#"set -e
echo 1 > /proc/sys/net/ipv4/ip_forward
ip netns add client
ip link add c0 netns client type veth peer name d-c
ip -n client addr add 198.51.100.2/24 dev c0
ip -n client link set c0 up
ip -n client link set lo up
ip -n client route add default via 198.51.100.1
ip addr add 198.51.100.1/24 dev d-c
ip link set d-c up
ip link add br0 type bridge
ip link set br0 up
ip addr add 192.0.2.1/24 dev br0
for i in 1 2; do
  ip netns add rs$i
  ip link add e0 netns rs$i type veth peer name d-rs$i
  ip link set d-rs$i master br0 up
  ip -n rs$i addr add 192.0.2.2$i/24 dev e0
  ip -n rs$i link set e0 up
  ip -n rs$i link set lo up
  ip -n rs$i route add default via 192.0.2.1
  mkdir -p /www/rs$i && echo rs$i > /www/rs$i/index.html
  ip netns exec rs$i httpd -p 80 -h /www/rs$i
done
ip link add vip0 type dummy
ip link set vip0 up
ip addr add 203.0.113.10/32 dev vip0
ipvsadm -A -t 203.0.113.10:80 -s rr
ipvsadm -a -t 203.0.113.10:80 -r 192.0.2.21:80 -m
ipvsadm -a -t 203.0.113.10:80 -r 192.0.2.22:80 -m
sleep 0.5
for n in 1 2 3 4; do printf "GET / HTTP/1.0\r\n\r\n" | ip netns exec client nc -w 5 203.0.113.10 80 | tail -1; done
ipvsadm -Ln --stats | tail -3
"#;

#[test]
fn ipvs_nat_carries_traffic_from_a_client_namespace_to_real_servers() {
    let Some(vm) = vm(VmBuilder::new()) else {
        return;
    };
    let out = vm.run(NAT_TRAFFIC).expect("running the VM");
    assert_eq!(out.exit_code, 0, "stderr: {}", out.stderr);
    let replies: Vec<&str> = out.stdout.lines().take(4).collect();
    assert_eq!(replies.len(), 4, "{}", out.stdout);
    for pair in replies.windows(2) {
        assert_ne!(pair[0], pair[1], "rr alternates: {replies:?}");
    }
    let mut seen = replies.clone();
    seen.sort_unstable();
    assert_eq!(seen, ["rs1", "rs1", "rs2", "rs2"]);
}

/// Debian's keepalived (the benchmarks' reference) runs inside the VM with
/// its libraries and programs the kernel's IPVS from a config file.
#[test]
fn debian_keepalived_programs_ipvs_inside() {
    let keepalived = "/usr/sbin/keepalived";
    if !std::path::Path::new(keepalived).exists() {
        eprintln!("skipping: {keepalived} is not installed (scripts/test.sh installs it)");
        return;
    }
    let conf = "virtual_server 192.0.2.10 80 {
    lb_algo wrr
    lb_kind NAT
    protocol TCP
    real_server 192.0.2.20 80 {
        weight 2
    }
}
";
    let Some(vm) = vm(VmBuilder::new().binary(keepalived, keepalived).data(
        "/etc/keepalived/keepalived.conf",
        conf,
        0o644,
    )) else {
        return;
    };
    let script = "keepalived -n -l -C -f /etc/keepalived/keepalived.conf >/tmp/ka.log 2>&1 &
for i in $(seq 50); do ipvsadm -Ln | grep -q Masq && break; sleep 0.2; done
ipvsadm -Ln
";
    let out = vm.run(script).expect("running the VM");
    assert_eq!(out.exit_code, 0, "stderr: {}", out.stderr);
    let rows: Vec<Vec<&str>> = out
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert!(
        rows.contains(&vec!["TCP", "192.0.2.10:80", "wrr"]),
        "{rows:?}"
    );
    assert!(
        rows.contains(&vec!["->", "192.0.2.20:80", "Masq", "2", "0", "0"]),
        "{rows:?}"
    );
}
