//! What the VRRP engine's state dumps show: a [`VrrpSnapshot`] taken by the driver between two
//! events (it only copies, so the engine is not held up), and its three renderings, written by
//! [`crate::services::dump`] ([`Source`]): the data dump (SIGUSR1, `keepalived.data`), the statistics (SIGUSR2,
//! `keepalived.stats`) and the JSON dump (`keepalived.json`, keepalived's field names).

use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use keepalived_vrrp::{
    Engine, FaultCause, GlobalStats, InstanceStats, Instant, State, TrackKind, TrackerValue,
    timer::Timer,
};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

use super::link::Link;
use crate::plan::tracks::TrackPlan;
use crate::services::dump::{DumpKind, DumpPaths, DumpSource};

/// A request for a snapshot: the driver answers on the channel.
pub type SnapshotRequest = oneshot::Sender<VrrpSnapshot>;

/// The VRRP process's [`DumpSource`]: the data dump, the statistics and the JSON dump.
#[derive(Debug, Clone)]
pub struct Source(mpsc::UnboundedSender<SnapshotRequest>);

impl Source {
    /// Asks the driver listening on `tx`.
    pub fn new(tx: mpsc::UnboundedSender<SnapshotRequest>) -> Source {
        Source(tx)
    }
}

impl Source {
    /// A snapshot of the engine (`None` once the driver is gone).
    pub async fn snapshot(&self) -> Option<VrrpSnapshot> {
        let (reply, rx) = oneshot::channel();
        self.0.send(reply).ok()?;
        rx.await.ok()
    }
}

impl DumpSource for Source {
    async fn files(&self, kind: DumpKind, paths: &DumpPaths) -> Vec<(std::path::PathBuf, String)> {
        let (reply, rx) = oneshot::channel();
        if self.0.send(reply).is_err() {
            return Vec::new();
        }
        let Ok(snap) = rx.await else {
            return Vec::new();
        };
        let file = match kind {
            DumpKind::Data => (paths.data.clone(), snap.data_text()),
            DumpKind::Stats => (paths.stats.clone(), snap.stats_text()),
            DumpKind::Json => {
                let v = snap.json(paths.json_v2);
                let text = serde_json::to_string_pretty(&v).unwrap_or_default();
                (paths.json.clone(), text + "\n")
            }
        };
        vec![file]
    }
}

/// One tracked object of an instance.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackSnapshot {
    /// `interface`, `script`, `file` or `process`.
    pub kind: &'static str,
    /// Its name (interface name, `vrrp_script` name, ...).
    pub name: String,
    /// The weight the instance gives it.
    pub weight: i32,
    /// `reverse`.
    pub reverse: bool,
    /// The latest status (`None`: not reported yet).
    pub value: Option<TrackerValue>,
}

/// One instance as the dumps show it.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceSnapshot {
    /// `vrrp_instance` name.
    pub name: String,
    /// The interface adverts go out on.
    pub ifname: String,
    /// The VMAC interface, if any.
    pub vmac: Option<String>,
    /// 2 or 3.
    pub version: u8,
    /// IPv6 instance.
    pub ipv6: bool,
    /// `virtual_router_id`.
    pub vrid: u8,
    /// Current state.
    pub state: State,
    /// The configured `state` (MASTER or BACKUP).
    pub initial_master: bool,
    /// The configured priority.
    pub base_priority: u8,
    /// The priority after tracking.
    pub effective_priority: u8,
    /// The advert source.
    pub src_ip: IpAddr,
    /// The current master (ourselves when master).
    pub master: Option<IpAddr>,
    /// `advert_int`.
    pub adver_int: Duration,
    /// Master_Adver_Interval.
    pub master_adver_int: Duration,
    /// Skew_Time.
    pub skew_time: Duration,
    /// Master_Down_Interval.
    pub master_down_interval: Duration,
    /// Time left on the advert timer (master).
    pub adver_timer: Option<Duration>,
    /// Time left on the Master_Down_Timer (backup).
    pub master_down_timer: Option<Duration>,
    /// `preempt` (false: `nopreempt`).
    pub preempt: bool,
    /// `preempt_delay`.
    pub preempt_delay: Duration,
    /// Authentication type: 0 none, 1 password, 2 AH.
    pub auth_type: u8,
    /// `garp_master_delay` (zero: none), `garp_master_repeat`, `garp_master_refresh`,
    /// `garp_master_refresh_repeat`.
    pub garp: (Duration, u8, Duration, u8),
    /// Virtual addresses (`ADDR/LEN dev IF`).
    pub vips: Vec<String>,
    /// Tracked objects.
    pub tracks: Vec<TrackSnapshot>,
    /// Why it is in FAULT (empty otherwise).
    pub fault_causes: Vec<&'static str>,
    /// Its sync group.
    pub group: Option<String>,
    /// When it last changed state.
    pub last_transition: Option<SystemTime>,
    /// Whether it sends e-mail alerts.
    pub smtp_alert: bool,
    /// Its counters.
    pub stats: InstanceStats,
}

