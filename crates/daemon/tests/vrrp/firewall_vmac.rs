//! The VMAC rules of the VRRP firewall (`use_vmac`), for real and against Debian's keepalived:
//! ha1 runs the daemon with an IPv4 and an IPv6 instance on VMACs, ha2 captures. While the
//! VMACs exist, `nft list ruleset` equals keepalived's (the `vmac_map` and `vmac_set` and the
//! rules in chain `out`), also with `vrrp_strict` and `nftables_counters` where the VMAC rules
//! share the tables with the accept-mode drop rules; an IGMP report for a group joined on the
//! IPv4 VMAC reaches ha2 from ha1's eth0 MAC and never from the VMAC's MAC, and so does an MLDv2
//! report for a group joined on the IPv6 VMAC; SIGTERM leaves no ruleset. (The capture filter
//! is `ip6`, not `icmp6`: MLD reports carry a hop-by-hop header, which `icmp6` does not match.)
//! Needs root, `nft` and `tcpdump` (skips otherwise). Documentation addresses only.

use std::time::Duration;

use super::firewall::{nft, normalized_ruleset, skip};
use crate::support::files::TempDir;
use crate::support::net::tcpdump;
use crate::support::{Impl, Router, two_hosts};
use lab::{Host, wait_until};

const POLL: Duration = Duration::from_millis(20);
const VMAC4_MAC: &str = "00:00:5e:00:01:33";
const VMAC6_MAC: &str = "00:00:5e:00:02:34";
const GROUP4: &str = "239.1.2.3";
const GROUP6: &str = "ff05::1:3";

fn conf(global: &str) -> String {
    let inst = |name: &str, vrid: u8, vip: &str| {
        format!(
            "vrrp_instance {name} {{\n    interface eth0\n    virtual_router_id {vrid}\n    \
             priority 100\n    version 3\n    advert_int 0.3\n    use_vmac\n    \
             virtual_ipaddress {{\n        {vip}\n    }}\n}}\n"
        )
    };
    format!(
        "global_defs {{\n{global}}}\n{}{}",
        inst("V4", 51, "192.0.2.100/24"),
        inst("V6", 52, "2001:db8::100/64")
    )
}

/// What one implementation did.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    /// `nft list ruleset` while master, counters taken out.
    ruleset: String,
    /// Reports for [`GROUP4`] seen on ha2 from ha1's eth0 MAC, and from the IPv4 VMAC's.
    igmp_from_base: usize,
    igmp_from_vmac: usize,
    /// MLD reports for [`GROUP6`] seen from ha1's eth0 MAC, and from the IPv6 VMAC's.
    mld_from_base: usize,
    mld_from_vmac: usize,
    /// `nft list ruleset` after SIGTERM.
    after_stop: String,
}

/// Joins `group` on `ifname` of `host` for `secs` seconds (the kernel sends its reports).
fn join(host: &Host, ifname: &str, group: &str, secs: f32) -> lab::LabChild {
    let script = "import socket, struct, sys, time\n\
        idx = socket.if_nametoindex(sys.argv[1]); g = sys.argv[2]\n\
        if ':' in g:\n    \
            s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)\n    \
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, \
              socket.inet_pton(socket.AF_INET6, g) + struct.pack('@I', idx))\n\
        else:\n    \
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n    \
            s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, \
              socket.inet_aton(g) + struct.pack('@4sI', bytes(4), idx))\n\
        time.sleep(float(sys.argv[3]))\n";
    host.spawn("python3", ["-c", script, ifname, group, &secs.to_string()])
        .expect("join")
}

/// The packets of a `tcpdump -e -v` capture, continuation lines joined to their header.
fn packets(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        match out.last_mut() {
            Some(last) if line.starts_with(char::is_whitespace) => {
                last.push(' ');
                last.push_str(line.trim());
            }
            _ => out.push(line.to_owned()),
        }
    }
    out
}

fn count(pkts: &[String], mac: &str, group: &str) -> usize {
    let from = format!(" {mac} > ");
    let gaddr = format!("gaddr {group} ");
    pkts.iter()
        .filter(|p| p.contains(&from) && p.contains(&gaddr))
        .count()
}

