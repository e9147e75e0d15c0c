//! The check plan: the configured checkers turned into unique checks (one per target and
//! parameters, however many virtual servers share the real server) and, per real server of each
//! virtual server, the checks it depends on.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;

use keepalived_config::Config;
use keepalived_config::Loc;
use keepalived_config::model::common::Script;
use keepalived_config::model::lvs::{Checker, CheckerKind, RealServer, VirtualServer, VsIdentity};

/// One unique check of a [`CheckPlan`]: an index into [`CheckPlan::checks`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CheckId(pub usize);

/// One real server of one virtual server: an index into [`CheckPlan::servers`]. The same
/// address in two virtual servers is two `RsId`s (the load balancer programs both).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RsId(pub usize);

/// Where a check goes and how its packets leave (all resolved from the real server).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Target {
    /// `connect_ip` / `connect_port`, defaulting to the real server's address and port.
    /// MISC_CHECK, FILE_CHECK and BFD_CHECK do not connect; they carry the real server's
    /// address so that only checks of the same real server are merged.
    pub connect: SocketAddr,
    /// `bindto`: source address.
    pub bindto: Option<IpAddr>,
    /// `bind_port`: source port.
    pub bind_port: Option<u16>,
    /// `bind_if`: source interface.
    pub bind_if: Option<String>,
    /// `fwmark` put on the check's packets.
    pub fwmark: Option<u32>,
}

/// When a check runs and how failures are retried (resolved: checker, else real server, else
/// virtual server, else the checker type's default).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Timing {
    /// `connect_timeout`: how long one attempt may take (MISC_CHECK uses `misc_timeout`, see
    /// [`CheckSpec::attempt_timeout`]).
    pub connect_timeout: Duration,
    /// `retry`: failed attempts repeated before the checker counts as failed.
    pub retry: u32,
    /// `delay_before_retry`: the gap between a failed attempt and its retry.
    pub delay_before_retry: Duration,
    /// `delay_loop`: the gap between the end of one check and the start of the next.
    pub delay_loop: Duration,
    /// `warmup`: the first check starts at a random point in `0..warmup` after start-up.
    pub warmup: Duration,
}

/// One unique check to run.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckSpec {
    /// The checker type and its own options, as configured (places in the file cleared so that
    /// copies compare equal; see [`CheckSpec::loc`]).
    pub kind: CheckerKind,
    /// Where it goes.
    pub target: Target,
    /// When it runs.
    pub timing: Timing,
    /// `alpha`: until its first verdict the checker counts as failed (without it, as passed),
    /// and a failure then is final at once (retries are for servers that are up).
    pub alpha: bool,
    /// `log_all_failures`: every failed attempt while the checker is up becomes an
    /// [`Action::LogFailure`](crate::Action::LogFailure).
    pub log_all_failures: bool,
    /// FILE_CHECK: the `file` of the named `track_file` block (`None` for other types, or when
    /// the block does not exist).
    pub track_file: Option<PathBuf>,
    /// Where the first checker merged into this check was configured.
    pub loc: Loc,
    /// The real servers whose state depends on this check (at least one).
    pub dependents: Vec<RsId>,
}

impl CheckSpec {
    /// The hashable part of the check's identity (with [`CheckSpec::kind`], what makes two
    /// checks the same).
    pub(crate) fn key(&self) -> Key {
        Key {
            type_name: self.type_name(),
            target: self.target.clone(),
            timing: self.timing,
            alpha: self.alpha,
            log_all_failures: self.log_all_failures,
            track_file: self.track_file.clone(),
        }
    }

