//! From a planned check ([`CheckSpec`]) to the probe that runs its attempts: built once per
//! check (TLS configuration included), run any number of times, each run giving the
//! [`logic::Outcome`](crate::logic::Outcome) the engine judges.
//!
//! MISC_CHECK (a script), FILE_CHECK (a watched file) and BFD_CHECK are not network probes; they
//! come out as [`Prober::External`] for the daemon, which owns scripts and file watches.

use crate::logic::{self, CheckSpec};
use keepalived_config::model::lvs::{CheckCommon, CheckerKind};

use super::Outcome;
use super::dns::{self, DnsOptions};
use super::http::HttpProbe;
use super::ping::{self, IcmpSocketKind};
use super::smtp::{self, SmtpOptions};
use super::tcp::{self, ConnectOpts};
use super::tls::TlsVerify;
use super::udp::{self, Endpoint, UdpOptions};

/// The probe of one check.
#[derive(Debug, Clone)]
pub enum Prober {
    /// TCP_CHECK.
    Tcp(ConnectOpts),
    /// HTTP_GET / SSL_GET.
    Http(Box<HttpProbe>),
    /// PING_CHECK.
    Ping(Endpoint),
    /// UDP_CHECK.
    Udp(Endpoint, Box<UdpOptions>),
    /// DNS_CHECK.
    Dns(Endpoint, DnsOptions),
    /// SMTP_CHECK: every `host` in turn.
    Smtp(Vec<Endpoint>, SmtpOptions),
    /// Run by the daemon (MISC_CHECK, FILE_CHECK, BFD_CHECK), or a type without a probe here.
    External,
}

/// Why a check cannot be probed (reported as a failure at every attempt).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProberError(pub String);

impl std::fmt::Display for ProberError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ProberError {}

/// The socket options of `spec`'s target for the datagram and SMTP probes.
fn endpoint(spec: &CheckSpec) -> Endpoint {
    let t = &spec.target;
    let mut ep = Endpoint::new(t.connect, spec.timing.connect_timeout);
    ep.bindto = t.bindto;
    ep.bind_port = t.bind_port;
    ep.bind_if.clone_from(&t.bind_if);
    ep.fwmark = t.fwmark;
    ep
}

/// `spec`'s resolved target as checker options (for the SMTP `host` blocks' defaults).
fn common_of(spec: &CheckSpec) -> CheckCommon {
    let t = &spec.target;
    CheckCommon {
        connect_ip: Some(t.connect.ip()),
        connect_port: Some(t.connect.port()),
        bindto: t.bindto,
        bind_port: t.bind_port,
        bind_if: t.bind_if.clone(),
        fwmark: t.fwmark,
        connect_timeout: spec.timing.connect_timeout,
        ..CheckCommon::default()
    }
}

/// The connection options of `spec`'s target.
pub fn connect_opts(spec: &CheckSpec) -> ConnectOpts {
    let t = &spec.target;
    ConnectOpts {
        dst: t.connect,
        bindto: t.bindto,
        bind_port: t.bind_port,
        bind_if: t.bind_if.clone(),
        fwmark: t.fwmark,
        connect_timeout: spec.timing.connect_timeout,
    }
}

impl Prober {
    /// Builds the probe of `spec`.
    pub fn new(spec: &CheckSpec) -> Result<Prober, ProberError> {
        let opts = connect_opts(spec);
        Ok(match &spec.kind {
            CheckerKind::Tcp => Prober::Tcp(opts),
            CheckerKind::Http(h) => Prober::Http(Box::new(
                HttpProbe::new(h, false, opts, &TlsVerify::None)
                    .map_err(|e| ProberError(super::report(&e)))?,
            )),
            CheckerKind::Ssl(h) => Prober::Http(Box::new(
                HttpProbe::new(h, true, opts, &TlsVerify::None)
                    .map_err(|e| ProberError(super::report(&e)))?,
            )),
            CheckerKind::Ping => Prober::Ping(endpoint(spec)),
            CheckerKind::Udp(u) => Prober::Udp(endpoint(spec), Box::new(UdpOptions::from(&**u))),
            CheckerKind::Dns(d) => Prober::Dns(endpoint(spec), DnsOptions::from(d)),
            CheckerKind::Smtp(m) => {
                let targets = if m.hosts.is_empty() {
                    vec![endpoint(spec)]
                } else {
                    smtp::targets(m, &common_of(spec), spec.target.connect)
                };
                Prober::Smtp(targets, SmtpOptions::from(&**m))
            }
            CheckerKind::Misc(_) | CheckerKind::File(_) | CheckerKind::Bfd(_) => Prober::External,
        })
    }

    /// One attempt. [`Prober::External`] fails (the daemon runs those itself).
    pub async fn run(&self) -> logic::Outcome {
        // The other probes' futures are boxed: an HTTP/TLS attempt's state is kilobytes, and
        // this future (inside every spawned attempt, also while it waits for a slot) would
        // otherwise be as large as the largest of them (5.4 KB instead of ~0.3 KB for TCP).
        let outcome = match self {
            Prober::Tcp(opts) => tcp::probe(opts).await,
            Prober::Http(h) => Box::pin(h.probe()).await,
            Prober::Ping(ep) => Box::pin(ping::ping(ep, IcmpSocketKind::Auto))
                .await
                .map(|_| ())
                .into(),
            Prober::Udp(ep, opts) => Box::pin(udp::check(ep, opts)).await.into(),
            Prober::Dns(ep, opts) => Box::pin(dns::check(ep, opts)).await.map(|_| ()).into(),
            Prober::Smtp(targets, opts) => match Box::pin(smtp::check_all(targets, opts)).await {
                Ok(()) => Outcome::Success,
                Err((i, e)) => Outcome::Failure(format!(
                    "{}: {}",
                    targets
                        .get(i)
                        .map_or_else(String::new, |t| t.dst.to_string()),
                    super::report(&e)
                )),
            },
            Prober::External => Outcome::Failure("not a network probe".to_owned()),
        };
        match outcome {
            Outcome::Success => logic::Outcome::Success,
            Outcome::Failure(reason) => logic::Outcome::Failure { reason },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attempt_future_stays_small() {
        let opts = tcp::ConnectOpts::new(
            std::net::SocketAddr::from(([127, 0, 0, 1], 1)),
            std::time::Duration::from_secs(1),
        );
        let p = Prober::Tcp(opts);
        // Every in-flight or waiting attempt holds one of these.
        assert!(
            std::mem::size_of_val(&p.run()) <= 1024,
            "{}",
            std::mem::size_of_val(&p.run())
        );
    }
}
