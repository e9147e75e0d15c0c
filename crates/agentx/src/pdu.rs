//! The AgentX PDUs (RFC 2741 section 6) a subagent exchanges with its master agent: encoded in
//! network byte order, decoded in either order (the header's flag says which).

use std::fmt;

/// The length of every PDU's header.
pub const HEADER_LEN: usize = 20;
/// The largest PDU accepted (a master agent's requests are small; a Response can be large).
pub const MAX_PDU: usize = 16 << 20;
/// Header flag: the payload is in network byte order.
pub const NETWORK_BYTE_ORDER: u8 = 0x10;
/// Header flag: a context precedes the payload.
pub const NON_DEFAULT_CONTEXT: u8 = 0x08;

/// The PDU types (`h.type`).
pub mod kind {
    /// The type of the open PDU.
    pub const OPEN: u8 = 1;
    /// The type of the close PDU.
    pub const CLOSE: u8 = 2;
    /// The type of the register PDU.
    pub const REGISTER: u8 = 3;
    /// The type of the get PDU.
    pub const GET: u8 = 5;
    /// The type of the get_next PDU.
    pub const GET_NEXT: u8 = 6;
    /// The type of the get_bulk PDU.
    pub const GET_BULK: u8 = 7;
    /// The type of the test_set PDU.
    pub const TEST_SET: u8 = 8;
    /// The type of the commit_set PDU.
    pub const COMMIT_SET: u8 = 9;
    /// The type of the undo_set PDU.
    pub const UNDO_SET: u8 = 10;
    /// The type of the cleanup_set PDU.
    pub const CLEANUP_SET: u8 = 11;
    /// The type of the notify PDU.
    pub const NOTIFY: u8 = 12;
    /// The type of the ping PDU.
    pub const PING: u8 = 13;
    /// The type of the response PDU.
    pub const RESPONSE: u8 = 18;
}

/// Response error codes (`res.error`) a subagent uses.
pub mod error {
    /// Error no_error.
    pub const NO_ERROR: u16 = 0;
    /// Error gen_err.
    pub const GEN_ERR: u16 = 5;
    /// Error wrong_type.
    pub const WRONG_TYPE: u16 = 7;
    /// Error wrong_value.
    pub const WRONG_VALUE: u16 = 10;
    /// Error not_writable.
    pub const NOT_WRITABLE: u16 = 17;
    /// Error parse_error.
    pub const PARSE_ERROR: u16 = 266;
    /// Error processing_error.
    pub const PROCESSING_ERROR: u16 = 268;
}

/// An object identifier.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Oid(pub Vec<u32>);

impl Oid {
    /// The identifier `self.sub`.
    pub fn child(&self, sub: &[u32]) -> Oid {
        let mut v = self.0.clone();
        v.extend_from_slice(sub);
        Oid(v)
    }

    /// Whether `self` is `prefix` or below it.
    pub fn starts_with(&self, prefix: &Oid) -> bool {
        self.0.starts_with(&prefix.0)
    }
}

impl fmt::Debug for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in &self.0 {
            write!(f, ".{s}")?;
        }
        Ok(())
    }
}

/// A variable's value, or the exceptions a Response carries instead of one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// INTEGER.
    Integer(i32),
    /// OCTET STRING (any bytes).
    OctetString(Vec<u8>),
    /// NULL.
    Null,
    /// OBJECT IDENTIFIER.
    ObjectIdentifier(Oid),
    /// IpAddress (IPv4 only).
    IpAddress([u8; 4]),
    /// Counter32.
    Counter32(u32),
    /// Gauge32 (Unsigned32).
    Gauge32(u32),
    /// TimeTicks (hundredths of a second).
    TimeTicks(u32),
    /// Opaque.
    Opaque(Vec<u8>),
    /// Counter64.
    Counter64(u64),
    /// No such object here.
    NoSuchObject,
    /// The object exists, not this instance.
    NoSuchInstance,
    /// Nothing after this in the range.
    EndOfMibView,
}

/// A variable binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarBind {
    /// Its object identifier.
    pub name: Oid,
    /// Its value.
    pub value: Value,
}

/// A search range of a Get, GetNext or GetBulk: from `start` (itself included when `include`)
/// up to `end` (excluded; empty: no bound).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchRange {
    /// Where the range starts.
    pub start: Oid,
    /// Whether `start` itself is in the range.
    pub include: bool,
    /// Where it ends, excluded (empty: no bound).
    pub end: Oid,
}

