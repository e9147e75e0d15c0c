//! Golden scenarios: `tests/scenarios/<name>/` holds `description.txt`, `config.json` (the
//! engine's seed and its sessions), `input.jsonl` (packets received, admin changes and time, each
//! at a time in ms) and the expected `expected.jsonl` (what the engine did: the actions drained
//! after each timer that fired and after each input, the result of each receive, the next
//! deadline) and `stats.json` (counters at the end). Packets are given as hex, or as fields that
//! the codec encodes (`"your": "NAME"` is that session's discriminator), so the codec runs on
//! every input. `KEEPALIVED_UPDATE_GOLDEN=1` rewrites the expected files; review the diff.

#![allow(
    clippy::disallowed_methods,
    reason = "reads the golden files and KEEPALIVED_UPDATE_GOLDEN"
)]

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use keepalived_bfd::{
    Action, Diag, Engine, Instant, Level, Repr, RxMeta, SessionConfig, SessionId, State,
};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
struct ScenarioConfig {
    seed: u64,
    sessions: Vec<SessionSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionSpec {
    name: String,
    neighbor: IpAddr,
    source: Option<IpAddr>,
    min_rx_ms: Option<u32>,
    min_tx_ms: Option<u32>,
    idle_tx_ms: Option<u32>,
    multiplier: Option<u8>,
    #[serde(default)]
    passive: bool,
    ttl: Option<u8>,
    max_hops: Option<u8>,
    #[serde(default)]
    multihop: bool,
}

impl SessionSpec {
    fn config(&self) -> SessionConfig {
        let mut c = SessionConfig::new(self.name.clone(), self.neighbor);
        c.source = self.source;
        if let Some(v) = self.min_rx_ms {
            c.min_rx_us = v * 1000;
        }
        if let Some(v) = self.min_tx_ms {
            c.min_tx_us = v * 1000;
        }
        if let Some(v) = self.idle_tx_ms {
            c.idle_tx_us = v * 1000;
        }
        if let Some(v) = self.multiplier {
            c.multiplier = v;
        }
        c.passive = self.passive;
        if let Some(v) = self.ttl {
            c.ttl = v;
        }
        if let Some(v) = self.max_hops {
            c.max_hops = v;
        }
        c.multihop = self.multihop;
        c
    }
}

fn ms(t: Instant) -> Value {
    let ns = t.as_nanos();
    if ns.is_multiple_of(1_000_000) {
        json!(ns / 1_000_000)
    } else {
        json!(ns as f64 / 1e6)
    }
}

fn describe(r: &Repr) -> String {
    let mut s = format!(
        "{} diag={} mult={} my={:#010x} your={:#010x} tx={} rx={}",
        r.state,
        r.diag.code(),
        r.detect_mult,
        r.my_discr,
        r.your_discr,
        r.desired_min_tx_us,
        r.required_min_rx_us
    );
    if r.poll {
        s.push_str(" P");
    }
    if r.fin {
        s.push_str(" F");
    }
    s
}

fn render(a: &Action) -> Value {
    match a {
        Action::Send(t) => {
            let r = Repr::parse(&t.payload).expect("we send parseable packets");
            let src = t.src.map_or_else(|| "*".to_string(), |s| s.to_string());
            json!({"send": format!("{src}:{} -> {} ttl {}: {}", t.src_port, t.dst, t.ttl, describe(&r))})
        }
        Action::State(s) => json!({"state": {
            "session": s.name, "up": s.up, "state": s.state.name(), "diag": s.diag.text()
        }}),
        Action::Log(l) => {
            let level = match l.level {
                Level::Debug => "debug",
                Level::Info => "info",
                Level::Warning => "warning",
            };
            json!({"log": format!("{level}: {}", l.text)})
        }
    }
}

struct Runner {
    engine: Engine,
    ids: Vec<(String, SessionId)>,
    out: Vec<Value>,
}

impl Runner {
    fn drain(&mut self) -> Vec<Value> {
        let mut v = Vec::new();
        while let Some(a) = self.engine.poll_action() {
            v.push(render(&a));
        }
        v
    }

    fn next_ms(&self) -> Value {
        self.engine.poll_timeout().map_or(Value::Null, ms)
    }

    fn fire_until(&mut self, until: Instant) {
        while let Some(t) = self.engine.poll_timeout().filter(|t| *t <= until) {
            self.engine.handle_timeout(t);
            let actions = self.drain();
            let next = self.next_ms();
            self.out
                .push(json!({"at_ms": ms(t), "timeout": true, "actions": actions, "next_timeout_ms": next}));
        }
    }

    fn discr(&self, v: &Value) -> u32 {
        match v {
            Value::String(name) => {
                let id = self.ids.iter().find(|(n, _)| n == name).expect("session").1;
                self.engine.session(id).unwrap().snapshot().local_discr
            }
            Value::Number(n) => u32::try_from(n.as_u64().unwrap()).unwrap(),
            _ => 0,
        }
    }

