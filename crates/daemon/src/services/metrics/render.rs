//! Renders a scrape ([`Scrape`]: what the engines answered and the parent's own counters) in
//! the Prometheus text format (0.0.4) or OpenMetrics, with the `prometheus-client` crate's
//! encoders: a [`Collector`] streams the series straight from the engines' answers, with no
//! registry of live metric objects to keep in step with the configuration.

use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::exemplar::Exemplar;
use prometheus_client::registry::Registry;

use super::{EngineMetrics, IPVS_COUNTERS, LATENCY_BUCKETS, SOCKET_COUNTERS};

/// One engine process the parent runs, as a scrape saw it.
#[derive(Debug, Clone, Default)]
pub struct EngineScrape {
    /// `vrrp`, `checker` or `bfd`.
    pub engine: &'static str,
    /// Its answer (`None`: it did not answer in time, or is not running).
    pub answer: Option<EngineMetrics>,
    /// How many times it was started again after its first start.
    pub restarts: u64,
    /// How many times the watchdog killed it.
    pub watchdog_kills: u64,
    /// How many scrapes it failed to answer.
    pub query_failures: u64,
}

/// Everything one scrape shows.
#[derive(Debug, Clone, Default)]
pub struct Scrape {
    /// The engines the parent runs.
    pub engines: Vec<EngineScrape>,
    /// Reloads applied.
    pub reloads_applied: u64,
    /// Reloads refused (the new configuration could not be used).
    pub reloads_refused: u64,
    /// The last reload: when (seconds since the Unix epoch) and whether it was applied.
    pub last_reload: Option<(f64, bool)>,
    /// The version built.
    pub version: &'static str,
    /// The build options built in (`vrrp,lvs,...`).
    pub features: String,
}

/// The `Content-Type` of each format.
pub const PROMETHEUS_TEXT: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;
/// See [`PROMETHEUS_TEXT`].
pub const OPENMETRICS_TEXT: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A rendered page: its text in parts, sent one after the other (joining them would copy
/// megabytes for nothing).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page(Vec<String>);

impl Page {
    /// Its length in bytes.
    pub fn byte_len(&self) -> usize {
        self.0.iter().map(String::len).sum()
    }

    /// Its parts, in order.
    pub fn parts(&self) -> impl Iterator<Item = &[u8]> {
        self.0.iter().map(String::as_bytes)
    }

    /// Its text in one piece.
    #[cfg(test)]
    pub fn into_string(self) -> String {
        self.0.concat()
    }
}

impl From<String> for Page {
    fn from(text: String) -> Page {
        Page(vec![text])
    }
}

impl From<&str> for Page {
    fn from(text: &str) -> Page {
        Page(vec![text.to_owned()])
    }
}

/// Renders `scrape` in OpenMetrics (`openmetrics`) or the Prometheus text format, in one piece.
#[cfg(test)]
pub fn render(scrape: Scrape, openmetrics: bool) -> String {
    render_page(scrape, openmetrics).into_string()
}

/// Renders `scrape` as [`render`] does: the VRRP instances' families (most of a large page:
/// 6.6 MB at 4,000 instances) written by [`super::instances`], the rest by `prometheus-client`.
pub fn render_page(scrape: Scrape, openmetrics: bool) -> Page {
    let scrape = Arc::new(scrape);
    let mut rest = encode(&scrape, openmetrics);
    let Some(v) = scrape
        .engines
        .iter()
        .find_map(|e| e.answer.as_ref()?.vrrp.as_ref())
    else {
        return rest.into();
    };
    let mut instances = String::new();
    super::instances::write(&mut instances, v, openmetrics);
    // OpenMetrics ends with `# EOF`: only once, at the very end.
    if openmetrics && let Some(cut) = rest.strip_suffix("# EOF\n").map(str::len) {
        rest.truncate(cut);
        instances.push_str("# EOF\n");
    }
    Page(vec![rest, instances])
}

fn encode(scrape: &Arc<Scrape>, openmetrics: bool) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(ScrapeCollector(scrape.clone())));
    let mut out = String::with_capacity(64 * 1024);
    let done = if openmetrics {
        prometheus_client::encoding::text::encode(&mut out, &registry)
    } else {
        prometheus_client::encoding::prometheus_text::encode(&mut out, &registry)
    };
    if done.is_err() {
        // Writing to a String does not fail; an encoder's refusal leaves what it wrote.
        tracing::warn!("metrics: the encoder refused part of a scrape");
    }
    out
}

