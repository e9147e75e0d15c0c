//! Encoding and decoding of IPVS messages: the attribute TLVs, the nests, and the generic
//! netlink framing through `netlink-packet-generic`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_core::{
    DecodeError, Emitable, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage,
    NetlinkPayload, ParseableParametrized,
};
use netlink_packet_generic::{GenlFamily, GenlHeader, GenlMessage};

use super::consts::*;
use super::types::*;

/// Why a kernel message could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IpvsDecodeError {
    /// An attribute header is cut short or claims more bytes than remain.
    #[error("attribute length {len} does not fit the {avail} bytes left")]
    BadAttrLength {
        /// The attribute's length field (0 when the header itself is cut).
        len: usize,
        /// Bytes left in the enclosing buffer.
        avail: usize,
    },
    /// An attribute's value has the wrong size.
    #[error("{what}: {got} bytes, expected {expected}")]
    BadValueLength {
        /// The attribute.
        what: &'static str,
        /// Its size per the uapi header.
        expected: usize,
        /// What arrived.
        got: usize,
    },
    /// A required attribute is absent.
    #[error("missing {0}")]
    Missing(&'static str),
    /// An address family IPVS does not have.
    #[error("unknown address family {0}")]
    UnknownFamily(u16),
    /// A name that is not UTF-8.
    #[error("{0} is not UTF-8")]
    BadString(&'static str),
    /// A command number outside the uapi header.
    #[error("unknown IPVS command {0}")]
    UnknownCommand(u8),
    /// The netlink or generic netlink framing is broken.
    #[error("netlink framing: {0}")]
    Framing(String),
}

/// Why a message cannot be sent as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IpvsEncodeError {
    /// A scheduler, persistence engine or interface name longer than 15 bytes or holding a NUL.
    #[error("{what} {name:?} is not a name of at most 15 bytes without NUL")]
    BadName {
        /// Which name.
        what: &'static str,
        /// The name.
        name: String,
    },
    /// A negative destination weight.
    #[error("weight {0} is negative")]
    NegativeWeight(i32),
}

type Result<T> = std::result::Result<T, IpvsDecodeError>;

// ---------------------------------------------------------------------------------------------
// Writing.

struct Writer<'a>(&'a mut Vec<u8>);

impl Writer<'_> {
    fn put(&mut self, ty: u16, val: &[u8]) {
        let len = u16::try_from(4 + val.len()).unwrap_or(u16::MAX);
        self.0.extend_from_slice(&len.to_ne_bytes());
        self.0.extend_from_slice(&ty.to_ne_bytes());
        self.0.extend_from_slice(val);
        self.pad();
    }
    fn pad(&mut self) {
        let padded = self.0.len().next_multiple_of(4);
        self.0.resize(padded, 0);
    }
    fn u8(&mut self, ty: u16, v: u8) {
        self.put(ty, &[v]);
    }
    fn u16(&mut self, ty: u16, v: u16) {
        self.put(ty, &v.to_ne_bytes());
    }
    fn be16(&mut self, ty: u16, v: u16) {
        self.put(ty, &v.to_be_bytes());
    }
    fn u32(&mut self, ty: u16, v: u32) {
        self.put(ty, &v.to_ne_bytes());
    }
    fn u64(&mut self, ty: u16, v: u64) {
        self.put(ty, &v.to_ne_bytes());
    }
    /// A NUL-terminated string (`NLA_NUL_STRING`), as `nla_put_string`.
    fn string(&mut self, ty: u16, s: &str) {
        let mut v = Vec::with_capacity(s.len() + 1);
        v.extend_from_slice(s.as_bytes());
        v.push(0);
        self.put(ty, &v);
    }
    /// `nf_inet_addr`: 16 bytes, IPv4 in the first four.
    fn addr(&mut self, ty: u16, a: IpAddr) {
        let mut v = [0u8; 16];
        match a {
            IpAddr::V4(a) => v[..4].copy_from_slice(&a.octets()),
            IpAddr::V6(a) => v = a.octets(),
        }
        self.put(ty, &v);
    }
    /// A nest without `NLA_F_NESTED`, as ipvsadm and the kernel's own replies send it.
    fn nest(&mut self, ty: u16, f: impl FnOnce(&mut Writer<'_>)) {
        let start = self.0.len();
        self.0.extend_from_slice(&[0, 0]);
        self.0.extend_from_slice(&ty.to_ne_bytes());
        f(&mut Writer(self.0));
        let len = u16::try_from(self.0.len() - start).unwrap_or(u16::MAX);
        if let Some(field) = self.0.get_mut(start..start + 2) {
            field.copy_from_slice(&len.to_ne_bytes());
        }
    }
}

