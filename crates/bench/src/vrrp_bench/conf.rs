//! The implementations and cases under test, their RFC expectations, and the configuration
//! files given to both daemons (the same text for keepalived-rs and keepalived).

use std::fmt::Write as _;
use std::time::Duration;

/// Which daemon runs on both sides of a lab.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Impl {
    /// keepalived-rs.
    Ours,
    /// Debian's keepalived.
    Keepalived,
}

impl Impl {
    /// Short name for tables and file names.
    pub fn name(self) -> &'static str {
        match self {
            Impl::Ours => "ours",
            Impl::Keepalived => "keepalived",
        }
    }
}

/// A failover case: protocol version and advertisement interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Case {
    /// Name on the command line and in the report.
    pub name: &'static str,
    /// VRRP version (2 or 3).
    pub version: u8,
    /// Advertisement interval in milliseconds.
    pub advert_ms: u32,
}

/// `advert_int 1`, VRRPv2.
pub const V2: Case = Case {
    name: "v2",
    version: 2,
    advert_ms: 1000,
};

/// `version 3`, `advert_int 0.05`.
pub const V3FAST: Case = Case {
    name: "v3fast",
    version: 3,
    advert_ms: 50,
};

/// Priority of the master in the failover lab.
pub const MASTER_PRIO: u8 = 150;
/// Priority of the backup in the failover lab.
pub const BACKUP_PRIO: u8 = 100;

impl Case {
    /// The advertisement interval.
    pub fn advert(self) -> Duration {
        Duration::from_millis(self.advert_ms.into())
    }

    /// RFC Master_Down_Interval of a backup with priority `prio`: 3 × advert + skew, where skew
    /// is (256 − prio) / 256 s for VRRPv2 (RFC 3768) and (256 − prio) × advert / 256 for v3
    /// (RFC 5798).
    pub fn master_down(self, prio: u8) -> Duration {
        let skew_unit = if self.version == 2 {
            Duration::from_secs(1)
        } else {
            self.advert()
        };
        3 * self.advert() + skew_unit * (256 - u32::from(prio)) / 256
    }

    /// `advert_int` as written in the configuration (seconds).
    fn advert_int(self) -> String {
        if self.advert_ms.is_multiple_of(1000) {
            (self.advert_ms / 1000).to_string()
        } else {
            format!("{}", f64::from(self.advert_ms) / 1000.0)
        }
    }
}

/// One `vrrp_instance` block.
#[derive(Debug, Clone)]
pub struct Instance {
    /// virtual_router_id.
    pub vrid: u8,
    /// priority.
    pub priority: u8,
    /// `state MASTER` (else `state BACKUP`).
    pub master: bool,
    /// virtual_ipaddress entries (CIDR).
    pub vips: Vec<String>,
}

/// A complete configuration: `global_defs` with `router_id`, then the instances on `eth0`.
pub fn config(router_id: &str, case: Case, instances: &[Instance]) -> String {
    let mut s = format!("global_defs {{\n    router_id {router_id}\n}}\n");
    for i in instances {
        let state = if i.master { "MASTER" } else { "BACKUP" };
        let _ = write!(
            s,
            "\nvrrp_instance VI_{vrid} {{\n    state {state}\n    interface eth0\n    \
             virtual_router_id {vrid}\n",
            vrid = i.vrid
        );
        if case.version == 3 {
            s.push_str("    version 3\n");
        }
        let _ = write!(
            s,
            "    priority {}\n    advert_int {}\n    virtual_ipaddress {{\n",
            i.priority,
            case.advert_int()
        );
        for v in &i.vips {
            let _ = writeln!(s, "        {v}");
        }
        s.push_str("    }\n}\n");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_intervals() {
        assert_eq!(V2.master_down(100), Duration::from_micros(3_609_375));
        assert_eq!(V3FAST.master_down(100), Duration::from_nanos(180_468_750));
    }

    #[test]
    fn config_text() {
        let i = Instance {
            vrid: 51,
            priority: 150,
            master: true,
            vips: vec!["192.0.2.100/24".into()],
        };
        let c = config("ha1", V3FAST, std::slice::from_ref(&i));
        assert!(c.contains("version 3\n    priority 150\n    advert_int 0.05\n"));
        assert!(config("ha1", V2, &[i]).contains("advert_int 1\n"));
    }
}
