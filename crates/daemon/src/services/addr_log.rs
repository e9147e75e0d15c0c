//! `-a` / `--address-monitoring`: every address addition and deletion rtnetlink reports is
//! logged, with keepalived's texts: the VRRP process names the interface (`Netlink reflector
//! reports IP 192.0.2.7 added to eth0`), the checker process does not (`Netlink reflector
//! reports IP 192.0.2.7 removed`).

use std::io;

use keepalived_net::{AddrEvent, AddrMonitor, Rtnl};
use tokio::io::unix::AsyncFd;
use tracing::{info, warn};

/// Which process logs: keepalived's two texts differ.
// A build with one engine only makes that engine's style.
#[cfg_attr(not(all(feature = "vrrp", feature = "lvs")), allow(dead_code))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// The VRRP process: `... added to IF` / `... removed from IF`.
    Vrrp,
    /// The checker process: `... added` / `... removed`.
    Checker,
}

/// The log line for `event` (`ifname` resolves an interface index).
pub fn line(style: Style, event: &AddrEvent, ifname: impl Fn(u32) -> String) -> String {
    let addr = event.info.addr;
    match (style, event.deleted) {
        (Style::Vrrp, false) => format!(
            "Netlink reflector reports IP {addr} added to {}",
            ifname(event.info.ifindex)
        ),
        (Style::Vrrp, true) => format!(
            "Netlink reflector reports IP {addr} removed from {}",
            ifname(event.info.ifindex)
        ),
        (Style::Checker, false) => format!("Netlink reflector reports IP {addr} added"),
        (Style::Checker, true) => format!("Netlink reflector reports IP {addr} removed"),
    }
}

/// Starts logging address changes on the current runtime (a task of its own, ended with the
/// runtime); the addresses present at start are logged as added first, as keepalived's
/// initial dump logs them. A monitor that cannot be opened is logged and nothing else happens.
pub fn spawn(style: Style) {
    let monitor = match AddrMonitor::open() {
        Ok(m) => m,
        Err(e) => {
            warn!("address monitoring (-a): cannot watch addresses: {e}");
            return;
        }
    };
    // Subscribed first, then read: an address added in between is logged twice, never missed.
    match Rtnl::open().and_then(|mut rtnl| rtnl.addrs(None)) {
        Ok(addrs) => {
            for info in addrs {
                let event = AddrEvent {
                    info,
                    deleted: false,
                };
                info!("{}", line(style, &event, ifname));
            }
        }
        Err(e) => warn!("address monitoring (-a): cannot read addresses: {e}"),
    }
    // The monitor owns its fd and the AsyncFd owns the monitor (as ha_suspend does).
    #[allow(deprecated)]
    let fd = match AsyncFd::new(monitor) {
        Ok(fd) => fd,
        Err(e) => {
            warn!("address monitoring (-a): cannot watch addresses: {e}");
            return;
        }
    };
    tokio::spawn(run(fd, style));
}

/// The name of interface `index` (its number when it is gone).
fn ifname(index: u32) -> String {
    keepalived_net::ifname(index).unwrap_or_else(|_| index.to_string())
}

async fn run(mut fd: AsyncFd<AddrMonitor>, style: Style) {
    loop {
        let mut guard = match fd.readable_mut().await {
            Ok(g) => g,
            Err(e) => {
                warn!("address monitoring (-a) stopped: {e}");
                return;
            }
        };
        match guard.get_inner_mut().recv() {
            Ok(events) => {
                for event in &events {
                    info!("{}", line(style, event, ifname));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => guard.clear_ready(),
            Err(e) if AddrMonitor::is_overrun(&e) => {
                warn!("address monitoring (-a): netlink receive buffer overrun, changes lost");
            }
            Err(e) => {
                warn!("address monitoring (-a) stopped: {e}");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use keepalived_net::AddrInfo;

    use super::*;

    fn event(deleted: bool) -> AddrEvent {
        AddrEvent {
            info: AddrInfo {
                ifindex: 2,
                addr: "192.0.2.7".parse().expect("address"),
                prefix_len: 24,
                label: None,
                broadcast: None,
                scope: keepalived_net::AddrScope::Universe,
                flags: 0,
            },
            deleted,
        }
    }

    #[test]
    fn keepalived_texts() {
        let name = |_| "eth0".to_owned();
        assert_eq!(
            line(Style::Vrrp, &event(false), name),
            "Netlink reflector reports IP 192.0.2.7 added to eth0"
        );
        assert_eq!(
            line(Style::Vrrp, &event(true), name),
            "Netlink reflector reports IP 192.0.2.7 removed from eth0"
        );
        assert_eq!(
            line(Style::Checker, &event(false), name),
            "Netlink reflector reports IP 192.0.2.7 added"
        );
        assert_eq!(
            line(Style::Checker, &event(true), name),
            "Netlink reflector reports IP 192.0.2.7 removed"
        );
    }
}
