//! What the control socket asks an engine ([`EngineCommand`], sent over its heartbeat
//! connection as `QUERY n command JSON`) and its answer ([`EngineAnswer`]), the virtual and
//! real server names `keepalived-ctl rs drain` takes ([`VsSpec`], [`parse_rs`]), and the
//! status the parent assembles from the engines' numbers ([`status`]). The socket itself is
//! the parent's (`supervisor::control`); the protocol is `keepalived_ctl::proto`.

use std::net::SocketAddr;

use keepalived_config::model::lvs::VsAddress;
use keepalived_ctl::proto::{
    BfdSessionStatus, CheckStatus, DumpKind, GroupStatus, InstanceStatus, RealServerStatus,
    TrackerStatus, VirtualServerStatus,
};
use serde::{Deserialize, Serialize};

use super::metrics::EngineMetrics;

/// The longest instance or server name a command takes (the command travels as one line).
pub const MAX_NAME: usize = 1024;

/// A command for an engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "do", rename_all = "snake_case")]
pub enum EngineCommand {
    /// The VRRP engine: instance `instance` in maintenance (`on`) or out.
    Maintenance {
        /// The `vrrp_instance` name.
        instance: String,
        /// In or out.
        on: bool,
    },
    /// The checker engine: a real server drained (`on`: weight 0) or not.
    Drain {
        /// As [`VsSpec::parse`] reads it.
        virtual_server: String,
        /// As [`parse_rs`] reads it.
        real_server: String,
        /// Drained or not.
        on: bool,
    },
    /// Either engine: a dump's text.
    Dump {
        /// Which one.
        kind: DumpKind,
    },
}

/// An engine's answer to a command.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineAnswer {
    /// Carried out.
    pub ok: bool,
    /// What happened (or why not), or the dump's text.
    pub text: String,
}

impl EngineAnswer {
    /// Done: `text` says what.
    pub fn done(text: impl Into<String>) -> EngineAnswer {
        EngineAnswer {
            ok: true,
            text: text.into(),
        }
    }

    /// Refused: `text` says why.
    pub fn refused(text: impl Into<String>) -> EngineAnswer {
        EngineAnswer {
            ok: false,
            text: text.into(),
        }
    }

    /// As JSON, the bytes of a reply.
    pub fn bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// A virtual server as `keepalived-ctl rs drain` names it.
#[cfg_attr(not(feature = "lvs"), allow(dead_code))]
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VsSpec {
    /// `ADDRESS:PORT` or `[V6]:PORT`: every virtual server of that address and port (any
    /// protocol).
    Addr(SocketAddr),
    /// `fwmark N`.
    Fwmark(u32),
    /// A `virtual_server_group` name (`virtual_server group NAME`).
    Group(String),
}

// Only the checker engine (feature `lvs`) drains real servers.
#[cfg_attr(not(feature = "lvs"), allow(dead_code))]
impl VsSpec {
    /// Reads `text`: `ADDRESS:PORT`, `[V6]:PORT`, `fwmark N`, or a group name.
    ///
    /// # Errors
    /// What is wrong with it.
    pub fn parse(text: &str) -> Result<VsSpec, String> {
        let text = text.trim();
        if let Ok(a) = text.parse::<SocketAddr>() {
            return Ok(VsSpec::Addr(a));
        }
        if let Some(mark) = text.strip_prefix("fwmark") {
            return match mark.trim().parse::<u32>() {
                Ok(m) if m > 0 => Ok(VsSpec::Fwmark(m)),
                _ => Err(format!("`{text}`: a fwmark is a number from 1")),
            };
        }
        let name_like = !text.is_empty()
            && text.len() <= MAX_NAME
            && !text.contains(char::is_whitespace)
            && !text.contains(':')
            && text.parse::<std::net::IpAddr>().is_err();
        if name_like {
            Ok(VsSpec::Group(text.to_owned()))
        } else {
            Err(format!(
                "`{text}` is not a virtual server: ADDRESS:PORT, [IPV6]:PORT, `fwmark N` or a \
                 virtual_server_group name"
            ))
        }
    }

    /// Whether it names a virtual server at `address`.
    pub fn matches(&self, address: &VsAddress) -> bool {
        match (self, address) {
            (VsSpec::Addr(a), VsAddress::Ip(b)) => a == b,
            (VsSpec::Fwmark(a), VsAddress::Fwmark(b)) => a == b,
            (VsSpec::Group(a), VsAddress::Group(b)) => a == b,
            _ => false,
        }
    }
}

impl std::fmt::Display for VsSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VsSpec::Addr(a) => write!(f, "{a}"),
            VsSpec::Fwmark(m) => write!(f, "fwmark {m}"),
            VsSpec::Group(g) => write!(f, "group {g}"),
        }
    }
}

/// Reads a real server's `ADDRESS:PORT` or `[V6]:PORT`.
///
/// # Errors
/// What is wrong with it.
#[cfg_attr(not(feature = "lvs"), allow(dead_code))]
pub fn parse_rs(text: &str) -> Result<SocketAddr, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a real server: ADDRESS:PORT or [IPV6]:PORT"))
}

