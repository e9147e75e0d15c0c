//! Health checkers of real servers: the common options and one variant per checker type.

use std::net::IpAddr;
use std::time::Duration;

use serde::{Serialize, Serializer};

use crate::diag::Loc;
use crate::model::common::{Script, secs};

/// One health checker of a real server.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Checker {
    /// The checker type and its own options.
    pub kind: CheckerKind,
    /// Options every checker has, resolved from the real server where not configured.
    pub common: CheckCommon,
    /// Where the block starts.
    #[serde(skip)]
    pub loc: Loc,
}

/// Options shared by checkers (MISC_CHECK has no connection options; FILE_CHECK and BFD_CHECK
/// have none, their values are still resolved for uniformity).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct CheckCommon {
    /// `connect_ip` (default: the real server's address).
    pub connect_ip: Option<IpAddr>,
    /// `connect_port` (default: the real server's port).
    pub connect_port: Option<u16>,
    /// `bindto`: source address.
    pub bindto: Option<IpAddr>,
    /// `bind_port`: source port.
    pub bind_port: Option<u16>,
    /// `bind_if`: source interface (needed for a link-local `bindto`).
    pub bind_if: Option<String>,
    /// `connect_timeout` (default: the real server's).
    #[serde(serialize_with = "secs")]
    pub connect_timeout: Duration,
    /// `fwmark` put on the checker's packets.
    pub fwmark: Option<u32>,
    /// `retry` (default: the real server's, else the checker type's default: 1, DNS 3, MISC 0).
    pub retry: u32,
    /// `delay_before_retry` (default: the real server's, else 3 s for HTTP/SSL, the delay_loop
    /// for DNS, 1 s otherwise).
    #[serde(serialize_with = "secs")]
    pub delay_before_retry: Duration,
    /// `warmup` (default: the real server's, else the delay_loop).
    #[serde(serialize_with = "secs")]
    pub warmup: Duration,
    /// `delay_loop` (default: the real server's).
    #[serde(serialize_with = "secs")]
    pub delay_loop: Duration,
    /// `alpha` (default: the real server's).
    pub alpha: bool,
    /// `log_all_failures`.
    pub log_all_failures: bool,
}

/// The checker type with its specific options.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckerKind {
    /// `TCP_CHECK`: a TCP connect.
    Tcp,
    /// `HTTP_GET`.
    Http(Box<HttpCheck>),
    /// `SSL_GET`.
    Ssl(Box<HttpCheck>),
    /// `MISC_CHECK`: run a program.
    Misc(Box<MiscCheck>),
    /// `SMTP_CHECK`.
    Smtp(Box<SmtpCheck>),
    /// `DNS_CHECK`.
    Dns(DnsCheck),
    /// `UDP_CHECK`.
    Udp(Box<UdpCheck>),
    /// `PING_CHECK`: ICMP echo.
    Ping,
    /// `FILE_CHECK`: weight from a tracked file.
    File(FileCheck),
    /// `BFD_CHECK`: state of a BFD instance.
    Bfd(BfdCheck),
}

/// HTTP version sent by HTTP_GET / SSL_GET.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
pub enum HttpProtocol {
    /// `1.0` (default).
    #[default]
    #[serde(rename = "1.0")]
    Http10,
    /// `1.0C`: 1.0 with `Connection: close`.
    #[serde(rename = "1.0C")]
    Http10C,
    /// `1.1`.
    #[serde(rename = "1.1")]
    Http11,
}

/// Options of HTTP_GET and SSL_GET.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct HttpCheck {
    /// `http_protocol`.
    pub http_protocol: HttpProtocol,
    /// The Host header: the checker's `virtualhost`, else the real server's, else the virtual
    /// server's.
    pub virtualhost: Option<String>,
    /// `enable_sni`.
    pub enable_sni: bool,
    /// `sni_name`.
    pub sni_name: Option<String>,
    /// `fast_recovery`.
    pub fast_recovery: bool,
    /// `tls_compliant`.
    pub tls_compliant: bool,
    /// The `url` blocks (at least one).
    pub urls: Vec<Url>,
}

/// An inclusive range of HTTP status codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct StatusRange {
    /// First code.
    pub from: u16,
    /// Last code (inclusive).
    pub to: u16,
}

impl StatusRange {
    /// True when `code` is in the range.
    pub fn contains(&self, code: u16) -> bool {
        (self.from..=self.to).contains(&code)
    }
}

/// An MD5 digest (`digest`, 32 hex characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digest(pub [u8; 16]);

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut hex = String::with_capacity(32);
        for b in self.0 {
            hex.push_str(&format!("{b:02x}"));
        }
        s.serialize_str(&hex)
    }
}

/// PCRE2 options of `regex_options`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum RegexOption {
    AllowEmptyClass,
    AltBsux,
    AutoCallout,
    Caseless,
    DollarEndonly,
    Dotall,
    Dupnames,
    Extended,
    Firstline,
    MatchUnsetBackref,
    Multiline,
    NeverUcp,
    NeverUtf,
    NoAutoCapture,
    NoAutoPossess,
    NoDotstarAnchor,
    NoStartOptimize,
    Ucp,
    Ungreedy,
    Utf,
    NeverBackslashC,
    AltCircumflex,
    AltVerbnames,
    UseOffsetLimit,
}

