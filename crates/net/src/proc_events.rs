//! Process events (fork, exec, comm change, exit) from the kernel's process connector
//! (`NETLINK_CONNECTOR`, group `CN_IDX_PROC`), as `vrrp_track_process` needs them.
//!
//! [`ProcConnector::open`] subscribes (`PROC_CN_MCAST_LISTEN`, which needs `CAP_NET_ADMIN` and
//! works only in the initial network namespace); [`ProcConnector::recv`] reads what is queued
//! without blocking; [`parse_proc_events`] decodes a datagram (pure, never panics).
//!
//! Wire layout (`linux/connector.h`, `linux/cn_proc.h`), all fields in host byte order:
//!
//! ```text
//! nlmsghdr (16) | cn_msg: idx u32, val u32, seq u32, ack u32, len u16, flags u16 (20)
//!               | proc_event: what u32, cpu u32, timestamp_ns u64 (16) | event_data
//! ```

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::time::{Duration, Instant};

use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_CONNECTOR};
use nix::poll::{PollFd, PollFlags, PollTimeout};

use crate::error::{NetError, Result};

/// The connector index of process events (`CN_IDX_PROC`), also the multicast group.
pub const CN_IDX_PROC: u32 = 1;
/// The connector value of process events (`CN_VAL_PROC`).
pub const CN_VAL_PROC: u32 = 1;

const NLMSG_HDR_LEN: usize = 16;
const NLMSG_DONE: u16 = 3;
const CN_MSG_LEN: usize = 20;
const PROC_EVENT_HDR_LEN: usize = 16;
const PROC_CN_MCAST_LISTEN: u32 = 1;
const PROC_CN_MCAST_IGNORE: u32 = 2;

const PROC_EVENT_NONE: u32 = 0;
const PROC_EVENT_FORK: u32 = 0x0000_0001;
const PROC_EVENT_EXEC: u32 = 0x0000_0002;
const PROC_EVENT_COMM: u32 = 0x0000_0200;
const PROC_EVENT_EXIT: u32 = 0x8000_0000;

/// How long [`ProcConnector::open`] waits for the kernel to acknowledge the subscription.
const ACK_WAIT: Duration = Duration::from_secs(1);

/// One process event. Pids are as the kernel names them: `pid` is the thread, `tgid` the
/// process (thread group); a process's own events have `pid == tgid`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcEvent {
    /// `PROC_EVENT_FORK`: a new thread or process (`child_pid != child_tgid` for a thread).
    Fork {
        /// The forking thread.
        parent_pid: u32,
        /// Its process.
        parent_tgid: u32,
        /// The new thread.
        child_pid: u32,
        /// Its process.
        child_tgid: u32,
    },
    /// `PROC_EVENT_EXEC`: the process now runs another program.
    Exec {
        /// The thread.
        pid: u32,
        /// Its process.
        tgid: u32,
    },
    /// `PROC_EVENT_COMM`: a thread changed its name (`prctl(PR_SET_NAME)`).
    Comm {
        /// The thread.
        pid: u32,
        /// Its process.
        tgid: u32,
        /// The new name, up to 15 bytes (without the NUL padding).
        comm: [u8; 16],
    },
    /// `PROC_EVENT_EXIT`: a thread exited (the process, if `pid == tgid`).
    Exit {
        /// The thread.
        pid: u32,
        /// Its process.
        tgid: u32,
    },
    /// `PROC_EVENT_NONE`: the kernel's answer to a (un)subscription; `err` is an errno.
    Ack {
        /// 0, or the errno (e.g. `EPERM` without `CAP_NET_ADMIN`).
        err: u32,
    },
}

impl ProcEvent {
    /// The name carried by a [`ProcEvent::Comm`], up to its first NUL.
    #[must_use]
    pub fn comm_bytes(comm: &[u8; 16]) -> &[u8] {
        let end = comm.iter().position(|&b| b == 0).unwrap_or(comm.len());
        &comm[..end]
    }
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    let bytes = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_ne_bytes(bytes.try_into().ok()?))
}

fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    let bytes = b.get(off..off.checked_add(2)?)?;
    Some(u16::from_ne_bytes(bytes.try_into().ok()?))
}

