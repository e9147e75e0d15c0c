//! Golden scenarios: each directory under `tests/scenarios/` drives one instance (through a
//! [`Router`], so the demultiplexer, the codec and the global counters run too) with raw advert
//! bytes, timeouts and events, and compares the actions drained after each input with
//! `expected.jsonl` and the final counters with `stats.json`.
//!
//! Files of a scenario:
//! * `description.txt`: what it checks and why the expected output is right (RFC sections).
//! * `config.json`: every [`InstanceConfig`] field (see [`ConfigFile`]).
//! * `input.jsonl`: one input per line, at non-decreasing `at_ms` (may be fractional):
//!   `{"at_ms":0,"start":true}`, `{"at_ms":3609.375,"timeout":true}`,
//!   `{"at_ms":1000,"rx":{"src":"192.0.2.2","dst":"224.0.0.18","ttl":255,"hex":"2133..."}}`,
//!   `{"at_ms":5,"event":"shutdown"|"interface_down"|"interface_up"|{"priority":90}}`; an optional
//!   `"note"` is ignored. An input may not come after a pending deadline (the runner says which
//!   timeout line to insert), so the goldens show every timer firing.
//! * `expected.jsonl`: per input, `{"at_ms":..,"actions":[..],"next_timeout_ms":..}` plus
//!   `"dropped"` when a received message was dropped (the counter and the reason).
//! * `stats.json`: the final state and the instance and global counters.
//!
//! `KEEPALIVED_UPDATE_GOLDEN=1 cargo test -p keepalived-vrrp --test scenarios` rewrites
//! `expected.jsonl`, `stats.json` and the fuzz seeds derived from the scenarios
//! (`fuzz/seeds/vrrp_parse/`, `fuzz/seeds/vrrp_instance/`); review the diff.

#![allow(
    clippy::disallowed_methods,
    reason = "a golden-file runner: reads the scenario files (and rewrites them on request)"
)]

mod fuzzing;

use core::net::IpAddr;
use core::time::Duration;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use fuzzing::{Checker, Input, MCAST_V4, MCAST_V6, ScenarioInput};
use keepalived_vrrp::{
    Action, AddrList, Auth, Centisecs, ChecksumCaps, Event, GarpConfig, InitialState, Instance,
    InstanceConfig, Instant, Repr, Router, RxMeta, Version,
};
use serde::Deserialize;
use serde_json::Value;

