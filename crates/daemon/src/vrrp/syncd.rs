//! `lvs_sync_daemon` with a VRRP instance named: the kernel's IPVS connection sync daemon
//! follows that instance, as in keepalived's VRRP process — the master daemon while it is
//! MASTER, the backup daemon otherwise, neither once it stops. (Without an instance the
//! checker runs both: `keepalived_lb::globals::checker_sync_daemons`.)
//!
//! [`wanted`] and [`plan`] are the pure decisions; [`SyncDaemons`] sends them through
//! `keepalived_net::Ipvs`. Without IPVS in the kernel it says so once and does nothing.

use keepalived_config::Config;
use keepalived_lb::globals::sync_daemon;
use keepalived_lb::ipvs::{DaemonState, IpvsMessage, SyncDaemon};
use keepalived_net::{Ipvs, IpvsError};
use keepalived_vrrp::State;
use tracing::{info, warn};

/// The sync daemon role for the followed instance's state: master while it is MASTER, none once
/// it has stopped, backup otherwise (also before its first transition, and in FAULT).
pub fn wanted(state: Option<State>) -> Option<DaemonState> {
    match state {
        Some(State::Master) => Some(DaemonState::Master),
        Some(State::Stop) => None,
        Some(State::Initialize | State::Backup | State::Fault) | None => Some(DaemonState::Backup),
    }
}

/// The requests that take the daemons from `running` (what we started) to `want`: every
/// running daemon that is not the wanted one is stopped first, then the wanted one is started
/// unless it already runs as wanted.
pub fn plan(running: &[SyncDaemon], want: Option<&SyncDaemon>) -> Vec<IpvsMessage> {
    let mut out: Vec<IpvsMessage> = running
        .iter()
        .filter(|d| Some(*d) != want)
        .map(|d| IpvsMessage::DelDaemon(d.state))
        .collect();
    if let Some(w) = want
        && !running.contains(w)
    {
        out.push(IpvsMessage::NewDaemon(w.clone()));
    }
    out
}

/// The sync daemons of the VRRP engine process.
pub struct SyncDaemons {
    /// The kernel's IPVS, once opened (`None`: not needed yet, or unavailable).
    ipvs: Option<Ipvs>,
    /// IPVS was found missing (said once).
    unavailable: bool,
    /// The instance followed and the daemon of each role, from the configuration.
    target: Option<Target>,
    /// The followed instance's last state.
    state: Option<State>,
    /// The daemons we run.
    running: Vec<SyncDaemon>,
}

struct Target {
    instance: String,
    master: SyncDaemon,
    backup: SyncDaemon,
}

fn target(config: &Config) -> Option<Target> {
    let instance = config
        .global
        .defs
        .lvs_sync_daemon
        .as_ref()?
        .instance
        .clone()?;
    Some(Target {
        instance,
        master: sync_daemon(config, DaemonState::Master)?,
        backup: sync_daemon(config, DaemonState::Backup)?,
    })
}

impl SyncDaemons {
    /// The daemons `config` calls for, before the instance's first transition (the backup
    /// daemon, started at once). Nothing when `lvs_sync_daemon` names no VRRP instance.
    pub fn new(config: &Config) -> Self {
        let mut me = SyncDaemons {
            ipvs: None,
            unavailable: false,
            target: target(config),
            state: None,
            running: Vec::new(),
        };
        if let Some(t) = &me.target
            && !config.vrrp.instances.iter().any(|i| i.name == t.instance)
        {
            warn!(
                "lvs_sync_daemon: VRRP instance {} is not configured; running the backup sync daemon",
                t.instance
            );
        }
        me.adopt();
        me.apply();
        me
    }

    /// Notes instance `name`'s transition to `to` (other instances are ignored).
    pub fn follow(&mut self, name: &str, to: State) {
        if self.target.as_ref().is_some_and(|t| t.instance == name) {
            self.state = Some(to);
            self.apply();
        }
    }

    /// Takes a reloaded configuration; `state_of` gives the current state of an instance by
    /// name. The daemons are restarted only when what they should be changed.
    pub fn reload(&mut self, config: &Config, state_of: impl Fn(&str) -> Option<State>) {
        self.target = target(config);
        self.state = self.target.as_ref().and_then(|t| state_of(&t.instance));
        self.adopt();
        self.apply();
    }

    /// Stops the daemons we run (at shutdown).
    pub fn stop(&mut self) {
        self.state = Some(State::Stop);
        self.apply();
    }

    /// The daemon of the current state, if any.
    fn want(&self) -> Option<&SyncDaemon> {
        let t = self.target.as_ref()?;
        match wanted(self.state)? {
            DaemonState::Master => Some(&t.master),
            _ => Some(&t.backup),
        }
    }

