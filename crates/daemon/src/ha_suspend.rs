//! `ha_suspend`: the checks of a virtual server with `ha_suspend` pause while its address is
//! not configured on this host (a backup director), and resume when it appears. The host's
//! addresses are watched with rtnetlink notifications ([`keepalived_net::AddrMonitor`]) on the
//! checker thread's runtime.

use std::collections::HashSet;
use std::io;
use std::net::IpAddr;

use keepalived_checker::logic::{CheckerEngine, Instant};
use keepalived_config::Config;
use keepalived_config::model::lvs::VsAddress;
use keepalived_net::{AddrMonitor, Rtnl};
use tokio::io::unix::AsyncFd;
use tokio::sync::watch;
use tracing::{info, warn};

/// The addresses the virtual servers with `ha_suspend` need, by configuration index (only
/// address services: a fwmark or a group has no single address to own).
fn watched(config: &Config) -> Vec<(usize, IpAddr)> {
    config
        .lvs
        .virtual_servers
        .iter()
        .enumerate()
        .filter(|(_, vs)| vs.ha_suspend)
        .filter_map(|(i, vs)| match vs.address {
            VsAddress::Ip(a) => Some((i, a.ip())),
            _ => None,
        })
        .collect()
}

/// Whether `config` has a virtual server to suspend.
pub fn needed(config: &Config) -> bool {
    !watched(config).is_empty()
}

/// Suspends or resumes each `ha_suspend` virtual server after the host's addresses `local`,
/// logging each change.
pub fn apply(config: &Config, local: &HashSet<IpAddr>, engine: &mut CheckerEngine, now: Instant) {
    for (vs, addr) in watched(config) {
        let suspend = !local.contains(&addr);
        if engine.is_vs_suspended(vs) != suspend {
            if suspend {
                info!("VS {addr} is not on this host: suspending its checks (ha_suspend)");
            } else {
                info!("VS {addr} is on this host: resuming its checks (ha_suspend)");
            }
        }
        engine.set_suspended(now, vs, suspend);
    }
}

/// Starts watching the host's addresses: the receiver holds the current set and changes with
/// every notification. `None` (logged) when rtnetlink cannot be had.
pub fn watch_addresses() -> Option<watch::Receiver<HashSet<IpAddr>>> {
    // Subscribe first, then dump: a change in between is seen twice, never lost.
    let opened = AddrMonitor::open().and_then(|m| Ok((m, Rtnl::open()?)));
    let (monitor, mut rtnl) = match opened {
        Ok(x) => x,
        Err(e) => {
            warn!("ha_suspend: cannot watch addresses: {e}");
            return None;
        }
    };
    let first = match dump(&mut rtnl) {
        Ok(set) => set,
        Err(e) => {
            warn!("ha_suspend: cannot read addresses: {e}");
            return None;
        }
    };
    // The monitor owns its fd and the AsyncFd owns the monitor (see track_link).
    #[allow(deprecated)]
    let fd = match AsyncFd::new(monitor) {
        Ok(fd) => fd,
        Err(e) => {
            warn!("ha_suspend: cannot watch addresses: {e}");
            return None;
        }
    };
    let (tx, rx) = watch::channel(first);
    tokio::spawn(run(fd, rtnl, tx));
    Some(rx)
}

fn dump(rtnl: &mut Rtnl) -> keepalived_net::Result<HashSet<IpAddr>> {
    Ok(rtnl.addrs(None)?.into_iter().map(|a| a.addr).collect())
}

async fn run(mut fd: AsyncFd<AddrMonitor>, mut rtnl: Rtnl, tx: watch::Sender<HashSet<IpAddr>>) {
    loop {
        let mut guard = tokio::select! {
            () = tx.closed() => return,
            r = fd.readable_mut() => match r {
                Ok(g) => g,
                Err(e) => {
                    warn!("ha_suspend: address watch stopped: {e}");
                    return;
                }
            },
        };
        match guard.get_inner_mut().recv() {
            // A removal is read back from a dump: the address may remain on another link.
            Ok(events) if events.iter().any(|e| e.deleted) => match dump(&mut rtnl) {
                Ok(set) => {
                    let _ = tx.send(set);
                }
                Err(e) => warn!("ha_suspend: cannot read addresses: {e}"),
            },
            Ok(events) => tx.send_modify(|set| set.extend(events.into_iter().map(|e| e.info.addr))),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => guard.clear_ready(),
            Err(e) if AddrMonitor::is_overrun(&e) => match dump(&mut rtnl) {
                Ok(set) => {
                    let _ = tx.send(set);
                }
                Err(e) => warn!("ha_suspend: cannot read addresses: {e}"),
            },
            Err(e) => {
                warn!("ha_suspend: address watch stopped: {e}");
                return;
            }
        }
    }
}
