//! An independent statement of RFC 9568 §6.4.2 / §6.4.3 (RFC 3768 for v2): what an accepted
//! advert must do to a Backup or a Master, checked against the engine after each one.

use core::net::IpAddr;

use keepalived_vrrp::timer::Timer;
use keepalived_vrrp::timing::{master_down_interval, skew_time};
use keepalived_vrrp::{Action, Instance, Instant, Repr, State, Version};

/// What the instance looked like before the advert.
#[derive(Clone, Copy, Debug)]
pub struct Before {
    state: State,
    priority: u8,
    master_down: Option<Instant>,
}

impl Before {
    /// Records `inst` before an advert.
    pub fn of(inst: &Instance) -> Self {
        Before {
            state: inst.state(),
            priority: inst.priority(),
            master_down: inst.timer(Timer::MasterDown),
        }
    }
}

/// Checks the reaction to `repr`, accepted from `src` at `now` (the caller only calls this when
/// the router returned `Ok`). Applies only when the rules are unambiguous: the instance was Backup
/// or Master, the sender is not ourselves, and no `preempt_delay` is configured.
pub fn check(
    before: Before,
    inst: &Instance,
    actions: &[Action],
    src: IpAddr,
    repr: &Repr,
    now: Instant,
) -> Result<(), String> {
    let cfg = inst.config();
    if src == cfg.primary_addr || !cfg.preempt_delay.is_zero() {
        return Ok(());
    }
    let ours = before.priority;
    let theirs = repr.priority;
    let learned = match cfg.version {
        Version::V3 => repr.adver_int,
        Version::V2 => cfg.adver_int,
    };
    let mdi = master_down_interval(cfg.version, ours, learned, cfg.down_timer_adverts);
    let sent = actions
        .iter()
        .any(|a| matches!(a, Action::SendAdvert { repr, .. } if repr.priority == ours));
    let state = inst.state();
    let md = inst.timer(Timer::MasterDown);
    let expect = |ok: bool, what: &str| {
        if ok {
            Ok(())
        } else {
            Err(format!(
                "{} priority {ours} got priority {theirs} from {src}: expected {what}; now {state}, \
                 Master_Down_Timer {md:?}, actions {actions:?}",
                before.state
            ))
        }
    };
    match before.state {
        State::Backup if theirs == 0 => {
            // §6.4.2 (610): Master_Down_Timer = Skew_Time (with the current interval).
            let skew = skew_time(cfg.version, ours, inst.master_adver_int());
            expect(
                state == State::Backup && md == Some(now + skew),
                "Backup, timer at Skew_Time",
            )
        }
        State::Backup if !cfg.preempt || theirs >= ours => expect(
            state == State::Backup && md == Some(now + mdi),
            "Backup, timer reset to Master_Down_Interval",
        ),
        State::Backup => expect(
            state == State::Backup && md == before.master_down,
            "the advert discarded (timer unchanged)",
        ),
        State::Master if theirs == 0 => expect(
            state == State::Master && sent,
            "Master answering with an advert",
        ),
        State::Master if theirs > ours || (theirs == ours && src > cfg.primary_addr) => expect(
            state == State::Backup && md == Some(now + mdi) && actions.contains(&Action::DelVips),
            "Backup, VIPs released, timer at Master_Down_Interval",
        ),
        State::Master => expect(state == State::Master, "still Master"),
        _ => Ok(()),
    }
}
