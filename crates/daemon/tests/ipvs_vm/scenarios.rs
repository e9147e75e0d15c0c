//! keepalived-rs against the real kernel IPVS (Debian's kernel under QEMU, see lab::vm), one
//! VM boot for several scenarios in turn:
//!
//! * a `virtual_server_group` with an address range and a fwmark entry;
//! * quorum lost (both real servers' checks fail): the sorry server serves; the real servers
//!   recover (a listener appears) and replace it; `sorry_server_inhibit` keeps the sorry
//!   server at weight 0 while the quorum holds;
//! * real traffic from a client namespace through keepalived-rs's NAT service to two real
//!   servers (namespaces behind a bridge) in rr order;
//! * the global settings: `lvs_timeouts` (`ipvsadm -L --timeout`), `lvs_sync_daemon` without a
//!   VRRP instance (both daemons, run by the checker: `ipvsadm -L --daemon`), `lvs_flush` at
//!   start and `lvs_flush_on_stop`;
//! * SIGTERM removes our services and leaves a foreign one alone; with `-I` they stay.
//!
//! Skips with a message when the VM cannot be had here.

use std::collections::BTreeMap;

use lab::vm::VmBuilder;

use super::sections;

const CONF: &str = "\
global_defs {
    lvs_timeouts tcp 901 tcpfin 61 udp 301
    lvs_sync_daemon br0 id 5
}
virtual_server_group web {
    203.0.113.30-32 80
    fwmark 9
}
virtual_server group web {
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 192.0.2.21 80 {
        weight 2
    }
}
virtual_server 203.0.113.10 80 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 192.0.2.21 80 {
        TCP_CHECK {
            connect_timeout 1
            retry 0
            warmup 0
        }
    }
    real_server 192.0.2.22 80 {
        TCP_CHECK {
            connect_timeout 1
            retry 0
            warmup 0
        }
    }
}
virtual_server 203.0.113.20 80 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    quorum 2
    sorry_server 192.0.2.23 80
    real_server 192.0.2.21 8081 {
        TCP_CHECK {
            connect_timeout 1
            retry 0
            warmup 0
        }
    }
    real_server 192.0.2.22 8081 {
        TCP_CHECK {
            connect_timeout 1
            retry 0
            warmup 0
        }
    }
}
virtual_server 203.0.113.21 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    sorry_server 192.0.2.23 80
    sorry_server_inhibit
    real_server 192.0.2.21 80 {
        weight 1
    }
}
";

const SCRIPT: &str = r#"set -e
waitfor() {
  for i in $(seq 150); do ipvsadm -Ln | grep -q "$1" && return 0; sleep 0.2; done
  echo "timeout waiting for $1"; ipvsadm -Ln; cat /tmp/k.log; exit 1
}
waitgone() {
  for i in $(seq 150); do ipvsadm -Ln | grep -q "$1" || return 0; sleep 0.2; done
  echo "timeout waiting for $1 to go"; ipvsadm -Ln; cat /tmp/k.log; exit 1
}
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
ipvsadm -A -u 198.51.100.99:53 -s rr

keepalived-rs -n -l -f /etc/k.conf > /tmp/k.log 2>&1 &
KPID=$!
waitfor "192.0.2.23:80 *Masq *1 "
waitfor "192.0.2.22:80 *Masq"
echo "== A"; ipvsadm -Ln
echo "== TIMEOUT"; ipvsadm -L --timeout
echo "== DAEMON"; ipvsadm -L --daemon
echo "== NAT"
for n in 1 2 3 4; do printf "GET / HTTP/1.0\r\n\r\n" | ip netns exec client nc -w 5 203.0.113.10 80 | tail -1; done
for i in 1 2; do
  mkdir -p /www/alt$i && echo alt$i > /www/alt$i/index.html
  ip netns exec rs$i httpd -p 8081 -h /www/alt$i
done
waitfor "192.0.2.22:8081"
waitgone "192.0.2.23:80 *Masq *1 "
echo "== B"; ipvsadm -Ln
kill -TERM $KPID; wait $KPID || true
echo "== C"; ipvsadm -Ln

keepalived-rs -n -l -I -f /etc/k.conf > /tmp/k2.log 2>&1 &
KPID=$!
waitfor "192.0.2.22:8081"
kill -TERM $KPID; wait $KPID || true
echo "== D"; ipvsadm -Ln

keepalived-rs -n -l -f /etc/k3.conf > /tmp/k3.log 2>&1 &
KPID=$!
waitgone "198.51.100.99:53"
waitfor "192.0.2.21:80 *Route"
echo "== E"; ipvsadm -Ln
ipvsadm -A -u 198.51.100.99:53 -s rr
kill -TERM $KPID; wait $KPID || true
echo "== F"; ipvsadm -Ln
echo "== LOG"; cat /tmp/k.log
"#;

