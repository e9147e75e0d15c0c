//! An engine process's AgentX subagent (`enable_snmp_*`): connects to the master agent that
//! `snmp_socket` names (default `unix:/var/agentx/master`; also `tcp:HOST:PORT`), registers its
//! subtrees, answers reads from a [`View`] its engine builds (one view serves the reads of a
//! second, so a walk sees one moment), and connects again when the master agent goes away. It
//! runs as a task of its own: the engine's loop is asked for a snapshot, never blocked.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use keepalived_agentx::pdu::{self, Header, Pdu, error};
use keepalived_agentx::{Oid, View};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tracing::{debug, info, warn};

/// keepalived's enterprise subtree: `1.3.6.1.4.1.9586.100.5`.
pub const KEEPALIVED_MIB: &[u32] = &[1, 3, 6, 1, 4, 1, 9586, 100, 5];
/// Where the master agent listens without `snmp_socket`.
pub const DEFAULT_SOCKET: &str = "unix:/var/agentx/master";
/// How long a view answers reads.
const VIEW_LIFETIME: Duration = Duration::from_secs(1);
/// How long to wait before connecting again.
const RETRY: Duration = Duration::from_secs(5);
/// How long the master agent has to answer the Open and each Register.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves `subtrees` on the master agent at `socket` (keepalived's `snmp_socket` syntax) until
/// the task is aborted, answering from the views `view()` builds.
pub async fn serve<F, Fut>(socket: String, name: &'static str, subtrees: Vec<Oid>, view: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = View>,
{
    let mut cache: Option<(Instant, Arc<View>)> = None;
    loop {
        match session(&socket, name, &subtrees, &view, &mut cache).await {
            Ok(()) => info!("SNMP: the master agent at {socket} closed the session"),
            Err(e) => warn!("SNMP: AgentX session with {socket}: {e}; trying again in 5 s"),
        }
        tokio::time::sleep(RETRY).await;
    }
}

type Stream = Box<dyn AsyncReadWrite + Unpin + Send>;

trait AsyncReadWrite: AsyncRead + AsyncWrite {}
impl<T: AsyncRead + AsyncWrite> AsyncReadWrite for T {}

async fn connect(socket: &str) -> std::io::Result<Stream> {
    if let Some(hostport) = socket.strip_prefix("tcp:") {
        let s = tokio::net::TcpStream::connect(hostport).await?;
        return Ok(Box::new(s));
    }
    let path = socket.strip_prefix("unix:").unwrap_or(socket);
    Ok(Box::new(tokio::net::UnixStream::connect(path).await?))
}

/// One session: open, register, answer until the master agent closes it.
async fn session<F, Fut>(
    socket: &str,
    name: &str,
    subtrees: &[Oid],
    view: &F,
    cache: &mut Option<(Instant, Arc<View>)>,
) -> Result<(), String>
where
    F: Fn() -> Fut,
    Fut: Future<Output = View>,
{
    let mut stream = connect(socket).await.map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    let mut packet = 1u32;
    let open = Pdu::Open {
        timeout: 0,
        id: Oid::default(),
        descr: format!("keepalived-rs {name}").into_bytes(),
    };
    let mut header = Header {
        packet_id: packet,
        ..Header::default()
    };
    write(&mut stream, &header, &open).await?;
    let (h, answer) = read_answer(&mut stream, &mut buf).await?;
    check(&answer, "Open")?;
    header.session_id = h.session_id;
    for subtree in subtrees {
        packet += 1;
        header.packet_id = packet;
        let register = Pdu::Register {
            timeout: 0,
            priority: 127,
            subtree: subtree.clone(),
        };
        write(&mut stream, &header, &register).await?;
        let (_, answer) = read_answer(&mut stream, &mut buf).await?;
        check(&answer, &format!("Register {subtree}"))?;
    }
    info!(
        "SNMP: AgentX session {} open on {socket}",
        header.session_id
    );
    loop {
        let (h, request) = read_pdu(&mut stream, &mut buf).await?;
        let varbinds = match &request {
            Pdu::Get(_) | Pdu::GetNext(_) | Pdu::GetBulk { .. } => {
                let current = match cache {
                    Some((at, v)) if at.elapsed() < VIEW_LIFETIME => v.clone(),
                    _ => {
                        let v = Arc::new(view().await);
                        *cache = Some((Instant::now(), v.clone()));
                        v
                    }
                };
                current.answer(&request).unwrap_or_default()
            }
            Pdu::TestSet(vbs) => {
                // Nothing is writable yet: refuse the first variable.
                let refusal = Pdu::Response {
                    uptime: 0,
                    error: error::NOT_WRITABLE,
                    index: 1,
                    varbinds: vbs.clone(),
                };
                write(&mut stream, &h, &refusal).await?;
                continue;
            }
            Pdu::CommitSet | Pdu::UndoSet | Pdu::CleanupSet => Vec::new(),
            Pdu::Close { .. } => return Ok(()),
            Pdu::Response { .. } => continue,
            other => {
                debug!("SNMP: ignored {other:?}");
                continue;
            }
        };
        let response = Pdu::Response {
            uptime: 0,
            error: error::NO_ERROR,
            index: 0,
            varbinds,
        };
        write(&mut stream, &h, &response).await?;
    }
}

fn check(answer: &Pdu, what: &str) -> Result<(), String> {
    match answer {
        Pdu::Response { error: 0, .. } => Ok(()),
        Pdu::Response { error, .. } => Err(format!("{what} refused (error {error})")),
        other => Err(format!("{what} answered with {other:?}")),
    }
}

async fn write(stream: &mut Stream, header: &Header, pdu: &Pdu) -> Result<(), String> {
    let bytes = pdu::encode(header, pdu);
    stream.write_all(&bytes).await.map_err(|e| e.to_string())
}

/// The next PDU from the master agent.
async fn read_pdu(stream: &mut Stream, buf: &mut Vec<u8>) -> Result<(Header, Pdu), String> {
    loop {
        if let Some(len) = pdu::frame_len(buf)
            && buf.len() >= len
        {
            let decoded = pdu::decode(buf).map_err(|e| e.to_string());
            buf.drain(..len.min(buf.len()));
            return decoded;
        }
        if pdu::frame_len(buf).is_some_and(|len| len > pdu::MAX_PDU) {
            return Err("a PDU longer than the limit".into());
        }
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("the master agent closed the connection".into());
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
    }
}

async fn read_answer(stream: &mut Stream, buf: &mut Vec<u8>) -> Result<(Header, Pdu), String> {
    tokio::time::timeout(ANSWER_TIMEOUT, read_pdu(stream, buf))
        .await
        .map_err(|_| "no answer from the master agent".to_owned())?
}
