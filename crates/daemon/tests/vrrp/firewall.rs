//! The accept-mode firewall (`vrrp_strict`, `no_accept`, nftables), for real and against
//! Debian's keepalived: ha1 runs the daemon and a TCP listener on every address, ha2 is the
//! client. While a strict instance is master a connect to its VIPs (IPv4, IPv6, link-local
//! keyed by interface index and by name) gets no answer while ha1's own addresses answer; an
//! `accept` instance and an address owner (priority 255) answer; neighbour discovery for the
//! VIP still works; the counters count; a stale `keepalived` table of an earlier run (dropping
//! ha1's own address) is replaced; when a peer takes over, the VIP leaves the set; SIGTERM
//! leaves no ruleset. keepalived 2.2.7 must give the same answers and the same `nft list
//! ruleset` while master. Ours alone: a table deleted by hand is rebuilt on the next
//! transition, a VRRP engine killed or hung leaves no table, a table owned by a live process is
//! left alone (and ours built once it is gone), and a reload switching accept mode moves a
//! master's address out of the set and back.
//! Needs root and `nft` (Debian package nftables; skips otherwise). Documentation addresses only.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use crate::support::daemon::Daemon;
use crate::support::files::TempDir;
use crate::support::{Impl, Router, skip_reason_for, two_hosts};
use lab::{Host, wait_until};

const POLL: Duration = Duration::from_millis(20);
const PORT: u16 = 8080;

/// The strict router's instances: V4 and V6 without accept, ACC with `accept`, OWN the address
/// owner, and (with `link_local_by_name`) V6N, a link-local address keyed by interface name
/// (`dont_track_primary`).
pub(super) fn strict_instances(link_local_by_name: bool) -> String {
    let inst = |name: &str, vrid: u8, prio: u8, extra: &str, vips: &str| {
        format!(
            "vrrp_instance {name} {{\n    interface eth0\n    virtual_router_id {vrid}\n    \
             priority {prio}\n    version 3\n    advert_int 0.3\n{extra}    \
             virtual_ipaddress {{\n{vips}    }}\n}}\n"
        )
    };
    let mut out = [
        inst("V4", 51, 100, "", "        192.0.2.100/24\n"),
        inst(
            "V6",
            52,
            100,
            "",
            "        fe80::100/64\n        2001:db8::100/64\n",
        ),
        inst("ACC", 53, 100, "    accept\n", "        192.0.2.110/24\n"),
        inst("OWN", 54, 255, "", "        192.0.2.120/24\n"),
    ]
    .concat();
    if link_local_by_name {
        out += &inst(
            "V6N",
            55,
            100,
            "    dont_track_primary\n",
            "        fe80::200/64\n",
        );
    }
    out
}

/// The strict router under nftables (see [`strict_instances`]).
fn strict_conf(extra_global: &str) -> String {
    format!(
        "global_defs {{\n    vrrp_strict\n    nftables_counters\n{extra_global}}}\n{}",
        strict_instances(true)
    )
}

/// The peer that takes V4 over (priority 200, no firewall of its own).
fn peer_conf() -> String {
    "vrrp_instance V4 {\n    interface eth0\n    virtual_router_id 51\n    priority 200\n    \
     version 3\n    advert_int 0.3\n    virtual_ipaddress {\n        192.0.2.100/24\n    }\n}\n"
        .to_owned()
}

/// The targets ha2 connects to, and what a connect must give.
const EXPECTED: &[(&str, &str)] = &[
    ("192.0.2.1", "open"),
    ("192.0.2.100", "timeout"),
    ("192.0.2.110", "open"),
    ("192.0.2.120", "open"),
    ("2001:db8::1", "open"),
    ("2001:db8::100", "timeout"),
    ("fe80::100%eth0", "timeout"),
    ("fe80::200%eth0", "timeout"),
];

