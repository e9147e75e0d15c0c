//! Reading and checking the configuration, in every process, the same way at start-up and on
//! reload: the whole file is read, checked against this host (`-t`'s checks) and converted
//! into the driver's plans. As keepalived, it runs whatever keepalived would run: a part with an
//! error is dropped (an instance, an address, a route) with a message naming its place, and the
//! whole configuration is refused only when keepalived refuses it (the file cannot be read, a
//! fatal error) or when the operator asked for `--strict-config`.

use std::path::Path;
use std::sync::OnceLock;

use keepalived_config::host;
use keepalived_config::{Config, PreprocessOptions, Severity};

use super::cli::Cli;
use super::host::{SystemHost, gather_host_facts, interface_facts};
use super::{log, netns};
use crate::plan::convert::{InstancePlan, StaticPlan};
use crate::plan::runnable::plan_runnable;
use crate::plan::tracks::{self, TrackPlan};

/// A configuration ready to run.
// Only the VRRP engine runs the static plan and the tracked objects.
#[cfg_attr(not(feature = "vrrp"), allow(dead_code))]
#[derive(Debug)]
pub struct Loaded {
    /// The model.
    pub config: Config,
    /// One plan per `vrrp_instance` that runs.
    pub plans: Vec<InstancePlan>,
    /// `static_ipaddress`, `static_routes`, `static_rules`.
    pub statics: StaticPlan,
    /// Tracked objects, who tracks them, and the sync groups.
    pub tracks: TrackPlan,
    /// Diagnostics that do not prevent running (warnings, errors whose part was dropped or
    /// corrected, missing interfaces), rendered with their place (`file:line:col`).
    pub warnings: Vec<String>,
}

/// A configuration that cannot run: every diagnostic, rendered with its place, errors first
/// in file order.
#[derive(Debug)]
pub struct Refused {
    /// The rendered diagnostics.
    pub lines: Vec<String>,
}

static STRICT: OnceLock<bool> = OnceLock::new();

/// `--strict-config`: refuse a configuration with any error, not only what keepalived refuses.
/// Set once, at process start (the engines get the same command line).
pub fn set_strict(strict: bool) {
    let _ = STRICT.set(strict);
}

fn strict() -> bool {
    STRICT.get().copied().unwrap_or(false)
}

/// Reads `path` and checks it as start-up does. Refused only when keepalived would not start
/// (unreadable file, fatal error), when a keyword needs a feature this build lacks, or, with
/// `--strict-config`, on any error. A missing interface is not refused (keepalived stops its
/// VRRP process there): its instances start in FAULT and follow the interface when it appears.
///
/// # Errors
/// The configuration cannot run.
pub fn load(path: &Path, opts: &PreprocessOptions) -> Result<Loaded, Refused> {
    load_with(path, opts, |_| Ok(()))
}

/// [`load`], calling `before_host` with the model read before it is checked against the host
/// (the parent enters its network namespace there, so the host checks see that namespace's
/// interfaces); an error from it refuses the configuration with its message.
///
/// # Errors
/// The configuration cannot run, or `before_host` failed.
pub fn load_with(
    path: &Path,
    opts: &PreprocessOptions,
    before_host: impl FnOnce(&Config) -> Result<(), String>,
) -> Result<Loaded, Refused> {
    let mut read = keepalived_config::read_file(path, opts);
    if !read.sources.is_empty()
        && let Err(e) = before_host(&read.config)
    {
        return Err(Refused { lines: vec![e] });
    }
    let facts = gather_host_facts();
    host::check(&mut read.config, &facts, &SystemHost, &mut read.diagnostics);
    let missing_features = super::features::check(&read.config, &mut read.diagnostics);
    let (plans, statics) = plan_runnable(&mut read, &facts, &interface_facts());
    let strict_refusal = strict()
        && read
            .diagnostics
            .items()
            .iter()
            .any(|d| d.severity >= Severity::Error);
    let refused = read.diagnostics.has_fatal() || missing_features > 0 || strict_refusal;
    read.diagnostics.sort();
    let lines = read.render_diagnostics();
    if refused {
        return Err(Refused { lines });
    }
    let tracks = tracks::plan(&read.config, |name| {
        plans
            .iter()
            .find(|p| p.cfg.name == name)
            .and_then(|p| p.vmac.as_ref())
            .map(|v| v.spec.name.clone())
    });
    Ok(Loaded {
        config: read.config,
        plans,
        statics,
        tracks,
        warnings: lines,
    })
}

/// [`load`] at start-up: on errors, prints every diagnostic and "not starting" on stderr and
/// returns `None` (the caller exits with its own code).
pub fn check_at_start(path: &Path, opts: &PreprocessOptions) -> Option<Loaded> {
    check_at_start_with(path, opts, |_| Ok(()))
}

/// [`check_at_start`] with [`load_with`]'s `before_host`.
pub fn check_at_start_with(
    path: &Path,
    opts: &PreprocessOptions,
    before_host: impl FnOnce(&Config) -> Result<(), String>,
) -> Option<Loaded> {
    match load_with(path, opts, before_host).map_err(|refused| refused.lines) {
        Ok(c) => Some(c),
        Err(rendered) => {
            for line in &rendered {
                eprintln!("{line}");
            }
            eprintln!(
                "keepalived-rs: not starting: {} cannot be run (see above)",
                path.display()
            );
            None
        }
    }
}

/// An engine process's start: reads and checks the configuration ([`check_at_start`]), starts
/// logging under the engine's syslog ident (`ident`, with the namespace and instance added),
/// and in its `-g` log file (named with `file_tag`: `vrrp`, `check`), logs keepalived's
/// "`what` child process started" and the warnings, and records the IPVS namespace. `None`:
/// the configuration cannot run (already printed).
pub fn engine_start(
    cli: &Cli,
    opts: &PreprocessOptions,
    ident: &str,
    file_tag: &str,
    what: &str,
) -> Option<Loaded> {
    let checked = check_at_start(&cli.use_file, opts)?;
    log::init(
        &log::target(cli, ident, &checked.config.global),
        cli.log_detail,
        super::log_file::open(cli, Some(file_tag), &checked.config.global),
    );
    tracing::info!("{what} child process started (pid {})", std::process::id());
    for line in &checked.warnings {
        tracing::warn!("{line}");
    }
    netns::set_ipvs_namespace(&checked.config.global);
    Some(checked)
}
