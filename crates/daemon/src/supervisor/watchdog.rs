//! The parent's side of the watchdog: how often each engine is pinged and how long it may stay
//! silent ([`Timing`]), the deadline logic ([`Watch`], pure: time is an argument), and the task
//! that pings one engine over its heartbeat connection ([`watch`]) and reports it hung.
//!
//! The engine answers from its driver's event loop ([`crate::services::heartbeat`]). One ping
//! is outstanding at a time; the next goes a period after the previous one was sent, or at once
//! when the answer came later. The engine is hung when a ping is outstanding and the silence
//! since its last answer reached the deadline; the time is checked at that deadline itself, not
//! at the next ping, so a freeze is acted upon between `deadline - period` and `deadline` after
//! it began. Before a verdict the task reads what the socket holds without waiting, and an
//! outstanding ping always gets half the deadline, so a parent that was itself stopped (or slow)
//! never blames its engines for its own silence.

use std::time::Duration;

use keepalived_config::Config;
use tokio::sync::{mpsc, oneshot, watch as tokio_watch};
use tokio::time::Instant;
use tracing::{error, info, warn};

use super::{Supervisor, release_vrrp_leftovers};
use crate::plan::convert::InstancePlan;
use crate::services::cli::Engine;
use crate::services::heartbeat::{Conn, Msg, QueryRequest};

/// The VRRP engine's ping period: a quarter of the smallest advert interval, within these.
/// The verdict is taken at the deadline whatever the period, so a shorter period only costs
/// CPU: at 50 ms (20 pings a second) the heartbeat cost 0.4 % of a core at 200 instances.
const VRRP_PERIOD_MIN: Duration = Duration::from_millis(250);
/// See [`VRRP_PERIOD_MIN`].
const VRRP_PERIOD_MAX: Duration = Duration::from_millis(500);
/// The checker engine's ping period.
const CHECKER_PERIOD: Duration = Duration::from_secs(1);
/// Until its first answer an engine may be silent this long at least: it may be removing a
/// predecessor's leftovers or building its sockets before its loop runs.
pub const START_GRACE: Duration = Duration::from_secs(10);
/// Queries waiting to be sent to one engine (more fail at once).
const QUERY_QUEUE: usize = 8;

/// How one engine is watched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Time between pings.
    pub period: Duration,
    /// The longest silence allowed.
    pub deadline: Duration,
}

/// How `engine` is watched under `config` (with its VRRP `plans`); `None`: not at all
/// (`vrrp_watchdog_timeout 0`, `checker_watchdog_timeout 0`).
pub fn timing(engine: Engine, config: &Config, plans: &[InstancePlan]) -> Option<Timing> {
    let defs = &config.global.defs;
    let (period, deadline) = match engine {
        Engine::Vrrp => {
            let smallest = plans.iter().map(|p| p.cfg.adver_int.as_duration()).min();
            let period = smallest.map_or(VRRP_PERIOD_MAX, |d| {
                (d / 4).clamp(VRRP_PERIOD_MIN, VRRP_PERIOD_MAX)
            });
            (period, defs.vrrp_watchdog_timeout)
        }
        Engine::Checker => (CHECKER_PERIOD, defs.checker_watchdog_timeout),
        // keepalived has no BFD watchdog setting: the BFD engine feeds VRRP's failover, so it
        // is watched as closely as the VRRP engine.
        Engine::Bfd => (VRRP_PERIOD_MIN, defs.vrrp_watchdog_timeout),
    };
    if deadline.is_zero() {
        return None;
    }
    // Several pings within any deadline, however short it is set.
    Some(Timing {
        period: period.min(deadline / 4),
        deadline,
    })
}

/// What a [`Watch`] wants done now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Send ping `n`.
    Ping(u64),
    /// The engine is hung: silent this long.
    Hung(Duration),
}

/// The deadline logic of one engine's heartbeat.
#[derive(Debug, Clone)]
pub struct Watch {
    timing: Timing,
    /// When the engine last answered (at first: when the watch began).
    last_answer: Instant,
    answered: bool,
    /// The ping awaiting its answer, and when it was sent.
    pending: Option<(u64, Instant)>,
    next_seq: u64,
    next_ping: Instant,
}