fn emit_key(w: &mut Writer<'_>, key: &ServiceKey) {
    w.u16(IPVS_SVC_ATTR_AF, key.family().to_raw());
    match *key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            w.u16(IPVS_SVC_ATTR_PROTOCOL, protocol.to_raw());
            w.addr(IPVS_SVC_ATTR_ADDR, addr);
            w.be16(IPVS_SVC_ATTR_PORT, port);
        }
        ServiceKey::Fwmark { mark, .. } => w.u32(IPVS_SVC_ATTR_FWMARK, mark),
    }
}

fn emit_stats(w: &mut Writer<'_>, ty: u16, s: &Stats) {
    w.nest(ty, |w| {
        let values = [s.conns, s.inpkts, s.outpkts, s.inbytes, s.outbytes];
        let rates = [s.cps, s.inpps, s.outpps, s.inbps, s.outbps];
        for (ty, v) in (IPVS_STATS_ATTR_CONNS..).zip(values.into_iter().chain(rates)) {
            w.u64(ty, v);
        }
    });
}

fn emit_service(w: &mut Writer<'_>, s: &Service) {
    w.nest(IPVS_CMD_ATTR_SERVICE, |w| {
        emit_key(w, &s.key);
        w.string(IPVS_SVC_ATTR_SCHED_NAME, &s.scheduler);
        if let Some(pe) = &s.pe_name {
            w.string(IPVS_SVC_ATTR_PE_NAME, pe);
        }
        let mut flags = [0u8; 8];
        flags[..4].copy_from_slice(&s.flags.to_ne_bytes());
        flags[4..].copy_from_slice(&u32::MAX.to_ne_bytes());
        w.put(IPVS_SVC_ATTR_FLAGS, &flags);
        w.u32(IPVS_SVC_ATTR_TIMEOUT, s.timeout);
        w.u32(IPVS_SVC_ATTR_NETMASK, s.netmask);
        if let Some(st) = &s.stats {
            emit_stats(w, IPVS_SVC_ATTR_STATS64, st);
        }
    });
}

fn emit_key_nest(w: &mut Writer<'_>, key: &ServiceKey) {
    w.nest(IPVS_CMD_ATTR_SERVICE, |w| emit_key(w, key));
}

fn emit_dest_key(w: &mut Writer<'_>, k: DestKey) {
    w.u16(IPVS_DEST_ATTR_ADDR_FAMILY, Family::of(k.addr).to_raw());
    w.addr(IPVS_DEST_ATTR_ADDR, k.addr);
    w.be16(IPVS_DEST_ATTR_PORT, k.port);
}

fn emit_dest(w: &mut Writer<'_>, d: &Destination) {
    w.nest(IPVS_CMD_ATTR_DEST, |w| {
        emit_dest_key(w, d.key());
        w.u32(IPVS_DEST_ATTR_FWD_METHOD, d.fwd.to_raw());
        w.put(IPVS_DEST_ATTR_WEIGHT, &d.weight.to_ne_bytes());
        if let Some(t) = d.tunnel {
            w.u8(IPVS_DEST_ATTR_TUN_TYPE, t.kind.to_raw());
            w.be16(IPVS_DEST_ATTR_TUN_PORT, t.port);
            w.u16(IPVS_DEST_ATTR_TUN_FLAGS, t.flags);
        }
        w.u32(IPVS_DEST_ATTR_U_THRESH, d.u_threshold);
        w.u32(IPVS_DEST_ATTR_L_THRESH, d.l_threshold);
        if let Some(c) = d.conns {
            w.u32(IPVS_DEST_ATTR_ACTIVE_CONNS, c.active);
            w.u32(IPVS_DEST_ATTR_INACT_CONNS, c.inactive);
            w.u32(IPVS_DEST_ATTR_PERSIST_CONNS, c.persistent);
        }
        if let Some(st) = &d.stats {
            emit_stats(w, IPVS_DEST_ATTR_STATS64, st);
        }
    });
}

