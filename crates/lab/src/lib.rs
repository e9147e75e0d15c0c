//! Test support for keepalived-rs: throwaway Linux network namespaces
//! ("hosts"), veth links and bridges ("segments"), processes run inside
//! them, and teardown on drop. A dev-dependency only; needs root and
//! iproute2 (`ip`).
//!
//! ```no_run
//! use std::time::Duration;
//! lab::require_root!();
//! let lab = lab::Lab::new("ka").unwrap();
//! let ha1 = lab.host("ha1").unwrap();
//! let ha2 = lab.host("ha2").unwrap();
//! lab.veth(&ha1, "eth0", &ha2, "eth0").unwrap();
//! ha1.add_addr("eth0", "192.0.2.1/24").unwrap();
//! ha2.add_addr("eth0", "192.0.2.2/24").unwrap();
//! let took = lab::wait_until(Duration::from_secs(5), Duration::from_millis(50), || {
//!     ha1.ping("192.0.2.2".parse().unwrap())
//! });
//! assert!(took.is_some());
//! // Dropping `lab` kills its processes and deletes its namespaces.
//! ```
//!
//! [`vm`] boots Debian's kernel with IPVS under QEMU for tests the host
//! kernel cannot run.
//!
//! This file owns the crate layout, the re-exports and [`require_root!`].

mod cmd;
mod error;
mod host;
mod lab;
mod ping;
mod process;
mod util;
pub mod vm;
mod vm_image;

pub use error::{LabError, Result};
pub use host::Host;
pub use lab::{BRIDGE_DEV, Lab, Segment, cleanup_stale, list_netns};
pub use ping::{have_program, ping};
pub use process::LabChild;
pub use util::{is_root, skip_unless_root, wait_until};

/// Returns from the calling test (after printing why) unless it runs as
/// root with `ip` available. For tests returning `()`.
#[macro_export]
macro_rules! require_root {
    () => {
        if $crate::skip_unless_root() {
            return;
        }
    };
}
