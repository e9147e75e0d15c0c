//! The tokio driver: one task per socket ("link": interface, family, multicast group or unicast,
//! source address, TTL), each owning a [`Router`] with the instances that share the socket.
//!
//! A link task reads adverts through `AsyncFd` and feeds them to the engine, sleeps until the
//! engine's `poll_timeout` (resetting the sleep only when the deadline changes), and executes
//! the engine's actions in order: adverts go out on the socket, virtual addresses, routes and
//! rules are added (addresses, then routes, then rules) and removed (the reverse) over rtnetlink,
//! state changes are logged in keepalived's words. On stop each link gives its instances the
//! `Shutdown` event, so masters send priority-0 adverts and release their addresses, routes and
//! rules before the task ends (not with `--dont-release-vrrp`).
//!
//! Static addresses, routes and rules are installed before the links start and removed after
//! they end. Routes and rules tagged `proto keepalived` (18) that match the configuration are
//! removed at start-up (leftovers of a crashed run) and swept again at stop.

use std::collections::BTreeMap;
use std::io;
use std::net::IpAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use keepalived_net::{
    AddrSpec, Garp, IpFamily, NetError, RouteSpec, Rtnl, RuleSpec, VrrpSocket, VrrpSocketConfig,
};
use keepalived_vrrp::wire::vrrp::Packet;
use keepalived_vrrp::{
    Action, Event, Family, InstanceId, Instant, PeerError, Reason, Router, RxError, RxMeta, State,
};
use tokio::io::unix::AsyncFd;
use tokio::sync::watch;
use tracing::{debug, info, warn};

use super::convert::{InstancePlan, RoutePlan, RulePlan, StaticPlan, Transport, VipSpec};
use super::timer::PreciseTimer;

/// Maps the monotonic clock to the engine's [`Instant`]: nanoseconds since the daemon started.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    start: std::time::Instant,
}

impl Clock {
    /// A clock whose epoch is now.
    pub fn new() -> Self {
        Clock {
            start: std::time::Instant::now(),
        }
    }

    /// The engine's now.
    pub fn now(&self) -> Instant {
        Instant::from_duration(self.start.elapsed())
    }

    /// The tokio instant of engine instant `at`.
    pub fn tokio_at(&self, at: Instant) -> tokio::time::Instant {
        tokio::time::Instant::from_std(self.start + at.since_epoch())
    }
}

/// The socket key: instances sharing all of these share a socket and a [`Router`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct LinkKey {
    ifname: String,
    family: Family,
    group: Option<IpAddr>,
    src: IpAddr,
    ttl: u8,
}

fn link_key(plan: &InstancePlan) -> LinkKey {
    let (group, ttl) = match &plan.transport {
        Transport::Multicast(g) => (Some(*g), 255),
        Transport::Unicast { ttl, .. } => (None, *ttl),
    };
    LinkKey {
        ifname: plan.ifname.clone(),
        family: plan.cfg.family(),
        group,
        src: plan.cfg.primary_addr,
        ttl,
    }
}

/// One socket's engine and everything its actions need.
struct Link {
    key: LinkKey,
    socket: Option<Arc<AsyncFd<VrrpSocket>>>,
    router: Router,
    /// Indexed by [`InstanceId`].
    plans: Vec<InstancePlan>,
    rtnl: Rtnl,
    /// Source and priority of the advert being handled, for log lines.
    last_rx: Option<(IpAddr, u8)>,
    /// Per instance: the last advert could not be sent (so the next failure is not logged
    /// again at warning level, once per advert interval).
    send_failing: Vec<bool>,
    /// Per instance: the last peer warning logged, so a peer repeating the same oddity in
    /// every advert is logged at warning level once (then at debug level).
    last_warning: Vec<Option<String>>,
    /// Gratuitous ARP / unsolicited NA senders, opened on first use, by interface.
    garps: BTreeMap<String, Garp>,
    /// When each rejected-advert complaint (peer and text) was last logged at warning level.
    last_rejected: BTreeMap<String, Instant>,
    /// Whether addresses, routes and rules are removed on stop (not with `--dont-release-vrrp`).
    release: bool,
    /// The daemon is stopping.
    stopping: bool,
}

