//! The builder's context: collects diagnostics, records which keywords were understood, and
//! parses keyword arguments (numbers with ranges, booleans, timers, addresses, enums) with
//! located errors, so every block builder reports the same way.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::ops::RangeInclusive;
use std::time::Duration;

use crate::diag::{DiagKind, Diagnostics, Loc, Severity};
use crate::model::common::{IpPrefix, Script};
use crate::tree::{Node, Token};

/// Builder context shared by every block builder.
#[derive(Debug, Default)]
pub struct Cx {
    /// Diagnostics so far.
    pub diags: Diagnostics,
    /// Keywords that were understood, by block, for the keyword-coverage test.
    pub seen: BTreeMap<&'static str, BTreeSet<String>>,
}

impl Cx {
    /// Records that `node`'s keyword was understood inside `block`.
    pub fn mark(&mut self, block: &'static str, node: &Node) {
        let names = self.seen.entry(block).or_default();
        if !names.contains(node.name()) {
            names.insert(node.name().to_owned());
        }
    }

    /// Reports an unknown keyword in `block`, suggesting the nearest of `known`.
    pub fn unknown(&mut self, node: &Node, block: &str, known: &[&str]) {
        if self.diags.is_full() {
            // Only counted from here on: skip the suggestion search.
            self.diags.push(
                Severity::Error,
                DiagKind::UnknownKeyword,
                node.keyword.loc,
                String::new(),
            );
            return;
        }
        let name = node.name();
        let mut msg = format!("unknown keyword `{name}` in {block}");
        if let Some(best) = suggest(name, known) {
            msg.push_str(&format!("; did you mean `{best}`?"));
        }
        self.diags.push(
            Severity::Error,
            DiagKind::UnknownKeyword,
            node.keyword.loc,
            msg,
        );
    }

    /// Error at a place.
    pub fn error(&mut self, loc: Loc, msg: impl Into<String>) {
        self.diags.error(loc, msg);
    }

    /// Warning at a place.
    pub fn warning(&mut self, loc: Loc, msg: impl Into<String>) {
        self.diags.warning(loc, msg);
    }

