//! The load balancer's state in the checker runtime: the real servers' health from the checker
//! events, the desired IPVS table ([`keepalived_lb::table::desired`]), the smallest change set
//! to reach it ([`keepalived_lb::diff`]), quorum transitions with `quorum_up` / `quorum_down`.
//!
//! With IPVS in the kernel every change is one generic netlink request (batched) through
//! `keepalived_net::Ipvs`; without it the changes are logged and applied to the in-memory table
//! only, so what the balancer decides is visible (and tested) on any host.

use std::collections::HashMap;
use std::sync::Arc;

use keepalived_checker::logic::{RsEvent, RsEventKind};
use keepalived_config::Config;
use keepalived_lb::backend::{kernel_table, messages};
use keepalived_lb::diff::{Change, Owned, apply, diff};
use keepalived_lb::table::{Health, Quorum, ServiceKey, Table, desired};
use keepalived_net::Ipvs;
use tracing::{info, warn};

use crate::script::ScriptEnv;

/// The balancer: health, quorum states and the table it believes the kernel holds.
pub struct Balancer {
    config: Arc<Config>,
    health: HashMap<(usize, usize), Health>,
    quorum: Vec<Quorum>,
    kernel: Table,
    owned: Owned,
    /// The kernel's IPVS, when there is one.
    ipvs: Option<Ipvs>,
}

impl Balancer {
    /// A balancer for `config`, with nothing applied yet, and no kernel behind it.
    pub fn new(config: Arc<Config>) -> Self {
        Balancer {
            config,
            health: HashMap::new(),
            quorum: Vec::new(),
            kernel: Table::new(),
            owned: Owned::default(),
            ipvs: None,
        }
    }

    /// A balancer that programs the kernel's IPVS: what the kernel holds now is read first, so
    /// the services of the configuration left by an earlier run are adopted and corrected.
    pub fn with_kernel(config: Arc<Config>, mut ipvs: Ipvs) -> Self {
        let mut b = Balancer::new(config);
        match read_kernel(&mut ipvs) {
            Ok(table) => b.kernel = table,
            Err(e) => warn!("IPVS: cannot read the current table: {e}"),
        }
        let health = |_: usize, _: usize| None;
        let want = desired(&b.config, &health, &mut b.quorum.clone());
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
        self.health.insert((ev.vs, ev.rs), h);
    }

    /// Brings the table to what the health calls for; returns the changes made. Quorum
    /// transitions are logged and their scripts run (`env`).
    pub fn sync(&mut self, env: &ScriptEnv) -> Vec<Change> {
        let before = self.quorum.clone();
        let health = |v: usize, r: usize| self.health.get(&(v, r)).copied();
        let want = desired(&self.config, &health, &mut self.quorum);
        let mut changes = diff(&self.kernel, &want, &self.owned);
        for c in &changes {
            info!("IPVS: {}", describe(c));
        }
        if let Some(ipvs) = self.ipvs.as_mut() {
            changes = program(ipvs, changes);
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

    /// The table as applied so far.
    #[cfg(test)]
    pub fn table(&self) -> &Table {
        &self.kernel
    }
}

/// What the kernel holds: every service with its destinations.
fn read_kernel(ipvs: &mut Ipvs) -> Result<Table, keepalived_net::IpvsError> {
    let mut dump = Vec::new();
    for svc in ipvs.services()? {
        let dests = ipvs.dests(&svc.key)?;
        dump.push((svc, dests));
    }
    Ok(kernel_table(&dump))
}

/// Sends `changes` to the kernel (batched); returns those that took effect. A refused change
/// is logged with the kernel's reason (naming the service or real server) and left out, so the
/// next sync tries it again.
fn program(ipvs: &mut Ipvs, changes: Vec<Change>) -> Vec<Change> {
    let msgs = messages(&changes);
    let mut done = Vec::with_capacity(changes.len());
    let mut results = Vec::with_capacity(msgs.len());
    for chunk in msgs.chunks(keepalived_net::BATCH_MAX) {
        match ipvs.execute_batch(chunk) {
            Ok(r) => results.extend(r),
            Err(e) => {
                warn!("IPVS: {e}");
                return done;
            }
        }
    }
    for (change, result) in changes.into_iter().zip(results) {
        match result {
            Ok(()) => done.push(change),
            Err(e) => warn!("IPVS: {e}"),
        }
    }
    done
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
    }
}
