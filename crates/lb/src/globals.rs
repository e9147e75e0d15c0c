//! The global IPVS settings of `global_defs` as requests: `lvs_flush` and `lvs_timeouts` at
//! start, the connection synchronisation daemon (`lvs_sync_daemon`), and what a stop removes
//! (`lvs_flush_on_stop`, or our own real servers and services).
//!
//! The sync daemon belongs to one process, as in keepalived: with a VRRP instance named, the
//! VRRP engine runs the master or the backup daemon after that instance's state
//! ([`sync_daemon`]); without one, the checker runs both for as long as it runs
//! ([`checker_sync_daemons`]).

use keepalived_config::Config;
use keepalived_config::model::global::types::LvsFlushOnStop;

use crate::backend::{kernel_key, messages};
use crate::diff::{Change, Owned};
use crate::ipvs::{DaemonState, IpvsMessage, SyncDaemon, Timeouts};
use crate::table::Table;

/// `lvs_timeouts` as a `SET_CONFIG` request (`None` when not configured). Values above
/// `u32::MAX` seconds are capped.
pub fn timeouts(config: &Config) -> Option<Timeouts> {
    let t = config.global.defs.lvs_timeouts;
    let secs =
        |d: Option<std::time::Duration>| d.map(|d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX));
    let out = Timeouts {
        tcp: secs(t.tcp),
        tcp_fin: secs(t.tcpfin),
        udp: secs(t.udp),
    };
    (out != Timeouts::default()).then_some(out)
}

/// The `lvs_sync_daemon` to run in `state` (`None` when not configured). The sync id
/// defaults to the named VRRP instance's `virtual_router_id`, else 0, as in keepalived.
pub fn sync_daemon(config: &Config, state: DaemonState) -> Option<SyncDaemon> {
    let sd = config.global.defs.lvs_sync_daemon.as_ref()?;
    let vrid = sd.instance.as_ref().and_then(|name| {
        config
            .vrrp
            .instances
            .iter()
            .find(|i| &i.name == name)
            .map(|i| i.virtual_router_id)
    });
    Some(SyncDaemon {
        state,
        mcast_ifn: sd.interface.clone(),
        sync_id: u32::from(sd.syncid.or(vrid).unwrap_or(0)),
        sync_maxlen: sd.maxlen,
        mcast_group: Some(sd.group),
        mcast_port: Some(sd.port),
        mcast_ttl: Some(sd.ttl),
    })
}

/// The sync daemons the checker runs: both master and backup when `lvs_sync_daemon` names no
/// VRRP instance (with an instance, the VRRP engine runs them).
pub fn checker_sync_daemons(config: &Config) -> Vec<SyncDaemon> {
    match &config.global.defs.lvs_sync_daemon {
        Some(sd) if sd.instance.is_none() => [DaemonState::Master, DaemonState::Backup]
            .into_iter()
            .filter_map(|state| sync_daemon(config, state))
            .collect(),
        _ => Vec::new(),
    }
}

/// What to send at start-up, before the first table is read: the flush of `lvs_flush`, the
/// timeouts of `lvs_timeouts`, and the checker's sync daemons ([`checker_sync_daemons`]).
pub fn start_messages(config: &Config) -> Vec<IpvsMessage> {
    let mut out = Vec::new();
    if config.global.defs.lvs_flush {
        out.push(IpvsMessage::Flush);
    }
    if let Some(t) = timeouts(config) {
        out.push(IpvsMessage::SetConfig(t));
    }
    out.extend(
        checker_sync_daemons(config)
            .into_iter()
            .map(IpvsMessage::NewDaemon),
    );
    out
}