/// Why the daemon could not start.
#[derive(Debug)]
pub struct StartError(pub String);

/// Groups the plans into links, opens their sockets and netlink handles. A missing interface
/// is not an error: its instances start in FAULT.
fn build_links(plans: Vec<InstancePlan>, release: bool) -> Result<Vec<Link>, StartError> {
    let mut grouped: BTreeMap<LinkKey, Vec<InstancePlan>> = BTreeMap::new();
    for plan in plans {
        grouped.entry(link_key(&plan)).or_default().push(plan);
    }
    let mut links = Vec::new();
    for (key, plans) in grouped {
        let present = plans.iter().all(|p| p.iface_present);
        let socket = if present {
            Some(Arc::new(open_socket(&key)?))
        } else {
            None
        };
        let rtnl = Rtnl::open().map_err(|e| StartError(format!("rtnetlink: {e}")))?;
        let mut link = Link {
            key,
            socket,
            router: Router::new(),
            plans: Vec::new(),
            rtnl,
            last_rx: None,
            send_failing: Vec::new(),
            last_warning: Vec::new(),
            garps: BTreeMap::new(),
            last_rejected: BTreeMap::new(),
            release,
            stopping: false,
        };
        for plan in plans {
            let name = plan.cfg.name.clone();
            let instance = keepalived_vrrp::Instance::new(plan.cfg.clone())
                .map_err(|e| StartError(format!("({name}) {e}")))?;
            match link.router.add(instance) {
                Ok(id) => {
                    debug_assert_eq!(id, link.plans.len());
                    link.plans.push(plan);
                    link.send_failing.push(false);
                    link.last_warning.push(None);
                }
                Err(e) => return Err(StartError(format!("({name}) {e}"))),
            }
        }
        links.push(link);
    }
    Ok(links)
}

fn open_socket(key: &LinkKey) -> Result<AsyncFd<VrrpSocket>, StartError> {
    let family = match key.family {
        Family::V4 => IpFamily::V4,
        Family::V6 => IpFamily::V6,
    };
    let config = VrrpSocketConfig {
        ifname: key.ifname.clone(),
        family,
        group: key.group,
        src: (!key.src.is_unspecified()).then_some(key.src),
    };
    let socket = VrrpSocket::open(&config).map_err(|e| StartError(e.to_string()))?;
    if key.ttl != 255 {
        let ttl = u32::from(key.ttl);
        let set = match family {
            IpFamily::V4 => socket.socket().set_ttl_v4(ttl),
            IpFamily::V6 => socket.socket().set_unicast_hops_v6(ttl),
        };
        set.map_err(|e| StartError(format!("unicast_ttl on {}: {e}", key.ifname)))?;
    }
    // `AsyncFd::new` is deprecated because a caller could close the fd behind tokio's back; here
    // the `VrrpSocket` owns its fd and lives exactly as long as the `AsyncFd`, so that cannot
    // happen (and `register`, its replacement, is `unsafe`, which this crate forbids).
    #[allow(deprecated)]
    let fd = AsyncFd::new(socket);
    fd.map_err(|e| StartError(format!("AsyncFd on {}: {e}", key.ifname)))
}

/// Runs every instance until `stop` turns true, then shuts them down. Must be called inside a
/// tokio runtime. The static addresses, routes and rules are installed first; on stop, once every
/// link has released its addresses, routes and rules, they are removed too (unless `release` is
/// false: `--dont-release-vrrp`).
pub async fn run(
    plans: Vec<InstancePlan>,
    statics: StaticPlan,
    clock: Clock,
    stop: watch::Receiver<bool>,
    release: bool,
) -> Result<(), StartError> {
    let links = build_links(plans, release)?;
    let mut rtnl = Rtnl::open().map_err(|e| StartError(format!("rtnetlink: {e}")))?;
    install_statics(&mut rtnl, &statics);
    let mut tasks = Vec::new();
    for link in links {
        tasks.push(tokio::spawn(run_link(link, clock, stop.clone())));
    }
    for t in tasks {
        if let Err(e) = t.await {
            warn!("VRRP link task failed: {e}");
        }
    }
    if release {
        remove_statics(&mut rtnl, &statics);
    }
    Ok(())
}