/// The header fields other than the type, the version and the length.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Header {
    /// The flags (network byte order is set on encoding).
    pub flags: u8,
    /// The session, as the master agent assigned it in the Open's Response.
    pub session_id: u32,
    /// The request's transaction (a Response repeats it).
    pub transaction_id: u32,
    /// The packet (a Response repeats it).
    pub packet_id: u32,
}

/// A PDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pdu {
    /// Opens a session.
    Open {
        /// Seconds the master agent waits for an answer (0: its default).
        timeout: u8,
        /// The subagent's identifier (may be empty).
        id: Oid,
        /// Its description.
        descr: Vec<u8>,
    },
    /// Closes a session.
    Close {
        /// Why (1 other, 2 parse error, 3 protocol error, 4 timeouts, 5 shutdown, 6 by manager).
        reason: u8,
    },
    /// Registers a subtree.
    Register {
        /// Seconds the master agent waits for an answer (0: its default).
        timeout: u8,
        /// The registration's priority (lower wins; 127 is the usual).
        priority: u8,
        /// The subtree registered.
        subtree: Oid,
    },
    /// Reads objects.
    Get(Vec<SearchRange>),
    /// Reads the objects after.
    GetNext(Vec<SearchRange>),
    /// Reads many objects after.
    GetBulk {
        /// How many of the first ranges are read once.
        non_repeaters: u16,
        /// How many times the others are read.
        max_repetitions: u16,
        /// The ranges asked.
        ranges: Vec<SearchRange>,
    },
    /// Asks whether values can be written.
    TestSet(Vec<VarBind>),
    /// Writes the values tested.
    CommitSet,
    /// Undoes a commit.
    UndoSet,
    /// Ends a set.
    CleanupSet,
    /// Sends a notification (trap).
    Notify(Vec<VarBind>),
    /// Asks whether the master agent is alive.
    Ping,
    /// Answers a PDU.
    Response {
        /// sysUpTime (0 from a subagent).
        uptime: u32,
        /// The error (`error::*`).
        error: u16,
        /// Which varbind the error is about (1-based; 0: none).
        index: u16,
        /// The values.
        varbinds: Vec<VarBind>,
    },
    /// A PDU a subagent does not handle, by type.
    Other(u8),
}

/// Why bytes are not a PDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PduError {
    /// Not all of it is there yet.
    Short,
    /// Not AgentX version 1.
    Version(u8),
    /// A field that does not parse (what, and where in the PDU).
    Malformed(&'static str, usize),
    /// Longer than [`MAX_PDU`].
    TooLong(usize),
}

impl fmt::Display for PduError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PduError::Short => f.write_str("truncated PDU"),
            PduError::Version(v) => write!(f, "AgentX version {v}, not 1"),
            PduError::Malformed(what, at) => write!(f, "malformed {what} at byte {at}"),
            PduError::TooLong(n) => write!(f, "PDU of {n} bytes, more than {MAX_PDU}"),
        }
    }
}

impl std::error::Error for PduError {}

impl Pdu {
    fn kind(&self) -> u8 {
        match self {
            Pdu::Open { .. } => kind::OPEN,
            Pdu::Close { .. } => kind::CLOSE,
            Pdu::Register { .. } => kind::REGISTER,
            Pdu::Get(_) => kind::GET,
            Pdu::GetNext(_) => kind::GET_NEXT,
            Pdu::GetBulk { .. } => kind::GET_BULK,
            Pdu::TestSet(_) => kind::TEST_SET,
            Pdu::CommitSet => kind::COMMIT_SET,
            Pdu::UndoSet => kind::UNDO_SET,
            Pdu::CleanupSet => kind::CLEANUP_SET,
            Pdu::Notify(_) => kind::NOTIFY,
            Pdu::Ping => kind::PING,
            Pdu::Response { .. } => kind::RESPONSE,
            Pdu::Other(k) => *k,
        }
    }
}

/// The whole length of the PDU starting `buf`, once its header is in.
pub fn frame_len(buf: &[u8]) -> Option<usize> {
    let head: &[u8; HEADER_LEN] = buf.get(..HEADER_LEN)?.try_into().ok()?;
    let len = [head[16], head[17], head[18], head[19]];
    let payload = if head[2] & NETWORK_BYTE_ORDER != 0 {
        u32::from_be_bytes(len)
    } else {
        u32::from_le_bytes(len)
    };
    Some(HEADER_LEN + usize::try_from(payload).unwrap_or(usize::MAX))
}

