//! `ha_suspend`: the checks of a virtual server with `ha_suspend` pause while none of its
//! addresses is configured on this host (a backup director), and resume when one appears. The
//! host's addresses are watched with rtnetlink notifications ([`keepalived_net::AddrMonitor`])
//! on the checker thread's runtime.
//!
//! A plain address service owns its address; a `virtual_server group` owns every address of
//! its ranges (and single addresses) and is suspended while none of them is present. As in
//! keepalived, `ha_suspend` does not apply to firewall marks: the configuration reader reports
//! "cannot use ha_suspend with fwmarks - clearing ha_suspend" for a `virtual_server fwmark` and
//! for a group with a `fwmark` entry, and such a service is never suspended.

use std::collections::HashSet;
use std::io;
use std::net::IpAddr;

use keepalived_checker::logic::{CheckerEngine, Instant};
use keepalived_config::Config;
use keepalived_config::model::lvs::{VsAddress, VsgEntry};
use keepalived_net::{AddrMonitor, Rtnl};
use tokio::io::unix::AsyncFd;
use tokio::sync::watch;
use tracing::{info, warn};

/// The addresses one `ha_suspend` virtual server owns: inclusive ranges (`first == last` for a
/// single address).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owns {
    /// The virtual server as logs name it.
    pub label: String,
    /// Its address ranges.
    pub ranges: Vec<(IpAddr, IpAddr)>,
}

impl Owns {
    /// Whether one of `local` is one of ours.
    pub fn present(&self, local: &HashSet<IpAddr>) -> bool {
        local.iter().any(|a| {
            self.ranges
                .iter()
                .any(|(first, last)| a.is_ipv4() == first.is_ipv4() && first <= a && a <= last)
        })
    }
}

/// The addresses the virtual servers with `ha_suspend` own, by configuration index; firewall
/// mark services and groups with a mark are left out (see the module documentation).
pub fn watched(config: &Config) -> Vec<(usize, Owns)> {
    config
        .lvs
        .virtual_servers
        .iter()
        .enumerate()
        .filter(|(_, vs)| vs.ha_suspend)
        .filter_map(|(i, vs)| {
            let (label, ranges) = match &vs.address {
                VsAddress::Ip(a) => (a.ip().to_string(), vec![(a.ip(), a.ip())]),
                VsAddress::Fwmark(m) => (format!("fwmark {m}"), Vec::new()),
                VsAddress::Group(name) => {
                    let entries: Vec<&VsgEntry> = config
                        .lvs
                        .virtual_server_groups
                        .iter()
                        .filter(|g| &g.name == name)
                        .flat_map(|g| &g.entries)
                        .collect();
                    let has_mark = entries.iter().any(|e| matches!(e, VsgEntry::Fwmark { .. }));
                    let ranges = entries
                        .iter()
                        .filter_map(|e| match e {
                            VsgEntry::Range { first, last, .. } if !has_mark => {
                                Some((*first, *last))
                            }
                            _ => None,
                        })
                        .collect();
                    (format!("group {name}"), ranges)
                }
            };
            (!ranges.is_empty()).then_some((i, Owns { label, ranges }))
        })
        .collect()
}

/// The `ha_suspend` virtual servers never suspended (firewall marks), as logs name them.
#[cfg(test)]
fn without_address(config: &Config) -> Vec<String> {
    let owned: HashSet<usize> = watched(config).into_iter().map(|(i, _)| i).collect();
    config
        .lvs
        .virtual_servers
        .iter()
        .enumerate()
        .filter(|(i, vs)| vs.ha_suspend && !owned.contains(i))
        .map(|(_, vs)| match &vs.address {
            VsAddress::Ip(a) => a.to_string(),
            VsAddress::Fwmark(m) => format!("fwmark {m}"),
            VsAddress::Group(g) => format!("group {g}"),
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
    for (vs, owns) in watched(config) {
        let suspend = !owns.present(local);
        if engine.is_vs_suspended(vs) != suspend {
            let label = &owns.label;
            if suspend {
                info!("VS {label} is not on this host: suspending its checks (ha_suspend)");
            } else {
                info!("VS {label} is on this host: resuming its checks (ha_suspend)");
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

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> (Config, Vec<String>) {
        let read = keepalived_config::read_str("t.conf", text, &Default::default());
        let msgs = read
            .diagnostics
            .items()
            .iter()
            .map(|d| d.message.clone())
            .collect();
        (read.config, msgs)
    }

    fn local(addrs: &[&str]) -> HashSet<IpAddr> {
        addrs.iter().map(|a| a.parse().expect("addr")).collect()
    }

    const VS_BODY: &str = " {\n ha_suspend\n lb_algo rr\n lb_kind DR\n protocol TCP\n \
                           real_server 192.0.2.21 80 {\n }\n}\n";

    #[test]
    fn a_group_is_present_while_any_address_of_its_ranges_is() {
        let text = format!(
            "virtual_server_group web {{\n 203.0.113.30-32 80\n 198.51.100.7 80\n}}\n\
             virtual_server group web{VS_BODY}virtual_server 203.0.113.10 80{VS_BODY}"
        );
        let (c, msgs) = read(&text);
        assert!(msgs.is_empty(), "{msgs:?}");
        let w = watched(&c);
        let idx: Vec<usize> = w.iter().map(|(i, _)| *i).collect();
        assert_eq!(idx, [0, 1], "{w:?}");
        let group = &w[0].1;
        assert_eq!(group.label, "group web");
        assert!(!group.present(&local(&[])));
        assert!(!group.present(&local(&["203.0.113.29", "203.0.113.33", "192.0.2.1"])));
        assert!(group.present(&local(&["203.0.113.31"])));
        assert!(group.present(&local(&["203.0.113.32"])));
        assert!(group.present(&local(&["198.51.100.7"])));
        assert!(!group.present(&local(&["2001:db8::10"])));
        let plain = &w[1].1;
        assert_eq!(plain.label, "203.0.113.10");
        assert!(plain.present(&local(&["203.0.113.10"])));
        assert!(!plain.present(&local(&["203.0.113.30"])));
        assert!(without_address(&c).is_empty());
    }

    #[test]
    fn firewall_mark_services_are_never_suspended_as_in_keepalived() {
        let text = format!(
            "virtual_server_group mixed {{\n 203.0.113.30-32 80\n fwmark 9\n}}\n\
             virtual_server group mixed{VS_BODY}\
             virtual_server fwmark 7 {{\n ha_suspend\n lb_algo rr\n lb_kind DR\n \
             real_server 192.0.2.21 0 {{\n }}\n}}\n"
        );
        let (c, msgs) = read(&text);
        let cleared = msgs
            .iter()
            .filter(|m| m.contains("cannot use ha_suspend with fwmarks"))
            .count();
        assert_eq!(cleared, 2, "{msgs:?}");
        assert!(watched(&c).is_empty());
        assert!(!needed(&c));
        // The reader clears a plain fwmark service's flag; the group keeps it and is left out.
        assert_eq!(without_address(&c), ["group mixed"]);
    }
}