/// Installs `static_ipaddress`, `static_routes` and `static_rules`, in that order (leftovers of a
/// crashed run are removed first).
fn install_statics(rtnl: &mut Rtnl, statics: &StaticPlan) {
    const WHO: &str = "static";
    remove_leftover_routes(rtnl, WHO, &statics.routes, &statics.rules);
    for a in &statics.addrs {
        add_addr(rtnl, WHO, a);
    }
    add_routes(rtnl, WHO, &statics.routes, &statics.rules);
}

/// Removes what [`install_statics`] installed, in the reverse order.
fn remove_statics(rtnl: &mut Rtnl, statics: &StaticPlan) {
    const WHO: &str = "static";
    del_routes(rtnl, WHO, &statics.routes, &statics.rules);
    for a in &statics.addrs {
        del_addr(rtnl, WHO, a);
    }
}

/// Adds `routes`, then `rules` (keepalived's order, after the addresses). One already there
/// is fine.
fn add_routes(rtnl: &mut Rtnl, who: &str, routes: &[RoutePlan], rules: &[RulePlan]) {
    for r in routes {
        match r.resolve().and_then(|spec| rtnl.add_route(&spec)) {
            Ok(()) => debug!("({who}) added route {r}"),
            Err(e) if errno(&e) == Some(libc::EEXIST) => {}
            Err(e) => warn!("({who}) cannot add route {r}: {e}"),
        }
    }
    for r in rules {
        match rtnl.add_rule(&r.spec) {
            Ok(()) => debug!("({who}) added rule {r}"),
            Err(e) if errno(&e) == Some(libc::EEXIST) => {}
            Err(e) => warn!("({who}) cannot add rule {r}: {e}"),
        }
    }
}

/// Removes `rules`, then `routes` (the reverse of [`add_routes`]). One already gone is fine.
fn del_routes(rtnl: &mut Rtnl, who: &str, routes: &[RoutePlan], rules: &[RulePlan]) {
    for r in rules {
        match rtnl.del_rule(&r.spec) {
            Ok(()) => debug!("({who}) removed rule {r}"),
            Err(e) if matches!(errno(&e), Some(libc::ENOENT | libc::ESRCH)) => {}
            Err(e) => warn!("({who}) cannot remove rule {r}: {e}"),
        }
    }
    for r in routes {
        // Without its interface (gone?) the route is matched on everything else.
        let spec = r.resolve().unwrap_or_else(|_| r.spec.clone());
        match rtnl.del_route(&spec) {
            Ok(()) => debug!("({who}) removed route {r}"),
            Err(e) if matches!(errno(&e), Some(libc::ESRCH | libc::ENOENT | libc::ENODEV)) => {}
            Err(e) => warn!("({who}) cannot remove route {r}: {e}"),
        }
    }
}