/// Decodes the process events in one netlink datagram into `out` (appending); messages that
/// are short, of another connector, or of event kinds not listed in [`ProcEvent`] are skipped.
/// Returns how many events were appended.
pub fn parse_proc_events(datagram: &[u8], out: &mut Vec<ProcEvent>) -> usize {
    let before = out.len();
    let mut rest = datagram;
    while let Some(len) = u32_at(rest, 0) {
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        if len < NLMSG_HDR_LEN || len > rest.len() {
            break;
        }
        if let Some(ev) = parse_message(&rest[NLMSG_HDR_LEN..len]) {
            out.push(ev);
        }
        // NLMSG_ALIGN: messages start on 4-byte boundaries.
        let next = len.saturating_add(3) & !3;
        rest = rest.get(next..).unwrap_or(&[]);
    }
    out.len() - before
}

/// One `cn_msg` carrying a `proc_event`.
fn parse_message(cn: &[u8]) -> Option<ProcEvent> {
    if u32_at(cn, 0)? != CN_IDX_PROC || u32_at(cn, 4)? != CN_VAL_PROC {
        return None;
    }
    let data_len = usize::from(u16_at(cn, 16)?);
    let ev = cn.get(CN_MSG_LEN..CN_MSG_LEN.checked_add(data_len)?)?;
    let what = u32_at(ev, 0)?;
    let d = ev.get(PROC_EVENT_HDR_LEN..)?;
    let event = match what {
        PROC_EVENT_NONE => ProcEvent::Ack { err: u32_at(d, 0)? },
        PROC_EVENT_FORK => ProcEvent::Fork {
            parent_pid: u32_at(d, 0)?,
            parent_tgid: u32_at(d, 4)?,
            child_pid: u32_at(d, 8)?,
            child_tgid: u32_at(d, 12)?,
        },
        PROC_EVENT_EXEC => ProcEvent::Exec {
            pid: u32_at(d, 0)?,
            tgid: u32_at(d, 4)?,
        },
        PROC_EVENT_COMM => ProcEvent::Comm {
            pid: u32_at(d, 0)?,
            tgid: u32_at(d, 4)?,
            comm: d.get(8..24)?.try_into().ok()?,
        },
        PROC_EVENT_EXIT => ProcEvent::Exit {
            pid: u32_at(d, 0)?,
            tgid: u32_at(d, 4)?,
        },
        _ => return None,
    };
    Some(event)
}

/// The subscription message: `nlmsghdr` + `cn_msg` + the multicast op.
fn mcast_message(op: u32, seq: u32) -> Vec<u8> {
    let total = NLMSG_HDR_LEN + CN_MSG_LEN + 4;
    let mut m = Vec::with_capacity(total);
    m.extend_from_slice(&u32::try_from(total).unwrap_or(0).to_ne_bytes());
    m.extend_from_slice(&NLMSG_DONE.to_ne_bytes());
    m.extend_from_slice(&0u16.to_ne_bytes()); // flags
    m.extend_from_slice(&seq.to_ne_bytes());
    m.extend_from_slice(&std::process::id().to_ne_bytes());
    m.extend_from_slice(&CN_IDX_PROC.to_ne_bytes());
    m.extend_from_slice(&CN_VAL_PROC.to_ne_bytes());
    m.extend_from_slice(&seq.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes()); // ack
    m.extend_from_slice(&4u16.to_ne_bytes()); // len
    m.extend_from_slice(&0u16.to_ne_bytes()); // flags
    m.extend_from_slice(&op.to_ne_bytes());
    m
}

/// A subscription to the kernel's process events. Non-blocking: wait for readability (e.g.
/// with tokio's `AsyncFd`), then drain with [`recv`](Self::recv).
#[derive(Debug)]
pub struct ProcConnector {
    socket: Socket,
    buf: Vec<u8>,
}

