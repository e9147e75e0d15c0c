//! `nftables_ipvs` in the IPVS VM (with the nf_tables module): a `virtual_server_group` of
//! address ranges becomes one fwmark service, nftables marks the group's addresses and port,
//! and real TCP traffic from a client namespace to a group address reaches the real servers
//! (NAT, rr) through the fwmark service; a reload shrinks the group and adds another (the
//! first service stays, the maps change); SIGTERM removes the services and the tables.
//! Differential: Debian's keepalived 2.2.7 (built with NFTABLES) runs the same configuration
//! first, in the same VM, and the IPVS table and nft ruleset of both are compared.
//!
//! Skips with a message when the VM cannot be had here.

use std::collections::BTreeMap;

use lab::vm::VmBuilder;

use super::sections;

const CONF: &str = "\
global_defs {
    nftables_ipvs
    nftables_ipvs_start_fwmark 3000
}
virtual_server_group web {
    203.0.113.30-32 80
}
virtual_server group web {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 192.0.2.21 80 {
        weight 1
    }
    real_server 192.0.2.22 80 {
        weight 1
    }
}
";

/// The reload: `web` shrinks to one address, `api` is new.
const CONF2: &str = "\
global_defs {
    nftables_ipvs
    nftables_ipvs_start_fwmark 3000
}
virtual_server_group web {
    203.0.113.30 80
}
virtual_server_group api {
    203.0.113.33 80
}
virtual_server group web {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 192.0.2.21 80 {
        weight 1
    }
    real_server 192.0.2.22 80 {
        weight 1
    }
}
virtual_server group api {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 192.0.2.22 80 {
        weight 1
    }
}
";