/// Removes routes and rules tagged as ours ([`keepalived_net::RTPROT_KEEPALIVED`]) that match
/// `routes` / `rules`: left by a crashed run, or still there at stop.
fn remove_leftover_routes(rtnl: &mut Rtnl, who: &str, routes: &[RoutePlan], rules: &[RulePlan]) {
    let ours = keepalived_net::RTPROT_KEEPALIVED;
    if routes.iter().any(|r| r.spec.protocol == ours) {
        match rtnl.routes(None) {
            Ok(present) => {
                for r in routes.iter().filter(|r| r.spec.protocol == ours) {
                    let want = r.resolve().ok();
                    for info in present
                        .iter()
                        .filter(|i| route_matches(r, want.as_ref(), i))
                    {
                        match rtnl.del_route(&info.to_spec()) {
                            Ok(()) => info!("({who}) removed leftover route {r}"),
                            Err(e) => debug!("({who}) cannot remove leftover route {r}: {e}"),
                        }
                    }
                }
            }
            Err(e) => warn!("cannot list routes: {e}"),
        }
    }
    if rules.iter().any(|r| r.spec.protocol == ours) {
        match rtnl.rules(None) {
            Ok(present) => {
                for r in rules.iter().filter(|r| r.spec.protocol == ours) {
                    for info in present.iter().filter(|i| rule_matches(&r.spec, i)) {
                        match rtnl.del_rule(&info.to_spec()) {
                            Ok(()) => info!("({who}) removed leftover rule {r}"),
                            Err(e) => debug!("({who}) cannot remove leftover rule {r}: {e}"),
                        }
                    }
                }
            }
            Err(e) => warn!("cannot list rules: {e}"),
        }
    }
}

/// Whether the kernel's route `info` is the route `plan` installs (`resolved`: with its
/// interface, when that exists).
fn route_matches(
    plan: &RoutePlan,
    resolved: Option<&RouteSpec>,
    info: &keepalived_net::RouteInfo,
) -> bool {
    let s = &plan.spec;
    let oif_ok = s.kind.is_reject()
        || match (plan.dev.is_some(), resolved.and_then(|r| r.oif)) {
            (false, _) => true,
            (true, Some(oif)) => info.oif == Some(oif),
            (true, None) => false,
        };
    info.protocol == s.protocol
        && info.dst == s.dst
        && info.dst_len == s.dst_len
        && info.table == s.table
        && info.kind == s.kind
        && (s.gateway.is_none() || info.gateway == s.gateway)
        && (s.metric.is_none() || info.metric == s.metric)
        && oif_ok
}

/// Whether the kernel's rule `info` is the rule `spec` installs.
fn rule_matches(spec: &RuleSpec, info: &keepalived_net::RuleInfo) -> bool {
    info.protocol == spec.protocol
        && info.family == spec.family
        && info.from == spec.from
        && info.to == spec.to
        && info.action == spec.action
        && spec.priority.is_none_or(|p| info.priority == p)
        && info.fwmark == spec.fwmark
        && (spec.fwmask.is_none() || info.fwmask == spec.fwmask)
        && info.iif == spec.iif
        && info.oif == spec.oif
        && info.invert == spec.invert
}

fn add_addr(rtnl: &mut Rtnl, who: &str, vip: &VipSpec) {
    let result = Link::spec(vip).and_then(|s| rtnl.add_addr(&s));
    match result {
        Ok(()) => {}
        Err(e) if errno(&e) == Some(libc::EEXIST) => {}
        Err(e) => warn!("({who}) cannot add {vip}: {e}"),
    }
}

fn del_addr(rtnl: &mut Rtnl, who: &str, vip: &VipSpec) {
    let result = Link::spec(vip).and_then(|s| rtnl.del_addr(&s));
    match result {
        Ok(()) => {}
        Err(e) if errno(&e) == Some(libc::EADDRNOTAVAIL) => {}
        Err(e) => warn!("({who}) cannot remove {vip}: {e}"),
    }
}

