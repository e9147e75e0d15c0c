//! The scripts of a configuration against this host, as keepalived 2.2.7 checks them: who each
//! runs as (its own user, `script_user`, `keepalived_script` or keepalived's own user), whether
//! that user exists, whether the program is there and executable, whether running it as root
//! is safe under `enable_script_security`; and what keepalived then removes from the
//! configuration (a `vrrp_script` and the tracking of it, a MISC_CHECK, a notify script).

use std::collections::{BTreeSet, HashSet};

use super::HostFacts;
use super::lookup::HostLookup;
use super::path::{insecure_path, locate};
use crate::diag::{DiagKind, Diagnostics, Loc, Severity};
use crate::model::Config;
use crate::model::common::Script;
use crate::model::global::GlobalDefs;
use crate::model::lvs::CheckerKind;

/// Every script of the configuration with the user it was given explicitly, if any.
pub fn scripts(config: &Config) -> Vec<(&Script, Option<&str>)> {
    slots(config)
        .into_iter()
        .map(|s| (s.script, s.user))
        .collect()
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

/// The user and group names of a host, as keepalived looks them up by name (`getpwnam`,
/// `getgrnam`); given by [`HostLookup::accounts`].
#[derive(Debug, Clone, Default)]
pub struct Accounts {
    /// User names.
    pub users: BTreeSet<String>,
    /// Group names.
    pub groups: BTreeSet<String>,
}

impl Accounts {
    /// The names of an `/etc/passwd` or `/etc/group` file's text: the first field of each
    /// line, comments and empty names left out.
    #[must_use]
    pub fn names_of(etc_file: &str) -> BTreeSet<String> {
        etc_file
            .lines()
            .filter_map(|l| l.split(':').next())
            .filter(|n| !n.is_empty() && !n.starts_with('#'))
            .map(str::to_owned)
            .collect()
    }

    /// True when `user` and (if given) `group` exist (a leading `:` of the group, asking for
    /// supplementary groups, is not part of its name).
    fn resolves(&self, user: &str, group: Option<&str>) -> bool {
        self.users.contains(user)
            && group.is_none_or(|g| self.groups.contains(g.strip_prefix(':').unwrap_or(g)))
    }
}

/// What keepalived does with a script it cannot use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// A `vrrp_script`: reported as a configuration error, the script and the tracking of it
    /// removed.
    Track,
    /// A MISC_CHECK: a user problem is a configuration error, a missing or unsafe program only
    /// logged; the checker is removed either way.
    Misc,
    /// A notify, fifo, startup or shutdown script: logged, and not run.
    Notify,
}

/// Which keepalived process checks a script (and only when it has something to run).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Process {
    Vrrp,
    Checker,
    Both,
    Parent,
}

/// One script of the configuration with what keepalived needs to judge it.
struct Slot<'a> {
    script: &'a Script,
    user: Option<&'a str>,
    group: Option<&'a str>,
    role: Role,
    process: Process,
    /// The `vrrp_script` name (tracks), or a description.
    name: String,
}

fn slots(config: &Config) -> Vec<Slot<'_>> {
    let defs = &config.global.defs;
    let mut out = Vec::new();
    for (s, process) in [
        (&defs.startup_script, Process::Parent),
        (&defs.shutdown_script, Process::Parent),
        (&defs.notify_fifo.script, Process::Both),
        (&defs.vrrp_notify_fifo.script, Process::Vrrp),
        (&defs.lvs_notify_fifo.script, Process::Checker),
    ] {
        if let Some(s) = s {
            out.push(notify_slot(s, process));
        }
    }
    for s in &config.vrrp.scripts {
        out.push(Slot {
            script: &s.script,
            user: s.user.as_deref().or(s.script.user.as_deref()),
            group: if s.user.is_some() {
                s.group.as_deref()
            } else {
                s.script.group.as_deref()
            },
            role: Role::Track,
            process: Process::Vrrp,
            name: s.name.clone(),
        });
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
            out.push(notify_slot(s, Process::Vrrp));
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
            out.push(notify_slot(s, Process::Vrrp));
        }
    }
    for vs in &config.lvs.virtual_servers {
        for s in vs.quorum_up.iter().chain(&vs.quorum_down) {
            out.push(notify_slot(s, Process::Checker));
        }
        for rs in &vs.real_servers {
            for s in rs.notify_up.iter().chain(&rs.notify_down) {
                out.push(notify_slot(s, Process::Checker));
            }
            for c in &rs.checkers {
                if let CheckerKind::Misc(m) = &c.kind {
                    out.push(Slot {
                        script: &m.script,
                        user: m.script.user.as_deref(),
                        group: m.script.group.as_deref(),
                        role: Role::Misc,
                        process: Process::Checker,
                        name: m.script.command.clone(),
                    });
                }
            }
        }
    }
    out
}

fn notify_slot(s: &Script, process: Process) -> Slot<'_> {
    Slot {
        script: s,
        user: s.user.as_deref(),
        group: s.group.as_deref(),
        role: Role::Notify,
        process,
        name: s.command.clone(),
    }
}