/// Connects from `host` to each target (in parallel, 1.5 s each): "open", "timeout",
/// "refused" or an error text.
pub(super) fn probe(host: &Host, targets: &[&str]) -> BTreeMap<String, String> {
    let script = format!(
        "import socket, sys, threading\n\
         res = {{}}\n\
         def one(a):\n    \
             try:\n        \
                 s = socket.create_connection((a, {PORT}), timeout=1.5); s.close(); res[a] = 'open'\n    \
             except socket.timeout: res[a] = 'timeout'\n    \
             except ConnectionRefusedError: res[a] = 'refused'\n    \
             except OSError as e: res[a] = 'error ' + str(e)\n\
         ts = [threading.Thread(target=one, args=(a,)) for a in sys.argv[1:]]\n\
         [t.start() for t in ts]; [t.join() for t in ts]\n\
         for a in sys.argv[1:]: print(a, res[a])\n"
    );
    let mut args = vec!["-c", script.as_str()];
    args.extend_from_slice(targets);
    let out = host.run_ok("python3", args).expect("probe");
    out.lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(a, r)| (a.to_owned(), r.to_owned()))
        .collect()
}

/// A TCP listener on every address of `host` (port [`PORT`], both families).
pub(super) fn listen(host: &Host) -> lab::LabChild {
    let child = host
        .spawn(
            "python3",
            ["-m", "http.server", &PORT.to_string(), "--bind", "::"],
        )
        .expect("listener");
    assert!(
        wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
            crate::support::servers::listening(host, PORT)
        })
        .is_some(),
        "listener"
    );
    child
}

pub(super) fn nft(host: &Host, args: &[&str]) -> String {
    host.run_ok("nft", args).unwrap_or_default()
}

/// The ruleset with counter values taken out, its tables sorted.
pub(super) fn normalized_ruleset(host: &Host) -> String {
    let text = nft(host, &["list", "ruleset"]);
    let mut out = Vec::new();
    for line in text.lines() {
        match line.find("counter packets") {
            Some(at) => {
                let rest = &line[at..];
                // "counter packets N bytes M VERDICT..." -> "counter VERDICT..."
                let tail: Vec<&str> = rest.split_whitespace().skip(5).collect();
                out.push(format!("{}counter {}", &line[..at], tail.join(" ")));
            }
            None => out.push(line.to_owned()),
        }
    }
    // Tables in name order: which instance became master first decides the kernel's order.
    let text = out.join("\n");
    let mut tables: Vec<String> = text
        .split("\ntable ")
        .map(|t| format!("table {}", t.trim_start_matches("table ")))
        .collect();
    tables.sort();
    tables.join("\n")
}

/// The packets counted by the rule of `chain` in `table FAMILY keepalived` containing `rule`.
fn counted(host: &Host, family: &str, chain: &str, rule: &str) -> u64 {
    let text = nft(host, &["list", "chain", family, "keepalived", chain]);
    text.lines()
        .find(|l| l.contains(rule))
        .and_then(|l| l.split("counter packets ").nth(1))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The elements of set `vips` of `table FAMILY keepalived` (empty when there is none).
fn set_elements(host: &Host, family: &str) -> String {
    let text = nft(host, &["list", "set", family, "keepalived", "vips"]);
    text.lines()
        .find(|l| l.contains("elements"))
        .map(|l| l.trim().to_owned())
        .unwrap_or_default()
}

pub(super) fn skip() -> bool {
    if skip_reason_for(true, true).is_some() {
        return true;
    }
    if std::process::Command::new("nft")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipping: nft not installed (apt-get install nftables)");
        return true;
    }
    false
}

/// What one implementation did in the scenario of the module documentation.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    /// The stale table's drop of ha1's own address, before the daemon runs.
    stale_blocks: String,
    /// Each target's answer while every instance is master.
    answers: BTreeMap<String, String>,
    /// ha2's neighbour entry for the IPv6 VIP resolved (neighbour discovery passed).
    nd_resolved: bool,
    /// The drop rules counted the probes.
    counted: bool,
    /// `nft list ruleset` while master, counters taken out.
    ruleset: String,
    /// The `ip` vips set after the peer took V4 over, and the `ip6` one.
    after_takeover: (String, String),
    /// `nft list ruleset` after SIGTERM.
    after_stop: String,
}

