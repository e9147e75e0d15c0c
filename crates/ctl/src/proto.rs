//! The control socket's protocol, version [`VERSION`]: JSON lines over a Unix stream socket.
//!
//! Each request is one JSON object on one line, `{"version": 1, "command": "status"}`; each
//! answer is one line, `{"version": 1, "ok": true, "result": ...}` or `{"version": 1, "ok":
//! false, "error": "..."}`. A connection may carry several requests, answered in order. The
//! commands ([`Command`]): `status`, `maintenance` (`instance`, `on`), `drain`
//! (`virtual_server`, `real_server`, `on`), `reload`, `dump` (`kind`: `data`, `stats` or
//! `json`). A later version adds fields and commands; a request naming a version this daemon
//! does not speak is refused with an error naming both.

use serde::{Deserialize, Serialize};

/// The protocol version this build speaks.
pub const VERSION: u32 = 1;

/// The longest request line accepted (bytes, without its newline).
pub const MAX_REQUEST: usize = 64 * 1024;

/// A request's command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    /// Everything the daemon runs: instances, sync groups, virtual and real servers, the
    /// process tree, the last reload ([`Status`]).
    Status,
    /// Puts VRRP instance `instance` in maintenance (`on`: it resigns and stays out) or takes
    /// it out.
    Maintenance {
        /// The `vrrp_instance` name.
        instance: String,
        /// In (true) or out of maintenance.
        on: bool,
    },
    /// Drains a real server (`on`: weight 0 in IPVS, existing connections finish) or undrains
    /// it.
    Drain {
        /// `ADDRESS:PORT` (`[V6]:PORT`), `fwmark N`, or a `virtual_server_group` name.
        virtual_server: String,
        /// `ADDRESS:PORT` (`[V6]:PORT`).
        real_server: String,
        /// Drained (true) or not.
        on: bool,
    },
    /// Reads the configuration again (as SIGHUP) and answers with the outcome once the
    /// engines applied it ([`ReloadOutcome`]).
    Reload,
    /// A dump's text (what SIGUSR1, SIGUSR2 or the JSON signal would write).
    Dump {
        /// Which one.
        kind: DumpKind,
    },
}

/// The dumps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DumpKind {
    /// The data dump (`keepalived.data`, and the checker's `keepalived_check.data`).
    Data,
    /// The statistics (`keepalived.stats`).
    Stats,
    /// The JSON dump (`keepalived.json`).
    Json,
}

/// Why a request was refused before it was carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestError(pub String);

impl std::fmt::Display for RequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parses one request line (without its newline).
pub fn parse_request(line: &[u8]) -> Result<Command, RequestError> {
    let err = |s: String| Err(RequestError(s));
    if line.len() > MAX_REQUEST {
        return err(format!("request longer than {MAX_REQUEST} bytes"));
    }
    let value: serde_json::Value = match serde_json::from_slice(line) {
        Ok(v) => v,
        Err(e) => return err(format!("not JSON: {e}")),
    };
    let serde_json::Value::Object(mut object) = value else {
        return err("a request is a JSON object".into());
    };
    match object.remove("version") {
        None => return err(format!("no \"version\" (this daemon speaks {VERSION})")),
        Some(v) if v.as_u64() == Some(u64::from(VERSION)) => {}
        Some(v) => {
            return err(format!(
                "protocol version {v} is not spoken here (this daemon speaks {VERSION})"
            ));
        }
    }
    match object.get("command") {
        None => return err("no \"command\"".into()),
        Some(serde_json::Value::String(_)) => {}
        Some(other) => return err(format!("\"command\" is {other}, not a string")),
    }
    let command: Command = match serde_json::from_value(serde_json::Value::Object(object.clone())) {
        Ok(c) => c,
        Err(e) => return err(format!("bad request: {e}")),
    };
    // serde lets a command without fields (`status`) carry any: refuse them as the others.
    if let serde_json::Value::Object(known) = serde_json::to_value(&command).unwrap_or_default()
        && let Some(extra) = object.keys().find(|k| !known.contains_key(*k))
    {
        return err(format!("bad request: unknown field `{extra}`"));
    }
    Ok(command)
}

/// A request's line (with its newline).
pub fn request_line(command: &Command) -> String {
    let mut value = serde_json::to_value(command).unwrap_or_default();
    if let serde_json::Value::Object(o) = &mut value {
        o.insert("version".into(), VERSION.into());
    }
    format!("{value}\n")
}

/// An answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// The protocol version ([`VERSION`]).
    pub version: u32,
    /// Carried out.
    pub ok: bool,
    /// What it gives back (status, dump text, reload outcome), when `ok`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
    /// Why not, when not `ok`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Response {
    /// A success with `result`.
    pub fn ok(result: serde_json::Value) -> Response {
        Response {
            version: VERSION,
            ok: true,
            result: Some(result),
            error: None,
        }
    }

    /// A refusal.
    pub fn error(message: impl Into<String>) -> Response {
        Response {
            version: VERSION,
            ok: false,
            result: None,
            error: Some(message.into()),
        }
    }

    /// Its line (with its newline).
    pub fn line(&self) -> String {
        let mut s = serde_json::to_string(self).unwrap_or_default();
        s.push('\n');
        s
    }
}