/// What to send at a stop that releases IPVS: `lvs_flush_on_stop` flushes the whole table;
/// `lvs_flush_on_stop VS` deletes each service we own (the kernel removes its real servers
/// with it); without either, as keepalived does, each real server of a service we own
/// (`kernel`: the table as applied) is removed before its service. The checker's sync daemons
/// are stopped. Services of others stay.
pub fn stop_messages(config: &Config, owned: &Owned, kernel: &Table) -> Vec<IpvsMessage> {
    let mut out = match config.global.defs.lvs_flush_on_stop {
        LvsFlushOnStop::Full => vec![IpvsMessage::Flush],
        LvsFlushOnStop::Vs => owned
            .0
            .iter()
            .map(|k| IpvsMessage::DelService(kernel_key(k)))
            .collect(),
        LvsFlushOnStop::Disabled => {
            let mut changes = Vec::new();
            for k in &owned.0 {
                if let Some(entry) = kernel.get(k) {
                    changes.extend(entry.dests.keys().map(|a| Change::DelDest(*k, *a)));
                }
                changes.push(Change::DelService(*k));
            }
            messages(&changes)
        }
    };
    out.extend(
        checker_sync_daemons(config)
            .into_iter()
            .map(|d| IpvsMessage::DelDaemon(d.state)),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(text: &str) -> Config {
        keepalived_config::read_str("t.conf", text, &Default::default()).config
    }

    #[test]
    fn start_flushes_sets_timeouts_and_starts_both_sync_daemons_without_an_instance() {
        let c = cfg("global_defs {\n lvs_flush\n lvs_timeouts tcp 900 udp 30\n \
                     lvs_sync_daemon eth0 id 7 maxlen 1400 port 8849 ttl 3 group 239.0.0.9\n}\n");
        let daemon = |state| SyncDaemon {
            state,
            mcast_ifn: "eth0".to_owned(),
            sync_id: 7,
            sync_maxlen: Some(1400),
            mcast_group: Some("239.0.0.9".parse().expect("ip")),
            mcast_port: Some(8849),
            mcast_ttl: Some(3),
        };
        assert_eq!(
            start_messages(&c),
            [
                IpvsMessage::Flush,
                IpvsMessage::SetConfig(Timeouts {
                    tcp: Some(900),
                    tcp_fin: None,
                    udp: Some(30),
                }),
                IpvsMessage::NewDaemon(daemon(DaemonState::Master)),
                IpvsMessage::NewDaemon(daemon(DaemonState::Backup)),
            ]
        );
        assert!(start_messages(&cfg("")).is_empty());
    }

    #[test]
    fn with_a_vrrp_instance_the_checker_leaves_the_sync_daemon_alone() {
        let c = cfg("global_defs {\n lvs_sync_daemon eth0 VI_1\n}\n\
                     vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 42\n priority 100\n \
                     virtual_ipaddress {\n 192.0.2.1\n }\n}\n");
        assert!(start_messages(&c).is_empty());
        assert!(checker_sync_daemons(&c).is_empty());
        assert!(stop_messages(&c, &Owned::default(), &Table::new()).is_empty());
        // The VRRP engine's daemon takes the instance's VRID as its sync id.
        let master = sync_daemon(&c, DaemonState::Master).expect("configured");
        assert_eq!((master.state, master.sync_id), (DaemonState::Master, 42));
    }

    #[test]
    fn stop_removes_real_servers_before_their_service_or_flushes() {
        let text = "virtual_server 192.0.2.10 80 {\n lb_algo rr\n lb_kind NAT\n protocol TCP\n \
                    real_server 198.51.100.1 80 {\n }\n real_server 198.51.100.2 80 {\n }\n}\n\
                    virtual_server 192.0.2.11 80 {\n lb_algo rr\n lb_kind NAT\n protocol TCP\n \
                    real_server 198.51.100.3 80 {\n }\n}\n";
        let c = cfg(text);
        let health = |_: usize, _: usize| None;
        let kernel = crate::table::desired(&c, &health, &mut Vec::new());
        let mut owned = Owned::default();
        owned.0.extend(kernel.keys().copied());
        let msgs = stop_messages(&c, &owned, &kernel);
        let kinds: Vec<&str> = msgs
            .iter()
            .map(|m| match m {
                IpvsMessage::DelDest { .. } => "rs",
                IpvsMessage::DelService(_) => "vs",
                _ => "other",
            })
            .collect();
        assert_eq!(kinds, ["rs", "rs", "vs", "rs", "vs"], "{msgs:?}");
        // Each real server goes before its own service.
        let mut last_service = None;
        for m in msgs.iter().rev() {
            match m {
                IpvsMessage::DelService(k) => last_service = Some(*k),
                IpvsMessage::DelDest { service, .. } => assert_eq!(Some(*service), last_service),
                _ => {}
            }
        }
        // A service of the kernel's that is not ours is not touched.
        let mut mine = Owned::default();
        mine.0.extend(kernel.keys().next().copied());
        assert_eq!(stop_messages(&c, &mine, &kernel).len(), 3);

        let vs = cfg(&format!(
            "global_defs {{\n lvs_flush_on_stop VS\n}}\n{text}"
        ));
        let services: Vec<_> = kernel
            .keys()
            .map(|k| IpvsMessage::DelService(kernel_key(k)))
            .collect();
        assert_eq!(stop_messages(&vs, &owned, &kernel), services);
        let all = cfg(&format!("global_defs {{\n lvs_flush_on_stop\n}}\n{text}"));
        assert_eq!(stop_messages(&all, &owned, &kernel), [IpvsMessage::Flush]);
        let sd = cfg("global_defs {\n lvs_sync_daemon eth0\n}\n");
        assert_eq!(
            stop_messages(&sd, &Owned::default(), &Table::new()),
            [
                IpvsMessage::DelDaemon(DaemonState::Master),
                IpvsMessage::DelDaemon(DaemonState::Backup)
            ]
        );
    }
}
