//! The tables: failover times per implementation and case against the RFC interval, and the
//! `--scale` CPU/RSS figures.

use std::time::Duration;

use super::conf::{BACKUP_PRIO, Case, Impl};
use super::failover::Round;
use super::scale::Usage;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Median and worst (largest) of `v`.
fn med_max(mut v: Vec<Duration>) -> Option<(Duration, Duration)> {
    v.sort();
    let n = v.len();
    let med = if n % 2 == 1 {
        *v.get(n / 2)?
    } else {
        (*v.get(n / 2 - 1)? + *v.get(n / 2)?) / 2
    };
    Some((med, *v.last()?))
}

/// What one implementation did in one case.
pub struct CaseResult {
    /// The implementation.
    pub imp: Impl,
    /// Successful rounds.
    pub rounds: Vec<Round>,
    /// Failed rounds.
    pub failures: usize,
    /// Why it was not run at all, if so.
    pub unavailable: Option<String>,
}

/// Median and worst of freeze→VIP and of the wire gap.
type Figures = ((Duration, Duration), (Duration, Duration));

fn figures(r: &CaseResult) -> Option<Figures> {
    let f = med_max(r.rounds.iter().map(|x| x.freeze_to_vip).collect())?;
    let g = med_max(r.rounds.iter().map(|x| x.wire_gap).collect())?;
    Some((f, g))
}

/// Prints one case's table.
pub fn failovers(case: Case, load: bool, results: &[CaseResult]) {
    let rfc = case.master_down(BACKUP_PRIO);
    println!(
        "\ncase {} (VRRPv{}, advert_int {} ms, backup priority {BACKUP_PRIO}){}: RFC \
         Master_Down_Interval {:.3} ms",
        case.name,
        case.version,
        case.advert_ms,
        if load { ", both cores busy" } else { "" },
        ms(rfc)
    );
    println!(
        "{:<11} {:>3} {:>4} | {:>20} | {:>20} | {:>9} {:>9} | {:>8}",
        "impl",
        "ok",
        "fail",
        "freeze->VIP med/max",
        "wire gap med/max",
        "gap-RFC",
        "VIP-RFC",
        "lag med"
    );
    let pm = |d: Duration| {
        let x = ms(d) - ms(rfc);
        format!("{x:+9.3}")
    };
    for r in results {
        if let Some(why) = &r.unavailable {
            println!("{:<11} unavailable: {why}", r.imp.name());
            continue;
        }
        let Some(((fm, fx), (gm, gx))) = figures(r) else {
            println!(
                "{:<11} no successful round ({} failed)",
                r.imp.name(),
                r.failures
            );
            continue;
        };
        let lag = med_max(r.rounds.iter().map(|x| x.freeze_lag).collect()).map_or(0.0, |l| ms(l.0));
        println!(
            "{:<11} {:>3} {:>4} | {:>9.3} {:>10.3} | {:>9.3} {:>10.3} | {} {} | {lag:>8.3}",
            r.imp.name(),
            r.rounds.len(),
            r.failures,
            ms(fm),
            ms(fx),
            ms(gm),
            ms(gx),
            pm(gx),
            pm(fx)
        );
    }
    let find = |i| results.iter().find(|r| r.imp == i).and_then(figures);
    if let (Some(o), Some(k)) = (find(Impl::Ours), find(Impl::Keepalived)) {
        let ratio = |a: Duration, b: Duration| ms(a) / ms(b);
        println!(
            "ratio ours/keepalived: freeze->VIP median {:.3} worst {:.3}; wire gap median {:.3} \
             worst {:.3}",
            ratio(o.0.0, k.0.0),
            ratio(o.0.1, k.0.1),
            ratio(o.1.0, k.1.0),
            ratio(o.1.1, k.1.1)
        );
    }
    println!("(ms; gap-RFC and VIP-RFC are worst minus RFC; lag = master's last advert to freeze)");
}

/// Prints the `--scale` table.
pub fn scale(window: Duration, usage: &[Usage]) {
    println!(
        "\nscale: {} VRRPv3 instances, advert_int 0.1 s, measured over {:.1} s",
        super::scale::INSTANCES,
        window.as_secs_f64()
    );
    println!(
        "{:<11} {:<7} {:>5} | {:>14} {:>8} | {:>12} | {:>10} | {:>9}",
        "impl", "role", "procs", "window CPU ms", "% core", "total CPU ms", "VmHWM MB", "VIPs"
    );
    for u in usage {
        println!(
            "{:<11} {:<7} {:>5} | {:>14.0} {:>8.2} | {:>12.0} | {:>10.2} | {:>4}->{:<4}",
            u.imp.name(),
            u.role,
            u.procs,
            ms(u.window_cpu),
            100.0 * u.window_cpu.as_secs_f64() / window.as_secs_f64(),
            ms(u.total_cpu),
            u.hwm_kib as f64 * 1024.0 / 1e6,
            u.vips.0,
            u.vips.1
        );
    }
    println!("(VmHWM summed over the process tree; VIPs held at the start -> end of the window)");
}
