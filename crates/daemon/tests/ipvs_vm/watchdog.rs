//! The watchdog with a frozen checker engine (issue 16), against the real kernel IPVS in the
//! VM: the parent kills the silent checker and starts a new one; IPVS keeps every entry the
//! whole time (the kernel goes on forwarding), and the new checker takes the table over as it
//! finds it.

use lab::vm::VmBuilder;

use super::table;

const CONF: &str = "\
global_defs {
    checker_watchdog_timeout 2
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
fn a_frozen_checker_is_replaced_and_ipvs_keeps_its_entries() {
    let bin = super::ours_bin();
    let builder = VmBuilder::new()
        .binary(bin, "/usr/sbin/keepalived-rs")
        .data("/etc/keepalived.conf", CONF, 0o644);
    let Some(vm) = builder.build_or_skip().expect("building the VM") else {
        return;
    };
    // Freeze the checker engine (not the parent); look at IPVS during the freeze and after
    // the parent replaced it (2 s watchdog timeout, restarted at once: its first death).
    let script = "(/usr/sbin/keepalived-rs -n -l -D -f /etc/keepalived.conf -p /tmp/k.pid \
                  -c /tmp/c.pid > /tmp/k.log 2>&1 &)\n\
                  sleep 4\n\
                  echo '== before'; ipvsadm -Ln\n\
                  old=$(cat /tmp/c.pid); kill -STOP $old\n\
                  sleep 1\n\
                  echo '== frozen'; ipvsadm -Ln\n\
                  sleep 5\n\
                  echo '== after'; ipvsadm -Ln\n\
                  new=$(cat /tmp/c.pid)\n\
                  echo '== pids'; echo \"$old $new\"; test -d /proc/$old && echo old-alive\n\
                  echo '== log'; cat /tmp/k.log\n";
    let out = vm.run(script).expect("running the VM");
    assert_eq!(out.exit_code, 0, "{}\n{}", out.stdout, out.stderr);
    let s = super::sections(&out.stdout);
    let part = |name: &str| s.get(name).cloned().unwrap_or_default();
    let expected = [
        "TCP 192.0.2.10:80 wrr",
        "-> 198.51.100.1:8080 Masq 3 0 0",
        "-> 198.51.100.2:8080 Masq 1 0 0",
    ];
    let log = part("log");
    for name in ["before", "frozen", "after"] {
        assert_eq!(
            table(&part(name)),
            expected,
            "{name}:\n{}\nlog:\n{log}",
            part(name)
        );
    }
    let pids: Vec<String> = part("pids").split_whitespace().map(str::to_owned).collect();
    assert_eq!(pids.len(), 2, "{}", part("pids"));
    assert_ne!(pids[0], pids[1], "the checker was not replaced\n{log}");
    assert!(
        !part("pids").contains("old-alive"),
        "the frozen checker lives on\n{log}"
    );
    assert!(
        log.lines()
            .any(|l| l.contains("hung") && l.contains(&pids[0])),
        "no 'hung' line for {}:\n{log}",
        pids[0]
    );
}
