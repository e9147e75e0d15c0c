//! DNS_CHECK: one query over UDP to the real server, built and parsed with hickory-proto.
//!
//! The query: a random id, RD (recursion desired) set, one question `name` (default `.`;
//! a name without a trailing dot is taken as fully qualified, as keepalived does) of `type`
//! (A, NS, CNAME, SOA (default), MX, TXT, AAAA), class IN; sent on a connected UDP socket
//! with the checker's source options.
//!
//! The verdict (keepalived's rule, with two documented additions):
//! * Datagrams shorter than a DNS header, with another id, or that are not responses (QR
//!   clear) are ignored, and the probe keeps waiting until `connect_timeout`.
//! * Addition: a response whose question section is present but is not our question (name,
//!   type or class differ) is ignored the same way; RFC 1035 servers echo the question, and
//!   RFC 5452 asks resolvers to check it.
//! * Addition: a response with our id that hickory cannot parse is a failure (keepalived only
//!   reads the header).
//! * RCODE other than NOERROR (e.g. NXDOMAIN, SERVFAIL, REFUSED) is a failure.
//! * Otherwise it is a success, **even with an empty answer section** (NOERROR/NODATA):
//!   keepalived does not look at the answers, and neither do we; [`DnsReply`] reports the
//!   counts for logs.
//! * No acceptable response within `connect_timeout`, or an ICMP error, is a failure.

use std::io;
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, Query, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RecordType};
use keepalived_config::model::lvs::{DnsCheck, DnsType};

use super::udp::{Endpoint, connected_socket, is_icmp_error};

/// The size of a DNS header: shorter datagrams are ignored.
pub const HEADER_LEN: usize = 12;
/// The largest response read (UDP without EDNS is 512 bytes; a larger datagram is cut, which
/// only makes it malformed).
const RECV_BUF_LEN: usize = 4096;

/// The DNS_CHECK options of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsOptions {
    /// `type`.
    pub query_type: DnsType,
    /// `name`.
    pub name: String,
}

impl Default for DnsOptions {
    fn default() -> DnsOptions {
        DnsOptions {
            query_type: DnsType::Soa,
            name: ".".to_owned(),
        }
    }
}

impl From<&DnsCheck> for DnsOptions {
    fn from(c: &DnsCheck) -> DnsOptions {
        DnsOptions {
            query_type: c.query_type,
            name: c.name.clone(),
        }
    }
}

/// What a successful DNS_CHECK saw, for logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DnsReply {
    /// Records in the answer section (0 is still a success).
    pub answers: usize,
    /// Records in the authority section.
    pub authorities: usize,
}

/// Why a DNS_CHECK attempt failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DnsFailure {
    /// `name` is not a valid domain name.
    #[error("invalid query name {name:?}: {reason}")]
    InvalidName {
        /// The configured name.
        name: String,
        /// hickory's reason.
        reason: String,
    },
    /// The socket could not be created, bound or connected.
    #[error("socket setup: {0}")]
    Socket(io::Error),
    /// Sending the query failed.
    #[error("send: {0}")]
    Send(io::Error),
    /// An ICMP error came back (port, host or network unreachable).
    #[error("unreachable: {0}")]
    Unreachable(io::Error),
    /// No acceptable response within `connect_timeout`.
    #[error("no response within {0:?}")]
    Timeout(Duration),
    /// A response with our id that does not parse.
    #[error("malformed response: {0}")]
    Malformed(String),
    /// The response's RCODE is not NOERROR.
    #[error("response code {0}")]
    Rcode(ResponseCode),
}

/// The record type queried for a DNS_CHECK `type`.
pub fn record_type(t: DnsType) -> RecordType {
    match t {
        DnsType::A => RecordType::A,
        DnsType::Ns => RecordType::NS,
        DnsType::Cname => RecordType::CNAME,
        DnsType::Soa => RecordType::SOA,
        DnsType::Mx => RecordType::MX,
        DnsType::Txt => RecordType::TXT,
        DnsType::Aaaa => RecordType::AAAA,
    }
}

/// Parses `name` as a fully qualified domain name (`.` is the root).
///
/// # Errors
/// [`DnsFailure::InvalidName`].
pub fn query_name(name: &str) -> Result<Name, DnsFailure> {
    let mut n = Name::from_ascii(name).map_err(|e| DnsFailure::InvalidName {
        name: name.to_owned(),
        reason: e.to_string(),
    })?;
    n.set_fqdn(true);
    Ok(n)
}

/// Builds the query message (id `id`, RD set, one IN question) as bytes.
///
/// # Errors
/// [`DnsFailure::InvalidName`] for a bad name, [`DnsFailure::Malformed`] if hickory cannot
/// encode it.
pub fn build_query(id: u16, opts: &DnsOptions) -> Result<Vec<u8>, DnsFailure> {
    let mut msg = Message::new(id, MessageType::Query, hickory_proto::op::OpCode::Query);
    msg.metadata.recursion_desired = true;
    let mut q = Query::query(query_name(&opts.name)?, record_type(opts.query_type));
    q.set_query_class(DNSClass::IN);
    msg.add_query(q);
    msg.to_vec()
        .map_err(|e| DnsFailure::Malformed(format!("encoding the query: {e}")))
}

