//! The IPVS client: a generic netlink socket speaking the "IPVS" family with the codec of
//! `keepalived_lb::ipvs`, one request at a time, with typed errors naming the service.

use std::fmt;
use std::io;

use keepalived_lb::ipvs::{
    self, DaemonState, DestKey, Destination, Info, IpvsDecodeError, IpvsEncodeError, IpvsMessage,
    Service, ServiceKey, SyncDaemon, Timeouts,
};
use netlink_packet_core::{
    NLM_F_ACK, NLM_F_REQUEST, NetlinkDeserializable, NetlinkHeader, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_generic::GenlMessage;
use netlink_packet_generic::ctrl::nlas::GenlCtrlAttrs;
use netlink_packet_generic::ctrl::{GenlCtrl, GenlCtrlCmd};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_GENERIC};

use crate::netlink::{recv_datagram, split_messages};

/// What a failed IPVS request was about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IpvsTarget {
    /// The whole table, the counters, the timeouts or the version.
    Table,
    /// One virtual service.
    Service(ServiceKey),
    /// One real server of a service.
    Dest(ServiceKey, DestKey),
    /// The sync daemon of that role.
    Daemon(DaemonState),
}

impl fmt::Display for IpvsTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IpvsTarget::Table => f.write_str("IPVS table"),
            IpvsTarget::Service(s) => write!(f, "service {s}"),
            IpvsTarget::Dest(s, d) => write!(f, "real server {d} of service {s}"),
            IpvsTarget::Daemon(DaemonState::Master) => f.write_str("master sync daemon"),
            IpvsTarget::Daemon(DaemonState::Backup) => f.write_str("backup sync daemon"),
            IpvsTarget::Daemon(DaemonState::Other(n)) => write!(f, "sync daemon state {n}"),
        }
    }
}

/// Everything that can go wrong while programming IPVS.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IpvsError {
    /// The kernel has no generic netlink family "IPVS" (module `ip_vs` not loaded or not
    /// built).
    #[error(
        "IPVS is not available: the kernel has no generic netlink family \"IPVS\" (is ip_vs loaded?)"
    )]
    Unavailable,
    /// `EEXIST`: the service or real server is already there.
    #[error("{op}: {target} already exists")]
    Exists {
        /// The command, e.g. `"IPVS_CMD_NEW_SERVICE"`.
        op: &'static str,
        /// What it was about.
        target: IpvsTarget,
    },
    /// `ESRCH` (no such service) or `ENOENT` (no such real server, daemon).
    #[error("{op}: {target} does not exist")]
    NotFound {
        /// The command.
        op: &'static str,
        /// What it was about.
        target: IpvsTarget,
    },
    /// `ENOENT` while adding or changing a service: the kernel lacks the scheduler (such as
    /// `twos` before Linux 6.x) or the persistence engine.
    #[error(
        "{op}: {target}: the kernel has no scheduler {scheduler:?} or persistence engine {pe:?}"
    )]
    UnknownScheduler {
        /// The command.
        op: &'static str,
        /// The service.
        target: IpvsTarget,
        /// Its scheduler.
        scheduler: String,
        /// Its persistence engine, if any.
        pe: Option<String>,
    },
    /// Any other errno from the kernel (`EINVAL` for bad values, `EPERM` without
    /// `CAP_NET_ADMIN`, ...).
    #[error("{op}: {target}: {source}")]
    Kernel {
        /// The command.
        op: &'static str,
        /// What it was about.
        target: IpvsTarget,
        /// The errno.
        #[source]
        source: io::Error,
    },
    /// The message was refused before sending (name too long, negative weight).
    #[error("{op}: {source}")]
    Encode {
        /// The command.
        op: &'static str,
        /// Why.
        #[source]
        source: IpvsEncodeError,
    },
    /// A reply could not be decoded.
    #[error("{op}: cannot decode the kernel's reply: {source}")]
    Decode {
        /// The command.
        op: &'static str,
        /// Why.
        #[source]
        source: IpvsDecodeError,
    },
    /// The socket failed.
    #[error("{op}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The error.
        #[source]
        source: io::Error,
    },
}