async fn run_link(mut link: Link, clock: Clock, mut stop: watch::Receiver<bool>) {
    let now = clock.now();
    link.remove_leftovers();
    if link.socket.is_none() {
        for id in 0..link.plans.len() {
            info!(
                "({}): entering FAULT state (interface {} doesn't exist)",
                link.plans[id].cfg.name, link.key.ifname
            );
            link.router
                .handle_instance_event(now, id, Event::InterfaceDown);
        }
    }
    link.router.handle_start(now);
    let mut deadline = link.drain(now);
    // The engine's deadlines need better than tokio's millisecond timer (see `timer`); if no
    // timerfd can be had, fall back to tokio's sleep rather than not running at all.
    let mut precise = match PreciseTimer::new() {
        Ok(t) => Some(t),
        Err(e) => {
            warn!("no timerfd ({e}); timers fall back to millisecond resolution");
            None
        }
    };
    let mut sleep = pin!(tokio::time::sleep_until(far_future(clock, deadline)));
    if let Some(t) = precise.as_mut() {
        arm(t, clock, deadline);
    }
    let mut buf = vec![0u8; 65_536];
    let socket = link.socket.clone();
    loop {
        if *stop.borrow() {
            break;
        }
        tokio::select! {
            biased;
            changed = stop.changed() => {
                if changed.is_err() {
                    break;
                }
                continue;
            }
            ready = readable(socket.as_deref()) => {
                match ready {
                    Ok(mut guard) => loop {
                        match guard.try_io(|s| s.get_ref().recv(&mut buf)) {
                            Ok(Ok(rx)) => {
                                let now = clock.now();
                                link.handle_rx(now, &rx, &buf);
                            }
                            Ok(Err(e)) => {
                                warn!("receive on {}: {e}", link.key.ifname);
                                break;
                            }
                            Err(_would_block) => break,
                        }
                    },
                    Err(e) => warn!("poll on {}: {e}", link.key.ifname),
                }
            }
            () = fired(precise.as_mut(), sleep.as_mut()) => {
                link.router.handle_timeout(clock.now());
                // A one-shot timer that fired must be armed again even for the same deadline
                // (the engine may not have reached it yet).
                deadline = None;
            }
        }
        let next = link.drain(clock.now());
        if next != deadline {
            deadline = next;
            match precise.as_mut() {
                Some(t) => arm(t, clock, deadline),
                None => sleep.as_mut().reset(far_future(clock, deadline)),
            }
        }
    }
    let now = clock.now();
    link.stopping = true;
    link.router.handle_event(now, Event::Shutdown);
    link.drain(now);
    if link.release {
        // Nothing of ours left behind, whatever happened to a removal on the way.
        for id in 0..link.plans.len() {
            let (name, routes, rules) = {
                let p = &link.plans[id];
                (p.cfg.name.clone(), p.routes.clone(), p.rules.clone())
            };
            remove_leftover_routes(&mut link.rtnl, &name, &routes, &rules);
        }
    }
}

/// Arms the precise timer for engine deadline `deadline` (disarms it for none).
fn arm(timer: &mut PreciseTimer, clock: Clock, deadline: Option<Instant>) {
    let after = deadline.map(|at| at - clock.now());
    if let Err(e) = timer.arm(after) {
        warn!("timerfd: {e}");
    }
}

/// Completes when the engine's deadline is reached: on the precise timer when there is one,
/// else on tokio's sleep.
async fn fired(precise: Option<&mut PreciseTimer>, sleep: std::pin::Pin<&mut tokio::time::Sleep>) {
    match precise {
        Some(t) => t.fired().await,
        None => sleep.await,
    }
}

/// The sleep target for `deadline`, or a day from now when nothing is armed.
fn far_future(clock: Clock, deadline: Option<Instant>) -> tokio::time::Instant {
    match deadline {
        Some(at) => clock.tokio_at(at),
        None => tokio::time::Instant::now() + Duration::from_secs(86_400),
    }
}

async fn readable(
    socket: Option<&AsyncFd<VrrpSocket>>,
) -> io::Result<tokio::io::unix::AsyncFdReadyGuard<'_, VrrpSocket>> {
    match socket {
        Some(s) => s.readable().await,
        None => std::future::pending().await,
    }
}

fn errno(e: &NetError) -> Option<i32> {
    match e {
        NetError::Netlink { source, .. } | NetError::Socket { source, .. } => source.raw_os_error(),
        _ => None,
    }
}

impl Link {
    fn name(&self, id: InstanceId) -> &str {
        self.plans.get(id).map_or("?", |p| p.cfg.name.as_str())
    }

