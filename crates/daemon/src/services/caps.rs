//! The Linux capabilities a configuration needs, checked at start so that a missing one is a
//! clear message naming it instead of an `EPERM` from deep inside (see docs/capabilities.md).
//!
//! [`needs`] lists, for a configuration, each capability with the feature that uses it and
//! whether the daemon can do its job without it; [`check`] compares that with the effective
//! set (`CapEff` in `/proc/self/status`), logs a warning for each optional one that is missing
//! and returns the message for the first missing one that the daemon cannot run without.

use keepalived_config::model::Config;
use keepalived_config::model::lvs::CheckerKind;
use tracing::warn;

use crate::services::script::ScriptEnv;

/// A capability the daemon may need (numbers from linux/capability.h).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cap {
    /// Send a signal to a script that runs as another user (timeouts, shutdown).
    Kill = 5,
    /// Switch a script's group (`script_user USER GROUP`, the script's own group).
    Setgid = 6,
    /// Switch a script's user (`script_user`, `keepalived_script`, the script's own user).
    Setuid = 7,
    /// Bind a checker's source port below 1024 (`bind_port`).
    NetBindService = 10,
    /// Addresses, routes, rules, links (VMAC), IPVS, SO_MARK, the process connector, sysctls.
    NetAdmin = 12,
    /// Raw sockets: VRRP (IP protocol 112), gratuitous ARP (AF_PACKET), ICMP.
    NetRaw = 13,
    /// `mlockall` for `vrrp_no_swap` / `checker_no_swap`.
    IpcLock = 14,
    /// Real-time scheduling (`*_rt_priority`) and a negative nice value (`*_priority`).
    SysNice = 23,
}

impl Cap {
    /// The name in capabilities(7), as `setpriv`, `capsh` and systemd spell it.
    pub fn name(self) -> &'static str {
        match self {
            Cap::Kill => "CAP_KILL",
            Cap::Setgid => "CAP_SETGID",
            Cap::Setuid => "CAP_SETUID",
            Cap::NetBindService => "CAP_NET_BIND_SERVICE",
            Cap::NetAdmin => "CAP_NET_ADMIN",
            Cap::NetRaw => "CAP_NET_RAW",
            Cap::IpcLock => "CAP_IPC_LOCK",
            Cap::SysNice => "CAP_SYS_NICE",
        }
    }

    fn bit(self) -> u64 {
        1 << (self as u32)
    }
}

/// One capability a configuration needs, and for what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    /// The capability.
    pub cap: Cap,
    /// What cannot be done without it ("cannot open the VRRP socket").
    pub what: String,
    /// The daemon cannot do its job without it: a missing one stops the start.
    pub required: bool,
}

fn need(out: &mut Vec<Need>, cap: Cap, what: impl Into<String>, required: bool) {
    if !out.iter().any(|n| n.cap == cap && n.required >= required) {
        out.retain(|n| n.cap != cap);
        out.push(Need {
            cap,
            what: what.into(),
            required,
        });
    }
}

/// The capabilities `config` needs when the daemon runs as `uid`/`gid` (scripts that run as
/// someone else need CAP_SETUID, CAP_SETGID and CAP_KILL).
pub fn needs(config: &Config, scripts: &ScriptEnv, uid: u32, gid: u32) -> Vec<Need> {
    let mut out = Vec::new();
    let vrrp = &config.vrrp;
    if !vrrp.instances.is_empty() {
        need(&mut out, Cap::NetRaw, "cannot open the VRRP socket", true);
        need(
            &mut out,
            Cap::NetAdmin,
            "cannot add the virtual IP addresses",
            true,
        );
    }
    if !vrrp.static_addresses.is_empty()
        || !vrrp.static_routes.is_empty()
        || !vrrp.static_rules.is_empty()
    {
        need(
            &mut out,
            Cap::NetAdmin,
            "cannot add the static addresses, routes and rules",
            true,
        );
    }
    if !vrrp.track_processes.is_empty() {
        need(
            &mut out,
            Cap::NetAdmin,
            "vrrp_track_process falls back to scanning /proc every second (no process connector)",
            false,
        );
    }
    let lvs = &config.lvs;
    if !lvs.virtual_servers.is_empty() {
        need(&mut out, Cap::NetAdmin, "cannot program IPVS", true);
    }
    let checkers = lvs
        .virtual_servers
        .iter()
        .flat_map(|v| &v.real_servers)
        .flat_map(|r| &r.checkers);
    for c in checkers {
        if matches!(c.kind, CheckerKind::Ping) {
            need(
                &mut out,
                Cap::NetRaw,
                "PING_CHECK needs a raw ICMP socket unless net.ipv4.ping_group_range allows ours",
                false,
            );
        }
        if c.common.fwmark.is_some() {
            need(
                &mut out,
                Cap::NetAdmin,
                "a checker's fwmark (SO_MARK) fails",
                false,
            );
        }
        if c.common.bind_port.is_some_and(|p| p != 0 && p < 1024) {
            need(
                &mut out,
                Cap::NetBindService,
                "a checker's bind_port below 1024 fails",
                false,
            );
        }
    }
    let defs = &config.global.defs;
    for (label, p) in [
        ("vrrp", &defs.vrrp_process),
        ("checker", &defs.checker_process),
    ] {
        if p.rt_priority.is_some() || p.priority < 0 {
            need(
                &mut out,
                Cap::SysNice,
                format!("{label}_rt_priority / negative {label}_priority are not applied"),
                false,
            );
        }
        if p.no_swap {
            need(
                &mut out,
                Cap::IpcLock,
                format!("{label}_no_swap cannot lock the memory"),
                false,
            );
        }
    }
    let other_user = keepalived_config::host::scripts(config)
        .into_iter()
        .filter_map(|(s, user)| scripts.credentials(user, s.group.as_deref()).ok())
        .find(|c| c.uid != uid || c.gid != gid);
    if let Some(c) = other_user {
        let what = format!("scripts that run as {} cannot start or be killed", c.user);
        need(&mut out, Cap::Setuid, what.clone(), false);
        need(&mut out, Cap::Setgid, what.clone(), false);
        need(&mut out, Cap::Kill, what, false);
    }
    out.sort_by_key(|n| n.cap);
    out
}

