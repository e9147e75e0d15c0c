//! The interop cases' configs: [`Case`] (v2/v3, IPv4/IPv6, PASS, unicast), [`Side`] (whose
//! addresses) and [`Conf`], one `vrrp_instance` rendered for keepalived 2.2.7 and keepalived-rs
//! alike, with the protocol's intervals derived from it.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::Duration;

use super::{VIP4, VIP6, VRID};

/// The interop cases of issue 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    /// VRRPv2, IPv4, multicast, `advert_int 1`.
    V2Ipv4,
    /// VRRPv3, IPv4, multicast, `advert_int 0.05`.
    V3Ipv4,
    /// VRRPv3, IPv6, multicast, `advert_int 0.05`.
    V3Ipv6,
    /// VRRPv2 with PASS authentication, `advert_int 1`.
    V2Pass,
    /// VRRPv3, IPv4, unicast (`unicast_src_ip`, `unicast_peer`), `advert_int 0.05`.
    V3Unicast,
}

/// Which of the lab hosts a config is for (its own and its peers' addresses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// 192.0.2.1 / 2001:db8::1
    Ha1,
    /// 192.0.2.2 / 2001:db8::2
    Ha2,
    /// 192.0.2.3 / 2001:db8::3 (bridge labs)
    Ha3,
}

impl Side {
    /// The host's own IPv4 address.
    pub fn ipv4(self) -> &'static str {
        match self {
            Side::Ha1 => "192.0.2.1",
            Side::Ha2 => "192.0.2.2",
            Side::Ha3 => "192.0.2.3",
        }
    }

    /// The peer's IPv4 address in a two-host lab.
    pub fn peer_ipv4(self) -> &'static str {
        match self {
            Side::Ha1 => "192.0.2.2",
            Side::Ha2 | Side::Ha3 => "192.0.2.1",
        }
    }
}

impl Case {
    /// Every case.
    pub const ALL: [Case; 5] = [
        Case::V2Ipv4,
        Case::V3Ipv4,
        Case::V3Ipv6,
        Case::V2Pass,
        Case::V3Unicast,
    ];

    /// The name in measurement lines.
    pub fn tag(self) -> &'static str {
        match self {
            Case::V2Ipv4 => "v2-ipv4",
            Case::V3Ipv4 => "v3-ipv4",
            Case::V3Ipv6 => "v3-ipv6",
            Case::V2Pass => "v2-pass",
            Case::V3Unicast => "v3-unicast",
        }
    }

    /// The config for `side` at `priority` (preemption on, `state BACKUP`).
    pub fn conf(self, side: Side, priority: u8) -> Conf {
        let mut c = Conf {
            router_id: format!("{:?}", side).to_lowercase(),
            priority,
            ..Conf::default()
        };
        match self {
            Case::V2Ipv4 => {}
            Case::V3Ipv4 => c.fast_v3(),
            Case::V3Ipv6 => {
                c.fast_v3();
                c.ipv6 = true;
            }
            Case::V2Pass => c.auth_pass = Some("s3cret".into()),
            Case::V3Unicast => {
                c.fast_v3();
                c.unicast = Some((side.ipv4().into(), vec![side.peer_ipv4().into()]));
            }
        }
        c
    }

    /// The VIP as an address.
    pub fn vip(self) -> IpAddr {
        if self == Case::V3Ipv6 {
            VIP6.parse().expect("vip")
        } else {
            VIP4.parse().expect("vip")
        }
    }

    /// The advert interval.
    pub fn advert_int(self) -> Duration {
        self.conf(Side::Ha1, 100).advert_int()
    }
}

/// One `vrrp_instance VI_1` config, rendered for keepalived 2.2.7 and keepalived-rs alike
/// (no scripts, nothing newer than 2.2.7).
#[derive(Debug, Clone)]
pub struct Conf {
    /// `global_defs { router_id }`.
    pub router_id: String,
    /// `state`.
    pub state: &'static str,
    /// `priority`.
    pub priority: u8,
    /// `version` (2 or 3).
    pub version: u8,
    /// `advert_int`, as written.
    pub advert_int: &'static str,
    /// IPv6 VIP instead of IPv4.
    pub ipv6: bool,
    /// `authentication { auth_type PASS auth_pass X }`.
    pub auth_pass: Option<String>,
    /// `unicast_src_ip` and `unicast_peer`.
    pub unicast: Option<(String, Vec<String>)>,
    /// `nopreempt`.
    pub nopreempt: bool,
}

impl Default for Conf {
    fn default() -> Conf {
        Conf {
            router_id: "ha".into(),
            state: "BACKUP",
            priority: 100,
            version: 2,
            advert_int: "1",
            ipv6: false,
            auth_pass: None,
            unicast: None,
            nopreempt: false,
        }
    }
}

impl Conf {
    /// `version 3`, `advert_int 0.05`.
    pub fn fast_v3(&mut self) {
        self.version = 3;
        self.advert_int = "0.05";
    }

    /// The advert interval.
    pub fn advert_int(&self) -> Duration {
        Duration::from_secs_f64(self.advert_int.parse().expect("advert_int"))
    }

    /// Skew_Time of this router: (256 - priority) / 256 of the interval (v2: seconds; v3:
    /// centiseconds, as keepalived computes it, which is the same value).
    pub fn skew(&self) -> Duration {
        self.advert_int() * (256 - u32::from(self.priority)) / 256
    }

    /// Master_Down_Interval of this router: 3 intervals plus its skew.
    pub fn master_down(&self) -> Duration {
        self.advert_int() * 3 + self.skew()
    }

    /// The config text.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "global_defs {{\n    router_id {}\n}}\n", self.router_id);
        let _ = writeln!(s, "vrrp_instance VI_1 {{");
        let _ = writeln!(s, "    state {}", self.state);
        let _ = writeln!(s, "    interface eth0");
        let _ = writeln!(s, "    virtual_router_id {VRID}");
        let _ = writeln!(s, "    priority {}", self.priority);
        let _ = writeln!(s, "    version {}", self.version);
        let _ = writeln!(s, "    advert_int {}", self.advert_int);
        if self.nopreempt {
            let _ = writeln!(s, "    nopreempt");
        }
        if let Some(pass) = &self.auth_pass {
            let _ = writeln!(
                s,
                "    authentication {{\n        auth_type PASS\n        auth_pass {pass}\n    }}"
            );
        }
        if let Some((src, peers)) = &self.unicast {
            let _ = writeln!(s, "    unicast_src_ip {src}");
            let _ = writeln!(s, "    unicast_peer {{");
            for p in peers {
                let _ = writeln!(s, "        {p}");
            }
            let _ = writeln!(s, "    }}");
        }
        let vip = if self.ipv6 {
            format!("{VIP6}/64")
        } else {
            format!("{VIP4}/24")
        };
        let _ = writeln!(
            s,
            "    virtual_ipaddress {{\n        {vip} dev eth0\n    }}\n}}"
        );
        s
    }
}
