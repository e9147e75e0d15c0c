//! The load balancer's state in the checker runtime: the real servers' health from the checker
//! events, the desired IPVS table ([`keepalived_lb::table::desired`]), the smallest change set
//! to reach it ([`keepalived_lb::diff`]), quorum transitions with `quorum_up` / `quorum_down`
//! (and kept for the caller's e-mail alerts: [`Balancer::take_quorum_changes`]).
//!
//! With IPVS in the kernel every change is one generic netlink request (batched) through
//! `keepalived_net::Ipvs`; without it the changes are logged and applied to the in-memory table
//! only, so what the balancer decides is visible (and tested) on any host.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;

use keepalived_checker::logic::{RsEvent, RsEventKind};
use keepalived_config::Config;
use keepalived_config::model::common::Script;
use keepalived_lb::diff::{Change, Owned, apply, diff};
use keepalived_lb::fwmark::Marks;
use keepalived_lb::globals::{checker_sync_daemons, start_messages, stop_messages, timeouts};
use keepalived_lb::ipvs::IpvsMessage;
use keepalived_lb::table::{Health, Quorum, ServiceKey, Table, desired_marked};
use keepalived_net::Ipvs;
use keepalived_net::nft::{IpvsMarkConfig, IpvsMarks, MarkEntry};
use tracing::{info, warn};

use crate::services::control::VsSpec;
use crate::services::script::ScriptEnv;

/// A virtual server's quorum gained or lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuorumChange {
    /// The virtual server (configuration index).
    pub vs: usize,
    /// Gained (true) or lost.
    pub held: bool,
    /// The threshold crossed: `quorum + hysteresis` when gained, `quorum - hysteresis` when lost.
    pub threshold: u64,
    /// The summed weight of its live real servers.
    pub live_weight: u64,
}

/// The balancer: health, quorum states and the table it believes the kernel holds.
pub struct Balancer {
    config: Arc<Config>,
    /// By virtual server, then real server (configuration indices).
    health: Vec<Vec<Option<Health>>>,
    quorum: Vec<Quorum>,
    kernel: Table,
    owned: Owned,
    /// The kernel's IPVS, when there is one.
    ipvs: Option<Ipvs>,
    /// The `nftables_ipvs` marks of the groups (kept across reloads).
    marks: Marks,
    /// The nftables rules that set them, with a kernel and `nftables_ipvs`.
    mark_rules: Option<IpvsMarks>,
    /// Quorum transitions not yet taken by the caller.
    quorum_changes: Vec<QuorumChange>,
    /// Real servers drained by the operator (`keepalived-ctl rs drain`): weight 0 whatever
    /// their health, kept across reloads (matched against each configuration).
    drains: BTreeSet<(VsSpec, SocketAddr)>,
}

impl Balancer {
    /// A balancer for `config`, with nothing applied yet, and no kernel behind it.
    pub fn new(config: Arc<Config>) -> Self {
        Balancer {
            config,
            health: Vec::new(),
            quorum: Vec::new(),
            kernel: Table::new(),
            owned: Owned::default(),
            ipvs: None,
            marks: Marks::default(),
            mark_rules: None,
            quorum_changes: Vec::new(),
            drains: BTreeSet::new(),
        }
    }

    /// A balancer that programs the kernel's IPVS. The global settings go first (`lvs_flush`,
    /// `lvs_timeouts`, the `lvs_sync_daemon`); then what the kernel holds is read, so the
    /// services of the configuration left by an earlier run are adopted and corrected.
    pub fn with_kernel(config: Arc<Config>, mut ipvs: Ipvs) -> Self {
        let mut b = Balancer::new(config);
        b.marks = Marks::plan(&b.config, &Marks::default());
        b.mark_rules = mark_config(&b.config).map(IpvsMarks::new);
        for msg in start_messages(&b.config) {
            if let Err(e) = ipvs.execute(&msg) {
                warn!("IPVS: {e}");
            }
        }
        match ipvs.read_table() {
            Ok(table) => b.kernel = table,
            Err(e) => warn!("IPVS: cannot read the current table: {e}"),
        }
        let health = |_: usize, _: usize| None;
        let want = desired_marked(&b.config, &b.marks, &health, &mut b.quorum.clone());
        b.owned.adopt(&b.kernel, &want);
        b.ipvs = Some(ipvs);
        b
    }