fn scenario(kind: Impl) -> Outcome {
    let net = two_hosts("kafw");
    let (ha1, ha2) = (&net.hosts[0], &net.hosts[1]);
    // A table left by an earlier run, dropping ha1's own address.
    let stale = "table ip keepalived {\n set vips { type ipv4_addr; elements = { 192.0.2.1 } }\n \
                 chain in { type filter hook input priority -1; policy accept; ip daddr @vips drop; }\n}\n";
    let mut c = ha1.command("nft");
    c.args(["-f", "/dev/stdin"])
        .stdin(std::process::Stdio::piped());
    let mut child = c.spawn().expect("nft -f");
    std::io::Write::write_all(child.stdin.as_mut().expect("stdin"), stale.as_bytes())
        .expect("write stale table");
    drop(child.stdin.take());
    assert!(
        child.wait().expect("nft").success(),
        "stale table not created"
    );
    let mut listener = listen(ha1);
    let stale_blocks = probe(ha2, &["192.0.2.1"])
        .remove("192.0.2.1")
        .unwrap_or_default();

    let mut router = Router::start(kind, ha1, "fw", &strict_conf(""));
    let vips = [
        "192.0.2.100",
        "192.0.2.110",
        "192.0.2.120",
        "2001:db8::100",
        "fe80::100",
        "fe80::200",
    ];
    let all_master = wait_until(Duration::from_secs(15), POLL, || {
        vips.iter().all(|v| ha1.has_addr(v.parse().expect("vip")))
    });
    assert!(
        all_master.is_some(),
        "{kind:?}: not master\n{}",
        router.describe()
    );
    let ruleset = normalized_ruleset(ha1);
    let answers = probe(ha2, &EXPECTED.iter().map(|(a, _)| *a).collect::<Vec<_>>());
    let neigh = ha2
        .ip(["-6", "neigh", "show", "2001:db8::100", "dev", "eth0"])
        .unwrap_or_default();
    let nd_resolved = neigh.contains("lladdr") && !neigh.contains("FAILED");
    let counted = counted(ha1, "ip", "in", "ip daddr @vips") > 0
        && counted(ha1, "ip6", "in", "ip6 daddr @vips") > 0
        && counted(ha1, "ip6", "in_link_local", "@vips_link_local") > 0;

    let mut peer = Router::start(kind, ha2, "fwpeer", &peer_conf());
    let took = wait_until(Duration::from_secs(15), POLL, || {
        !ha1.has_addr("192.0.2.100".parse().expect("vip"))
            && ha2.has_addr("192.0.2.100".parse().expect("vip"))
    });
    assert!(
        took.is_some(),
        "{kind:?}: the peer never took V4\n{}",
        peer.describe()
    );
    // The set is emptied after the address goes: give it a moment.
    let _ = wait_until(Duration::from_secs(2), POLL, || {
        set_elements(ha1, "ip").is_empty()
    });
    let after_takeover = (set_elements(ha1, "ip"), set_elements(ha1, "ip6"));
    peer.term();
    let _ = peer.wait_exit(Duration::from_secs(10));

    router.term();
    assert!(
        router.wait_exit(Duration::from_secs(10)).is_some(),
        "{kind:?} did not stop"
    );
    let after_stop = nft(ha1, &["list", "ruleset"]);
    listener.kill();
    Outcome {
        stale_blocks,
        answers,
        nd_resolved,
        counted,
        ruleset,
        after_takeover,
        after_stop,
    }
}

fn check(kind: Impl, o: &Outcome) {
    assert_eq!(
        o.stale_blocks, "timeout",
        "{kind:?}: the stale table did not drop"
    );
    let want: BTreeMap<String, String> = EXPECTED
        .iter()
        .map(|(a, r)| ((*a).to_owned(), (*r).to_owned()))
        .collect();
    assert_eq!(o.answers, want, "{kind:?}: connects");
    assert!(o.nd_resolved, "{kind:?}: neighbour discovery for the VIP");
    assert!(o.counted, "{kind:?}: counters\n{}", o.ruleset);
    assert!(o.ruleset.contains("table ip keepalived"), "{}", o.ruleset);
    assert!(
        !o.ruleset.contains("192.0.2.1 "),
        "stale element left: {}",
        o.ruleset
    );
    assert_eq!(
        o.after_takeover.0, "",
        "{kind:?}: V4's VIP still in the set as backup"
    );
    assert!(
        o.after_takeover.1.contains("2001:db8::100"),
        "{kind:?}: V6 (still master) lost its set entry: {:?}",
        o.after_takeover
    );
    assert_eq!(o.after_stop.trim(), "", "{kind:?}: ruleset after SIGTERM");
}

