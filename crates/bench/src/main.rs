//! `config-bench`: times `keepalived-rs -t` against keepalived on large generated configurations.
//! See the `keepalived_bench` library for the options (`config-bench --help`).

fn main() -> std::process::ExitCode {
    keepalived_bench::main_entry()
}