/// Name of a command, for errors.
fn op_name(msg: &IpvsMessage) -> &'static str {
    match msg {
        IpvsMessage::NewService(_) => "IPVS_CMD_NEW_SERVICE",
        IpvsMessage::SetService(_) => "IPVS_CMD_SET_SERVICE",
        IpvsMessage::DelService(_) => "IPVS_CMD_DEL_SERVICE",
        IpvsMessage::GetService(_) => "IPVS_CMD_GET_SERVICE",
        IpvsMessage::NewDest { .. } | IpvsMessage::DestEntry(_) => "IPVS_CMD_NEW_DEST",
        IpvsMessage::SetDest { .. } => "IPVS_CMD_SET_DEST",
        IpvsMessage::DelDest { .. } => "IPVS_CMD_DEL_DEST",
        IpvsMessage::GetDest(_) => "IPVS_CMD_GET_DEST",
        IpvsMessage::NewDaemon(_) => "IPVS_CMD_NEW_DAEMON",
        IpvsMessage::DelDaemon(_) => "IPVS_CMD_DEL_DAEMON",
        IpvsMessage::GetDaemon => "IPVS_CMD_GET_DAEMON",
        IpvsMessage::SetConfig(_) => "IPVS_CMD_SET_CONFIG",
        IpvsMessage::GetConfig => "IPVS_CMD_GET_CONFIG",
        IpvsMessage::SetInfo(_) => "IPVS_CMD_SET_INFO",
        IpvsMessage::GetInfo => "IPVS_CMD_GET_INFO",
        IpvsMessage::Zero(_) => "IPVS_CMD_ZERO",
        IpvsMessage::Flush => "IPVS_CMD_FLUSH",
    }
}

/// What a request is about, for errors.
fn target_of(msg: &IpvsMessage) -> IpvsTarget {
    match msg {
        IpvsMessage::NewService(s) | IpvsMessage::SetService(s) => IpvsTarget::Service(s.key),
        IpvsMessage::DelService(k)
        | IpvsMessage::GetService(Some(k))
        | IpvsMessage::GetDest(k)
        | IpvsMessage::Zero(Some(k)) => IpvsTarget::Service(*k),
        IpvsMessage::NewDest { service, dest } | IpvsMessage::SetDest { service, dest } => {
            IpvsTarget::Dest(*service, dest.key())
        }
        IpvsMessage::DelDest { service, dest } => IpvsTarget::Dest(*service, *dest),
        IpvsMessage::NewDaemon(d) => IpvsTarget::Daemon(d.state),
        IpvsMessage::DelDaemon(s) => IpvsTarget::Daemon(*s),
        _ => IpvsTarget::Table,
    }
}

/// The typed error for the kernel's `errno` answer to `msg`.
pub fn ipvs_kernel_error(msg: &IpvsMessage, errno: i32) -> IpvsError {
    let op = op_name(msg);
    let target = target_of(msg);
    match (errno, msg) {
        (libc::EEXIST, _) => IpvsError::Exists { op, target },
        (libc::ENOENT, IpvsMessage::NewService(s) | IpvsMessage::SetService(s)) => {
            IpvsError::UnknownScheduler {
                op,
                target,
                scheduler: s.scheduler.clone(),
                pe: s.pe_name.clone(),
            }
        }
        (libc::ESRCH | libc::ENOENT, _) => IpvsError::NotFound { op, target },
        (errno, _) => IpvsError::Kernel {
            op,
            target,
            source: io::Error::from_raw_os_error(errno),
        },
    }
}

/// Most requests [`Ipvs::execute_batch`] puts in one datagram (their acknowledgements stay far
/// below the socket's receive buffer).
pub const BATCH_MAX: usize = 64;

/// A synchronous generic netlink socket bound to the "IPVS" family of the calling thread's
/// network namespace.
#[derive(Debug)]
pub struct Ipvs {
    socket: Socket,
    family_id: u16,
    seq: u32,
    sent: u64,
}