/// The scenario against ours, then keepalived: both pass, with the same ruleset.
#[test]
fn accept_mode_firewall_matches_keepalived() {
    if skip() {
        return;
    }
    let ours = scenario(Impl::Ours);
    check(Impl::Ours, &ours);
    let theirs = scenario(Impl::Keepalived);
    check(Impl::Keepalived, &theirs);
    assert_eq!(ours.ruleset, theirs.ruleset, "rulesets while master differ");
}

/// A table deleted by hand while master: leaving MASTER fails with an error naming the table
/// and message, the instance runs on, and the next MASTER builds the tables again. Then a
/// killed VRRP engine, and a hung one (the watchdog kills it): the parent removes the tables.
#[test]
fn firewall_heals_and_goes_with_a_killed_or_hung_engine() {
    if skip() {
        return;
    }
    let net = two_hosts("kafwh");
    let (ha1, ha2) = (&net.hosts[0], &net.hosts[1]);
    let vip = "192.0.2.100".parse().expect("vip");
    let mut router = Router::start(Impl::Ours, ha1, "fw", &strict_conf(""));
    assert!(
        wait_until(Duration::from_secs(15), POLL, || ha1.has_addr(vip)).is_some(),
        "not master\n{}",
        router.describe()
    );
    ha1.run_ok("nft", ["delete", "table", "ip", "keepalived"])
        .expect("delete table");
    let mut peer = Router::start(Impl::Ours, ha2, "fwpeer", &peer_conf());
    assert!(
        wait_until(Duration::from_secs(15), POLL, || !ha1.has_addr(vip)).is_some(),
        "never backup"
    );
    assert!(
        wait_until(Duration::from_secs(3), POLL, || router.logged(
            "cannot remove the firewall drop rule in table keepalived: delete 1 element(s) of set ip keepalived vips"
        ))
        .is_some(),
        "no error naming the table and message\n{}",
        router.describe()
    );
    peer.term();
    let _ = peer.wait_exit(Duration::from_secs(10));
    assert!(
        wait_until(Duration::from_secs(15), POLL, || ha1.has_addr(vip)).is_some(),
        "not master again\n{}",
        router.describe()
    );
    assert!(
        set_elements(ha1, "ip").contains("192.0.2.100"),
        "table not rebuilt: {}",
        nft(ha1, &["list", "ruleset"])
    );
    assert!(set_elements(ha1, "ip6").contains("2001:db8::100"));

    // SIGKILL the VRRP engine: the parent removes what it left, the table too.
    let pid = vrrp_pid(&router).expect("vrrp engine pid");
    crate::support::daemon::signal("KILL", pid);
    assert!(
        wait_until(Duration::from_secs(5), Duration::from_millis(5), || {
            !nft(ha1, &["list", "tables"]).contains("keepalived")
        })
        .is_some(),
        "table outlived the killed engine\n{}",
        router.describe()
    );
    // The next engine becomes master and builds the table; freeze it: the parent's watchdog
    // kills the hung engine and removes the table with its addresses.
    assert!(
        wait_until(Duration::from_secs(15), POLL, || {
            set_elements(ha1, "ip").contains("192.0.2.100")
        })
        .is_some(),
        "the restarted engine built no table\n{}",
        router.describe()
    );
    let hung = vrrp_pid(&router).expect("restarted vrrp engine pid");
    crate::support::daemon::signal("STOP", hung);
    assert!(
        wait_until(Duration::from_secs(6), POLL, || {
            !nft(ha1, &["list", "tables"]).contains("keepalived")
        })
        .is_some(),
        "table outlived the hung engine\n{}",
        router.describe()
    );
    router.term();
    let _ = router.wait_exit(Duration::from_secs(10));
}

/// The VRRP engine's pid: the parent's child running `--engine=vrrp`.
fn vrrp_pid(router: &Router) -> Option<u32> {
    router.pids().into_iter().find(|p| {
        std::fs::read(Path::new("/proc").join(p.to_string()).join("cmdline"))
            .is_ok_and(|c| String::from_utf8_lossy(&c).contains("--engine=vrrp"))
    })
}