fn emit_daemon(w: &mut Writer<'_>, d: &SyncDaemon) {
    w.nest(IPVS_CMD_ATTR_DAEMON, |w| {
        w.u32(IPVS_DAEMON_ATTR_STATE, d.state.to_raw());
        w.string(IPVS_DAEMON_ATTR_MCAST_IFN, &d.mcast_ifn);
        w.u32(IPVS_DAEMON_ATTR_SYNC_ID, d.sync_id);
        if let Some(v) = d.sync_maxlen {
            w.u16(IPVS_DAEMON_ATTR_SYNC_MAXLEN, v);
        }
        match d.mcast_group {
            Some(IpAddr::V4(a)) => w.put(IPVS_DAEMON_ATTR_MCAST_GROUP, &a.octets()),
            Some(IpAddr::V6(a)) => w.put(IPVS_DAEMON_ATTR_MCAST_GROUP6, &a.octets()),
            None => {}
        }
        if let Some(v) = d.mcast_port {
            w.u16(IPVS_DAEMON_ATTR_MCAST_PORT, v);
        }
        if let Some(v) = d.mcast_ttl {
            w.u8(IPVS_DAEMON_ATTR_MCAST_TTL, v);
        }
    });
}

impl IpvsMessage {
    /// Appends its attributes (everything after the generic netlink header) to `buf`.
    pub fn emit(&self, buf: &mut Vec<u8>) {
        let w = &mut Writer(buf);
        match self {
            IpvsMessage::NewService(s) | IpvsMessage::SetService(s) => emit_service(w, s),
            IpvsMessage::DelService(k) | IpvsMessage::GetService(Some(k)) => emit_key_nest(w, k),
            IpvsMessage::Zero(Some(k)) | IpvsMessage::GetDest(k) => emit_key_nest(w, k),
            IpvsMessage::NewDest { service, dest } | IpvsMessage::SetDest { service, dest } => {
                emit_key_nest(w, service);
                emit_dest(w, dest);
            }
            IpvsMessage::DelDest { service, dest } => {
                emit_key_nest(w, service);
                w.nest(IPVS_CMD_ATTR_DEST, |w| emit_dest_key(w, *dest));
            }
            IpvsMessage::DestEntry(d) => emit_dest(w, d),
            IpvsMessage::NewDaemon(d) => emit_daemon(w, d),
            IpvsMessage::DelDaemon(s) => {
                w.nest(IPVS_CMD_ATTR_DAEMON, |w| {
                    w.u32(IPVS_DAEMON_ATTR_STATE, s.to_raw())
                });
            }
            IpvsMessage::SetConfig(t) => {
                w.u32(IPVS_CMD_ATTR_TIMEOUT_TCP, t.tcp.unwrap_or(0));
                w.u32(IPVS_CMD_ATTR_TIMEOUT_TCP_FIN, t.tcp_fin.unwrap_or(0));
                w.u32(IPVS_CMD_ATTR_TIMEOUT_UDP, t.udp.unwrap_or(0));
            }
            IpvsMessage::SetInfo(i) => {
                w.u32(IPVS_INFO_ATTR_VERSION, i.version);
                w.u32(IPVS_INFO_ATTR_CONN_TAB_SIZE, i.conn_tab_size);
            }
            IpvsMessage::GetService(None)
            | IpvsMessage::Zero(None)
            | IpvsMessage::GetDaemon
            | IpvsMessage::GetConfig
            | IpvsMessage::GetInfo
            | IpvsMessage::Flush => {}
        }
    }

