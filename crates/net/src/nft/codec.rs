//! The nf_tables netlink messages keepalived-rs sends, built into one batch: tables, base and
//! regular chains, named sets and their elements, and rules made of the few expressions the
//! VRRP firewall needs (payload, meta, cmp, bitwise, lookup, counter, immediate verdict).
//! Pure: no socket here, so the bytes can be compared with golden captures.
//!
//! Layout (linux/netfilter/nf_tables.h, nfnetlink.h): each message is a netlink header, a
//! `nfgenmsg` (family, version 0, resource id) and attributes; integers inside attributes are
//! big-endian; nests carry `NLA_F_NESTED`. A batch is framed by `NFNL_MSG_BATCH_BEGIN` and
//! `NFNL_MSG_BATCH_END` and applied by the kernel as one transaction.

use std::fmt;

mod map;
pub use map::{MapElement, MapSpec};

/// `NFNL_SUBSYS_NFTABLES`.
const SUBSYS_NFTABLES: u16 = 10;
/// `NFNL_MSG_BATCH_BEGIN` / `NFNL_MSG_BATCH_END`.
const BATCH_BEGIN: u16 = 0x10;
const BATCH_END: u16 = 0x11;
/// Netlink header flags.
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_CREATE: u16 = 0x400;
const NLM_F_APPEND: u16 = 0x800;
const NLA_F_NESTED: u16 = 0x8000;
/// `NFTA_LIST_ELEM`, the attribute of every entry of a list nest.
const LIST_ELEM: u16 = 1;
/// `NFTA_DATA_VALUE` / `NFTA_DATA_VERDICT`.
const DATA_VALUE: u16 = 1;
const DATA_VERDICT: u16 = 2;

/// nf_tables message types (`NFT_MSG_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum MsgType {
    /// `NFT_MSG_NEWTABLE`.
    NewTable = 0,
    /// `NFT_MSG_GETTABLE`.
    GetTable = 1,
    /// `NFT_MSG_DELTABLE`.
    DelTable = 2,
    /// `NFT_MSG_NEWCHAIN`.
    NewChain = 3,
    /// `NFT_MSG_NEWRULE`.
    NewRule = 6,
    /// `NFT_MSG_NEWSET`.
    NewSet = 9,
    /// `NFT_MSG_NEWSETELEM`.
    NewSetElem = 12,
    /// `NFT_MSG_DELSETELEM`.
    DelSetElem = 14,
}

impl MsgType {
    /// The netlink message type: subsystem in the high byte.
    pub fn nlmsg_type(self) -> u16 {
        (SUBSYS_NFTABLES << 8) | self as u16
    }
}

/// The table families used: `ip` and `ip6`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    /// `NFPROTO_IPV4`: `table ip`.
    Ip,
    /// `NFPROTO_IPV6`: `table ip6`.
    Ip6,
}

impl Family {
    /// The `NFPROTO_*` number.
    pub fn nfproto(self) -> u8 {
        match self {
            Family::Ip => 2,
            Family::Ip6 => 10,
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::Ip => "ip",
            Family::Ip6 => "ip6",
        })
    }
}

/// A base chain's hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    /// `NF_INET_LOCAL_IN`.
    Input,
    /// `NF_INET_LOCAL_OUT`.
    Output,
}

/// Payload bases (`NFT_PAYLOAD_*_HEADER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    /// The network header.
    Network = 1,
    /// The transport header.
    Transport = 2,
}

/// Meta keys used (`NFT_META_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaKey {
    /// Input interface index.
    Iif = 4,
    /// Output interface index.
    Oif = 5,
    /// Input interface name.
    IifName = 6,
    /// Output interface name.
    OifName = 7,
    /// The packet mark (`meta mark`).
    Mark = 3,
    /// The layer 4 protocol (`meta l4proto`).
    L4Proto = 16,
    /// The output interface's kind (`meta oifkind`, "macvlan").
    OifKind = 27,
}

/// A rule's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// `NF_ACCEPT`.
    Accept,
    /// `NF_DROP`.
    Drop,
    /// `NFT_GOTO` a chain.
    Goto(String),
    /// `NFT_RETURN`.
    Return,
}

