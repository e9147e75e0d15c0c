//! Build options: the Cargo features this binary was built with (`-v`), the engines they
//! provide, and the check that refuses a configuration using one that is not built in.

use keepalived_config::Config;
use keepalived_config::{Diagnostics, Loc};

use crate::services::cli::Engine;

/// Every build option and whether it is built in, in the order `-v` prints them.
pub const ALL: [(&str, bool); 5] = [
    ("vrrp", cfg!(feature = "vrrp")),
    ("lvs", cfg!(feature = "lvs")),
    ("lvs-syncd", cfg!(feature = "lvs-syncd")),
    ("vmac", cfg!(feature = "vmac")),
    ("bfd", cfg!(feature = "bfd")),
];

/// The names of the features built in.
pub fn built() -> Vec<&'static str> {
    ALL.iter().filter(|(_, on)| *on).map(|(n, _)| *n).collect()
}

/// What `-v` prints: the version and the build options, like keepalived's `Build options:`.
pub fn version_text() -> String {
    let built = built();
    format!(
        "keepalived-rs {}\ncompatible with keepalived.conf of keepalived 2.4\nBuild options: {}\n",
        env!("CARGO_PKG_VERSION"),
        if built.is_empty() {
            "none".to_owned()
        } else {
            built.join(" ")
        }
    )
}

/// Whether the engine process `engine` is built in (`vrrp` for VRRP, `lvs` for the checker).
pub fn has_engine(engine: Engine) -> bool {
    match engine {
        Engine::Vrrp => cfg!(feature = "vrrp"),
        Engine::Checker => cfg!(feature = "lvs"),
        Engine::Bfd => cfg!(feature = "bfd"),
    }
}

/// Reports, as an error at its place, every keyword of `config` whose feature is not built in:
/// `vrrp_instance` and the static addresses, routes and rules (vrrp), `virtual_server` (lvs), `use_vmac` (vmac), `lvs_sync_daemon` and
/// `lvs_sync_daemon_interface` (lvs-syncd), `bfd_instance` (bfd). Returns how many there are: the daemon does not
/// start with any (it cannot run what the file asks for).
pub fn check(config: &Config, diags: &mut Diagnostics) -> usize {
    let mut missing = 0;
    for (keyword, feature, loc) in uses(config) {
        if !ALL.iter().any(|(n, on)| *n == feature && *on) {
            missing += 1;
            diags.error(
                loc,
                format!(
                    "`{keyword}` needs the `{feature}` feature, which this keepalived-rs was \
                     built without (keepalived-rs -v lists the features built in)"
                ),
            );
        }
    }
    missing
}

/// Every use of a feature-bound keyword: (keyword, feature, place).
fn uses(config: &Config) -> Vec<(&'static str, &'static str, Loc)> {
    let mut out = Vec::new();
    for inst in &config.vrrp.instances {
        out.push(("vrrp_instance", "vrrp", inst.loc));
        if inst.use_vmac.is_some() {
            out.push(("use_vmac", "vmac", inst.loc));
        } else if inst.use_vmac_addr {
            out.push(("use_vmac_addr", "vmac", inst.loc));
        }
        if inst.lvs_sync_daemon_interface.is_some() {
            out.push(("lvs_sync_daemon_interface", "lvs-syncd", inst.loc));
        }
    }
    // The VRRP engine also sets the static addresses, routes and rules.
    let v = &config.vrrp;
    let statics = (v
        .static_addresses
        .first()
        .map(|a| ("static_ipaddress", a.loc)))
    .or_else(|| v.static_routes.first().map(|r| ("static_routes", r.loc)))
    .or_else(|| v.static_rules.first().map(|r| ("static_rules", r.loc)));
    if let Some((keyword, loc)) = statics {
        out.push((keyword, "vrrp", loc));
    }
    for vs in &config.lvs.virtual_servers {
        out.push(("virtual_server", "lvs", vs.loc));
    }
    if let Some(sd) = &config.global.defs.lvs_sync_daemon {
        out.push(("lvs_sync_daemon", "lvs-syncd", sd.loc));
    }
    for b in &config.global.bfd_instances {
        out.push(("bfd_instance", "bfd", b.loc));
    }
    out
}

/// The exit code of an engine process asked for an engine that is not built in.
pub fn not_built(engine: Engine) -> i32 {
    eprintln!(
        "keepalived-rs: the {} engine is not built in (keepalived-rs -v lists the features)",
        engine.as_str()
    );
    crate::services::EXIT_CONFIG
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_keyword_is_found_with_its_place() {
        let text = "global_defs {\n lvs_sync_daemon eth0 VI_1\n}\n\
            vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority 100\n \
            use_vmac\n virtual_ipaddress {\n 192.0.2.10/24\n }\n}\n\
            virtual_server 192.0.2.10 80 {\n real_server 192.0.2.20 80 {\n }\n}\n\
            static_routes {\n 198.51.100.0/24 via 192.0.2.1\n}\n\
            bfd_instance b1 {\n neighbor_ip 192.0.2.2\n}\n";
        let read = keepalived_config::read_str("t.conf", text, &Default::default());
        let found: Vec<_> = uses(&read.config)
            .into_iter()
            .map(|(k, f, loc)| (k, f, loc.line))
            .collect();
        assert_eq!(
            found,
            [
                ("vrrp_instance", "vrrp", 4),
                ("use_vmac", "vmac", 4),
                ("static_routes", "vrrp", 18),
                ("virtual_server", "lvs", 13),
                ("lvs_sync_daemon", "lvs-syncd", 2),
                ("bfd_instance", "bfd", 20),
            ]
        );
    }

    #[test]
    fn version_lists_the_features_built_in() {
        let text = version_text();
        assert!(text.starts_with("keepalived-rs "));
        assert!(text.contains(&format!("Build options: {}\n", built().join(" "))));
    }
}