impl Watch {
    /// A watch beginning at `now`, with a ping due at once.
    pub fn new(now: Instant, timing: Timing) -> Watch {
        Watch {
            timing,
            last_answer: now,
            answered: false,
            pending: None,
            next_seq: 1,
            next_ping: now,
        }
    }

    /// New timing (a reload changed the advert intervals or the timeout).
    pub fn set_timing(&mut self, timing: Timing) {
        self.timing = timing;
    }

    /// The silence allowed now.
    fn allowed(&self) -> Duration {
        if self.answered {
            self.timing.deadline
        } else {
            self.timing.deadline.max(START_GRACE)
        }
    }

    /// When the outstanding ping, if any, makes the engine hung.
    fn hung_at(&self) -> Option<Instant> {
        let (_, sent) = self.pending?;
        let allowed = self.allowed();
        Some((self.last_answer + allowed).max(sent + allowed / 2))
    }

    /// What is due at `now`: a verdict first, else a ping (which becomes outstanding).
    pub fn poll(&mut self, now: Instant) -> Option<Due> {
        if let Some(at) = self.hung_at() {
            return (now >= at).then(|| Due::Hung(now - self.last_answer));
        }
        if now < self.next_ping {
            return None;
        }
        let n = self.next_seq;
        self.next_seq += 1;
        self.pending = Some((n, now));
        Some(Due::Ping(n))
    }

    /// The engine answered ping `n` at `now` (an answer to an earlier ping is ignored).
    pub fn handle_pong(&mut self, now: Instant, n: u64) {
        if let Some((sent_n, sent)) = self.pending
            && sent_n == n
        {
            self.pending = None;
            self.last_answer = now;
            self.answered = true;
            self.next_ping = (sent + self.timing.period).max(now);
        }
    }

    /// When [`Watch::poll`] has something to do next.
    pub fn next_wakeup(&self) -> Instant {
        self.hung_at().unwrap_or(self.next_ping)
    }
}