    /// Removes addresses of our instances left behind by a crashed run (keepalived does this at
    /// start-up too).
    fn remove_leftovers(&mut self) {
        let present = match self.rtnl.addrs(None) {
            Ok(a) => a,
            Err(e) => {
                warn!("cannot list addresses: {e}");
                return;
            }
        };
        for id in 0..self.plans.len() {
            let (name, routes, rules) = {
                let p = &self.plans[id];
                (p.cfg.name.clone(), p.routes.clone(), p.rules.clone())
            };
            remove_leftover_routes(&mut self.rtnl, &name, &routes, &rules);
            info!("({}) removing VIPs.", self.plans[id].cfg.name);
            for vip in self.plans[id].vips.clone() {
                let Ok(ifindex) = keepalived_net::ifindex(&vip.dev) else {
                    continue;
                };
                let there = present.iter().any(|a| {
                    a.ifindex == ifindex && a.addr == vip.addr && a.prefix_len == vip.prefix_len
                });
                if there {
                    debug!("({}) removing leftover {vip}", self.plans[id].cfg.name);
                    self.del_vip(id, &vip);
                }
            }
        }
    }

    fn handle_rx(&mut self, now: Instant, rx: &keepalived_net::Received, buf: &[u8]) {
        let Some(payload) = buf.get(rx.payload.clone()) else {
            return;
        };
        let meta = RxMeta {
            src: rx.src,
            dst: rx.dst.unwrap_or(match rx.src {
                IpAddr::V4(_) => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
                IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
            }),
            ttl: rx.ttl.unwrap_or(0),
        };
        self.last_rx = None;
        if let Ok(p) = Packet::new_checked(payload) {
            self.last_rx = Some((rx.src, p.priority()));
            if let Some(id) = self.router.find(Family::of(&rx.src), p.vrid())
                && p.priority() == 0
                && self
                    .router
                    .instance(id)
                    .is_some_and(|i| i.state() == State::Backup)
            {
                info!(
                    "({}) Backup received priority 0 advertisement",
                    self.name(id)
                );
            }
        }
        if let Err(e) = self.router.handle_datagram(now, &meta, payload) {
            self.log_rejected(now, &e, payload);
        }
    }

    /// Logs a rejected advert in keepalived's words (it is already counted by the engine). The
    /// same complaint from the same peer is repeated at warning level at most every 10 s.
    fn log_rejected(&mut self, now: Instant, e: &PeerError, payload: &[u8]) {
        let (vrid, family) = (
            Packet::new_checked(payload).ok().map(|p| p.vrid()),
            Family::of(&e.peer),
        );
        let instance = vrid.and_then(|v| self.router.find(family, v));
        let name = instance.map_or_else(|| self.key.ifname.clone(), |id| self.name(id).to_owned());
        let text = match &e.error {
            RxError::AuthFailure => format!("({name}) received an invalid passwd!"),
            RxError::Version { got } => {
                let want = instance
                    .and_then(|id| self.router.instance(id))
                    .map(|i| i.config().version);
                match want {
                    Some(want) => format!(
                        "({name}) wrong version. Received {got} and expect {}",
                        want.number()
                    ),
                    None => format!("({name}) wrong version. Received {got}"),
                }
            }
            RxError::VridUnknown { .. } => {
                debug!("({name}) {e}");
                return;
            }
            other => format!("({name}) advert from {} rejected: {other}", e.peer),
        };
        let key = format!("{}|{text}", e.peer);
        let quiet = self
            .last_rejected
            .get(&key)
            .is_some_and(|at| now - *at < Duration::from_secs(10));
        if quiet {
            debug!("{text}");
        } else {
            warn!("{text}");
            self.last_rejected.insert(key, now);
        }
    }

    /// Executes every pending action; returns the next deadline.
    fn drain(&mut self, _now: Instant) -> Option<Instant> {
        while let Some((id, action)) = self.router.poll_action() {
            self.execute(id, action);
        }
        self.router.poll_timeout()
    }

