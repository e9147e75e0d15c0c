//! keepalived-rs's own `global_defs` keywords (keepalived does not know them): the watchdog's
//! timeouts, `metrics_listen`, `control_socket` and `control_socket_group`.

mod control_socket;
mod metrics_listen;
mod watchdog;

use keepalived_config::{PreprocessOptions, Read, Severity, read_str};

fn read(text: &str) -> Read {
    read_str("k.conf", text, &PreprocessOptions::default())
}

fn errors(r: &Read) -> Vec<(u32, String)> {
    r.diagnostics
        .items()
        .iter()
        .filter(|d| d.severity >= Severity::Error)
        .map(|d| (d.loc.line, d.message.clone()))
        .collect()
}