    /// keepalived's name of the checker type (`TCP_CHECK`, `HTTP_GET`, ...).
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            CheckerKind::Tcp => "TCP_CHECK",
            CheckerKind::Http(_) => "HTTP_GET",
            CheckerKind::Ssl(_) => "SSL_GET",
            CheckerKind::Misc(_) => "MISC_CHECK",
            CheckerKind::Smtp(_) => "SMTP_CHECK",
            CheckerKind::Dns(_) => "DNS_CHECK",
            CheckerKind::Udp(_) => "UDP_CHECK",
            CheckerKind::Ping => "PING_CHECK",
            CheckerKind::File(_) => "FILE_CHECK",
            CheckerKind::Bfd(_) => "BFD_CHECK",
        }
    }

    /// How long one attempt may run before the driver reports it failed: `misc_timeout` for
    /// MISC_CHECK (the script is killed then), `connect_timeout` otherwise.
    pub fn attempt_timeout(&self) -> Duration {
        match &self.kind {
            CheckerKind::Misc(m) => m.timeout,
            _ => self.timing.connect_timeout,
        }
    }

    /// True for checks the engine never starts: FILE_CHECK (the driver watches the file and
    /// reports each new value) and BFD_CHECK (the driver reports the BFD session's state).
    /// They have no timers and no retries.
    pub fn is_passive(&self) -> bool {
        matches!(self.kind, CheckerKind::File(_) | CheckerKind::Bfd(_))
    }

    /// A short name for logs and event reasons, e.g. `TCP_CHECK 192.0.2.10:80`.
    pub fn describe(&self) -> String {
        match &self.kind {
            CheckerKind::Misc(m) => format!("MISC_CHECK `{}`", m.script.command),
            CheckerKind::File(f) => format!("FILE_CHECK {}", f.track_file),
            CheckerKind::Bfd(b) => format!("BFD_CHECK {}", b.name),
            _ => format!("{} {}", self.type_name(), self.target.connect),
        }
    }
}

/// One real server of one virtual server, with what the engine needs to judge it.
#[derive(Clone, Debug, PartialEq)]
pub struct RsPlan {
    /// Index of the virtual server in `config.lvs.virtual_servers`.
    pub vs: usize,
    /// Index of the real server in that virtual server's `real_servers`.
    pub rs: usize,
    /// The real server's address.
    pub address: SocketAddr,
    /// The configured weight (the base of dynamic weights).
    pub weight: u32,
    /// `inhibit_on_failure`: the load balancer sets weight 0 instead of removing it when down.
    pub inhibit_on_failure: bool,
    /// `notify_up`: run when the server comes up (given with the event).
    pub notify_up: Option<Script>,
    /// `notify_down`: run when the server goes down (given with the event).
    pub notify_down: Option<Script>,
    /// The checks it depends on, in configuration order. Empty: always up.
    pub checks: Vec<CheckId>,
}

/// One virtual server: its real servers and the options its quorum logic will need.
#[derive(Clone, Debug, PartialEq)]
pub struct VsPlan {
    /// What identifies it across a reload (address, protocol, family).
    pub identity: VsIdentity,
    /// Its real servers: a range of [`RsId`] indices.
    pub servers: Range<usize>,
    /// `quorum` (total weight of live servers needed).
    pub quorum: u32,
    /// `hysteresis`.
    pub hysteresis: u32,
    /// `omega`: run the down notifications at shutdown.
    pub omega: bool,
}

/// Every unique check and who depends on it. Built by [`plan`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CheckPlan {
    /// The unique checks, indexed by [`CheckId`], in configuration order of first appearance.
    pub checks: Vec<CheckSpec>,
    /// Every (virtual server, real server) pair, indexed by [`RsId`], in configuration order.
    pub servers: Vec<RsPlan>,
    /// One entry per `config.lvs.virtual_servers` element, same order.
    pub virtual_servers: Vec<VsPlan>,
    /// Configured checkers that were merged into an identical earlier one.
    pub merged: usize,
}

impl CheckPlan {
    /// The [`RsId`] of real server `rs` of virtual server `vs` (configuration indices).
    pub fn server_id(&self, vs: usize, rs: usize) -> Option<RsId> {
        let range = self.virtual_servers.get(vs)?.servers.clone();
        let id = range.start.checked_add(rs)?;
        range.contains(&id).then_some(RsId(id))
    }
}

/// The hashable part of a check's identity; the type-specific options are compared with `==`
/// within one bucket (they hold types without `Hash`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    type_name: &'static str,
    target: Target,
    timing: Timing,
    alpha: bool,
    log_all_failures: bool,
    track_file: Option<PathBuf>,
}