    /// Opens IPVS when daemons are needed and it is not open: a daemon a crashed run left on
    /// our interface counts as running, so it is replaced rather than refused.
    fn adopt(&mut self) {
        let Some(t) = &self.target else {
            return;
        };
        if self.ipvs.is_some() || self.unavailable {
            return;
        }
        match crate::services::ipvs::open_ipvs() {
            Ok(mut ipvs) => {
                if let Ok(found) = ipvs.daemons() {
                    self.running = found
                        .into_iter()
                        .filter(|d| d.mcast_ifn == t.master.mcast_ifn)
                        .collect();
                }
                self.ipvs = Some(ipvs);
            }
            Err(e) => {
                warn!("lvs_sync_daemon: not started: {e}");
                self.unavailable = true;
            }
        }
    }

    fn apply(&mut self) {
        let want = self.want().cloned();
        let Some(ipvs) = self.ipvs.as_mut() else {
            return;
        };
        for msg in plan(&self.running, want.as_ref()) {
            let res = ipvs.execute(&msg);
            match (&msg, res) {
                (IpvsMessage::DelDaemon(state), res) => {
                    // Gone either way (an error means it was not running).
                    self.running.retain(|d| d.state != *state);
                    match res {
                        Ok(_) => info!("IPVS: stopped the {}", role(*state)),
                        Err(e) => warn!("IPVS: {e}"),
                    }
                }
                (IpvsMessage::NewDaemon(d), Ok(_)) => {
                    info!(
                        "IPVS: started the {} (interface {}, syncid {})",
                        role(d.state),
                        d.mcast_ifn,
                        d.sync_id
                    );
                    self.running.push(d.clone());
                }
                (IpvsMessage::NewDaemon(_), Err(e @ IpvsError::Exists { .. })) => {
                    warn!("IPVS: {e} (started by someone else; left alone)");
                }
                (_, Err(e)) => warn!("IPVS: {e}"),
                _ => {}
            }
        }
    }
}

fn role(state: DaemonState) -> &'static str {
    match state {
        DaemonState::Master => "master sync daemon",
        DaemonState::Backup => "backup sync daemon",
        DaemonState::Other(_) => "sync daemon",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn daemon(state: DaemonState, id: u32) -> SyncDaemon {
        SyncDaemon {
            state,
            mcast_ifn: "eth0".to_owned(),
            sync_id: id,
            sync_maxlen: None,
            mcast_group: None,
            mcast_port: None,
            mcast_ttl: None,
        }
    }

    #[test]
    fn the_role_follows_the_instance_state() {
        assert_eq!(wanted(None), Some(DaemonState::Backup));
        assert_eq!(wanted(Some(State::Initialize)), Some(DaemonState::Backup));
        assert_eq!(wanted(Some(State::Backup)), Some(DaemonState::Backup));
        assert_eq!(wanted(Some(State::Fault)), Some(DaemonState::Backup));
        assert_eq!(wanted(Some(State::Master)), Some(DaemonState::Master));
        assert_eq!(wanted(Some(State::Stop)), None);
    }

    #[test]
    fn a_transition_stops_the_other_role_before_starting_its_own() {
        let (m, b) = (
            daemon(DaemonState::Master, 5),
            daemon(DaemonState::Backup, 5),
        );
        // Start: the backup daemon.
        assert_eq!(plan(&[], Some(&b)), [IpvsMessage::NewDaemon(b.clone())]);
        // BACKUP -> MASTER: backup stopped, then master started.
        assert_eq!(
            plan(std::slice::from_ref(&b), Some(&m)),
            [
                IpvsMessage::DelDaemon(DaemonState::Backup),
                IpvsMessage::NewDaemon(m.clone())
            ]
        );
        // Same state again: nothing.
        assert!(plan(std::slice::from_ref(&m), Some(&m)).is_empty());
        // Stop: every daemon we run is stopped.
        assert_eq!(
            plan(&[m.clone(), b.clone()], None),
            [
                IpvsMessage::DelDaemon(DaemonState::Master),
                IpvsMessage::DelDaemon(DaemonState::Backup)
            ]
        );
        // A reload that changes the sync id restarts the daemon of the same role.
        let b6 = daemon(DaemonState::Backup, 6);
        assert_eq!(
            plan(std::slice::from_ref(&b), Some(&b6)),
            [
                IpvsMessage::DelDaemon(DaemonState::Backup),
                IpvsMessage::NewDaemon(b6.clone())
            ]
        );
    }

    #[test]
    fn without_an_instance_named_the_vrrp_engine_runs_nothing() {
        let c = keepalived_config::read_str(
            "t.conf",
            "global_defs {\n lvs_sync_daemon eth0 id 3\n}\n",
            &Default::default(),
        )
        .config;
        let d = SyncDaemons::new(&c);
        assert!(d.target.is_none() && d.ipvs.is_none() && d.running.is_empty());
    }
}
