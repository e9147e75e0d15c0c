//! Readiness: each engine process tells the parent it is up, and that it finished a reload,
//! over an abstract unix stream socket the parent listens on (its name in [`ENV_READY`]); the
//! parent checks the sender's pid (`SO_PEERCRED`) against its children and tells systemd
//! (`sd_notify`: `READY=1`, `RELOADING=1`, `STOPPING=1`, `STATUS=`) once every engine it runs
//! is up, and again once every engine has reloaded.
//!
//! systemd takes notifications from the main process only (`NotifyAccess=main`), so the
//! engines never write to `NOTIFY_SOCKET` themselves: the parent removes it from their
//! environment, and from the scripts they run.

use std::io::{self, Write as _};
use std::os::linux::net::SocketAddrExt as _;
use std::os::unix::net::{SocketAddr, UnixListener as StdListener, UnixStream};
use std::time::Duration;

use sd_notify::NotifyState;
use tracing::debug;

use crate::services::cli::Engine;

/// The environment variable naming the parent's readiness socket (abstract namespace).
pub const ENV_READY: &str = "KEEPALIVED_RS_READY_SOCKET";

/// What an engine tells the parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report {
    /// The engine is up (`READY=vrrp`).
    Ready(Engine),
    /// The engine finished a reload the parent asked for with SIGHUP, whether it applied the
    /// new configuration or kept the running one (`RELOADED=vrrp`).
    Reloaded(Engine),
    /// The engine keeps this connection open for the watchdog's heartbeat
    /// (`HEARTBEAT=vrrp`, see [`super::heartbeat`]).
    Heartbeat(Engine),
}

impl Report {
    /// The one line sent for it.
    pub(super) fn line(self) -> String {
        match self {
            Report::Ready(e) => format!("READY={}\n", e.as_str()),
            Report::Reloaded(e) => format!("RELOADED={}\n", e.as_str()),
            Report::Heartbeat(e) => format!("HEARTBEAT={}\n", e.as_str()),
        }
    }

    /// Parses a line of [`Report::line`]; `None` for anything else.
    fn parse(line: &str) -> Option<Report> {
        let (what, engine) = line.trim().split_once('=')?;
        let engine = match engine {
            "vrrp" => Engine::Vrrp,
            "checker" => Engine::Checker,
            "bfd" => Engine::Bfd,
            _ => return None,
        };
        match what {
            "READY" => Some(Report::Ready(engine)),
            "RELOADED" => Some(Report::Reloaded(engine)),
            "HEARTBEAT" => Some(Report::Heartbeat(engine)),
            _ => None,
        }
    }
}

/// Tells the parent that this `engine` process is up (nothing without a parent).
pub fn report(engine: Engine) {
    send(Report::Ready(engine));
}

/// Tells the parent that this `engine` process finished a reload (nothing without a parent).
pub fn report_reloaded(engine: Engine) {
    send(Report::Reloaded(engine));
}

fn send(report: Report) {
    let Some(name) = std::env::var_os(ENV_READY) else {
        return;
    };
    let sent = SocketAddr::from_abstract_name(name.as_encoded_bytes())
        .and_then(|addr| UnixStream::connect_addr(&addr))
        .and_then(|mut s| s.write_all(report.line().as_bytes()));
    if let Err(e) = sent {
        debug!("cannot report {report:?} to the parent: {e}");
    }
}

/// The parent's end.
pub struct Listener {
    inner: tokio::net::UnixListener,
    name: String,
}

impl Listener {
    /// Listens on a fresh abstract name. Must be called inside a tokio runtime.
    ///
    /// # Errors
    /// The socket errors.
    pub fn bind() -> io::Result<Listener> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!("keepalived-rs.{}.{nanos:x}.ready", std::process::id());
        let addr = SocketAddr::from_abstract_name(name.as_bytes())?;
        let std = StdListener::bind_addr(&addr)?;
        std.set_nonblocking(true)?;
        Ok(Listener {
            inner: tokio::net::UnixListener::from_std(std)?,
            name,
        })
    }

    /// The abstract name, for [`ENV_READY`].
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The next report, the sender's pid and the connection (kept open by an engine for the
    /// heartbeat). Reports that cannot be read or parsed are skipped.
    pub async fn next(&self) -> (u32, Report, tokio::net::UnixStream) {
        loop {
            let stream = match self.inner.accept().await {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of descriptors, say: do not spin.
                    debug!("readiness socket: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let Some(pid) = stream
                .peer_cred()
                .ok()
                .and_then(|c| c.pid())
                .and_then(|p| u32::try_from(p).ok())
            else {
                continue;
            };
            // The engine writes its one line right after connecting.
            // One line; an engine keeping the connection for the heartbeat sends nothing more
            // before the parent's first ping.
            let read = async {
                let mut buf = [0u8; 32];
                loop {
                    stream.readable().await?;
                    match stream.try_read(&mut buf) {
                        Ok(n) => return Ok(String::from_utf8_lossy(&buf[..n]).into_owned()),
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(e) => return Err(e),
                    }
                }
            };
            let line = tokio::time::timeout(Duration::from_millis(200), read)
                .await
                .unwrap_or_else(|_| Err(io::ErrorKind::TimedOut.into()));
            let Some(report) = line.ok().as_deref().and_then(Report::parse) else {
                continue;
            };
            return (pid, report, stream);
        }
    }
}

/// Sends `states` to systemd when it asked for notifications (`NOTIFY_SOCKET`).
pub fn notify(states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(states) {
        debug!("sd_notify: {e}");
    }
}

/// `RELOADING=1` with the time stamp systemd's `Type=notify-reload` wants.
pub fn notify_reloading() {
    match sd_notify::NotifyState::monotonic_usec_now() {
        Ok(now) => notify(&[NotifyState::Reloading, now]),
        Err(_) => notify(&[NotifyState::Reloading]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_read_back_and_junk_is_refused() {
        for r in [
            Report::Ready(Engine::Vrrp),
            Report::Ready(Engine::Checker),
            Report::Reloaded(Engine::Vrrp),
            Report::Reloaded(Engine::Checker),
            Report::Heartbeat(Engine::Vrrp),
            Report::Heartbeat(Engine::Checker),
        ] {
            assert_eq!(Report::parse(&r.line()), Some(r));
        }
        for junk in [
            "",
            "READY",
            "READY=bgp",
            "RELOADING=vrrp",
            "=vrrp",
            "READY=vrrp=1",
        ] {
            assert_eq!(Report::parse(junk), None, "{junk}");
        }
    }
}