    /// The `i`-th argument, or an error naming what is missing.
    pub fn arg<'n>(&mut self, node: &'n Node, i: usize) -> Option<&'n Token> {
        let arg = node.args.get(i);
        if arg.is_none() {
            let what = if i == 0 {
                "an argument".to_owned()
            } else {
                format!("at least {} arguments", i + 1)
            };
            self.error(node.keyword.loc, format!("`{}` needs {what}", node.name()));
        }
        arg
    }

    /// The first argument as a string (error when missing).
    pub fn string(&mut self, node: &Node) -> Option<String> {
        self.arg(node, 0).map(|t| t.text.clone())
    }

    /// Warns about arguments beyond `max` (keepalived ignores them).
    pub fn at_most(&mut self, node: &Node, max: usize) {
        if let Some(extra) = node.args.get(max) {
            self.warning(
                extra.loc,
                format!(
                    "`{}` takes at most {max} argument(s); `{}` ignored",
                    node.name(),
                    extra.text
                ),
            );
        }
    }

    /// Errors when the statement has a block it should not have, or lacks one it needs.
    pub fn no_block(&mut self, node: &Node) {
        if node.block.is_some() {
            self.error(
                node.keyword.loc,
                format!("`{}` does not take a block", node.name()),
            );
        }
    }

    /// The statement's block; errors when there is none.
    pub fn block<'n>(&mut self, node: &'n Node) -> Option<&'n [Node]> {
        if node.block.is_none() {
            self.error(
                node.keyword.loc,
                format!("`{}` needs a block {{ ... }}", node.name()),
            );
        }
        node.block.as_deref()
    }

    /// An integer argument within `range`.
    pub fn int<T>(&mut self, node: &Node, i: usize, range: RangeInclusive<T>) -> Option<T>
    where
        T: TryFrom<i64> + Into<i64> + Copy + std::fmt::Display,
    {
        let tok = self.arg(node, i)?;
        self.int_token(node.name(), tok, range)
    }

    /// An integer word within `range` (for words that are not plain positional arguments).
    pub fn int_token<T>(&mut self, what: &str, tok: &Token, range: RangeInclusive<T>) -> Option<T>
    where
        T: TryFrom<i64> + Into<i64> + Copy + std::fmt::Display,
    {
        let (lo, hi) = ((*range.start()).into(), (*range.end()).into());
        match parse_i64(&tok.text) {
            Some(v) if v >= lo && v <= hi => T::try_from(v).ok(),
            Some(v) => {
                self.error(
                    tok.loc,
                    format!(
                        "`{what}` must be between {} and {}, got {v}",
                        range.start(),
                        range.end()
                    ),
                );
                None
            }
            None => {
                self.error(
                    tok.loc,
                    format!("`{what}` expects an integer, got `{}`", tok.text),
                );
                None
            }
        }
    }

    /// keepalived's `<BOOL>` argument: absent means true; on/off/true/false/yes/no.
    pub fn bool_opt(&mut self, node: &Node, i: usize) -> bool {
        match node.args.get(i) {
            None => true,
            Some(tok) => match parse_bool(&tok.text) {
                Some(b) => b,
                None => {
                    self.error(
                        tok.loc,
                        format!(
                            "`{}` expects on|off|true|false|yes|no, got `{}`",
                            node.name(),
                            tok.text
                        ),
                    );
                    true
                }
            },
        }
    }

    /// keepalived's `<TIMER>`: seconds, fractions allowed (micro-second resolution), within
    /// `[min, max]` seconds.
    pub fn secs(&mut self, node: &Node, i: usize, min: f64, max: f64) -> Option<Duration> {
        let tok = self.arg(node, i)?;
        self.secs_token(node.name(), tok, min, max)
    }

    /// Like [`Cx::secs`] for any word.
    pub fn secs_token(&mut self, what: &str, tok: &Token, min: f64, max: f64) -> Option<Duration> {
        match parse_secs(&tok.text) {
            Some(d) if d.as_secs_f64() >= min && d.as_secs_f64() <= max => Some(d),
            Some(_) => {
                self.error(
                    tok.loc,
                    format!(
                        "`{what}` must be between {min} and {max} seconds, got {}",
                        tok.text
                    ),
                );
                None
            }
            None => {
                self.error(
                    tok.loc,
                    format!("`{what}` expects a time in seconds, got `{}`", tok.text),
                );
                None
            }
        }
    }

    /// An IP address argument.
    pub fn ip(&mut self, node: &Node, i: usize) -> Option<IpAddr> {
        let tok = self.arg(node, i)?;
        self.ip_token(node.name(), tok)
    }

    /// An IP address word.
    pub fn ip_token(&mut self, what: &str, tok: &Token) -> Option<IpAddr> {
        match tok.text.parse::<IpAddr>() {
            Ok(ip) => Some(ip),
            Err(_) => {
                self.error(
                    tok.loc,
                    format!("`{what}`: `{}` is not an IP address", tok.text),
                );
                None
            }
        }
    }

    /// An address read as keepalived's `inet_stosockaddr` reads it: whatever follows a `-` or
    /// `/` is ignored (with a warning here: `192.0.2.1/24` is the address 192.0.2.1).
    pub fn sockaddr_token(&mut self, what: &str, tok: &Token) -> Option<IpAddr> {
        let Some(cut) = tok.text.find(['-', '/']) else {
            return self.ip_token(what, tok);
        };
        let (addr, rest) = tok.text.split_at(cut);
        match addr.parse::<IpAddr>() {
            Ok(ip) => {
                self.warning(
                    tok.loc,
                    format!("`{what}`: `{rest}` after the address {ip} is ignored"),
                );
                Some(ip)
            }
            Err(_) => {
                self.error(
                    tok.loc,
                    format!("`{what}`: `{}` is not an IP address", tok.text),
                );
                None
            }
        }
    }

    /// An address with optional `/prefix` (default: host prefix, 32 or 128).
    pub fn prefix_token(&mut self, what: &str, tok: &Token) -> Option<IpPrefix> {
        match IpPrefix::parse(&tok.text) {
            Some(p) => Some(p),
            None => {
                self.error(
                    tok.loc,
                    format!(
                        "`{what}`: `{}` is not an address or address/prefix",
                        tok.text
                    ),
                );
                None
            }
        }
    }

    /// One of a fixed set of words (matched case-sensitively unless the table lists variants).
    pub fn choice<T: Copy>(&mut self, node: &Node, i: usize, table: &[(&str, T)]) -> Option<T> {
        let tok = self.arg(node, i)?;
        self.choice_token(node.name(), tok, table)
    }

    /// Like [`Cx::choice`] for any word.
    pub fn choice_token<T: Copy>(
        &mut self,
        what: &str,
        tok: &Token,
        table: &[(&str, T)],
    ) -> Option<T> {
        if let Some((_, v)) = table.iter().find(|(name, _)| *name == tok.text) {
            return Some(*v);
        }
        let names: Vec<&str> = table.iter().map(|(n, _)| *n).collect();
        let mut msg = format!(
            "`{what}`: unknown value `{}` (expected one of: {})",
            tok.text,
            names.join(", ")
        );
        if let Some(best) = suggest(&tok.text, &names) {
            msg.push_str(&format!("; did you mean `{best}`?"));
        }
        self.error(tok.loc, msg);
        None
    }

    /// A script: the command line (first argument, usually quoted) and an optional user and
    /// group (`script "cmd args" [user [:][group]]`).
    pub fn script(&mut self, node: &Node, i: usize) -> Option<Script> {
        let tok = self.arg(node, i)?;
        if tok.text.trim().is_empty() {
            self.error(tok.loc, format!("`{}`: empty script", node.name()));
            return None;
        }
        let user = node.args.get(i + 1).map(|t| t.text.clone());
        let group = node.args.get(i + 2).map(|t| t.text.clone());
        Some(Script::new(&tok.text, user, group, tok.loc))
    }
}

