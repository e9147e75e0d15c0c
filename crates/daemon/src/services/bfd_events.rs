//! The BFD engine's session events for the VRRP and checker engines (keepalived's
//! `bfd_event` pipes): the BFD engine serves an abstract unix socket named after the
//! supervising parent ([`Publisher`]); each consumer connects ([`subscribe`]), reads the state
//! of every session, then each change, as lines `UP NAME` / `DOWN NAME`.
//!
//! Why the consumers connect, rather than pipes set up by the parent: any of the three engines
//! may restart on its own, and a connection is simply made again, while a pipe would need the
//! parent to hand new ends to the survivors. A consumer that loses the connection (the BFD
//! engine died or was stopped) reports every session it saw Up as down, and tries again every
//! [`RETRY`]; a session counts as down until the BFD engine says Up, so after a BFD restart
//! trackers come back only as their sessions come Up again.
//!
//! Only a sibling may connect: the server checks the peer's `SO_PEERCRED` (same user, and a
//! child of the same parent).

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::os::linux::net::SocketAddrExt as _;
use std::os::unix::net::{SocketAddr, UnixListener as StdListener, UnixStream as StdStream};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{debug, warn};

use super::ENV_PARENT;

/// How long a consumer waits before connecting again.
pub const RETRY: Duration = Duration::from_millis(100);

/// The longest event line accepted (a `bfd_instance` name is at most 31 characters).
const MAX_LINE: usize = 256;

/// The socket's abstract name: one per daemon (the parent's pid), so two daemons in one network
/// namespace never mix their sessions.
pub fn socket_name() -> String {
    let parent = std::env::var(ENV_PARENT).unwrap_or_else(|_| {
        // An engine started by hand: its own parent stands in for the supervisor.
        nix::unistd::getppid().as_raw().to_string()
    });
    format!("keepalived-rs.{parent}.bfd")
}

/// One event line.
#[cfg_attr(not(feature = "bfd"), allow(dead_code))]
fn line(name: &str, up: bool) -> String {
    format!("{} {name}\n", if up { "UP" } else { "DOWN" })
}

/// Parses one line (without its newline).
fn parse(line: &str) -> Option<(&str, bool)> {
    let (word, name) = line.split_once(' ')?;
    let up = match word {
        "UP" => true,
        "DOWN" => false,
        _ => return None,
    };
    (!name.is_empty()).then_some((name, up))
}

/// The BFD engine's end: the listening socket, every connected consumer and the last state
/// published of each session.
#[cfg_attr(not(feature = "bfd"), allow(dead_code))]
#[derive(Debug)]
pub struct Publisher {
    listener: UnixListener,
    states: BTreeMap<String, bool>,
    clients: Vec<mpsc::UnboundedSender<Vec<u8>>>,
}

#[cfg_attr(not(feature = "bfd"), allow(dead_code))]
impl Publisher {
    /// Binds [`socket_name`] (inside a tokio runtime).
    ///
    /// # Errors
    /// The kernel's error (`EADDRINUSE`: another BFD engine of this daemon is running).
    pub fn bind() -> io::Result<Publisher> {
        let addr = SocketAddr::from_abstract_name(socket_name().as_bytes())?;
        let std = StdListener::bind_addr(&addr)?;
        std.set_nonblocking(true)?;
        Ok(Publisher {
            listener: UnixListener::from_std(std)?,
            states: BTreeMap::new(),
            clients: Vec::new(),
        })
    }

    /// The next consumer that connected and passed the credentials check. Cancel-safe.
    pub async fn accept(&self) -> UnixStream {
        loop {
            match self.listener.accept().await {
                Ok((stream, _)) if sibling(&stream) => return stream,
                Ok(_) => warn!("BFD events: a connection from a stranger refused"),
                Err(e) => {
                    debug!("BFD events: accept: {e}");
                    tokio::time::sleep(RETRY).await;
                }
            }
        }
    }

    /// Serves a consumer: the state of every session now, then each change.
    pub fn add(&mut self, stream: UnixStream) {
        let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
        let mut all = String::new();
        for (name, up) in &self.states {
            all.push_str(&line(name, *up));
        }
        let _ = tx.send(all.into_bytes());
        tokio::spawn(async move {
            let mut stream = stream;
            while let Some(bytes) = rx.recv().await {
                if stream.write_all(&bytes).await.is_err() {
                    break;
                }
            }
        });
        self.clients.push(tx);
    }

    /// Publishes a session's state when it changed (a new session is published too).
    pub fn set(&mut self, name: &str, up: bool) {
        if self.states.get(name) == Some(&up) {
            return;
        }
        self.states.insert(name.to_owned(), up);
        self.send(&line(name, up));
    }

    /// A session is gone (a reload removed it): consumers see it down.
    pub fn remove(&mut self, name: &str) {
        if self.states.remove(name).is_some() {
            self.send(&line(name, false));
        }
    }

