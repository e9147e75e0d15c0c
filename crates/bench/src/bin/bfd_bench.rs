//! `bfd-bench`: 100 BFD sessions at 50 ms x 3, keepalived-rs's BFD process against keepalived's.
//! See the `keepalived_bench::bfd_bench` module for the options (`bfd-bench --help`).

fn main() -> std::process::ExitCode {
    keepalived_bench::bfd_bench::main_entry()
}
