//! The IPVS client on this host: the kernel has no IPVS, so opening must say so with the typed
//! error (the real-kernel tests run in the QEMU VM).

use keepalived_net::{Ipvs, IpvsError};

#[test]
fn open_without_ipvs_is_unavailable() {
    if std::path::Path::new("/proc/net/ip_vs").exists() {
        eprintln!("skipped: this kernel has IPVS");
        return;
    }
    match Ipvs::open() {
        Err(IpvsError::Unavailable) => {}
        other => panic!("expected IpvsError::Unavailable, got {other:?}"),
    }
}