/// The answer to `status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// The daemon: version, processes, last reload.
    pub daemon: DaemonStatus,
    /// Every VRRP instance (none when the VRRP engine does not answer: see
    /// [`EngineStatus::answering`]).
    pub vrrp_instances: Vec<InstanceStatus>,
    /// Every sync group.
    pub sync_groups: Vec<GroupStatus>,
    /// Every virtual server.
    pub virtual_servers: Vec<VirtualServerStatus>,
    /// Every BFD session (`bfd_instance`).
    #[serde(default)]
    pub bfd_sessions: Vec<BfdSessionStatus>,
}

/// A BFD session.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BfdSessionStatus {
    /// `bfd_instance` name.
    pub name: String,
    /// `neighbor_ip`.
    pub neighbor: String,
    /// `AdminDown`, `Down`, `Init` or `Up` (RFC 5880's words).
    pub state: String,
    /// The detection time now, in milliseconds (0 before the peer is heard).
    pub detect_time_ms: f64,
}

/// The daemon's own part of a status.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DaemonStatus {
    /// keepalived-rs's version.
    pub version: String,
    /// The parent's pid.
    pub pid: u32,
    /// Its engine processes.
    pub engines: Vec<EngineStatus>,
    /// The last reload, if any.
    pub last_reload: Option<ReloadStatus>,
}

/// An engine process.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EngineStatus {
    /// `vrrp` or `checker`.
    pub name: String,
    /// Its pid while it runs.
    pub pid: Option<u32>,
    /// It answered this status request.
    pub answering: bool,
    /// Restarts since the daemon started.
    pub restarts: u64,
    /// Kills by the watchdog.
    pub watchdog_kills: u64,
}

/// A reload.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReloadStatus {
    /// When (seconds since the Unix epoch).
    pub at: f64,
    /// `applied` or `refused`.
    pub outcome: String,
}

/// A VRRP instance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InstanceStatus {
    /// `vrrp_instance` name.
    pub name: String,
    /// `INIT`, `BACKUP`, `MASTER` or `FAULT` (keepalived's words).
    pub state: String,
    /// The interface its adverts go out on.
    pub interface: String,
    /// `virtual_router_id`.
    pub vrid: u8,
    /// The configured priority.
    pub base_priority: u8,
    /// The priority after tracking.
    pub effective_priority: u8,
    /// Its virtual addresses (bare addresses).
    pub virtual_ipaddresses: Vec<String>,
    /// The master it hears (as backup), itself as master, none else.
    pub master_address: Option<String>,
    /// When it entered its state (seconds since the Unix epoch).
    pub since: Option<f64>,
    /// In maintenance (`keepalived-ctl vrrp NAME maintenance on`).
    pub maintenance: bool,
    /// What it tracks.
    pub trackers: Vec<TrackerStatus>,
}

/// A tracked object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrackerStatus {
    /// `interface`, `script`, `file` or `process`.
    pub kind: String,
    /// Its name.
    pub name: String,
    /// 1 up, 0 down (a `track_file`: its value); none before its first result.
    pub status: Option<i64>,
}

/// A sync group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GroupStatus {
    /// `vrrp_sync_group` name.
    pub name: String,
    /// As an instance's.
    pub state: String,
}

/// A virtual server.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VirtualServerStatus {
    /// As the dumps name it: `[ADDR]:tcp:PORT`, `FWM N`, `group NAME`.
    pub name: String,
    /// `quorum`.
    pub quorum: u32,
    /// Real servers up.
    pub real_servers_up: u64,
    /// Its real servers.
    pub real_servers: Vec<RealServerStatus>,
}

/// A real server.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RealServerStatus {
    /// Its address.
    pub address: String,
    /// Its port.
    pub port: u16,
    /// `up` or `down`.
    pub state: String,
    /// Its weight in the balancer now (0 while drained).
    pub weight: u32,
    /// Drained (`keepalived-ctl rs drain`).
    pub drained: bool,
    /// Its checks.
    pub checks: Vec<CheckStatus>,
}

/// A check of a real server.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CheckStatus {
    /// `TCP_CHECK`, `HTTP_GET`, ...
    pub kind: String,
    /// `passed` or `failed`; none before its first result.
    pub last_result: Option<String>,
    /// When its last result came (seconds since the Unix epoch).
    pub last_run: Option<f64>,
}

/// The answer to `reload`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReloadOutcome {
    /// Applied (passed on to the engines, which reported its end) or refused.
    pub applied: bool,
    /// Why it was refused: the configuration's errors, with their places.
    pub errors: Vec<String>,
}

#[cfg(test)]
mod tests;