/// What one received datagram means for the check.
#[derive(Debug)]
pub enum Judgement {
    /// Not a response to our query: keep waiting.
    Ignore(&'static str),
    /// The check's outcome.
    Done(Result<DnsReply, DnsFailure>),
}

/// Judges one datagram received after sending query `id` for `opts` (see the module doc).
pub fn judge_response(id: u16, opts: &DnsOptions, datagram: &[u8]) -> Judgement {
    let Some(header) = datagram.get(..HEADER_LEN) else {
        return Judgement::Ignore("shorter than a DNS header");
    };
    if u16::from_be_bytes([header[0], header[1]]) != id {
        return Judgement::Ignore("another id");
    }
    if header[2] & 0x80 == 0 {
        return Judgement::Ignore("not a response");
    }
    let msg = match Message::from_vec(datagram) {
        Ok(m) => m,
        Err(e) => return Judgement::Done(Err(DnsFailure::Malformed(e.to_string()))),
    };
    if !msg.queries.is_empty() {
        let Ok(name) = query_name(&opts.name) else {
            return Judgement::Done(Err(DnsFailure::InvalidName {
                name: opts.name.clone(),
                reason: "does not parse".to_owned(),
            }));
        };
        let ours = msg.queries.iter().any(|q| {
            q.name() == &name
                && q.query_type() == record_type(opts.query_type)
                && q.query_class() == DNSClass::IN
        });
        if !ours {
            return Judgement::Ignore("another question");
        }
    }
    let rcode = msg.metadata.response_code;
    if rcode != ResponseCode::NoError {
        return Judgement::Done(Err(DnsFailure::Rcode(rcode)));
    }
    Judgement::Done(Ok(DnsReply {
        answers: msg.answers.len(),
        authorities: msg.authorities.len(),
    }))
}

/// Runs one DNS_CHECK attempt against `ep` (normally port 53).
///
/// # Errors
/// A [`DnsFailure`] saying why the check failed.
pub async fn check(ep: &Endpoint, opts: &DnsOptions) -> Result<DnsReply, DnsFailure> {
    let id = fastrand::u16(..);
    let query = build_query(id, opts)?;
    let sock = connected_socket(ep).map_err(DnsFailure::Socket)?;
    sock.send(&query).await.map_err(|e| {
        if is_icmp_error(&e) {
            DnsFailure::Unreachable(e)
        } else {
            DnsFailure::Send(e)
        }
    })?;
    let deadline = tokio::time::Instant::now() + ep.timeout;
    let mut buf = vec![0u8; RECV_BUF_LEN];
    loop {
        let n = match tokio::time::timeout_at(deadline, sock.recv(&mut buf)).await {
            Err(_elapsed) => return Err(DnsFailure::Timeout(ep.timeout)),
            Ok(Err(e)) => return Err(DnsFailure::Unreachable(e)),
            Ok(Ok(n)) => n,
        };
        match judge_response(id, opts, buf.get(..n).unwrap_or(&[])) {
            Judgement::Ignore(_why) => continue,
            Judgement::Done(outcome) => return outcome,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(t: DnsType, name: &str) -> DnsOptions {
        DnsOptions {
            query_type: t,
            name: name.to_owned(),
        }
    }

    #[test]
    fn query_bytes_are_what_keepalived_sends() {
        // Root SOA: header (id 0x1234, RD, QDCOUNT 1), QNAME 0, QTYPE 6, QCLASS 1.
        let q = build_query(0x1234, &DnsOptions::default()).unwrap();
        assert_eq!(
            q,
            [
                0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 6, 0, 1
            ]
        );
        // A name without the trailing dot is fully qualified.
        let q = build_query(1, &opts(DnsType::Aaaa, "ex.test")).unwrap();
        assert_eq!(&q[12..], b"\x02ex\x04test\x00\x00\x1c\x00\x01");
    }

    #[test]
    fn bad_names_are_reported_not_panicked() {
        let long = "a".repeat(64);
        assert!(matches!(
            build_query(1, &opts(DnsType::A, &long)),
            Err(DnsFailure::InvalidName { .. })
        ));
    }

    fn response(id: u16, o: &DnsOptions, rcode: ResponseCode) -> Vec<u8> {
        let mut m = Message::response(id, hickory_proto::op::OpCode::Query);
        m.metadata.response_code = rcode;
        m.add_query(Query::query(
            query_name(&o.name).unwrap(),
            record_type(o.query_type),
        ));
        m.to_vec().unwrap()
    }

    #[test]
    fn judgement_follows_the_rules() {
        let o = opts(DnsType::A, "www.example.test.");
        assert!(matches!(
            judge_response(7, &o, &response(7, &o, ResponseCode::NoError)),
            Judgement::Done(Ok(DnsReply { answers: 0, .. }))
        ));
        assert!(matches!(
            judge_response(7, &o, &response(7, &o, ResponseCode::NXDomain)),
            Judgement::Done(Err(DnsFailure::Rcode(ResponseCode::NXDomain)))
        ));
        assert!(matches!(
            judge_response(8, &o, &response(7, &o, ResponseCode::NoError)),
            Judgement::Ignore(_)
        ));
        let other = opts(DnsType::Mx, "www.example.test.");
        assert!(matches!(
            judge_response(7, &o, &response(7, &other, ResponseCode::NoError)),
            Judgement::Ignore(_)
        ));
        // Our own query echoed back (QR clear) is not an answer.
        let q = build_query(7, &o).unwrap();
        assert!(matches!(judge_response(7, &o, &q), Judgement::Ignore(_)));
        assert!(matches!(
            judge_response(7, &o, &q[..5]),
            Judgement::Ignore(_)
        ));
        // Same id, QR set, garbage after the header.
        let mut bad = response(7, &o, ResponseCode::NoError);
        bad.truncate(15);
        assert!(matches!(
            judge_response(7, &o, &bad),
            Judgement::Done(Err(DnsFailure::Malformed(_)))
        ));
        // Case does not matter in names.
        let upper = opts(DnsType::A, "WWW.Example.TEST");
        assert!(matches!(
            judge_response(7, &o, &response(7, &upper, ResponseCode::NoError)),
            Judgement::Done(Ok(_))
        ));
    }
}
