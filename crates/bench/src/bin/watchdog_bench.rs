//! `watchdog-bench`: freeze of keepalived-rs's VRRP engine to release of its VIP, over rounds.
//! See the `keepalived_bench::watchdog_bench` module (`watchdog-bench --help`).

fn main() -> std::process::ExitCode {
    keepalived_bench::watchdog_bench::main_entry()
}