/// A metric family read off `T`: its name, help and the value of one `T`.
type Field<T, V> = (&'static str, &'static str, fn(&T) -> V);

#[derive(Debug)]
struct ScrapeCollector(Arc<Scrape>);

type NoExemplar = Option<&'static Exemplar<NoLabelSet, f64>>;

/// One series: a gauge or counter value under `labels`.
pub(super) fn gauge(
    m: &mut MetricEncoder<'_>,
    labels: &impl EncodeLabelSet,
    v: impl prometheus_client::encoding::EncodeGaugeValue,
) -> std::fmt::Result {
    m.encode_family(labels)?.encode_gauge(&v)
}

pub(super) fn counter(
    m: &mut MetricEncoder<'_>,
    labels: &impl EncodeLabelSet,
    v: u64,
) -> std::fmt::Result {
    m.encode_family(labels)?
        .encode_counter::<NoLabelSet, u64, f64>(&v, NoExemplar::None)
}

impl Collector for ScrapeCollector {
    fn encode(&self, mut enc: DescriptorEncoder<'_>) -> std::fmt::Result {
        let s = &*self.0;
        let answers: Vec<&EngineMetrics> =
            s.engines.iter().filter_map(|e| e.answer.as_ref()).collect();
        parent(&mut enc, s)?;
        vrrp(&mut enc, &answers)?;
        checker(&mut enc, &answers)?;
        super::bfd::encode(&mut enc, &answers)
    }
}

fn parent(enc: &mut DescriptorEncoder<'_>, s: &Scrape) -> std::fmt::Result {
    let all_up = s.engines.iter().all(|e| e.answer.is_some());
    let mut m = enc.encode_descriptor(
        "keepalived_up",
        "Whether every child process the daemon runs answered this scrape",
        None,
        MetricType::Gauge,
    )?;
    m.encode_gauge(&i64::from(all_up))?;
    let mut m = enc.encode_descriptor(
        "keepalived_engine_up",
        "Whether the child process answered this scrape",
        None,
        MetricType::Gauge,
    )?;
    for e in &s.engines {
        gauge(
            &mut m,
            &[("engine", e.engine)],
            i64::from(e.answer.is_some()),
        )?;
    }
    let per_engine: [Field<EngineScrape, u64>; 3] = [
        (
            "keepalived_engine_restarts",
            "Child process starts after the first",
            |e| e.restarts,
        ),
        (
            "keepalived_watchdog_kills",
            "Child processes killed by the watchdog for not answering its heartbeat",
            |e| e.watchdog_kills,
        ),
        (
            "keepalived_metrics_query_failures",
            "Scrapes the child process did not answer in time",
            |e| e.query_failures,
        ),
    ];
    for (name, help, value) in per_engine {
        let mut m = enc.encode_descriptor(name, help, None, MetricType::Counter)?;
        for e in &s.engines {
            counter(&mut m, &[("engine", e.engine)], value(e))?;
        }
    }
    let mut m = enc.encode_descriptor(
        "keepalived_reloads",
        "Reloads, by outcome: applied, or refused (the new configuration could not be used)",
        None,
        MetricType::Counter,
    )?;
    counter(&mut m, &[("outcome", "applied")], s.reloads_applied)?;
    counter(&mut m, &[("outcome", "refused")], s.reloads_refused)?;
    if let Some((at, applied)) = s.last_reload {
        let mut m = enc.encode_descriptor(
            "keepalived_last_reload_success",
            "Whether the last reload was applied",
            None,
            MetricType::Gauge,
        )?;
        m.encode_gauge(&i64::from(applied))?;
        let mut m = enc.encode_descriptor(
            "keepalived_last_reload_timestamp_seconds",
            "When the last reload was asked for",
            None,
            MetricType::Gauge,
        )?;
        m.encode_gauge(&at)?;
    }
    let mut m = enc.encode_descriptor(
        "keepalived_build_info",
        "The version and build options of keepalived-rs",
        None,
        MetricType::Gauge,
    )?;
    gauge(
        &mut m,
        &[("version", s.version), ("features", s.features.as_str())],
        1i64,
    )
}