/// `config.json`: every field of [`InstanceConfig`], spelled out so a golden never depends on a
/// default.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    name: String,
    vrid: u8,
    version: u8,
    priority: u8,
    adver_int_cs: u16,
    primary_addr: IpAddr,
    vips: Vec<IpAddr>,
    /// `auth_pass` (v2 simple password) or null.
    auth_pass: Option<String>,
    preempt: bool,
    preempt_delay_ms: u64,
    /// "BACKUP" or "MASTER".
    initial_state: String,
    down_timer_adverts: u8,
    check_ttl: bool,
    strict_addr_check: bool,
    checksum: ChecksumFile,
    garp: GarpFile,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChecksumFile {
    verify: bool,
    v3_checksum_as_v2: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GarpFile {
    master_delay_ms: Option<u64>,
    master_repeat: u8,
    master_refresh_ms: Option<u64>,
    master_refresh_repeat: u8,
}

impl ConfigFile {
    fn build(&self) -> Result<InstanceConfig, String> {
        let version = match self.version {
            2 => Version::V2,
            3 => Version::V3,
            v => return Err(format!("version {v}")),
        };
        let vips = if self.primary_addr.is_ipv4() {
            AddrList::V4(
                self.vips
                    .iter()
                    .map(|a| match a {
                        IpAddr::V4(a) => Ok(*a),
                        IpAddr::V6(_) => Err(format!("{a} in an IPv4 instance")),
                    })
                    .collect::<Result<_, _>>()?,
            )
        } else {
            AddrList::V6(
                self.vips
                    .iter()
                    .map(|a| match a {
                        IpAddr::V6(a) => Ok(*a),
                        IpAddr::V4(_) => Err(format!("{a} in an IPv6 instance")),
                    })
                    .collect::<Result<_, _>>()?,
            )
        };
        let mut c = InstanceConfig::new(&self.name, self.vrid, version, self.primary_addr, vips);
        c.priority = self.priority;
        c.adver_int = Centisecs(self.adver_int_cs);
        c.auth = self
            .auth_pass
            .as_ref()
            .map_or(Auth::None, |p| Auth::simple(p.as_bytes()));
        c.preempt = self.preempt;
        c.preempt_delay = Duration::from_millis(self.preempt_delay_ms);
        c.initial_state = match self.initial_state.as_str() {
            "BACKUP" => InitialState::Backup,
            "MASTER" => InitialState::Master,
            s => return Err(format!("initial_state {s:?}")),
        };
        c.down_timer_adverts = self.down_timer_adverts;
        c.check_ttl = self.check_ttl;
        c.strict_addr_check = self.strict_addr_check;
        c.checksum = ChecksumCaps {
            verify: self.checksum.verify,
            v3_checksum_as_v2: self.checksum.v3_checksum_as_v2,
        };
        c.garp = GarpConfig {
            master_delay: self.garp.master_delay_ms.map(Duration::from_millis),
            master_repeat: self.garp.master_repeat,
            master_refresh: self.garp.master_refresh_ms.map(Duration::from_millis),
            master_refresh_repeat: self.garp.master_refresh_repeat,
        };
        Ok(c)
    }
}

/// One line of `input.jsonl`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InputLine {
    at_ms: f64,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    start: bool,
    #[serde(default)]
    timeout: bool,
    #[serde(default)]
    rx: Option<RxFile>,
    #[serde(default)]
    event: Option<EventFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RxFile {
    src: IpAddr,
    dst: IpAddr,
    ttl: u8,
    hex: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum EventFile {
    Name(String),
    Priority { priority: u8 },
}

fn decode_hex(s: &str) -> Result<Vec<u8>, String> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    if !s.len().is_multiple_of(2) {
        return Err(format!("odd-length hex {s:?}"));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(|e| format!("hex {s:?}: {e}")))
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn parse_input(line: &str) -> Result<(Instant, ScenarioInput), String> {
    let l: InputLine = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let _ = l.note;
    if !(l.at_ms >= 0.0 && l.at_ms.is_finite()) {
        return Err(format!("at_ms {}", l.at_ms));
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let at = Instant::from_nanos((l.at_ms * 1e6).round() as u64);
    let mut inputs = Vec::new();
    if l.start {
        inputs.push(ScenarioInput::Start);
    }
    if l.timeout {
        inputs.push(ScenarioInput::Timeout);
    }
    if let Some(rx) = l.rx {
        inputs.push(ScenarioInput::Rx {
            src: rx.src,
            dst: rx.dst,
            ttl: rx.ttl,
            bytes: decode_hex(&rx.hex)?,
        });
    }
    if let Some(ev) = l.event {
        inputs.push(ScenarioInput::Event(match ev {
            EventFile::Priority { priority } => Event::PriorityChanged(priority),
            EventFile::Name(n) => match n.as_str() {
                "shutdown" => Event::Shutdown,
                "interface_down" => Event::InterfaceDown,
                "interface_up" => Event::InterfaceUp,
                _ => return Err(format!("unknown event {n:?}")),
            },
        }));
    }
    match inputs.len() {
        1 => Ok((at, inputs.remove(0))),
        n => Err(format!(
            "{n} inputs on one line (start, timeout, rx, event: one of them)"
        )),
    }
}

/// Milliseconds as JSON: an integer when whole, else the shortest exact decimal.
fn ms_json(t: Instant) -> String {
    let nanos = t.as_nanos();
    if nanos.is_multiple_of(1_000_000) {
        (nanos / 1_000_000).to_string()
    } else {
        #[allow(clippy::cast_precision_loss)]
        let ms = nanos as f64 / 1e6;
        ms.to_string()
    }
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

fn action_json(a: &Action, cfg: &InstanceConfig) -> String {
    match a {
        Action::SendAdvert { repr, checksum, .. } => {
            let dst: IpAddr = match cfg.primary_addr {
                IpAddr::V4(_) => MCAST_V4.into(),
                IpAddr::V6(_) => MCAST_V6.into(),
            };
            let bytes = repr
                .to_bytes(cfg.primary_addr, dst, *checksum)
                .map_or_else(|e| format!("emit error: {e}"), |b| hex(&b));
            format!(
                "{{\"send_advert\":{{\"priority\":{},\"hex\":\"{bytes}\"}}}}",
                repr.priority
            )
        }
        Action::AddVips => "\"add_vips\"".into(),
        Action::DelVips => "\"del_vips\"".into(),
        Action::SendGratuitous { count } => format!("{{\"send_gratuitous\":{count}}}"),
        Action::StateChanged { from, to, reason } => format!(
            "{{\"state\":[\"{from}\",\"{to}\",{}]}}",
            json_str(&reason.to_string())
        ),
        Action::Warning(w) => format!(
            "{{\"warning\":{}}}",
            json_str(&format!("{}: {w}", w.error.counter()))
        ),
        Action::PriorityChanged { from, to } => {
            format!("{{\"priority_changed\":[{from},{to}]}}")
        }
        Action::MasterRxLowerPriority { from, priority } => format!(
            "{{\"master_rx_lower_priority\":{{\"from\":\"{from}\",\"priority\":{priority}}}}}"
        ),
        #[allow(unreachable_patterns)]
        other => format!("{{\"other\":{}}}", json_str(&format!("{other:?}"))),
    }
}

struct Scenario {
    dir: PathBuf,
    cfg: InstanceConfig,
    inputs: Vec<(Instant, ScenarioInput)>,
}

fn load(name: &str) -> Result<Scenario, String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/scenarios")
        .join(name);
    let read = |f: &str| {
        std::fs::read_to_string(dir.join(f)).map_err(|e| format!("{}: {e}", dir.join(f).display()))
    };
    let desc = read("description.txt")?;
    if desc.trim().is_empty() {
        return Err("empty description.txt".into());
    }
    let cfg: ConfigFile =
        serde_json::from_str(&read("config.json")?).map_err(|e| format!("config.json: {e}"))?;
    let cfg = cfg.build().map_err(|e| format!("config.json: {e}"))?;
    let mut inputs = Vec::new();
    for (n, line) in read("input.jsonl")?.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        inputs.push(parse_input(line).map_err(|e| format!("input.jsonl line {}: {e}", n + 1))?);
    }
    Ok(Scenario { dir, cfg, inputs })
}

/// What a scenario run produced.
struct Outcome {
    /// One output line per input.
    lines: Vec<String>,
    /// The final state and counters.
    stats: Value,
    /// `vrrp_parse` seeds, one per received message.
    parse_seeds: Vec<Vec<u8>>,
}

/// Runs the scenario.
fn run(s: &Scenario) -> Result<Outcome, String> {
    let inst = Instance::new(s.cfg.clone()).map_err(|e| format!("config: {e}"))?;
    let mut router = Router::new();
    router.add(inst).map_err(|e| e.to_string())?;
    let mut checker = Checker::new();
    let mut pending: Option<Instant> = None;
    let mut last = Instant::ZERO;
    let mut out = Vec::new();
    let mut parse_seeds = Vec::new();
    for (n, (at, input)) in s.inputs.iter().enumerate() {
        let at = *at;
        let line = n + 1;
        if at < last {
            return Err(format!("input line {line}: time goes backwards"));
        }
        if let Some(p) = pending.filter(|p| at > *p) {
            return Err(format!(
                "input line {line} at {} ms comes after the deadline at {} ms: insert \
                 {{\"at_ms\":{},\"timeout\":true}} before it",
                ms_json(at),
                ms_json(p),
                ms_json(p)
            ));
        }
        last = at;
        let mut dropped = None;
        let before = fuzzing::oracle::Before::of(&router.instances()[0]);
        let mut accepted = None;
        match input {
            ScenarioInput::Start => router.handle_start(at),
            ScenarioInput::Timeout => router.handle_timeout(at),
            ScenarioInput::Event(e) => router.handle_event(at, *e),
            ScenarioInput::Rx {
                src,
                dst,
                ttl,
                bytes,
            } => {
                let meta = RxMeta {
                    src: *src,
                    dst: *dst,
                    ttl: *ttl,
                };
                parse_seeds.push(fuzzing::encode_parse_seed(
                    *src,
                    *dst,
                    s.cfg.checksum,
                    bytes,
                ));
                match router.handle_datagram(at, &meta, bytes) {
                    Err(e) => dropped = Some(format!("{}: {e}", e.error.counter())),
                    Ok(_) => {
                        let repr = Repr::parse_bytes(bytes, *src, *dst, s.cfg.checksum)
                            .map_err(|e| format!("input line {line}: accepted but {e}"))?;
                        accepted = Some((*src, repr));
                    }
                }
            }
        }
        let mut actions = Vec::new();
        pending = router.drain(|_, a| actions.push(a));
        let inst = &router.instances()[0];
        let kind = match input {
            ScenarioInput::Timeout => Input::Timeout,
            ScenarioInput::Rx { .. } => Input::Rx,
            _ => Input::Other,
        };
        checker
            .check(inst, &actions, at, kind)
            .map_err(|e| format!("input line {line}: invariant broken: {e}"))?;
        if let Some((src, repr)) = accepted {
            fuzzing::oracle::check(before, inst, &actions, src, &repr, at)
                .map_err(|e| format!("input line {line}: RFC rule broken: {e}"))?;
        }
        let mut o = format!("{{\"at_ms\":{},\"actions\":[", ms_json(at));
        for (i, a) in actions.iter().enumerate() {
            if i > 0 {
                o.push(',');
            }
            o.push_str(&action_json(a, &s.cfg));
        }
        o.push(']');
        if let Some(d) = dropped {
            let _ = write!(o, ",\"dropped\":{}", json_str(&d));
        }
        let next = pending.map_or_else(|| "null".into(), ms_json);
        let _ = write!(o, ",\"next_timeout_ms\":{next}}}");
        out.push(o);
    }
    let inst = &router.instances()[0];
    let i = inst.stats();
    let g = router.stats();
    let stats = serde_json::json!({
        "state": inst.state().to_string(),
        "priority": inst.priority(),
        "master_adver_int_cs": inst.master_adver_int().0,
        "instance": {
            "advert_rcvd": i.advert_rcvd,
            "advert_sent": i.advert_sent,
            "become_master": i.become_master,
            "release_master": i.release_master,
            "packet_length_errors": i.packet_length_errors,
            "adver_interval_errors": i.adver_interval_errors,
            "ip_ttl_errors": i.ip_ttl_errors,
            "invalid_type_rcvd": i.invalid_type_rcvd,
            "addr_list_errors": i.addr_list_errors,
            "invalid_authtype": i.invalid_authtype,
            "authtype_mismatch": i.authtype_mismatch,
            "auth_failures": i.auth_failures,
            "pri_zero_rcvd": i.pri_zero_rcvd,
            "pri_zero_sent": i.pri_zero_sent,
            "new_master_reason": i.new_master_reason,
        },
        "global": {
            "checksum_errors": g.checksum_errors,
            "version_errors": g.version_errors,
            "vrid_errors": g.vrid_errors,
            "truncated": g.truncated,
            "ip_errors": g.ip_errors,
        },
    });
    Ok(Outcome {
        lines: out,
        stats,
        parse_seeds,
    })
}

fn updating() -> bool {
    std::env::var_os("KEEPALIVED_UPDATE_GOLDEN").is_some_and(|v| v == "1")
}

fn seeds_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/seeds")
        .join(target)
}

/// The fuzz seeds a scenario contributes, by file path.
fn seed_files(name: &str, s: &Scenario, parse: Vec<Vec<u8>>) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = vec![(
        seeds_dir("vrrp_instance").join(format!("{name}.bin")),
        fuzzing::encode_instance_seed(&s.cfg, &s.inputs),
    )];
    for (i, seed) in parse.into_iter().enumerate() {
        files.push((
            seeds_dir("vrrp_parse").join(format!("{name}-{}.bin", i + 1)),
            seed,
        ));
    }
    files
}