/// An `ipvsadm -Ln` listing as service → its real servers (address, method, weight), both
/// sorted (the kernel lists services in hash order).
fn table(listing: &str) -> BTreeMap<String, Vec<String>> {
    let mut t: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut current = None;
    for line in listing.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["TCP" | "UDP" | "FWM", ..] => {
                let key = words.join(" ");
                t.entry(key.clone()).or_default();
                current = Some(key);
            }
            ["->", addr, method, weight, ..] if *addr != "RemoteAddress:Port" => {
                if let Some(k) = &current {
                    t.entry(k.clone())
                        .or_default()
                        .push(format!("{addr} {method} {weight}"));
                }
            }
            _ => {}
        }
    }
    for v in t.values_mut() {
        v.sort();
    }
    t
}

fn expect(rows: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
    rows.iter()
        .map(|(k, v)| {
            let mut v: Vec<String> = v.iter().map(|s| (*s).to_owned()).collect();
            v.sort();
            ((*k).to_owned(), v)
        })
        .collect()
}

#[test]
fn keepalived_rs_scenarios_against_the_kernel_ipvs() {
    let bin = super::ours_bin();
    let flush = CONF.replacen(
        "global_defs {\n",
        "global_defs {\n    lvs_flush\n    lvs_flush_on_stop\n",
        1,
    );
    let builder = VmBuilder::new()
        .binary(bin, "/usr/sbin/keepalived-rs")
        .timeout(std::time::Duration::from_secs(300))
        .data("/etc/k.conf", CONF, 0o644)
        .data("/etc/k3.conf", flush, 0o644);
    let Some(vm) = builder.build_or_skip().expect("building the VM") else {
        return;
    };
    let out = vm.run(SCRIPT).expect("running the VM");
    assert_eq!(out.exit_code, 0, "{}\n{}", out.stdout, out.stderr);
    let s = sections(&out.stdout);
    let get = |name: &str| s.get(name).cloned().unwrap_or_default();
    let log = get("LOG");
    let group: [(&str, &[&str]); 4] = [
        ("TCP 203.0.113.30:80 rr", &["192.0.2.21:80 Route 2"]),
        ("TCP 203.0.113.31:80 rr", &["192.0.2.21:80 Route 2"]),
        ("TCP 203.0.113.32:80 rr", &["192.0.2.21:80 Route 2"]),
        ("FWM 9 rr", &["192.0.2.21:80 Route 2"]),
    ];
    let common: Vec<(&str, &[&str])> = group
        .iter()
        .copied()
        .chain([
            (
                "TCP 203.0.113.10:80 rr",
                &["192.0.2.21:80 Masq 1", "192.0.2.22:80 Masq 1"][..],
            ),
            (
                "TCP 203.0.113.21:80 rr",
                &["192.0.2.21:80 Masq 1", "192.0.2.23:80 Masq 0"][..],
            ),
            ("UDP 198.51.100.99:53 rr", &[][..]),
        ])
        .collect();
    let mut a = common.clone();
    a.push(("TCP 203.0.113.20:80 rr", &["192.0.2.23:80 Masq 1"]));
    assert_eq!(
        table(&get("A")),
        expect(&a),
        "quorum lost:\n{}\n{log}",
        get("A")
    );
    let mut b = common.clone();
    b.push((
        "TCP 203.0.113.20:80 rr",
        &["192.0.2.21:8081 Masq 1", "192.0.2.22:8081 Masq 1"],
    ));
    assert_eq!(
        table(&get("B")),
        expect(&b),
        "recovered:\n{}\n{log}",
        get("B")
    );
    assert!(log.contains("Gained quorum"), "{log}");

    let nat = get("NAT");
    let replies: Vec<&str> = nat.lines().map(str::trim).collect();
    assert_eq!(replies.len(), 4, "{replies:?}");
    for pair in replies.windows(2) {
        assert_ne!(pair[0], pair[1], "rr alternates: {replies:?}");
    }
    let mut seen = replies.clone();
    seen.sort_unstable();
    assert_eq!(seen, ["rs1", "rs1", "rs2", "rs2"]);

    assert!(
        get("TIMEOUT").contains("901 61 301"),
        "lvs_timeouts: {}",
        get("TIMEOUT")
    );
    for role in ["master", "backup"] {
        assert!(
            get("DAEMON").contains(&format!("{role} sync daemon (mcast=br0, syncid=5")),
            "lvs_sync_daemon: {}",
            get("DAEMON")
        );
    }
    assert_eq!(
        table(&get("C")),
        expect(&[("UDP 198.51.100.99:53 rr", &[])]),
        "SIGTERM removes ours only:\n{}",
        get("C")
    );
    assert_eq!(table(&get("D")), expect(&b), "-I keeps them:\n{}", get("D"));
    let mut e = b.clone();
    e.retain(|(k, _)| !k.starts_with("UDP"));
    assert_eq!(table(&get("E")), expect(&e), "lvs_flush:\n{}", get("E"));
    assert_eq!(
        table(&get("F")),
        expect(&[]),
        "lvs_flush_on_stop:\n{}",
        get("F")
    );
}