/// The VRRP families other than the instances' ([`super::instances`]).
fn vrrp(enc: &mut DescriptorEncoder<'_>, answers: &[&EngineMetrics]) -> std::fmt::Result {
    let Some(v) = answers.iter().find_map(|a| a.vrrp.as_ref()) else {
        return Ok(());
    };
    let mut m = enc.encode_descriptor(
        "keepalived_script_status",
        "Tracker Script Status",
        None,
        MetricType::Gauge,
    )?;
    for (name, ok) in &v.scripts {
        if let Some(ok) = ok {
            gauge(&mut m, &[("name", name.as_str())], i64::from(*ok))?;
        }
    }
    // mehdy/keepalived-exporter's numbers: 0 idle, 1 running (2 and 3, keepalived's
    // termination states, are not ours: a run past its timeout is killed at once).
    let mut m = enc.encode_descriptor(
        "keepalived_script_state",
        "Tracker Script State",
        None,
        MetricType::Gauge,
    )?;
    for (name, running) in &v.script_states {
        gauge(&mut m, &[("name", name.as_str())], i64::from(*running))?;
    }
    let mut m = enc.encode_descriptor(
        "keepalived_vrrp_tracker_status",
        "A tracked object of an instance: 1 up, 0 down (track_file: its value)",
        None,
        MetricType::Gauge,
    )?;
    for i in &v.instances {
        for t in &i.tracks {
            if let Some(value) = t.value {
                let labels = [
                    ("iname", i.name.as_str()),
                    ("kind", t.kind.as_str()),
                    ("name", t.name.as_str()),
                ];
                gauge(&mut m, &labels, value)?;
            }
        }
    }
    let mut m = enc.encode_descriptor(
        "keepalived_vrrp_router_errors",
        "Adverts no instance took, by receiving socket and reason (RFC 6527 vrrpRouter*Errors)",
        None,
        MetricType::Counter,
    )?;
    for sock in &v.sockets {
        for (c, reason) in SOCKET_COUNTERS.iter().enumerate() {
            let labels = [
                ("intf", sock.intf.as_str()),
                ("family", sock.family.as_str()),
                ("reason", reason),
            ];
            counter(&mut m, &labels, sock.counters.get(c).copied().unwrap_or(0))?;
        }
    }
    let mut m = enc.encode_descriptor(
        "keepalived_vrrp_sync_group_state",
        "State of a sync group (as keepalived_vrrp_state)",
        None,
        MetricType::Gauge,
    )?;
    for (name, state) in &v.groups {
        gauge(&mut m, &[("group", name.as_str())], i64::from(*state))?;
    }
    Ok(())
}

