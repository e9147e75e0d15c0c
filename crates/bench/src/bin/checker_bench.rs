//! `checker-bench`: health-checker throughput and CPU per check of keepalived-rs, with the
//! jitter of a VRRP instance beside it. See the `keepalived_bench::checker_bench` module.

fn main() -> std::process::ExitCode {
    keepalived_bench::checker_bench::main_entry()
}