impl Ipvs {
    /// Opens a `NETLINK_GENERIC` socket and resolves the family "IPVS"
    /// (`CTRL_CMD_GETFAMILY`).
    ///
    /// # Errors
    /// [`IpvsError::Unavailable`] when the kernel has no IPVS; [`IpvsError::Io`] /
    /// [`IpvsError::Decode`] when the socket or the controller fails.
    pub fn open() -> Result<Ipvs, IpvsError> {
        let err = |source| IpvsError::Io {
            op: "open NETLINK_GENERIC socket",
            source,
        };
        let mut socket = Socket::new(NETLINK_GENERIC).map_err(err)?;
        socket.bind_auto().map_err(err)?;
        socket.connect(&SocketAddr::new(0, 0)).map_err(err)?;
        let mut ipvs = Ipvs {
            socket,
            family_id: 0,
            seq: 0,
            sent: 0,
        };
        ipvs.family_id = ipvs
            .resolve_family(ipvs::consts::IPVS_GENL_NAME)?
            .ok_or(IpvsError::Unavailable)?;
        Ok(ipvs)
    }

    /// The family id the controller gave "IPVS".
    pub fn family_id(&self) -> u16 {
        self.family_id
    }

    /// Netlink messages sent so far, family resolution included (one per request).
    pub fn messages_sent(&self) -> u64 {
        self.sent
    }

    /// The id of generic netlink family `name`, `None` when the kernel has none.
    pub(crate) fn resolve_family(&mut self, name: &str) -> Result<Option<u16>, IpvsError> {
        const OP: &str = "CTRL_CMD_GETFAMILY";
        let ctrl = GenlCtrl {
            cmd: GenlCtrlCmd::GetFamily,
            nlas: vec![GenlCtrlAttrs::FamilyName(name.to_owned())],
        };
        let mut packet = NetlinkMessage::new(
            NetlinkHeader::default(),
            NetlinkPayload::from(GenlMessage::from_payload(ctrl)),
        );
        self.seq = self.seq.wrapping_add(1);
        packet.header.flags = NLM_F_REQUEST | NLM_F_ACK;
        packet.header.sequence_number = self.seq;
        packet.finalize();
        let mut buf = vec![0; packet.buffer_len()];
        packet.serialize(&mut buf);
        self.send_raw(OP, &buf)?;
        let mut id = None;
        loop {
            for msg in self.recv_batch::<GenlMessage<GenlCtrl>>(OP)? {
                if msg.header.sequence_number != self.seq {
                    continue;
                }
                match msg.payload {
                    NetlinkPayload::InnerMessage(genl) => {
                        for nla in &genl.payload.nlas {
                            if let GenlCtrlAttrs::FamilyId(fid) = nla {
                                id = Some(*fid);
                            }
                        }
                    }
                    NetlinkPayload::Error(e) => {
                        return match e.raw_code().saturating_abs() {
                            0 => Ok(id),
                            libc::ENOENT => Ok(None),
                            errno => Err(IpvsError::Io {
                                op: OP,
                                source: io::Error::from_raw_os_error(errno),
                            }),
                        };
                    }
                    NetlinkPayload::Done(_) => return Ok(id),
                    _ => {}
                }
            }
        }
    }

