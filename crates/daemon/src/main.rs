//! The `keepalived-rs` binary: keepalived's command line, the configuration test, and the
//! daemon: a supervising parent ([`supervisor`]) and its engine processes (VRRP, checkers).
//!
//! The modules form layers, and imports only point down (the `layering` test checks it):
//!
//! 1. entry points: [`supervisor`] (the parent), [`engine`] (an engine process's entry),
//!    [`config_test`] (`-t`);
//! 2. the engine processes: [`vrrp`] and [`checker`], built alike (process, driver, reload,
//!    snapshot, trackers or probes);
//! 3. [`services`]: what two processes share (configuration loading and the loader thread,
//!    logging, signals, readiness, dumps' files, scripts, mail, capabilities, scheduling);
//! 4. [`plan`]: pure planning, the configuration model turned into engine configs.

#[cfg(feature = "bfd")]
mod bfd;
#[cfg(feature = "lvs")]
mod checker;
mod config_test;
mod engine;
#[cfg(test)]
mod layering;
mod plan;
mod services;
mod supervisor;
#[cfg(feature = "vrrp")]
mod vrrp;

use clap::Parser;

use services::{cli, features};

/// mimalloc: reading a 235,000-line configuration allocates millions of small strings, and
/// mimalloc does that markedly faster than glibc's allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use keepalived_config::PreprocessOptions;

fn main() {
    // A signal mask is inherited across exec: a parent that blocked SIGTERM (a supervisor, a
    // test harness) would otherwise leave us deaf to it. Start with every signal unblocked, as
    // keepalived does, before any thread exists.
    let _ = nix::sys::signal::SigSet::all().thread_unblock();
    // -T: genhash mode takes the rest of the command line (keepalived's rule).
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(i) = args
        .iter()
        .skip(1)
        .position(|a| a == "-T" || a == "--genhash")
    {
        std::process::exit(genhash_mode(&args, i + 1));
    }
    let cli = cli::Cli::parse();
    std::process::exit(run(&cli));
}

/// `-T` / `--genhash` at `args[at]`: runs genhash-rs with the arguments after it (a warning
/// when options came before it, which are ignored, as keepalived warns). Returns only when
/// genhash cannot be run.
fn genhash_mode(args: &[std::ffi::OsString], at: usize) -> i32 {
    use std::os::unix::process::CommandExt as _;
    if at > 1 {
        eprintln!(
            "Warning -- `{}` not used as first option, previous options ignored",
            args[at].to_string_lossy()
        );
    }
    let Some(program) = genhash_program() else {
        eprintln!("keepalived-rs: -T: genhash-rs (or genhash beside keepalived-rs) not found");
        return 1;
    };
    let err = std::process::Command::new(&program)
        .arg0("genhash")
        .args(&args[at + 1..])
        .exec();
    eprintln!("keepalived-rs: -T: cannot run {}: {err}", program.display());
    1
}

/// The genhash of this build: `genhash` or `genhash-rs` beside our own binary (the build
/// directory, `make install`), else `genhash-rs` on the PATH (the Debian package, which
/// renames it so as not to clash with keepalived's `genhash`).
fn genhash_program() -> Option<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    let runnable = |p: &std::path::Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(std::path::Path::to_owned));
    let mut candidates: Vec<std::path::PathBuf> = beside
        .iter()
        .flat_map(|dir| [dir.join("genhash-rs"), dir.join("genhash")])
        .collect();
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|d| d.join("genhash-rs")));
    }
    candidates.into_iter().find(|p| runnable(p))
}

fn run(cli: &cli::Cli) -> i32 {
    services::signals::set_ignore_sigint(cli.ignore_sigint);
    if cli.version {
        print!("{}", features::version_text());
        return 0;
    }
    if let Some(name) = &cli.signum {
        return match cli::signum(name) {
            Some(n) => {
                println!("{n}");
                0
            }
            None => {
                eprintln!("Unknown sigfunc {name}");
                1
            }
        };
    }
    let opts = PreprocessOptions {
        config_id: cli
            .config_id
            .clone()
            .unwrap_or_else(services::host::default_config_id),
        random_seed: u64::from(std::process::id()),
        strict_includes: cli.all_config,
        ..Default::default()
    };
    services::load::set_strict(cli.strict_config);
    if let Some(log) = &cli.config_test {
        let outcome = config_test::run(
            &cli.use_file,
            &opts,
            cli.json || cli.dump_conf,
            log.as_deref(),
        );
        return outcome.code;
    }
    if cli.json {
        eprintln!("keepalived-rs: --json only works together with -t");
        return 2;
    }
    if cli.dump_conf {
        return config_test::run(&cli.use_file, &opts, true, None).code;
    }
    match cli.engine {
        Some(engine) => engine::run(engine, cli, &opts),
        None => supervisor::run(cli, &opts),
    }
}