    /// Checks what the kernel would refuse before it is sent: over-long names, negative
    /// weights.
    ///
    /// # Errors
    /// The first problem found.
    pub fn validate(&self) -> std::result::Result<(), IpvsEncodeError> {
        let name = |what: &'static str, name: &str| {
            if name.len() < IP_VS_NAME_MAXLEN && !name.contains('\0') {
                Ok(())
            } else {
                Err(IpvsEncodeError::BadName {
                    what,
                    name: name.to_owned(),
                })
            }
        };
        match self {
            IpvsMessage::NewService(s) | IpvsMessage::SetService(s) => {
                name("scheduler", &s.scheduler)?;
                if let Some(pe) = &s.pe_name {
                    name("persistence engine", pe)?;
                }
            }
            IpvsMessage::NewDest { dest, .. } | IpvsMessage::SetDest { dest, .. }
                if dest.weight < 0 =>
            {
                return Err(IpvsEncodeError::NegativeWeight(dest.weight));
            }
            IpvsMessage::NewDaemon(d) => name("sync daemon interface", &d.mcast_ifn)?,
            _ => {}
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Reading.

/// The attributes of `buf`, in order; the nested and byte-order flags are masked off.
fn attrs(mut buf: &[u8]) -> Result<Vec<(u16, &[u8])>> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        let avail = buf.len();
        let (Some(len), Some(ty)) = (buf.get(0..2), buf.get(2..4)) else {
            return Err(IpvsDecodeError::BadAttrLength { len: 0, avail });
        };
        let len = usize::from(u16::from_ne_bytes([len[0], len[1]]));
        let ty = u16::from_ne_bytes([ty[0], ty[1]]) & 0x3fff;
        let Some(val) = buf.get(4..len).filter(|_| len >= 4) else {
            return Err(IpvsDecodeError::BadAttrLength { len, avail });
        };
        out.push((ty, val));
        buf = buf.get(len.next_multiple_of(4)..).unwrap_or(&[]);
    }
    Ok(out)
}

/// The last value of attribute `ty`.
fn get<'a>(attrs: &[(u16, &'a [u8])], ty: u16) -> Option<&'a [u8]> {
    attrs.iter().rev().find(|(t, _)| *t == ty).map(|(_, v)| *v)
}

fn fixed<const N: usize>(what: &'static str, v: &[u8]) -> Result<[u8; N]> {
    <[u8; N]>::try_from(v).map_err(|_| IpvsDecodeError::BadValueLength {
        what,
        expected: N,
        got: v.len(),
    })
}

fn req<'a>(a: &[(u16, &'a [u8])], ty: u16, what: &'static str) -> Result<&'a [u8]> {
    get(a, ty).ok_or(IpvsDecodeError::Missing(what))
}

fn u8_of(a: &[(u16, &[u8])], ty: u16, what: &'static str) -> Result<Option<u8>> {
    get(a, ty)
        .map(|v| fixed::<1>(what, v).map(|b| b[0]))
        .transpose()
}
fn u16_of(a: &[(u16, &[u8])], ty: u16, what: &'static str) -> Result<Option<u16>> {
    get(a, ty)
        .map(|v| fixed(what, v).map(u16::from_ne_bytes))
        .transpose()
}
fn be16_of(a: &[(u16, &[u8])], ty: u16, what: &'static str) -> Result<Option<u16>> {
    get(a, ty)
        .map(|v| fixed(what, v).map(u16::from_be_bytes))
        .transpose()
}
fn u32_of(a: &[(u16, &[u8])], ty: u16, what: &'static str) -> Result<Option<u32>> {
    get(a, ty)
        .map(|v| fixed(what, v).map(u32::from_ne_bytes))
        .transpose()
}
fn u64_of(a: &[(u16, &[u8])], ty: u16, what: &'static str) -> Result<Option<u64>> {
    get(a, ty)
        .map(|v| fixed(what, v).map(u64::from_ne_bytes))
        .transpose()
}
fn need<T>(v: Result<Option<T>>, what: &'static str) -> Result<T> {
    v?.ok_or(IpvsDecodeError::Missing(what))
}

/// A NUL-terminated (or unterminated) name.
fn string(what: &'static str, v: &[u8]) -> Result<String> {
    let end = v.iter().position(|&b| b == 0).unwrap_or(v.len());
    let bytes = v.get(..end).unwrap_or(v);
    String::from_utf8(bytes.to_vec()).map_err(|_| IpvsDecodeError::BadString(what))
}

