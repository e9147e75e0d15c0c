//! Shared support for the daemon's integration tests (each tests/BINARY/main.rs declares it as
//! `#[path = "../support/mod.rs"] mod support`): keepalived-rs or Debian's keepalived started
//! in lab namespaces ([`Router`] for the interop cases, [`daemon::Daemon`] for our daemon's own
//! tests), the interop config templates ([`Case`], [`Conf`]), the two-host and bridged labs
//! ([`net`]), temp dirs, scripts and FIFOs ([`files`]), real servers ([`servers`]), timing
//! helpers that measure from a given instant ([`timing`]), and the skip rules. Needs root;
//! every test skips with a clear message when something it needs is missing.

// Each test binary uses a part of this module: what one leaves unused is not dead.
#![allow(dead_code, unused_imports)]

pub mod conf;
pub mod daemon;
pub mod files;
pub mod net;
pub mod router;
pub mod servers;
pub mod timing;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use lab::Lab;

pub use conf::{Case, Conf, Side};
pub use net::{Net, bridged_hosts, holders, remove_vip, two_hosts};
pub use router::{Impl, Roles, Router};
pub use timing::{report, wait_from, wait_sole_holder};

/// Debian's keepalived 2.2.7 (installed by scripts/test.sh).
pub const KEEPALIVED: &str = "/usr/sbin/keepalived";

/// The virtual router id of every case.
pub const VRID: u8 = 51;
/// The IPv4 VIP.
pub const VIP4: &str = "192.0.2.100";
/// The IPv6 VIP.
pub const VIP6: &str = "2001:db8::100";

/// Our daemon: `KEEPALIVED_RS_BIN` (scripts/test.sh points it at the release build) or the
/// binary cargo built for this test.
pub fn ours_bin() -> PathBuf {
    std::env::var_os("KEEPALIVED_RS_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_keepalived-rs")))
}

/// keepalived-ctl, built beside the keepalived-rs binary under test (scripts/test.sh builds
/// every binary first); panics, saying so, when it was not built.
pub fn ctl_bin() -> PathBuf {
    let bin = ours_bin().with_file_name("keepalived-ctl");
    assert!(
        bin.exists(),
        "{} is missing: build it first (`cargo build --release --workspace --bins`, as \
         scripts/test.sh does)",
        bin.display()
    );
    bin
}

/// `keepalived-ctl --socket SOCKET status --json` run in `host`, parsed.
pub fn ctl_status(host: &lab::Host, socket: &Path) -> serde_json::Value {
    let out = host
        .command(ctl_bin())
        .arg("--socket")
        .arg(socket)
        .args(["status", "--json"])
        .output()
        .expect("run keepalived-ctl");
    assert!(
        out.status.success(),
        "keepalived-ctl status: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("status JSON")
}

// ---------------------------------------------------------------------------------------------
// Skipping

/// Returns `Some(reason)` when a test with these roles cannot run here: not root, no `ip`,
/// keepalived not installed, or our daemon does not run the VRRP engine yet. Prints
/// `skipping TEST: reason` so the skip is visible with `--nocapture`.
pub fn skip_reason(roles: Roles) -> Option<String> {
    skip_reason_for(roles.uses_keepalived(), roles.uses_ours())
}

/// As [`skip_reason`], for tests that say directly which implementations they need.
pub fn skip_reason_for(keepalived: bool, ours: bool) -> Option<String> {
    if Lab::skip_unless_root() {
        return Some("needs root".into());
    }
    let reason = if keepalived && !Path::new(KEEPALIVED).exists() {
        Some(format!(
            "{KEEPALIVED} not installed (apt-get install keepalived)"
        ))
    } else if ours {
        ours_vrrp_unavailable()
    } else {
        None
    };
    if let Some(r) = &reason {
        let current = std::thread::current();
        eprintln!("skipping {}: {r}", current.name().unwrap_or("test"));
    }
    reason
}

/// Whether `keepalived-rs -n -l -f FILE` runs the VRRP engine: it is started once (per test
/// binary) in a throwaway namespace on a valid config; exiting with status 2 and "not
/// implemented" within 1.5 s means the engine is not there yet. Any other early exit counts as
/// available, so a real start-up failure shows up in the tests with its logs.
pub fn ours_vrrp_unavailable() -> Option<String> {
    static ONCE: OnceLock<Option<String>> = OnceLock::new();
    ONCE.get_or_init(probe_ours).clone()
}

fn probe_ours() -> Option<String> {
    let lab = Lab::new("kaiprobe").expect("lab");
    let host = lab.host("h").expect("host");
    host.veth_loop("eth0", "eth1").expect("veth");
    host.add_addr("eth0", "192.0.2.1/24").expect("addr");
    let conf = Case::V3Ipv4.conf(Side::Ha1, 150).render();
    let mut router = Router::start(Impl::Ours, &host, "probe", &conf);
    let status = router.child.wait_timeout(Duration::from_millis(1500));
    let out = router.output();
    router.quiet();
    match status {
        Some(s) if s.code() == Some(2) && out.contains("not implemented") => Some(format!(
            "keepalived-rs -n does not run the VRRP engine yet ({}): {}",
            s,
            out.trim()
        )),
        _ => None,
    }
}

/// The number of processes whose command line contains `needle`.
pub fn count_processes(needle: &str) -> usize {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            std::fs::read(e.path().join("cmdline")).is_ok_and(|c| {
                String::from_utf8_lossy(&c)
                    .replace('\0', " ")
                    .contains(needle)
            })
        })
        .count()
}
