//! `nftables_ipvs` planning: which `virtual_server_group` gets which firewall mark, and which
//! address/port ranges nftables marks with it.
//!
//! As keepalived 2.2.7 (ipvswrapper.c, check_nftables.c): with `nftables_ipvs`, a virtual
//! server on a group of address ranges only (no `fwmark` entry) becomes one fwmark service
//! per family of the group's addresses instead of one service per address; the mark belongs
//! to the (group, protocol) pair and is handed out from `nftables_ipvs_start_fwmark` upwards
//! in the order of the virtual servers. Unlike keepalived, marks survive a reload (a group
//! still there keeps its mark, a new one takes the lowest free mark), and marks configured
//! explicitly (`virtual_server fwmark N`, a group's `fwmark N`) are never handed out.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use keepalived_config::Config;
use keepalived_config::model::lvs::{VirtualServerGroup, VsAddress, VsgEntry};

use crate::table::Proto;

/// The marks of the groups: `(group name, protocol) -> mark`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Marks(BTreeMap<(String, Proto), u32>);

/// One range nftables marks: packets of `protocol` to `first..=last` port `port` get `mark`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MarkRange {
    /// The protocol.
    pub protocol: Proto,
    /// First address.
    pub first: IpAddr,
    /// Last address (same family as `first`).
    pub last: IpAddr,
    /// Destination port.
    pub port: u16,
    /// The mark.
    pub mark: u32,
}

impl Marks {
    /// The marks for `config`: none without `nftables_ipvs`; a pair `previous` had keeps its
    /// mark, a new one takes the lowest mark from `nftables_ipvs_start_fwmark` that is not
    /// taken (by another group or configured explicitly).
    pub fn plan(config: &Config, previous: &Marks) -> Marks {
        let defs = &config.global.defs;
        if defs.nftables_ipvs.is_none() {
            return Marks::default();
        }
        let eligible: Vec<(String, Proto)> = eligible(config);
        let mut taken: BTreeSet<u32> = explicit_marks(config);
        let mut out = BTreeMap::new();
        for pair in &eligible {
            if let Some(&m) = previous.0.get(pair)
                && !taken.contains(&m)
            {
                taken.insert(m);
                out.insert(pair.clone(), m);
            }
        }
        let mut next = defs.nftables_ipvs_start_fwmark.max(1);
        for pair in eligible {
            if out.contains_key(&pair) {
                continue;
            }
            while taken.contains(&next) {
                next = next.saturating_add(1);
            }
            taken.insert(next);
            out.insert(pair, next);
        }
        Marks(out)
    }

    /// The mark of `group` for `protocol`, if it has one.
    pub fn get(&self, group: &str, protocol: Proto) -> Option<u32> {
        // Few groups have marks; a linear search avoids building an owned key per lookup.
        self.0
            .iter()
            .find(|((g, p), _)| g == group && *p == protocol)
            .map(|(_, m)| *m)
    }

    /// Whether no group has a mark.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The ranges to mark: every address range of every marked group.
    pub fn ranges(&self, config: &Config) -> BTreeSet<MarkRange> {
        let mut out = BTreeSet::new();
        for ((name, protocol), mark) in &self.0 {
            let Some(g) = group(config, name) else {
                continue;
            };
            for e in &g.entries {
                if let VsgEntry::Range { first, last, port } = e
                    && first.is_ipv4() == last.is_ipv4()
                {
                    out.insert(MarkRange {
                        protocol: *protocol,
                        first: *first,
                        last: *last,
                        port: *port,
                        mark: *mark,
                    });
                }
            }
        }
        out
    }
}

/// The families of a group's address ranges: (IPv4, IPv6).
pub fn families(g: &VirtualServerGroup) -> (bool, bool) {
    let mut v4 = false;
    let mut v6 = false;
    for e in &g.entries {
        if let VsgEntry::Range { first, .. } = e {
            if first.is_ipv4() {
                v4 = true;
            } else {
                v6 = true;
            }
        }
    }
    (v4, v6)
}

/// The group called `name`.
pub fn group<'a>(config: &'a Config, name: &str) -> Option<&'a VirtualServerGroup> {
    config
        .lvs
        .virtual_server_groups
        .iter()
        .find(|g| g.name == name)
}

/// The (group, protocol) pairs that get a mark, in the order of their first virtual server:
/// groups with address ranges and no `fwmark` entry.
fn eligible(config: &Config) -> Vec<(String, Proto)> {
    let mut out: Vec<(String, Proto)> = Vec::new();
    for vs in &config.lvs.virtual_servers {
        let VsAddress::Group(name) = &vs.address else {
            continue;
        };
        let Some(g) = group(config, name) else {
            continue;
        };
        let has_fwmark = g
            .entries
            .iter()
            .any(|e| matches!(e, VsgEntry::Fwmark { .. }));
        if has_fwmark || families(g) == (false, false) {
            continue;
        }
        let pair = (name.clone(), Proto::from(vs.protocol));
        if !out.contains(&pair) {
            out.push(pair);
        }
    }
    out
}

