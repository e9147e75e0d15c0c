//! `lvs_sync_daemon` against the real kernel IPVS (Debian's kernel under QEMU, see lab::vm), one
//! VM boot:
//!
//! * with a VRRP instance named, the VRRP engine runs the sync daemon after that instance: the
//!   instance, alone on its link, becomes MASTER and `ipvsadm -L --daemon` shows the master
//!   sync daemon only, with the instance's VRID as sync id; SIGTERM stops it;
//! * without an instance, the checker runs both the master and the backup daemon with the
//!   configured `id`, and stops both at SIGTERM.
//!
//! Skips with a message when the VM cannot be had here.

use lab::vm::VmBuilder;

use super::sections;

const VRRP_CONF: &str = "\
global_defs {
    lvs_sync_daemon v0 VI_1 port 8850
}
vrrp_instance VI_1 {
    interface v0
    virtual_router_id 51
    priority 100
    advert_int 1
    virtual_ipaddress {
        192.0.2.100/32
    }
}
";

const CHECKER_CONF: &str = "\
global_defs {
    lvs_sync_daemon v0 id 7
}
virtual_server 203.0.113.10 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 192.0.2.21 80 {
        weight 1
    }
}
";

const SCRIPT: &str = r#"set -e
daemons() { ipvsadm -L --daemon; }
waitfor() {
  for i in $(seq 150); do daemons | grep -q "$1" && return 0; sleep 0.2; done
  echo "timeout waiting for $1"; daemons; cat /tmp/k.log; exit 1
}
ip link add v0 type veth peer name v1
ip link set v1 up
ip link set v0 up
ip addr add 192.0.2.1/24 dev v0

keepalived-rs -n -l -f /etc/vrrp.conf > /tmp/k.log 2>&1 &
KPID=$!
waitfor "master sync daemon"
sleep 1
echo "== MASTER"; daemons
kill -TERM $KPID; wait $KPID || true
echo "== STOPPED"; daemons
echo "== LOG"; cat /tmp/k.log

keepalived-rs -n -l -f /etc/checker.conf > /tmp/k2.log 2>&1 &
KPID=$!
waitfor "backup sync daemon"
waitfor "master sync daemon"
echo "== BOTH"; daemons
kill -TERM $KPID; wait $KPID || true
echo "== STOPPED2"; daemons
echo "== LOG2"; cat /tmp/k2.log
"#;

/// The `ipvsadm -L --daemon` lines, each as "ROLE syncid=N".
fn daemons(listing: &str) -> Vec<String> {
    let mut out: Vec<String> = listing
        .lines()
        .filter_map(|l| {
            let role = l.split(" sync daemon").next()?;
            let id = l.split("syncid=").nth(1)?.split([',', ')']).next()?;
            Some(format!("{} syncid={id}", role.trim()))
        })
        .collect();
    out.sort();
    out
}

#[test]
fn the_sync_daemon_follows_its_vrrp_instance_or_runs_both_from_the_checker() {
    let bin = super::ours_bin();
    let builder = VmBuilder::new()
        .binary(bin, "/usr/sbin/keepalived-rs")
        .timeout(std::time::Duration::from_secs(300))
        .data("/etc/vrrp.conf", VRRP_CONF, 0o644)
        .data("/etc/checker.conf", CHECKER_CONF, 0o644);
    let Some(vm) = builder.build_or_skip().expect("building the VM") else {
        return;
    };
    let out = vm.run(SCRIPT).expect("running the VM");
    assert_eq!(out.exit_code, 0, "{}\n{}", out.stdout, out.stderr);
    let s = sections(&out.stdout);
    let get = |name: &str| s.get(name).cloned().unwrap_or_default();
    let (log, log2) = (get("LOG"), get("LOG2"));

    let master = get("MASTER");
    assert_eq!(
        daemons(&master),
        ["master syncid=51"],
        "the master daemon only, with the VRID:\n{master}\n{log}"
    );
    assert!(master.contains("mcast=v0"), "{master}");
    assert!(master.contains("port=8850"), "{master}");
    assert!(log.contains("Entering MASTER STATE"), "{log}");
    assert!(
        log.contains("started the backup sync daemon"),
        "backup first, while BACKUP:\n{log}"
    );
    assert!(log.contains("stopped the backup sync daemon"), "{log}");
    assert!(daemons(&get("STOPPED")).is_empty(), "{}", get("STOPPED"));

    let both = get("BOTH");
    assert_eq!(
        daemons(&both),
        ["backup syncid=7", "master syncid=7"],
        "{both}\n{log2}"
    );
    assert!(daemons(&get("STOPPED2")).is_empty(), "{}", get("STOPPED2"));
}
