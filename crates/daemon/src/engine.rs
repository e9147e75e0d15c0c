//! An engine process's entry (`--engine=vrrp|checker|bfd`): checks it still has its parent, takes
//! the parent's random seed, and runs the engine's process main ([`crate::vrrp::process`],
//! [`crate::checker::process`], `crate::bfd::process`).
//!
//! The parent starts each engine with the parent-death signal SIGTERM already set (before the
//! exec, [`keepalived_net::prepare_child`]), so an engine never outlives its parent: it stops
//! cleanly when the parent dies. [`run`] sets it again for an engine started by hand.

use keepalived_config::PreprocessOptions;
use nix::sys::signal::Signal;

use crate::services::ENV_PARENT;
use crate::services::cli::{Cli, Engine};

/// Runs the engine process `engine`; returns its exit code.
pub fn run(engine: Engine, cli: &Cli, opts: &PreprocessOptions) -> i32 {
    let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGTERM);
    // -m / -M: the limit came with the exec, the dumpable flag may not have.
    if crate::services::coredump::wanted(cli) {
        crate::services::coredump::enable();
    }
    let parent = std::env::var(ENV_PARENT)
        .ok()
        .and_then(|p| p.parse::<u32>().ok());
    if let Some(parent) = parent {
        // The parent died before the death signal was set: stop at once.
        if u32::try_from(nix::unistd::getppid().as_raw()).ok() != Some(parent) {
            return 0;
        }
    }
    // The same seed as the parent: a config using random values reads the same in every process.
    let mut opts = opts.clone();
    if let Some(parent) = parent {
        opts.random_seed = u64::from(parent);
    }
    match engine {
        #[cfg(feature = "vrrp")]
        Engine::Vrrp => crate::vrrp::process::run(cli, &opts),
        #[cfg(feature = "lvs")]
        Engine::Checker => crate::checker::process::run(cli, &opts),
        #[cfg(feature = "bfd")]
        Engine::Bfd => crate::bfd::process::run(cli, &opts),
        #[allow(unreachable_patterns)]
        _ => crate::services::features::not_built(engine),
    }
}
