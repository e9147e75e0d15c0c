//! The tokio driver: one task runs every VRRP instance, whatever its interface, so sync groups
//! and shared trackers see one engine. Each socket has a small reader task that hands datagrams
//! over a channel ([`super::link::read_socket`]); the driver feeds them to the engine, sleeps
//! until the engine's next deadline on a microsecond timerfd ([`PreciseTimer`]), and executes
//! the engine's actions through the instance's [`Link`].
//!
//! On stop every instance gets the `Shutdown` event, so masters send priority-0 adverts and
//! release their addresses, routes and rules (not with `--dont-release-vrrp`). Static addresses,
//! routes and rules are installed before the instances start and removed after they stop.

use std::pin::pin;
use std::time::Duration;

use keepalived_net::Rtnl;
use keepalived_vrrp::{Event, Instant};
use tokio::sync::{mpsc, watch};
use tracing::{info, warn};

use super::convert::{InstancePlan, StaticPlan};
pub use super::link::StartError;
use super::link::{Link, build_links, read_socket};
use super::netops::{install_statics, remove_leftover_routes, remove_statics};
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

/// Runs every instance until `stop` turns true, then shuts them down. Must be called inside a
/// tokio runtime. The static addresses, routes and rules are installed first; on stop, once every
/// instance has released its addresses, routes and rules, they are removed too (unless `release`
/// is false: `--dont-release-vrrp`).
pub async fn run(
    plans: Vec<InstancePlan>,
    statics: StaticPlan,
    clock: Clock,
    mut stop: watch::Receiver<bool>,
    release: bool,
) -> Result<(), StartError> {
    let mut links = build_links(plans, release)?;
    let mut rtnl = Rtnl::open().map_err(|e| StartError(format!("rtnetlink: {e}")))?;
    install_statics(&mut rtnl, &statics);
    let (rx_tx, mut rx) = mpsc::unbounded_channel();
    let mut readers = Vec::new();
    for (i, link) in links.iter().enumerate() {
        if let Some(socket) = &link.socket {
            readers.push(tokio::spawn(read_socket(i, socket.clone(), rx_tx.clone())));
        }
    }
    drop(rx_tx);

    let now = clock.now();
    for link in &mut links {
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
    }
    let mut deadline = drain_all(&mut links);
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
            Some(dg) = rx.recv() => {
                let now = clock.now();
                if let Some(link) = links.get_mut(dg.link) {
                    link.handle_rx(now, &dg);
                }
            }
            () = fired(precise.as_mut(), sleep.as_mut()) => {
                let now = clock.now();
                for link in &mut links {
                    link.router.handle_timeout(now);
                }
                // A one-shot timer that fired must be armed again even for the same deadline
                // (the engine may not have reached it yet).
                deadline = None;
            }
        }
        let next = drain_all(&mut links);
        if next != deadline {
            deadline = next;
            match precise.as_mut() {
                Some(t) => arm(t, clock, deadline),
                None => sleep.as_mut().reset(far_future(clock, deadline)),
            }
        }
    }
    for r in readers {
        r.abort();
    }
    let now = clock.now();
    for link in &mut links {
        link.stopping = true;
        link.router.handle_event(now, Event::Shutdown);
        link.drain();
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
    if release {
        remove_statics(&mut rtnl, &statics);
    }
    Ok(())
}

/// Executes every link's pending actions; returns the earliest next deadline.
fn drain_all(links: &mut [Link]) -> Option<Instant> {
    links.iter_mut().filter_map(Link::drain).min()
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