fn checker(enc: &mut DescriptorEncoder<'_>, answers: &[&EngineMetrics]) -> std::fmt::Result {
    let Some(c) = answers.iter().find_map(|a| a.checker.as_ref()) else {
        return Ok(());
    };
    let per_vs: [Field<super::VirtualServerMetrics, u64>; 4] = [
        ("keepalived_lvs_virtual_server_quorum", "quorum", |vs| {
            u64::from(vs.quorum)
        }),
        (
            "keepalived_lvs_virtual_server_real_servers",
            "Real servers configured",
            |vs| vs.servers.len() as u64,
        ),
        (
            "keepalived_lvs_virtual_server_real_servers_up",
            "Real servers up",
            |vs| vs.up,
        ),
        (
            "keepalived_lvs_virtual_server_up_weight",
            "Sum of the weights of the real servers up",
            |vs| vs.up_weight,
        ),
    ];
    for (name, help, value) in per_vs {
        let mut m = enc.encode_descriptor(name, help, None, MetricType::Gauge)?;
        for vs in &c.virtual_servers {
            gauge(&mut m, &[("virtual_server", vs.name.as_str())], value(vs))?;
        }
    }
    let per_rs: [Field<super::RealServerMetrics, u64>; 3] = [
        (
            "keepalived_lvs_real_server_up",
            "Whether the real server is up (in the balancer)",
            |rs| u64::from(rs.up),
        ),
        (
            "keepalived_lvs_real_server_weight",
            "The real server's current weight",
            |rs| u64::from(rs.weight),
        ),
        (
            "keepalived_lvs_real_server_drained",
            "Whether the real server is drained (keepalived-ctl)",
            |rs| u64::from(rs.drained),
        ),
    ];
    for (name, help, value) in per_rs {
        let mut m = enc.encode_descriptor(name, help, None, MetricType::Gauge)?;
        for vs in &c.virtual_servers {
            for rs in &vs.servers {
                let labels = [
                    ("virtual_server", vs.name.as_str()),
                    ("real_server", rs.name.as_str()),
                ];
                gauge(&mut m, &labels, value(rs))?;
            }
        }
    }
    let per_check: [(&str, &str, MetricType); 3] = [
        (
            "keepalived_lvs_check_status",
            "The last verdict of a check: 1 passed, 0 failed",
            MetricType::Gauge,
        ),
        (
            "keepalived_lvs_check_runs",
            "Check runs",
            MetricType::Counter,
        ),
        (
            "keepalived_lvs_check_failures",
            "Failed check runs",
            MetricType::Counter,
        ),
    ];
    for (which, (name, help, ty)) in per_check.into_iter().enumerate() {
        let mut m = enc.encode_descriptor(name, help, None, ty)?;
        for vs in &c.virtual_servers {
            for rs in &vs.servers {
                for (n, check) in rs.checks.iter().enumerate() {
                    let index = n.to_string();
                    let labels = [
                        ("virtual_server", vs.name.as_str()),
                        ("real_server", rs.name.as_str()),
                        ("check", check.kind.as_str()),
                        ("check_index", index.as_str()),
                    ];
                    match which {
                        0 => {
                            if let Some(ok) = check.verdict {
                                gauge(&mut m, &labels, i64::from(ok))?;
                            }
                        }
                        1 => counter(&mut m, &labels, check.runs)?,
                        _ => counter(&mut m, &labels, check.failures)?,
                    }
                }
            }
        }
    }
    let mut m = enc.encode_descriptor(
        "keepalived_lvs_check_duration_seconds",
        "How long a check's attempts took (since the configuration was loaded)",
        None,
        MetricType::Histogram,
    )?;
    for vs in &c.virtual_servers {
        for rs in &vs.servers {
            for (n, check) in rs.checks.iter().enumerate() {
                let Some(l) = &check.latency else { continue };
                let index = n.to_string();
                let labels = [
                    ("virtual_server", vs.name.as_str()),
                    ("real_server", rs.name.as_str()),
                    ("check", check.kind.as_str()),
                    ("check_index", index.as_str()),
                ];
                let buckets: Vec<(f64, u64)> = LATENCY_BUCKETS
                    .iter()
                    .copied()
                    .zip(l.buckets.iter().copied())
                    .collect();
                let sum = l.sum_ns as f64 / 1e9;
                m.encode_family(&labels)?
                    .encode_histogram::<NoLabelSet>(sum, l.count, &buckets, None)?;
            }
        }
    }
    ipvs(enc, &c.ipvs)
}