const SCRIPT: &str = r#"set -e
waitfor() {
  for i in $(seq 150); do ipvsadm -Ln | grep -q "$1" && return 0; sleep 0.2; done
  echo "timeout waiting for $1"; ipvsadm -Ln; cat /tmp/*.log; exit 1
}
tryfor() {
  for i in $(seq 50); do ipvsadm -Ln | grep -q "$1" && return 0; sleep 0.2; done
  return 1
}
waitgone() {
  for i in $(seq 150); do ipvsadm -Ln | grep -q "$1" || return 0; sleep 0.2; done
  echo "timeout waiting for $1 to go"; ipvsadm -Ln; cat /tmp/*.log; exit 1
}
get() {
  printf "GET / HTTP/1.0\r\n\r\n" | ip netns exec client nc -w 5 $1 80 | tail -1
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
for a in 30 31 32 33; do ip addr add 203.0.113.$a/32 dev vip0; done
cp /etc/k1.conf /etc/k.conf

if [ -x /usr/sbin/keepalived ]; then
  mkdir -p /run/ka
  keepalived -n -l -D -C -f /etc/k.conf -p /run/ka/k.pid -c /run/ka/c.pid > /tmp/ka.log 2>&1 &
  KA=$!
  if tryfor "FWM *3000"; then
    echo "== KA_IPVS"; ipvsadm -Ln
    echo "== KA_NFT"; nft list ruleset
  else
    echo "== KA_FAILED"; cat /tmp/ka.log; ipvsadm -Ln; nft list ruleset
  fi
  kill -TERM $KA; wait $KA || true
  echo "== KA_AFTER"; ipvsadm -Ln; nft list ruleset
  ipvsadm -C; nft flush ruleset
fi

keepalived-rs -n -l -f /etc/k.conf > /tmp/k.log 2>&1 &
KPID=$!
waitfor "FWM *3000"
waitfor "192.0.2.22:80"
echo "== IPVS"; ipvsadm -Ln
echo "== NFT"; nft list ruleset
echo "== GET"
for a in 30 31 32 31; do get 203.0.113.$a; done
echo "== STATS"; ipvsadm -Ln --stats
cp /etc/k2.conf /etc/k.conf
kill -HUP $KPID
waitfor "FWM *3001"
echo "== IPVS2"; ipvsadm -Ln
echo "== NFT2"; nft list ruleset
echo "== GET2"
get 203.0.113.33; get 203.0.113.33; get 203.0.113.30; get 203.0.113.30
echo "== GET2_GONE"
get 203.0.113.31 || true
kill -TERM $KPID; wait $KPID || true
echo "== AFTER"; ipvsadm -Ln; nft list ruleset
echo "== LOG"; cat /tmp/k.log
"#;

/// `ipvsadm -Ln` as service -> sorted real servers ("addr method weight").
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

/// A ruleset with its counters zeroed and whitespace normalised, for comparison (without
/// keepalived's console log lines, which the serial console interleaves).
fn ruleset(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.starts_with("Keepalived"))
        .map(|l| {
            let mut words: Vec<String> = l.split_whitespace().map(str::to_owned).collect();
            for i in 0..words.len() {
                if i > 0 && (words[i - 1] == "packets" || words[i - 1] == "bytes") {
                    words[i] = "N".to_owned();
                }
            }
            words.join(" ")
        })
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn nftables_ipvs_marks_a_group_for_one_fwmark_service() {
    let bin = super::ours_bin();
    let mut builder = VmBuilder::new()
        .binary(bin, "/usr/sbin/keepalived-rs")
        .binary("/usr/sbin/nft", "/usr/sbin/nft")
        .module("nf_tables")
        .memory_mb(768)
        .timeout(std::time::Duration::from_secs(300))
        .data("/etc/k1.conf", CONF, 0o644)
        .data("/etc/k2.conf", CONF2, 0o644);
    if std::path::Path::new("/usr/sbin/keepalived").exists() {
        builder = builder.binary("/usr/sbin/keepalived", "/usr/sbin/keepalived");
    }
    let Some(vm) = builder.build_or_skip().expect("building the VM") else {
        return;
    };
    let out = vm.run(SCRIPT).expect("running the VM");
    assert_eq!(out.exit_code, 0, "{}\n{}", out.stdout, out.stderr);
    let s = sections(&out.stdout);
    let get = |name: &str| s.get(name).cloned().unwrap_or_default();
    let log = get("LOG");

    let dests = vec![
        "192.0.2.21:80 Masq 1".to_owned(),
        "192.0.2.22:80 Masq 1".to_owned(),
    ];
    let want: BTreeMap<String, Vec<String>> = [("FWM 3000 rr".to_owned(), dests.clone())].into();
    assert_eq!(table(&get("IPVS")), want, "{}\n{log}", get("IPVS"));
    let nft = get("NFT");
    for needle in [
        "table ip keepalived_ipvs {",
        "map tcp_map {",
        "type ipv4_addr . inet_service : mark",
        "elements = { 203.0.113.30-203.0.113.32 . 80 : 0x00000bb8 }",
        "type filter hook input priority filter - 1; policy accept;",
        "meta mark set ip daddr . tcp dport map @tcp_map return",
    ] {
        assert!(nft.contains(needle), "{needle}:\n{nft}");
    }

    // Real traffic to each group address, through the one service, in rr order.
    let replies: Vec<String> = get("GET").lines().map(|l| l.trim().to_owned()).collect();
    assert_eq!(replies.len(), 4, "{replies:?}\n{log}");
    for pair in replies.windows(2) {
        assert_ne!(pair[0], pair[1], "rr alternates: {replies:?}");
    }
    assert!(get("STATS").contains("FWM  3000") || get("STATS").contains("FWM 3000"));

    // Reload: web keeps its mark and service, api gets the next mark.
    let want2: BTreeMap<String, Vec<String>> = [
        ("FWM 3000 rr".to_owned(), dests),
        (
            "FWM 3001 rr".to_owned(),
            vec!["192.0.2.22:80 Masq 1".to_owned()],
        ),
    ]
    .into();
    assert_eq!(table(&get("IPVS2")), want2, "{}\n{log}", get("IPVS2"));
    let nft2 = get("NFT2");
    assert!(
        nft2.contains("203.0.113.30 . 80 : 0x00000bb8")
            && nft2.contains("203.0.113.33 . 80 : 0x00000bb9"),
        "{nft2}"
    );
    assert!(!nft2.contains("203.0.113.31"), "{nft2}");
    let get2 = get("GET2");
    let r2: Vec<&str> = get2.lines().map(str::trim).collect();
    assert_eq!(r2.len(), 4, "{r2:?}");
    assert_eq!(&r2[..2], ["rs2", "rs2"], "api has rs2 only: {r2:?}");
    assert_ne!(r2[2], r2[3], "web still alternates: {r2:?}");
    assert!(
        get("GET2_GONE").trim().is_empty(),
        "31 unmarked: {}",
        get("GET2_GONE")
    );

    // SIGTERM: services and tables gone.
    let after = get("AFTER");
    assert!(table(&after).is_empty(), "{after}");
    assert!(!after.contains("keepalived_ipvs"), "{after}");

    // Differential against keepalived 2.2.7, when it ran.
    if let Some(failed) = s.get("KA_FAILED") {
        eprintln!("keepalived 2.2.7 did not program IPVS in the VM; no differential:\n{failed}");
        return;
    }
    if let (Some(ka_ipvs), Some(ka_nft)) = (s.get("KA_IPVS"), s.get("KA_NFT")) {
        assert_eq!(
            table(ka_ipvs),
            table(&get("IPVS")),
            "IPVS: keepalived vs ours"
        );
        assert_eq!(
            ruleset(ka_nft),
            ruleset(&nft),
            "nft: keepalived vs ours:\n{ka_nft}\n{nft}"
        );
        let ka_after = get("KA_AFTER");
        assert!(table(&ka_after).is_empty(), "{ka_after}");
    }
}
