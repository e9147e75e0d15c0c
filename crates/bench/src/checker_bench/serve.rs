//! The target server of `checker-bench`: a tokio process (this same executable, started with
//! [`SERVE_ARG`] inside the lab namespace) accepting on `0.0.0.0:80`, so that every
//! `127.x.y.z:80` is a distinct target. It counts accepted connections (`tcp`) or answered
//! requests (`http`) and rewrites `ELAPSED_NS COUNT` into its stats file every 200 ms.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};

/// First argument that turns the benchmark executable into the target server:
/// `SERVE_ARG tcp|http STATS_FILE`.
pub const SERVE_ARG: &str = "__serve";

/// The reply to every HTTP request.
const REPLY: &[u8] = b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok";

/// Raises RLIMIT_NOFILE to `want` (soft and hard; root may raise the hard limit).
pub fn raise_nofile(want: u64) {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return;
    };
    if soft >= want {
        return;
    }
    if setrlimit(Resource::RLIMIT_NOFILE, want, want.max(hard)).is_err() {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
    }
}

/// Entry point of the server: `args` are what follows [`SERVE_ARG`].
pub fn serve_main(args: &[String]) -> ExitCode {
    let [kind, stats] = args else {
        eprintln!("usage: checker-bench {SERVE_ARG} tcp|http STATS_FILE");
        return ExitCode::from(2);
    };
    let http = match kind.as_str() {
        "tcp" => false,
        "http" => true,
        _ => {
            eprintln!("checker-bench serve: unknown kind {kind}");
            return ExitCode::from(2);
        }
    };
    raise_nofile(1 << 20);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let rt = match rt {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("checker-bench serve: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(serve(http, PathBuf::from(stats))) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("checker-bench serve: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(http: bool, stats: PathBuf) -> std::io::Result<()> {
    let sock = TcpSocket::new_v4()?;
    sock.set_reuseaddr(true)?;
    sock.bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, 80)))?;
    let listener = sock.listen(65_535)?;
    let count = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let c = count.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            write_stats(&stats, start.elapsed(), c.load(Ordering::Relaxed));
        }
    });
    loop {
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                // EMFILE and the like: back off a little rather than spin.
                eprintln!("checker-bench serve: accept: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        if http {
            let c = count.clone();
            tokio::spawn(async move {
                if answer(stream).await.is_ok() {
                    c.fetch_add(1, Ordering::Relaxed);
                }
            });
        } else {
            count.fetch_add(1, Ordering::Relaxed);
            drop(stream);
        }
    }
}

/// Reads a request up to its blank line (at most 8 KiB), answers and closes.
async fn answer(mut s: TcpStream) -> std::io::Result<()> {
    let mut buf = [0u8; 8192];
    let mut len = 0;
    let read = async {
        loop {
            let n = s.read(&mut buf[len..]).await?;
            if n == 0 {
                return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof));
            }
            len += n;
            if buf[..len].windows(4).any(|w| w == b"\r\n\r\n") {
                return Ok(());
            }
            if len == buf.len() {
                return Err(std::io::Error::from(std::io::ErrorKind::InvalidData));
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
    s.write_all(REPLY).await?;
    s.shutdown().await
}

fn write_stats(path: &Path, elapsed: Duration, count: u64) {
    let tmp = path.with_extension("tmp");
    let text = format!("{} {count}\n", elapsed.as_nanos());
    if std::fs::write(&tmp, text).is_ok() {
        let _ = std::fs::rename(&tmp, path);
    }
}

/// Reads a stats file: (server's elapsed time, count).
pub fn read_stats(path: &Path) -> Option<(Duration, u64)> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut w = text.split_whitespace();
    let ns: u64 = w.next()?.parse().ok()?;
    let count = w.next()?.parse().ok()?;
    Some((Duration::from_nanos(ns), count))
}