/// One sync group.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupSnapshot {
    /// Its name.
    pub name: String,
    /// Its state.
    pub state: State,
    /// Its members.
    pub members: Vec<String>,
}

/// Everything the VRRP dumps show.
#[derive(Debug, Clone, PartialEq)]
pub struct VrrpSnapshot {
    /// When it was taken.
    pub taken: SystemTime,
    /// The instances, link by link.
    pub instances: Vec<InstanceSnapshot>,
    /// The sync groups.
    pub groups: Vec<GroupSnapshot>,
    /// Per socket (interface and family): counters of adverts no instance could take.
    pub global: Vec<(String, GlobalStats)>,
}

/// What the snapshot needs beside the engine and the links.
pub struct Context<'a> {
    /// The tracked objects.
    pub tracks: &'a TrackPlan,
    /// The engine's now.
    pub now: Instant,
    /// When each instance last changed state, by name.
    pub last_transition: &'a dyn Fn(&str) -> Option<SystemTime>,
    /// Whether an instance sends e-mail alerts, by name.
    pub smtp_alert: &'a dyn Fn(&str) -> bool,
}

fn left(at: Option<Instant>, now: Instant) -> Option<Duration> {
    at.map(|at| at.since_epoch().saturating_sub(now.since_epoch()))
}

pub(super) fn track_name(
    tracks: &TrackPlan,
    kind: TrackKind,
    id: keepalived_vrrp::TrackerId,
) -> String {
    let found = match kind {
        TrackKind::Interface => tracks
            .interfaces
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, n)| n.clone()),
        TrackKind::Script => tracks
            .scripts
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, s)| s.name.clone()),
        TrackKind::File => tracks
            .files
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, f)| f.name.clone()),
        TrackKind::Process => tracks
            .processes
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, p)| p.name.clone()),
        TrackKind::Bfd => tracks
            .bfds
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, n)| n.clone()),
    };
    found.unwrap_or_else(|| format!("#{}", id.0))
}

pub(super) fn kind_word(kind: TrackKind) -> &'static str {
    match kind {
        TrackKind::Interface => "interface",
        TrackKind::Script => "script",
        TrackKind::File => "file",
        TrackKind::Process => "process",
        TrackKind::Bfd => "bfd",
    }
}

