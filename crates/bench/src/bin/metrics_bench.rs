//! `metrics-bench`: scrape time of keepalived-rs's metrics at many VRRP instances, and the
//! adverts' timing under scrapes. See the `keepalived_bench::metrics_bench` module.

fn main() -> std::process::ExitCode {
    keepalived_bench::metrics_bench::main_entry()
}