fn scenario(kind: Impl, global: &str, traffic: bool) -> Outcome {
    let net = two_hosts("kafv");
    let (ha1, ha2) = (&net.hosts[0], &net.hosts[1]);
    let mut router = Router::start(kind, ha1, "fwv", &conf(global));
    let master = wait_until(Duration::from_secs(15), POLL, || {
        ["192.0.2.100", "2001:db8::100"]
            .iter()
            .all(|v| ha1.has_addr(v.parse().expect("vip")))
    });
    assert!(
        master.is_some(),
        "{kind:?}: not master\n{}",
        router.describe()
    );
    let ruleset = normalized_ruleset(ha1);
    let (mut igmp_from_base, mut igmp_from_vmac) = (0, 0);
    let (mut mld_from_base, mut mld_from_vmac) = (0, 0);
    if traffic {
        let dir = TempDir::new(&format!("fwvmac-{}", kind.tag()));
        let file = dir.0.join("reports.txt");
        let mut capture = tcpdump(
            ha2,
            &["-e", "-nn", "-v", "-l", "--immediate-mode", "igmp or ip6"],
            &file,
        );
        std::thread::sleep(Duration::from_millis(300));
        let mut j4 = join(ha1, "vrrp.51", GROUP4, 1.5);
        let mut j6 = join(ha1, "vrrp.52", GROUP6, 1.5);
        let _ = j4.wait_timeout(Duration::from_secs(5));
        let _ = j6.wait_timeout(Duration::from_secs(5));
        std::thread::sleep(Duration::from_millis(300));
        capture.kill();
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let pkts = packets(&text);
        let base_mac = ha1
            .ip(["-j", "link", "show", "dev", "eth0"])
            .ok()
            .and_then(|o| serde_json::from_str::<serde_json::Value>(&o).ok())
            .and_then(|j| j.get(0)?.get("address")?.as_str().map(str::to_owned))
            .expect("eth0 MAC");
        igmp_from_base = count(&pkts, &base_mac, GROUP4);
        igmp_from_vmac = count(&pkts, VMAC4_MAC, GROUP4);
        mld_from_base = count(&pkts, &base_mac, GROUP6);
        mld_from_vmac = count(&pkts, VMAC6_MAC, GROUP6);
        if igmp_from_base == 0 || mld_from_base == 0 {
            eprintln!("{kind:?} capture:\n{text}");
        }
    }
    router.term();
    assert!(
        router.wait_exit(Duration::from_secs(10)).is_some(),
        "{kind:?} did not stop"
    );
    let after_stop = nft(ha1, &["list", "ruleset"]);
    Outcome {
        ruleset,
        igmp_from_base,
        igmp_from_vmac,
        mld_from_base,
        mld_from_vmac,
        after_stop,
    }
}

fn check(kind: Impl, o: &Outcome, traffic: bool) {
    assert!(
        o.ruleset.contains("map vmac_map"),
        "{kind:?}:\n{}",
        o.ruleset
    );
    if traffic {
        assert!(
            o.igmp_from_base > 0,
            "{kind:?}: no IGMP report from the base interface"
        );
        assert_eq!(
            o.igmp_from_vmac, 0,
            "{kind:?}: IGMP report left on the VMAC"
        );
        assert!(
            o.mld_from_base > 0,
            "{kind:?}: no MLD report from the base interface"
        );
        assert_eq!(o.mld_from_vmac, 0, "{kind:?}: MLD report left on the VMAC");
    }
    assert_eq!(o.after_stop.trim(), "", "{kind:?}: ruleset after SIGTERM");
}

/// VMACs without `vrrp_strict`: the rules and the reports, ours then keepalived's.
#[test]
fn vmac_firewall_matches_keepalived() {
    if skip() || !lab::have_program("tcpdump") {
        return;
    }
    let ours = scenario(Impl::Ours, "", true);
    check(Impl::Ours, &ours, true);
    let theirs = scenario(Impl::Keepalived, "", true);
    check(Impl::Keepalived, &theirs, true);
    assert_eq!(ours.ruleset, theirs.ruleset, "rulesets differ");
}

/// VMACs with `vrrp_strict` and counters: the VMAC rules and the drop rules in one table.
#[test]
fn vmac_firewall_with_strict_matches_keepalived() {
    if skip() {
        return;
    }
    let global = "    vrrp_strict\n    nftables_counters\n";
    let ours = scenario(Impl::Ours, global, false);
    check(Impl::Ours, &ours, false);
    let theirs = scenario(Impl::Keepalived, global, false);
    check(Impl::Keepalived, &theirs, false);
    assert!(ours.ruleset.contains("@vips"), "{}", ours.ruleset);
    assert_eq!(ours.ruleset, theirs.ruleset, "rulesets differ");
}