/// A `url` block of HTTP_GET / SSL_GET.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Url {
    /// `path` (required).
    pub path: String,
    /// `digest`: expected MD5 of the body.
    pub digest: Option<Digest>,
    /// `status_code` list (default 200-299).
    pub status_codes: Vec<StatusRange>,
    /// `virtualhost` of this URL (overrides the checker's).
    pub virtualhost: Option<String>,
    /// `regex`: a pattern the body must (or, with `regex_no_match`, must not) match.
    pub regex: Option<String>,
    /// `regex_no_match`.
    pub regex_no_match: bool,
    /// `regex_options`.
    pub regex_options: Vec<RegexOption>,
    /// `regex_min_offset`.
    pub regex_min_offset: Option<u32>,
    /// `regex_max_offset`.
    pub regex_max_offset: Option<u32>,
    /// `regex_stack START MAX` (bytes).
    pub regex_stack: Option<(u32, u32)>,
    /// `tls_compliant` (SSL_GET).
    pub tls_compliant: bool,
    /// Where the block starts.
    #[serde(skip)]
    pub loc: Loc,
}

impl Url {
    /// A `url { path PATH }` with nothing else set, configured at `loc`.
    pub fn new(path: impl Into<String>, loc: Loc) -> Self {
        Url {
            path: path.into(),
            digest: None,
            status_codes: Vec::new(),
            virtualhost: None,
            regex: None,
            regex_no_match: false,
            regex_options: Vec::new(),
            regex_min_offset: None,
            regex_max_offset: None,
            regex_stack: None,
            tls_compliant: false,
            loc,
        }
    }
}

/// MISC_CHECK options.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MiscCheck {
    /// `misc_path` (required), with the user and group of `user`.
    pub script: Script,
    /// `misc_timeout` (default, or 0: the delay_loop).
    #[serde(serialize_with = "secs")]
    pub timeout: Duration,
    /// `misc_dynamic`: the exit status adjusts the weight.
    pub dynamic: bool,
}

/// SMTP_CHECK options.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SmtpCheck {
    /// `helo_name` (default `smtpchecker.keepalived.org`).
    pub helo_name: String,
    /// `host { ... }` blocks: further servers to check, each with connection options.
    pub hosts: Vec<SmtpHost>,
}

/// A `host` block of SMTP_CHECK.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SmtpHost {
    /// `connect_ip`.
    pub connect_ip: Option<IpAddr>,
    /// `connect_port`.
    pub connect_port: Option<u16>,
    /// `bindto`.
    pub bindto: Option<IpAddr>,
    /// `bind_port`.
    pub bind_port: Option<u16>,
    /// `bind_if`.
    pub bind_if: Option<String>,
    /// `connect_timeout` (default: the checker's).
    #[serde(serialize_with = "secs")]
    pub connect_timeout: Duration,
    /// `fwmark`.
    pub fwmark: Option<u32>,
    /// Where the block starts.
    #[serde(skip)]
    pub loc: Loc,
}

/// DNS query types of DNS_CHECK.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "UPPERCASE")]
#[allow(missing_docs)]
pub enum DnsType {
    A,
    Ns,
    Cname,
    #[default]
    Soa,
    Mx,
    Txt,
    Aaaa,
}

/// DNS_CHECK options.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DnsCheck {
    /// `type` (default SOA).
    #[serde(rename = "type")]
    pub query_type: DnsType,
    /// `name` (default `.`).
    pub name: String,
}

/// A reply pattern of UDP_CHECK's `require_reply`: bytes and, per bit, whether it is compared
/// (`X` nibbles are not).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct HexPattern {
    /// The bytes (wildcard nibbles are 0).
    pub data: Vec<u8>,
    /// The compare mask (0xF0/0x0F cleared for wildcard nibbles).
    pub mask: Vec<u8>,
}

/// UDP_CHECK options.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UdpCheck {
    /// `payload` bytes (None: a random payload).
    pub payload: Option<Vec<u8>>,
    /// `require_reply` given (with or without a pattern).
    pub require_reply: bool,
    /// The `require_reply` pattern, if any.
    pub reply_pattern: Option<HexPattern>,
    /// `min_reply_length` (default 0).
    pub min_reply_length: u16,
    /// `max_reply_length` (default 255).
    pub max_reply_length: u16,
}

/// FILE_CHECK options.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileCheck {
    /// `track_file`: name of a top-level `track_file` block.
    pub track_file: String,
    /// `dynamic`.
    pub dynamic: bool,
    /// `weight` multiplier (default 1).
    pub weight: i32,
    /// `weight N reverse`.
    pub reverse: bool,
    /// Where `track_file` was given.
    #[serde(skip)]
    pub loc: Loc,
}

/// BFD_CHECK options.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BfdCheck {
    /// `name`: a top-level `bfd_instance`.
    pub name: String,
    /// Where `name` was given.
    #[serde(skip)]
    pub loc: Loc,
}
