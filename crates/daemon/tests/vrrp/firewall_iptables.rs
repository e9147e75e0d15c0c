//! The legacy accept-mode firewall (`vrrp_iptables KA_IN KA_OUT`, with and without ipsets),
//! ours only (Debian's keepalived is built without iptables): ha1 runs the daemon with the
//! operator's chains jumped to from INPUT and OUTPUT, ha2 connects. While a strict instance
//! is master, its VIPs (IPv4, IPv6, link-local) get no answer and ha1's own addresses answer;
//! `accept` and the owner answer; the VIPs are in the ipsets; sets and rules an earlier run
//! left (dropping ha1's own address) are replaced; when a peer takes over the VIP leaves the
//! set; SIGTERM leaves neither rules nor sets. With `vrrp_ipsets` alone, one rule per
//! address. Needs root, iptables and ipset (scripts/test.sh installs them; skips otherwise).

use std::time::Duration;

use super::firewall::{listen, probe};
use crate::support::{Impl, Router, skip_reason_for, two_hosts};
use lab::{Host, wait_until};

const POLL: Duration = Duration::from_millis(20);

fn conf(ipsets: &str) -> String {
    format!(
        "global_defs {{\n    vrrp_strict\n    vrrp_iptables KA_IN KA_OUT\n{ipsets}}}\n{}",
        super::firewall::strict_instances(false)
    )
}

