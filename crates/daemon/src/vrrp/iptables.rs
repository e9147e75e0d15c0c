//! The legacy accept-mode firewall (`vrrp_iptables [IN [OUT]]`, `vrrp_ipsets [NAMES]`) as
//! keepalived 2.2.7 lays it out (vrrp_iptables.c): with ipsets (the default) the sets
//! `keepalived` (hash:ip), `keepalived6` (hash:ip, inet6) and `keepalived_if6`
//! (hash:net,iface, link-local addresses with their interface) or the names given, and in the
//! operator's chains of table `filter` rules that drop packets to (IN) and from (OUT) their
//! members, IPv6 neighbour solicitations and advertisements passing; a transition then only
//! adds or deletes set members. Without ipsets (`vrrp_ipsets` alone) each address gets its
//! own rules. Driven through `iptables-restore` / `ip6tables-restore --noflush` (one atomic
//! commit per family) and `ipset restore`, where keepalived links libiptc and libipset.

use std::collections::BTreeSet;
use std::io::Write;
use std::net::IpAddr;
use std::process::{Command, Stdio};

use keepalived_net::nft::FwAddr;

use crate::plan::firewall::IptablesPlan;

/// ICMPv6 neighbour solicitation and advertisement.
const ND_TYPES: [u8; 2] = [135, 136];

/// The legacy firewall of one VRRP process.
#[derive(Debug)]
pub struct IptablesFirewall {
    plan: IptablesPlan,
    /// The sets and set rules are in place (ipset mode).
    set_up: bool,
    installed: BTreeSet<FwAddr>,
}

impl IptablesFirewall {
    /// Nothing installed yet.
    pub fn new(plan: IptablesPlan) -> IptablesFirewall {
        IptablesFirewall {
            plan,
            set_up: false,
            installed: BTreeSet::new(),
        }
    }

    /// The chains, for logs.
    pub fn describe(&self) -> String {
        let out = self.plan.out_chain.as_deref().unwrap_or("-");
        format!("iptables chains {} / {out}", self.plan.in_chain)
    }

    /// Drops traffic to and from `addrs` (creating the sets and rules first, replacing those
    /// an earlier run left); on error nothing counts as installed and the next add starts
    /// over with every address that should be in.
    ///
    /// # Errors
    /// A program is missing or refused the change (its output is in the error).
    pub fn add(&mut self, addrs: &[FwAddr]) -> Result<usize, String> {
        let mut todo: Vec<FwAddr> = if self.set_up {
            Vec::new()
        } else {
            self.installed.iter().cloned().collect()
        };
        todo.extend(
            addrs
                .iter()
                .filter(|a| !self.installed.contains(*a) || !self.set_up)
                .cloned(),
        );
        todo.sort();
        todo.dedup();
        if todo.is_empty() {
            return Ok(0);
        }
        let r = self.try_add(&todo);
        if r.is_err() {
            self.set_up = false;
        }
        r
    }

    fn try_add(&mut self, todo: &[FwAddr]) -> Result<usize, String> {
        match self.plan.ipsets.clone() {
            Some(sets) => {
                if !self.set_up {
                    self.setup_sets()?;
                }
                let mut script = String::new();
                for a in todo {
                    script.push_str(&format!("add {}\n", member(&sets, a)));
                }
                run("ipset", &["restore", "-exist"], &script)?;
            }
            None => {
                for (v6, rules) in per_address_rules(&self.plan, todo, true) {
                    restore(v6, &rules)?;
                }
                self.set_up = true;
            }
        }
        self.installed.extend(todo.iter().cloned());
        Ok(todo.len())
    }

    /// Stops dropping traffic for `addrs`.
    ///
    /// # Errors
    /// As [`IptablesFirewall::add`].
    pub fn remove(&mut self, addrs: &[FwAddr]) -> Result<usize, String> {
        let todo: Vec<FwAddr> = addrs
            .iter()
            .filter(|a| self.installed.remove(*a))
            .cloned()
            .collect();
        if todo.is_empty() || !self.set_up {
            return Ok(0);
        }
        match &self.plan.ipsets {
            Some(sets) => {
                let mut script = String::new();
                for a in &todo {
                    script.push_str(&format!("del {}\n", member(sets, a)));
                }
                run("ipset", &["restore", "-exist"], &script)?;
            }
            None => {
                for (v6, rules) in per_address_rules(&self.plan, &todo, false) {
                    restore(v6, &rules)?;
                }
            }
        }
        Ok(todo.len())
    }

