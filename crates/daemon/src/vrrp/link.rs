//! One VRRP socket ("link": interface, family, multicast group or unicast, source address, TTL)
//! with the instances that share it: opening the socket, the reader task that hands datagrams
//! to the driver, and the execution of the engine's actions for those instances (adverts out,
//! addresses, routes and rules over rtnetlink, gratuitous ARP / NA, logs in keepalived's words).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use keepalived_net::{Garp, IpFamily, Rtnl, VrrpSocket, VrrpSocketConfig};
use keepalived_vrrp::wire::ah::{self, AH_LEN};
use keepalived_vrrp::wire::vrrp::Packet;
use keepalived_vrrp::{
    Action, Auth, Engine, Family, InstanceId, InstanceRef, Instant, PeerError, Reason, Router,
    RxError, RxMeta, State,
};
use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc;
use tracing::{debug, error, info, warn};

use super::netops::{add_addr, add_routes, del_addr, del_routes, remove_leftover_routes};
use crate::plan::convert::{InstancePlan, Transport, VipSpec};
use crate::plan::tracks::TrackPlan;

/// Why the daemon could not start.
#[derive(Debug)]
pub struct StartError(pub String);

/// A datagram read by a link's reader task, for the driver.
#[derive(Debug)]
pub struct Datagram {
    /// The link (index into the driver's links) it arrived on.
    pub link: usize,
    /// Source, destination and TTL.
    pub meta: RxMeta,
    /// The VRRP message.
    pub payload: Vec<u8>,
    /// From an IPsec AH socket: the whole IPv4 datagram (the AH's check covers its header).
    pub ip: Option<Vec<u8>>,
}

/// Reads `socket` until the driver goes away, sending each datagram as a [`Datagram`] of
/// link `link`.
pub async fn read_socket(
    link: usize,
    socket: Arc<AsyncFd<VrrpSocket>>,
    tx: mpsc::UnboundedSender<Datagram>,
) {
    let mut buf = vec![0u8; 65_536];
    loop {
        let mut guard = match socket.readable().await {
            Ok(g) => g,
            Err(e) => {
                warn!("poll on VRRP socket: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        loop {
            match guard.try_io(|s| s.get_ref().recv(&mut buf)) {
                Ok(Ok(rx)) => {
                    let Some(payload) = buf.get(rx.payload.clone()) else {
                        continue;
                    };
                    let meta = RxMeta {
                        src: rx.src,
                        dst: rx.dst.unwrap_or(match rx.src {
                            IpAddr::V4(_) => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
                            IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
                        }),
                        ttl: rx.ttl.unwrap_or(0),
                    };
                    let is_ah = socket.get_ref().is_ah();
                    let (payload, ip) = match buf.get(..rx.len) {
                        // The VRRP message follows the AH.
                        Some(whole) if is_ah => (
                            payload.get(AH_LEN..).unwrap_or(&[]).to_vec(),
                            Some(whole.to_vec()),
                        ),
                        _ => (payload.to_vec(), None),
                    };
                    let dg = Datagram {
                        link,
                        meta,
                        payload,
                        ip,
                    };
                    if tx.send(dg).is_err() {
                        return;
                    }
                }
                Ok(Err(e)) => {
                    warn!("receive on VRRP socket: {e}");
                    break;
                }
                Err(_would_block) => break,
            }
        }
    }
}

/// The socket key: instances sharing all of these share a socket and a [`Router`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LinkKey {
    /// The interface.
    pub ifname: String,
    /// The family.
    pub family: Family,
    /// The multicast group (`None`: unicast).
    pub group: Option<IpAddr>,
    /// The advert source.
    pub src: IpAddr,
    /// TTL / hop limit of sent adverts.
    pub ttl: u8,
    /// `auth_type AH`: a protocol-51 socket of its own, as keepalived opens one.
    pub ah: bool,
}

/// The socket key of an instance's plan.
pub fn link_key(plan: &InstancePlan) -> LinkKey {
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
        ah: plan.cfg.auth == Auth::IpAh,
    }
}

/// One socket's engine and everything its actions need.
pub struct Link {
    /// What the socket is.
    pub key: LinkKey,
    /// The socket (none when the interface is missing).
    pub socket: Option<Arc<AsyncFd<VrrpSocket>>>,
    /// Indexed by [`InstanceId`]; a retired instance's plan stays until its slot is reused.
    pub plans: Vec<InstancePlan>,
    /// Per instance: removed by a reload.
    retired: Vec<bool>,
    /// Netlink handle for addresses, routes and rules.
    pub rtnl: Rtnl,
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
    pub release: bool,
    /// The daemon is stopping.
    pub stopping: bool,
}

