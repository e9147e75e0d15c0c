//! The `keepalived-rs` binary: keepalived's command line, the configuration test, and the
//! daemon: a supervising parent ([`supervisor`]) and its engine processes (VRRP, checkers).

mod caps;
#[cfg(feature = "lvs")]
mod checker;
mod cli;
mod config_test;
mod dump;
mod features;
#[cfg(feature = "lvs")]
mod ha_suspend;
mod host_facts;
#[cfg(feature = "lvs")]
mod lb;
mod mail;
mod process_sched;
mod script;
mod supervisor;
// Without the `vrrp` feature only its configuration loading and logging serve the parent and the
// checker engine; the engine itself is never called (so never linked).
#[cfg_attr(not(feature = "vrrp"), allow(dead_code))]
mod vrrp;

use clap::Parser;

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
    let cli = cli::Cli::parse();
    std::process::exit(run(&cli));
}

fn run(cli: &cli::Cli) -> i32 {
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
            .unwrap_or_else(config_test::default_config_id),
        random_seed: u64::from(std::process::id()),
        strict_includes: cli.all_config,
        ..Default::default()
    };
    vrrp::load::set_strict(cli.strict_config);
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
        Some(engine) => supervisor::engine::run(engine, cli, &opts),
        None => supervisor::run(cli, &opts),
    }
}