/// A readable diff of the output lines: which input, what was expected, what came out.
fn diff(inputs: &[String], expected: &[String], got: &[String]) -> String {
    let mut msg = String::new();
    let n = expected.len().max(got.len());
    for i in 0..n {
        let e = expected.get(i).map(String::as_str);
        let g = got.get(i).map(String::as_str);
        let same = match (e, g) {
            (Some(e), Some(g)) => {
                serde_json::from_str::<Value>(e).ok() == serde_json::from_str::<Value>(g).ok()
            }
            _ => false,
        };
        if !same {
            let _ = writeln!(
                msg,
                "line {} (input: {})\n  expected: {}\n  got:      {}",
                i + 1,
                inputs.get(i).map_or("<none>", String::as_str),
                e.unwrap_or("<missing>"),
                g.unwrap_or("<missing>")
            );
        }
    }
    msg
}

fn check(name: &str) {
    let s = load(name).unwrap_or_else(|e| panic!("scenario {name}: {e}"));
    let Outcome {
        lines: got,
        stats,
        parse_seeds,
    } = run(&s).unwrap_or_else(|e| panic!("scenario {name}: {e}"));
    let seeds = seed_files(name, &s, parse_seeds);
    let stats_text = serde_json::to_string_pretty(&stats).unwrap_or_default() + "\n";
    if updating() {
        let write = |p: &Path, data: &[u8]| {
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
            }
            std::fs::write(p, data).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        };
        write(
            &s.dir.join("expected.jsonl"),
            (got.join("\n") + "\n").as_bytes(),
        );
        write(&s.dir.join("stats.json"), stats_text.as_bytes());
        for (p, data) in &seeds {
            write(p, data);
        }
        return;
    }
    let read = |f: &str| std::fs::read_to_string(s.dir.join(f)).unwrap_or_default();
    let expected: Vec<String> = read("expected.jsonl")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect();
    let inputs: Vec<String> = read("input.jsonl")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect();
    let mut failures = diff(&inputs, &expected, &got);
    let want_stats: Option<Value> = serde_json::from_str(&read("stats.json")).ok();
    if want_stats.as_ref() != Some(&stats) {
        let _ = writeln!(
            failures,
            "stats.json\n  expected: {}\n  got:      {}",
            want_stats.map_or_else(|| "<missing or invalid>".into(), |v| v.to_string()),
            stats
        );
    }
    for (p, data) in &seeds {
        if std::fs::read(p).ok().as_ref() != Some(data) {
            let _ = writeln!(failures, "fuzz seed {} missing or stale", p.display());
        }
    }
    assert!(
        failures.is_empty(),
        "scenario {name} differs from its goldens (KEEPALIVED_UPDATE_GOLDEN=1 rewrites them; \
         review the diff):\n{failures}"
    );
}

macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {
        $(#[test] fn $name() { check(stringify!($name)); })*
        const ALL: &[&str] = &[$(stringify!($name)),*];
    };
}

scenarios!(
    v2_backup_to_master,
    v3_learns_master_interval,
    priority_zero_skew,
    preempt_higher_priority,
    nopreempt,
    preempt_delay,
    equal_priority_address_tiebreak,
    address_owner_start,
    initial_state_master,
    auth_mismatch,
    bad_ttl,
    wrong_version,
    bad_checksum,
    v3_interval_mismatch_warning,
    shutdown_sends_priority_zero,
    interface_down_fault_up,
    malformed_packets,
    v2_interval_mismatch_dropped,
    priority_change,
    v3_old_unicast_checksum,
    v3_checksum_forms,
    address_list_mismatch,
    address_list_strict,
    down_timer_adverts_and_garp_refresh,
);

#[test]
fn every_scenario_directory_is_listed() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios");
    let mut dirs: Vec<String> = std::fs::read_dir(&root)
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.path().is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    let mut listed: Vec<String> = ALL.iter().map(|s| (*s).to_owned()).collect();
    listed.sort();
    assert_eq!(
        dirs, listed,
        "tests/scenarios/* and the scenarios! list differ"
    );
}