    /// Records a real server's change (apply with [`Balancer::sync`]).
    pub fn note(&mut self, ev: &RsEvent) {
        let h = match ev.kind {
            RsEventKind::Up | RsEventKind::Weight(_) => Health {
                up: true,
                weight: ev.weight,
            },
            RsEventKind::Down => Health {
                up: false,
                weight: ev.weight,
            },
        };
        self.set_health(ev.vs, ev.rs, h);
    }

    /// Takes a reloaded configuration with the real servers' health under its indices
    /// (`(virtual server, real server)`). Quorum states follow their virtual servers (matched
    /// by identity); the next [`Balancer::sync`] applies only the difference.
    pub fn reload(
        &mut self,
        config: Arc<Config>,
        health: impl IntoIterator<Item = ((usize, usize), Health)>,
    ) {
        let old: HashMap<_, Quorum> = self
            .config
            .lvs
            .virtual_servers
            .iter()
            .zip(&self.quorum)
            .map(|(vs, q)| (vs.identity(), *q))
            .collect();
        self.quorum = config
            .lvs
            .virtual_servers
            .iter()
            .map(|vs| old.get(&vs.identity()).copied().unwrap_or_default())
            .collect();
        if let Some(ipvs) = self.ipvs.as_mut() {
            for msg in global_changes(&self.config, &config) {
                if let Err(e) = ipvs.execute(&msg) {
                    warn!("IPVS: {e}");
                }
            }
        }
        self.marks = Marks::plan(&config, &self.marks);
        if self.ipvs.is_some() {
            let cfg = mark_config(&config);
            if self.mark_rules.as_ref().map(IpvsMarks::config) != cfg.as_ref() {
                self.release_marks();
                self.mark_rules = cfg.map(IpvsMarks::new);
            }
        }
        self.config = config;
        self.health.clear();
        for ((v, r), h) in health {
            self.set_health(v, r, h);
        }
    }

    fn set_health(&mut self, vs: usize, rs: usize, h: Health) {
        if self.health.len() <= vs {
            self.health.resize(vs + 1, Vec::new());
        }
        if let Some(list) = self.health.get_mut(vs) {
            if list.len() <= rs {
                list.resize(rs + 1, None);
            }
            if let Some(slot) = list.get_mut(rs) {
                *slot = Some(h);
            }
        }
    }

    fn health_of(&self, vs: usize, rs: usize) -> Option<Health> {
        let h = self.health.get(vs)?.get(rs).copied().flatten();
        self.drained_health(vs, rs, h)
    }

    /// `h` for a drained real server: weight 0, up as its checks say.
    fn drained_health(&self, vs: usize, rs: usize, h: Option<Health>) -> Option<Health> {
        if !self.is_drained(vs, rs) {
            return h;
        }
        Some(Health {
            up: h.is_none_or(|h| h.up),
            weight: 0,
        })
    }

    /// Whether real server `rs` of virtual server `vs` (configuration indices) is drained.
    pub fn is_drained(&self, vs: usize, rs: usize) -> bool {
        if self.drains.is_empty() {
            return false;
        }
        let Some(v) = self.config.lvs.virtual_servers.get(vs) else {
            return false;
        };
        let Some(r) = v.real_servers.get(rs) else {
            return false;
        };
        self.drains
            .iter()
            .any(|(spec, addr)| *addr == r.address && spec.matches(&v.address))
    }

    /// Drains (`on`) or undrains real server `rs` of the virtual servers `vs` names (apply with
    /// [`Balancer::sync`]); says what it did, or why not (nothing changed).
    ///
    /// # Errors
    /// No such real server in any virtual server `vs` names.
    pub fn drain(&mut self, vs: VsSpec, rs: SocketAddr, on: bool) -> Result<String, String> {
        let found = self
            .config
            .lvs
            .virtual_servers
            .iter()
            .filter(|v| vs.matches(&v.address))
            .map(|v| v.real_servers.iter().filter(|r| r.address == rs).count())
            .sum::<usize>();
        if found == 0 {
            return Err(format!("no real server {rs} in virtual server {vs}"));
        }
        let key = (vs, rs);
        let word = if on { "drained" } else { "undrained" };
        let changed = if on {
            self.drains.insert(key.clone())
        } else {
            self.drains.remove(&key)
        };
        let (vs, rs) = key;
        let already = if changed { "" } else { " (already)" };
        info!("Real server {rs} of virtual server {vs} {word} by the operator{already}");
        Ok(format!(
            "real server {rs} of virtual server {vs} {word}{already}"
        ))
    }

