//! The BFD engine's data dump (`keepalived_bfd.data`, SIGUSR1): a copy of every session taken
//! between two events ([`take`]), rendered off the engine's loop in keepalived's layout
//! (`------< BFD Topology >------`, one ` BFD Instance = NAME` block per session).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use keepalived_bfd::{Engine, GlobalStats, SessionConfig, SessionSnapshot};
use keepalived_config::model::global::GlobalDefs;
use tokio::sync::{mpsc, oneshot};

use crate::services::dump::{self, DumpKind, DumpPaths, DumpSource};
use crate::services::metrics::bfd::{BfdMetrics, BfdSessionMetrics};

/// keepalived's name of the BFD data dump, in the dumps' temporary directory.
pub const DATA_FILE: &str = "keepalived_bfd.data";

/// Where SIGUSR1 writes the BFD dump: [`DATA_FILE`] in the dumps' temporary directory or in
/// the directory `state_dump_file` names (a trailing `/`), else `state_dump_file` with `_bfd`
/// before its extension (`/run/ka/state.txt` gives `/run/ka/state_bfd.txt`), as keepalived's
/// `open_dump_file("_bfd")` does.
pub fn data_path(defs: &GlobalDefs) -> PathBuf {
    match defs.state_dump_file.as_deref() {
        None => dump::tmp_dir().join(DATA_FILE),
        Some(dir) if dir.ends_with('/') => Path::new(dir).join(DATA_FILE),
        Some(file) => PathBuf::from(dump::with_suffix(file, "_bfd")),
    }
}

/// A request for the data dump: the driver answers on the channel.
pub type SnapshotRequest = oneshot::Sender<BfdSnapshot>;

/// The BFD process's [`DumpSource`]: SIGUSR1 writes the data dump ([`data_path`]); the other
/// dump signals are the VRRP engine's.
#[derive(Debug, Clone)]
pub struct Source {
    tx: mpsc::UnboundedSender<SnapshotRequest>,
    path: PathBuf,
}

impl Source {
    /// Asks the driver listening on `tx`; writes to the path `defs` gives ([`data_path`]).
    pub fn new(tx: mpsc::UnboundedSender<SnapshotRequest>, defs: &GlobalDefs) -> Source {
        Source {
            tx,
            path: data_path(defs),
        }
    }
}

impl DumpSource for Source {
    async fn files(&self, kind: DumpKind, _paths: &DumpPaths) -> Vec<(PathBuf, String)> {
        if kind != DumpKind::Data {
            return Vec::new();
        }
        let (reply, rx) = oneshot::channel();
        if self.tx.send(reply).is_err() {
            return Vec::new();
        }
        match rx.await {
            Ok(snap) => vec![(self.path.clone(), snap.data_text())],
            Err(_) => Vec::new(),
        }
    }
}

/// One session in the dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDump {
    /// What it was configured with.
    pub config: SessionConfig,
    /// Its source port.
    pub src_port: u16,
    /// Its state now.
    pub state: SessionSnapshot,
    /// Packets that could not be sent.
    pub send_errors: u64,
}

/// What the dump shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BfdSnapshot {
    /// Every session, in the order added.
    pub sessions: Vec<SessionDump>,
    /// The receive counters of the whole engine.
    pub stats: GlobalStats,
    /// VRRP and checker engines connected for events.
    pub consumers: usize,
}

/// Copies the engine's sessions (`send_errors` by session).
pub fn take(
    engine: &Engine,
    send_errors: impl Fn(keepalived_bfd::SessionId) -> u64,
    consumers: usize,
) -> BfdSnapshot {
    BfdSnapshot {
        sessions: engine
            .sessions()
            .map(|s| SessionDump {
                config: s.config().clone(),
                src_port: s.src_port(),
                state: s.snapshot(),
                send_errors: send_errors(s.id()),
            })
            .collect(),
        stats: *engine.stats(),
        consumers,
    }
}

impl BfdSnapshot {
    /// The numbers for the metrics.
    pub fn metrics(&self) -> BfdMetrics {
        let s = &self.stats;
        let reasons = [
            ("truncated", s.truncated),
            ("version", s.bad_version),
            ("length", s.bad_length),
            ("detect_mult", s.zero_detect_mult),
            ("multipoint", s.multipoint),
            ("my_discriminator", s.zero_my_discr),
            ("your_discriminator", s.zero_your_discr),
            ("poll_and_final", s.poll_and_final),
            ("diagnostic", s.bad_diag),
            ("unknown_discriminator", s.unknown_discr),
            ("no_session", s.no_session),
            ("wrong_port", s.wrong_port),
            ("bad_ttl", s.bad_ttl),
            ("authentication", s.auth),
            ("admin_down", s.admin_down),
        ];
        BfdMetrics {
            sessions: self
                .sessions
                .iter()
                .map(|d| BfdSessionMetrics {
                    name: d.config.name.clone(),
                    neighbor: d.config.neighbor.to_string(),
                    state: match d.state.state {
                        keepalived_bfd::State::AdminDown => 0,
                        keepalived_bfd::State::Down => 1,
                        keepalived_bfd::State::Init => 2,
                        keepalived_bfd::State::Up => 3,
                    },
                    detect_time_us: d.state.detect_time_us,
                    tx: d.state.stats.tx,
                    rx: d.state.stats.rx,
                    rx_dropped: d.state.stats.rx_dropped,
                    send_errors: d.send_errors,
                    up: d.state.stats.up,
                    down: d.state.stats.down,
                    expired: d.state.stats.expired,
                })
                .collect(),
            rx_errors: reasons
                .into_iter()
                .map(|(r, n)| (r.to_owned(), n))
                .collect(),
        }
    }