/// An `nf_inet_addr` of family `af` (at least 4 or 16 bytes).
fn addr(what: &'static str, af: Family, v: &[u8]) -> Result<IpAddr> {
    let short = |expected| IpvsDecodeError::BadValueLength {
        what,
        expected,
        got: v.len(),
    };
    Ok(match af {
        Family::Inet => {
            let b: [u8; 4] = v.get(..4).and_then(|b| b.try_into().ok()).ok_or(short(4))?;
            IpAddr::V4(Ipv4Addr::from(b))
        }
        Family::Inet6 => {
            let b: [u8; 16] = v
                .get(..16)
                .and_then(|b| b.try_into().ok())
                .ok_or(short(16))?;
            IpAddr::V6(Ipv6Addr::from(b))
        }
    })
}

fn family(raw: u16) -> Result<Family> {
    Family::from_raw(raw).ok_or(IpvsDecodeError::UnknownFamily(raw))
}

fn parse_key(a: &[(u16, &[u8])]) -> Result<ServiceKey> {
    let af = family(need(
        u16_of(a, IPVS_SVC_ATTR_AF, "service family"),
        "service family",
    )?)?;
    if let Some(mark) = u32_of(a, IPVS_SVC_ATTR_FWMARK, "fwmark")? {
        return Ok(ServiceKey::Fwmark { family: af, mark });
    }
    let protocol = need(
        u16_of(a, IPVS_SVC_ATTR_PROTOCOL, "protocol"),
        "service protocol",
    )?;
    let address = addr(
        "service address",
        af,
        req(a, IPVS_SVC_ATTR_ADDR, "service address")?,
    )?;
    let port = need(
        be16_of(a, IPVS_SVC_ATTR_PORT, "service port"),
        "service port",
    )?;
    Ok(ServiceKey::Addr {
        protocol: Protocol::from_raw(protocol),
        addr: address,
        port,
    })
}

fn parse_stats(v: &[u8], wide: bool) -> Result<Stats> {
    let a = attrs(v)?;
    let f = |ty, what| -> Result<u64> {
        if wide || ty == IPVS_STATS_ATTR_INBYTES || ty == IPVS_STATS_ATTR_OUTBYTES {
            Ok(u64_of(&a, ty, what)?.unwrap_or(0))
        } else {
            Ok(u32_of(&a, ty, what)?.map_or(0, u64::from))
        }
    };
    Ok(Stats {
        conns: f(IPVS_STATS_ATTR_CONNS, "stats conns")?,
        inpkts: f(IPVS_STATS_ATTR_INPKTS, "stats inpkts")?,
        outpkts: f(IPVS_STATS_ATTR_OUTPKTS, "stats outpkts")?,
        inbytes: f(IPVS_STATS_ATTR_INBYTES, "stats inbytes")?,
        outbytes: f(IPVS_STATS_ATTR_OUTBYTES, "stats outbytes")?,
        cps: f(IPVS_STATS_ATTR_CPS, "stats cps")?,
        inpps: f(IPVS_STATS_ATTR_INPPS, "stats inpps")?,
        outpps: f(IPVS_STATS_ATTR_OUTPPS, "stats outpps")?,
        inbps: f(IPVS_STATS_ATTR_INBPS, "stats inbps")?,
        outbps: f(IPVS_STATS_ATTR_OUTBPS, "stats outbps")?,
    })
}

/// STATS64 when present, else the 32-bit STATS nest.
fn stats_of(a: &[(u16, &[u8])], ty64: u16, ty32: u16) -> Result<Option<Stats>> {
    if let Some(v) = get(a, ty64) {
        return parse_stats(v, true).map(Some);
    }
    get(a, ty32).map(|v| parse_stats(v, false)).transpose()
}