    /// The summed weight of virtual server `v`'s live real servers (one not yet checked counts
    /// up with its configured weight, as the table does).
    fn live_weight(&self, v: usize) -> u64 {
        let Some(vs) = self.config.lvs.virtual_servers.get(v) else {
            return 0;
        };
        vs.real_servers
            .iter()
            .enumerate()
            .map(|(r, rs)| match self.health_of(v, r) {
                Some(h) if h.up => u64::from(h.weight),
                Some(_) => 0,
                None => u64::from(rs.weight),
            })
            .sum()
    }

    /// The quorum transitions of the syncs since the last call, oldest first.
    pub fn take_quorum_changes(&mut self) -> Vec<QuorumChange> {
        std::mem::take(&mut self.quorum_changes)
    }

    /// Brings the table to what the health calls for; returns the changes made. Quorum
    /// transitions are logged and their scripts run (`env`).
    pub fn sync(&mut self, env: &ScriptEnv) -> Vec<Change> {
        let before = self.quorum.clone();
        let mut quorum = std::mem::take(&mut self.quorum);
        let want = {
            let health = |v: usize, r: usize| self.health_of(v, r);
            desired_marked(&self.config, &self.marks, &health, &mut quorum)
        };
        self.quorum = quorum;
        self.sync_marks();
        let mut changes = diff(&self.kernel, &want, &self.owned);
        for c in &changes {
            info!("IPVS: {}", describe(c));
        }
        if let Some(ipvs) = self.ipvs.as_mut() {
            let applied = ipvs.apply(changes);
            for e in &applied.errors {
                warn!("IPVS: {e}");
            }
            changes = applied.done;
        }
        apply(&mut self.kernel, &changes);
        self.owned.apply(&changes);
        for (v, now) in self.quorum.iter().enumerate() {
            let was = before.get(v).copied().unwrap_or_default();
            if was == *now {
                continue;
            }
            let Some(vs) = self.config.lvs.virtual_servers.get(v) else {
                continue;
            };
            let (word, script) = match now {
                Quorum::Held => ("Gained", &vs.quorum_up),
                Quorum::Lost => ("Lost", &vs.quorum_down),
            };
            info!("{word} quorum {} for virtual server #{v}", vs.quorum);
            let (q, h) = (u64::from(vs.quorum), u64::from(vs.hysteresis));
            let held = *now == Quorum::Held;
            self.quorum_changes.push(QuorumChange {
                vs: v,
                held,
                threshold: if held { q + h } else { q.saturating_sub(h) },
                live_weight: self.live_weight(v),
            });
            if let Some(script) = script {
                match env.prepare(format!("quorum script of virtual server #{v}"), script) {
                    Ok(s) => {
                        tokio::spawn(async move {
                            let _ = s.run(&[], None).await;
                        });
                    }
                    Err(e) => warn!("quorum script: {e}"),
                }
            }
        }
        changes
    }

    /// Brings the `nftables_ipvs` rules to the groups' ranges (one batch; on failure it is
    /// logged, IPVS is programmed anyway, and the next sync tries again from scratch).
    fn sync_marks(&mut self) {
        let Some(rules) = self.mark_rules.as_mut() else {
            return;
        };
        let want = self
            .marks
            .ranges(&self.config)
            .into_iter()
            .map(|r| MarkEntry {
                protocol: match r.protocol {
                    keepalived_lb::table::Proto::Tcp => 6,
                    keepalived_lb::table::Proto::Udp => 17,
                    keepalived_lb::table::Proto::Sctp => 132,
                },
                first: r.first,
                last: r.last,
                port: r.port,
                mark: r.mark,
            })
            .collect();
        match rules.sync(&want) {
            Ok(0) => {}
            Ok(n) => info!(
                "nftables_ipvs: table {} updated ({n} messages, {} ranges marked)",
                rules.config().table,
                want.len()
            ),
            Err(e) => warn!(
                "nftables_ipvs: table {}: {e} (tried again at the next change)",
                rules.config().table
            ),
        }
    }

