//! Hexadecimal arguments: MD5 digests and keepalived's free-format hex strings.

use crate::model::lvs::*;
use crate::tree::Node;

/// Parses 32 hex characters into an MD5 digest.
pub(crate) fn parse_digest(s: &str) -> Option<Digest> {
    let b = s.as_bytes();
    if b.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, pair) in b.chunks_exact(2).enumerate() {
        let hi = hex_val(pair[0])?;
        let lo = hex_val(pair[1])?;
        if let Some(o) = out.get_mut(i) {
            *o = (hi << 4) | lo;
        }
    }
    Some(Digest(out))
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// keepalived's free-format hex strings: each word is read in pairs of digits, an odd last
/// digit being the low nibble of a byte (`Ab12f 3` = AB 12 0F 03). With `wildcards`, `X`/`x`
/// digits are not compared.
pub(crate) fn parse_hex(node: &Node, wildcards: bool) -> Option<HexPattern> {
    let mut p = HexPattern::default();
    for tok in &node.args {
        let digits = tok.text.as_bytes();
        for pair in digits.chunks(2) {
            let nib = |c: u8| -> Option<(u8, u8)> {
                if wildcards && (c == b'x' || c == b'X') {
                    Some((0, 0))
                } else {
                    hex_val(c).map(|v| (v, 0xf))
                }
            };
            let (byte, mask) = match pair {
                [h, l] => {
                    let (hv, hm) = nib(*h)?;
                    let (lv, lm) = nib(*l)?;
                    ((hv << 4) | lv, (hm << 4) | lm)
                }
                [l] => nib(*l)?,
                _ => return None,
            };
            p.data.push(byte);
            p.mask.push(mask);
        }
    }
    if p.data.is_empty() { None } else { Some(p) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests() {
        assert!(parse_digest("9b3a0c85a887a256d6939da88aabd8cd").is_some());
        assert!(parse_digest("9B3A0C85A887A256D6939DA88AABD8CD").is_some());
        assert!(parse_digest("9b3a0c85a887a256d6939da88aabd8c").is_none());
        assert!(parse_digest("zz3a0c85a887a256d6939da88aabd8cd").is_none());
        assert!(parse_digest("9b3a0c85a887a256d6939da88aabd8cé").is_none());
    }

    #[test]
    fn hex_strings() {
        let tok = |t: &str| crate::tree::Token {
            text: t.into(),
            loc: Default::default(),
        };
        let node = Node {
            keyword: tok("payload"),
            args: ["Ab12f", "3", "456", "546443123"]
                .iter()
                .map(|t| tok(t))
                .collect(),
            block: None,
        };
        let p = parse_hex(&node, false).map(|p| p.data);
        assert_eq!(
            p,
            Some(vec![
                0xAB, 0x12, 0x0F, 0x03, 0x45, 0x06, 0x54, 0x64, 0x43, 0x12, 0x03
            ])
        );
        let node = Node {
            keyword: tok("require_reply"),
            args: vec![tok("0a1X")],
            block: None,
        };
        let p = parse_hex(&node, true);
        assert_eq!(
            p,
            Some(HexPattern {
                data: vec![0x0a, 0x10],
                mask: vec![0xff, 0xf0]
            })
        );
        assert_eq!(parse_hex(&node, false), None);
    }
}