    /// Consumers connected now.
    pub fn consumers(&self) -> usize {
        self.clients.len()
    }

    fn send(&mut self, text: &str) {
        self.clients
            .retain(|c| c.send(text.as_bytes().to_vec()).is_ok());
    }
}

/// Whether the peer is one of our supervisor's children running as our user.
#[cfg_attr(not(feature = "bfd"), allow(dead_code))]
fn sibling(stream: &UnixStream) -> bool {
    let Ok(cred) = stream.peer_cred() else {
        return false;
    };
    if cred.uid() != nix::unistd::geteuid().as_raw() {
        return false;
    }
    let Ok(parent) = std::env::var(ENV_PARENT) else {
        return true;
    };
    let Some(pid) = cred.pid() else {
        return false;
    };
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("PPid:").map(|p| p.trim().to_owned()))
        })
        .is_some_and(|ppid| ppid == parent)
}

/// Follows the sessions in `names` and calls `on_change(name, up)` for every change, starting
/// from all down: the caller reports them down before it spawns this. Reconnects after a
/// loss (reporting what was Up as down). Call inside a tokio runtime; abort the task to stop.
pub fn subscribe(
    names: BTreeSet<String>,
    mut on_change: impl FnMut(&str, bool) + Send + 'static,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut up: BTreeSet<String> = BTreeSet::new();
        let mut said_lost = false;
        loop {
            match connect() {
                Ok(stream) => {
                    debug!("BFD events: connected");
                    said_lost = false;
                    let mut lines = BufReader::new(stream).lines();
                    loop {
                        match lines.next_line().await {
                            Ok(Some(l)) if l.len() <= MAX_LINE => {
                                let Some((name, now_up)) = parse(&l) else {
                                    continue;
                                };
                                if !names.contains(name) || up.contains(name) == now_up {
                                    continue;
                                }
                                if now_up {
                                    up.insert(name.to_owned());
                                } else {
                                    up.remove(name);
                                }
                                on_change(name, now_up);
                            }
                            Ok(Some(_)) => break,
                            Ok(None) | Err(_) => break,
                        }
                    }
                    warn!("BFD events: lost the BFD process; its sessions count as down");
                    for name in std::mem::take(&mut up) {
                        on_change(&name, false);
                    }
                }
                Err(e) => {
                    if !said_lost {
                        debug!("BFD events: cannot connect ({e}); retrying");
                        said_lost = true;
                    }
                }
            }
            tokio::time::sleep(RETRY).await;
        }
    })
}

fn connect() -> io::Result<UnixStream> {
    let addr = SocketAddr::from_abstract_name(socket_name().as_bytes())?;
    let s = StdStream::connect_addr(&addr)?;
    s.set_nonblocking(true)?;
    UnixStream::from_std(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_parse_back() {
        assert_eq!(parse(line("b1", true).trim_end()), Some(("b1", true)));
        assert_eq!(parse(line("b 2", false).trim_end()), Some(("b 2", false)));
        assert_eq!(parse("UP"), None);
        assert_eq!(parse("UP "), None);
        assert_eq!(parse("SIDEWAYS b1"), None);
    }

    /// A publisher and a subscriber in one process: the subscriber sees the state at connect,
    /// each change once, only its names, and everything down when the publisher goes away.
    #[tokio::test]
    async fn subscriber_follows_and_falls_back_to_down() {
        // The name is per process (the parent's pid): no other test binds it.
        let mut publisher = Publisher::bind().expect("bind");
        publisher.set("b1", true);
        publisher.set("b2", false);
        publisher.set("other", true);
        let (tx, mut rx) = mpsc::unbounded_channel();
        let names: BTreeSet<String> = ["b1".to_owned(), "b2".to_owned()].into();
        let task = subscribe(names, move |n, up| {
            let _ = tx.send((n.to_owned(), up));
        });
        let stream = tokio::time::timeout(Duration::from_secs(5), publisher.accept())
            .await
            .expect("a consumer connects");
        publisher.add(stream);
        assert_eq!(recv(&mut rx).await, ("b1".to_owned(), true));
        publisher.set("b2", true);
        publisher.set("b2", true);
        publisher.set("other", false);
        assert_eq!(recv(&mut rx).await, ("b2".to_owned(), true));
        publisher.remove("b1");
        assert_eq!(recv(&mut rx).await, ("b1".to_owned(), false));
        drop(publisher);
        assert_eq!(recv(&mut rx).await, ("b2".to_owned(), false));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(rx.try_recv().is_err(), "nothing more");
        task.abort();
    }

    async fn recv(rx: &mut mpsc::UnboundedReceiver<(String, bool)>) -> (String, bool) {
        tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("an event")
            .expect("open")
    }
}