    fn execute(&mut self, id: InstanceId, action: Action) {
        match action {
            Action::SendAdvert { repr, checksum } => {
                if repr.priority == 0 {
                    info!("({}) sent 0 priority", self.name(id));
                }
                let Some(socket) = &self.socket else {
                    return;
                };
                let Some(plan) = self.plans.get(id) else {
                    return;
                };
                let dsts: Vec<IpAddr> = match &plan.transport {
                    Transport::Multicast(g) => vec![*g],
                    Transport::Unicast { peers, .. } => peers.clone(),
                };
                let mut failed = None;
                for dst in dsts {
                    let sent = repr
                        .to_bytes(plan.cfg.primary_addr, dst, checksum)
                        .map_err(|e| format!("cannot build advert: {e}"))
                        .and_then(|bytes| {
                            socket
                                .get_ref()
                                .send_to(&bytes, dst)
                                .map_err(|e| format!("cannot send advert to {dst}: {e}"))
                        });
                    if let Err(e) = sent {
                        failed = Some(e);
                    }
                }
                let was_failing = self.send_failing.get(id).copied().unwrap_or(false);
                match &failed {
                    Some(e) if was_failing => debug!("({}) {e}", plan.cfg.name),
                    Some(e) => warn!("({}) {e}", plan.cfg.name),
                    None if was_failing => info!("({}) adverts are sent again", plan.cfg.name),
                    None => {}
                }
                if let Some(f) = self.send_failing.get_mut(id) {
                    *f = failed.is_some();
                }
            }
            Action::AddVips => {
                info!("({}) setting VIPs.", self.name(id));
                for vip in self
                    .plans
                    .get(id)
                    .map(|p| p.vips.clone())
                    .unwrap_or_default()
                {
                    self.add_vip(id, &vip);
                }
                if let Some(p) = self.plans.get(id) {
                    let (name, routes, rules) =
                        (p.cfg.name.clone(), p.routes.clone(), p.rules.clone());
                    add_routes(&mut self.rtnl, &name, &routes, &rules);
                }
            }
            Action::DelVips => {
                if self.stopping && !self.release {
                    info!(
                        "({}) not removing VIPs (--dont-release-vrrp)",
                        self.name(id)
                    );
                    return;
                }
                if let Some(p) = self.plans.get(id) {
                    let (name, routes, rules) =
                        (p.cfg.name.clone(), p.routes.clone(), p.rules.clone());
                    del_routes(&mut self.rtnl, &name, &routes, &rules);
                }
                info!("({}) removing VIPs.", self.name(id));
                for vip in self
                    .plans
                    .get(id)
                    .map(|p| p.vips.clone())
                    .unwrap_or_default()
                {
                    self.del_vip(id, &vip);
                }
            }
            Action::SendGratuitous { count } => {
                let Some(plan) = self.plans.get(id) else {
                    return;
                };
                if let Some(first) = plan.vips.first() {
                    let what = if first.addr.is_ipv4() {
                        "gratuitous ARPs"
                    } else {
                        "Unsolicited Neighbour Adverts"
                    };
                    info!(
                        "({}) Sending/queueing {what} on {} for {}",
                        plan.cfg.name, first.dev, first.addr
                    );
                }
                let vips = plan.vips.clone();
                for vip in &vips {
                    self.announce(id, vip, count);
                }
            }
            Action::StateChanged { from, to, reason } => self.log_transition(id, from, to, reason),
            Action::PriorityChanged { .. } | Action::MasterRxLowerPriority { .. } => {
                debug!("({}) {action:?}", self.name(id));
            }
            Action::Warning(e) => {
                let text = e.to_string();
                let name = self.name(id).to_owned();
                match self.last_warning.get_mut(id) {
                    Some(last) if last.as_deref() == Some(text.as_str()) => {
                        debug!("({name}) {text}");
                    }
                    Some(last) => {
                        warn!("({name}) {text}");
                        *last = Some(text);
                    }
                    None => warn!("({name}) {text}"),
                }
            }
        }
    }

