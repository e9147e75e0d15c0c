//! The many-port TCP sink of the VM reference ([`super::vm_ref`]): this same executable, started
//! with [`SINK_ARG`], listens on `N` consecutive ports of one address, accepts and closes every
//! connection, and counts accepts per port (per target), so that a run can prove every target
//! was checked. It rewrites `ELAPSED_NS COUNT0 COUNT1 ...` into its stats file every 200 ms.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::net::TcpSocket;

/// First argument that turns the benchmark executable into the sink:
/// `SINK_ARG ADDR FIRST_PORT N STATS_FILE`.
pub const SINK_ARG: &str = "__sink";

/// Entry point of the sink: `args` are what follows [`SINK_ARG`].
pub fn sink_main(args: &[String]) -> ExitCode {
    let parsed = match args {
        [addr, port, n, stats] => addr
            .parse::<IpAddr>()
            .ok()
            .zip(port.parse::<u16>().ok())
            .zip(n.parse::<u16>().ok())
            .map(|((a, p), n)| (a, p, n, PathBuf::from(stats))),
        _ => None,
    };
    let Some((addr, first, n, stats)) = parsed else {
        eprintln!("usage: checker-bench {SINK_ARG} ADDR FIRST_PORT N STATS_FILE");
        return ExitCode::from(2);
    };
    if u32::from(first) + u32::from(n) > 65_536 {
        eprintln!("checker-bench sink: ports {first}+{n} go past 65535");
        return ExitCode::from(2);
    }
    super::serve::raise_nofile(1 << 20);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let result = rt.and_then(|rt| rt.block_on(sink(addr, first, n, stats)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("checker-bench sink: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn sink(addr: IpAddr, first: u16, n: u16, stats: PathBuf) -> std::io::Result<()> {
    let counts: Arc<Vec<AtomicU64>> = Arc::new((0..n).map(|_| AtomicU64::new(0)).collect());
    for i in 0..n {
        let sock = if addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        sock.set_reuseaddr(true)?;
        sock.bind(SocketAddr::new(addr, first + i))?;
        let listener = sock.listen(1024)?;
        let counts = counts.clone();
        tokio::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => {
                        if let Some(c) = counts.get(usize::from(i)) {
                            c.fetch_add(1, Ordering::Relaxed);
                        }
                        drop(stream);
                    }
                    Err(e) => {
                        eprintln!("checker-bench sink: accept: {e}");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
        });
    }
    let start = Instant::now();
    loop {
        write_stats(&stats, start.elapsed(), &counts);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn write_stats(path: &Path, elapsed: Duration, counts: &[AtomicU64]) {
    let mut text = elapsed.as_nanos().to_string();
    for c in counts {
        text.push(' ');
        text.push_str(&c.load(Ordering::Relaxed).to_string());
    }
    text.push('\n');
    let tmp = path.with_extension("tmp");
    if std::fs::write(&tmp, text).is_ok() {
        let _ = std::fs::rename(&tmp, path);
    }
}

/// A stats file: the sink's elapsed time and the accept count of each port.
#[derive(Debug, Clone, Default)]
pub struct SinkStats {
    /// Since the sink started.
    pub elapsed: Duration,
    /// Accepts per port, in port order.
    pub counts: Vec<u64>,
}

impl SinkStats {
    /// Reads a stats file (`None` until the sink has written one).
    pub fn read(path: &Path) -> Option<SinkStats> {
        let text = std::fs::read_to_string(path).ok()?;
        let mut w = text.split_whitespace();
        let ns: u64 = w.next()?.parse().ok()?;
        let counts = w.map(str::parse).collect::<Result<Vec<u64>, _>>().ok()?;
        Some(SinkStats {
            elapsed: Duration::from_nanos(ns),
            counts,
        })
    }

    /// Per-port accepts since `before` (same ports).
    pub fn since(&self, before: &SinkStats) -> Vec<u64> {
        self.counts
            .iter()
            .enumerate()
            .map(|(i, c)| c.saturating_sub(before.counts.get(i).copied().unwrap_or(0)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_round_trip_and_deltas() {
        let dir = std::env::temp_dir().join(format!("sink-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.stats");
        let counts: Vec<AtomicU64> = [3, 0, 7].into_iter().map(AtomicU64::new).collect();
        write_stats(&path, Duration::from_millis(1500), &counts);
        let s = SinkStats::read(&path).unwrap();
        assert_eq!(s.elapsed, Duration::from_millis(1500));
        assert_eq!(s.counts, [3, 0, 7]);
        let before = SinkStats {
            elapsed: Duration::ZERO,
            counts: vec![1, 0],
        };
        assert_eq!(s.since(&before), [2, 0, 7]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