fn parse_service(v: &[u8]) -> Result<Service> {
    let a = attrs(v)?;
    let key = parse_key(&a)?;
    let scheduler = string("scheduler", req(&a, IPVS_SVC_ATTR_SCHED_NAME, "scheduler")?)?;
    let flags = req(&a, IPVS_SVC_ATTR_FLAGS, "service flags")?;
    let flags = fixed::<8>("service flags", flags)?;
    let flags = u32::from_ne_bytes([flags[0], flags[1], flags[2], flags[3]]);
    Ok(Service {
        key,
        scheduler,
        flags,
        timeout: need(
            u32_of(&a, IPVS_SVC_ATTR_TIMEOUT, "timeout"),
            "service timeout",
        )?,
        netmask: need(
            u32_of(&a, IPVS_SVC_ATTR_NETMASK, "netmask"),
            "service netmask",
        )?,
        pe_name: get(&a, IPVS_SVC_ATTR_PE_NAME)
            .map(|v| string("pe name", v))
            .transpose()?,
        stats: stats_of(&a, IPVS_SVC_ATTR_STATS64, IPVS_SVC_ATTR_STATS)?,
    })
}

fn parse_dest_key(a: &[(u16, &[u8])], svc_af: Option<Family>) -> Result<DestKey> {
    let af = match u16_of(a, IPVS_DEST_ATTR_ADDR_FAMILY, "dest family")? {
        Some(raw) => family(raw)?,
        None => svc_af.ok_or(IpvsDecodeError::Missing("destination family"))?,
    };
    let address = addr(
        "dest address",
        af,
        req(a, IPVS_DEST_ATTR_ADDR, "dest address")?,
    )?;
    let port = need(
        be16_of(a, IPVS_DEST_ATTR_PORT, "dest port"),
        "destination port",
    )?;
    Ok(DestKey {
        addr: address,
        port,
    })
}

fn parse_dest(v: &[u8], svc_af: Option<Family>) -> Result<Destination> {
    let a = attrs(v)?;
    let key = parse_dest_key(&a, svc_af)?;
    let fwd = need(
        u32_of(&a, IPVS_DEST_ATTR_FWD_METHOD, "fwd"),
        "forwarding method",
    )?;
    let weight = fixed::<4>("weight", req(&a, IPVS_DEST_ATTR_WEIGHT, "weight")?)?;
    let tunnel = match u8_of(&a, IPVS_DEST_ATTR_TUN_TYPE, "tunnel type")? {
        Some(kind) => Some(TunnelOpts {
            kind: TunnelType::from_raw(kind),
            port: be16_of(&a, IPVS_DEST_ATTR_TUN_PORT, "tunnel port")?.unwrap_or(0),
            flags: u16_of(&a, IPVS_DEST_ATTR_TUN_FLAGS, "tunnel flags")?.unwrap_or(0),
        }),
        None => None,
    };
    let conns = match u32_of(&a, IPVS_DEST_ATTR_ACTIVE_CONNS, "active conns")? {
        Some(active) => Some(DestConns {
            active,
            inactive: u32_of(&a, IPVS_DEST_ATTR_INACT_CONNS, "inactive conns")?.unwrap_or(0),
            persistent: u32_of(&a, IPVS_DEST_ATTR_PERSIST_CONNS, "persist conns")?.unwrap_or(0),
        }),
        None => None,
    };
    Ok(Destination {
        addr: key.addr,
        port: key.port,
        fwd: FwdMethod::from_raw(fwd),
        weight: i32::from_ne_bytes(weight),
        u_threshold: need(
            u32_of(&a, IPVS_DEST_ATTR_U_THRESH, "u_thresh"),
            "upper threshold",
        )?,
        l_threshold: need(
            u32_of(&a, IPVS_DEST_ATTR_L_THRESH, "l_thresh"),
            "lower threshold",
        )?,
        tunnel,
        conns,
        stats: stats_of(&a, IPVS_DEST_ATTR_STATS64, IPVS_DEST_ATTR_STATS)?,
    })
}

