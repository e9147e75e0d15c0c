//! The checker's data dump (`keepalived_check.data`, SIGUSR1) and its metrics: a copy of the
//! checker engine's state taken between two events ([`take`]), rendered off the engine's loop.

use std::path::PathBuf;

use keepalived_checker::logic::{CheckId, CheckSpec, CheckerEngine, RsId};
use tokio::sync::{mpsc, oneshot};

use crate::services::dump::{DumpKind, DumpPaths, DumpSource};
use crate::services::metrics::{
    CheckMetrics, CheckerMetrics, IpvsDestMetrics, IpvsServiceMetrics, LatencyMetrics,
    RealServerMetrics, VirtualServerMetrics,
};

/// A request for the checker's data dump: the driver answers on the channel.
pub type SnapshotRequest = oneshot::Sender<CheckerSnapshot>;

/// The checker process's [`DumpSource`]: SIGUSR1 writes `keepalived_check.data`; the other dump
/// signals are the VRRP engine's.
#[derive(Debug, Clone)]
pub struct Source(mpsc::UnboundedSender<SnapshotRequest>);

impl Source {
    /// Asks the driver listening on `tx`.
    pub fn new(tx: mpsc::UnboundedSender<SnapshotRequest>) -> Source {
        Source(tx)
    }
}

impl DumpSource for Source {
    async fn files(&self, kind: DumpKind, paths: &DumpPaths) -> Vec<(PathBuf, String)> {
        if kind != DumpKind::Data {
            return Vec::new();
        }
        let (reply, rx) = oneshot::channel();
        if self.0.send(reply).is_err() {
            return Vec::new();
        }
        match rx.await {
            Ok(snap) => vec![(paths.checker_data.clone(), snap.data_text())],
            Err(_) => Vec::new(),
        }
    }
}

/// One real server in the checker's data dump.
#[derive(Debug, Clone, PartialEq)]
pub struct RealServerSnapshot {
    /// `[ADDR]:tcp:PORT`.
    pub name: String,
    /// Its address and port.
    pub address: std::net::SocketAddr,
    /// Whether it is up (in the balancer).
    pub up: bool,
    /// Its current weight (0 while drained).
    pub weight: u32,
    /// Drained (`keepalived-ctl rs drain`).
    pub drained: bool,
    /// Its checks (type and `passed`/`failed`/`not run`), with run and failure counts.
    pub checks: Vec<(String, Option<bool>, u64, u64)>,
    /// When each check's last result came (seconds since the Unix epoch).
    pub last_run: Vec<Option<f64>>,
    /// The latency histogram of each of its checks (in the order of `checks`).
    pub latency: Vec<Option<LatencyMetrics>>,
}

/// One virtual server in the checker's data dump.
#[derive(Debug, Clone, PartialEq)]
pub struct VirtualServerSnapshot {
    /// `[ADDR]:tcp:PORT`, `FWM N` or `group NAME`.
    pub name: String,
    /// Real servers up, of all.
    pub up: usize,
    /// Sum of the weights of the real servers up.
    pub up_weight: u64,
    /// `quorum`.
    pub quorum: u32,
    /// Its real servers.
    pub servers: Vec<RealServerSnapshot>,
}

/// What the checker's data dump shows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CheckerSnapshot {
    /// The virtual servers.
    pub virtual_servers: Vec<VirtualServerSnapshot>,
}