/// What became of the scripts: the places of those removed, and of the `vrrp_script`s removed
/// while reading (whose tracking keepalived then reports as not found).
#[derive(Default)]
struct Removed {
    scripts: HashSet<Loc>,
    while_reading: BTreeSet<String>,
}

/// Checks every script as keepalived does, reports what keepalived reports (errors where it
/// reports configuration errors, warnings where it only logs) and removes from `config` what
/// keepalived removes.
pub(super) fn check(
    config: &mut Config,
    facts: &HostFacts,
    host: &dyn HostLookup,
    vrrp_runs: bool,
    diags: &mut Diagnostics,
) {
    let removed = judge(config, facts, host, vrrp_runs, diags);
    apply(config, &removed, diags);
}

fn judge(
    config: &Config,
    facts: &HostFacts,
    host: &dyn HostLookup,
    vrrp_runs: bool,
    diags: &mut Diagnostics,
) -> Removed {
    let accounts = &host.accounts();
    let defs = &config.global.defs;
    let secure = defs.enable_script_security;
    let mut removed = Removed::default();
    // keepalived resolves the global script_user once, where it is read; when that fails,
    // every script without a user of its own has no user.
    let mut default_fails = false;
    if let Some((user, group)) = &defs.script_user
        && !accounts.resolves(user, group.as_deref())
    {
        diags.error(
            defs.script_user_loc,
            format!(
                "Error setting global script uid/gid (script_user {user}: no such user or group)"
            ),
        );
        default_fails = true;
    }
    let mut default_reported = false;
    // Each process checks its scripts after reading, if it has anything to run (an instance
    // keepalived drops later still counts) and, for VRRP, if no interface is missing.
    let has_vrrp = vrrp_runs
        && !(config.vrrp.instances.is_empty() && config.vrrp.dropped_instances.is_empty());
    let has_checker = !config.lvs.virtual_servers.is_empty();
    let mut found_script: Option<Loc> = None;
    for slot in slots(config) {
        let s = slot.script;
        let Some(program) = s.argv.first() else {
            continue;
        };
        // Who runs it: resolved while reading, so a failure removes it then.
        let user = match slot.user {
            Some(user) => {
                if !accounts.resolves(user, slot.group) {
                    let msg = match slot.role {
                        Role::Track => format!(
                            "Unable to set uid/gid for script {} (no such user or group `{user}`) - removing vrrp_script {}",
                            s.command, slot.name
                        ),
                        Role::Misc => format!(
                            "Failed to set uid/gid for misc checker script {} (no such user or group `{user}`) - removing",
                            s.command
                        ),
                        Role::Notify => format!(
                            "Invalid user/group `{user}` for script {} - ignoring",
                            s.command
                        ),
                    };
                    remove(&mut removed, &slot, true, msg, diags);
                    continue;
                }
                user
            }
            None if default_fails => {
                let msg = default_user_failed(&slot);
                remove(&mut removed, &slot, true, msg, diags);
                continue;
            }
            None => match run_as(None, None, defs, facts.script_user_exists) {
                RunAs::User { name, .. } => name,
                RunAs::DefaultScriptUser => super::DEFAULT_SCRIPT_USER,
                RunAs::Keepalived => "root",
                RunAs::NoUser => {
                    if !default_reported {
                        default_reported = true;
                        diags.error(
                            s.loc,
                            "Unable to set default user keepalived_script for script (no such user; set `script_user`)",
                        );
                    }
                    let msg = default_user_failed(&slot);
                    remove(&mut removed, &slot, true, msg, diags);
                    continue;
                }
            },
        };
        // The security check after reading, by the process that runs it, if it runs anything.
        let checked = match slot.process {
            Process::Vrrp => has_vrrp,
            Process::Checker => has_checker,
            Process::Both => has_vrrp || has_checker,
            Process::Parent => true,
        };
        if !checked || is_file_test(program) {
            continue;
        }
        let Some((path, executable)) = locate(host, program) else {
            let msg = match slot.role {
                Role::Track => format!(
                    "Disabling track script {} since not found/accessible ({program})",
                    slot.name
                ),
                _ => format!("script {program} not found - disabling"),
            };
            remove(&mut removed, &slot, false, msg, diags);
            continue;
        };
        found_script.get_or_insert(s.loc);
        if !executable {
            let msg = format!("script {program} is not executable - disabling");
            remove_as(&mut removed, &slot, false, Severity::Warning, msg, diags);
            continue;
        }
        if secure
            && facts.is_root
            && (user == "root" || user == "0")
            && let Some(why) = insecure_path(host, &path)
        {
            let msg = match slot.role {
                Role::Track => format!(
                    "Disabling track script {} due to insecure: {why}",
                    slot.name
                ),
                _ => format!(
                    "refusing to run {} as root: {why} - disabling",
                    path.display()
                ),
            };
            remove(&mut removed, &slot, false, msg, diags);
        }
    }
    if let (Some(loc), false) = (found_script, secure)
        && facts.is_root
    {
        diags.push(
            Severity::Warning,
            DiagKind::ScriptSecurity,
            loc,
            "SECURITY VIOLATION - scripts are being executed but script_security not enabled",
        );
    }
    removed
}