fn parse_daemon(v: &[u8]) -> Result<SyncDaemon> {
    let a = attrs(v)?;
    let group = match get(&a, IPVS_DAEMON_ATTR_MCAST_GROUP6) {
        Some(v) => Some(IpAddr::V6(Ipv6Addr::from(fixed::<16>("mcast group6", v)?))),
        None => get(&a, IPVS_DAEMON_ATTR_MCAST_GROUP)
            .map(|v| fixed::<4>("mcast group", v).map(|b| IpAddr::V4(Ipv4Addr::from(b))))
            .transpose()?,
    };
    Ok(SyncDaemon {
        state: DaemonState::from_raw(need(
            u32_of(&a, IPVS_DAEMON_ATTR_STATE, "daemon state"),
            "daemon state",
        )?),
        mcast_ifn: string(
            "mcast ifn",
            req(&a, IPVS_DAEMON_ATTR_MCAST_IFN, "daemon interface")?,
        )?,
        sync_id: need(
            u32_of(&a, IPVS_DAEMON_ATTR_SYNC_ID, "sync id"),
            "daemon sync id",
        )?,
        sync_maxlen: u16_of(&a, IPVS_DAEMON_ATTR_SYNC_MAXLEN, "sync maxlen")?,
        mcast_group: group,
        mcast_port: u16_of(&a, IPVS_DAEMON_ATTR_MCAST_PORT, "mcast port")?,
        mcast_ttl: u8_of(&a, IPVS_DAEMON_ATTR_MCAST_TTL, "mcast ttl")?,
    })
}