/// One expression of a rule. Registers are the 16-byte ones (1..=4); `NFT_REG_VERDICT` is 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// Loads `len` bytes at `offset` of `base` into `dreg`.
    Payload {
        /// Header.
        base: Base,
        /// Offset in it.
        offset: u32,
        /// Bytes.
        len: u32,
        /// Destination register.
        dreg: u32,
    },
    /// Loads a meta value into `dreg`.
    Meta {
        /// What.
        key: MetaKey,
        /// Destination register.
        dreg: u32,
    },
    /// Compares `sreg` with `data` for equality (`NFT_CMP_EQ`).
    CmpEq {
        /// Source register.
        sreg: u32,
        /// The value.
        data: Vec<u8>,
    },
    /// `dreg = (sreg & mask) ^ xor`.
    Bitwise {
        /// Source register.
        sreg: u32,
        /// Destination register.
        dreg: u32,
        /// Mask.
        mask: Vec<u8>,
        /// Xor (as long as the mask).
        xor: Vec<u8>,
    },
    /// Looks `sreg` (and the registers after it, for a concatenated key) up in `set`.
    Lookup {
        /// Source register.
        sreg: u32,
        /// The set's name.
        set: String,
    },
    /// Looks `sreg` (and the registers after it) up in the map `set` and loads the value
    /// found into `dreg` (no match: the rule stops).
    LookupMap {
        /// Source register.
        sreg: u32,
        /// Destination register.
        dreg: u32,
        /// The map's name.
        set: String,
    },
    /// Sets a meta value from `sreg` (`meta mark set ...`).
    MetaSet {
        /// What.
        key: MetaKey,
        /// Source register.
        sreg: u32,
    },
    /// Sends a copy of the packet to the address in `sreg_addr` through the interface whose
    /// index is in `sreg_dev` (`dup to ADDR device DEV`).
    Dup {
        /// Register of the address.
        sreg_addr: u32,
        /// Register of the interface index.
        sreg_dev: u32,
    },
    /// A packet and byte counter.
    Counter,
    /// The verdict.
    Verdict(Verdict),
}

/// A named set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetSpec {
    /// Its name.
    pub name: String,
    /// nftables' data type number of the key (concatenations: 6 bits per part).
    pub key_type: u32,
    /// Key length in bytes.
    pub key_len: u32,
    /// `NFT_SET_*` flags.
    pub flags: u32,
    /// nft's key byte order hint (`NFTNL_UDATA_SET_KEYBYTEORDER`): 1 host, 2 big-endian.
    pub byteorder: u32,
}

/// Set elements per message: 1,024 keys of up to 32 bytes (an address and an interface
/// name) take at most 48 KiB, within the 64 KiB a netlink attribute can hold.
pub const ELEMENTS_PER_MESSAGE: usize = 1024;

/// `NFT_SET_CONSTANT`.
pub const SET_CONSTANT: u32 = 0x2;