/// A table of our name owned by a live process (`nft -i` holding its socket): the instance
/// still becomes master and adds its address, the error names the table; once the owner is
/// gone, the next transition into MASTER builds the tables.
#[test]
fn owned_table_is_left_alone_and_retried() {
    if skip() {
        return;
    }
    let net = two_hosts("kafwo");
    let (ha1, ha2) = (&net.hosts[0], &net.hosts[1]);
    let vip = "192.0.2.100".parse().expect("vip");
    let mut holder = ha1
        .command("nft")
        .arg("-i")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("nft -i");
    std::io::Write::write_all(
        holder.stdin.as_mut().expect("stdin"),
        b"add table ip keepalived { flags owner; }\n",
    )
    .expect("owned table");
    assert!(
        wait_until(Duration::from_secs(5), POLL, || {
            nft(ha1, &["list", "table", "ip", "keepalived"]).contains("owner")
        })
        .is_some(),
        "no owned table"
    );
    let dir = TempDir::new("fw-owned");
    let mut daemon = Daemon::start(ha1, &dir.0, "fw", &strict_conf(""), &[]);
    assert!(
        wait_until(Duration::from_secs(15), POLL, || ha1.has_addr(vip)).is_some(),
        "not master beside the owned table\n{}",
        daemon.log()
    );
    assert!(
        wait_until(Duration::from_secs(3), POLL, || daemon
            .logged("table ip keepalived is owned by another process"))
        .is_some(),
        "no error naming the owned table\n{}",
        daemon.log()
    );
    assert!(daemon.child.is_running(), "the daemon stopped");
    drop(holder.stdin.take());
    let _ = holder.wait();
    // A transition: the peer takes V4, then leaves.
    let mut peer = Router::start(Impl::Ours, ha2, "fwpeer", &peer_conf());
    assert!(
        wait_until(Duration::from_secs(15), POLL, || !ha1.has_addr(vip)).is_some(),
        "never backup"
    );
    peer.term();
    let _ = peer.wait_exit(Duration::from_secs(10));
    assert!(
        wait_until(Duration::from_secs(15), POLL, || ha1.has_addr(vip)).is_some(),
        "not master again"
    );
    assert!(
        wait_until(Duration::from_secs(3), POLL, || {
            set_elements(ha1, "ip").contains("192.0.2.100")
        })
        .is_some(),
        "tables not built after the owner left: {}\n{}",
        nft(ha1, &["list", "ruleset"]),
        daemon.log()
    );
    assert_eq!(
        probe(ha2, &["192.0.2.100"])
            .remove("192.0.2.100")
            .as_deref(),
        Some("timeout")
    );
}

/// A reload that turns accept mode on for a master takes its address out of the set (traffic
/// answers), one that turns it off again puts it back.
#[test]
fn reload_switches_accept_mode() {
    if skip() {
        return;
    }
    let net = two_hosts("kafwr");
    let (ha1, ha2) = (&net.hosts[0], &net.hosts[1]);
    let vip = "192.0.2.100".parse().expect("vip");
    let _listener = listen(ha1);
    let dir = TempDir::new("fw-reload");
    let daemon = Daemon::start(ha1, &dir.0, "fw", &strict_conf(""), &[]);
    assert!(
        wait_until(Duration::from_secs(15), POLL, || ha1.has_addr(vip)).is_some(),
        "not master\n{}",
        daemon.log()
    );
    assert!(set_elements(ha1, "ip").contains("192.0.2.100"));
    let accepting = strict_conf("").replacen(
        "virtual_router_id 51\n",
        "virtual_router_id 51\n    accept\n",
        1,
    );
    for (conf, want_in) in [(accepting, false), (strict_conf(""), true)] {
        std::fs::write(dir.0.join("fw.conf"), conf).expect("config");
        crate::support::daemon::signal("HUP", daemon.child.id());
        assert!(
            wait_until(Duration::from_secs(5), POLL, || {
                set_elements(ha1, "ip").contains("192.0.2.100") == want_in
            })
            .is_some(),
            "after reload (in the set: {want_in}): {}\n{}",
            nft(ha1, &["list", "ruleset"]),
            daemon.log()
        );
        assert!(ha1.has_addr(vip), "the address went");
        let want = if want_in { "timeout" } else { "open" };
        assert_eq!(
            probe(ha2, &["192.0.2.100"])
                .remove("192.0.2.100")
                .as_deref(),
            Some(want),
            "connect after the reload"
        );
    }
}