    fn packet(&self, p: &Value) -> Vec<u8> {
        if let Some(hex) = p.get("hex").and_then(Value::as_str) {
            return (0..hex.len() / 2)
                .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
                .collect();
        }
        let state = match p["state"].as_str().unwrap() {
            "AdminDown" => State::AdminDown,
            "Down" => State::Down,
            "Init" => State::Init,
            _ => State::Up,
        };
        let num = |k: &str, d: u64| p.get(k).and_then(Value::as_u64).unwrap_or(d);
        let flag = |k: &str| p.get(k).and_then(Value::as_bool).unwrap_or(false);
        Repr {
            diag: Diag::from_code(u8::try_from(num("diag", 0)).unwrap()),
            state,
            poll: flag("poll"),
            fin: flag("fin"),
            cpi: false,
            demand: false,
            multipoint: flag("multipoint"),
            detect_mult: u8::try_from(num("mult", 3)).unwrap(),
            my_discr: u32::try_from(num("my", 0x0a0b_0c0d)).unwrap(),
            your_discr: self.discr(p.get("your").unwrap_or(&Value::Null)),
            desired_min_tx_us: u32::try_from(num("tx_ms", 50) * 1000).unwrap(),
            required_min_rx_us: u32::try_from(num("rx_ms", 50) * 1000).unwrap(),
            required_min_echo_rx_us: 0,
            auth: None,
        }
        .to_bytes()
        .to_vec()
    }
}

fn run(dir: &Path) -> (String, String) {
    let cfg: ScenarioConfig =
        serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
    let mut r = Runner {
        engine: Engine::new(cfg.seed),
        ids: Vec::new(),
        out: Vec::new(),
    };
    for s in &cfg.sessions {
        let id = r.engine.add_session(Instant::ZERO, s.config()).unwrap();
        r.ids.push((s.name.clone(), id));
    }
    let actions = r.drain();
    let next = r.next_ms();
    r.out
        .push(json!({"at_ms": 0, "start": true, "actions": actions, "next_timeout_ms": next}));
    let input = std::fs::read_to_string(dir.join("input.jsonl")).unwrap();
    let mut last = Instant::ZERO;
    for line in input.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line).unwrap();
        let at = Instant::from_nanos((v["at_ms"].as_f64().unwrap() * 1e6).round() as u64);
        assert!(
            at >= last,
            "{}: input times go back at {line}",
            dir.display()
        );
        last = at;
        r.fire_until(at);
        let mut entry = json!({"at_ms": ms(at)});
        if let Some(rx) = v.get("rx") {
            let meta = RxMeta {
                src: rx["src"].as_str().unwrap().parse::<SocketAddr>().unwrap(),
                dst: rx
                    .get("dst")
                    .and_then(Value::as_str)
                    .map(|d| d.parse().unwrap()),
                ttl: rx
                    .get("ttl")
                    .and_then(Value::as_u64)
                    .map(|t| u8::try_from(t).unwrap()),
                multihop: rx.get("multihop").and_then(Value::as_bool).unwrap_or(false),
            };
            let bytes = r.packet(rx);
            entry["rx"] = match r.engine.handle_datagram(at, &meta, &bytes) {
                Ok(id) => {
                    let name = &r.ids.iter().find(|(_, i)| *i == id).unwrap().0;
                    json!(format!("accepted by {name}"))
                }
                Err(e) => json!(format!("dropped: {e}")),
            };
        } else if let Some(a) = v.get("admin_down") {
            let name = a["session"].as_str().unwrap();
            let id = r.ids.iter().find(|(n, _)| n == name).unwrap().1;
            let down = a["down"].as_bool().unwrap();
            assert!(r.engine.set_admin_down(at, id, down));
            entry["admin_down"] = json!(down);
        } else {
            assert!(v.get("run").is_some(), "unknown input {line}");
            entry["run"] = json!(true);
        }
        entry["actions"] = Value::Array(r.drain());
        entry["next_timeout_ms"] = r.next_ms();
        r.out.push(entry);
    }
    let expected: String = r
        .out
        .iter()
        .map(|v| serde_json::to_string(v).unwrap() + "\n")
        .collect();
    let g = r.engine.stats();
    let mut stats = json!({"global": {
        "rx_ok": g.rx_ok, "truncated": g.truncated, "bad_version": g.bad_version,
        "bad_length": g.bad_length, "zero_detect_mult": g.zero_detect_mult,
        "multipoint": g.multipoint, "zero_my_discr": g.zero_my_discr,
        "zero_your_discr": g.zero_your_discr, "poll_and_final": g.poll_and_final,
        "bad_diag": g.bad_diag, "unknown_discr": g.unknown_discr, "no_session": g.no_session,
        "wrong_port": g.wrong_port, "bad_ttl": g.bad_ttl, "auth": g.auth,
        "admin_down": g.admin_down,
    }});
    for (name, id) in &r.ids {
        let s = r.engine.session(*id).unwrap().snapshot();
        stats[name.as_str()] = json!({
            "state": s.state.name(), "remote_state": s.remote_state.name(),
            "local_diag": s.local_diag.text(), "tx_interval_us": s.tx_interval_us,
            "rx_interval_us": s.rx_interval_us, "detect_time_us": s.detect_time_us,
            "tx": s.stats.tx, "rx": s.stats.rx, "rx_dropped": s.stats.rx_dropped,
            "up": s.stats.up, "down": s.stats.down, "expired": s.stats.expired,
            "polls": s.stats.polls,
        });
    }
    (
        expected,
        serde_json::to_string_pretty(&stats).unwrap() + "\n",
    )
}

fn scenario_dirs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("input.jsonl").is_file())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn golden_scenarios() {
    let update = std::env::var_os("KEEPALIVED_UPDATE_GOLDEN").is_some();
    let dirs = scenario_dirs();
    assert!(dirs.len() >= 7, "scenarios missing: {dirs:?}");
    let mut failures = Vec::new();
    for dir in &dirs {
        assert!(dir.join("description.txt").is_file(), "{}", dir.display());
        let (expected, stats) = run(dir);
        for (file, got) in [("expected.jsonl", &expected), ("stats.json", &stats)] {
            let path = dir.join(file);
            if update {
                std::fs::write(&path, got).unwrap();
            } else {
                let want = std::fs::read_to_string(&path).unwrap_or_default();
                if &want != got {
                    failures.push(format!(
                        "{}:\n--- want\n{want}\n--- got\n{got}",
                        path.display()
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
