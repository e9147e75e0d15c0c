//! The load balancer's state in the checker runtime: the real servers' health from the checker
//! events, the desired IPVS table ([`keepalived_lb::table::desired`]), the smallest change set
//! to reach it ([`keepalived_lb::diff`]), quorum transitions with `quorum_up` / `quorum_down`.
//!
//! Without IPVS in the kernel the changes are logged and applied to the in-memory table only,
//! so what the balancer decides is visible (and tested) on any host; programming the kernel
//! goes through the IPVS client when it is there (the load-balancer issue).

use std::collections::HashMap;
use std::sync::Arc;

use keepalived_checker::logic::{RsEvent, RsEventKind};
use keepalived_config::Config;
use keepalived_lb::diff::{Change, Owned, apply, diff};
use keepalived_lb::table::{Health, Quorum, ServiceKey, Table, desired};
use tracing::{info, warn};

use crate::script::ScriptEnv;

/// The balancer: health, quorum states and the table it believes the kernel holds.
pub struct Balancer {
    config: Arc<Config>,
    health: HashMap<(usize, usize), Health>,
    quorum: Vec<Quorum>,
    kernel: Table,
    owned: Owned,
}

impl Balancer {
    /// A balancer for `config`, with nothing applied yet.
    pub fn new(config: Arc<Config>) -> Self {
        Balancer {
            config,
            health: HashMap::new(),
            quorum: Vec::new(),
            kernel: Table::new(),
            owned: Owned::default(),
        }
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
        let changes = diff(&self.kernel, &want, &self.owned);
        for c in &changes {
            info!("IPVS: {}", describe(c));
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