impl ProcConnector {
    /// Opens the connector socket, joins `CN_IDX_PROC`, subscribes and waits (up to a
    /// second) for the kernel's acknowledgement.
    ///
    /// # Errors
    /// [`NetError::Socket`] if the socket cannot be opened or bound (`EPROTONOSUPPORT` outside
    /// the initial network namespace or without `CONFIG_PROC_EVENTS`), or if the kernel
    /// refuses the subscription (`EPERM` without `CAP_NET_ADMIN`) or does not answer.
    pub fn open() -> Result<Self> {
        let err = |op: &'static str| {
            move |source: io::Error| NetError::Socket {
                op,
                ifname: "proc connector".to_owned(),
                source,
            }
        };
        let mut socket =
            Socket::new(NETLINK_CONNECTOR).map_err(err("socket(NETLINK_CONNECTOR)"))?;
        socket
            .bind(&SocketAddr::new(0, CN_IDX_PROC))
            .map_err(err("bind(CN_IDX_PROC)"))?;
        // Bursts of forks can be large; a bigger buffer makes an overrun (ENOBUFS) rarer.
        let _ = socket.set_rx_buf_sz(1 << 20);
        socket.set_non_blocking(true).map_err(err("O_NONBLOCK"))?;
        socket
            .send(&mcast_message(PROC_CN_MCAST_LISTEN, 1), 0)
            .map_err(err("PROC_CN_MCAST_LISTEN"))?;
        let mut conn = Self {
            socket,
            buf: Vec::with_capacity(64 * 1024),
        };
        conn.wait_ack().map_err(err("PROC_CN_MCAST_LISTEN"))?;
        Ok(conn)
    }

    fn wait_ack(&mut self) -> io::Result<()> {
        let deadline = Instant::now() + ACK_WAIT;
        let mut events = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::Error::from(io::ErrorKind::TimedOut));
            }
            let ms = u16::try_from(left.as_millis().max(1)).unwrap_or(u16::MAX);
            let mut fds = [PollFd::new(self.socket.as_fd(), PollFlags::POLLIN)];
            match nix::poll::poll(&mut fds, PollTimeout::from(ms)) {
                Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                Err(e) => return Err(e.into()),
            }
            events.clear();
            match self.recv(&mut events) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
            for ev in &events {
                if let ProcEvent::Ack { err } = ev {
                    return match i32::try_from(*err) {
                        Ok(0) => Ok(()),
                        Ok(errno) => Err(io::Error::from_raw_os_error(errno)),
                        Err(_) => Err(io::Error::other("bad acknowledgement")),
                    };
                }
            }
        }
    }

    /// Reads one datagram, appending its events to `out`; returns how many.
    ///
    /// # Errors
    /// `WouldBlock` when nothing is queued; `ENOBUFS` (raw OS error) when the kernel dropped
    /// events because the socket buffer was full: the caller must then rescan `/proc`.
    pub fn recv(&mut self, out: &mut Vec<ProcEvent>) -> io::Result<usize> {
        self.buf.clear();
        self.socket.recv(&mut self.buf, 0)?;
        Ok(parse_proc_events(&self.buf, out))
    }
}

impl Drop for ProcConnector {
    fn drop(&mut self) {
        // The kernel counts listeners to decide whether to build events at all.
        let _ = self.socket.send(&mcast_message(PROC_CN_MCAST_IGNORE, 2), 0);
    }
}

impl AsFd for ProcConnector {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

impl AsRawFd for ProcConnector {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A datagram as the kernel builds it: nlmsghdr + cn_msg + proc_event.
    fn datagram(what: u32, data: &[u8]) -> Vec<u8> {
        let ev_len = PROC_EVENT_HDR_LEN + data.len();
        let total = NLMSG_HDR_LEN + CN_MSG_LEN + ev_len;
        let mut m = Vec::new();
        m.extend_from_slice(&u32::try_from(total).unwrap().to_ne_bytes());
        m.extend_from_slice(&NLMSG_DONE.to_ne_bytes());
        m.extend_from_slice(&[0; 10]); // flags, seq, pid
        m.extend_from_slice(&CN_IDX_PROC.to_ne_bytes());
        m.extend_from_slice(&CN_VAL_PROC.to_ne_bytes());
        m.extend_from_slice(&[0; 8]); // seq, ack
        m.extend_from_slice(&u16::try_from(ev_len).unwrap().to_ne_bytes());
        m.extend_from_slice(&[0; 2]);
        m.extend_from_slice(&what.to_ne_bytes());
        m.extend_from_slice(&[0xa5; 12]); // cpu, timestamp
        m.extend_from_slice(data);
        m
    }

    fn words(w: &[u32]) -> Vec<u8> {
        w.iter().flat_map(|x| x.to_ne_bytes()).collect()
    }

