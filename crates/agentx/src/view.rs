//! A view of the MIB (values by object identifier) and the varbinds that answer a Get, GetNext
//! or GetBulk from it (RFC 2741 section 7.2.3).

use std::collections::BTreeMap;
use std::ops::Bound;

use crate::pdu::{Oid, Pdu, SearchRange, Value, VarBind};

/// The subagent's objects at one moment, in OID order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct View(BTreeMap<Oid, Value>);

impl View {
    /// An empty view.
    pub fn new() -> View {
        View::default()
    }

    /// Sets object `oid` to `value`.
    pub fn insert(&mut self, oid: Oid, value: Value) {
        self.0.insert(oid, value);
    }

    /// How many objects it holds.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The objects, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&Oid, &Value)> {
        self.0.iter()
    }

    /// A Get of `oid`: its value, else noSuchInstance when its column (the identifier without
    /// its last part) has objects, else noSuchObject.
    pub fn get(&self, oid: &Oid) -> VarBind {
        let value = match self.0.get(oid) {
            Some(v) => v.clone(),
            None => {
                let column = Oid(oid
                    .0
                    .split_last()
                    .map(|(_, c)| c.to_vec())
                    .unwrap_or_default());
                let has_column = self
                    .0
                    .range(&column..)
                    .next()
                    .is_some_and(|(o, _)| o.starts_with(&column) && !column.0.is_empty());
                if has_column {
                    Value::NoSuchInstance
                } else {
                    Value::NoSuchObject
                }
            }
        };
        VarBind {
            name: oid.clone(),
            value,
        }
    }

    /// The first object of `range`, or endOfMibView named after its start.
    pub fn next(&self, range: &SearchRange) -> VarBind {
        let from = if range.include {
            Bound::Included(&range.start)
        } else {
            Bound::Excluded(&range.start)
        };
        let found = self
            .0
            .range::<Oid, _>((from, Bound::Unbounded))
            .next()
            .filter(|(o, _)| range.end.0.is_empty() || **o < range.end);
        match found {
            Some((name, value)) => VarBind {
                name: name.clone(),
                value: value.clone(),
            },
            None => VarBind {
                name: range.start.clone(),
                value: Value::EndOfMibView,
            },
        }
    }

    /// The varbinds answering `pdu`, or `None` for a PDU that is not a read.
    pub fn answer(&self, pdu: &Pdu) -> Option<Vec<VarBind>> {
        match pdu {
            Pdu::Get(ranges) => Some(ranges.iter().map(|r| self.get(&r.start)).collect()),
            Pdu::GetNext(ranges) => Some(ranges.iter().map(|r| self.next(r)).collect()),
            Pdu::GetBulk {
                non_repeaters,
                max_repetitions,
                ranges,
            } => Some(self.bulk(usize::from(*non_repeaters), *max_repetitions, ranges)),
            _ => None,
        }
    }

    fn bulk(&self, non_repeaters: usize, repetitions: u16, ranges: &[SearchRange]) -> Vec<VarBind> {
        let split = non_repeaters.min(ranges.len());
        let (once, repeated) = ranges.split_at(split);
        let mut out: Vec<VarBind> = once.iter().map(|r| self.next(r)).collect();
        let mut current: Vec<SearchRange> = repeated.to_vec();
        for _ in 0..repetitions {
            if current.is_empty() {
                break;
            }
            let mut all_ended = true;
            for r in &mut current {
                let vb = self.next(r);
                if vb.value != Value::EndOfMibView {
                    all_ended = false;
                    r.start = vb.name.clone();
                    r.include = false;
                }
                out.push(vb);
            }
            if all_ended {
                break;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oid(s: &[u32]) -> Oid {
        Oid(s.to_vec())
    }

    fn view() -> View {
        let mut v = View::new();
        v.insert(oid(&[1, 1, 0]), Value::Integer(1));
        v.insert(
            oid(&[1, 2, 3, 1, 2, 1]),
            Value::OctetString(b"VI_1".to_vec()),
        );
        v.insert(
            oid(&[1, 2, 3, 1, 2, 2]),
            Value::OctetString(b"VI_2".to_vec()),
        );
        v.insert(oid(&[1, 2, 3, 1, 3, 1]), Value::Gauge32(51));
        v
    }

    fn range(start: &[u32], include: bool, end: &[u32]) -> SearchRange {
        SearchRange {
            start: oid(start),
            include,
            end: oid(end),
        }
    }

    #[test]
    fn get_answers_the_object_or_says_what_is_missing() {
        let v = view();
        assert_eq!(v.get(&oid(&[1, 1, 0])).value, Value::Integer(1));
        assert_eq!(
            v.get(&oid(&[1, 2, 3, 1, 2, 9])).value,
            Value::NoSuchInstance
        );
        assert_eq!(v.get(&oid(&[1, 7, 0])).value, Value::NoSuchObject);
    }

    #[test]
    fn getnext_walks_in_order_within_the_range() {
        let v = view();
        let vb = v.next(&range(&[1, 1, 0], false, &[]));
        assert_eq!(vb.name, oid(&[1, 2, 3, 1, 2, 1]));
        let vb = v.next(&range(&[1, 1, 0], true, &[]));
        assert_eq!(vb.name, oid(&[1, 1, 0]));
        let vb = v.next(&range(&[1, 2, 3, 1, 2, 2], false, &[1, 2, 3, 1, 3]));
        assert_eq!(vb.value, Value::EndOfMibView);
        assert_eq!(vb.name, oid(&[1, 2, 3, 1, 2, 2]));
    }

    #[test]
    fn getbulk_repeats_and_stops_at_the_end() {
        let v = view();
        let pdu = Pdu::GetBulk {
            non_repeaters: 1,
            max_repetitions: 10,
            ranges: vec![range(&[1], false, &[]), range(&[1, 2], false, &[])],
        };
        let names: Vec<Oid> = v
            .answer(&pdu)
            .unwrap()
            .into_iter()
            .map(|b| b.name)
            .collect();
        assert_eq!(
            names,
            vec![
                oid(&[1, 1, 0]),
                oid(&[1, 2, 3, 1, 2, 1]),
                oid(&[1, 2, 3, 1, 2, 2]),
                oid(&[1, 2, 3, 1, 3, 1]),
                // endOfMibView, named after where the walk stopped.
                oid(&[1, 2, 3, 1, 3, 1]),
            ]
        );
    }
}
