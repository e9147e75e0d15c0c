//! The `nftables_ipvs` marking rules (`keepalived_net::nft::IpvsMarks`) against the real
//! kernel's nf_tables in a lab namespace: what `nft list` shows, packets from a peer marked
//! (counted by a rule of a second table matching the mark), a range removed, a refused batch
//! that leaves nothing half-programmed and heals on the next sync, a stale table replaced,
//! and the tables gone at the end. The host kernel has no IPVS: the service side is tested
//! in the IPVS VM (crates/daemon/tests/ipvs_vm). Needs root; skips with a message otherwise.

mod common;

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::Duration;

use common::in_netns;
use keepalived_net::nft::{IpvsMarkConfig, IpvsMarks, MarkEntry, NftError};
use lab::{Host, Lab};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn entry(proto: u8, first: &str, last: &str, port: u16, mark: u32) -> MarkEntry {
    MarkEntry {
        protocol: proto,
        first: ip(first),
        last: ip(last),
        port,
        mark,
    }
}

/// `nft ARGS` on `host`.
fn nft(host: &Host, args: &str) -> String {
    let out = host.run("nft", args.split_whitespace());
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// The packets counted by the `check` table's rule for `mark`.
fn marked(host: &Host, mark: u32) -> u64 {
    let text = nft(host, "list chain ip check in");
    for line in text.lines() {
        if line.contains(&format!("meta mark 0x{mark:08x}")) {
            let mut words = line.split_whitespace();
            while let Some(w) = words.next() {
                if w == "packets" {
                    return words.next().and_then(|n| n.parse().ok()).unwrap_or(0);
                }
            }
        }
    }
    panic!("no counter for mark {mark}: {text}");
}

/// A TCP connection attempt from `from` (refused or not: the SYN is what counts).
fn knock(from: &Host, to: &str) {
    let addr: SocketAddr = to.parse().unwrap();
    in_netns(from, move || {
        let _ = TcpStream::connect_timeout(&addr, Duration::from_millis(300));
    });
}

fn in_ns(
    host: &Host,
    want: BTreeSet<MarkEntry>,
    rules: IpvsMarks,
) -> (IpvsMarks, Result<usize, NftError>) {
    in_netns(host, move || {
        let mut rules = rules;
        let r = rules.sync(&want);
        (rules, r)
    })
}

#[test]
fn groups_ranges_are_marked_updated_and_removed() {
    lab::require_root!();
    let lab = Lab::new("kanftipvs").unwrap();
    let lb = lab.host("lb").unwrap();
    let client = lab.host("client").unwrap();
    lab.veth(&lb, "eth0", &client, "eth0").unwrap();
    lb.add_addr("eth0", "192.0.2.1/24").unwrap();
    client.add_addr("eth0", "192.0.2.2/24").unwrap();
    lb.ip(["addr", "add", "2001:db8::1/64", "dev", "eth0", "nodad"])
        .unwrap();
    client
        .ip(["addr", "add", "2001:db8::2/64", "dev", "eth0", "nodad"])
        .unwrap();
    for a in ["192.0.2.10/32", "192.0.2.11/32", "192.0.2.20/32"] {
        lb.ip(["addr", "add", a, "dev", "lo"]).unwrap();
    }
    // The group addresses are on lb's loopback: reach them through lb.
    client
        .ip(["route", "add", "192.0.2.0/27", "via", "192.0.2.1"])
        .unwrap();
    // A second table, after ours (priority 0), counting packets by mark.
    let check = "add table ip check\n\
        add chain ip check in { type filter hook input priority 0; policy accept; }\n\
        add rule ip check in meta mark 1000 counter\n\
        add rule ip check in meta mark 1001 counter\n";
    let out = lb.exec_sh(&format!("nft -f - <<'EOF'\n{check}EOF\n"));
    assert!(out.status.success(), "{out:?}");

    // A stale table of our name (an earlier run): replaced by the first sync.
    let out =
        lb.exec_sh("nft add table ip keepalived_ipvs; nft add chain ip keepalived_ipvs stale");
    assert!(out.status.success(), "{out:?}");

    let rules = IpvsMarks::new(IpvsMarkConfig {
        table: "keepalived_ipvs".to_owned(),
        priority: -1,
        counters: true,
    });
    let want: BTreeSet<MarkEntry> = [
        entry(6, "192.0.2.10", "192.0.2.11", 80, 1000),
        entry(17, "192.0.2.20", "192.0.2.20", 53, 1001),
        entry(6, "2001:db8::10", "2001:db8::10", 80, 1000),
    ]
    .into();
    let (rules, r) = in_ns(&lb, want.clone(), rules);
    let n = r.unwrap();
    // delete the stale table, 2 × (table, chain), tcp map + rule ×2, udp map + rule, 3 × elements
    assert_eq!(n, 1 + 4 + 4 + 2 + 3, "messages");
    let ip4 = nft(&lb, "list table ip keepalived_ipvs");
    assert!(!ip4.contains("stale"), "{ip4}");
    assert!(
        ip4.contains("type filter hook input priority filter - 1; policy accept;"),
        "{ip4}"
    );
    assert!(
        ip4.contains("type ipv4_addr . inet_service : mark"),
        "{ip4}"
    );
    assert!(ip4.contains("192.0.2.10/31 . 80 : 0x000003e8"), "{ip4}");
    assert!(ip4.contains("192.0.2.20 . 53 : 0x000003e9"), "{ip4}");
    assert!(
        ip4.contains(
            "meta mark set ip daddr . tcp dport map @tcp_map counter packets 0 bytes 0 return"
        ),
        "{ip4}"
    );
    let ip6 = nft(&lb, "list table ip6 keepalived_ipvs");
    assert!(ip6.contains("2001:db8::10 . 80 : 0x000003e8"), "{ip6}");

    // Traffic: a SYN to a marked address and port gets mark 1000; another port none.
    assert_eq!(marked(&lb, 1000), 0);
    knock(&client, "192.0.2.11:80");
    assert_eq!(marked(&lb, 1000), 1);
    knock(&client, "192.0.2.11:81");
    knock(&client, "192.0.2.1:80");
    assert_eq!(marked(&lb, 1000), 1);

    // A range removed (a reload): 192.0.2.10-11 no longer marked.
    let smaller: BTreeSet<MarkEntry> = want
        .iter()
        .filter(|e| e.port != 80 || !e.first.is_ipv4())
        .copied()
        .collect();
    let (rules, r) = in_ns(&lb, smaller.clone(), rules);
    assert_eq!(r.unwrap(), 1, "one deletion message");
    knock(&client, "192.0.2.10:80");
    assert_eq!(marked(&lb, 1000), 1);

    // A refused batch (two ranges overlapping): the error names the map, nothing is
    // applied, and the next sync builds everything again.
    let mut bad = smaller.clone();
    bad.insert(entry(6, "192.0.2.10", "192.0.2.20", 80, 1000));
    bad.insert(entry(6, "192.0.2.11", "192.0.2.11", 80, 1001));
    let (rules, r) = in_ns(&lb, bad, rules);
    let e = r.unwrap_err().to_string();
    assert!(e.contains("map ip keepalived_ipvs tcp_map"), "{e}");
    let ip4 = nft(&lb, "list table ip keepalived_ipvs");
    assert!(!ip4.contains("192.0.2.11 . 80"), "{ip4}");
    let (rules, r) = in_ns(&lb, want.clone(), rules);
    assert!(r.unwrap() > 3, "rebuilt from scratch");
    knock(&client, "192.0.2.10:80");
    assert_eq!(marked(&lb, 1000), 2);

    // At stop: both tables gone, the other table untouched.
    in_netns(&lb, move || {
        let mut rules = rules;
        rules.remove_tables().unwrap();
    });
    let tables = nft(&lb, "list tables");
    assert!(!tables.contains("keepalived_ipvs"), "{tables}");
    assert!(tables.contains("table ip check"), "{tables}");
}