    /// Removes every rule and set (at stop).
    ///
    /// # Errors
    /// As [`IptablesFirewall::add`].
    pub fn remove_all(&mut self) -> Result<(), String> {
        let result = match self.plan.ipsets.clone() {
            Some(sets) => {
                delete_set_rules(&self.plan, &sets);
                let mut script = String::new();
                for s in [&sets.address, &sets.address6, &sets.address_iface6] {
                    script.push_str(&format!("destroy {s}\n"));
                }
                if self.set_up {
                    run("ipset", &["restore", "-exist"], &script).map(|_| ())
                } else {
                    Ok(())
                }
            }
            None => {
                let all: Vec<FwAddr> = self.installed.iter().cloned().collect();
                let mut r = Ok(());
                for (v6, rules) in per_address_rules(&self.plan, &all, false) {
                    if let Err(e) = restore(v6, &rules) {
                        r = Err(e);
                    }
                }
                r
            }
        };
        self.installed.clear();
        self.set_up = false;
        result
    }

    /// Creates the sets (emptied: members of an earlier run go) and puts the set rules in
    /// the chains, once (rules an earlier run left are deleted first).
    fn setup_sets(&mut self) -> Result<(), String> {
        let Some(sets) = &self.plan.ipsets else {
            return Ok(());
        };
        let script = format!(
            "create {a} hash:ip family inet\ncreate {a6} hash:ip family inet6\n\
             create {i6} hash:net,iface family inet6\nflush {a}\nflush {a6}\nflush {i6}\n",
            a = sets.address,
            a6 = sets.address6,
            i6 = sets.address_iface6
        );
        run("ipset", &["restore", "-exist"], &script)?;
        delete_set_rules(&self.plan, sets);
        for v6 in [false, true] {
            let rules: Vec<String> = set_rules(&self.plan, sets, v6)
                .into_iter()
                .map(|r| format!("-A {r}"))
                .collect();
            restore(v6, &rules)?;
        }
        self.set_up = true;
        Ok(())
    }
}

/// The ipset member text of `a`.
fn member(sets: &crate::plan::firewall::IpsetNames, a: &FwAddr) -> String {
    match a {
        FwAddr::Ip(IpAddr::V4(x)) => format!("{} {x}", sets.address),
        FwAddr::Ip(IpAddr::V6(x)) => format!("{} {x}", sets.address6),
        FwAddr::LinkLocal(x, _) => format!("{} {x},{}", sets.address_iface6, ifname_of(a)),
        FwAddr::LinkLocalByName(x, name) => format!("{} {x},{name}", sets.address_iface6),
    }
}

/// The interface name of a link-local entry keyed by index.
fn ifname_of(a: &FwAddr) -> String {
    match a {
        FwAddr::LinkLocal(_, idx) => keepalived_net::ifname(*idx).unwrap_or_default(),
        FwAddr::LinkLocalByName(_, n) => n.clone(),
        FwAddr::Ip(_) => String::new(),
    }
}

/// The set rules of one family without their command (`CHAIN match... -j TARGET`), in
/// keepalived's order.
pub fn set_rules(
    plan: &IptablesPlan,
    sets: &crate::plan::firewall::IpsetNames,
    v6: bool,
) -> Vec<String> {
    let mut out = Vec::new();
    let chains = [
        Some((plan.in_chain.as_str(), "dst", "dst,src")),
        plan.out_chain.as_deref().map(|c| (c, "src", "src,dst")),
    ];
    for (chain, dir, dir2) in chains.into_iter().flatten() {
        if !v6 {
            out.push(format!(
                "{chain} -m set --match-set {} {dir} -j DROP",
                sets.address
            ));
            continue;
        }
        for (set, d) in [(&sets.address_iface6, dir2), (&sets.address6, dir)] {
            for t in ND_TYPES {
                out.push(format!(
                    "{chain} -p ipv6-icmp --icmpv6-type {t} -m set --match-set {set} {d} -j ACCEPT"
                ));
            }
            out.push(format!("{chain} -m set --match-set {set} {d} -j DROP"));
        }
    }
    out
}

/// Deletes the set rules wherever they are (left by an earlier run, or ours at stop), each
/// as often as it is there.
fn delete_set_rules(plan: &IptablesPlan, sets: &crate::plan::firewall::IpsetNames) {
    for v6 in [false, true] {
        let prog = if v6 { "ip6tables" } else { "iptables" };
        for rule in set_rules(plan, sets, v6) {
            let mut args = vec!["-w", "-D"];
            args.extend(rule.split_whitespace());
            for _ in 0..8 {
                let ok = Command::new(prog)
                    .args(&args)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success());
                if !ok {
                    break;
                }
            }
        }
    }
}

