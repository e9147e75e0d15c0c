//! Types shared by every part of the model: address prefixes, scripts, and JSON helpers for
//! durations (written as seconds).

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use serde::{Serialize, Serializer};

use crate::diag::Loc;

/// An address with a prefix length, e.g. `192.0.2.1/24`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IpPrefix {
    /// The address as written (host bits kept).
    pub addr: IpAddr,
    /// Prefix length.
    pub len: u8,
}

impl IpPrefix {
    /// Parses `ADDR` (host prefix) or `ADDR/LEN`.
    pub fn parse(s: &str) -> Option<Self> {
        let (addr, len) = match s.split_once('/') {
            Some((a, l)) => (a.parse::<IpAddr>().ok()?, Some(l.parse::<u8>().ok()?)),
            None => (s.parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = len.unwrap_or(max);
        (len <= max).then_some(Self { addr, len })
    }
    /// True for an IPv4 prefix.
    pub fn is_ipv4(&self) -> bool {
        self.addr.is_ipv4()
    }
}

impl fmt::Display for IpPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl Serialize for IpPrefix {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A script to run: its command line, split into words as keepalived does, and who runs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Script {
    /// The command line as configured.
    pub command: String,
    /// The command line split into program and arguments (single quotes group words).
    pub argv: Vec<String>,
    /// `user` after the command, if given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// `group` after the user, if given (a leading `:` asks for supplementary groups).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Where it was configured.
    #[serde(skip)]
    pub loc: Loc,
}

impl Script {
    /// Builds a script from its configured command line.
    pub fn new(command: &str, user: Option<String>, group: Option<String>, loc: Loc) -> Self {
        Self {
            command: command.to_owned(),
            argv: split_command(command),
            user,
            group,
            loc,
        }
    }
}

/// Splits a script's command line: blanks separate words, single quotes keep blanks, and a
/// backslash escapes the next character.
pub fn split_command(command: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quoted = false;
    let mut chars = command.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
                in_word = true;
            }
            '\'' => {
                quoted = !quoted;
                in_word = true;
            }
            c if c.is_whitespace() && !quoted => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

/// Serializes a [`Duration`] as seconds (a JSON number).
pub fn secs<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// Serializes an optional [`Duration`] as seconds or null.
pub fn opt_secs<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_f64(d.as_secs_f64()),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        assert_eq!(IpPrefix::parse("192.0.2.1").map(|p| p.len), Some(32));
        assert_eq!(IpPrefix::parse("2001:db8::1/64").map(|p| p.len), Some(64));
        assert_eq!(IpPrefix::parse("192.0.2.1/33"), None);
        assert_eq!(
            IpPrefix::parse("192.0.2.1/24")
                .map(|p| p.to_string())
                .as_deref(),
            Some("192.0.2.1/24")
        );
    }

    #[test]
    fn command_words() {
        assert_eq!(
            split_command("/bin/x ' a b ' c\\ d"),
            ["/bin/x", " a b ", "c d"]
        );
    }
}
