//! keepalived-rs against the real kernel IPVS in Debian's kernel under QEMU (lab::vm), one test
//! binary: [`table`] (the table programmed and read back), [`control`] (keepalived-ctl's drain,
//! the kernel's counters in the metrics), [`scenarios`] (several scenarios in one boot),
//! [`nftables`] (`nftables_ipvs`, with a differential against keepalived 2.2.7), [`syncd`]
//! (`lvs_sync_daemon`) and [`watchdog`] (a frozen checker replaced, IPVS untouched).
//! Each skips with a message when the VM cannot be had here. Also [`sections`], which splits a
//! VM run's output at its markers.

use std::collections::BTreeMap;

mod control;
mod nftables;
mod scenarios;
mod syncd;
mod table;
mod watchdog;

/// Our daemon: `KEEPALIVED_RS_BIN` (scripts/test.sh points it at the release build) or the
/// binary cargo built for this test.
fn ours_bin() -> String {
    std::env::var("KEEPALIVED_RS_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_keepalived-rs").to_owned())
}

/// The output of a VM run between `== NAME` markers, by name (what precedes the first marker
/// under the empty name).
fn sections(out: &str) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    let mut name = String::new();
    for line in out.lines() {
        if let Some(n) = line.strip_prefix("== ") {
            name = n.to_owned();
            continue;
        }
        let s: &mut String = map.entry(name.clone()).or_default();
        s.push_str(line);
        s.push('\n');
    }
    map
}

/// The `ipvsadm -Ln` lines of services and real servers, whitespace-normalised.
fn table(out: &str) -> Vec<String> {
    out.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| l.starts_with("TCP ") || l.starts_with("FWM ") || l.starts_with("-> 198."))
        .collect()
}