    /// Sends `msg` and collects the kernel's answers: the acknowledgement of a change (empty
    /// vector), the reply of a `GET`, or every message of a [dump](IpvsMessage::is_dump).
    ///
    /// # Errors
    /// [`IpvsError::Encode`] before sending; the typed kernel error
    /// ([`ipvs_kernel_error`]); [`IpvsError::Io`] / [`IpvsError::Decode`].
    pub fn execute(&mut self, msg: &IpvsMessage) -> Result<Vec<IpvsMessage>, IpvsError> {
        let op = op_name(msg);
        msg.validate()
            .map_err(|source| IpvsError::Encode { op, source })?;
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let buf = ipvs::encode(msg, self.family_id, seq);
        self.send_raw(op, &buf)?;
        let mut out = Vec::new();
        loop {
            for reply in self.recv_batch::<GenlMessage<IpvsMessage>>(op)? {
                if reply.header.sequence_number != seq {
                    continue;
                }
                match reply.payload {
                    NetlinkPayload::InnerMessage(genl) => out.push(genl.payload),
                    NetlinkPayload::Error(e) => {
                        return match e.raw_code().saturating_abs() {
                            0 => Ok(out),
                            errno => Err(ipvs_kernel_error(msg, errno)),
                        };
                    }
                    NetlinkPayload::Done(_) => return Ok(out),
                    _ => {}
                }
            }
        }
    }

    /// Sends many changes with few system calls: up to [`BATCH_MAX`] requests per datagram,
    /// then their acknowledgements, in order. The kernel handles each request on its own (a
    /// failure does not stop the ones after it); each still counts as one netlink message.
    /// Meant for add/set/delete commands: replies to `GET`s are dropped.
    ///
    /// # Errors
    /// The outer error when the socket fails or a reply cannot be decoded; otherwise one
    /// result per message, in order, as [`Ipvs::execute`] would give.
    pub fn execute_batch(
        &mut self,
        msgs: &[IpvsMessage],
    ) -> Result<Vec<Result<(), IpvsError>>, IpvsError> {
        const OP: &str = "IPVS batch";
        let mut results: Vec<Option<Result<(), IpvsError>>> = msgs.iter().map(|_| None).collect();
        for (chunk_no, chunk) in msgs.chunks(BATCH_MAX).enumerate() {
            let base = chunk_no * BATCH_MAX;
            let mut buf = Vec::new();
            let mut pending = Vec::new(); // (seq, index into msgs)
            for (i, msg) in (base..).zip(chunk) {
                if let Err(source) = msg.validate() {
                    if let Some(slot) = results.get_mut(i) {
                        *slot = Some(Err(IpvsError::Encode {
                            op: op_name(msg),
                            source,
                        }));
                    }
                    continue;
                }
                self.seq = self.seq.wrapping_add(1);
                buf.extend_from_slice(&ipvs::encode(msg, self.family_id, self.seq));
                pending.push((self.seq, i));
            }
            if !pending.is_empty() {
                self.socket
                    .send(&buf, 0)
                    .map_err(|source| IpvsError::Io { op: OP, source })?;
                self.sent += u64::try_from(pending.len()).unwrap_or(u64::MAX);
            }
            while !pending.is_empty() {
                for reply in self.recv_batch::<GenlMessage<IpvsMessage>>(OP)? {
                    let errno = match reply.payload {
                        NetlinkPayload::Error(e) => e.raw_code().saturating_abs(),
                        NetlinkPayload::Done(_) => 0,
                        _ => continue,
                    };
                    let seq = reply.header.sequence_number;
                    let Some(at) = pending.iter().position(|&(s, _)| s == seq) else {
                        continue;
                    };
                    let (_, i) = pending.swap_remove(at);
                    if let (Some(slot), Some(msg)) = (results.get_mut(i), msgs.get(i)) {
                        *slot = Some(match errno {
                            0 => Ok(()),
                            errno => Err(ipvs_kernel_error(msg, errno)),
                        });
                    }
                }
            }
        }
        Ok(results.into_iter().map(|r| r.unwrap_or(Ok(()))).collect())
    }

    fn send_raw(&mut self, op: &'static str, buf: &[u8]) -> Result<(), IpvsError> {
        self.socket
            .send(buf, 0)
            .map_err(|source| IpvsError::Io { op, source })?;
        self.sent += 1;
        Ok(())
    }