    /// Deletes the `nftables_ipvs` tables.
    fn release_marks(&mut self) {
        if let Some(rules) = self.mark_rules.as_mut() {
            match rules.remove_tables() {
                Ok(()) => {}
                Err(e) => warn!("nftables_ipvs: table {}: {e}", rules.config().table),
            }
        }
    }

    /// `omega`: the scripts a shutdown runs, as keepalived does for virtual servers with
    /// `omega`: `notify_down` of each real server that is up, and `quorum_down` of each
    /// virtual server whose quorum holds. Labelled for logs.
    pub fn omega_scripts(&self) -> Vec<(String, Script)> {
        let mut out = Vec::new();
        for (v, vs) in self.config.lvs.virtual_servers.iter().enumerate() {
            if !vs.omega {
                continue;
            }
            for (r, rs) in vs.real_servers.iter().enumerate() {
                let up = self.health_of(v, r).is_none_or(|h| h.up);
                if let (true, Some(s)) = (up, &rs.notify_down) {
                    out.push((format!("notify_down of {} (omega)", rs.address), s.clone()));
                }
            }
            let held = self.quorum.get(v).copied().unwrap_or_default() == Quorum::Held;
            if let (true, Some(s)) = (held, &vs.quorum_down) {
                out.push((
                    format!("quorum_down of virtual server #{v} (omega)"),
                    s.clone(),
                ));
            }
        }
        out
    }

    /// At a stop: with `release`, removes what we programmed (our services, or the whole
    /// table with `lvs_flush_on_stop`) and stops the sync daemon; without it (`-I`,
    /// `--dont-release-ipvs`) leaves the kernel as it is.
    pub fn release(&mut self, release: bool) {
        if self.ipvs.is_none() {
            return;
        }
        if release {
            // The marking rules go with the services they feed (kept with `-I`).
            self.release_marks();
        }
        let Some(ipvs) = self.ipvs.as_mut() else {
            return;
        };
        if !release {
            info!(
                "IPVS: leaving {} virtual services in place",
                self.owned.0.len()
            );
            return;
        }
        let msgs = stop_messages(&self.config, &self.owned, &self.kernel);
        info!("IPVS: removing {} virtual services", self.owned.0.len());
        match ipvs.execute_batch(&msgs) {
            Ok(results) => {
                for e in results.into_iter().filter_map(Result::err) {
                    warn!("IPVS: {e}");
                }
            }
            Err(e) => warn!("IPVS: {e}"),
        }
        self.owned = Owned::default();
        self.kernel = Table::new();
    }

    /// Netlink requests sent to IPVS so far (0 without a kernel).
    pub fn messages_sent(&self) -> u64 {
        self.ipvs.as_ref().map_or(0, Ipvs::messages_sent)
    }

    /// The table as applied so far.
    #[cfg(test)]
    pub fn table(&self) -> &Table {
        &self.kernel
    }
}

/// Where the `nftables_ipvs` rules go, if they are wanted.
fn mark_config(config: &Config) -> Option<IpvsMarkConfig> {
    let defs = &config.global.defs;
    defs.nftables_ipvs.as_ref().map(|table| IpvsMarkConfig {
        table: table.clone(),
        priority: defs.nftables_ipvs_priority,
        counters: defs.nftables_counters,
    })
}

/// The global IPVS settings a reload changes: new `lvs_timeouts`, and the checker's sync
/// daemons (`lvs_sync_daemon` without a VRRP instance) restarted when they changed (stopped
/// when removed or handed to the VRRP engine).
fn global_changes(old: &Config, new: &Config) -> Vec<IpvsMessage> {
    let mut out = Vec::new();
    let t = timeouts(new);
    if t != timeouts(old)
        && let Some(t) = t
    {
        out.push(IpvsMessage::SetConfig(t));
    }
    let (was, now) = (checker_sync_daemons(old), checker_sync_daemons(new));
    if was != now {
        out.extend(was.iter().map(|d| IpvsMessage::DelDaemon(d.state)));
        out.extend(now.into_iter().map(IpvsMessage::NewDaemon));
    }
    out
}