/// Pings one engine over `conn` with the timing `timing` holds (changed by reloads) until it
/// is hung (returns the silence) or the connection ends (`None`: the engine died or closed it;
/// its death is reported by the exit path). With `None` in `timing` the engine is not watched
/// until a reload brings a timeout.
pub async fn watch(
    mut conn: Conn,
    mut timing: tokio_watch::Receiver<Option<Timing>>,
    mut queries: mpsc::Receiver<QueryRequest>,
) -> Option<Duration> {
    let mut current = *timing.borrow_and_update();
    let mut w = current.map(|t| Watch::new(Instant::now(), t));
    let mut asked = Queries::default();
    loop {
        let wake = w.as_ref().map(Watch::next_wakeup);
        tokio::select! {
            biased;
            msg = conn.recv() => match msg {
                Ok(Some(Msg::Pong(n))) => {
                    if let Some(w) = w.as_mut() {
                        w.handle_pong(Instant::now(), n);
                    }
                }
                Ok(Some(msg)) => asked.handle(msg),
                Ok(None) | Err(_) => return None,
            },
            Some(q) = queries.recv() => asked.send(&conn, q),
            changed = timing.changed() => {
                if changed.is_err() {
                    return None;
                }
                let new = *timing.borrow_and_update();
                if new != current {
                    w = match (w, new) {
                        (Some(mut w), Some(t)) => {
                            w.set_timing(t);
                            Some(w)
                        }
                        (None, Some(t)) => Some(Watch::new(Instant::now(), t)),
                        (_, None) => None,
                    };
                    current = new;
                }
            }
            () = sleep_until(wake) => {
                let Some(watch) = w.as_mut() else { continue };
                // A last look at what the engine sent, whether or not the runtime saw it yet.
                let now = Instant::now();
                for msg in conn.recv_now() {
                    if let Msg::Pong(n) = msg {
                        watch.handle_pong(now, n);
                    } else {
                        asked.handle(msg);
                    }
                }
                while let Some(due) = watch.poll(now) {
                    match due {
                        Due::Hung(silent) => return Some(silent),
                        Due::Ping(n) => {
                            if conn.send(&Msg::Ping(n)).is_err() {
                                // Its buffer is full or the socket failed: the silence
                                // decides, the deadline still runs.
                                tracing::debug!("heartbeat: cannot send ping {n}");
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The largest answer taken from an engine (a bigger one is dropped: the query fails).
const MAX_ANSWER: usize = 256 * 1024 * 1024;

/// Queries sent on one engine's connection, awaiting their answers.
#[derive(Debug, Default)]
struct Queries {
    next: u64,
    /// Query number, where its answer goes, and the bytes received so far.
    pending: Vec<(u64, oneshot::Sender<Vec<u8>>, Vec<u8>)>,
}

impl Queries {
    /// Sends query `q` (dropped at once when the socket does not take the line).
    fn send(&mut self, conn: &Conn, q: QueryRequest) {
        // Those who stopped waiting (a scrape's timeout) are forgotten; their parts skipped.
        self.pending.retain(|(_, reply, _)| !reply.is_closed());
        self.next += 1;
        if conn.send(&Msg::Query(self.next, q.kind)).is_ok() {
            self.pending.push((self.next, q.reply, Vec::new()));
        }
    }

    /// Takes a piece or the end of an answer.
    fn handle(&mut self, msg: Msg) {
        let (n, part) = match msg {
            Msg::Part(n, bytes) => (n, Some(bytes)),
            Msg::Done(n) => (n, None),
            _ => return,
        };
        let Some(i) = self.pending.iter().position(|(m, _, _)| *m == n) else {
            return;
        };
        match part {
            Some(bytes) if self.pending[i].2.len() + bytes.len() <= MAX_ANSWER => {
                self.pending[i].2.extend_from_slice(&bytes);
            }
            Some(_) => {
                warn!("an answer of a child process is over {MAX_ANSWER} bytes; dropped");
                self.pending.swap_remove(i);
            }
            None => {
                let (_, reply, bytes) = self.pending.swap_remove(i);
                let _ = reply.send(bytes);
            }
        }
    }
}

/// An engine its heartbeat's task found hung.
#[derive(Debug)]
pub struct Hung {
    slot: usize,
    generation: u64,
    pid: u32,
    silent: Duration,
}

/// The task watching one engine; aborted when dropped (the engine ended).
#[derive(Debug)]
pub struct Watching(tokio::task::JoinHandle<()>);

impl Drop for Watching {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Supervisor<'_> {
    /// Starts watching the heartbeat `stream` of engine `pid` (refused unless it is the
    /// running `engine` process).
    pub(super) fn watch_heartbeat(
        &mut self,
        pid: u32,
        engine: Engine,
        stream: tokio::net::UnixStream,
    ) {
        let hung_tx = self.hung_tx.clone();
        let found =
            self.slots.iter_mut().enumerate().find(|(_, s)| {
                s.engine == engine && s.running.as_ref().is_some_and(|r| r.pid == pid)
            });
        let Some((slot, s)) = found else {
            warn!(
                "heartbeat connection from pid {pid}, not our {} child; ignored",
                engine.title()
            );
            return;
        };
        let (generation, timing) = (s.generation, s.timing.subscribe());
        let (queries_tx, queries) = mpsc::channel(QUERY_QUEUE);
        if let Some(c) = &self.control {
            c.replay(engine, queries_tx.clone());
        }
        self.metrics.connected(engine, queries_tx);
        let task = tokio::spawn(async move {
            if let Some(silent) = watch(Conn::new(stream), timing, queries).await {
                let _ = hung_tx.send(Hung {
                    slot,
                    generation,
                    pid,
                    silent,
                });
            }
        });
        if let Some(r) = s.running.as_mut() {
            r.heartbeat = Some(Watching(task));
        }
    }

    /// Kills a hung engine and, for the VRRP engine, removes what it held at once; its death
    /// then takes the usual path (restart, or stop with `-R`).
    pub(super) fn handle_hung(&mut self, hung: Hung) {
        let Some(slot) = self.slots.get_mut(hung.slot) else {
            return;
        };
        let Some(r) = slot.running.as_mut() else {
            return;
        };
        if slot.generation != hung.generation || r.pid != hung.pid || r.hung {
            return;
        }
        let (title, pid) = (slot.engine.title(), r.pid);
        error!(
            "{title} child process({pid}) hung (silent for {} ms): killing it",
            hung.silent.as_millis()
        );
        r.hung = true;
        r.heartbeat = None;
        self.metrics.killed(slot.engine);
        if let Err(e) = keepalived_net::send_signal(pid, libc::SIGKILL) {
            warn!("cannot kill the {title} child process({pid}): {e}");
        }
        // At once, not when its death is reported: the addresses of a router that no longer
        // advertises must go now. The exit path removes them again, in case the process
        // completed a last system call after the signal.
        if slot.engine == Engine::Vrrp && !self.cli.dont_release_vrrp {
            let removed = release_vrrp_leftovers(&self.checked.plans);
            info!(
                "Removed {removed} addresses, routes, rules and VMACs of the hung {title} child process({pid})"
            );
        }
    }

    /// Hands each engine's watch the timing of the configuration now in force.
    pub(super) fn refresh_timings(&mut self) {
        for slot in &self.slots {
            let t = timing(slot.engine, &self.checked.config, &self.checked.plans);
            slot.timing.send_if_modified(|old| {
                let changed = *old != t;
                *old = t;
                changed
            });
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn timing(period_ms: u64, deadline_ms: u64) -> Timing {
        Timing {
            period: MS * period_ms as u32,
            deadline: MS * deadline_ms as u32,
        }
    }

    /// Runs `w` from `from` to `to` in 1 ms steps, answering every ping after `delay` unless
    /// the engine is frozen (`frozen(t)`); returns the first verdict and when it came.
    fn run(
        w: &mut Watch,
        t0: Instant,
        to_ms: u64,
        delay_ms: u64,
        frozen: impl Fn(u64) -> bool,
    ) -> Option<(u64, Duration)> {
        let mut answers: Vec<(u64, u64)> = Vec::new();
        for ms in 0..=to_ms {
            let now = t0 + MS * ms as u32;
            answers.retain(|&(at, n)| {
                if at <= ms && !frozen(ms) {
                    w.handle_pong(now, n);
                    false
                } else {
                    true
                }
            });
            if now < w.next_wakeup() {
                continue;
            }
            while let Some(due) = w.poll(now) {
                match due {
                    Due::Hung(silent) => return Some((ms, silent)),
                    Due::Ping(n) => answers.push((ms + delay_ms, n)),
                }
            }
        }
        None
    }

    #[test]
    fn a_live_engine_is_pinged_each_period_and_never_hung() {
        let t0 = Instant::now();
        let mut w = Watch::new(t0, timing(250, 1500));
        assert_eq!(w.poll(t0), Some(Due::Ping(1)));
        assert_eq!(w.poll(t0), None, "one ping outstanding at a time");
        w.handle_pong(t0 + MS, 1);
        assert_eq!(w.next_wakeup(), t0 + MS * 250);
        assert_eq!(w.poll(t0 + MS * 249), None);
        assert_eq!(w.poll(t0 + MS * 250), Some(Due::Ping(2)));
        w.handle_pong(t0 + MS * 250, 2);
        // Slow answers (0.9 s each) are not a hang.
        assert_eq!(run(&mut w, t0 + MS * 250, 20_000, 900, |_| false), None);
    }

    #[test]
    fn a_frozen_engine_is_hung_at_the_deadline_after_its_last_answer() {
        for freeze_at in [1000, 1100, 1249, 1250, 1251] {
            let t0 = Instant::now();
            let mut w = Watch::new(t0, timing(250, 1500));
            let (at, silent) = run(&mut w, t0, 10_000, 0, |ms| ms >= freeze_at).expect("hung");
            // Pings go every 250 ms and are answered 1 ms later: the last answer is the last
            // one before the freeze.
            let last = (0..)
                .map(|k| k * 250 + 1)
                .take_while(|&a| a < freeze_at)
                .last()
                .expect("answered once");
            assert_eq!(at, last + 1500, "freeze at {freeze_at}");
            assert_eq!(silent, MS * 1500);
            assert!((1249..=1500).contains(&(at - freeze_at)), "{at}");
        }
    }

    #[test]
    fn an_unanswered_ping_is_also_the_deadline_of_an_answer_to_an_earlier_one() {
        let t0 = Instant::now();
        let mut w = Watch::new(t0, timing(100, 1000));
        assert_eq!(w.poll(t0), Some(Due::Ping(1)));
        w.handle_pong(t0 + MS, 1);
        assert_eq!(w.poll(t0 + MS * 100), Some(Due::Ping(2)));
        // A stale or unknown answer does not count.
        w.handle_pong(t0 + MS * 500, 1);
        w.handle_pong(t0 + MS * 500, 9);
        assert_eq!(w.poll(t0 + MS * 1000), None);
        assert_eq!(w.poll(t0 + MS * 1001), Some(Due::Hung(MS * 1000)));
    }

    #[test]
    fn the_first_answer_gets_the_start_grace() {
        let t0 = Instant::now();
        let mut w = Watch::new(t0, timing(250, 1500));
        assert_eq!(w.poll(t0), Some(Due::Ping(1)));
        assert_eq!(w.poll(t0 + START_GRACE - MS), None);
        assert_eq!(w.poll(t0 + START_GRACE), Some(Due::Hung(START_GRACE)));
    }

    #[test]
    fn a_parent_that_was_stopped_gives_its_new_ping_half_a_deadline() {
        let t0 = Instant::now();
        let mut w = Watch::new(t0, timing(250, 1500));
        assert_eq!(w.poll(t0), Some(Due::Ping(1)));
        w.handle_pong(t0, 1);
        // The parent sleeps 30 s (SIGSTOP): nothing was outstanding meanwhile.
        let back = t0 + Duration::from_secs(30);
        assert_eq!(w.poll(back), Some(Due::Ping(2)));
        assert_eq!(w.next_wakeup(), back + MS * 750);
        assert_eq!(w.poll(back + MS * 749), None);
        w.handle_pong(back + MS * 5, 2);
        assert_eq!(w.poll(back + MS * 249), None);
        assert_eq!(w.poll(back + MS * 250), Some(Due::Ping(3)));
    }

    #[test]
    fn timing_follows_the_smallest_advert_and_the_timeouts() {
        let read =
            |text: &str| keepalived_config::read_str("k.conf", text, &Default::default()).config;
        let config = read("global_defs {\n vrrp_watchdog_timeout 2\n}\n");
        let t = timing_of(Engine::Vrrp, &config, &[]).expect("on");
        assert_eq!(t, timing(500, 2000));
        let t = timing_of(Engine::Checker, &config, &[]).expect("on");
        assert_eq!(t, timing(1000, 10_000));
        let off = read("global_defs {\n vrrp_watchdog_timeout 0\n checker_watchdog_timeout 0\n}\n");
        assert_eq!(timing_of(Engine::Vrrp, &off, &[]), None);
        assert_eq!(timing_of(Engine::Checker, &off, &[]), None);
        let short = read("global_defs {\n checker_watchdog_timeout 0.2\n}\n");
        assert_eq!(
            timing_of(Engine::Checker, &short, &[]).expect("on").period,
            MS * 50
        );
    }

    #[test]
    fn the_vrrp_period_is_a_quarter_of_the_smallest_advert_within_bounds() {
        let mut facts = crate::plan::convert::IfFacts::default();
        facts
            .addrs
            .insert("eth0".into(), vec!["192.0.2.1".parse().expect("addr")]);
        let period = |adverts: &[&str]| {
            let text: String = adverts
                .iter()
                .enumerate()
                .map(|(i, a)| {
                    format!(
                        "vrrp_instance V{i} {{\n version 3\n interface eth0\n \
                         virtual_router_id {}\n advert_int {a}\n \
                         virtual_ipaddress {{\n 192.0.2.{}/24\n }}\n}}\n",
                        i + 1,
                        i + 10
                    )
                })
                .collect();
            let config = keepalived_config::read_str("k.conf", &text, &Default::default()).config;
            let plans = crate::plan::convert::plan(&config, &facts).plans;
            assert_eq!(plans.len(), adverts.len(), "{text}");
            timing_of(Engine::Vrrp, &config, &plans).expect("on").period
        };
        assert_eq!(period(&["1"]), MS * 250);
        assert_eq!(period(&["1.2"]), MS * 300);
        assert_eq!(
            period(&["3", "1.6", "2"]),
            MS * 375,
            "the smallest advert, capped"
        );
        assert_eq!(
            period(&["3", "0.4", "1"]),
            MS * 250,
            "never below the minimum"
        );
        assert_eq!(period(&["0.05"]), MS * 250);
        assert_eq!(period(&["10"]), MS * 375, "a quarter of the 1.5 s deadline");
    }

    fn timing_of(engine: Engine, config: &Config, plans: &[InstancePlan]) -> Option<Timing> {
        super::timing(engine, config, plans)
    }
}