/// Groups the plans into links, opens their sockets and netlink handles, and adds each link and
/// its instances (with their `track_*` entries from `tracks`) to `engine`; link `i` of the
/// result is the engine's link `i`. A missing interface is not an error: its instances start in
/// FAULT; an instance the engine refuses (a VRID already used on the link) is logged and left
/// out. Returns the links and each instance's reference by name.
pub fn build_links(
    plans: Vec<InstancePlan>,
    release: bool,
    engine: &mut Engine,
    tracks: &TrackPlan,
) -> Result<(Vec<Link>, BTreeMap<String, InstanceRef>), StartError> {
    let mut refs = BTreeMap::new();
    let mut grouped: BTreeMap<LinkKey, Vec<InstancePlan>> = BTreeMap::new();
    for plan in plans {
        grouped.entry(link_key(&plan)).or_default().push(plan);
    }
    let mut links = Vec::new();
    for (key, plans) in grouped {
        let present = plans.iter().all(|p| p.iface_present);
        let mut link = Link::open(key, present, release)?;
        let link_id = engine.add_link();
        debug_assert_eq!(link_id, links.len());
        for plan in plans {
            let name = plan.cfg.name.clone();
            let instance = match keepalived_vrrp::Instance::new(plan.cfg.clone()) {
                Ok(i) => i,
                Err(e) => {
                    error!("({name}) {e}; instance not started");
                    continue;
                }
            };
            let tracked = tracks.instances.get(&name).cloned().unwrap_or_default();
            match engine.add_instance(link_id, instance, tracked) {
                Ok(r) => {
                    refs.insert(name, r);
                    link.set_plan(r.id, plan);
                }
                // Two instances the link cannot tell apart (the same VRID): the first runs,
                // this one is left out, as the configuration check reported at its place.
                Err(e) => error!("({name}) {e}; instance not started"),
            }
        }
        links.push(link);
    }
    Ok((links, refs))
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
        ah: key.ah,
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

impl Link {
    /// A link without instances: its socket (none when the interface is missing) and netlink
    /// handle.
    ///
    /// # Errors
    /// The socket or the netlink handle cannot be opened.
    pub fn open(key: LinkKey, present: bool, release: bool) -> Result<Link, StartError> {
        let socket = if present {
            Some(Arc::new(open_socket(&key)?))
        } else {
            None
        };
        let rtnl = Rtnl::open().map_err(|e| StartError(format!("rtnetlink: {e}")))?;
        Ok(Link {
            key,
            socket,
            plans: Vec::new(),
            retired: Vec::new(),
            rtnl,
            last_rx: None,
            send_failing: Vec::new(),
            last_warning: Vec::new(),
            garps: BTreeMap::new(),
            last_rejected: BTreeMap::new(),
            release,
            stopping: false,
        })
    }

    /// Puts `plan` at instance `id` (a new slot, or one a retired instance freed).
    pub fn set_plan(&mut self, id: InstanceId, plan: InstancePlan) {
        if id < self.plans.len() {
            self.plans[id] = plan;
            self.retired[id] = false;
            self.send_failing[id] = false;
            self.last_warning[id] = None;
        } else {
            debug_assert_eq!(id, self.plans.len());
            self.plans.push(plan);
            self.retired.push(false);
            self.send_failing.push(false);
            self.last_warning.push(None);
        }
    }

    /// Marks instance `id` removed (after its stop was carried out).
    pub fn retire(&mut self, id: InstanceId) {
        if let Some(r) = self.retired.get_mut(id) {
            *r = true;
        }
    }

    /// The instances in service.
    pub fn live_ids(&self) -> Vec<InstanceId> {
        (0..self.plans.len())
            .filter(|id| !self.retired.get(*id).copied().unwrap_or(true))
            .collect()
    }

    /// Adds `vips` of instance `id` (a master whose reload added addresses) and announces them
    /// with `count` gratuitous ARPs / unsolicited NAs each.
    pub fn add_vips(&mut self, id: InstanceId, vips: &[VipSpec], count: u8) {
        if let Some(p) = self.plans.get(id) {
            super::firewall::before_add(&p.cfg.name, p, vips);
        }
        for vip in vips {
            self.add_vip(id, vip);
        }
        for vip in vips {
            self.announce(id, vip, count);
        }
    }

    /// Removes `vips` of instance `id` (a master whose reload removed addresses).
    pub fn del_vips(&mut self, id: InstanceId, vips: &[VipSpec]) {
        for vip in vips {
            self.del_vip(id, vip);
        }
        if let Some(p) = self.plans.get(id) {
            super::firewall::after_del(&p.cfg.name, p, vips);
        }
    }

    /// The name of instance `id` (for logs).
    pub fn name(&self, id: InstanceId) -> &str {
        self.plans.get(id).map_or("?", |p| p.cfg.name.as_str())
    }

    /// Removes addresses of our instances left behind by a crashed run (keepalived does this at
    /// start-up too).
    pub fn remove_leftovers(&mut self) {
        let present = match self.rtnl.addrs(None) {
            Ok(a) => a,
            Err(e) => {
                warn!("cannot list addresses: {e}");
                return;
            }
        };
        for id in self.live_ids() {
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

    /// Notes a datagram about to be handed to the engine (its source and priority, for the log
    /// lines of the transitions it causes) and logs a priority-0 advert reaching a backup.
    pub fn note_rx(&mut self, router: Option<&Router>, dg: &Datagram) {
        let (meta, payload) = (&dg.meta, dg.payload.as_slice());
        self.last_rx = None;
        if let Ok(p) = Packet::new_checked(payload) {
            self.last_rx = Some((meta.src, p.priority()));
            if let Some(router) = router
                && let Some(id) = router.find(Family::of(&meta.src), p.vrid())
                && p.priority() == 0
                && router
                    .instance(id)
                    .is_some_and(|i| i.state() == State::Backup)
            {
                info!(
                    "({}) Backup received priority 0 advertisement",
                    self.name(id)
                );
            }
        }
    }

    /// Logs a rejected advert in keepalived's words (it is already counted by the engine). The
    /// same complaint from the same peer is repeated at warning level at most every 10 s.
    pub fn log_rejected(
        &mut self,
        now: Instant,
        router: Option<&Router>,
        e: &PeerError,
        payload: &[u8],
    ) {
        let (vrid, family) = (
            Packet::new_checked(payload).ok().map(|p| p.vrid()),
            Family::of(&e.peer),
        );
        let instance = vrid.and_then(|v| router?.find(family, v));
        let name = instance.map_or_else(|| self.key.ifname.clone(), |id| self.name(id).to_owned());
        let text = match &e.error {
            RxError::AuthFailure => format!("({name}) received an invalid passwd!"),
            RxError::AhIcv => format!(
                "({name}) IPSEC-AH : invalid IPSEC HMAC-MD5 value. Due to fields mutation or bad password !"
            ),
            RxError::AhSpi { spi } => format!(
                "({name}) IPSEC AH : invalid IPSEC SPI value {spi:#010x} from {}",
                e.peer
            ),
            RxError::AhReplay { seq, last } => format!(
                "({name}) IPSEC-AH : sequence number {seq} already processed. Packet dropped. Local({last})"
            ),
            RxError::Version { got } => {
                let want = instance
                    .and_then(|id| router?.instance(id))
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

    /// Carries out one action of instance `id` (`router`: the engine's view of this link, for
    /// log lines).
    pub fn execute(&mut self, id: InstanceId, action: Action, router: Option<&Router>) {
        match action {
            Action::SendAdvert { repr, checksum, ah } => {
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
                    let src = plan.cfg.primary_addr;
                    let sent = repr
                        .to_bytes(src, dst, checksum)
                        .map_err(|e| format!("cannot build advert: {e}"))
                        .and_then(|bytes| match (ah, src, dst) {
                            (Some(seal), IpAddr::V4(s4), IpAddr::V4(d4)) => {
                                let unicast = plan.cfg.unicast;
                                ah::emit_datagram(&bytes, s4, d4, self.key.ttl, &seal, unicast)
                                    .ok_or_else(|| "advert too long for AH".to_owned())
                                    .and_then(|dg| {
                                        socket.get_ref().send_datagram(&dg, dst).map_err(|e| {
                                            format!("cannot send advert to {dst}: {e}")
                                        })
                                    })
                            }
                            _ => socket
                                .get_ref()
                                .send_to(&bytes, dst)
                                .map_err(|e| format!("cannot send advert to {dst}: {e}")),
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
                if let Some(p) = self.plans.get(id) {
                    // The drop rules are in place before the addresses appear.
                    super::firewall::before_add(&p.cfg.name, p, &p.vips);
                }
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
                if let Some(p) = self.plans.get(id) {
                    super::firewall::after_del(&p.cfg.name, p, &p.vips);
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
            Action::StateChanged { from, to, reason } => {
                let priority = router
                    .and_then(|r| r.instance(id))
                    .map_or(0, |i| i.priority());
                self.log_transition(id, from, to, reason, priority);
            }
            Action::PriorityChanged { from, to } => {
                info!(
                    "({}) Changing effective priority from {from} to {to}",
                    self.name(id)
                );
            }
            Action::MasterRxLowerPriority { .. } => {
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

    fn log_transition(&self, id: InstanceId, from: State, to: State, reason: Reason, ours: u8) {
        let name = self.name(id);
        match to {
            State::Backup => {
                if from == State::Master
                    && reason == Reason::HigherPriorityAdvert
                    && let Some((src, prio)) = self.last_rx
                {
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