/// Per-address rules (`vrrp_ipsets` without names): for each family, the restore lines that
/// insert (`add`) or delete them; IPv6 neighbour discovery accepted ahead of the drop.
pub fn per_address_rules(
    plan: &IptablesPlan,
    addrs: &[FwAddr],
    add: bool,
) -> Vec<(bool, Vec<String>)> {
    let mut v4 = Vec::new();
    let mut v6 = Vec::new();
    for a in addrs {
        let (ip, is6, iface) = match a {
            FwAddr::Ip(ip) => (ip.to_string(), ip.is_ipv6(), None),
            FwAddr::LinkLocal(x, _) | FwAddr::LinkLocalByName(x, _) => {
                (x.to_string(), true, Some(ifname_of(a)))
            }
        };
        let list = if is6 { &mut v6 } else { &mut v4 };
        let chains = [
            Some((plan.in_chain.as_str(), "-d", "-i")),
            plan.out_chain.as_deref().map(|c| (c, "-s", "-o")),
        ];
        for (chain, dir, ifdir) in chains.into_iter().flatten() {
            let iface = iface
                .as_ref()
                .map(|i| format!(" {ifdir} {i}"))
                .unwrap_or_default();
            let drop = format!("{dir} {ip}{iface} -j DROP");
            let nd: Vec<String> = if is6 {
                ND_TYPES
                    .iter()
                    .map(|t| format!("{dir} {ip}{iface} -p ipv6-icmp --icmpv6-type {t} -j ACCEPT"))
                    .collect()
            } else {
                Vec::new()
            };
            if add {
                list.push(format!("-I {chain} 1 {drop}"));
                for (i, r) in nd.iter().enumerate() {
                    list.push(format!("-I {chain} {} {r}", i + 1));
                }
            } else {
                list.push(format!("-D {chain} {drop}"));
                for r in &nd {
                    list.push(format!("-D {chain} {r}"));
                }
            }
        }
    }
    [(false, v4), (true, v6)]
        .into_iter()
        .filter(|(_, l)| !l.is_empty())
        .collect()
}

/// Applies `rules` to table filter of one family in one commit.
fn restore(v6: bool, rules: &[String]) -> Result<(), String> {
    if rules.is_empty() {
        return Ok(());
    }
    let prog = if v6 {
        "ip6tables-restore"
    } else {
        "iptables-restore"
    };
    let mut script = String::from("*filter\n");
    for r in rules {
        script.push_str(r);
        script.push('\n');
    }
    script.push_str("COMMIT\n");
    run(prog, &["-w", "--noflush"], &script).map(|_| ())
}

/// Runs `prog args` with `input` on stdin.
fn run(prog: &str, args: &[&str], input: &str) -> Result<String, String> {
    let mut child = Command::new(prog)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{prog}: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("{prog}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{prog} {} refused [{}]: {}",
            args.join(" "),
            input.trim().replace('\n', "; "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Whether `iptables-restore` can be run (keepalived falls back to nftables without an
/// `iptables` command).
pub fn available() -> bool {
    Command::new("iptables-restore")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::firewall::IpsetNames;

    fn plan(sets: bool) -> IptablesPlan {
        IptablesPlan {
            in_chain: "KA_IN".to_owned(),
            out_chain: Some("KA_OUT".to_owned()),
            ipsets: sets.then(IpsetNames::default),
        }
    }

    #[test]
    fn set_rules_in_keepalived_order() {
        let p = plan(true);
        let sets = IpsetNames::default();
        assert_eq!(
            set_rules(&p, &sets, false),
            [
                "KA_IN -m set --match-set keepalived dst -j DROP",
                "KA_OUT -m set --match-set keepalived src -j DROP"
            ]
        );
        let v6 = set_rules(&p, &sets, true);
        assert_eq!(v6.len(), 12);
        assert_eq!(
            v6[0],
            "KA_IN -p ipv6-icmp --icmpv6-type 135 -m set --match-set keepalived_if6 dst,src -j ACCEPT"
        );
        assert_eq!(v6[5], "KA_IN -m set --match-set keepalived6 dst -j DROP");
        assert_eq!(
            v6[8],
            "KA_OUT -m set --match-set keepalived_if6 src,dst -j DROP"
        );
    }

    #[test]
    fn per_address_rules_insert_and_delete_the_same_rules() {
        let p = plan(false);
        let a = [FwAddr::Ip("192.0.2.100".parse().expect("addr"))];
        let add = per_address_rules(&p, &a, true);
        assert_eq!(
            add,
            [(
                false,
                vec![
                    "-I KA_IN 1 -d 192.0.2.100 -j DROP".to_owned(),
                    "-I KA_OUT 1 -s 192.0.2.100 -j DROP".to_owned()
                ]
            )]
        );
        let del = per_address_rules(&p, &a, false);
        assert_eq!(del[0].1[0], "-D KA_IN -d 192.0.2.100 -j DROP");
    }
}
