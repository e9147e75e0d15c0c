//! The configuration under test: N real servers `127.x.y.z:80` spread over virtual servers of
//! at most [`PER_VS`] real servers each, all with TCP_CHECK or HTTP_GET, beside one VRRPv3
//! instance at `advert_int 0.1` on `eth0`.

use std::fmt::Write as _;
use std::net::Ipv4Addr;

/// Real servers per virtual server.
pub const PER_VS: usize = 1000;

/// The checker under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// TCP_CHECK { connect_timeout 3 }.
    Tcp,
    /// HTTP_GET { url { path / status_code 200 } connect_timeout 3 }.
    Http,
}

impl Kind {
    /// Name in tables and on the server's command line.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Tcp => "tcp",
            Kind::Http => "http",
        }
    }

    /// The target, in checks per second per core.
    pub fn target(self) -> f64 {
        match self {
            Kind::Tcp => 50_000.0,
            Kind::Http => 20_000.0,
        }
    }
}

/// The `i`-th target (from 0): `127.x.y.z` with z in 1..=250, never a network or broadcast
/// looking address.
pub fn target(i: usize) -> Ipv4Addr {
    let z = (i % 250 + 1) as u8;
    let y = ((i / 250) % 256) as u8;
    let x = (i / (250 * 256) + 1).min(254) as u8;
    Ipv4Addr::new(127, x, y, z)
}

/// The whole configuration: the VRRP instance, then `n` real servers checked by `kind`
/// (`None`: VRRP only, the jitter baseline).
pub fn config(kind: Option<Kind>, n: usize) -> String {
    let mut s = String::from(
        "global_defs {\n    router_id chkbench\n}\n\nvrrp_instance VI_1 {\n    state MASTER\n    \
         interface eth0\n    virtual_router_id 51\n    version 3\n    priority 150\n    \
         advert_int 0.1\n    virtual_ipaddress {\n        198.51.100.1/32\n    }\n}\n",
    );
    let Some(kind) = kind else {
        return s;
    };
    for vs in 0..n.div_ceil(PER_VS) {
        let _ = write!(
            s,
            "\nvirtual_server 192.0.2.{} 80 {{\n    delay_loop 1\n    lb_algo rr\n    \
             lb_kind NAT\n    protocol TCP\n",
            vs + 1
        );
        for i in vs * PER_VS..((vs + 1) * PER_VS).min(n) {
            let _ = writeln!(s, "    real_server {} 80 {{", target(i));
            match kind {
                Kind::Tcp => s.push_str("        TCP_CHECK {\n            connect_timeout 3\n"),
                Kind::Http => s.push_str(
                    "        HTTP_GET {\n            url {\n                path /\n                \
                     status_code 200\n            }\n            connect_timeout 3\n",
                ),
            }
            s.push_str("        }\n    }\n");
        }
        s.push_str("}\n");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_distinct_loopback() {
        let all: std::collections::BTreeSet<Ipv4Addr> = (0..60_000).map(target).collect();
        assert_eq!(all.len(), 60_000);
        assert!(all.iter().all(|a| a.is_loopback() && a.octets()[3] != 0));
        assert_eq!(target(0), Ipv4Addr::new(127, 1, 0, 1));
    }

    #[test]
    fn config_shape() {
        let c = config(Some(Kind::Http), 1500);
        assert_eq!(c.matches("virtual_server ").count(), 2);
        assert_eq!(c.matches("real_server ").count(), 1500);
        assert_eq!(c.matches("HTTP_GET").count(), 1500);
        assert!(c.contains("advert_int 0.1"));
        assert!(!config(None, 10).contains("virtual_server"));
    }
}