impl CheckerSnapshot {
    /// What the Prometheus metrics show of it.
    pub fn metrics(&self) -> CheckerMetrics {
        let virtual_servers = self
            .virtual_servers
            .iter()
            .map(|vs| VirtualServerMetrics {
                name: vs.name.clone(),
                quorum: vs.quorum,
                up: vs.up as u64,
                up_weight: vs.up_weight,
                servers: vs
                    .servers
                    .iter()
                    .map(|rs| RealServerMetrics {
                        name: rs.name.clone(),
                        address: rs.address.ip().to_string(),
                        port: rs.address.port(),
                        up: rs.up,
                        weight: rs.weight,
                        drained: rs.drained,
                        checks: rs
                            .checks
                            .iter()
                            .enumerate()
                            .map(|(i, (kind, verdict, runs, failures))| CheckMetrics {
                                kind: kind.clone(),
                                verdict: *verdict,
                                runs: *runs,
                                failures: *failures,
                                latency: rs.latency.get(i).cloned().flatten(),
                                last_run: rs.last_run.get(i).copied().flatten(),
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect();
        CheckerMetrics {
            virtual_servers,
            ipvs: Vec::new(),
        }
    }

    /// The data dump (`keepalived_check.data`).
    pub fn data_text(&self) -> String {
        use std::fmt::Write as _;
        let mut o = String::new();
        let _ = writeln!(o, "------< LVS Topology >------");
        for vs in &self.virtual_servers {
            let _ = writeln!(o, " VS = {}", vs.name);
            let _ = writeln!(o, "   Quorum = {}", vs.quorum);
            let _ = writeln!(
                o,
                "   Real servers up = {} of {} (weight {})",
                vs.up,
                vs.servers.len(),
                vs.up_weight
            );
            for rs in &vs.servers {
                let _ = writeln!(o, "   RS = {}", rs.name);
                let _ = writeln!(o, "     Alive = {}", if rs.up { "yes" } else { "no" });
                let _ = writeln!(o, "     Weight = {}", rs.weight);
                if rs.drained {
                    let _ = writeln!(o, "     Drained = yes");
                }
                for (kind, verdict, runs, failures) in &rs.checks {
                    let v = match verdict {
                        Some(true) => "passed",
                        Some(false) => "failed",
                        None => "not run",
                    };
                    let _ = writeln!(o, "     {kind}: {v} (runs {runs}, failures {failures})");
                }
            }
        }
        o
    }
}

/// What [`take`] needs besides the engine: `service` names an address as keepalived does,
/// `vs_name` a virtual server by index, `latency` gives a check's latency histogram,
/// `drained` tells a drained real server (virtual server index, index among its real
/// servers), `wall` turns the engine's time into seconds since the Unix epoch.
pub struct Namers<S, V, L, D, W> {
    /// See above.
    pub service: S,
    /// See above.
    pub vs_name: V,
    /// See above.
    pub latency: L,
    /// See above.
    pub drained: D,
    /// See above.
    pub wall: W,
}

/// Copies what the checker's data dump shows out of the checker engine.
pub fn take<S, V, L, D, W>(engine: &CheckerEngine, n: &Namers<S, V, L, D, W>) -> CheckerSnapshot
where
    S: Fn(std::net::SocketAddr) -> String,
    V: Fn(usize) -> String,
    L: Fn(CheckId) -> Option<LatencyMetrics>,
    D: Fn(usize, usize) -> bool,
    W: Fn(keepalived_checker::logic::Instant) -> f64,
{
    let plan = engine.plan();
    let virtual_servers = plan
        .virtual_servers
        .iter()
        .enumerate()
        .map(|(v, vs)| {
            let status = engine.vs_status(v).unwrap_or_default();
            let servers = vs
                .servers
                .clone()
                .filter_map(|i| {
                    let rs = plan.servers.get(i)?;
                    let st = engine.server_status(RsId(i))?;
                    let checks = rs
                        .checks
                        .iter()
                        .map(|c| {
                            let kind = plan.checks.get(c.0).map_or("?", CheckSpec::type_name);
                            let stats = engine.check_stats(*c).unwrap_or_default();
                            (
                                kind.to_owned(),
                                engine.verdict(*c),
                                stats.runs,
                                stats.failures,
                            )
                        })
                        .collect();
                    let drained = (n.drained)(rs.vs, rs.rs);
                    Some(RealServerSnapshot {
                        latency: rs.checks.iter().map(|c| (n.latency)(*c)).collect(),
                        last_run: rs
                            .checks
                            .iter()
                            .map(|c| {
                                let at = engine.check_stats(*c)?.last_outcome?;
                                Some((n.wall)(at))
                            })
                            .collect(),
                        name: (n.service)(rs.address),
                        address: rs.address,
                        up: st.up,
                        weight: if drained { 0 } else { st.weight },
                        drained,
                        checks,
                    })
                })
                .collect();
            VirtualServerSnapshot {
                name: (n.vs_name)(v),
                up: status.up,
                up_weight: status.up_weight,
                quorum: vs.quorum,
                servers,
            }
        })
        .collect();
    CheckerSnapshot { virtual_servers }
}

/// `[ADDR]:proto:PORT`, or `FWM N`.
fn ipvs_service_name(key: &keepalived_lb::ipvs::ServiceKey) -> (String, &'static str) {
    use keepalived_lb::ipvs::{Protocol, ServiceKey};
    match key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            let proto = match protocol {
                Protocol::Tcp => "tcp",
                Protocol::Udp => "udp",
                Protocol::Sctp => "sctp",
                Protocol::Other(_) => "?",
            };
            (format!("[{addr}]:{proto}:{port}"), proto)
        }
        ServiceKey::Fwmark { mark, .. } => (format!("FWM {mark}"), "tcp"),
    }
}

fn ipvs_counters(s: Option<&keepalived_lb::ipvs::Stats>) -> Vec<u64> {
    s.map_or_else(
        || vec![0; 5],
        |s| vec![s.conns, s.inpkts, s.outpkts, s.inbytes, s.outbytes],
    )
}

/// The kernel's IPVS services and destinations with their counters, read now (on the blocking
/// pool: this is netlink I/O); empty when IPVS cannot be read.
pub fn ipvs_metrics() -> Vec<IpvsServiceMetrics> {
    let Ok(mut ipvs) = crate::services::ipvs::open_ipvs() else {
        return Vec::new();
    };
    let Ok(services) = ipvs.services() else {
        return Vec::new();
    };
    services
        .into_iter()
        .map(|svc| {
            let (name, proto) = ipvs_service_name(&svc.key);
            let dests = ipvs
                .dests(&svc.key)
                .unwrap_or_default()
                .into_iter()
                .map(|d| IpvsDestMetrics {
                    name: format!("[{}]:{proto}:{}", d.addr, d.port),
                    counters: ipvs_counters(d.stats.as_ref()),
                    active: d.conns.map_or(0, |c| u64::from(c.active)),
                    inactive: d.conns.map_or(0, |c| u64::from(c.inactive)),
                })
                .collect();
            IpvsServiceMetrics {
                name,
                counters: ipvs_counters(svc.stats.as_ref()),
                dests,
            }
        })
        .collect()
}
