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
use crate::model::global::{DynamicInterfaces, GlobalDefs};

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
/// does where the host makes part of it unusable.
pub fn check(config: &mut Config, facts: &HostFacts, diags: &mut Diagnostics) {
    let config = &*config;
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
pub fn scripts(config: &Config) -> Vec<(&Script, Option<&str>)> {
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

/// Who a script runs as, by keepalived's rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunAs<'a> {
    /// A named user (the script's own `user`, else the global `script_user`), with the group
    /// given after it, if any (a leading `:` asks for supplementary groups).
    User {
        /// User name (or numeric uid).
        name: &'a str,
        /// Group name (or numeric gid), possibly with a leading `:`.
        group: Option<&'a str>,
    },
    /// Nobody was named: keepalived's default user `keepalived_script` exists.
    DefaultScriptUser,
    /// Nobody was named and `keepalived_script` does not exist: the user keepalived runs as.
    Keepalived,
    /// Nobody was named, `keepalived_script` does not exist, and `enable_script_security`
    /// forbids falling back to the user keepalived runs as: the script cannot run.
    NoUser,
}

/// keepalived's name for its default script user.
pub const DEFAULT_SCRIPT_USER: &str = "keepalived_script";

/// Who runs a script given its own `user`/`group` (if any): that user, else the global
/// `script_user`, else `keepalived_script` if it exists, else (unless script security is on)
/// the user keepalived runs as.
pub fn run_as<'a>(
    user: Option<&'a str>,
    group: Option<&'a str>,
    defs: &'a GlobalDefs,
    script_user_exists: bool,
) -> RunAs<'a> {
    if let Some(name) = user {
        return RunAs::User { name, group };
    }
    if let Some((name, group)) = &defs.script_user {
        return RunAs::User {
            name,
            group: group.as_deref(),
        };
    }
    if script_user_exists {
        RunAs::DefaultScriptUser
    } else if defs.enable_script_security {
        RunAs::NoUser
    } else {
        RunAs::Keepalived
    }
}

fn check_scripts(config: &Config, facts: &HostFacts, diags: &mut Diagnostics) {
    let defs = &config.global.defs;
    let secure = defs.enable_script_security;
    let mut runs_as_root = None;
    for (script, user) in scripts(config) {
        let user = match run_as(user, None, defs, facts.script_user_exists) {
            RunAs::User { name, .. } => name,
            RunAs::DefaultScriptUser => DEFAULT_SCRIPT_USER,
            RunAs::NoUser => {
                diags.error(script.loc, "unable to set default user keepalived_script for script (no such user; set `script_user`)");
                continue;
            }
            RunAs::Keepalived => "root",
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
                && let Some(why) = insecure_path(&path)
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

/// The executable a script's first word names: a path, or a name looked up in `PATH`.
pub fn find_program(program: &str) -> Option<PathBuf> {
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

/// Most symbolic links followed while checking one path (as the kernel's `ELOOP` limit).
const MAX_SYMLINKS: usize = 40;

/// Why running `path` as root would not be safe, or `None` when only root can change what runs.
///
/// Every directory entry met while resolving the path is checked, symbolic links included (the
/// link itself and everything its target names): each must be owned by root, and each
/// directory and the final file must not be writable by anyone but root (group-writable is
/// allowed for group 0; a sticky directory such as `/tmp` may be writable by others, since only
/// the owner of an entry, here root, can replace it). A path that cannot be resolved is unsafe.
pub fn insecure_path(path: &Path) -> Option<String> {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        match std::env::current_dir() {
            Ok(cwd) => cwd.join(path),
            Err(e) => return Some(format!("cannot resolve {}: {e}", path.display())),
        }
    };
    let root = Path::new("/");
    if let Some(why) = unsafe_entry(root) {
        return Some(why);
    }
    let mut pending: Vec<std::ffi::OsString> = components_reversed(&absolute);
    let mut current = PathBuf::from("/");
    let mut links = 0usize;
    while let Some(name) = pending.pop() {
        if name == "/" {
            current = PathBuf::from("/");
            continue;
        }
        if name == ".." {
            current.pop();
            continue;
        }
        let next = current.join(&name);
        if let Some(why) = unsafe_entry(&next) {
            return Some(why);
        }
        let meta = match std::fs::symlink_metadata(&next) {
            Ok(m) => m,
            Err(e) => return Some(format!("cannot examine {}: {e}", next.display())),
        };
        if meta.file_type().is_symlink() {
            links += 1;
            if links > MAX_SYMLINKS {
                return Some(format!("too many symbolic links in {}", path.display()));
            }
            let target = match std::fs::read_link(&next) {
                Ok(t) => t,
                Err(e) => return Some(format!("cannot read link {}: {e}", next.display())),
            };
            pending.extend(components_reversed(&target));
        } else {
            current = next;
        }
    }
    None
}

/// The components of `path` as names, last first (`/` for the root, `..` kept, `.` dropped).
fn components_reversed(path: &Path) -> Vec<std::ffi::OsString> {
    use std::path::Component;
    let mut out: Vec<std::ffi::OsString> = path
        .components()
        .filter_map(|c| match c {
            Component::RootDir | Component::Prefix(_) => Some("/".into()),
            Component::CurDir => None,
            Component::ParentDir => Some("..".into()),
            Component::Normal(n) => Some(n.to_os_string()),
        })
        .collect();
    out.reverse();
    out
}

/// Why the directory entry `p` (not following a final symbolic link) could be changed by
/// someone other than root.
fn unsafe_entry(p: &Path) -> Option<String> {
    let meta = match std::fs::symlink_metadata(p) {
        Ok(m) => m,
        Err(e) => return Some(format!("cannot examine {}: {e}", p.display())),
    };
    if meta.uid() != 0 {
        return Some(format!("{} is owned by uid {}", p.display(), meta.uid()));
    }
    if meta.file_type().is_symlink() {
        // A link's own mode bits mean nothing; its owner (root) and its directory count.
        return None;
    }
    let sticky_dir = meta.is_dir() && meta.mode() & 0o1000 != 0;
    let group_writable = meta.mode() & 0o020 != 0 && meta.gid() != 0 && !sticky_dir;
    let other_writable = meta.mode() & 0o002 != 0 && !sticky_dir;
    if group_writable {
        return Some(format!(
            "{} is writable by group {}",
            p.display(),
            meta.gid()
        ));
    }
    if other_writable {
        return Some(format!("{} is writable by every user", p.display()));
    }
    None
}
