//! The kernel's IPVS, opened as keepalived opens it (the checker engine's balancer and the
//! VRRP engine's sync daemons both use it).

/// The kernel's IPVS; like keepalived, asks for the module (`modprobe ip_vs`) when its generic
/// netlink family is missing.
pub fn open_ipvs() -> Result<keepalived_net::Ipvs, keepalived_net::IpvsError> {
    match keepalived_net::Ipvs::open() {
        Err(keepalived_net::IpvsError::Unavailable) => {
            let loaded = std::process::Command::new("modprobe")
                .arg("ip_vs")
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if loaded {
                keepalived_net::Ipvs::open()
            } else {
                Err(keepalived_net::IpvsError::Unavailable)
            }
        }
        other => other,
    }
}
