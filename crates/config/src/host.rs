//! Checks of a configuration against the host it would run on, as `keepalived -t` makes them:
//! every named interface exists (VRRP never on a loopback), and every script exists, has a user
//! to run as, and is safe to run as root when script security is on. Interface and user facts
//! come from the caller; script files are looked at directly (reading files is this crate's
//! only I/O).

use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use crate::diag::{DiagKind, Diagnostics, Loc, Severity};
use crate::model::Config;
use crate::model::common::Script;
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

/// Adds host-dependent diagnostics for `config` to `diags`.
pub fn check(config: &Config, facts: &HostFacts, diags: &mut Diagnostics) {
    check_interfaces(config, facts, diags);
    check_scripts(config, facts, diags);
}

/// An interface named somewhere, with what names it and how bad its absence is.
struct InterfaceRef<'a> {
    name: &'a str,
    what: String,
    loc: Loc,
    severity: Severity,
}

fn interface_refs(config: &Config) -> Vec<InterfaceRef<'_>> {
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
    refs
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

fn check_interfaces(config: &Config, facts: &HostFacts, diags: &mut Diagnostics) {
    for r in interface_refs(config) {
        if !facts.interfaces.contains(r.name) {
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
}

/// Every script of the configuration with the user it was given explicitly, if any.
fn scripts(config: &Config) -> Vec<(&Script, Option<&str>)> {
    let defs = &config.global.defs;
    let mut out: Vec<(&Script, Option<&str>)> = Vec::new();
    for s in [
        &defs.startup_script,
        &defs.shutdown_script,
        &defs.notify_fifo.script,
        &defs.vrrp_notify_fifo.script,
        &defs.lvs_notify_fifo.script,
    ]
    .into_iter()
    .flatten()
    {
        out.push((s, s.user.as_deref()));
    }
    for s in &config.vrrp.scripts {
        out.push((&s.script, s.user.as_deref().or(s.script.user.as_deref())));
    }
    let notify_sets = config
        .vrrp
        .instances
        .iter()
        .map(|i| &i.notify)
        .chain(config.vrrp.sync_groups.iter().map(|g| &g.notify));
    for n in notify_sets {
        for s in [&n.master, &n.backup, &n.fault, &n.stop, &n.any]
            .into_iter()
            .flatten()
        {
            out.push((s, s.user.as_deref()));
        }
    }
    for inst in &config.vrrp.instances {
        let extra = inst
            .notify_deleted
            .as_ref()
            .and_then(|d| d.script.as_ref())
            .into_iter()
            .chain(&inst.notify_master_rx_lower_pri);
        for s in extra {
            out.push((s, s.user.as_deref()));
        }
    }
    for s in config.lvs.scripts() {
        out.push((s, s.user.as_deref()));
    }
    out
}

fn check_scripts(config: &Config, facts: &HostFacts, diags: &mut Diagnostics) {
    let defs = &config.global.defs;
    let secure = defs.enable_script_security;
    let global_user = defs.script_user.as_ref().map(|(u, _)| u.as_str());
    let mut runs_as_root = None;
    for (script, user) in scripts(config) {
        let user = match user.or(global_user) {
            Some(u) => u,
            None if facts.script_user_exists => "keepalived_script",
            None if secure => {
                diags.error(script.loc, "unable to set default user keepalived_script for script (no such user; set `script_user`)");
                continue;
            }
            None => "root",
        };
        let Some(program) = script.argv.first() else {
            continue;
        };
        let Some(path) = find_program(program) else {
            diags.error(
                script.loc,
                format!("script {program} not found or not executable"),
            );
            continue;
        };
        if user == "root" || user == "0" {
            runs_as_root.get_or_insert(script.loc);
            if secure
                && facts.is_root
                && let Some(why) = insecure(&path)
            {
                diags.error(
                    script.loc,
                    format!("refusing to run {} as root: {why}", path.display()),
                );
            }
        }
    }
    if let (Some(loc), false) = (runs_as_root, secure)
        && facts.is_root
    {
        diags.push(
                Severity::Warning,
                DiagKind::ScriptSecurity,
                loc,
                "SECURITY VIOLATION - scripts are being executed as root but enable_script_security is not set",
            );
    }
}

/// The executable a script's first word names: a path, or a name looked up in PATH.
fn find_program(program: &str) -> Option<PathBuf> {
    let executable =
        |p: &Path| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.mode() & 0o111 != 0);
    if program.contains('/') {
        let p = PathBuf::from(program);
        return executable(&p).then_some(p);
    }
    let path = std::env::var_os("PATH")
        .unwrap_or_else(|| "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into());
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| executable(p))
}

/// Why a script run as root would not be safe: it, or a directory above it, can be changed by
/// someone other than root.
fn insecure(path: &Path) -> Option<String> {
    let mut current = Some(path);
    while let Some(p) = current {
        let meta = std::fs::metadata(p).ok()?;
        let sticky_dir = meta.is_dir() && meta.mode() & 0o1000 != 0;
        if meta.uid() != 0 {
            return Some(format!("{} is owned by uid {}", p.display(), meta.uid()));
        }
        if meta.mode() & 0o022 != 0 && !sticky_dir {
            return Some(format!("{} is writable by non-root users", p.display()));
        }
        current = p.parent();
    }
    None
}