fn sh(host: &Host, script: &str) -> String {
    let out = host.exec_sh(script);
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// The operator's chains, jumped to from INPUT and OUTPUT, both families.
fn chains(host: &Host) {
    for prog in ["iptables", "ip6tables"] {
        let out = host.exec_sh(&format!(
            "{prog} -N KA_IN && {prog} -N KA_OUT && {prog} -A INPUT -j KA_IN && {prog} -A OUTPUT -j KA_OUT"
        ));
        assert!(out.status.success(), "{prog}: {out:?}");
    }
}

fn skip() -> bool {
    if skip_reason_for(false, true).is_some() {
        return true;
    }
    for prog in ["iptables-restore", "ipset"] {
        if std::process::Command::new(prog)
            .arg("--version")
            .output()
            .is_err()
        {
            eprintln!("skipping: {prog} not installed (apt-get install iptables ipset)");
            return true;
        }
    }
    false
}

const VIPS: [&str; 5] = [
    "192.0.2.100",
    "192.0.2.110",
    "192.0.2.120",
    "2001:db8::100",
    "fe80::100",
];

#[test]
fn iptables_with_ipsets_drops_a_strict_masters_vips() {
    if skip() {
        return;
    }
    let net = two_hosts("kaipt");
    let (ha1, ha2) = (&net.hosts[0], &net.hosts[1]);
    chains(ha1);
    // What an earlier run left: the set with ha1's own address, and its rule.
    let stale = sh(
        ha1,
        "ipset create keepalived hash:ip family inet && ipset add keepalived 192.0.2.1 && \
         iptables -A KA_IN -m set --match-set keepalived dst -j DROP && echo ok",
    );
    assert!(stale.contains("ok"), "{stale}");
    let mut listener = listen(ha1);
    assert_eq!(
        probe(ha2, &["192.0.2.1"])["192.0.2.1"],
        "timeout",
        "stale set blocks"
    );

    let mut router = Router::start(Impl::Ours, ha1, "ipt", &conf(""));
    let master = wait_until(Duration::from_secs(15), POLL, || {
        VIPS.iter().all(|v| ha1.has_addr(v.parse().expect("vip")))
    });
    assert!(master.is_some(), "not master\n{}", router.describe());
    let answers = probe(
        ha2,
        &[
            "192.0.2.1",
            "192.0.2.100",
            "192.0.2.110",
            "192.0.2.120",
            "2001:db8::1",
            "2001:db8::100",
            "fe80::100%eth0",
        ],
    );
    let want: std::collections::BTreeMap<String, String> = [
        ("192.0.2.1", "open"),
        ("192.0.2.100", "timeout"),
        ("192.0.2.110", "open"),
        ("192.0.2.120", "open"),
        ("2001:db8::1", "open"),
        ("2001:db8::100", "timeout"),
        ("fe80::100%eth0", "timeout"),
    ]
    .iter()
    .map(|(a, r)| ((*a).to_owned(), (*r).to_owned()))
    .collect();
    assert_eq!(answers, want, "{}", router.describe());
    let sets = sh(
        ha1,
        "ipset list keepalived; ipset list keepalived6; ipset list keepalived_if6",
    );
    assert!(sets.contains("\n192.0.2.100\n"), "{sets}");
    assert!(
        !sets.contains("192.0.2.1\n"),
        "stale member flushed: {sets}"
    );
    assert!(sets.contains("2001:db8::100"), "{sets}");
    assert!(sets.contains("fe80::100,eth0"), "{sets}");
    // Neighbour discovery for the IPv6 VIP passed.
    let neigh = ha2
        .ip(["-6", "neigh", "show", "2001:db8::100", "dev", "eth0"])
        .unwrap_or_default();
    assert!(neigh.contains("lladdr"), "{neigh}");
    let rules = sh(ha1, "iptables -S KA_IN; iptables -S KA_OUT");
    assert_eq!(
        rules.matches("--match-set keepalived").count(),
        2,
        "one rule per chain, the stale one replaced: {rules}"
    );

    // A peer takes V4: its VIP leaves the set.
    let peer_conf = "vrrp_instance V4 {\n    interface eth0\n    virtual_router_id 51\n    \
                     priority 200\n    version 3\n    advert_int 0.3\n    virtual_ipaddress {\n        \
                     192.0.2.100/24\n    }\n}\n";
    let mut peer = Router::start(Impl::Ours, ha2, "iptpeer", peer_conf);
    let left = wait_until(Duration::from_secs(15), POLL, || {
        !sh(ha1, "ipset list keepalived").contains("192.0.2.100")
            && !ha1.has_addr("192.0.2.100".parse().expect("vip"))
    });
    assert!(left.is_some(), "{}", sh(ha1, "ipset list keepalived"));
    peer.term();
    let _ = peer.wait_exit(Duration::from_secs(10));

    router.term();
    assert!(
        router.wait_exit(Duration::from_secs(10)).is_some(),
        "did not stop"
    );
    let after = sh(
        ha1,
        "ipset list -n; iptables -S KA_IN; ip6tables -S KA_IN; iptables -S KA_OUT",
    );
    assert!(!after.contains("keepalived"), "{after}");
    listener.kill();
}

#[test]
fn iptables_without_ipsets_has_a_rule_per_address() {
    if skip() {
        return;
    }
    let net = two_hosts("kaipa");
    let (ha1, ha2) = (&net.hosts[0], &net.hosts[1]);
    chains(ha1);
    let mut listener = listen(ha1);
    let mut router = Router::start(Impl::Ours, ha1, "ipa", &conf("    vrrp_ipsets\n"));
    let master = wait_until(Duration::from_secs(15), POLL, || {
        VIPS.iter().all(|v| ha1.has_addr(v.parse().expect("vip")))
    });
    assert!(master.is_some(), "not master\n{}", router.describe());
    let answers = probe(
        ha2,
        &["192.0.2.1", "192.0.2.100", "192.0.2.110", "2001:db8::100"],
    );
    assert_eq!(answers["192.0.2.1"], "open");
    assert_eq!(answers["192.0.2.100"], "timeout");
    assert_eq!(answers["192.0.2.110"], "open");
    assert_eq!(answers["2001:db8::100"], "timeout");
    let rules = sh(ha1, "iptables -S KA_IN; iptables -S KA_OUT");
    assert!(
        rules.contains("-A KA_IN -d 192.0.2.100/32 -j DROP"),
        "{rules}"
    );
    assert!(
        rules.contains("-A KA_OUT -s 192.0.2.100/32 -j DROP"),
        "{rules}"
    );
    assert!(!sh(ha1, "ipset list -n").contains("keepalived"));
    router.term();
    assert!(
        router.wait_exit(Duration::from_secs(10)).is_some(),
        "did not stop"
    );
    let after = sh(
        ha1,
        "iptables -S KA_IN; ip6tables -S KA_IN; iptables -S KA_OUT",
    );
    assert!(!after.contains("DROP"), "{after}");
    listener.kill();
}