/// keepalived's word for a state number (0 init, 1 backup, 2 master, 3 fault).
pub fn state_word(state: u8) -> &'static str {
    match state {
        1 => "BACKUP",
        2 => "MASTER",
        3 => "FAULT",
        _ => "INIT",
    }
}

/// The engines' parts of a status, from their numbers (`vrrp`, `checker`: `None` when that
/// engine did not answer or does not run).
pub fn status(
    vrrp: Option<&EngineMetrics>,
    checker: Option<&EngineMetrics>,
) -> (
    Vec<InstanceStatus>,
    Vec<GroupStatus>,
    Vec<VirtualServerStatus>,
) {
    let mut instances = Vec::new();
    let mut groups = Vec::new();
    if let Some(v) = vrrp.and_then(|m| m.vrrp.as_ref()) {
        for i in &v.instances {
            instances.push(InstanceStatus {
                name: i.name.clone(),
                state: state_word(i.state).to_owned(),
                interface: i.intf.clone(),
                vrid: i.vrid,
                base_priority: i.base_priority,
                effective_priority: i.effective_priority,
                virtual_ipaddresses: i.vips.iter().map(|(a, _)| a.to_string()).collect(),
                master_address: i.master_address.map(|a| a.to_string()),
                since: i.last_transition,
                maintenance: i.maintenance,
                trackers: i
                    .tracks
                    .iter()
                    .map(|t| TrackerStatus {
                        kind: t.kind.clone(),
                        name: t.name.clone(),
                        status: t.value,
                    })
                    .collect(),
            });
        }
        for (name, state) in &v.groups {
            groups.push(GroupStatus {
                name: name.clone(),
                state: state_word(*state).to_owned(),
            });
        }
    }
    let mut servers = Vec::new();
    if let Some(c) = checker.and_then(|m| m.checker.as_ref()) {
        for vs in &c.virtual_servers {
            servers.push(VirtualServerStatus {
                name: vs.name.clone(),
                quorum: vs.quorum,
                real_servers_up: vs.up,
                real_servers: vs
                    .servers
                    .iter()
                    .map(|rs| RealServerStatus {
                        address: rs.address.clone(),
                        port: rs.port,
                        state: if rs.up { "up" } else { "down" }.to_owned(),
                        weight: rs.weight,
                        drained: rs.drained,
                        checks: rs
                            .checks
                            .iter()
                            .map(|ch| CheckStatus {
                                kind: ch.kind.clone(),
                                last_result: ch
                                    .verdict
                                    .map(|ok| if ok { "passed" } else { "failed" }.to_owned()),
                                last_run: ch.last_run,
                            })
                            .collect(),
                    })
                    .collect(),
            });
        }
    }
    (instances, groups, servers)
}

/// The BFD engine's part of a status, from its numbers.
pub fn bfd_status(bfd: Option<&EngineMetrics>) -> Vec<BfdSessionStatus> {
    let Some(b) = bfd.and_then(|m| m.bfd.as_ref()) else {
        return Vec::new();
    };
    b.sessions
        .iter()
        .map(|s| BfdSessionStatus {
            name: s.name.clone(),
            neighbor: s.neighbor.clone(),
            state: match s.state {
                0 => "AdminDown",
                1 => "Down",
                2 => "Init",
                _ => "Up",
            }
            .to_owned(),
            detect_time_ms: s.detect_time_us as f64 / 1000.0,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_servers_are_named_as_the_configuration_names_them() {
        let a: SocketAddr = "198.51.100.10:80".parse().expect("addr");
        assert_eq!(VsSpec::parse("198.51.100.10:80"), Ok(VsSpec::Addr(a)));
        assert_eq!(
            VsSpec::parse("[2001:db8::10]:443"),
            Ok(VsSpec::Addr("[2001:db8::10]:443".parse().expect("addr")))
        );
        assert_eq!(VsSpec::parse("fwmark 7"), Ok(VsSpec::Fwmark(7)));
        assert_eq!(
            VsSpec::parse("web_pool"),
            Ok(VsSpec::Group("web_pool".into()))
        );
        for bad in [
            "",
            "fwmark",
            "fwmark 0",
            "fwmark x",
            "198.51.100.10",
            "a b",
            "::1:80",
        ] {
            assert!(VsSpec::parse(bad).is_err(), "{bad}");
        }
        assert!(VsSpec::Addr(a).matches(&VsAddress::Ip(a)));
        assert!(!VsSpec::Addr(a).matches(&VsAddress::Fwmark(1)));
        assert!(VsSpec::Group("g".into()).matches(&VsAddress::Group("g".into())));
        assert!(parse_rs("192.0.2.2:80").is_ok());
        assert!(parse_rs("192.0.2.2").is_err());
    }

    #[test]
    fn commands_travel_as_one_line() {
        let c = EngineCommand::Drain {
            virtual_server: "fwmark 1".into(),
            real_server: "[2001:db8::2]:80".into(),
            on: true,
        };
        let json = serde_json::to_string(&c).expect("json");
        assert!(!json.contains('\n'));
        assert_eq!(
            serde_json::from_str::<EngineCommand>(&json).expect("back"),
            c
        );
    }
}
