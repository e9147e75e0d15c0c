//! Deterministic generators for the benchmark's keepalived.conf files.
//!
//! Both files are valid for keepalived 2.2.7 (`keepalived -t` exits 0 on them inside a network
//! namespace that has interfaces `eth0`..`eth3`). Every address comes from the documentation
//! ranges: 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24 (RFC 5737) and 2001:db8::/32
//! (RFC 3849). One keyword per line, indented by four spaces per level.

use std::fmt::{Display, Write as _};

/// Number of `virtual_server` blocks in the large LVS file.
pub const LVS_VIRTUAL_SERVERS: usize = 2_300;
/// Number of `real_server` blocks in each `virtual_server` of the large LVS file.
pub const LVS_REAL_SERVERS_PER_VS: usize = 16;
/// Number of `vrrp_instance` blocks in the VRRP file.
pub const VRRP_INSTANCES: usize = 1_000;
/// Interfaces the VRRP file uses, and that the benchmark's namespace provides.
pub const INTERFACES: [&str; 4] = ["eth0", "eth1", "eth2", "eth3"];

/// The RFC 5737 IPv4 documentation /24s, as their first three octets.
const DOC_NETS: [&str; 3] = ["192.0.2", "198.51.100", "203.0.113"];
/// Usable host numbers in each /24 (1..=254).
const HOSTS: usize = 254;
/// VRIDs available per interface and address family.
const VRIDS: usize = 255;

/// A generated configuration file.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The file's text.
    pub text: String,
    /// Its number of lines.
    pub lines: usize,
}

/// Writes a block-structured file one line at a time, counting lines.
#[derive(Default)]
struct Out {
    text: String,
    lines: usize,
    depth: usize,
}

impl Out {
    fn line(&mut self, s: impl Display) {
        for _ in 0..self.depth {
            self.text.push_str("    ");
        }
        // Writing to a String cannot fail.
        let _ = writeln!(self.text, "{s}");
        self.lines += 1;
    }

    fn open(&mut self, s: impl Display) {
        self.line(format_args!("{s} {{"));
        self.depth += 1;
    }

    fn close(&mut self) {
        self.depth -= 1;
        self.line("}");
    }

    fn finish(self) -> Generated {
        Generated {
            text: self.text,
            lines: self.lines,
        }
    }
}

/// The large LVS file: `virtual_servers` blocks of `real_per_vs` real servers, each real server
/// with a `TCP_CHECK`. Virtual servers live on 192.0.2.1-254 (ports 80, 81, ...), real servers
/// on 198.51.100.1-254 and 203.0.113.1-254 (ports 10000, 10001, ...); every address:port is
/// distinct. With the default sizes this is 2,300 x 16 = 36,800 real servers in ~237,000 lines.
pub fn lvs(virtual_servers: usize, real_per_vs: usize) -> Generated {
    let mut o = Out::default();
    o.line("# keepalived-bench: large LVS configuration (generated; do not edit)");
    o.open("global_defs");
    o.line("router_id bench_lvs");
    o.close();
    for vs in 0..virtual_servers {
        let (net, host) = (DOC_NETS[0], 1 + vs % HOSTS);
        o.open(format_args!(
            "virtual_server {net}.{host} {}",
            80 + vs / HOSTS
        ));
        o.line("delay_loop 6");
        o.line("lb_algo rr");
        o.line("lb_kind NAT");
        o.line("persistence_timeout 50");
        o.line("protocol TCP");
        for k in 0..real_per_vs {
            let rs = vs * real_per_vs + k;
            let net = DOC_NETS[1 + (rs / HOSTS) % 2];
            let host = 1 + rs % HOSTS;
            o.open(format_args!(
                "real_server {net}.{host} {}",
                10_000 + rs / (2 * HOSTS)
            ));
            o.line("weight 1");
            o.open("TCP_CHECK");
            o.line("connect_timeout 3");
            o.close();
            o.close();
        }
        o.close();
    }
    o.finish()
}

/// The VRRP file: `instances` `vrrp_instance` blocks, 255 per interface on `eth0`..`eth3` (so
/// at most 1,020), VRIDs 1..=255 on each. The first 762 use one IPv4 /32 VIP each from the
/// documentation ranges; the rest, when those run out, are VRRPv3 instances with one
/// 2001:db8::/128 VIP each (an instance never mixes families).
///
/// # Panics
/// If `instances` exceeds 4 x 255.
pub fn vrrp(instances: usize) -> Generated {
    assert!(
        instances <= INTERFACES.len() * VRIDS,
        "at most {} instances",
        INTERFACES.len() * VRIDS
    );
    let mut o = Out::default();
    o.line("# keepalived-bench: 1,000 VRRP instances (generated; do not edit)");
    o.open("global_defs");
    o.line("router_id bench_vrrp");
    o.close();
    for i in 0..instances {
        let v4 = i < DOC_NETS.len() * HOSTS;
        o.open(format_args!("vrrp_instance VI_{i}"));
        o.line("state BACKUP");
        o.line(format_args!("interface {}", INTERFACES[i / VRIDS]));
        o.line(format_args!("virtual_router_id {}", 1 + i % VRIDS));
        if !v4 {
            o.line("version 3");
        }
        o.line(format_args!("priority {}", 100 + i % 100));
        o.line("advert_int 1");
        o.open("virtual_ipaddress");
        if v4 {
            o.line(format_args!("{}.{}/32", DOC_NETS[i / HOSTS], 1 + i % HOSTS));
        } else {
            o.line(format_args!("2001:db8::{:x}/128", i + 1));
        }
        o.close();
        o.close();
    }
    o.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn lvs_addresses_are_distinct_and_blocks_balance() {
        let g = lvs(LVS_VIRTUAL_SERVERS, LVS_REAL_SERVERS_PER_VS);
        assert_eq!(g.lines, g.text.lines().count());
        let heads: Vec<&str> = g
            .text
            .lines()
            .map(str::trim)
            .filter(|l| l.contains("_server "))
            .collect();
        assert_eq!(
            heads.len(),
            LVS_VIRTUAL_SERVERS * (1 + LVS_REAL_SERVERS_PER_VS)
        );
        assert_eq!(heads.iter().collect::<HashSet<_>>().len(), heads.len());
        assert_eq!(g.text.matches('{').count(), g.text.matches('}').count());
        assert!((230_000..240_000).contains(&g.lines), "{} lines", g.lines);
    }

    #[test]
    fn vrrp_ids_and_vips_are_distinct() {
        let g = vrrp(VRRP_INSTANCES);
        let text: Vec<&str> = g.text.lines().map(str::trim).collect();
        let vips: HashSet<_> = text.iter().filter(|l| l.contains('/')).collect();
        assert_eq!(vips.len(), VRRP_INSTANCES);
        let mut ids = HashSet::new();
        let mut iface = "";
        for l in &text {
            if let Some(i) = l.strip_prefix("interface ") {
                iface = i;
            } else if let Some(id) = l.strip_prefix("virtual_router_id ") {
                assert!(ids.insert((iface, id)), "duplicate VRID {id} on {iface}");
            }
        }
        assert_eq!(ids.len(), VRRP_INSTANCES);
    }
}
