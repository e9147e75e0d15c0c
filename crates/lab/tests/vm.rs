//! The IPVS VM harness against Debian's real kernel under QEMU: the IPVS
//! table through ipvsadm, a cargo-built binary with its libraries, and
//! network namespaces with veth inside the VM. Each test skips (with a
//! message) when QEMU, the helper packages or the kernel package are missing.

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
