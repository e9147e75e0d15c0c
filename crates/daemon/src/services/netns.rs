//! Network namespaces and instance names: which namespace the daemon runs in (`-s` over
//! `net_namespace`), entering it, the IPVS namespace (`net_namespace_ipvs`), the syslog ident
//! and pid-file directory they imply, and the settings a reload cannot change.

use std::path::PathBuf;
use std::sync::OnceLock;

use keepalived_config::model::global::GlobalConfig;
use tracing::info;

use super::cli::Cli;

/// The namespace the daemon runs in: `-s NAME`, else `net_namespace NAME`.
pub fn chosen<'a>(cli: &'a Cli, global: &'a GlobalConfig) -> Option<&'a str> {
    cli.namespace.as_deref().or(global.net_namespace.as_deref())
}

/// Moves this process into the namespace [`chosen`] (nothing without one). Call before any
/// other thread starts: the engines, their threads and scripts inherit it.
///
/// # Errors
/// keepalived's message when the namespace cannot be entered.
pub fn enter(cli: &Cli, global: &GlobalConfig) -> Result<(), String> {
    let Some(name) = chosen(cli, global) else {
        return Ok(());
    };
    keepalived_net::enter_netns(name)
        .map_err(|e| format!("Unable to set network namespace {name} - exiting ({e})"))
}

/// Logs keepalived's line when `-s` overrides `net_namespace`.
pub fn log_override(cli: &Cli, global: &GlobalConfig) {
    if let (Some(over), Some(conf)) = (&cli.namespace, &global.net_namespace) {
        info!("Overriding config net_namespace '{conf}' with command line namespace '{over}'");
    }
}

/// The syslog ident of a process whose base ident is `base`: keepalived appends `_NAMESPACE`
/// and `_INSTANCE` when they are set (`Keepalived_vrrp_blue_lb1`).
pub fn ident(base: &str, cli: &Cli, global: &GlobalConfig) -> String {
    let mut ident = base.to_owned();
    if let Some(ns) = chosen(cli, global) {
        ident.push('_');
        ident.push_str(ns);
    }
    if let Some(instance) = &global.instance {
        ident.push('_');
        ident.push_str(instance);
    }
    ident
}

/// Where the default pid files go in a namespace: keepalived bind-mounts
/// `/run/keepalived/NAMESPACE` on its pid directory, so from outside they are there.
pub fn pid_dir(cli: &Cli, global: &GlobalConfig) -> Option<PathBuf> {
    chosen(cli, global).map(|ns| PathBuf::from(format!("/run/keepalived/{}", ns.replace('/', "_"))))
}

/// What a reload cannot change (keepalived's "Cannot change ... at a reload" list, for the
/// settings this daemon has): each one changed gives its message, and the reload is refused.
pub fn unchangeable(cli: &Cli, old: &GlobalConfig, new: &GlobalConfig) -> Vec<String> {
    let mut out = Vec::new();
    if chosen(cli, old) != chosen(cli, new) {
        out.push(
            "Cannot change network namespace at a reload - please restart keepalived-rs".to_owned(),
        );
    }
    if old.net_namespace_ipvs != new.net_namespace_ipvs {
        out.push(
            "Cannot change IPVS network namespace at a reload - please restart keepalived-rs"
                .to_owned(),
        );
    }
    if old.instance != new.instance {
        out.push(
            "Cannot change instance name at a reload - please restart keepalived-rs".to_owned(),
        );
    }
    out
}

/// `net_namespace_ipvs` as read at start (a reload cannot change it).
static IPVS_NAMESPACE: OnceLock<Option<String>> = OnceLock::new();

/// Records `net_namespace_ipvs` for [`ipvs_namespace_path`] (first call wins).
pub fn set_ipvs_namespace(global: &GlobalConfig) {
    let _ = IPVS_NAMESPACE.set(global.net_namespace_ipvs.clone());
}

#[cfg(feature = "lvs")]
/// The namespace IPVS is configured in, as a path to enter: `/run/netns/NAME`, or the host's
/// (`/proc/1/ns/net`) for `net_namespace_ipvs` without a name; `None`: this process's own.
pub fn ipvs_namespace_path() -> Option<PathBuf> {
    match IPVS_NAMESPACE.get()?.as_deref()? {
        "" => Some(PathBuf::from("/proc/1/ns/net")),
        name => Some(keepalived_net::netns_path(name)),
    }
}
