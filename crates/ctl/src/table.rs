//! A status as `keepalived-ctl status` prints it for people: one table per part.

use std::fmt::Write as _;

use crate::proto::Status;

/// How long ago `at` (seconds since the Unix epoch) was, from `now`: `42s`, `5m12s`, `3h04m`,
/// `2d03h`.
pub fn ago(at: f64, now: f64) -> String {
    let s = (now - at).max(0.0) as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        3600..86_400 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{:02}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// Lays out `rows` (the first one the header) in columns two spaces apart.
fn columns(rows: &[Vec<String>]) -> String {
    let mut widths = Vec::new();
    for row in rows {
        widths.resize(widths.len().max(row.len()), 0);
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            let _ = write!(line, "{cell:<w$}  ", w = widths[i]);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn row(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|c| (*c).to_owned()).collect()
}

/// The human form of `status`, with ages counted from `now` (seconds since the Unix epoch).
pub fn render(status: &Status, now: f64) -> String {
    let mut out = String::new();
    let d = &status.daemon;
    let _ = writeln!(out, "keepalived-rs {} (pid {})", d.version, d.pid);
    for e in &d.engines {
        let pid = e
            .pid
            .map_or_else(|| "not running".to_owned(), |p| format!("pid {p}"));
        let answer = if e.answering { "" } else { ", not answering" };
        let _ = writeln!(
            out,
            "  {} engine: {pid}{answer}, {} restarts, {} watchdog kills",
            e.name, e.restarts, e.watchdog_kills
        );
    }
    match &d.last_reload {
        Some(r) => {
            let _ = writeln!(out, "  last reload: {} {} ago", r.outcome, ago(r.at, now));
        }
        None => out.push_str("  last reload: none\n"),
    }
    if !status.vrrp_instances.is_empty() {
        out.push('\n');
        let mut rows = vec![row(&[
            "INSTANCE",
            "STATE",
            "PRIO",
            "BASE",
            "INTERFACE",
            "VRID",
            "MASTER",
            "SINCE",
            "VIPS",
        ])];
        for i in &status.vrrp_instances {
            let mut state = i.state.clone();
            if i.maintenance {
                state.push_str(" (maintenance)");
            }
            rows.push(vec![
                i.name.clone(),
                state,
                i.effective_priority.to_string(),
                i.base_priority.to_string(),
                i.interface.clone(),
                i.vrid.to_string(),
                i.master_address.clone().unwrap_or_else(|| "-".into()),
                i.since.map_or_else(|| "-".into(), |at| ago(at, now)),
                i.virtual_ipaddresses.join(","),
            ]);
        }
        out.push_str(&columns(&rows));
        let trackers: Vec<_> = status
            .vrrp_instances
            .iter()
            .flat_map(|i| i.trackers.iter().map(move |t| (i, t)))
            .collect();
        if !trackers.is_empty() {
            out.push('\n');
            let mut rows = vec![row(&["INSTANCE", "TRACKS", "NAME", "STATUS"])];
            for (i, t) in trackers {
                let status = match (t.kind.as_str(), t.status) {
                    (_, None) => "-".to_owned(),
                    ("file", Some(v)) => v.to_string(),
                    (_, Some(0)) => "down".to_owned(),
                    (_, Some(_)) => "up".to_owned(),
                };
                rows.push(vec![i.name.clone(), t.kind.clone(), t.name.clone(), status]);
            }
            out.push_str(&columns(&rows));
        }
    }
    if !status.sync_groups.is_empty() {
        out.push('\n');
        let mut rows = vec![row(&["SYNC GROUP", "STATE"])];
        for g in &status.sync_groups {
            rows.push(vec![g.name.clone(), g.state.clone()]);
        }
        out.push_str(&columns(&rows));
    }
    if !status.bfd_sessions.is_empty() {
        out.push('\n');
        let mut rows = vec![row(&["BFD SESSION", "NEIGHBOR", "STATE", "DETECT"])];
        for b in &status.bfd_sessions {
            rows.push(vec![
                b.name.clone(),
                b.neighbor.clone(),
                b.state.clone(),
                format!("{} ms", b.detect_time_ms),
            ]);
        }
        out.push_str(&columns(&rows));
    }
    if !status.virtual_servers.is_empty() {
        out.push('\n');
        let mut rows = vec![row(&[
            "VIRTUAL SERVER",
            "REAL SERVER",
            "STATE",
            "WEIGHT",
            "LAST CHECK",
        ])];
        for vs in &status.virtual_servers {
            let name = format!(
                "{} (quorum {}, {} up)",
                vs.name, vs.quorum, vs.real_servers_up
            );
            rows.push(vec![name, String::new(), String::new(), String::new()]);
            for rs in &vs.real_servers {
                let addr = if rs.address.contains(':') {
                    format!("[{}]:{}", rs.address, rs.port)
                } else {
                    format!("{}:{}", rs.address, rs.port)
                };
                let mut state = rs.state.clone();
                if rs.drained {
                    state.push_str(" (drained)");
                }
                let checks: Vec<String> = rs
                    .checks
                    .iter()
                    .map(|c| {
                        let result = c.last_result.as_deref().unwrap_or("not run");
                        match c.last_run {
                            Some(at) => format!("{} {result} {} ago", c.kind, ago(at, now)),
                            None => format!("{} {result}", c.kind),
                        }
                    })
                    .collect();
                rows.push(vec![
                    String::new(),
                    addr,
                    state,
                    rs.weight.to_string(),
                    checks.join("; "),
                ]);
            }
        }
        out.push_str(&columns(&rows));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{
        CheckStatus, DaemonStatus, EngineStatus, InstanceStatus, RealServerStatus,
        VirtualServerStatus,
    };

    #[test]
    fn ages_read_naturally() {
        assert_eq!(ago(100.0, 142.5), "42s");
        assert_eq!(ago(0.0, 312.0), "5m12s");
        assert_eq!(ago(0.0, 3.0 * 3600.0 + 240.0), "3h04m");
        assert_eq!(ago(0.0, 2.0 * 86_400.0 + 3.0 * 3600.0), "2d03h");
        assert_eq!(ago(10.0, 5.0), "0s");
    }

    #[test]
    fn the_table_shows_each_part() {
        let status = Status {
            daemon: DaemonStatus {
                version: "0.1.0".into(),
                pid: 7,
                engines: vec![EngineStatus {
                    name: "vrrp".into(),
                    pid: Some(8),
                    answering: true,
                    restarts: 0,
                    watchdog_kills: 0,
                }],
                last_reload: None,
            },
            vrrp_instances: vec![InstanceStatus {
                name: "VI_1".into(),
                state: "FAULT".into(),
                interface: "eth0".into(),
                vrid: 51,
                base_priority: 150,
                effective_priority: 150,
                virtual_ipaddresses: vec!["192.0.2.10".into()],
                master_address: None,
                since: Some(90.0),
                maintenance: true,
                trackers: Vec::new(),
            }],
            sync_groups: Vec::new(),
            virtual_servers: vec![VirtualServerStatus {
                name: "[198.51.100.10]:tcp:80".into(),
                quorum: 1,
                real_servers_up: 1,
                real_servers: vec![RealServerStatus {
                    address: "2001:db8::2".into(),
                    port: 80,
                    state: "up".into(),
                    weight: 0,
                    drained: true,
                    checks: vec![CheckStatus {
                        kind: "TCP_CHECK".into(),
                        last_result: Some("passed".into()),
                        last_run: Some(95.0),
                    }],
                }],
            }],
            bfd_sessions: vec![crate::proto::BfdSessionStatus {
                name: "to_peer".into(),
                neighbor: "192.0.2.2".into(),
                state: "Up".into(),
                detect_time_ms: 150.0,
            }],
        };
        let text = render(&status, 100.0);
        assert!(text.contains("vrrp engine: pid 8, 0 restarts"), "{text}");
        assert!(
            text.contains("VI_1      FAULT (maintenance)  150"),
            "{text}"
        );
        assert!(text.contains("[2001:db8::2]:80  up (drained)  0"), "{text}");
        assert!(text.contains("TCP_CHECK passed 5s ago"), "{text}");
        assert!(
            text.contains("to_peer      192.0.2.2  Up     150 ms"),
            "{text}"
        );
    }
}
