//! The parent's start: `-u` and the umask, reading and checking the configuration (inside the
//! network namespace, see [`netns`]), logging, capabilities, the pid files, daemon mode (the
//! fork, and the command waiting for the daemon's word) and the runtime the [`Supervisor`]
//! serves on.

use std::path::PathBuf;
use std::time::Duration;

use keepalived_config::PreprocessOptions;
use keepalived_net::{Forked, StartOutcome};
use tracing::{error, info, warn};

use super::pidfile::{self, PidFile};
use super::{EXIT_FAILURE, Supervisor, scripts, wanted};
use crate::services::cli::Cli;
use crate::services::{caps, coredump, load, log, log_file, netns};

/// How long the command waits, in daemon mode, for the daemon to say its engines are up
/// before it returns anyway (the daemon goes on starting).
const START_WAIT: Duration = Duration::from_secs(30);

/// Runs the daemon (the parent); returns the process exit code.
///
/// Without `-n` the command forks (keepalived's daemon mode) once the configuration has been
/// read and checked and the pid files found free: errors up to there are printed on the
/// terminal and give the exit code; then the command waits until the daemon's engines are up
/// (or the daemon fails) and returns 0 (or the daemon's code).
pub fn run(cli: &Cli, opts: &PreprocessOptions) -> i32 {
    // -u: before anything creates a file (keepalived applies it while parsing its options).
    let umask_given = match cli.umask.as_deref().map(parse_umask) {
        Some(Ok(mask)) => {
            nix::sys::stat::umask(mask);
            true
        }
        Some(Err(e)) => {
            eprintln!("{e}");
            return EXIT_FAILURE;
        }
        None => false,
    };
    // The namespace is entered before the host checks, so they see its interfaces.
    let Some(checked) = load::check_at_start_with(&cli.use_file, opts, |config| {
        netns::enter(cli, &config.global)
    }) else {
        return EXIT_FAILURE;
    };
    if !umask_given {
        // `umask` in global_defs (keepalived's default 0177) unless -u was given.
        let bits = checked.config.global.defs.umask.0 & 0o777;
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(bits));
    }
    log::init(
        &log::target(cli, "Keepalived", &checked.config.global),
        cli.log_detail,
        log_file::open(cli, None, &checked.config.global),
    );
    info!("Starting keepalived-rs {}", env!("CARGO_PKG_VERSION"));
    info!("Configuration file {}", cli.use_file.display());
    netns::log_override(cli, &checked.config.global);
    for line in &checked.warnings {
        warn!("{line}");
    }
    // A missing capability is named here, before any engine starts (docs/capabilities.md).
    if let Err(e) = caps::check(&checked.config) {
        error!("{e}");
        if !(cli.log_console || cli.no_syslog) {
            eprintln!("keepalived-rs: {e}");
        }
        return EXIT_FAILURE;
    }
    let wanted = wanted(cli, &checked.config);
    let names = pidfile::PidNames::from_config(cli, &checked.config.global);
    let parent_path = pidfile::parent_path(cli, &names);
    let paths: Vec<PathBuf> = std::iter::once(parent_path.clone())
        .chain(wanted.iter().map(|e| pidfile::engine_path(cli, *e, &names)))
        .collect();
    for path in &paths {
        if let Err(e) = pidfile::ensure_dir(path) {
            error!("cannot create the directory of {}: {e}", path.display());
            return EXIT_FAILURE;
        }
    }
    for path in &paths {
        if let Some(pid) = pidfile::running_pid(path) {
            error!(
                "daemon is already running (pid {pid} in {})",
                path.display()
            );
            if !cli.dont_fork {
                eprintln!(
                    "keepalived-rs: daemon is already running (pid {pid} in {})",
                    path.display()
                );
            }
            return EXIT_FAILURE;
        }
    }
    // Daemon mode: the process has one thread until here (no runtime yet).
    let start_report = if cli.dont_fork {
        None
    } else {
        match keepalived_net::fork_daemon() {
            Ok(Forked::Caller(wait)) => return caller_exit(wait),
            Ok(Forked::Daemon(report)) => Some(report),
            Err(e) => {
                error!("cannot fork the daemon: {e}");
                eprintln!("keepalived-rs: cannot fork the daemon: {e}");
                return EXIT_FAILURE;
            }
        }
    };
    // -m / -M, in the daemon: the old core pattern is restored when it ends.
    let _core_pattern = coredump::init_parent(cli);
    let pid_file = match PidFile::write(&parent_path, std::process::id()) {
        Ok(f) => f,
        Err(e) => {
            error!("cannot write pid file {}: {e}", parent_path.display());
            if let Some(r) = start_report {
                r.report(exit_byte(EXIT_FAILURE));
            }
            return EXIT_FAILURE;
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let mut start_report = start_report;
    let code = match runtime {
        Ok(rt) => rt.block_on(async {
            match Supervisor::new(cli, opts, checked, names) {
                Ok(mut s) => {
                    s.start_report = start_report.take();
                    let code = if scripts::startup(&s.checked.config.global.defs).await {
                        for engine in wanted {
                            s.add(engine);
                        }
                        s.serve().await
                    } else {
                        info!("Stopped during the startup script");
                        0
                    };
                    scripts::run(scripts::When::Shutdown, &s.checked.config.global.defs).await;
                    start_report = s.start_report.take();
                    code
                }
                Err(e) => {
                    error!("{e}");
                    EXIT_FAILURE
                }
            }
        }),
        Err(e) => {
            error!("cannot start the runtime: {e}");
            EXIT_FAILURE
        }
    };
    // Stopped before the engines were up: the waiting command returns this code.
    if let Some(r) = start_report {
        r.report(exit_byte(code));
    }
    drop(pid_file);
    info!("Stopped keepalived-rs {}", env!("CARGO_PKG_VERSION"));
    code
}

/// `-u MASK`: a number (octal with a leading 0, hexadecimal with 0x) within 0777, as keepalived
/// reads it.
fn parse_umask(text: &str) -> Result<nix::sys::stat::Mode, String> {
    let t = text.trim();
    let value = if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        u32::from_str_radix(hex, 16)
    } else if t.len() > 1
        && let Some(oct) = t.strip_prefix('0')
    {
        u32::from_str_radix(oct, 8)
    } else {
        t.parse::<u32>()
    };
    match value {
        Ok(v) if v & !0o777 == 0 => Ok(nix::sys::stat::Mode::from_bits_truncate(v)),
        _ => Err(format!("Invalid --umask option {text}")),
    }
}

/// An exit code as the one byte the start pipe carries.
fn exit_byte(code: i32) -> u8 {
    u8::try_from(code).unwrap_or(1)
}

/// The command's side of daemon mode: waits for the daemon's word and returns its code.
fn caller_exit(wait: keepalived_net::StartWait) -> i32 {
    let daemon = wait.daemon;
    match wait.wait(START_WAIT) {
        StartOutcome::Reported(code) => i32::from(code),
        StartOutcome::Vanished => {
            eprintln!("keepalived-rs: the daemon (pid {daemon}) ended while starting; see the log");
            EXIT_FAILURE
        }
        StartOutcome::Pending => {
            eprintln!(
                "keepalived-rs: the daemon (pid {daemon}) is still starting after {}s",
                START_WAIT.as_secs()
            );
            0
        }
    }
}