    /// The text of `keepalived_bfd.data`, keepalived's words (its timer and thread lines,
    /// which print pointers, are left out; the counters are ours).
    pub fn data_text(&self) -> String {
        let mut out = String::new();
        let w = &mut out;
        let _ = writeln!(w, "------< BFD Data >------");
        let _ = writeln!(w, " event consumers = {}", self.consumers);
        let s = &self.stats;
        let _ = writeln!(
            w,
            " packets received = {}, dropped = {}",
            s.rx_ok,
            s.dropped()
        );
        if self.sessions.is_empty() {
            return out;
        }
        let _ = writeln!(w, "------< BFD Topology >------");
        for d in &self.sessions {
            write_session(w, d);
        }
        out
    }
}

fn write_session(w: &mut String, d: &SessionDump) {
    let c = &d.config;
    let st = &d.state;
    let _ = writeln!(w, " BFD Instance = {}", c.name);
    let _ = writeln!(w, "   Neighbor IP = {}", c.neighbor);
    if let Some(src) = c.source {
        let _ = writeln!(w, "   Source IP = {src}");
    }
    let _ = writeln!(w, "   Required min RX interval = {} us", c.min_rx_us);
    let _ = writeln!(w, "   Desired min TX interval = {} us", c.min_tx_us);
    let _ = writeln!(w, "   Desired idle TX interval = {} us", c.idle_tx_us);
    let _ = writeln!(w, "   Detection multiplier = {}", c.multiplier);
    let ttl_word = if c.neighbor.is_ipv4() {
        "TTL"
    } else {
        "hoplimit"
    };
    let _ = writeln!(w, "   {ttl_word} = {}", c.ttl);
    let _ = writeln!(w, "   max_hops = {}", c.max_hops);
    let _ = writeln!(w, "   passive = {}", c.passive);
    let _ = writeln!(w, "   multihop = {}", c.multihop);
    let _ = writeln!(w, "   source port = {}", d.src_port);
    let _ = writeln!(
        w,
        "   send error = {}",
        if d.send_errors > 0 { "true" } else { "false" }
    );
    let _ = writeln!(w, "   local state = {}", st.state.name());
    let _ = writeln!(w, "   remote state = {}", st.remote_state.name());
    let _ = writeln!(w, "   local discriminator = 0x{:x}", st.local_discr);
    let _ = writeln!(w, "   remote discriminator = 0x{:x}", st.remote_discr);
    let _ = writeln!(w, "   local diag = {}", st.local_diag.text());
    let _ = writeln!(w, "   remote diag = {}", st.remote_diag.text());
    let _ = writeln!(w, "   remote min tx intv = {} us", st.remote_min_tx_us);
    let _ = writeln!(w, "   remote min rx intv = {} us", st.remote_min_rx_us);
    let _ = writeln!(w, "   remote detect multiplier = {}", st.remote_detect_mult);
    let _ = writeln!(w, "   {}poll", if st.polling { "" } else { "!" });
    let _ = writeln!(w, "   local tx intv = {} us", st.tx_interval_us);
    let _ = writeln!(w, "   local detection time = {} us", st.detect_time_us);
    let x = &st.stats;
    let _ = writeln!(
        w,
        "   packets sent = {}, received = {}, dropped = {}",
        x.tx, x.rx, x.rx_dropped
    );
    let _ = writeln!(
        w,
        "   times up = {}, down = {}, expired = {}",
        x.up, x.down, x.expired
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use keepalived_bfd::Instant;

    #[test]
    fn the_dump_names_each_session_in_keepalived_words() {
        let mut engine = Engine::new(7);
        let mut cfg = SessionConfig::new("b1", "192.0.2.2".parse().expect("addr"));
        cfg.source = Some("192.0.2.1".parse().expect("addr"));
        engine
            .add_session(Instant::from_nanos(0), cfg)
            .expect("added");
        while engine.poll_action().is_some() {}
        let text = take(&engine, |_| 0, 2).data_text();
        assert!(
            text.contains("------< BFD Topology >------\n BFD Instance = b1\n"),
            "{text}"
        );
        assert!(text.contains("   Neighbor IP = 192.0.2.2\n   Source IP = 192.0.2.1\n"));
        assert!(text.contains("   Required min RX interval = 10000 us\n"));
        assert!(text.contains("   TTL = 255\n"));
        assert!(text.contains("   local state = Down\n"));
        assert!(text.contains(" event consumers = 2\n"));
    }

    #[test]
    fn the_dump_goes_where_state_dump_file_says_with_bfd_added() {
        let mut d = keepalived_config::Config::default().global.defs;
        assert_eq!(data_path(&d), dump::tmp_dir().join("keepalived_bfd.data"));
        d.state_dump_file = Some("/run/ka/".into());
        assert_eq!(data_path(&d), Path::new("/run/ka/keepalived_bfd.data"));
        d.state_dump_file = Some("/run/ka/state.txt".into());
        assert_eq!(data_path(&d), Path::new("/run/ka/state_bfd.txt"));
        d.state_dump_file = Some("/run/ka/state".into());
        assert_eq!(data_path(&d), Path::new("/run/ka/state_bfd"));
    }
}