/// The nearest known keyword, if it is near enough to be a likely typo.
pub fn suggest<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    let mut best: Option<(f64, &str)> = None;
    for k in known {
        let score = strsim::jaro_winkler(name, k);
        if best.is_none_or(|(s, _)| score > s) {
            best = Some((score, k));
        }
    }
    best.filter(|(s, k)| *s >= 0.8 || strsim::levenshtein(name, k) <= 2)
        .map(|(_, k)| k)
}

/// Integers as keepalived reads them: decimal, or hex with 0x.
pub fn parse_i64(s: &str) -> Option<i64> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let v = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) => i64::from_str_radix(hex, 16).ok()?,
        None if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
            digits.parse().ok()?
        }
        None => return None,
    };
    Some(if neg { -v } else { v })
}

/// keepalived's `<BOOL>` words.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" => Some(true),
        "off" | "false" | "no" => Some(false),
        _ => None,
    }
}

/// Seconds with an optional fraction, to micro-second resolution.
pub fn parse_secs(s: &str) -> Option<Duration> {
    let (whole, frac) = match s.split_once('.') {
        Some((w, f)) => (w, f),
        None => (s, ""),
    };
    if whole.is_empty() && frac.is_empty() {
        return None;
    }
    if !whole.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut micros: u32 = 0;
    for (i, b) in frac.bytes().take(6).enumerate() {
        micros += u32::from(b - b'0') * 10u32.pow(5 - u32::try_from(i).ok()?);
    }
    Some(Duration::from_secs(secs) + Duration::from_micros(u64::from(micros)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        let known = ["virtual_router_id", "priority", "advert_int"];
        assert_eq!(
            suggest("virtual_routr_id", &known),
            Some("virtual_router_id")
        );
        assert_eq!(suggest("priorty", &known), Some("priority"));
        assert_eq!(suggest("zzzz", &known), None);
    }

    #[test]
    fn numbers_and_times() {
        assert_eq!(parse_i64("0x1f"), Some(31));
        assert_eq!(parse_i64("-5"), Some(-5));
        assert_eq!(parse_i64("5x"), None);
        assert_eq!(parse_secs("0.05"), Some(Duration::from_millis(50)));
        assert_eq!(parse_secs("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_secs("1.5s"), None);
        assert_eq!(parse_bool("Yes"), Some(true));
    }
}