/// Copies what the dumps show out of the engine.
pub fn take(engine: &Engine, links: &[Link], cx: &Context<'_>) -> VrrpSnapshot {
    let mut instances = Vec::new();
    let mut global = Vec::new();
    for r in engine.instance_refs() {
        let (Some(inst), Some(link)) = (engine.instance(r), links.get(r.link)) else {
            continue;
        };
        let Some(plan) = link.plans.get(r.id) else {
            continue;
        };
        let cfg = inst.config();
        let tracks = cx
            .tracks
            .instances
            .get(&cfg.name)
            .map(|list| {
                list.iter()
                    .map(|t| TrackSnapshot {
                        kind: kind_word(t.kind),
                        name: track_name(cx.tracks, t.kind, t.id),
                        weight: t.weight,
                        reverse: t.reverse,
                        value: engine.tracker_value(t.id),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let faults = inst.fault_causes();
        let fault_causes = [
            (FaultCause::Interface, "interface down"),
            (FaultCause::Tracker, "tracked object failed"),
            (FaultCause::SyncGroup, "sync group member in fault"),
        ]
        .into_iter()
        .filter(|(c, _)| faults.contains(*c))
        .map(|(_, w)| w)
        .collect();
        instances.push(InstanceSnapshot {
            name: cfg.name.clone(),
            ifname: plan.ifname.clone(),
            vmac: plan.vmac.as_ref().map(|v| v.spec.name.clone()),
            version: match cfg.version {
                keepalived_vrrp::Version::V2 => 2,
                keepalived_vrrp::Version::V3 => 3,
            },
            ipv6: cfg.primary_addr.is_ipv6(),
            vrid: cfg.vrid,
            state: inst.state(),
            initial_master: cfg.initial_state == keepalived_vrrp::InitialState::Master,
            base_priority: cfg.priority,
            effective_priority: inst.priority(),
            src_ip: cfg.primary_addr,
            master: inst.master_addr(),
            adver_int: cfg.adver_int.as_duration(),
            master_adver_int: inst.master_adver_int().as_duration(),
            skew_time: inst.skew_time(),
            master_down_interval: inst.master_down_interval(),
            adver_timer: left(inst.timer(Timer::Adver), cx.now),
            master_down_timer: left(inst.timer(Timer::MasterDown), cx.now),
            preempt: cfg.preempt,
            preempt_delay: cfg.preempt_delay,
            auth_type: match cfg.auth {
                keepalived_vrrp::Auth::None => 0,
                keepalived_vrrp::Auth::Simple(_) => 1,
                keepalived_vrrp::Auth::IpAh => 2,
            },
            garp: (
                cfg.garp.master_delay.unwrap_or_default(),
                cfg.garp.master_repeat,
                cfg.garp.master_refresh.unwrap_or_default(),
                cfg.garp.master_refresh_repeat,
            ),
            vips: plan.vips.iter().map(ToString::to_string).collect(),
            tracks,
            fault_causes,
            group: engine
                .group_of(r)
                .and_then(|g| engine.group_name(g))
                .map(str::to_owned),
            last_transition: (cx.last_transition)(&cfg.name),
            smtp_alert: (cx.smtp_alert)(&cfg.name),
            stats: *inst.stats(),
        });
    }
    for (l, link) in links.iter().enumerate() {
        if let Some(router) = engine.router(l) {
            let family = if link.key.src.is_ipv6() {
                "IPv6"
            } else {
                "IPv4"
            };
            global.push((format!("{} {family}", link.key.ifname), *router.stats()));
        }
    }
    let groups = (0..engine.groups())
        .map(keepalived_vrrp::GroupId)
        .filter_map(|g| {
            let members = engine
                .group_members(g)?
                .iter()
                .filter_map(|r| engine.instance(*r).map(|i| i.config().name.clone()))
                .collect();
            Some(GroupSnapshot {
                name: engine.group_name(g)?.to_owned(),
                state: engine.group_state(g)?,
                members,
            })
        })
        .collect();
    VrrpSnapshot {
        taken: SystemTime::now(),
        instances,
        groups,
        global,
    }
}

/// keepalived's number for a state in the JSON dump.
pub(super) fn state_number(state: State) -> u8 {
    match state {
        State::Initialize => 0,
        State::Backup => 1,
        State::Master => 2,
        State::Fault => 3,
        State::Stop => 98,
    }
}

fn unix_secs(t: SystemTime) -> f64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn value_word(v: Option<TrackerValue>) -> String {
    match v {
        None => "INIT".to_owned(),
        Some(TrackerValue::Up) => "UP".to_owned(),
        Some(TrackerValue::Down) => "DOWN".to_owned(),
        Some(TrackerValue::Value(n)) => format!("value {n}"),
    }
}

fn ms(d: Duration) -> String {
    format!("{} ms", d.as_millis())
}

impl VrrpSnapshot {
    /// The data dump (SIGUSR1), in the layout of keepalived's `keepalived.data`.
    pub fn data_text(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(o, "------< VRRP Topology >------");
        for i in &self.instances {
            let _ = writeln!(o, " VRRP Instance = {}", i.name);
            let _ = writeln!(o, "   VRRP Version = {}", i.version);
            if i.ipv6 {
                let _ = writeln!(o, "   Using Native IPv6");
            }
            let _ = writeln!(o, "   State = {}", i.state);
            if let Some(m) = i.master {
                let _ = writeln!(o, "   Master router = {m}");
            }
            if let Some(t) = i.last_transition {
                let _ = writeln!(o, "   Last transition = {:.6}", unix_secs(t));
            }
            let _ = writeln!(
                o,
                "   Wanted State = {}",
                if i.initial_master { "MASTER" } else { "BACKUP" }
            );
            let _ = writeln!(o, "   Interface = {}", i.ifname);
            if let Some(v) = &i.vmac {
                let _ = writeln!(o, "   Use VMAC, i/f {v}");
            }
            let _ = writeln!(o, "   Using src_ip = {}", i.src_ip);
            let _ = writeln!(o, "   Virtual Router ID = {}", i.vrid);
            let _ = writeln!(o, "   Priority = {}", i.base_priority);
            let _ = writeln!(o, "   Effective priority = {}", i.effective_priority);
            let _ = writeln!(o, "   Advert interval = {}", ms(i.adver_int));
            let _ = writeln!(o, "   Master advert interval = {}", ms(i.master_adver_int));
            let _ = writeln!(o, "   Skew time = {}", ms(i.skew_time));
            let _ = writeln!(
                o,
                "   Master down interval = {}",
                ms(i.master_down_interval)
            );
            if let Some(t) = i.adver_timer {
                let _ = writeln!(o, "   Advert timer due in = {}", ms(t));
            }
            if let Some(t) = i.master_down_timer {
                let _ = writeln!(o, "   Master down timer due in = {}", ms(t));
            }
            let _ = writeln!(
                o,
                "   Preempt = {}",
                if i.preempt { "enabled" } else { "disabled" }
            );
            if !i.preempt_delay.is_zero() {
                let _ = writeln!(
                    o,
                    "   Preempt delay = {} secs",
                    i.preempt_delay.as_secs_f64()
                );
            }
            let auth = match i.auth_type {
                0 => "none",
                1 => "SIMPLE_PASSWORD",
                _ => "IPSEC_AH",
            };
            let _ = writeln!(o, "   Authentication type = {auth}");
            let (delay, rep, refresh, refresh_rep) = i.garp;
            let _ = writeln!(o, "   Gratuitous ARP delay = {}", delay.as_secs());
            let _ = writeln!(o, "   Gratuitous ARP repeat = {rep}");
            let _ = writeln!(o, "   Gratuitous ARP refresh = {}", refresh.as_secs());
            let _ = writeln!(o, "   Gratuitous ARP refresh repeat = {refresh_rep}");
            if let Some(g) = &i.group {
                let _ = writeln!(o, "   Sync group = {g}");
            }
            if !i.fault_causes.is_empty() {
                let _ = writeln!(o, "   Fault causes = {}", i.fault_causes.join(", "));
            }
            if !i.tracks.is_empty() {
                let _ = writeln!(o, "   Tracked objects = {}", i.tracks.len());
                for t in &i.tracks {
                    let _ = writeln!(
                        o,
                        "     {} {} weight {}{} status {}",
                        t.kind,
                        t.name,
                        t.weight,
                        if t.reverse { " reverse" } else { "" },
                        value_word(t.value)
                    );
                }
            }
            let _ = writeln!(o, "   Virtual IP = {}", i.vips.len());
            for v in &i.vips {
                let _ = writeln!(o, "     {v}");
            }
            if i.smtp_alert {
                let _ = writeln!(o, "   Using smtp notification");
            }
        }
        if !self.groups.is_empty() {
            let _ = writeln!(o, "------< VRRP Sync groups >------");
            for g in &self.groups {
                let _ = writeln!(o, " VRRP Sync Group = {}, {}", g.name, g.state);
                for m in &g.members {
                    let _ = writeln!(o, "   monitor = {m}");
                }
            }
        }
        o
    }

    /// The statistics (SIGUSR2), in the layout of keepalived's `keepalived.stats`.
    pub fn stats_text(&self) -> String {
        let mut o = String::new();
        for i in &self.instances {
            let s = &i.stats;
            let _ = writeln!(o, "VRRP Instance: {}", i.name);
            let _ = writeln!(o, "  Advertisements:");
            let _ = writeln!(o, "    Received: {}", s.advert_rcvd);
            let _ = writeln!(o, "    Sent: {}", s.advert_sent);
            let _ = writeln!(o, "  Became master: {}", s.become_master);
            let _ = writeln!(o, "  Released master: {}", s.release_master);
            let _ = writeln!(o, "  Packet Errors:");
            let _ = writeln!(o, "    Length: {}", s.packet_length_errors);
            let _ = writeln!(o, "    TTL: {}", s.ip_ttl_errors);
            let _ = writeln!(o, "    Invalid Type: {}", s.invalid_type_rcvd);
            let _ = writeln!(o, "    Advertisement Interval: {}", s.adver_interval_errors);
            let _ = writeln!(o, "    Address List: {}", s.addr_list_errors);
            let _ = writeln!(o, "  Authentication Errors:");
            let _ = writeln!(o, "    Invalid Type: {}", s.invalid_authtype);
            let _ = writeln!(o, "    Type Mismatch: {}", s.authtype_mismatch);
            let _ = writeln!(o, "    Failure: {}", s.auth_failures);
            let _ = writeln!(o, "  Priority Zero:");
            let _ = writeln!(o, "    Received: {}", s.pri_zero_rcvd);
            let _ = writeln!(o, "    Sent: {}", s.pri_zero_sent);
        }
        for (name, g) in &self.global {
            let _ = writeln!(o, "Interface: {name}");
            let _ = writeln!(o, "  Checksum Errors: {}", g.checksum_errors);
            let _ = writeln!(o, "  Version Errors: {}", g.version_errors);
            let _ = writeln!(o, "  VRID Errors: {}", g.vrid_errors);
            let _ = writeln!(o, "  Truncated: {}", g.truncated);
            let _ = writeln!(o, "  IP Errors: {}", g.ip_errors);
        }
        o
    }

    /// The JSON dump: keepalived's array of `{"data": {...}, "stats": {...}}` (with
    /// `json_version 2`, that array under `"vrrp"` in an object).
    pub fn json(&self, version2: bool) -> Value {
        let list: Vec<Value> = self.instances.iter().map(instance_json).collect();
        if version2 {
            json!({ "vrrp": list })
        } else {
            Value::Array(list)
        }
    }
}

fn instance_json(i: &InstanceSnapshot) -> Value {
    let s = &i.stats;
    let tracked = |kind: &str| -> Vec<Value> {
        i.tracks
            .iter()
            .filter(|t| t.kind == kind)
            .map(|t| Value::String(t.name.clone()))
            .collect()
    };
    let (delay, rep, refresh, refresh_rep) = i.garp;
    let mut data = json!({
        "iname": i.name,
        "ifp_ifname": i.ifname,
        "master_priority": if i.state == State::Master { i.effective_priority } else { 0 },
        "last_transition": i.last_transition.map_or(0.0, unix_secs),
        "garp_delay": delay.as_secs_f64(),
        "garp_refresh": refresh.as_secs(),
        "garp_rep": rep,
        "garp_refresh_rep": refresh_rep,
        "vrid": i.vrid,
        "base_priority": i.base_priority,
        "effective_priority": i.effective_priority,
        "vipset": i.state == State::Master,
        "adver_int": i.adver_int.as_secs_f64(),
        "master_adver_int": i.master_adver_int.as_secs_f64(),
        "nopreempt": !i.preempt,
        "preempt_delay": i.preempt_delay.as_secs(),
        "state": state_number(i.state),
        "wantstate": if i.initial_master { 2 } else { 1 },
        "version": i.version,
        "smtp_alert": i.smtp_alert,
        "vips": i.vips,
        "auth_type": i.auth_type,
    });
    if let Some(obj) = data.as_object_mut() {
        if let Some(v) = &i.vmac {
            obj.insert("vmac_ifname".into(), json!(v));
        }
        if let Some(m) = i.master {
            obj.insert("master_ip".into(), json!(m.to_string()));
        }
        for (key, kind) in [
            ("track_ifp", "interface"),
            ("track_script", "script"),
            ("track_file", "file"),
            ("track_process", "process"),
        ] {
            let names = tracked(kind);
            if !names.is_empty() {
                obj.insert(key.into(), Value::Array(names));
            }
        }
    }
    json!({
        "data": data,
        "stats": {
            "advert_rcvd": s.advert_rcvd,
            "advert_sent": s.advert_sent,
            "become_master": s.become_master,
            "release_master": s.release_master,
            "packet_len_err": s.packet_length_errors,
            "advert_interval_err": s.adver_interval_errors,
            "ip_ttl_err": s.ip_ttl_errors,
            "invalid_type_rcvd": s.invalid_type_rcvd,
            "addr_list_err": s.addr_list_errors,
            "invalid_authtype": s.invalid_authtype,
            "authtype_mismatch": s.authtype_mismatch,
            "auth_failure": s.auth_failures,
            "pri_zero_rcvd": s.pri_zero_rcvd,
            "pri_zero_sent": s.pri_zero_sent,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> VrrpSnapshot {
        let stats = InstanceStats {
            advert_rcvd: 7,
            advert_sent: 3,
            become_master: 1,
            ..InstanceStats::default()
        };
        VrrpSnapshot {
            taken: SystemTime::UNIX_EPOCH,
            instances: vec![InstanceSnapshot {
                name: "VI_1".into(),
                ifname: "eth0".into(),
                vmac: None,
                version: 3,
                ipv6: false,
                vrid: 51,
                state: State::Master,
                initial_master: false,
                base_priority: 150,
                effective_priority: 140,
                src_ip: "192.0.2.1".parse().unwrap(),
                master: Some("192.0.2.1".parse().unwrap()),
                adver_int: Duration::from_secs(1),
                master_adver_int: Duration::from_secs(1),
                skew_time: Duration::from_millis(414),
                master_down_interval: Duration::from_millis(3414),
                adver_timer: Some(Duration::from_millis(500)),
                master_down_timer: None,
                preempt: true,
                preempt_delay: Duration::ZERO,
                auth_type: 0,
                garp: (Duration::from_secs(5), 5, Duration::ZERO, 1),
                vips: vec!["192.0.2.100/32 dev eth0".into()],
                tracks: vec![TrackSnapshot {
                    kind: "script",
                    name: "chk".into(),
                    weight: -10,
                    reverse: false,
                    value: Some(TrackerValue::Down),
                }],
                fault_causes: Vec::new(),
                group: None,
                last_transition: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(10)),
                smtp_alert: true,
                stats,
            }],
            groups: vec![GroupSnapshot {
                name: "G".into(),
                state: State::Master,
                members: vec!["VI_1".into()],
            }],
            global: vec![("eth0 IPv4".into(), GlobalStats::default())],
        }
    }

    #[test]
    fn data_dump_shows_state_priorities_vips_and_trackers() {
        let t = sample().data_text();
        for needle in [
            " VRRP Instance = VI_1\n",
            "   State = MASTER\n",
            "   Priority = 150\n",
            "   Effective priority = 140\n",
            "   Master router = 192.0.2.1\n",
            "     192.0.2.100/32 dev eth0\n",
            "     script chk weight -10 status DOWN\n",
            "   Advert timer due in = 500 ms\n",
            " VRRP Sync Group = G, MASTER\n",
            "   Using smtp notification\n",
        ] {
            assert!(t.contains(needle), "{needle:?} missing in\n{t}");
        }
    }

    #[test]
    fn stats_use_keepalived_layout() {
        let t = sample().stats_text();
        assert!(t.starts_with("VRRP Instance: VI_1\n  Advertisements:\n    Received: 7\n    Sent: 3\n  Became master: 1\n"), "{t}");
        assert!(
            t.contains("Interface: eth0 IPv4\n  Checksum Errors: 0\n"),
            "{t}"
        );
    }

    #[test]
    fn json_has_keepalived_fields() {
        let v = sample().json(false);
        assert_eq!(v[0]["data"]["iname"], "VI_1");
        assert_eq!(v[0]["data"]["state"], 2);
        assert_eq!(v[0]["data"]["base_priority"], 150);
        assert_eq!(v[0]["data"]["effective_priority"], 140);
        assert_eq!(v[0]["data"]["track_script"][0], "chk");
        assert_eq!(v[0]["stats"]["advert_rcvd"], 7);
        assert_eq!(v[0]["stats"]["packet_len_err"], 0);
        let v2 = sample().json(true);
        assert_eq!(v2["vrrp"][0]["data"]["vrid"], 51);
    }
}
