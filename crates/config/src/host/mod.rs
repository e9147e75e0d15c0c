//! Checks of a configuration against the host it would run on, as `keepalived -t` makes them:
//! every named interface exists (VRRP never on a loopback), and every script exists, has a user
//! to run as, and is safe to run as root when script security is on. Everything about the host
//! comes from the caller: interface and user facts as [`HostFacts`], files, `PATH` and accounts
//! through [`HostLookup`] (the daemon's implementation looks at the system; tests describe a
//! host), so the checks do no I/O of their own.

mod lookup;
mod path;
mod scripts;

use std::collections::BTreeSet;

pub use lookup::{FileKind, FileMeta, HostLookup};
pub use path::{find_program, insecure_path, locate};
pub use scripts::{Accounts, DEFAULT_SCRIPT_USER, RunAs, run_as, scripts};

use crate::diag::{DiagKind, Diagnostics, Loc, Severity};
use crate::model::Config;
use crate::model::global::DynamicInterfaces;

/// What the caller found out about the host.
#[derive(Debug, Clone, Default)]
pub struct HostFacts {
    /// Names of the network interfaces that exist.
    pub interfaces: BTreeSet<String>,
    /// Names of loopback interfaces.
    pub loopbacks: BTreeSet<String>,
    /// True when running as root (scripts then run as root unless a script user is set).
    pub is_root: bool,
    /// True when the user `keepalived_script` exists (keepalived's default script user).
    pub script_user_exists: bool,
}

/// Adds host-dependent diagnostics for `config` to `diags`, and corrects `config` as keepalived
/// does where the host makes part of it unusable. Scripts' files and users are looked up
/// through `host`.
pub fn check(
    config: &mut Config,
    facts: &HostFacts,
    host: &dyn HostLookup,
    diags: &mut Diagnostics,
) {
    let vrrp_runs = check_interfaces(config, facts, diags);
    scripts::check(config, facts, host, vrrp_runs, diags);
}

/// An interface named somewhere, with what names it and how bad its absence is.
struct InterfaceRef<'a> {
    name: &'a str,
    what: String,
    loc: Loc,
    severity: Severity,
}

/// Every interface the configuration names; the first `.1` of them are read by keepalived's
/// VRRP process (one missing there stops that process before it checks anything else).
fn interface_refs(config: &Config) -> (Vec<InterfaceRef<'_>>, usize) {
    let dynamic = config.global.defs.dynamic_interfaces != DynamicInterfaces::Disabled;
    let soft = if dynamic {
        Severity::Warning
    } else {
        Severity::Error
    };
    let mut refs = Vec::new();
    let vrrp = &config.vrrp;
    for inst in &vrrp.instances {
        if let Some(ifname) = &inst.interface {
            refs.push(InterfaceRef {
                name: ifname,
                what: format!("vrrp_instance {}", inst.name),
                loc: inst.interface_loc,
                severity: soft,
            });
        }
        for t in &inst.track_interfaces {
            refs.push(InterfaceRef {
                name: &t.name,
                what: format!("({}) tracked interface", inst.name),
                loc: t.loc,
                severity: soft,
            });
        }
        for a in inst
            .virtual_ipaddresses
            .iter()
            .chain(&inst.virtual_ipaddresses_excluded)
        {
            if let Some(dev) = &a.dev {
                refs.push(InterfaceRef {
                    name: dev,
                    what: format!("ip address {}", a.addr),
                    loc: a.loc,
                    severity: soft,
                });
            }
        }
        for r in &inst.virtual_routes {
            route_refs(r, soft, &mut refs);
        }
    }
    for group in &vrrp.sync_groups {
        for t in &group.track_interfaces {
            refs.push(InterfaceRef {
                name: &t.name,
                what: format!("sync group {} tracked interface", group.name),
                loc: t.loc,
                severity: soft,
            });
        }
    }
    for a in &vrrp.static_addresses {
        if let Some(dev) = &a.dev {
            refs.push(InterfaceRef {
                name: dev,
                what: format!("static ip address {}", a.addr),
                loc: a.loc,
                severity: soft,
            });
        }
    }
    for r in &vrrp.static_routes {
        route_refs(r, soft, &mut refs);
    }
    // keepalived looks the interface up while reading, before it drops an instance.
    for d in &vrrp.dropped_instances {
        if let Some(ifname) = &d.instance.interface {
            refs.push(InterfaceRef {
                name: ifname,
                what: format!("vrrp_instance {}", d.instance.name),
                loc: d.instance.interface_loc,
                severity: soft,
            });
        }
    }
    let vrrp_refs = refs.len();
    let global = &config.global;
    for l in &global.linkbeat_interfaces {
        refs.push(InterfaceRef {
            name: &l.interface,
            what: "linkbeat_interfaces".into(),
            loc: l.loc,
            severity: Severity::Fatal,
        });
    }
    for d in &global.interface_up_down_delays {
        refs.push(InterfaceRef {
            name: &d.interface,
            what: "interface_up_down_delays".into(),
            loc: d.loc,
            severity: Severity::Fatal,
        });
    }
    for g in &global.garp_groups {
        for i in &g.interfaces {
            refs.push(InterfaceRef {
                name: &i.name,
                what: "garp_group".into(),
                loc: i.loc,
                severity: soft,
            });
        }
    }
    if let Some(sd) = &global.defs.lvs_sync_daemon {
        refs.push(InterfaceRef {
            name: &sd.interface,
            what: "lvs_sync_daemon".into(),
            loc: sd.loc,
            severity: soft,
        });
    }
    for vs in &config.lvs.virtual_servers {
        for rs in &vs.real_servers {
            for c in &rs.checkers {
                if let Some(dev) = &c.common.bind_if {
                    refs.push(InterfaceRef {
                        name: dev,
                        what: format!("checker of real server {}", rs.address),
                        loc: c.loc,
                        severity: soft,
                    });
                }
            }
        }
    }
    (refs, vrrp_refs)
}

fn route_refs<'a>(
    r: &'a crate::model::vrrp::VirtualRoute,
    severity: Severity,
    refs: &mut Vec<InterfaceRef<'a>>,
) {
    let devs = r
        .dev
        .iter()
        .chain(r.nexthops.iter().filter_map(|n| n.dev.as_ref()));
    for dev in devs {
        refs.push(InterfaceRef {
            name: dev,
            what: "route".into(),
            loc: r.loc,
            severity,
        });
    }
}

/// Reports missing and loopback interfaces; returns false when keepalived's VRRP process would
/// stop at a missing interface ("Non-existent interface specified in configuration") before its
/// checks after reading, the script checks among them.
fn check_interfaces(config: &Config, facts: &HostFacts, diags: &mut Diagnostics) -> bool {
    let (refs, vrrp_refs) = interface_refs(config);
    let mut vrrp_runs = true;
    for (i, r) in refs.into_iter().enumerate() {
        if !facts.interfaces.contains(r.name) {
            if i < vrrp_refs && r.severity == Severity::Error {
                vrrp_runs = false;
            }
            diags.push(
                r.severity,
                DiagKind::MissingInterface,
                r.loc,
                format!(
                    "interface {} for {} doesn't exist on this host",
                    r.name, r.what
                ),
            );
        }
    }
    for inst in &config.vrrp.instances {
        if let Some(ifname) = inst
            .interface
            .as_deref()
            .filter(|i| facts.loopbacks.contains(*i))
        {
            diags.error(
                inst.interface_loc,
                format!(
                    "({}) cannot use a loopback interface ({ifname}) for vrrp",
                    inst.name
                ),
            );
        }
    }
    vrrp_runs
}
