//! A tiny program built by cargo for the VM tests: proves a workspace
//! binary and its shared libraries run inside the IPVS VM. Prints the
//! kernel release, whether IPVS is loaded, and its arguments; exits with
//! the code given by `--exit N` (default 0).

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let ipvs = std::path::Path::new("/proc/net/ip_vs").exists();
    println!(
        "vm-probe: kernel {} ipvs {ipvs} args {args:?}",
        release.trim()
    );
    let code = args
        .iter()
        .position(|a| a == "--exit")
        .and_then(|i| args.get(i + 1))
        .and_then(|c| c.parse::<u8>().ok())
        .unwrap_or(0);
    ExitCode::from(code)
}
