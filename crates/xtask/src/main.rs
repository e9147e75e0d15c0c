//! `cargo run -p xtask -- man [--check] [DIR]`: writes the man pages keepalived-rs(8),
//! keepalived-rs.conf(5) and genhash(1) into DIR (default `man/` at the repository root), or
//! with `--check` fails when the files there differ from what would be generated.
//!
//! The option sections come from the binaries' own clap definitions, included from their
//! source files (crates/daemon/src/services/cli.rs, crates/genhash/src/cli.rs) so there is no copy that
//! could drift from `--help`; the other sections come from docs/man/*.md ([`markdown`]).

mod markdown;
mod pages;

use std::path::PathBuf;
use std::process::ExitCode;

fn usage() -> ExitCode {
    eprintln!("usage: cargo run -p xtask -- man [--check] [DIR]");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(("man", rest)) = args.split_first().map(|(a, r)| (a.as_str(), r)) else {
        return usage();
    };
    let check = rest.iter().any(|a| a == "--check");
    let dirs: Vec<&String> = rest.iter().filter(|a| !a.starts_with("--")).collect();
    if dirs.len() > 1 || rest.iter().any(|a| a.starts_with("--") && a != "--check") {
        return usage();
    }
    let dir = dirs
        .first()
        .map(PathBuf::from)
        .unwrap_or_else(pages::committed_dir);
    let result = if check {
        pages::check(&dir).map(|()| println!("man pages in {} are up to date", dir.display()))
    } else {
        pages::write(&dir).map(|files| {
            for f in files {
                println!("{}", f.display());
            }
        })
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask man: {e}");
            ExitCode::FAILURE
        }
    }
}