/// Encodes `pdu` with `header` (in network byte order; the flag is set).
pub fn encode(header: &Header, pdu: &Pdu) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(64));
    match pdu {
        Pdu::Open { timeout, id, descr } => {
            w.0.extend_from_slice(&[*timeout, 0, 0, 0]);
            w.oid(id, false);
            w.octets(descr);
        }
        Pdu::Close { reason } => w.0.extend_from_slice(&[*reason, 0, 0, 0]),
        Pdu::Register {
            timeout,
            priority,
            subtree,
        } => {
            w.0.extend_from_slice(&[*timeout, *priority, 0, 0]);
            w.oid(subtree, false);
        }
        Pdu::Get(ranges) | Pdu::GetNext(ranges) => w.ranges(ranges),
        Pdu::GetBulk {
            non_repeaters,
            max_repetitions,
            ranges,
        } => {
            w.u16(*non_repeaters);
            w.u16(*max_repetitions);
            w.ranges(ranges);
        }
        Pdu::TestSet(vbs) | Pdu::Notify(vbs) => w.varbinds(vbs),
        Pdu::CommitSet | Pdu::UndoSet | Pdu::CleanupSet | Pdu::Ping | Pdu::Other(_) => {}
        Pdu::Response {
            uptime,
            error,
            index,
            varbinds,
        } => {
            w.u32(*uptime);
            w.u16(*error);
            w.u16(*index);
            w.varbinds(varbinds);
        }
    }
    let payload = w.0;
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    let flags = (header.flags | NETWORK_BYTE_ORDER) & !NON_DEFAULT_CONTEXT;
    out.extend_from_slice(&[1, pdu.kind(), flags, 0]);
    out.extend_from_slice(&header.session_id.to_be_bytes());
    out.extend_from_slice(&header.transaction_id.to_be_bytes());
    out.extend_from_slice(&header.packet_id.to_be_bytes());
    out.extend_from_slice(
        &u32::try_from(payload.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes(),
    );
    out.extend_from_slice(&payload);
    out
}

/// Decodes the PDU at the start of `buf` (exactly [`frame_len`] bytes of it are read). A
/// context, if any, is skipped: this subagent serves the default context only.
pub fn decode(buf: &[u8]) -> Result<(Header, Pdu), PduError> {
    let len = frame_len(buf).ok_or(PduError::Short)?;
    if len > MAX_PDU {
        return Err(PduError::TooLong(len));
    }
    let frame = buf.get(..len).ok_or(PduError::Short)?;
    let mut r = Reader {
        buf: frame,
        at: 0,
        big: false,
    };
    let version = r.u8()?;
    if version != 1 {
        return Err(PduError::Version(version));
    }
    let ty = r.u8()?;
    let flags = r.u8()?;
    r.big = flags & NETWORK_BYTE_ORDER != 0;
    r.u8()?;
    let header = Header {
        flags,
        session_id: r.u32()?,
        transaction_id: r.u32()?,
        packet_id: r.u32()?,
    };
    r.u32()?;
    let with_context = matches!(
        ty,
        kind::REGISTER
            | kind::GET
            | kind::GET_NEXT
            | kind::GET_BULK
            | kind::TEST_SET
            | kind::NOTIFY
            | kind::PING
    );
    if with_context && flags & NON_DEFAULT_CONTEXT != 0 {
        r.octets()?;
    }
    let pdu = match ty {
        kind::OPEN => {
            let timeout = r.u8()?;
            r.skip(3)?;
            let (id, _) = r.oid()?;
            Pdu::Open {
                timeout,
                id,
                descr: r.octets()?,
            }
        }
        kind::CLOSE => {
            let reason = r.u8()?;
            r.skip(3)?;
            Pdu::Close { reason }
        }
        kind::REGISTER => {
            let timeout = r.u8()?;
            let priority = r.u8()?;
            r.skip(2)?;
            let (subtree, _) = r.oid()?;
            Pdu::Register {
                timeout,
                priority,
                subtree,
            }
        }
        kind::GET => Pdu::Get(r.ranges()?),
        kind::GET_NEXT => Pdu::GetNext(r.ranges()?),
        kind::GET_BULK => Pdu::GetBulk {
            non_repeaters: r.u16()?,
            max_repetitions: r.u16()?,
            ranges: r.ranges()?,
        },
        kind::TEST_SET => Pdu::TestSet(r.varbinds()?),
        kind::COMMIT_SET => Pdu::CommitSet,
        kind::UNDO_SET => Pdu::UndoSet,
        kind::CLEANUP_SET => Pdu::CleanupSet,
        kind::NOTIFY => Pdu::Notify(r.varbinds()?),
        kind::PING => Pdu::Ping,
        kind::RESPONSE => Pdu::Response {
            uptime: r.u32()?,
            error: r.u16()?,
            index: r.u16()?,
            varbinds: r.varbinds()?,
        },
        other => Pdu::Other(other),
    };
    Ok((header, pdu))
}

