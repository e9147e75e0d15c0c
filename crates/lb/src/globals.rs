//! The global IPVS settings of `global_defs` as requests: `lvs_flush` and `lvs_timeouts` at
//! start, the connection synchronisation daemon (`lvs_sync_daemon`), and what a stop removes
//! (`lvs_flush_on_stop`, or our own services).

use keepalived_config::Config;
use keepalived_config::model::global::types::LvsFlushOnStop;

use crate::backend::kernel_key;
use crate::diff::Owned;
use crate::ipvs::{DaemonState, IpvsMessage, SyncDaemon, Timeouts};

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

/// What to send at start-up, before the first table is read: the flush of `lvs_flush`, the
/// timeouts of `lvs_timeouts`, and the backup sync daemon of `lvs_sync_daemon` (the VRRP
/// instance it follows starts as backup).
pub fn start_messages(config: &Config) -> Vec<IpvsMessage> {
    let mut out = Vec::new();
    if config.global.defs.lvs_flush {
        out.push(IpvsMessage::Flush);
    }
    if let Some(t) = timeouts(config) {
        out.push(IpvsMessage::SetConfig(t));
    }
    if let Some(d) = sync_daemon(config, DaemonState::Backup) {
        out.push(IpvsMessage::NewDaemon(d));
    }
    out
}

/// What to send at a stop that releases IPVS: `lvs_flush_on_stop` flushes the whole table;
/// otherwise (and with `lvs_flush_on_stop VS`) each service we own is deleted, which removes
/// its real servers with it; the sync daemon we started is stopped. Services of others stay.
pub fn stop_messages(config: &Config, owned: &Owned) -> Vec<IpvsMessage> {
    let mut out = match config.global.defs.lvs_flush_on_stop {
        LvsFlushOnStop::Full => vec![IpvsMessage::Flush],
        LvsFlushOnStop::Disabled | LvsFlushOnStop::Vs => owned
            .0
            .iter()
            .map(|k| IpvsMessage::DelService(kernel_key(k)))
            .collect(),
    };
    if config.global.defs.lvs_sync_daemon.is_some() {
        out.push(IpvsMessage::DelDaemon(DaemonState::Backup));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{Proto, ServiceKey};

    fn cfg(text: &str) -> Config {
        keepalived_config::read_str("t.conf", text, &Default::default()).config
    }

    #[test]
    fn start_flushes_sets_timeouts_and_starts_the_backup_sync_daemon() {
        let c = cfg("global_defs {\n lvs_flush\n lvs_timeouts tcp 900 udp 30\n \
                     lvs_sync_daemon eth0 VI_1 maxlen 1400 port 8849 ttl 3 group 239.0.0.9\n}\n\
                     vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 42\n priority 100\n \
                     virtual_ipaddress {\n 192.0.2.1\n }\n}\n");
        let msgs = start_messages(&c);
        assert_eq!(
            msgs,
            [
                IpvsMessage::Flush,
                IpvsMessage::SetConfig(Timeouts {
                    tcp: Some(900),
                    tcp_fin: None,
                    udp: Some(30),
                }),
                IpvsMessage::NewDaemon(SyncDaemon {
                    state: DaemonState::Backup,
                    mcast_ifn: "eth0".to_owned(),
                    sync_id: 42,
                    sync_maxlen: Some(1400),
                    mcast_group: Some("239.0.0.9".parse().expect("ip")),
                    mcast_port: Some(8849),
                    mcast_ttl: Some(3),
                }),
            ]
        );
        assert!(start_messages(&cfg("")).is_empty());
    }

    #[test]
    fn stop_deletes_our_services_or_flushes_with_lvs_flush_on_stop() {
        let mut owned = Owned::default();
        let key = ServiceKey::Addr {
            protocol: Proto::Tcp,
            addr: "192.0.2.10:80".parse().expect("addr"),
        };
        owned.0.insert(key);
        let del = vec![IpvsMessage::DelService(kernel_key(&key))];
        assert_eq!(stop_messages(&cfg(""), &owned), del);
        let vs = cfg("global_defs {\n lvs_flush_on_stop VS\n}\n");
        assert_eq!(stop_messages(&vs, &owned), del);
        let all = cfg("global_defs {\n lvs_flush_on_stop\n}\n");
        assert_eq!(stop_messages(&all, &owned), [IpvsMessage::Flush]);
    }
}