/// keepalived's words when a script has no user because the default one failed.
fn default_user_failed(slot: &Slot<'_>) -> String {
    match slot.role {
        Role::Track => format!(
            "Unable to set default user for vrrp script {} - removing",
            slot.name
        ),
        Role::Misc => format!(
            "Unable to set default user for misc script {} - removing",
            slot.script.command
        ),
        Role::Notify => format!(
            "Failed to set default user for script {} - ignoring",
            slot.script.command
        ),
    }
}

/// A script starting `<` then `/` tests that a file can be opened: keepalived runs no program.
fn is_file_test(program: &str) -> bool {
    program
        .strip_prefix('<')
        .is_some_and(|rest| rest.trim_start_matches([' ', '\t']).starts_with('/'))
}

/// Removes a script, reported as keepalived reports it: a configuration error for a
/// `vrrp_script` (and for a MISC_CHECK whose user fails), a warning otherwise.
fn remove(
    removed: &mut Removed,
    slot: &Slot<'_>,
    while_reading: bool,
    msg: String,
    diags: &mut Diagnostics,
) {
    let severity = match slot.role {
        Role::Track => Severity::Error,
        Role::Misc if while_reading => Severity::Error,
        _ => Severity::Warning,
    };
    remove_as(removed, slot, while_reading, severity, msg, diags);
}

fn remove_as(
    removed: &mut Removed,
    slot: &Slot<'_>,
    while_reading: bool,
    severity: Severity,
    msg: String,
    diags: &mut Diagnostics,
) {
    diags.push(severity, DiagKind::General, slot.script.loc, msg);
    removed.scripts.insert(slot.script.loc);
    if while_reading && slot.role == Role::Track {
        removed.while_reading.insert(slot.name.clone());
    }
}

/// Removes the scripts `removed` names from `config`, with the tracking of removed
/// `vrrp_script`s (reported, as keepalived does, where it tracks a script removed while
/// reading).
fn apply(config: &mut Config, removed: &Removed, diags: &mut Diagnostics) {
    if removed.scripts.is_empty() {
        return;
    }
    let gone = |s: &Option<crate::model::common::Script>| {
        s.as_ref().is_some_and(|s| removed.scripts.contains(&s.loc))
    };
    let clear = |s: &mut Option<crate::model::common::Script>| {
        if gone(s) {
            *s = None;
        }
    };
    let defs = &mut config.global.defs;
    clear(&mut defs.startup_script);
    clear(&mut defs.shutdown_script);
    clear(&mut defs.notify_fifo.script);
    clear(&mut defs.vrrp_notify_fifo.script);
    clear(&mut defs.lvs_notify_fifo.script);
    let vrrp = &mut config.vrrp;
    let mut dropped: BTreeSet<String> = BTreeSet::new();
    vrrp.scripts.retain(|s| {
        let keep = !removed.scripts.contains(&s.script.loc);
        if !keep {
            dropped.insert(s.name.clone());
        }
        keep
    });
    let mut untrack = |who: &str, tracks: &mut Vec<crate::model::vrrp::Track>| {
        tracks.retain(|t| {
            if !dropped.contains(&t.name) {
                return true;
            }
            if removed.while_reading.contains(&t.name) {
                diags.error(
                    t.loc,
                    format!("{who} track script {} not found, ignoring...", t.name),
                );
            }
            false
        });
    };
    for inst in &mut vrrp.instances {
        untrack(&format!("({})", inst.name), &mut inst.track_scripts);
        let n = &mut inst.notify;
        for s in [
            &mut n.master,
            &mut n.backup,
            &mut n.fault,
            &mut n.stop,
            &mut n.any,
        ] {
            clear(s);
        }
        if let Some(d) = &mut inst.notify_deleted {
            clear(&mut d.script);
        }
        clear(&mut inst.notify_master_rx_lower_pri);
    }
    for g in &mut vrrp.sync_groups {
        untrack(&format!("sync group {}:", g.name), &mut g.track_scripts);
        let n = &mut g.notify;
        for s in [
            &mut n.master,
            &mut n.backup,
            &mut n.fault,
            &mut n.stop,
            &mut n.any,
        ] {
            clear(s);
        }
    }
    for vs in &mut config.lvs.virtual_servers {
        clear(&mut vs.quorum_up);
        clear(&mut vs.quorum_down);
        for rs in &mut vs.real_servers {
            clear(&mut rs.notify_up);
            clear(&mut rs.notify_down);
            rs.checkers.retain(|c| match &c.kind {
                CheckerKind::Misc(m) => !removed.scripts.contains(&m.script.loc),
                _ => true,
            });
        }
    }
}
