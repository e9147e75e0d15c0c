//! `cargo bench -p keepalived-bench`: the same benchmark as the `config-bench` binary
//! (options after `--`, e.g. `cargo bench -p keepalived-bench -- --runs 9 --check`).

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let wrapper = args.get(1).map(String::as_str) == Some(keepalived_bench::measure::WRAPPER_ARG);
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this without it, and a
    // test run should not spend a minute benchmarking.
    if !wrapper && !args.iter().any(|a| a == "--bench") {
        println!("config_test: benchmark skipped (run it with `cargo bench -p keepalived-bench`)");
        return ExitCode::SUCCESS;
    }
    keepalived_bench::main_entry()
}