    fn log_transition(&self, id: InstanceId, from: State, to: State, reason: Reason) {
        let name = self.name(id);
        match to {
            State::Backup => {
                if from == State::Master
                    && reason == Reason::HigherPriorityAdvert
                    && let Some((src, prio)) = self.last_rx
                {
                    let ours = self.router.instance(id).map_or(0, |i| i.priority());
                    info!(
                        "({name}) Master received advert from {src} with higher priority {prio}, ours {ours}"
                    );
                }
                if reason == Reason::Startup {
                    info!("({name}) Entering BACKUP STATE (init)");
                } else {
                    info!("({name}) Entering BACKUP STATE");
                }
            }
            State::Master => {
                if reason == Reason::MasterDown {
                    info!("({name}) Receive advertisement timeout");
                }
                info!("({name}) Entering MASTER STATE");
            }
            State::Fault => {
                if from == State::Initialize {
                    info!("({name}) entering FAULT state");
                } else {
                    info!("({name}) Entering FAULT STATE");
                }
            }
            State::Stop | State::Initialize => debug!("({name}) {from} -> {to} ({reason})"),
        }
    }

    fn spec(vip: &VipSpec) -> Result<AddrSpec, NetError> {
        let ifindex = keepalived_net::ifindex(&vip.dev)?;
        let mut spec = AddrSpec::new(ifindex, vip.addr, vip.prefix_len).with_scope(vip.scope);
        if let Some(label) = &vip.label {
            spec = spec.with_label(label);
        }
        if let Some(b) = vip.broadcast {
            spec = spec.with_broadcast(b);
        }
        Ok(spec)
    }

    fn add_vip(&mut self, id: InstanceId, vip: &VipSpec) {
        let name = self.name(id).to_owned();
        add_addr(&mut self.rtnl, &name, vip);
    }

    /// Sends `count` gratuitous ARPs (IPv4) or unsolicited neighbour adverts (IPv6) for `vip`
    /// on its interface, so neighbours learn the new master at once.
    fn announce(&mut self, id: InstanceId, vip: &VipSpec, count: u8) {
        let interval = match (self.plans.get(id), vip.addr) {
            (Some(p), IpAddr::V4(_)) => p.garp_interval,
            (Some(p), IpAddr::V6(_)) => p.gna_interval,
            (None, _) => Duration::ZERO,
        };
        if !interval.is_zero() && count > 1 {
            // Spaced bursts run on their own so the engine never waits for them.
            let (name, dev, addr) = (self.name(id).to_owned(), vip.dev.clone(), vip.addr);
            tokio::spawn(async move {
                let garp = match Garp::open(&dev) {
                    Ok(g) => g,
                    Err(e) => return warn!("({name}) cannot send gratuitous ARP/NA on {dev}: {e}"),
                };
                for n in 0..count {
                    if n > 0 {
                        tokio::time::sleep(interval).await;
                    }
                    if let Err(e) = garp.announce(addr) {
                        return debug!("({name}) gratuitous ARP/NA for {addr} failed: {e}");
                    }
                }
            });
            return;
        }
        if !self.garps.contains_key(&vip.dev) {
            match Garp::open(&vip.dev) {
                Ok(garp) => {
                    self.garps.insert(vip.dev.clone(), garp);
                }
                Err(e) => {
                    warn!(
                        "({}) cannot send gratuitous ARP/NA on {}: {e}",
                        self.name(id),
                        vip.dev
                    );
                    return;
                }
            }
        }
        let Some(garp) = self.garps.get(&vip.dev) else {
            return;
        };
        for _ in 0..count {
            if let Err(e) = garp.announce(vip.addr) {
                debug!(
                    "({}) gratuitous ARP/NA for {} failed: {e}",
                    self.name(id),
                    vip.addr
                );
                break;
            }
        }
    }

    fn del_vip(&mut self, id: InstanceId, vip: &VipSpec) {
        let name = self.name(id).to_owned();
        del_addr(&mut self.rtnl, &name, vip);
    }
}