/// The kernel's IPVS counters per service and per destination (absent without IPVS).
fn ipvs(
    enc: &mut DescriptorEncoder<'_>,
    services: &[super::IpvsServiceMetrics],
) -> std::fmt::Result {
    if services.is_empty() {
        return Ok(());
    }
    for (what, help) in [
        ("connections", "Connections the kernel's IPVS scheduled"),
        ("packets", "Packets through the kernel's IPVS, by direction"),
        ("bytes", "Bytes through the kernel's IPVS, by direction"),
    ] {
        let name = format!("keepalived_ipvs_service_{what}");
        let mut m = enc.encode_descriptor(&name, help, None, MetricType::Counter)?;
        for svc in services {
            for (c, (w, dir)) in IPVS_COUNTERS.iter().enumerate() {
                if *w != what {
                    continue;
                }
                let v = svc.counters.get(c).copied().unwrap_or(0);
                match dir {
                    Some(d) => counter(
                        &mut m,
                        &[("virtual_server", svc.name.as_str()), ("direction", d)],
                        v,
                    )?,
                    None => counter(&mut m, &[("virtual_server", svc.name.as_str())], v)?,
                }
            }
        }
        let name = format!("keepalived_ipvs_destination_{what}");
        let mut m = enc.encode_descriptor(&name, help, None, MetricType::Counter)?;
        for svc in services {
            for d in &svc.dests {
                for (c, (w, dir)) in IPVS_COUNTERS.iter().enumerate() {
                    if *w != what {
                        continue;
                    }
                    let v = d.counters.get(c).copied().unwrap_or(0);
                    let (vs, rs) = (
                        ("virtual_server", svc.name.as_str()),
                        ("real_server", d.name.as_str()),
                    );
                    match dir {
                        Some(dir) => counter(&mut m, &[vs, rs, ("direction", dir)], v)?,
                        None => counter(&mut m, &[vs, rs], v)?,
                    }
                }
            }
        }
    }
    for (name, help, active) in [
        (
            "keepalived_ipvs_destination_active_connections",
            "Active connections now",
            true,
        ),
        (
            "keepalived_ipvs_destination_inactive_connections",
            "Inactive connections now",
            false,
        ),
    ] {
        let mut m = enc.encode_descriptor(name, help, None, MetricType::Gauge)?;
        for svc in services {
            for d in &svc.dests {
                let labels = [
                    ("virtual_server", svc.name.as_str()),
                    ("real_server", d.name.as_str()),
                ];
                gauge(&mut m, &labels, if active { d.active } else { d.inactive })?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::services::metrics::{
        CheckMetrics, CheckerMetrics, InstanceMetrics, RealServerMetrics, SocketMetrics,
        TrackMetrics, VirtualServerMetrics, VrrpMetrics,
    };

    /// A scrape of two VRRP instances and a checker (shared with the instances' tests).
    pub(in crate::services::metrics) fn sample() -> Scrape {
        let vrrp = VrrpMetrics {
            instances: vec![
                InstanceMetrics {
                    name: "VI_1".into(),
                    intf: "eth0".into(),
                    vrid: 51,
                    state: 2,
                    vips: vec![
                        ("192.0.2.100".parse().unwrap(), "eth0".into()),
                        ("192.0.2.101".parse().unwrap(), "eth1".into()),
                    ],
                    excluded: vec![("2001:db8::1".parse().unwrap(), "eth1".into())],
                    base_priority: 100,
                    effective_priority: 90,
                    last_transition: Some(1_700_000_000.5),
                    garp_delay: 5.0,
                    counters: (1..=14).collect(),
                    tracks: vec![TrackMetrics {
                        kind: "script".into(),
                        name: "chk".into(),
                        value: Some(0),
                    }],
                    master_address: Some("192.0.2.1".parse().unwrap()),
                    maintenance: true,
                },
                InstanceMetrics {
                    name: "VI_2".into(),
                    intf: "eth0".into(),
                    vrid: 7,
                    counters: vec![0; 14],
                    ..Default::default()
                },
            ],
            scripts: vec![("chk".into(), Some(false)), ("later".into(), None)],
            sockets: vec![SocketMetrics {
                intf: "eth0".into(),
                family: "ipv4".into(),
                counters: vec![0, 3, 0, 0, 0],
            }],
            groups: vec![("G1".into(), 1)],
            script_states: vec![("chk".into(), true)],
        };
        let checker = CheckerMetrics {
            virtual_servers: vec![VirtualServerMetrics {
                name: "[192.0.2.10]:tcp:80".into(),
                quorum: 1,
                up: 1,
                up_weight: 3,
                servers: vec![RealServerMetrics {
                    name: "[198.51.100.1]:80".into(),
                    address: "198.51.100.1".into(),
                    port: 80,
                    up: true,
                    weight: 3,
                    drained: false,
                    checks: vec![CheckMetrics {
                        kind: "TCP_CHECK".into(),
                        verdict: Some(true),
                        runs: 9,
                        failures: 2,
                        latency: Some(crate::services::metrics::LatencyMetrics {
                            buckets: vec![0, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 2],
                            count: 10,
                            sum_ns: 2_500_000_000,
                        }),
                        last_run: Some(1_700_000_001.0),
                    }],
                }],
            }],
            ipvs: vec![crate::services::metrics::IpvsServiceMetrics {
                name: "[192.0.2.10]:tcp:80".into(),
                counters: vec![7, 70, 60, 7000, 6000],
                dests: vec![crate::services::metrics::IpvsDestMetrics {
                    name: "[198.51.100.1]:tcp:80".into(),
                    counters: vec![5, 50, 40, 5000, 4000],
                    active: 2,
                    inactive: 1,
                }],
            }],
        };
        Scrape {
            engines: vec![
                EngineScrape {
                    engine: "vrrp",
                    answer: Some(EngineMetrics {
                        vrrp: Some(vrrp),
                        checker: None,
                        bfd: None,
                    }),
                    restarts: 2,
                    watchdog_kills: 1,
                    query_failures: 0,
                },
                EngineScrape {
                    engine: "checker",
                    answer: Some(EngineMetrics {
                        vrrp: None,
                        checker: Some(checker),
                        bfd: None,
                    }),
                    ..Default::default()
                },
            ],
            reloads_applied: 3,
            reloads_refused: 1,
            last_reload: Some((1_700_000_100.0, false)),
            version: "0.1.0",
            features: "vrrp,lvs".into(),
        }
    }

    /// A page in two parts is one page: each family once, OpenMetrics' `# EOF` once, at the end.
    #[test]
    fn a_page_in_parts_is_one_page() {
        for openmetrics in [false, true] {
            let page = render_page(sample(), openmetrics);
            assert_eq!(page.parts().count(), 2);
            let text = page.into_string();
            for family in [
                "keepalived_up",
                "keepalived_vrrp_state",
                "keepalived_vrrp_maintenance",
            ] {
                let head = format!("# TYPE {family} gauge\n");
                assert_eq!(text.matches(&head).count(), 1, "{family}: {text}");
            }
            assert_eq!(text.matches("# EOF").count(), usize::from(openmetrics));
            assert!(!openmetrics || text.ends_with("\n# EOF\n"));
        }
    }

    #[test]
    fn the_exporters_names_labels_and_values() {
        let text = render(sample(), false);
        for line in [
            "# TYPE keepalived_up gauge",
            "keepalived_up 1",
            "# TYPE keepalived_vrrp_state gauge",
            "keepalived_vrrp_state{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\",ip_address=\"192.0.2.100\"} 2",
            "keepalived_vrrp_state{iname=\"VI_1\",intf=\"eth1\",vrid=\"51\",ip_address=\"192.0.2.101\"} 2",
            "keepalived_vrrp_excluded_state{iname=\"VI_1\",intf=\"eth1\",vrid=\"51\",ip_address=\"2001:db8::1\"} 2",
            "keepalived_vrrp_state{iname=\"VI_2\",intf=\"eth0\",vrid=\"7\",ip_address=\"\"} 0",
            "# TYPE keepalived_advertisements_received_total counter",
            "keepalived_advertisements_received_total{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\"} 1",
            "keepalived_become_master_total{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\"} 3",
            "keepalived_priority_zero_sent_total{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\"} 14",
            "keepalived_gratuitous_arp_delay_total{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\"} 5.0",
            "keepalived_script_status{name=\"chk\"} 0",
            "keepalived_script_state{name=\"chk\"} 1",
            "keepalived_vrrp_effective_priority{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\"} 90",
            "keepalived_vrrp_maintenance{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\"} 1",
            "keepalived_vrrp_maintenance{iname=\"VI_2\",intf=\"eth0\",vrid=\"7\"} 0",
            "keepalived_lvs_real_server_drained{virtual_server=\"[192.0.2.10]:tcp:80\",real_server=\"[198.51.100.1]:80\"} 0",
            "keepalived_vrrp_tracker_status{iname=\"VI_1\",kind=\"script\",name=\"chk\"} 0",
            "keepalived_vrrp_router_errors_total{intf=\"eth0\",family=\"ipv4\",reason=\"version\"} 3",
            "keepalived_vrrp_sync_group_state{group=\"G1\"} 1",
            "keepalived_engine_restarts_total{engine=\"vrrp\"} 2",
            "keepalived_watchdog_kills_total{engine=\"vrrp\"} 1",
            "keepalived_reloads_total{outcome=\"refused\"} 1",
            "keepalived_last_reload_success 0",
            "keepalived_lvs_real_server_up{virtual_server=\"[192.0.2.10]:tcp:80\",real_server=\"[198.51.100.1]:80\"} 1",
            "keepalived_lvs_check_failures_total{virtual_server=\"[192.0.2.10]:tcp:80\",real_server=\"[198.51.100.1]:80\",check=\"TCP_CHECK\",check_index=\"0\"} 2",
            "keepalived_lvs_virtual_server_real_servers_up{virtual_server=\"[192.0.2.10]:tcp:80\"} 1",
            "keepalived_lvs_check_duration_seconds_bucket{virtual_server=\"[192.0.2.10]:tcp:80\",real_server=\"[198.51.100.1]:80\",check=\"TCP_CHECK\",check_index=\"0\",le=\"0.01\"} 7",
            "keepalived_lvs_check_duration_seconds_bucket{virtual_server=\"[192.0.2.10]:tcp:80\",real_server=\"[198.51.100.1]:80\",check=\"TCP_CHECK\",check_index=\"0\",le=\"+Inf\"} 10",
            "keepalived_lvs_check_duration_seconds_count{virtual_server=\"[192.0.2.10]:tcp:80\",real_server=\"[198.51.100.1]:80\",check=\"TCP_CHECK\",check_index=\"0\"} 10",
            "keepalived_ipvs_service_connections_total{virtual_server=\"[192.0.2.10]:tcp:80\"} 7",
            "keepalived_ipvs_service_bytes_total{virtual_server=\"[192.0.2.10]:tcp:80\",direction=\"out\"} 6000",
            "keepalived_ipvs_destination_packets_total{virtual_server=\"[192.0.2.10]:tcp:80\",real_server=\"[198.51.100.1]:tcp:80\",direction=\"in\"} 50",
            "keepalived_ipvs_destination_active_connections{virtual_server=\"[192.0.2.10]:tcp:80\",real_server=\"[198.51.100.1]:tcp:80\"} 2",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line}\n{text}");
        }
        assert!(
            !text.contains("later"),
            "a script not run yet has no status"
        );
        assert!(!text.contains("# EOF"));
    }

    #[test]
    fn openmetrics_on_request_and_a_silent_engine_is_down() {
        let mut s = sample();
        s.engines[1].answer = None;
        s.engines[1].query_failures = 4;
        let text = render(s, true);
        assert!(text.ends_with("# EOF\n"), "{text}");
        assert!(text.contains("# TYPE keepalived_become_master counter\n"));
        assert!(text.contains("keepalived_up 0\n"));
        assert!(text.contains("keepalived_engine_up{engine=\"checker\"} 0\n"));
        assert!(text.contains("keepalived_metrics_query_failures_total{engine=\"checker\"} 4\n"));
        assert!(!text.contains("keepalived_lvs_"), "{text}");
    }
}