/// Marks the configuration uses explicitly.
fn explicit_marks(config: &Config) -> BTreeSet<u32> {
    let mut out = BTreeSet::new();
    for vs in &config.lvs.virtual_servers {
        if let VsAddress::Fwmark(m) = vs.address {
            out.insert(m);
        }
    }
    for g in &config.lvs.virtual_server_groups {
        for e in &g.entries {
            if let VsgEntry::Fwmark { mark, .. } = e {
                out.insert(*mark);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Config {
        let r = keepalived_config::read_str("t.conf", text, &Default::default());
        r.config
    }

    const CONF: &str = "global_defs {\n nftables_ipvs\n nftables_ipvs_start_fwmark 2000\n}\n\
        virtual_server_group web {\n 192.0.2.10-20 80\n 2001:db8::10 80\n}\n\
        virtual_server_group dns {\n 192.0.2.53 53\n}\n\
        virtual_server_group marked {\n fwmark 2001\n}\n\
        virtual_server group dns {\n protocol UDP\n real_server 198.51.100.1 53 {\n }\n}\n\
        virtual_server group web {\n protocol TCP\n real_server 198.51.100.1 80 {\n }\n}\n\
        virtual_server group dns {\n protocol TCP\n real_server 198.51.100.1 53 {\n }\n}\n\
        virtual_server group marked {\n protocol TCP\n real_server 198.51.100.1 80 {\n }\n}\n";

    #[test]
    fn marks_go_to_group_and_protocol_in_virtual_server_order_skipping_explicit_ones() {
        let c = read(CONF);
        let m = Marks::plan(&c, &Marks::default());
        assert_eq!(m.get("dns", Proto::Udp), Some(2000));
        // 2001 is the explicit mark of group `marked`.
        assert_eq!(m.get("web", Proto::Tcp), Some(2002));
        assert_eq!(m.get("dns", Proto::Tcp), Some(2003));
        assert_eq!(m.get("marked", Proto::Tcp), None);
        let r: Vec<(Proto, String, String, u16, u32)> = m
            .ranges(&c)
            .into_iter()
            .map(|r| {
                (
                    r.protocol,
                    r.first.to_string(),
                    r.last.to_string(),
                    r.port,
                    r.mark,
                )
            })
            .collect();
        assert_eq!(
            r,
            [
                (
                    Proto::Tcp,
                    "192.0.2.10".into(),
                    "192.0.2.20".into(),
                    80,
                    2002
                ),
                (
                    Proto::Tcp,
                    "192.0.2.53".into(),
                    "192.0.2.53".into(),
                    53,
                    2003
                ),
                (
                    Proto::Tcp,
                    "2001:db8::10".into(),
                    "2001:db8::10".into(),
                    80,
                    2002
                ),
                (
                    Proto::Udp,
                    "192.0.2.53".into(),
                    "192.0.2.53".into(),
                    53,
                    2000
                ),
            ]
        );
    }

    #[test]
    fn without_nftables_ipvs_no_group_is_marked() {
        let c = read(&CONF.replace(" nftables_ipvs\n", ""));
        assert!(Marks::plan(&c, &Marks::default()).is_empty());
    }

    #[test]
    fn a_reload_keeps_the_marks_of_groups_still_there() {
        let c = read(CONF);
        let before = Marks::plan(&c, &Marks::default());
        // The UDP virtual server goes: its mark is freed; the others keep theirs, and a new
        // group takes the lowest free mark.
        let text = CONF
            .replace(
                "virtual_server group dns {\n protocol UDP\n real_server 198.51.100.1 53 {\n }\n}\n",
                "",
            )
            .replace(
                "virtual_server_group marked",
                "virtual_server_group new {\n 203.0.113.1 443\n}\nvirtual_server_group marked",
            )
            + "virtual_server group new {\n protocol TCP\n real_server 198.51.100.1 443 {\n }\n}\n";
        let c2 = read(&text);
        let after = Marks::plan(&c2, &before);
        assert_eq!(after.get("web", Proto::Tcp), Some(2002));
        assert_eq!(after.get("dns", Proto::Tcp), Some(2003));
        assert_eq!(after.get("dns", Proto::Udp), None);
        assert_eq!(after.get("new", Proto::Tcp), Some(2000));
    }
}