impl IpvsMessage {
    /// Decodes the attributes `buf` of a message with generic netlink command `cmd`.
    ///
    /// # Errors
    /// [`IpvsDecodeError`] naming the first broken or missing attribute; never panics.
    pub fn parse(cmd: u8, buf: &[u8]) -> Result<IpvsMessage> {
        let a = attrs(buf)?;
        let svc = |what| -> Result<ServiceKey> {
            parse_key(&attrs(req(&a, IPVS_CMD_ATTR_SERVICE, what)?)?)
        };
        let opt_svc = || -> Result<Option<ServiceKey>> {
            get(&a, IPVS_CMD_ATTR_SERVICE)
                .map(|v| parse_key(&attrs(v)?))
                .transpose()
        };
        let dest_nest = || req(&a, IPVS_CMD_ATTR_DEST, "destination");
        let daemon_nest = || req(&a, IPVS_CMD_ATTR_DAEMON, "sync daemon");
        Ok(match cmd {
            IPVS_CMD_NEW_SERVICE => {
                IpvsMessage::NewService(parse_service(req(&a, IPVS_CMD_ATTR_SERVICE, "service")?)?)
            }
            IPVS_CMD_SET_SERVICE => {
                IpvsMessage::SetService(parse_service(req(&a, IPVS_CMD_ATTR_SERVICE, "service")?)?)
            }
            IPVS_CMD_DEL_SERVICE => IpvsMessage::DelService(svc("service")?),
            IPVS_CMD_GET_SERVICE => IpvsMessage::GetService(opt_svc()?),
            IPVS_CMD_NEW_DEST => match opt_svc()? {
                Some(service) => IpvsMessage::NewDest {
                    service,
                    dest: parse_dest(dest_nest()?, Some(service.family()))?,
                },
                None => IpvsMessage::DestEntry(parse_dest(dest_nest()?, None)?),
            },
            IPVS_CMD_SET_DEST => {
                let service = svc("service")?;
                let dest = parse_dest(dest_nest()?, Some(service.family()))?;
                IpvsMessage::SetDest { service, dest }
            }
            IPVS_CMD_DEL_DEST => {
                let service = svc("service")?;
                let dest = parse_dest_key(&attrs(dest_nest()?)?, Some(service.family()))?;
                IpvsMessage::DelDest { service, dest }
            }
            IPVS_CMD_GET_DEST => IpvsMessage::GetDest(svc("service")?),
            IPVS_CMD_NEW_DAEMON => IpvsMessage::NewDaemon(parse_daemon(daemon_nest()?)?),
            IPVS_CMD_DEL_DAEMON => {
                let d = attrs(daemon_nest()?)?;
                let state = need(u32_of(&d, IPVS_DAEMON_ATTR_STATE, "state"), "daemon state")?;
                IpvsMessage::DelDaemon(DaemonState::from_raw(state))
            }
            IPVS_CMD_GET_DAEMON => IpvsMessage::GetDaemon,
            IPVS_CMD_SET_CONFIG => {
                let t = |ty, what| u32_of(&a, ty, what).map(|v| v.filter(|&s| s != 0));
                IpvsMessage::SetConfig(Timeouts {
                    tcp: t(IPVS_CMD_ATTR_TIMEOUT_TCP, "tcp timeout")?,
                    tcp_fin: t(IPVS_CMD_ATTR_TIMEOUT_TCP_FIN, "tcp fin timeout")?,
                    udp: t(IPVS_CMD_ATTR_TIMEOUT_UDP, "udp timeout")?,
                })
            }
            IPVS_CMD_GET_CONFIG => IpvsMessage::GetConfig,
            IPVS_CMD_SET_INFO => IpvsMessage::SetInfo(Info {
                version: need(
                    u32_of(&a, IPVS_INFO_ATTR_VERSION, "version"),
                    "info version",
                )?,
                conn_tab_size: need(
                    u32_of(&a, IPVS_INFO_ATTR_CONN_TAB_SIZE, "conn tab size"),
                    "info conn_tab_size",
                )?,
            }),
            IPVS_CMD_GET_INFO => IpvsMessage::GetInfo,
            IPVS_CMD_ZERO => IpvsMessage::Zero(opt_svc()?),
            IPVS_CMD_FLUSH => IpvsMessage::Flush,
            other => return Err(IpvsDecodeError::UnknownCommand(other)),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Generic netlink framing.

impl GenlFamily for IpvsMessage {
    fn family_name() -> &'static str {
        IPVS_GENL_NAME
    }
    fn command(&self) -> u8 {
        IpvsMessage::command(self)
    }
    fn version(&self) -> u8 {
        IPVS_GENL_VERSION
    }
}

impl Emitable for IpvsMessage {
    fn buffer_len(&self) -> usize {
        let mut v = Vec::new();
        self.emit(&mut v);
        v.len()
    }
    fn emit(&self, buffer: &mut [u8]) {
        let mut v = Vec::new();
        IpvsMessage::emit(self, &mut v);
        if let Some(dst) = buffer.get_mut(..v.len()) {
            dst.copy_from_slice(&v);
        }
    }
}

impl ParseableParametrized<[u8], GenlHeader> for IpvsMessage {
    fn parse_with_param(buf: &[u8], header: GenlHeader) -> std::result::Result<Self, DecodeError> {
        IpvsMessage::parse(header.cmd, buf).map_err(|e| DecodeError::from(e.to_string()))
    }
}

/// One complete netlink request (attributes in libipvs's order, so the bytes are those
/// `ipvsadm` sends) for family id `family_id`: `NLM_F_REQUEST | NLM_F_ACK`, plus
/// `NLM_F_DUMP` for [dumps](IpvsMessage::is_dump) (which are answered by `NLMSG_DONE`, not an
/// acknowledgement).
pub fn encode(msg: &IpvsMessage, family_id: u16, seq: u32) -> Vec<u8> {
    let mut genl = GenlMessage::from_payload(msg.clone());
    genl.set_resolved_family_id(family_id);
    let mut packet = NetlinkMessage::new(NetlinkHeader::default(), NetlinkPayload::from(genl));
    packet.header.flags = NLM_F_REQUEST | if msg.is_dump() { NLM_F_DUMP } else { NLM_F_ACK };
    packet.header.sequence_number = seq;
    packet.finalize();
    let mut buf = vec![0; packet.buffer_len()];
    packet.serialize(&mut buf);
    buf
}

/// Decodes one netlink message at the start of `buf` (a reply: an IPVS message, an error or
/// acknowledgement, or `NLMSG_DONE`). Its `header.length` says where the next one starts.
///
/// # Errors
/// [`IpvsDecodeError::Framing`] with the decoder's message; never panics.
pub fn decode(buf: &[u8]) -> Result<NetlinkMessage<GenlMessage<IpvsMessage>>> {
    NetlinkMessage::<GenlMessage<IpvsMessage>>::deserialize(buf)
        .map_err(|e| IpvsDecodeError::Framing(e.to_string()))
}
