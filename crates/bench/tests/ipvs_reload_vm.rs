//! A reload against the real kernel's IPVS (Debian's kernel under QEMU, see lab::vm):
//! `ipvs-apply` programs a configuration with keepalived-rs's reconciler, then applies a
//! second one that changes one real server's weight: exactly one netlink request (an edit of
//! that destination), and `ipvsadm -Ln` shows the new weight with every other entry intact.
//! Skips with a message when the VM cannot be had here.

use lab::vm::VmBuilder;

fn conf(w: u32) -> String {
    let mut s = String::new();
    for v in 1..=3 {
        s.push_str(&format!(
            "virtual_server 192.0.2.{v} 80 {{\n lb_algo wrr\n lb_kind NAT\n protocol TCP\n"
        ));
        for r in 1..=3 {
            let weight = if v == 2 && r == 3 { w } else { r };
            s.push_str(&format!(
                " real_server 198.51.100.{r} 8080 {{\n  weight {weight}\n }}\n"
            ));
        }
        s.push_str("}\n");
    }
    s
}

fn field(line: &str, key: &str) -> Option<u64> {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
        .and_then(|v| v.parse().ok())
}

#[test]
fn a_reload_changing_one_weight_sends_exactly_one_netlink_request() {
    let builder = VmBuilder::new()
        .binary(env!("CARGO_BIN_EXE_ipvs-apply"), "/usr/bin/ipvs-apply")
        .data("/etc/a.conf", conf(3), 0o644)
        .data("/etc/b.conf", conf(7), 0o644);
    let Some(vm) = builder.build_or_skip().expect("building the VM") else {
        return;
    };
    let out = vm
        .run("ipvs-apply /etc/a.conf /etc/b.conf && ipvsadm -Ln")
        .expect("running the VM");
    assert_eq!(out.exit_code, 0, "{}\n{}", out.stdout, out.stderr);
    let steps: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("step="))
        .collect();
    assert_eq!(steps.len(), 2, "{}", out.stdout);
    assert_eq!(field(steps[0], "changes"), Some(12), "{}", steps[0]);
    assert_eq!(field(steps[0], "messages"), Some(12), "{}", steps[0]);
    assert_eq!(field(steps[1], "changes"), Some(1), "{}", steps[1]);
    assert_eq!(field(steps[1], "messages"), Some(1), "{}", steps[1]);
    let rows: Vec<String> = out
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| l.starts_with("TCP ") || l.starts_with("-> 198."))
        .collect();
    let mut want = Vec::new();
    for v in 1..=3 {
        want.push(format!("TCP 192.0.2.{v}:80 wrr"));
        for r in 1..=3 {
            let w = if v == 2 && r == 3 { 7 } else { r };
            want.push(format!("-> 198.51.100.{r}:8080 Masq {w} 0 0"));
        }
    }
    assert_eq!(rows, want, "{}", out.stdout);
}
