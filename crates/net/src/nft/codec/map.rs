//! Maps: with concatenated interval keys (`type A . B : C; flags interval`, the
//! `nftables_ipvs` maps) and plain ones (`type A : B`, the VMAC map of the VRRP firewall):
//! their creation and their elements.

use super::{Batch, DATA_VALUE, ELEMENTS_PER_MESSAGE, Family, LIST_ELEM, MsgType, NLM_F_CREATE};

/// A named map with a concatenated interval key (`type A . B : C; flags interval`): the
/// nftables_ipvs maps (address . port : mark).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapSpec {
    /// Its name.
    pub name: String,
    /// nftables' data type number of the key (6 bits per concatenated part).
    pub key_type: u32,
    /// The length of each part of the key in bytes (each padded to 4 in the key).
    pub fields: Vec<u32>,
    /// nftables' data type number of the values.
    pub data_type: u32,
    /// Value length in bytes.
    pub data_len: u32,
}

/// One element of a [`MapSpec`] map: the key range (`key ..= key_end`, each part its own
/// range) and the value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MapElement {
    /// The first key.
    pub key: Vec<u8>,
    /// The last key.
    pub key_end: Vec<u8>,
    /// The value.
    pub data: Vec<u8>,
}

/// `NFT_SET_INTERVAL`, `NFT_SET_MAP`, `NFT_SET_CONCAT`.
const SET_INTERVAL: u32 = 0x4;
const SET_MAP: u32 = 0x8;
const SET_CONCAT: u32 = 0x80;

impl Batch {
    /// A named map with a concatenated interval key.
    pub fn add_map(&mut self, family: Family, table: &str, map: &MapSpec) {
        self.set_id += 1;
        let mut m = self.start(MsgType::NewSet, family, NLM_F_CREATE);
        m.strz(1, table);
        m.strz(2, &map.name);
        m.u32(3, SET_MAP | SET_CONCAT | SET_INTERVAL);
        m.u32(4, map.key_type);
        let key_len: u32 = map.fields.iter().map(|l| l.next_multiple_of(4)).sum();
        m.u32(5, key_len);
        m.u32(6, map.data_type);
        m.u32(7, map.data_len);
        // NFTA_SET_DESC { NFTA_SET_DESC_CONCAT { elem { NFTA_SET_FIELD_LEN } ... } }
        let desc = m.nest_start(9);
        let concat = m.nest_start(2);
        for len in &map.fields {
            let e = m.nest_start(LIST_ELEM);
            m.u32(1, *len);
            m.nest_end(e);
        }
        m.nest_end(concat);
        m.nest_end(desc);
        m.u32(10, self.set_id);
        // nft's user data, as keepalived writes it for a map of a concatenated key: key byte
        // order (type 0) and value byte order (type 1) both "host" (1).
        let mut udata = vec![0u8, 4];
        udata.extend_from_slice(&1u32.to_ne_bytes());
        udata.extend_from_slice(&[1, 4]);
        udata.extend_from_slice(&1u32.to_ne_bytes());
        m.bytes(13, &udata);
        self.finish(m, format!("add map {family} {table} {}", map.name));
    }

    /// Adds (`add`) or removes elements of the map `set`.
    pub fn map_elements(
        &mut self,
        add: bool,
        family: Family,
        table: &str,
        set: &str,
        elements: &[MapElement],
    ) {
        for chunk in elements.chunks(ELEMENTS_PER_MESSAGE / 4) {
            let t = if add {
                MsgType::NewSetElem
            } else {
                MsgType::DelSetElem
            };
            let mut m = self.start(t, family, if add { NLM_F_CREATE } else { 0 });
            m.strz(1, table);
            m.strz(2, set);
            let list = m.nest_start(3);
            for el in chunk {
                let e = m.nest_start(LIST_ELEM);
                let k = m.nest_start(1);
                m.bytes(DATA_VALUE, &el.key);
                m.nest_end(k);
                if add {
                    let d = m.nest_start(2);
                    m.bytes(DATA_VALUE, &el.data);
                    m.nest_end(d);
                }
                // NFTA_SET_ELEM_KEY_END
                let k = m.nest_start(10);
                m.bytes(DATA_VALUE, &el.key_end);
                m.nest_end(k);
                m.nest_end(e);
            }
            m.nest_end(list);
            let verb = if add { "add" } else { "delete" };
            self.finish(
                m,
                format!(
                    "{verb} {} element(s) of map {family} {table} {set}",
                    chunk.len()
                ),
            );
        }
    }
}

impl Batch {
    /// A plain map (`type A : B`) with host-order keys and values, as keepalived creates its
    /// `vmac_map` (interface index to interface index).
    pub fn add_value_map(
        &mut self,
        family: Family,
        table: &str,
        name: &str,
        key: (u32, u32),
        data: (u32, u32),
    ) {
        self.set_id += 1;
        let mut m = self.start(MsgType::NewSet, family, NLM_F_CREATE);
        m.strz(1, table);
        m.strz(2, name);
        m.u32(3, SET_MAP);
        m.u32(4, key.0);
        m.u32(5, key.1);
        m.u32(6, data.0);
        m.u32(7, data.1);
        m.u32(10, self.set_id);
        let mut udata = vec![0u8, 4];
        udata.extend_from_slice(&1u32.to_ne_bytes());
        udata.extend_from_slice(&[1, 4]);
        udata.extend_from_slice(&1u32.to_ne_bytes());
        m.bytes(13, &udata);
        self.finish(m, format!("add map {family} {table} {name}"));
    }

    /// Adds (`add`, with their values) or removes (by key) `elements` (key, value) of the
    /// plain map `set`.
    pub fn value_map_elements(
        &mut self,
        add: bool,
        family: Family,
        table: &str,
        set: &str,
        elements: &[(Vec<u8>, Vec<u8>)],
    ) {
        for chunk in elements.chunks(ELEMENTS_PER_MESSAGE / 2) {
            let t = if add {
                MsgType::NewSetElem
            } else {
                MsgType::DelSetElem
            };
            let mut m = self.start(t, family, if add { NLM_F_CREATE } else { 0 });
            m.strz(1, table);
            m.strz(2, set);
            let list = m.nest_start(3);
            for (key, data) in chunk {
                let e = m.nest_start(LIST_ELEM);
                let k = m.nest_start(1);
                m.bytes(DATA_VALUE, key);
                m.nest_end(k);
                if add {
                    let d = m.nest_start(2);
                    m.bytes(DATA_VALUE, data);
                    m.nest_end(d);
                }
                m.nest_end(e);
            }
            m.nest_end(list);
            let verb = if add { "add" } else { "delete" };
            self.finish(
                m,
                format!(
                    "{verb} {} element(s) of map {family} {table} {set}",
                    chunk.len()
                ),
            );
        }
    }
}
