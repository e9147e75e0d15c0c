//! The BFD process's numbers ([`BfdMetrics`], filled from the dump's snapshot) and their
//! `keepalived_bfd_*` series.

use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::metrics::MetricType;
use serde::{Deserialize, Serialize};

use super::EngineMetrics;
use super::render::{counter, gauge};

/// The BFD process's numbers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BfdMetrics {
    /// Every session.
    pub sessions: Vec<BfdSessionMetrics>,
    /// Received packets dropped before reaching a session's state machine, by reason.
    pub rx_errors: Vec<(String, u64)>,
}

/// One session.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BfdSessionMetrics {
    /// `bfd_instance` name.
    pub name: String,
    /// `neighbor_ip`.
    pub neighbor: String,
    /// bfd.SessionState as on the wire: 0 AdminDown, 1 Down, 2 Init, 3 Up.
    pub state: u8,
    /// Detection time now, µs (0 before the peer is heard).
    pub detect_time_us: u64,
    /// Control packets sent.
    pub tx: u64,
    /// Control packets accepted.
    pub rx: u64,
    /// Packets for this session dropped (TTL, port, authentication, AdminDown).
    pub rx_dropped: u64,
    /// Packets the kernel refused to send.
    pub send_errors: u64,
    /// Transitions into Up.
    pub up: u64,
    /// Transitions from Up to Down.
    pub down: u64,
    /// Detection-time expiries.
    pub expired: u64,
}

type SessionField = (&'static str, &'static str, fn(&BfdSessionMetrics) -> u64);

/// The `keepalived_bfd_*` series of the BFD process's answer, if it answered.
pub(super) fn encode(
    enc: &mut DescriptorEncoder<'_>,
    answers: &[&EngineMetrics],
) -> std::fmt::Result {
    let Some(b) = answers.iter().find_map(|a| a.bfd.as_ref()) else {
        return Ok(());
    };
    let labels = |s: &BfdSessionMetrics| {
        [
            ("bfd_instance", s.name.clone()),
            ("neighbor", s.neighbor.clone()),
        ]
    };
    let gauges: [SessionField; 3] = [
        (
            "keepalived_bfd_session_state",
            "Session state: 0 AdminDown, 1 Down, 2 Init, 3 Up",
            |s| u64::from(s.state),
        ),
        (
            "keepalived_bfd_session_up",
            "1 while the session is Up",
            |s| u64::from(s.state == 3),
        ),
        (
            "keepalived_bfd_session_detection_time_microseconds",
            "Detection time now (remote multiplier times the agreed interval)",
            |s| s.detect_time_us,
        ),
    ];
    for (name, help, value) in gauges {
        let mut m = enc.encode_descriptor(name, help, None, MetricType::Gauge)?;
        for s in &b.sessions {
            gauge(&mut m, &labels(s), value(s))?;
        }
    }
    let counters: [SessionField; 7] = [
        ("keepalived_bfd_packets_sent", "Control packets sent", |s| {
            s.tx
        }),
        (
            "keepalived_bfd_packets_received",
            "Control packets accepted",
            |s| s.rx,
        ),
        (
            "keepalived_bfd_packets_dropped",
            "Packets for the session dropped (TTL, port, authentication, AdminDown)",
            |s| s.rx_dropped,
        ),
        (
            "keepalived_bfd_send_errors",
            "Control packets the kernel refused to send",
            |s| s.send_errors,
        ),
        (
            "keepalived_bfd_session_up_transitions",
            "Transitions into Up",
            |s| s.up,
        ),
        (
            "keepalived_bfd_session_down_transitions",
            "Transitions from Up to Down",
            |s| s.down,
        ),
        (
            "keepalived_bfd_session_expired",
            "Detection-time expiries",
            |s| s.expired,
        ),
    ];
    for (name, help, value) in counters {
        let mut m = enc.encode_descriptor(name, help, None, MetricType::Counter)?;
        for s in &b.sessions {
            counter(&mut m, &labels(s), value(s))?;
        }
    }
    let mut m = enc.encode_descriptor(
        "keepalived_bfd_receive_errors",
        "Received packets dropped before any session took them, by reason",
        None,
        MetricType::Counter,
    )?;
    for (reason, n) in &b.rx_errors {
        counter(&mut m, &[("reason", reason.as_str())], *n)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::metrics::render::{EngineScrape, Scrape, render};

    #[test]
    fn sessions_and_drops_are_series() {
        let bfd = BfdMetrics {
            sessions: vec![BfdSessionMetrics {
                name: "b1".into(),
                neighbor: "192.0.2.2".into(),
                state: 3,
                detect_time_us: 150_000,
                tx: 40,
                rx: 38,
                up: 1,
                ..Default::default()
            }],
            rx_errors: vec![("bad_ttl".into(), 2)],
        };
        let scrape = Scrape {
            engines: vec![EngineScrape {
                engine: "bfd",
                answer: Some(EngineMetrics {
                    bfd: Some(bfd),
                    ..Default::default()
                }),
                ..Default::default()
            }],
            ..Default::default()
        };
        let text = render(scrape, false);
        let l = "{bfd_instance=\"b1\",neighbor=\"192.0.2.2\"}";
        for line in [
            format!("keepalived_bfd_session_state{l} 3\n"),
            format!("keepalived_bfd_session_up{l} 1\n"),
            format!("keepalived_bfd_session_detection_time_microseconds{l} 150000\n"),
            format!("keepalived_bfd_packets_sent_total{l} 40\n"),
            format!("keepalived_bfd_packets_received_total{l} 38\n"),
            format!("keepalived_bfd_session_up_transitions_total{l} 1\n"),
            "keepalived_bfd_receive_errors_total{reason=\"bad_ttl\"} 2\n".to_owned(),
            "keepalived_engine_up{engine=\"bfd\"} 1\n".to_owned(),
        ] {
            assert!(text.contains(&line), "{line} missing:\n{text}");
        }
    }
}