/// The effective capability set of this process (`CapEff`), `None` if unreadable.
pub fn effective() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let hex = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))?
        .trim();
    u64::from_str_radix(hex, 16).ok()
}

/// The missing capabilities among `needs` for the effective set `eff`: a warning line for
/// each optional one, and `Err` with the message of the first required one.
pub fn missing(needs: &[Need], eff: u64) -> (Vec<String>, Result<(), String>) {
    let mut warnings = Vec::new();
    let mut result = Ok(());
    for n in needs.iter().filter(|n| eff & n.cap.bit() == 0) {
        let line = format!("{}: {} is missing", n.what, n.cap.name());
        if n.required {
            if result.is_ok() {
                result = Err(line);
            }
        } else {
            warnings.push(line);
        }
    }
    (warnings, result)
}

/// Checks this process's capabilities against what `config` needs: logs the optional ones
/// that are missing; `Err` names the first required one (the daemon must not start).
pub fn check(config: &Config) -> Result<(), String> {
    let Some(eff) = effective() else {
        return Ok(());
    };
    let env = ScriptEnv::from_defs(&config.global.defs);
    let uid = nix::unistd::geteuid().as_raw();
    let gid = nix::unistd::getegid().as_raw();
    let (warnings, result) = missing(&needs(config, &env, uid, gid), eff);
    for w in warnings {
        warn!("{w}");
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use keepalived_config::{PreprocessOptions, read_str};

    fn needs_of(text: &str) -> Vec<Need> {
        let read = read_str("t.conf", text, &PreprocessOptions::default());
        let env = ScriptEnv::with_default_user(&read.config.global.defs, false);
        needs(&read.config, &env, 0, 0)
    }

    const VRRP: &str = "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n \
                        priority 100\n virtual_ipaddress {\n 192.0.2.1\n }\n}\n";

    #[test]
    fn vrrp_needs_net_raw_and_net_admin() {
        let n = needs_of(VRRP);
        let caps: Vec<_> = n.iter().map(|n| (n.cap, n.required)).collect();
        assert_eq!(caps, [(Cap::NetAdmin, true), (Cap::NetRaw, true)]);
        let all = Cap::NetAdmin.bit() | Cap::NetRaw.bit();
        assert_eq!(missing(&n, all), (vec![], Ok(())));
        let (_, r) = missing(&n, Cap::NetAdmin.bit());
        assert_eq!(
            r,
            Err("cannot open the VRRP socket: CAP_NET_RAW is missing".into())
        );
    }

    #[test]
    fn optional_needs_only_warn() {
        let conf = format!(
            "global_defs {{\n vrrp_rt_priority 50\n vrrp_no_swap\n script_user nobody\n}}\n\
             vrrp_script chk {{\n script /bin/true\n}}\n{VRRP}"
        );
        let n = needs_of(&conf);
        let caps: Vec<_> = n.iter().filter(|n| !n.required).map(|n| n.cap).collect();
        assert_eq!(
            caps,
            [
                Cap::Kill,
                Cap::Setgid,
                Cap::Setuid,
                Cap::IpcLock,
                Cap::SysNice
            ]
        );
        let base = Cap::NetAdmin.bit() | Cap::NetRaw.bit();
        let (warnings, r) = missing(&n, base);
        assert!(r.is_ok());
        assert_eq!(warnings.len(), 5, "{warnings:?}");
        assert!(warnings.iter().any(|w| w.contains("CAP_SYS_NICE")));
    }

    #[test]
    fn empty_config_needs_nothing() {
        assert!(needs_of("").is_empty());
    }
}