/// A batch being built: the framed messages and, per message, its sequence offset and a
/// description for errors ("add rule ip keepalived in ip daddr @vips drop").
#[derive(Debug, Clone, Default)]
pub struct Batch {
    buf: Vec<u8>,
    /// Per message (begin and end excluded): where its header starts, and what it does.
    msgs: Vec<(usize, String)>,
    set_id: u32,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Batch {
        Batch::default()
    }

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.msgs.is_empty()
    }

    /// How many messages (begin and end excluded).
    pub fn len(&self) -> usize {
        self.msgs.len()
    }

    /// The description of message `i`.
    pub fn what(&self, i: usize) -> Option<&str> {
        self.msgs.get(i).map(|(_, w)| w.as_str())
    }

    /// `nft add table FAMILY NAME`.
    pub fn add_table(&mut self, family: Family, name: &str) {
        let mut m = self.start(MsgType::NewTable, family, NLM_F_CREATE);
        m.strz(1, name);
        self.finish(m, format!("add table {family} {name}"));
    }

    /// `nft delete table FAMILY NAME`.
    pub fn del_table(&mut self, family: Family, name: &str) {
        let mut m = self.start(MsgType::DelTable, family, 0);
        m.strz(1, name);
        self.finish(m, format!("delete table {family} {name}"));
    }

    /// A base chain of type filter with policy accept.
    pub fn add_base_chain(
        &mut self,
        family: Family,
        table: &str,
        name: &str,
        hook: Hook,
        priority: i32,
    ) {
        let mut m = self.start(MsgType::NewChain, family, NLM_F_CREATE);
        m.strz(1, table);
        m.strz(3, name);
        let nest = m.nest_start(4);
        m.u32(1, if hook == Hook::Input { 1 } else { 3 });
        m.u32(2, u32::from_ne_bytes(priority.to_ne_bytes()));
        m.nest_end(nest);
        m.u32(5, 1);
        m.strz(7, "filter");
        let h = if hook == Hook::Input {
            "input"
        } else {
            "output"
        };
        self.finish(
            m,
            format!("add chain {family} {table} {name} {{ type filter hook {h} priority {priority}; policy accept; }}"),
        );
    }

    /// A regular chain (a `goto` target).
    pub fn add_chain(&mut self, family: Family, table: &str, name: &str) {
        let mut m = self.start(MsgType::NewChain, family, NLM_F_CREATE);
        m.strz(1, table);
        m.strz(3, name);
        self.finish(m, format!("add chain {family} {table} {name}"));
    }

    /// A named set.
    pub fn add_set(&mut self, family: Family, table: &str, set: &SetSpec) {
        self.set_id += 1;
        let mut m = self.start(MsgType::NewSet, family, NLM_F_CREATE);
        m.strz(1, table);
        m.strz(2, &set.name);
        if set.flags != 0 {
            m.u32(3, set.flags);
        }
        m.u32(4, set.key_type);
        m.u32(5, set.key_len);
        m.u32(10, self.set_id);
        // nft's user data: TLV (type 0 = key byte order, 4 bytes, host order).
        let mut udata = vec![0u8, 4];
        udata.extend_from_slice(&set.byteorder.to_ne_bytes());
        m.bytes(13, &udata);
        self.finish(m, format!("add set {family} {table} {}", set.name));
    }

    /// Adds `keys` to `set` (an element already there is no error).
    pub fn add_elements(&mut self, family: Family, table: &str, set: &str, keys: &[Vec<u8>]) {
        self.elements(MsgType::NewSetElem, family, table, set, keys);
    }

    /// Removes `keys` from `set` (each must be there).
    pub fn del_elements(&mut self, family: Family, table: &str, set: &str, keys: &[Vec<u8>]) {
        self.elements(MsgType::DelSetElem, family, table, set, keys);
    }

    fn elements(&mut self, t: MsgType, family: Family, table: &str, set: &str, keys: &[Vec<u8>]) {
        // A nest's length is 16 bits: at most ELEMENTS_PER_MESSAGE keys (of up to 32 bytes)
        // go in one message, more take several messages of the same batch.
        for chunk in keys.chunks(ELEMENTS_PER_MESSAGE) {
            self.elements_message(t, family, table, set, chunk);
        }
    }

    fn elements_message(
        &mut self,
        t: MsgType,
        family: Family,
        table: &str,
        set: &str,
        keys: &[Vec<u8>],
    ) {
        let flags = if t == MsgType::NewSetElem {
            NLM_F_CREATE
        } else {
            0
        };
        let mut m = self.start(t, family, flags);
        m.strz(1, table);
        m.strz(2, set);
        let list = m.nest_start(3);
        for key in keys {
            let e = m.nest_start(LIST_ELEM);
            let k = m.nest_start(1);
            m.bytes(DATA_VALUE, key);
            m.nest_end(k);
            m.nest_end(e);
        }
        m.nest_end(list);
        let verb = if t == MsgType::NewSetElem {
            "add"
        } else {
            "delete"
        };
        self.finish(
            m,
            format!(
                "{verb} {} element(s) of set {family} {table} {set}",
                keys.len()
            ),
        );
    }

    /// Appends a rule to `chain`; `what` is its nft text for errors.
    pub fn add_rule(
        &mut self,
        family: Family,
        table: &str,
        chain: &str,
        exprs: &[Expr],
        what: &str,
    ) {
        let mut m = self.start(MsgType::NewRule, family, NLM_F_CREATE | NLM_F_APPEND);
        m.strz(1, table);
        m.strz(2, chain);
        let list = m.nest_start(4);
        for e in exprs {
            let elem = m.nest_start(LIST_ELEM);
            expr(&mut m, e);
            m.nest_end(elem);
        }
        m.nest_end(list);
        self.finish(m, format!("add rule {family} {table} {chain} {what}"));
    }

    /// The whole datagram with sequence numbers from `first`: begin, messages, end. Message
    /// `i` has sequence `first + 1 + i`.
    pub fn frame(&self, first: u32) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.buf.len() + 40);
        push_control(&mut out, BATCH_BEGIN, first);
        let base = out.len();
        out.extend_from_slice(&self.buf);
        let mut seq = first;
        for (at, _) in &self.msgs {
            seq = seq.wrapping_add(1);
            if let Some(s) = out.get_mut(base + at + 8..base + at + 12) {
                s.copy_from_slice(&seq.to_ne_bytes());
            }
        }
        push_control(&mut out, BATCH_END, seq.wrapping_add(1));
        out
    }

    fn start(&mut self, t: MsgType, family: Family, flags: u16) -> Msg {
        Msg::new(
            t.nlmsg_type(),
            NLM_F_REQUEST | NLM_F_ACK | flags,
            family.nfproto(),
            0,
        )
    }

    fn finish(&mut self, m: Msg, what: String) {
        self.msgs.push((self.buf.len(), what));
        self.buf.extend_from_slice(&m.done());
    }
}

