//! The results table and the target checks.

use std::time::Duration;

use crate::measure::Summary;
use crate::{TARGET_LVS_MS, TARGET_RSS_MB};

/// One benchmarked file and what each binary did with it.
pub(crate) struct Row {
    /// Short name of the generated file.
    pub(crate) name: &'static str,
    /// Its number of lines.
    pub(crate) lines: usize,
    /// keepalived-rs's figures.
    pub(crate) ours: Summary,
    /// keepalived's figures, when it was run.
    pub(crate) theirs: Option<Summary>,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn mb(kib: u64) -> f64 {
    kib as f64 * 1024.0 / 1e6
}

/// Prints the table and the target checks; returns whether every target was met.
pub(crate) fn report(rows: &[Row], runs: u32) -> bool {
    println!(
        "\n{runs} timed runs per binary and file (after a warm-up); wall ms median/min, CPU ms median"
    );
    let side = |who| format!("{who:>15} {:>7} {:>7} {:>4}", "cpu ms", "RSS MB", "exit");
    let (ours, theirs) = (side("ours ms"), side("keepalived ms"));
    println!(
        "{:<12} {:>7} | {ours} | {theirs} | {:>6}",
        "file", "lines", "ratio"
    );
    for r in rows {
        let o = &r.ours;
        let theirs = r.theirs.map_or_else(
            || format!("{:>15} {:>7} {:>7} {:>4} | {:>6}", "-", "-", "-", "-", "-"),
            |t| {
                let ratio = ms(o.median) / ms(t.median);
                format!(
                    "{:>15} {:>7.1} {:>7.1} {:>4} | {:>5.2}x",
                    format!("{:.1}/{:.1}", ms(t.median), ms(t.min)),
                    ms(t.cpu),
                    mb(t.max_rss_kib),
                    t.code,
                    ratio
                )
            },
        );
        println!(
            "{:<12} {:>7} | {:>15} {:>7.1} {:>7.1} {:>4} | {theirs}",
            r.name,
            r.lines,
            format!("{:.1}/{:.1}", ms(o.median), ms(o.min)),
            ms(o.cpu),
            mb(o.max_rss_kib),
            o.code
        );
    }
    println!("(ratio = ours median / keepalived median; RSS = peak resident set, 10^6 bytes)\n");

    let mut all = true;
    let mut target = |what: String, ok: bool| {
        println!("{} {what}", if ok { "PASS" } else { "FAIL" });
        all &= ok;
    };
    for r in rows {
        target(
            format!("{}: keepalived-rs -t exits 0 (got {})", r.name, r.ours.code),
            r.ours.code == 0,
        );
        if r.name.starts_with("lvs") {
            let t = ms(r.ours.median);
            target(
                format!("{}: median {t:.1} ms < {TARGET_LVS_MS} ms", r.name),
                t < TARGET_LVS_MS,
            );
        }
        let m = mb(r.ours.max_rss_kib);
        target(
            format!("{}: peak RSS {m:.1} MB < {TARGET_RSS_MB} MB", r.name),
            m < TARGET_RSS_MB,
        );
    }
    all
}