    /// Receives one datagram and decodes every message in it.
    fn recv_batch<T>(&mut self, op: &'static str) -> Result<Vec<NetlinkMessage<T>>, IpvsError>
    where
        T: NetlinkDeserializable,
    {
        let buf = recv_datagram(&self.socket).map_err(|source| IpvsError::Io { op, source })?;
        split_messages(&buf).map_err(|detail| IpvsError::Decode {
            op,
            source: IpvsDecodeError::Framing(detail),
        })
    }

    /// Adds a service (`ipvsadm -A`).
    ///
    /// # Errors
    /// [`IpvsError::Exists`], [`IpvsError::UnknownScheduler`], others as [`Ipvs::execute`].
    pub fn add_service(&mut self, service: &Service) -> Result<(), IpvsError> {
        self.execute(&IpvsMessage::NewService(service.clone()))
            .map(drop)
    }

    /// Changes a service's scheduler, flags and persistence (`ipvsadm -E`).
    ///
    /// # Errors
    /// [`IpvsError::NotFound`], others as [`Ipvs::add_service`].
    pub fn update_service(&mut self, service: &Service) -> Result<(), IpvsError> {
        self.execute(&IpvsMessage::SetService(service.clone()))
            .map(drop)
    }

    /// Removes a service and its real servers (`ipvsadm -D`).
    ///
    /// # Errors
    /// [`IpvsError::NotFound`], others as [`Ipvs::execute`].
    pub fn del_service(&mut self, key: &ServiceKey) -> Result<(), IpvsError> {
        self.execute(&IpvsMessage::DelService(*key)).map(drop)
    }

    /// Every service, with its counters.
    ///
    /// # Errors
    /// As [`Ipvs::execute`].
    pub fn services(&mut self) -> Result<Vec<Service>, IpvsError> {
        let replies = self.execute(&IpvsMessage::GetService(None))?;
        Ok(replies
            .into_iter()
            .filter_map(|m| match m {
                IpvsMessage::NewService(s) => Some(s),
                _ => None,
            })
            .collect())
    }

    /// One service, with its counters; `None` when the kernel has no such service.
    ///
    /// # Errors
    /// As [`Ipvs::execute`].
    pub fn service(&mut self, key: &ServiceKey) -> Result<Option<Service>, IpvsError> {
        match self.execute(&IpvsMessage::GetService(Some(*key))) {
            Ok(replies) => Ok(replies.into_iter().find_map(|m| match m {
                IpvsMessage::NewService(s) => Some(s),
                _ => None,
            })),
            Err(IpvsError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Adds a real server to a service (`ipvsadm -a`).
    ///
    /// # Errors
    /// [`IpvsError::Exists`], [`IpvsError::NotFound`] (no such service), others as
    /// [`Ipvs::execute`].
    pub fn add_dest(&mut self, service: &ServiceKey, dest: &Destination) -> Result<(), IpvsError> {
        self.execute(&IpvsMessage::NewDest {
            service: *service,
            dest: dest.clone(),
        })
        .map(drop)
    }

    /// Changes a real server's weight, thresholds, method (`ipvsadm -e`).
    ///
    /// # Errors
    /// [`IpvsError::NotFound`], others as [`Ipvs::execute`].
    pub fn update_dest(
        &mut self,
        service: &ServiceKey,
        dest: &Destination,
    ) -> Result<(), IpvsError> {
        self.execute(&IpvsMessage::SetDest {
            service: *service,
            dest: dest.clone(),
        })
        .map(drop)
    }

    /// Removes a real server (`ipvsadm -d`).
    ///
    /// # Errors
    /// [`IpvsError::NotFound`], others as [`Ipvs::execute`].
    pub fn del_dest(&mut self, service: &ServiceKey, dest: &DestKey) -> Result<(), IpvsError> {
        self.execute(&IpvsMessage::DelDest {
            service: *service,
            dest: *dest,
        })
        .map(drop)
    }

    /// Every real server of a service, with connection counts and counters.
    ///
    /// # Errors
    /// [`IpvsError::NotFound`], others as [`Ipvs::execute`].
    pub fn dests(&mut self, service: &ServiceKey) -> Result<Vec<Destination>, IpvsError> {
        let replies = self.execute(&IpvsMessage::GetDest(*service))?;
        Ok(replies
            .into_iter()
            .filter_map(|m| match m {
                IpvsMessage::DestEntry(d) | IpvsMessage::NewDest { dest: d, .. } => Some(d),
                _ => None,
            })
            .collect())
    }

    /// Removes every service (`ipvsadm -C`).
    ///
    /// # Errors
    /// As [`Ipvs::execute`].
    pub fn flush(&mut self) -> Result<(), IpvsError> {
        self.execute(&IpvsMessage::Flush).map(drop)
    }

    /// Zeroes the counters of one service, or of all (`ipvsadm -Z`).
    ///
    /// # Errors
    /// As [`Ipvs::execute`].
    pub fn zero(&mut self, service: Option<&ServiceKey>) -> Result<(), IpvsError> {
        self.execute(&IpvsMessage::Zero(service.copied())).map(drop)
    }

    /// IPVS version and connection table size.
    ///
    /// # Errors
    /// As [`Ipvs::execute`]; [`IpvsError::Decode`] if the kernel sends no info.
    pub fn info(&mut self) -> Result<Info, IpvsError> {
        self.execute(&IpvsMessage::GetInfo)?
            .into_iter()
            .find_map(|m| match m {
                IpvsMessage::SetInfo(i) => Some(i),
                _ => None,
            })
            .ok_or(IpvsError::Decode {
                op: "IPVS_CMD_GET_INFO",
                source: IpvsDecodeError::Missing("info reply"),
            })
    }

    /// The TCP, TCP FIN and UDP timeouts.
    ///
    /// # Errors
    /// As [`Ipvs::info`].
    pub fn timeouts(&mut self) -> Result<Timeouts, IpvsError> {
        self.execute(&IpvsMessage::GetConfig)?
            .into_iter()
            .find_map(|m| match m {
                IpvsMessage::SetConfig(t) => Some(t),
                _ => None,
            })
            .ok_or(IpvsError::Decode {
                op: "IPVS_CMD_GET_CONFIG",
                source: IpvsDecodeError::Missing("config reply"),
            })
    }

    /// Sets the timeouts that are `Some` (`ipvsadm --set`).
    ///
    /// # Errors
    /// As [`Ipvs::execute`].
    pub fn set_timeouts(&mut self, timeouts: &Timeouts) -> Result<(), IpvsError> {
        self.execute(&IpvsMessage::SetConfig(*timeouts)).map(drop)
    }

    /// Starts a connection sync daemon (`ipvsadm --start-daemon`).
    ///
    /// # Errors
    /// [`IpvsError::Exists`] if one of that role runs, others as [`Ipvs::execute`].
    pub fn start_daemon(&mut self, daemon: &SyncDaemon) -> Result<(), IpvsError> {
        self.execute(&IpvsMessage::NewDaemon(daemon.clone()))
            .map(drop)
    }

    /// Stops the sync daemon of role `state`.
    ///
    /// # Errors
    /// As [`Ipvs::execute`].
    pub fn stop_daemon(&mut self, state: DaemonState) -> Result<(), IpvsError> {
        self.execute(&IpvsMessage::DelDaemon(state)).map(drop)
    }

    /// The running sync daemons.
    ///
    /// # Errors
    /// As [`Ipvs::execute`].
    pub fn daemons(&mut self) -> Result<Vec<SyncDaemon>, IpvsError> {
        let replies = self.execute(&IpvsMessage::GetDaemon)?;
        Ok(replies
            .into_iter()
            .filter_map(|m| match m {
                IpvsMessage::NewDaemon(d) => Some(d),
                _ => None,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use keepalived_lb::ipvs::{FwdMethod, Protocol};

    use super::*;

    const VIP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    const RS: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 2));

    fn key() -> ServiceKey {
        ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr: VIP,
            port: 80,
        }
    }

    /// Family resolution works against a family every kernel has (the controller itself).
    #[test]
    fn resolves_an_existing_family_and_misses_an_absent_one() {
        let mut socket = Socket::new(NETLINK_GENERIC).expect("socket");
        socket.bind_auto().expect("bind");
        socket.connect(&SocketAddr::new(0, 0)).expect("connect");
        let mut c = Ipvs {
            socket,
            family_id: 0,
            seq: 0,
            sent: 0,
        };
        assert_eq!(c.resolve_family("nlctrl").expect("nlctrl"), Some(16));
        assert_eq!(c.resolve_family("no-such-family").expect("lookup"), None);
        assert_eq!(c.messages_sent(), 2);
    }

    /// The batching machinery against the controller family (which has no command 17, so it
    /// answers every "flush" with `EOPNOTSUPP`): one result per message, in order, across
    /// datagram boundaries, with refused messages never sent.
    #[test]
    fn batch_pairs_every_answer_with_its_request() {
        let mut socket = Socket::new(NETLINK_GENERIC).expect("socket");
        socket.bind_auto().expect("bind");
        socket.connect(&SocketAddr::new(0, 0)).expect("connect");
        let mut c = Ipvs {
            socket,
            family_id: 16,
            seq: 0,
            sent: 0,
        };
        let mut msgs = vec![IpvsMessage::Flush; 2 * BATCH_MAX + 3];
        msgs[5] = IpvsMessage::NewService(Service::new(key(), "much-too-long-scheduler"));
        let results = c.execute_batch(&msgs).expect("batch");
        assert_eq!(results.len(), msgs.len());
        for (i, r) in results.iter().enumerate() {
            match (i, r) {
                (5, Err(IpvsError::Encode { .. })) => {}
                (
                    _,
                    Err(IpvsError::Kernel {
                        target: IpvsTarget::Table,
                        source,
                        ..
                    }),
                ) if source.raw_os_error() == Some(libc::EOPNOTSUPP) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(
            c.messages_sent(),
            u64::try_from(msgs.len() - 1).unwrap_or(0)
        );
        // The socket is still in step: a single request gets its own answer.
        let e = c
            .execute(&IpvsMessage::Flush)
            .expect_err("nlctrl has no flush");
        assert!(matches!(e, IpvsError::Kernel { .. }), "{e:?}");
    }

    #[test]
    fn errnos_become_typed_errors_naming_the_target() {
        let new = IpvsMessage::NewService(Service::new(key(), "twos"));
        let e = ipvs_kernel_error(&new, libc::EEXIST);
        assert!(
            matches!(e, IpvsError::Exists { target: IpvsTarget::Service(k), .. } if k == key())
        );
        assert_eq!(
            e.to_string(),
            "IPVS_CMD_NEW_SERVICE: service TCP 192.0.2.1:80 already exists"
        );
        let e = ipvs_kernel_error(&new, libc::ENOENT);
        assert!(matches!(&e, IpvsError::UnknownScheduler { scheduler, .. } if scheduler == "twos"));
        let del = IpvsMessage::DelDest {
            service: key(),
            dest: DestKey {
                addr: RS,
                port: 8080,
            },
        };
        let e = ipvs_kernel_error(&del, libc::ENOENT);
        assert!(matches!(
            e,
            IpvsError::NotFound {
                target: IpvsTarget::Dest(..),
                ..
            }
        ));
        assert_eq!(
            e.to_string(),
            "IPVS_CMD_DEL_DEST: real server 198.51.100.2:8080 of service TCP 192.0.2.1:80 does not exist"
        );
        let e = ipvs_kernel_error(&IpvsMessage::DelService(key()), libc::ESRCH);
        assert!(matches!(e, IpvsError::NotFound { .. }));
        let set = IpvsMessage::SetDest {
            service: key(),
            dest: Destination::new(RS, 80, FwdMethod::Tunnel, 1),
        };
        let e = ipvs_kernel_error(&set, libc::EINVAL);
        assert!(
            matches!(&e, IpvsError::Kernel { source, .. } if source.raw_os_error() == Some(libc::EINVAL))
        );
    }
}