    #[test]
    fn decodes_each_kind() {
        let mut out = Vec::new();
        parse_proc_events(
            &datagram(PROC_EVENT_FORK, &words(&[10, 10, 11, 11])),
            &mut out,
        );
        parse_proc_events(&datagram(PROC_EVENT_EXEC, &words(&[11, 11])), &mut out);
        let mut comm = words(&[11, 11]);
        comm.extend_from_slice(b"ka-test\0\0\0\0\0\0\0\0\0");
        parse_proc_events(&datagram(PROC_EVENT_COMM, &comm), &mut out);
        parse_proc_events(
            &datagram(PROC_EVENT_EXIT, &words(&[11, 11, 0, 9, 10, 10])),
            &mut out,
        );
        parse_proc_events(&datagram(PROC_EVENT_NONE, &words(&[1])), &mut out);
        assert_eq!(out.len(), 5);
        assert_eq!(
            out[0],
            ProcEvent::Fork {
                parent_pid: 10,
                parent_tgid: 10,
                child_pid: 11,
                child_tgid: 11
            }
        );
        assert_eq!(out[1], ProcEvent::Exec { pid: 11, tgid: 11 });
        let ProcEvent::Comm { comm, .. } = out[2] else {
            panic!("{:?}", out[2]);
        };
        assert_eq!(ProcEvent::comm_bytes(&comm), b"ka-test");
        assert_eq!(out[3], ProcEvent::Exit { pid: 11, tgid: 11 });
        assert_eq!(out[4], ProcEvent::Ack { err: 1 });
    }

    #[test]
    fn two_messages_in_one_datagram() {
        let mut d = datagram(PROC_EVENT_EXEC, &words(&[5, 5]));
        d.extend(datagram(PROC_EVENT_EXIT, &words(&[5, 5, 0, 0, 1, 1])));
        let mut out = Vec::new();
        assert_eq!(parse_proc_events(&d, &mut out), 2);
    }

    #[test]
    fn truncated_foreign_and_unknown_are_skipped() {
        let good = datagram(PROC_EVENT_EXEC, &words(&[5, 5]));
        let mut out = Vec::new();
        for cut in 0..good.len() {
            parse_proc_events(&good[..cut], &mut out);
        }
        assert!(out.is_empty(), "{out:?}");
        let mut foreign = good.clone();
        foreign[NLMSG_HDR_LEN] = 7; // another connector index
        assert_eq!(parse_proc_events(&foreign, &mut out), 0);
        // PROC_EVENT_UID is not decoded.
        assert_eq!(
            parse_proc_events(&datagram(4, &words(&[1, 1, 0, 0])), &mut out),
            0
        );
        // A length past the end or below the header stops decoding.
        let mut bad = good.clone();
        bad[..4].copy_from_slice(&u32::MAX.to_ne_bytes());
        assert_eq!(parse_proc_events(&bad, &mut out), 0);
        bad[..4].copy_from_slice(&3u32.to_ne_bytes());
        assert_eq!(parse_proc_events(&bad, &mut out), 0);
    }

    #[test]
    fn listen_message_layout() {
        let m = mcast_message(PROC_CN_MCAST_LISTEN, 7);
        assert_eq!(m.len(), 40);
        assert_eq!(u32_at(&m, 0), Some(40));
        assert_eq!(u16_at(&m, 4), Some(NLMSG_DONE));
        assert_eq!(u32_at(&m, 16), Some(CN_IDX_PROC));
        assert_eq!(u16_at(&m, 32), Some(4));
        assert_eq!(u32_at(&m, 36), Some(PROC_CN_MCAST_LISTEN));
    }

    /// Needs root in the initial network namespace; sees its own child's fork, exec and exit.
    #[test]
    fn sees_a_child_exec_and_exit() {
        let mut conn = match ProcConnector::open() {
            Ok(c) => c,
            Err(e) => {
                eprintln!("skipped: process connector unavailable: {e}");
                return;
            }
        };
        let child = std::process::Command::new("/bin/true").status().unwrap();
        assert!(child.success());
        let mut events = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(2);
        let me = std::process::id();
        let mut child_pid = None;
        let mut saw = (false, false);
        while Instant::now() < deadline && !(saw.0 && saw.1) {
            events.clear();
            match conn.recv(&mut events) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                }
                Err(e) => panic!("{e}"),
            }
            for ev in &events {
                match *ev {
                    ProcEvent::Fork {
                        parent_tgid,
                        child_pid: c,
                        child_tgid,
                        ..
                    } if parent_tgid == me && c == child_tgid => child_pid = Some(c),
                    ProcEvent::Exec { tgid, .. } if Some(tgid) == child_pid => saw.0 = true,
                    ProcEvent::Exit { tgid, .. } if Some(tgid) == child_pid => saw.1 = true,
                    _ => {}
                }
            }
        }
        assert_eq!(saw, (true, true), "child {child_pid:?}");
    }
}