fn key_text(k: &ServiceKey) -> String {
    match k {
        ServiceKey::Addr { protocol, addr } => format!("{:?} {addr}", protocol).to_lowercase(),
        ServiceKey::Fwmark { mark, ipv6 } => {
            format!("fwmark {mark}{}", if *ipv6 { " inet6" } else { "" })
        }
    }
}

/// One change as a log line (what `ipvsadm` would be asked to do).
pub fn describe(c: &Change) -> String {
    match c {
        Change::AddService(k, s) => {
            format!("add service {} scheduler {}", key_text(k), s.scheduler)
        }
        Change::EditService(k, s) => {
            format!("edit service {} scheduler {}", key_text(k), s.scheduler)
        }
        Change::DelService(k) => format!("delete service {}", key_text(k)),
        Change::AddDest(k, a, d) => format!(
            "add real server {a} to {} weight {} ({:?})",
            key_text(k),
            d.weight,
            d.forward
        ),
        Change::EditDest(k, a, d) => {
            format!("set real server {a} of {} weight {}", key_text(k), d.weight)
        }
        Change::DelDest(k, a) => format!("remove real server {a} from {}", key_text(k)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keepalived_checker::logic::RsId;
    use keepalived_lb::ipvs::DaemonState;

    fn event(vs: usize, rs: usize, kind: RsEventKind, weight: u32) -> RsEvent {
        RsEvent {
            server: RsId(rs),
            vs,
            rs,
            address: "198.51.100.1:80".parse().expect("addr"),
            kind,
            weight,
            reason: String::new(),
            check: None,
            notify: None,
            initial: false,
        }
    }

    #[tokio::test]
    async fn a_weight_change_is_one_edit_and_quorum_loss_swaps_in_the_sorry_server() {
        let text = "virtual_server 192.0.2.100 80 {\n lb_algo rr\n lb_kind NAT\n protocol TCP\n \
                    quorum 2\n sorry_server 198.51.100.9 80\n \
                    real_server 198.51.100.1 80 {\n weight 1\n }\n \
                    real_server 198.51.100.2 80 {\n weight 1\n }\n}\n";
        let cfg = keepalived_config::read_str("t.conf", text, &Default::default()).config;
        let env = ScriptEnv::from_defs(&cfg.global.defs);
        let mut b = Balancer::new(Arc::new(cfg));
        let first = b.sync(&env);
        assert_eq!(first.len(), 3, "{first:?}");
        b.note(&event(0, 0, RsEventKind::Weight(3), 3));
        let edit = b.sync(&env);
        assert_eq!(edit.len(), 1, "{edit:?}");
        assert!(matches!(edit[0], Change::EditDest(..)));
        b.note(&event(0, 0, RsEventKind::Down, 3));
        b.note(&event(0, 1, RsEventKind::Down, 1));
        let lost = b.sync(&env);
        let dests: Vec<_> = b.table().values().flat_map(|e| e.dests.keys()).collect();
        assert_eq!(dests.len(), 1, "{lost:?}");
        assert_eq!(dests[0].to_string(), "198.51.100.9:80");
        // The loss is kept once for the alerts (threshold 2, nothing live); then the gain.
        let lost = QuorumChange {
            vs: 0,
            held: false,
            threshold: 2,
            live_weight: 0,
        };
        assert_eq!(b.take_quorum_changes(), [lost]);
        assert!(b.take_quorum_changes().is_empty());
        b.note(&event(0, 0, RsEventKind::Up, 3));
        b.sync(&env);
        let gained = QuorumChange {
            vs: 0,
            held: true,
            threshold: 2,
            live_weight: 3,
        };
        assert_eq!(b.take_quorum_changes(), [gained]);
    }

    fn cfg(text: &str) -> Arc<Config> {
        Arc::new(keepalived_config::read_str("t.conf", text, &Default::default()).config)
    }

    #[tokio::test]
    async fn a_reload_keeps_quorum_states_by_identity_and_applies_only_the_difference() {
        let vs = |addr: &str, w: u32| {
            format!(
                "virtual_server {addr} 80 {{\n lb_algo rr\n lb_kind NAT\n protocol TCP\n \
                 quorum 2\n sorry_server 198.51.100.9 80\n \
                 real_server 198.51.100.1 80 {{\n weight {w}\n }}\n \
                 real_server 198.51.100.2 80 {{\n weight 1\n }}\n}}\n"
            )
        };
        let old = cfg(&(vs("192.0.2.1", 1) + &vs("192.0.2.2", 1)));
        let env = ScriptEnv::from_defs(&old.global.defs);
        let mut b = Balancer::new(old);
        assert_eq!(b.sync(&env).len(), 6);
        // The second virtual server loses its quorum: the sorry server serves.
        b.note(&event(1, 0, RsEventKind::Down, 1));
        b.note(&event(1, 1, RsEventKind::Down, 1));
        assert_eq!(b.sync(&env).len(), 3);
        // Reload: the two swap places in the file and the first one's weight changes.
        let new = cfg(&(vs("192.0.2.2", 1) + &vs("192.0.2.1", 4)));
        let mut health = HashMap::new();
        for r in 0..2 {
            health.insert(
                (0, r),
                Health {
                    up: false,
                    weight: 1,
                },
            );
        }
        health.insert(
            (1, 0),
            Health {
                up: true,
                weight: 4,
            },
        );
        health.insert(
            (1, 1),
            Health {
                up: true,
                weight: 1,
            },
        );
        b.reload(new, health);
        assert_eq!(b.quorum, [Quorum::Lost, Quorum::Held]);
        let changes = b.sync(&env);
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert!(matches!(&changes[0], Change::EditDest(_, a, d)
            if a.to_string() == "198.51.100.1:80" && d.weight == 4));
    }

    #[test]
    fn omega_runs_notify_down_of_live_servers_and_quorum_down_while_it_holds() {
        let c = cfg(
            "virtual_server 192.0.2.1 80 {\n lb_algo rr\n lb_kind NAT\n protocol TCP\n \
                     omega\n quorum_down /bin/qd\n \
                     real_server 198.51.100.1 80 {\n notify_down /bin/d1\n }\n \
                     real_server 198.51.100.2 80 {\n notify_down /bin/d2\n }\n}\n\
                     virtual_server 192.0.2.2 80 {\n lb_algo rr\n lb_kind NAT\n protocol TCP\n \
                     quorum_down /bin/qd2\n \
                     real_server 198.51.100.3 80 {\n notify_down /bin/d3\n }\n}\n",
        );
        let mut b = Balancer::new(c);
        b.note(&event(0, 1, RsEventKind::Down, 1));
        let scripts: Vec<String> = b
            .omega_scripts()
            .into_iter()
            .map(|(_, s)| s.command)
            .collect();
        assert_eq!(scripts, ["/bin/d1", "/bin/qd"]);
    }

    #[test]
    fn a_reload_resets_changed_timeouts_and_restarts_a_changed_sync_daemon() {
        let old = cfg("global_defs {\n lvs_timeouts tcp 900\n lvs_sync_daemon eth0 id 1\n}\n");
        let same = global_changes(&old, &old);
        assert!(same.is_empty(), "{same:?}");
        let new = cfg("global_defs {\n lvs_timeouts tcp 60\n lvs_sync_daemon eth0 id 2\n}\n");
        let msgs = global_changes(&old, &new);
        assert_eq!(msgs.len(), 5, "{msgs:?}");
        assert!(matches!(&msgs[0], IpvsMessage::SetConfig(t) if t.tcp == Some(60)));
        assert!(matches!(
            msgs[1..3],
            [
                IpvsMessage::DelDaemon(DaemonState::Master),
                IpvsMessage::DelDaemon(DaemonState::Backup)
            ]
        ));
        assert!(matches!(&msgs[3], IpvsMessage::NewDaemon(d) if d.sync_id == 2));
        assert!(matches!(&msgs[4], IpvsMessage::NewDaemon(d) if d.sync_id == 2));
        let gone = global_changes(&new, &cfg(""));
        assert_eq!(gone.len(), 2, "{gone:?}");
        // Naming a VRRP instance hands the daemon to the VRRP engine: the checker stops its own.
        let vrrp = cfg("global_defs {\n lvs_timeouts tcp 60\n lvs_sync_daemon eth0 VI_1 id 2\n}\n");
        let handed = global_changes(&new, &vrrp);
        assert!(
            handed
                .iter()
                .all(|m| matches!(m, IpvsMessage::DelDaemon(_)))
                && handed.len() == 2,
            "{handed:?}"
        );
    }
}
