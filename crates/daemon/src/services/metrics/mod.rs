//! The Prometheus metrics: what each engine reports ([`EngineMetrics`], sent in postcard's
//! compact binary form over its heartbeat connection in answer to a `QUERY n metrics`: the
//! parent and its engines are one binary, and a 4,000-instance answer parses in a fraction of
//! the time its JSON took), their rendering in the Prometheus
//! text and OpenMetrics formats ([`render`]) and the parent's HTTP endpoint ([`http`]).
//!
//! The engines only copy numbers they already keep (between two events, like the dumps); the
//! parent asks each engine at each scrape, waits [`ENGINE_TIMEOUT`] at most for each, and
//! renders what came back. An engine that is busy, hung or restarting costs a scrape its
//! numbers (`keepalived_engine_up{engine} 0`), never its answer.

pub mod bfd;
pub mod http;
mod instances;
pub mod render;

use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How long a scrape waits for one engine's numbers.
pub const ENGINE_TIMEOUT: Duration = Duration::from_secs(2);

/// What one engine reports.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EngineMetrics {
    /// The VRRP engine's numbers.
    pub vrrp: Option<VrrpMetrics>,
    /// The checker engine's numbers.
    pub checker: Option<CheckerMetrics>,
    /// The BFD process's numbers (absent from older engines' answers).
    #[serde(default)]
    pub bfd: Option<bfd::BfdMetrics>,
}

impl EngineMetrics {
    /// The bytes of an engine's answer.
    pub fn to_wire(&self) -> Vec<u8> {
        postcard::to_stdvec(self).unwrap_or_default()
    }

    /// Reads an engine's answer back; `None` for bytes that are not one.
    pub fn from_wire(bytes: &[u8]) -> Option<EngineMetrics> {
        postcard::from_bytes(bytes).ok()
    }
}

/// The VRRP engine's numbers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VrrpMetrics {
    /// Every instance.
    pub instances: Vec<InstanceMetrics>,
    /// Every `vrrp_script` an instance tracks: its name and whether it succeeds (`None`: not
    /// run yet).
    pub scripts: Vec<(String, Option<bool>)>,
    /// Per receiving socket (interface and family): the errors of adverts no instance took.
    pub sockets: Vec<SocketMetrics>,
    /// Every sync group: its name and state (keepalived's numbers).
    pub groups: Vec<(String, u8)>,
    /// Every tracked `vrrp_script`: its name and whether it is running now.
    #[serde(default)]
    pub script_states: Vec<(String, bool)>,
}

/// One VRRP instance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InstanceMetrics {
    /// `vrrp_instance` name.
    pub name: String,
    /// The interface its adverts go out on.
    pub intf: String,
    /// `virtual_router_id`.
    pub vrid: u8,
    /// keepalived's state number: 0 init, 1 backup, 2 master, 3 fault.
    pub state: u8,
    /// Its virtual addresses: the bare address and the interface it goes on.
    pub vips: Vec<(IpAddr, String)>,
    /// The same for the addresses it installs but does not advertise
    /// (`virtual_ipaddress_excluded`, and addresses of the other family).
    pub excluded: Vec<(IpAddr, String)>,
    /// The configured priority.
    pub base_priority: u8,
    /// The priority after tracking.
    pub effective_priority: u8,
    /// When it last changed state (seconds since the Unix epoch).
    pub last_transition: Option<f64>,
    /// `garp_master_delay` in seconds.
    pub garp_delay: f64,
    /// Its counters, in the order of [`INSTANCE_COUNTERS`].
    pub counters: Vec<u64>,
    /// Its tracked objects.
    pub tracks: Vec<TrackMetrics>,
    /// The master it hears as backup (itself as master).
    #[serde(default)]
    pub master_address: Option<IpAddr>,
    /// In maintenance (`keepalived-ctl vrrp NAME maintenance on`).
    #[serde(default)]
    pub maintenance: bool,
}

/// One tracked object of an instance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrackMetrics {
    /// `interface`, `script`, `file` or `process`.
    pub kind: String,
    /// Its name.
    pub name: String,
    /// 1 up, 0 down (a `track_file`: the value it holds); `None`: not reported yet.
    pub value: Option<i64>,
}

/// The errors counted for a receiving socket rather than an instance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SocketMetrics {
    /// Its interface.
    pub intf: String,
    /// `ipv4` or `ipv6`.
    pub family: String,
    /// Its counters, in the order of [`SOCKET_COUNTERS`].
    pub counters: Vec<u64>,
}

/// The checker engine's numbers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CheckerMetrics {
    /// Every virtual server.
    pub virtual_servers: Vec<VirtualServerMetrics>,
    /// The kernel's IPVS services and their counters (empty without IPVS).
    pub ipvs: Vec<IpvsServiceMetrics>,
}

