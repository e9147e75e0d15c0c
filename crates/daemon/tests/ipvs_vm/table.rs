//! keepalived-rs programming the real kernel IPVS, inside Debian's kernel under QEMU (the host
//! kernel has none; see lab::vm): NAT with persistence and weights, a DR fwmark service, a real
//! server whose TCP_CHECK fails removed, and one with `inhibit_on_failure` kept at weight 0 —
//! read back with `ipvsadm -Ln`; a scheduler this kernel lacks (`twos`, absent from Debian's
//! 6.1) is a clear error naming it, and the other services are programmed all the same. Skips with a message when the VM cannot be had here.

use lab::vm::VmBuilder;

use super::table;

const CONF: &str = "\
virtual_server 192.0.2.10 80 {
    delay_loop 1
    lb_algo wrr
    lb_kind NAT
    protocol TCP
    persistence_timeout 300
    real_server 198.51.100.1 8080 {
        weight 3
    }
    real_server 198.51.100.2 8080 {
        weight 1
    }
    real_server 198.51.100.4 8080 {
        weight 5
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
    real_server 198.51.100.5 8080 {
        weight 4
        inhibit_on_failure
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
}
virtual_server 192.0.2.11 80 {
    lb_algo twos
    lb_kind NAT
    protocol TCP
    real_server 198.51.100.6 8080 {
        weight 1
    }
}
virtual_server fwmark 7 {
    lb_algo rr
    lb_kind DR
    real_server 198.51.100.3 0 {
        weight 2
    }
}
";

#[test]
fn keepalived_rs_programs_the_kernel_ipvs_table() {
    let bin = super::ours_bin();
    let builder = VmBuilder::new()
        .binary(bin, "/usr/sbin/keepalived-rs")
        .data("/etc/keepalived.conf", CONF, 0o644);
    let Some(vm) = builder.build_or_skip().expect("building the VM") else {
        return;
    };
    // No route to 198.51.100.0/24 in the VM: both TCP_CHECKs fail at once.
    let script = "(/usr/sbin/keepalived-rs -n -l -f /etc/keepalived.conf > /tmp/k.log 2>&1 &)\n\
                  sleep 5\nipvsadm -Ln\necho ---\ncat /tmp/k.log\n";
    let out = vm.run(script).expect("running the VM");
    assert_eq!(out.exit_code, 0, "{}\n{}", out.stdout, out.stderr);
    let (ipvsadm, log) = out.stdout.split_once("---").unwrap_or((&out.stdout, ""));
    assert_eq!(
        table(ipvsadm),
        [
            "TCP 192.0.2.10:80 wrr persistent 300",
            "-> 198.51.100.1:8080 Masq 3 0 0",
            "-> 198.51.100.2:8080 Masq 1 0 0",
            "-> 198.51.100.5:8080 Masq 0 0 0",
            "FWM 7 rr",
            "-> 198.51.100.3:0 Route 2 0 0",
        ],
        "ipvsadm -Ln:\n{ipvsadm}\nlog:\n{log}"
    );
    assert!(
        log.contains("IPVS: remove real server 198.51.100.4:8080"),
        "{log}"
    );
    assert!(
        log.contains("IPVS: set real server 198.51.100.5:8080 of tcp 192.0.2.10:80 weight 0"),
        "{log}"
    );
    assert!(!log.contains("IPVS is not available"), "{log}");
    assert!(
        log.lines()
            .any(|l| l.contains("192.0.2.11:80") && l.contains("twos") && l.contains("scheduler")),
        "no clear error for the missing scheduler:\n{log}"
    );
}