/// A single request outside a batch: `NFT_MSG_GETTABLE` for `name`.
pub fn get_table(family: Family, name: &str, seq: u32) -> Vec<u8> {
    let mut m = Msg::new(
        MsgType::GetTable.nlmsg_type(),
        NLM_F_REQUEST | NLM_F_ACK,
        family.nfproto(),
        0,
    );
    m.strz(1, name);
    let mut out = m.done();
    if let Some(s) = out.get_mut(8..12) {
        s.copy_from_slice(&seq.to_ne_bytes());
    }
    out
}

/// A table as the kernel describes it (`NFT_MSG_NEWTABLE` reply).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableInfo {
    /// `NFTA_TABLE_FLAGS`.
    pub flags: u32,
    /// `NFTA_TABLE_OWNER`: the netlink port id of the owning socket, if owned.
    pub owner: Option<u32>,
}

/// `NFT_TABLE_F_OWNER`: the table goes with the socket that created it.
pub const TABLE_F_OWNER: u32 = 0x2;

impl TableInfo {
    /// Whether another process's socket owns the table (only it may change or delete it).
    pub fn owned(&self) -> bool {
        self.flags & TABLE_F_OWNER != 0
    }
}

/// Reads the attributes of a `NFT_MSG_NEWTABLE` message's payload (after the `nfgenmsg`).
pub fn parse_table(attrs: &[u8]) -> TableInfo {
    let mut info = TableInfo::default();
    for (t, v) in attributes(attrs) {
        let be32 = v
            .get(..4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(u32::from_be_bytes);
        match (t, be32) {
            (2, Some(f)) => info.flags = f,
            (7, Some(o)) => info.owner = Some(o),
            _ => {}
        }
    }
    info
}

/// Iterates over the (type without flags, value) attributes of `buf`; stops at the first
/// malformed one.
pub fn attributes(buf: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    let mut at = 0usize;
    std::iter::from_fn(move || {
        let head = buf.get(at..at + 4)?;
        let len = usize::from(u16::from_ne_bytes([head[0], head[1]]));
        let t = u16::from_ne_bytes([head[2], head[3]]) & !(NLA_F_NESTED | 0x4000);
        let value = buf.get(at + 4..at.checked_add(len)?)?;
        if len < 4 {
            return None;
        }
        at += len.next_multiple_of(4);
        Some((t, value))
    })
}

fn expr(m: &mut Msg, e: &Expr) {
    let name = match e {
        Expr::Payload { .. } => "payload",
        Expr::Meta { .. } => "meta",
        Expr::CmpEq { .. } => "cmp",
        Expr::Bitwise { .. } => "bitwise",
        Expr::Lookup { .. } | Expr::LookupMap { .. } => "lookup",
        Expr::MetaSet { .. } => "meta",
        Expr::Dup { .. } => "dup",
        Expr::Counter => "counter",
        Expr::Verdict(_) => "immediate",
    };
    m.strz(1, name);
    let data = m.nest_start(2);
    match e {
        Expr::Payload {
            base,
            offset,
            len,
            dreg,
        } => {
            m.u32(1, *dreg);
            m.u32(2, *base as u32);
            m.u32(3, *offset);
            m.u32(4, *len);
        }
        Expr::Meta { key, dreg } => {
            m.u32(2, *key as u32);
            m.u32(1, *dreg);
        }
        Expr::CmpEq { sreg, data } => {
            m.u32(1, *sreg);
            m.u32(2, 0);
            let d = m.nest_start(3);
            m.bytes(DATA_VALUE, data);
            m.nest_end(d);
        }
        Expr::Bitwise {
            sreg,
            dreg,
            mask,
            xor,
        } => {
            m.u32(1, *sreg);
            m.u32(2, *dreg);
            m.u32(3, u32::try_from(mask.len()).unwrap_or(0));
            let d = m.nest_start(4);
            m.bytes(DATA_VALUE, mask);
            m.nest_end(d);
            let d = m.nest_start(5);
            m.bytes(DATA_VALUE, xor);
            m.nest_end(d);
        }
        Expr::Lookup { sreg, set } => {
            m.strz(1, set);
            m.u32(2, *sreg);
        }
        Expr::LookupMap { sreg, dreg, set } => {
            m.strz(1, set);
            m.u32(2, *sreg);
            m.u32(3, *dreg);
        }
        Expr::MetaSet { key, sreg } => {
            m.u32(2, *key as u32);
            m.u32(3, *sreg);
        }
        Expr::Dup {
            sreg_addr,
            sreg_dev,
        } => {
            m.u32(1, *sreg_addr);
            m.u32(2, *sreg_dev);
        }
        Expr::Counter => {}
        Expr::Verdict(v) => {
            m.u32(1, 0);
            let d = m.nest_start(2);
            let vn = m.nest_start(DATA_VERDICT);
            let code: i32 = match v {
                Verdict::Drop => 0,
                Verdict::Accept => 1,
                Verdict::Goto(_) => -4,
                Verdict::Return => -5,
            };
            m.u32(1, u32::from_ne_bytes(code.to_ne_bytes()));
            if let Verdict::Goto(chain) = v {
                m.strz(2, chain);
            }
            m.nest_end(vn);
            m.nest_end(d);
        }
    }
    m.nest_end(data);
}

/// A control message (batch begin / end): resource id = the nftables subsystem.
fn push_control(out: &mut Vec<u8>, t: u16, seq: u32) {
    let m = Msg::new(t, NLM_F_REQUEST, 0, SUBSYS_NFTABLES);
    let mut bytes = m.done();
    if let Some(s) = bytes.get_mut(8..12) {
        s.copy_from_slice(&seq.to_ne_bytes());
    }
    out.extend_from_slice(&bytes);
}

/// One message being written.
struct Msg {
    buf: Vec<u8>,
}

impl Msg {
    fn new(t: u16, flags: u16, family: u8, res_id: u16) -> Msg {
        let mut buf = Vec::with_capacity(128);
        buf.extend_from_slice(&0u32.to_ne_bytes());
        buf.extend_from_slice(&t.to_ne_bytes());
        buf.extend_from_slice(&flags.to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes()); // seq, set when framed
        buf.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel's
        buf.push(family);
        buf.push(0); // NFNETLINK_V0
        buf.extend_from_slice(&res_id.to_be_bytes());
        Msg { buf }
    }

    fn attr(&mut self, t: u16, value: &[u8]) {
        let len = u16::try_from(4 + value.len()).unwrap_or(u16::MAX);
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&t.to_ne_bytes());
        self.buf.extend_from_slice(value);
        self.pad();
    }

    fn pad(&mut self) {
        while !self.buf.len().is_multiple_of(4) {
            self.buf.push(0);
        }
    }

    fn bytes(&mut self, t: u16, value: &[u8]) {
        self.attr(t, value);
    }

    fn strz(&mut self, t: u16, s: &str) {
        let mut v = s.as_bytes().to_vec();
        v.push(0);
        self.attr(t, &v);
    }

    fn u32(&mut self, t: u16, v: u32) {
        self.attr(t, &v.to_be_bytes());
    }

    fn nest_start(&mut self, t: u16) -> usize {
        let at = self.buf.len();
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf
            .extend_from_slice(&(t | NLA_F_NESTED).to_ne_bytes());
        at
    }

    fn nest_end(&mut self, at: usize) {
        let len = u16::try_from(self.buf.len() - at).unwrap_or(u16::MAX);
        if let Some(s) = self.buf.get_mut(at..at + 2) {
            s.copy_from_slice(&len.to_ne_bytes());
        }
    }

    fn done(mut self) -> Vec<u8> {
        let len = u32::try_from(self.buf.len()).unwrap_or(u32::MAX);
        if let Some(s) = self.buf.get_mut(0..4) {
            s.copy_from_slice(&len.to_ne_bytes());
        }
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_numbers_messages_in_order() {
        let mut b = Batch::new();
        b.add_table(Family::Ip, "keepalived");
        b.del_table(Family::Ip6, "keepalived");
        let bytes = b.frame(100);
        let mut seqs = Vec::new();
        let mut at = 0;
        while let Some(h) = bytes.get(at..at + 16) {
            let len = u32::from_ne_bytes([h[0], h[1], h[2], h[3]]) as usize;
            seqs.push(u32::from_ne_bytes([h[8], h[9], h[10], h[11]]));
            at += len;
        }
        assert_eq!(seqs, [100, 101, 102, 103]);
        assert_eq!(at, bytes.len());
        assert_eq!(b.what(1), Some("delete table ip6 keepalived"));
    }

    #[test]
    fn new_table_bytes() {
        let mut b = Batch::new();
        b.add_table(Family::Ip, "ka");
        let f = b.frame(0);
        let msg = &f[20..];
        // length 28: header 16, nfgenmsg 4, NAME "ka\0" padded to 8.
        assert_eq!(&msg[..4], &28u32.to_ne_bytes());
        assert_eq!(&msg[4..6], &(10u16 << 8).to_ne_bytes());
        assert_eq!(&msg[6..8], &(0x1u16 | 0x4 | 0x400).to_ne_bytes());
        assert_eq!(&msg[16..20], &[2, 0, 0, 0]);
        assert_eq!(&msg[20..28], &[7, 0, 1, 0, b'k', b'a', 0, 0]);
    }

    #[test]
    fn many_elements_are_split_so_every_nest_length_fits() {
        let keys: Vec<Vec<u8>> = (0..5000u32)
            .map(|i| {
                let mut k = vec![0u8; 32];
                k[0] = 0xfe;
                k[1] = 0x80;
                k[12..16].copy_from_slice(&i.to_be_bytes());
                k
            })
            .collect();
        let mut b = Batch::new();
        b.add_elements(Family::Ip6, "keepalived", "vips_link_local_name", &keys);
        assert_eq!(b.len(), 5);
        assert_eq!(
            b.what(4),
            Some("add 904 element(s) of set ip6 keepalived vips_link_local_name")
        );
        // Each message: header, nfgenmsg, table, set, then the elements nest, whose 16-bit
        // length must cover it to the end of the message.
        let f = b.frame(0);
        let mut at = 20;
        let mut seen = 0;
        for _ in 0..5 {
            let len = u32::from_ne_bytes([f[at], f[at + 1], f[at + 2], f[at + 3]]) as usize;
            let attrs = &f[at + 20..at + len];
            let (t, v) = attributes(attrs).last().expect("elements nest");
            assert_eq!(t, 3);
            seen += attributes(v).count();
            assert_eq!(
                v.as_ptr() as usize + v.len(),
                attrs.as_ptr() as usize + attrs.len()
            );
            at += len;
        }
        assert_eq!(seen, 5000);
    }

    #[test]
    fn table_reply_reads_owner() {
        let mut m = Msg::new(0, 0, 2, 0);
        m.strz(1, "keepalived");
        m.u32(2, TABLE_F_OWNER);
        m.u32(7, 4242);
        let bytes = m.done();
        let info = parse_table(&bytes[20..]);
        assert!(info.owned());
        assert_eq!(info.owner, Some(4242));
    }
}