/// An IPVS service as the kernel counts it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IpvsServiceMetrics {
    /// `[ADDR]:tcp:PORT` or `FWM N`, as the data dump names virtual servers.
    pub name: String,
    /// Connections, packets in, packets out, bytes in, bytes out ([`IPVS_COUNTERS`]).
    pub counters: Vec<u64>,
    /// Its destinations.
    pub dests: Vec<IpvsDestMetrics>,
}

/// An IPVS destination as the kernel counts it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IpvsDestMetrics {
    /// `[ADDR]:tcp:PORT`, as the data dump names real servers.
    pub name: String,
    /// As [`IpvsServiceMetrics::counters`].
    pub counters: Vec<u64>,
    /// Active and inactive connections now.
    pub active: u64,
    /// See `active`.
    pub inactive: u64,
}

/// The kernel's IPVS counters of a service or destination, in the order the metrics hold them:
/// the metric name (without `_total`), the `direction` label (none for connections), help.
pub const IPVS_COUNTERS: &[(&str, Option<&str>)] = &[
    ("connections", None),
    ("packets", Some("in")),
    ("packets", Some("out")),
    ("bytes", Some("in")),
    ("bytes", Some("out")),
];

/// One virtual server.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VirtualServerMetrics {
    /// Its name as the dumps show it (`[ADDR]:tcp:PORT`, `FWM N`, `group NAME`).
    pub name: String,
    /// `quorum`.
    pub quorum: u32,
    /// Real servers up.
    pub up: u64,
    /// Sum of the weights of the real servers up.
    pub up_weight: u64,
    /// Its real servers.
    pub servers: Vec<RealServerMetrics>,
}

/// One real server.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RealServerMetrics {
    /// Its name as the dumps show it (`[ADDR]:PORT`).
    pub name: String,
    /// Its address.
    #[serde(default)]
    pub address: String,
    /// Its port.
    #[serde(default)]
    pub port: u16,
    /// Whether it is up (in the balancer).
    pub up: bool,
    /// Its current weight (0 while drained).
    pub weight: u32,
    /// Drained (`keepalived-ctl rs drain`).
    #[serde(default)]
    pub drained: bool,
    /// Its checks.
    pub checks: Vec<CheckMetrics>,
}

/// One check of a real server.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CheckMetrics {
    /// Its type (`TCP_CHECK`, `HTTP_GET`, ...).
    pub kind: String,
    /// Its last verdict (`None`: not run yet).
    pub verdict: Option<bool>,
    /// Runs so far.
    pub runs: u64,
    /// Failed runs so far.
    pub failures: u64,
    /// How long its attempts took (since the last reload).
    pub latency: Option<LatencyMetrics>,
    /// When its last result came (seconds since the Unix epoch).
    #[serde(default)]
    pub last_run: Option<f64>,
}

/// The upper bounds of the check latency histogram's buckets, in seconds.
pub const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A latency histogram: attempts per bucket of [`LATENCY_BUCKETS`] (not cumulative; slower
/// ones only in `count`), their number and their total time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatencyMetrics {
    /// Attempts per bucket.
    pub buckets: Vec<u64>,
    /// All attempts.
    pub count: u64,
    /// Their total time, nanoseconds.
    pub sum_ns: u64,
}

/// A counter's metric name (without `_total`) and help.
pub type CounterName = (&'static str, &'static str);

/// The counters of an instance, as [`InstanceMetrics::counters`] holds them: the names and
/// order of mehdy/keepalived-exporter, then keepalived-rs's own.
pub const INSTANCE_COUNTERS: &[CounterName] = &[
    (
        "keepalived_advertisements_received",
        "Advertisements received",
    ),
    ("keepalived_advertisements_sent", "Advertisements sent"),
    ("keepalived_become_master", "Became master"),
    ("keepalived_release_master", "Released master"),
    ("keepalived_packet_length_errors", "Packet length errors"),
    (
        "keepalived_advertisements_interval_errors",
        "Advertisement interval errors",
    ),
    ("keepalived_ip_ttl_errors", "TTL errors"),
    ("keepalived_invalid_type_received", "Invalid type errors"),
    ("keepalived_address_list_errors", "Address list errors"),
    (
        "keepalived_authentication_invalid",
        "Authentication invalid",
    ),
    (
        "keepalived_authentication_mismatch",
        "Authentication mismatch",
    ),
    (
        "keepalived_authentication_failure",
        "Authentication failure",
    ),
    (
        "keepalived_priority_zero_received",
        "Priority zero received",
    ),
    ("keepalived_priority_zero_sent", "Priority zero sent"),
];

/// The counters of a receiving socket (RFC 6527 `vrrpRouter*Errors` and keepalived-rs's own),
/// as [`SocketMetrics::counters`] holds them: the `reason` label of
/// `keepalived_vrrp_router_errors_total`.
pub const SOCKET_COUNTERS: &[&str] = &["checksum", "version", "vrid", "truncated", "ip_header"];