struct Writer(Vec<u8>);

impl Writer {
    fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }

    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }

    /// An OID, with the `1.3.6.1.X` prefix compressed as the RFC allows.
    fn oid(&mut self, oid: &Oid, include: bool) {
        let (prefix, subs) = match oid.0.as_slice() {
            [1, 3, 6, 1, p, rest @ ..] if (1..=255).contains(p) => (*p, rest),
            all => (0, all),
        };
        let n = u8::try_from(subs.len()).unwrap_or(u8::MAX);
        let prefix = u8::try_from(prefix).unwrap_or(0);
        self.0.extend_from_slice(&[n, prefix, u8::from(include), 0]);
        for s in subs.iter().take(usize::from(n)) {
            self.u32(*s);
        }
    }

    fn octets(&mut self, data: &[u8]) {
        self.u32(u32::try_from(data.len()).unwrap_or(u32::MAX));
        self.0.extend_from_slice(data);
        let pad = (4 - data.len() % 4) % 4;
        self.0.extend(std::iter::repeat_n(0, pad));
    }

    fn ranges(&mut self, ranges: &[SearchRange]) {
        for r in ranges {
            self.oid(&r.start, r.include);
            self.oid(&r.end, false);
        }
    }

    fn varbinds(&mut self, vbs: &[VarBind]) {
        for vb in vbs {
            let ty: u16 = match &vb.value {
                Value::Integer(_) => 2,
                Value::OctetString(_) => 4,
                Value::Null => 5,
                Value::ObjectIdentifier(_) => 6,
                Value::IpAddress(_) => 64,
                Value::Counter32(_) => 65,
                Value::Gauge32(_) => 66,
                Value::TimeTicks(_) => 67,
                Value::Opaque(_) => 68,
                Value::Counter64(_) => 70,
                Value::NoSuchObject => 128,
                Value::NoSuchInstance => 129,
                Value::EndOfMibView => 130,
            };
            self.u16(ty);
            self.u16(0);
            self.oid(&vb.name, false);
            match &vb.value {
                Value::Integer(v) => self.0.extend_from_slice(&v.to_be_bytes()),
                Value::Counter32(v) | Value::Gauge32(v) | Value::TimeTicks(v) => self.u32(*v),
                Value::Counter64(v) => self.0.extend_from_slice(&v.to_be_bytes()),
                Value::OctetString(d) | Value::Opaque(d) => self.octets(d),
                Value::IpAddress(a) => self.octets(a),
                Value::ObjectIdentifier(o) => self.oid(o, false),
                Value::Null | Value::NoSuchObject | Value::NoSuchInstance | Value::EndOfMibView => {
                }
            }
        }
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
    big: bool,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], PduError> {
        let bytes = self
            .buf
            .get(self.at..self.at + N)
            .ok_or(PduError::Malformed(what, self.at))?;
        self.at += N;
        bytes
            .try_into()
            .map_err(|_| PduError::Malformed(what, self.at))
    }

    fn skip(&mut self, n: usize) -> Result<(), PduError> {
        if self.at + n > self.buf.len() {
            return Err(PduError::Malformed("reserved bytes", self.at));
        }
        self.at += n;
        Ok(())
    }

    fn done(&self) -> bool {
        self.at >= self.buf.len()
    }

    fn u8(&mut self) -> Result<u8, PduError> {
        Ok(self.take::<1>("byte")?[0])
    }

    fn u16(&mut self) -> Result<u16, PduError> {
        let b = self.take::<2>("16-bit field")?;
        Ok(if self.big {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    }

    fn u32(&mut self) -> Result<u32, PduError> {
        let b = self.take::<4>("32-bit field")?;
        Ok(if self.big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }

    fn u64(&mut self) -> Result<u64, PduError> {
        let b = self.take::<8>("64-bit field")?;
        Ok(if self.big {
            u64::from_be_bytes(b)
        } else {
            u64::from_le_bytes(b)
        })
    }

    /// An OID and its `include` bit.
    fn oid(&mut self) -> Result<(Oid, bool), PduError> {
        let at = self.at;
        let [n, prefix, include, _] = self.take::<4>("object identifier")?;
        if n > 128 {
            return Err(PduError::Malformed("object identifier length", at));
        }
        let mut subs = Vec::with_capacity(usize::from(n) + 5);
        if prefix != 0 {
            subs.extend_from_slice(&[1, 3, 6, 1, u32::from(prefix)]);
        }
        for _ in 0..n {
            subs.push(self.u32()?);
        }
        Ok((Oid(subs), include != 0))
    }

    fn octets(&mut self) -> Result<Vec<u8>, PduError> {
        let at = self.at;
        let len = usize::try_from(self.u32()?).unwrap_or(usize::MAX);
        let padded = len
            .checked_add(3)
            .ok_or(PduError::Malformed("octet string", at))?
            / 4
            * 4;
        let data = self
            .buf
            .get(self.at..self.at + len)
            .ok_or(PduError::Malformed("octet string", at))?
            .to_vec();
        self.skip(padded)?;
        Ok(data)
    }

    fn ranges(&mut self) -> Result<Vec<SearchRange>, PduError> {
        let mut out = Vec::new();
        while !self.done() {
            let (start, include) = self.oid()?;
            let (end, _) = self.oid()?;
            out.push(SearchRange {
                start,
                include,
                end,
            });
        }
        Ok(out)
    }

    fn varbinds(&mut self) -> Result<Vec<VarBind>, PduError> {
        let mut out = Vec::new();
        while !self.done() {
            let at = self.at;
            let ty = self.u16()?;
            self.skip(2)?;
            let (name, _) = self.oid()?;
            let value = match ty {
                2 => Value::Integer(i32::from_ne_bytes(self.u32()?.to_ne_bytes())),
                4 => Value::OctetString(self.octets()?),
                5 => Value::Null,
                6 => Value::ObjectIdentifier(self.oid()?.0),
                64 => {
                    let o = self.octets()?;
                    Value::IpAddress(
                        o.as_slice()
                            .try_into()
                            .map_err(|_| PduError::Malformed("IpAddress", at))?,
                    )
                }
                65 => Value::Counter32(self.u32()?),
                66 => Value::Gauge32(self.u32()?),
                67 => Value::TimeTicks(self.u32()?),
                68 => Value::Opaque(self.octets()?),
                70 => Value::Counter64(self.u64()?),
                128 => Value::NoSuchObject,
                129 => Value::NoSuchInstance,
                130 => Value::EndOfMibView,
                _ => return Err(PduError::Malformed("value type", at)),
            };
            out.push(VarBind { name, value });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oid(s: &[u32]) -> Oid {
        Oid(s.to_vec())
    }

    fn random_oid(rng: &mut fastrand::Rng) -> Oid {
        let mut v = if rng.bool() {
            vec![1, 3, 6, 1, rng.u32(1..=6)]
        } else {
            Vec::new()
        };
        for _ in 0..rng.usize(0..12) {
            v.push(rng.u32(..));
        }
        Oid(v)
    }

    fn random_value(rng: &mut fastrand::Rng) -> Value {
        let bytes = |rng: &mut fastrand::Rng| {
            (0..rng.usize(0..40))
                .map(|_| rng.u8(..))
                .collect::<Vec<u8>>()
        };
        match rng.u8(0..13) {
            0 => Value::Integer(rng.i32(..)),
            1 => Value::OctetString(bytes(rng)),
            2 => Value::Null,
            3 => Value::ObjectIdentifier(random_oid(rng)),
            4 => Value::IpAddress([rng.u8(..), rng.u8(..), rng.u8(..), rng.u8(..)]),
            5 => Value::Counter32(rng.u32(..)),
            6 => Value::Gauge32(rng.u32(..)),
            7 => Value::TimeTicks(rng.u32(..)),
            8 => Value::Opaque(bytes(rng)),
            9 => Value::Counter64(rng.u64(..)),
            10 => Value::NoSuchObject,
            11 => Value::NoSuchInstance,
            _ => Value::EndOfMibView,
        }
    }

    fn random_pdu(rng: &mut fastrand::Rng) -> Pdu {
        let ranges = |rng: &mut fastrand::Rng| {
            (0..rng.usize(0..4))
                .map(|_| SearchRange {
                    start: random_oid(rng),
                    include: rng.bool(),
                    end: random_oid(rng),
                })
                .collect::<Vec<_>>()
        };
        let varbinds = |rng: &mut fastrand::Rng| {
            (0..rng.usize(0..5))
                .map(|_| VarBind {
                    name: random_oid(rng),
                    value: random_value(rng),
                })
                .collect::<Vec<_>>()
        };
        match rng.u8(0..13) {
            0 => Pdu::Open {
                timeout: rng.u8(..),
                id: random_oid(rng),
                descr: b"keepalived-rs".to_vec(),
            },
            1 => Pdu::Close { reason: rng.u8(..) },
            2 => Pdu::Register {
                timeout: rng.u8(..),
                priority: rng.u8(..),
                subtree: random_oid(rng),
            },
            3 => Pdu::Get(ranges(rng)),
            4 => Pdu::GetNext(ranges(rng)),
            5 => Pdu::GetBulk {
                non_repeaters: rng.u16(..),
                max_repetitions: rng.u16(..),
                ranges: ranges(rng),
            },
            6 => Pdu::TestSet(varbinds(rng)),
            7 => Pdu::CommitSet,
            8 => Pdu::Notify(varbinds(rng)),
            9 => Pdu::Ping,
            10 => Pdu::UndoSet,
            11 => Pdu::CleanupSet,
            _ => Pdu::Response {
                uptime: rng.u32(..),
                error: rng.u16(..),
                index: rng.u16(..),
                varbinds: varbinds(rng),
            },
        }
    }

    /// Every PDU reads back as itself, whatever its fields.
    #[test]
    fn random_pdus_read_back() {
        let mut rng = fastrand::Rng::with_seed(2741);
        for _ in 0..20_000 {
            let pdu = random_pdu(&mut rng);
            let header = Header {
                flags: NETWORK_BYTE_ORDER,
                session_id: rng.u32(..),
                transaction_id: rng.u32(..),
                packet_id: rng.u32(..),
            };
            let bytes = encode(&header, &pdu);
            assert_eq!(frame_len(&bytes), Some(bytes.len()));
            assert_eq!(decode(&bytes), Ok((header, pdu)));
        }
    }

    /// Truncated, corrupted and random bytes are refused or read, never a panic.
    #[test]
    fn junk_never_panics() {
        let mut rng = fastrand::Rng::with_seed(5);
        for _ in 0..20_000 {
            let mut bytes = encode(&Header::default(), &random_pdu(&mut rng));
            match rng.u8(0..3) {
                0 => bytes.truncate(rng.usize(0..=bytes.len())),
                1 => {
                    for _ in 0..rng.usize(1..6) {
                        let i = rng.usize(0..bytes.len());
                        bytes[i] = rng.u8(..);
                    }
                }
                _ => bytes = (0..rng.usize(0..80)).map(|_| rng.u8(..)).collect(),
            }
            let _ = decode(&bytes);
        }
    }

    /// A Get from net-snmp's master agent in its native (little-endian) order, with the
    /// `1.3.6.1.4` prefix compressed.
    #[test]
    fn a_little_endian_get() {
        let mut b = vec![1, kind::GET, 0, 0];
        for v in [7u32, 9, 11] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        let payload: Vec<u8> = [
            vec![3, 4, 0, 0],
            9586u32.to_le_bytes().to_vec(),
            100u32.to_le_bytes().to_vec(),
            5u32.to_le_bytes().to_vec(),
            vec![0, 0, 0, 0],
        ]
        .concat();
        b.extend_from_slice(&u32::try_from(payload.len()).unwrap().to_le_bytes());
        b.extend_from_slice(&payload);
        let (h, pdu) = decode(&b).unwrap();
        assert_eq!((h.session_id, h.transaction_id, h.packet_id), (7, 9, 11));
        assert_eq!(
            pdu,
            Pdu::Get(vec![SearchRange {
                start: oid(&[1, 3, 6, 1, 4, 9586, 100, 5]),
                include: false,
                end: Oid::default(),
            }])
        );
    }

    #[test]
    fn wrong_version_and_huge_lengths_are_refused() {
        let mut b = encode(&Header::default(), &Pdu::Ping);
        b[0] = 2;
        assert_eq!(decode(&b), Err(PduError::Version(2)));
        let mut b = encode(&Header::default(), &Pdu::Ping);
        b[16..20].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(decode(&b), Err(PduError::TooLong(_))));
    }
}