/// Builds the check plan of a configuration: one [`CheckSpec`] per distinct (type and options,
/// target, timings) and one [`RsPlan`] per real server of each virtual server.
pub fn plan(config: &Config) -> CheckPlan {
    let mut out = CheckPlan::default();
    let mut index: HashMap<Key, Vec<CheckId>> = HashMap::new();
    let servers: usize = config
        .lvs
        .virtual_servers
        .iter()
        .map(|vs| vs.real_servers.len())
        .sum();
    out.servers.reserve_exact(servers);
    out.virtual_servers
        .reserve_exact(config.lvs.virtual_servers.len());
    for (vs_i, vs) in config.lvs.virtual_servers.iter().enumerate() {
        let start = out.servers.len();
        for (rs_i, rs) in vs.real_servers.iter().enumerate() {
            let id = RsId(out.servers.len());
            let mut links = Vec::with_capacity(rs.checkers.len());
            for checker in &rs.checkers {
                let spec = spec_of(config, rs, checker);
                let key = spec.key();
                let bucket = index.entry(key).or_default();
                let existing = bucket
                    .iter()
                    .copied()
                    .find(|c| out.checks.get(c.0).is_some_and(|s| s.kind == spec.kind));
                let check = match existing {
                    Some(c) => {
                        out.merged += 1;
                        c
                    }
                    None => {
                        let c = CheckId(out.checks.len());
                        out.checks.push(spec);
                        bucket.push(c);
                        c
                    }
                };
                if let Some(s) = out.checks.get_mut(check.0)
                    && s.dependents.last() != Some(&id)
                {
                    s.dependents.push(id);
                }
                links.push(check);
            }
            out.servers.push(rs_plan(vs_i, rs_i, rs, links));
        }
        out.virtual_servers
            .push(vs_plan(vs, start..out.servers.len()));
    }
    out
}

fn rs_plan(vs: usize, rs_i: usize, rs: &RealServer, checks: Vec<CheckId>) -> RsPlan {
    RsPlan {
        vs,
        rs: rs_i,
        address: rs.address,
        weight: rs.weight,
        inhibit_on_failure: rs.inhibit_on_failure,
        notify_up: rs.notify_up.clone(),
        notify_down: rs.notify_down.clone(),
        checks,
    }
}

fn vs_plan(vs: &VirtualServer, servers: Range<usize>) -> VsPlan {
    VsPlan {
        identity: vs.identity(),
        servers,
        quorum: vs.quorum,
        hysteresis: vs.hysteresis,
        omega: vs.omega,
    }
}

/// The check one configured checker asks for.
fn spec_of(config: &Config, rs: &RealServer, checker: &Checker) -> CheckSpec {
    let c = &checker.common;
    let connects = !matches!(
        checker.kind,
        CheckerKind::Misc(_) | CheckerKind::File(_) | CheckerKind::Bfd(_)
    );
    let target = if connects {
        Target {
            connect: SocketAddr::new(
                c.connect_ip.unwrap_or(rs.address.ip()),
                c.connect_port.unwrap_or(rs.address.port()),
            ),
            bindto: c.bindto,
            bind_port: c.bind_port,
            bind_if: c.bind_if.clone(),
            fwmark: c.fwmark,
        }
    } else {
        Target {
            connect: rs.address,
            bindto: None,
            bind_port: None,
            bind_if: None,
            fwmark: None,
        }
    };
    let track_file = match &checker.kind {
        CheckerKind::File(f) => config
            .vrrp
            .track_files
            .iter()
            .find(|t| t.name == f.track_file)
            .map(|t| t.file.clone()),
        _ => None,
    };
    CheckSpec {
        kind: without_locs(&checker.kind),
        target,
        timing: Timing {
            connect_timeout: c.connect_timeout,
            retry: c.retry,
            delay_before_retry: c.delay_before_retry,
            delay_loop: c.delay_loop,
            warmup: c.warmup,
        },
        alpha: c.alpha,
        log_all_failures: c.log_all_failures,
        track_file,
        loc: checker.loc,
        dependents: Vec::new(),
    }
}

/// A copy of the checker's options with every configuration place cleared, so that the same
/// options written in two places compare equal.
fn without_locs(kind: &CheckerKind) -> CheckerKind {
    let mut k = kind.clone();
    match &mut k {
        CheckerKind::Http(h) | CheckerKind::Ssl(h) => {
            for u in &mut h.urls {
                u.loc = Loc::default();
            }
        }
        CheckerKind::Misc(m) => m.script.loc = Loc::default(),
        CheckerKind::Smtp(s) => {
            for h in &mut s.hosts {
                h.loc = Loc::default();
            }
        }
        _ => {}
    }
    k
}
