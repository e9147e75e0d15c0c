//! `vrrp-bench`: failover time and 200-instance CPU/RSS of keepalived-rs next to keepalived.
//! See the `keepalived_bench::vrrp_bench` module for the options (`vrrp-bench --help`).

fn main() -> std::process::ExitCode {
    keepalived_bench::vrrp_bench::main_entry()
}
