//! The kernel's IPVS, opened as keepalived opens it (the checker engine's balancer and the
//! VRRP engine's sync daemons both use it), in the namespace `net_namespace_ipvs` names.

use keepalived_net::{Ipvs, IpvsError};

use super::netns::ipvs_namespace_path;

/// The kernel's IPVS; like keepalived, asks for the module (`modprobe ip_vs`) when its generic
/// netlink family is missing. With `net_namespace_ipvs` the socket is opened in that namespace.
pub fn open_ipvs() -> Result<Ipvs, IpvsError> {
    match ipvs_namespace_path() {
        None => open_here(),
        Some(path) => match keepalived_net::in_netns(&path, open_here) {
            Ok(opened) => opened,
            Err(e) => {
                tracing::warn!("cannot enter the IPVS namespace {}: {e}", path.display());
                Err(IpvsError::Unavailable)
            }
        },
    }
}

fn open_here() -> Result<Ipvs, IpvsError> {
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
