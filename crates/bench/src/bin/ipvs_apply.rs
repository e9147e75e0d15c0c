//! `ipvs-apply CONFIG...`: programs the kernel's IPVS from keepalived configurations with the
//! reconciler keepalived-rs uses (desired table, smallest diff against what the kernel holds,
//! batched generic netlink requests), every real server taken as healthy. Each further
//! configuration is applied as a reload of the previous one. One line per configuration:
//!
//! `step=1 services=1000 dests=10000 changes=11000 messages=11000 read_us=.. plan_us=.. diff_us=..
//! apply_us=.. checker_us=..` (`checker_us`: the checker plan and engine start or reload, the
//! rest of what a reload of the checker process costs).
//!
//! `ipvs-apply --dry CONFIG...` does the same without a kernel (the model table only).
//!
//! `ipvs-apply --time INPUT CMD ARGS...` runs `CMD` with `INPUT` as its stdin and prints
//! `exec_us=..` (its wall time): the reference measurements of `ipvs-bench`, taken with the
//! same clock.
//!
//! Used inside the IPVS VM by the reload test and by `ipvs-bench` (the host has no IPVS).

use std::process::ExitCode;
use std::time::Instant;

use keepalived_checker::logic::{CheckerEngine, plan};
use keepalived_config::{PreprocessOptions, Severity};
use keepalived_lb::diff::{Owned, apply, diff};
use keepalived_lb::table::desired;

fn main() -> ExitCode {
    let files: Vec<String> = std::env::args().skip(1).collect();
    if files.is_empty() {
        eprintln!("usage: ipvs-apply CONFIG...");
        return ExitCode::from(2);
    }
    if files.first().map(String::as_str) == Some("--time") {
        return time(files.get(1..).unwrap_or_default());
    }
    // --dry: no kernel; the changes are applied to the model table only (timing the reconciler
    // alone, e.g. on a host without IPVS).
    let dry = files.first().map(String::as_str) == Some("--dry");
    let files = &files[usize::from(dry)..];
    let mut ipvs = if dry {
        None
    } else {
        match keepalived_net::Ipvs::open() {
            Ok(i) => Some(i),
            Err(e) => {
                eprintln!("ipvs-apply: {e}");
                return ExitCode::FAILURE;
            }
        }
    };
    let mut kernel = match ipvs.as_mut().map(keepalived_net::Ipvs::read_table) {
        None => Default::default(),
        Some(Ok(t)) => t,
        Some(Err(e)) => {
            eprintln!("ipvs-apply: reading the table: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut owned = Owned::default();
    let mut quorum = Vec::new();
    let mut engine: Option<CheckerEngine> = None;
    let mut failed = false;
    for (step, file) in (1u64..).zip(files) {
        let t0 = Instant::now();
        let read =
            keepalived_config::read_file(std::path::Path::new(file), &PreprocessOptions::default());
        let errors = read
            .diagnostics
            .items()
            .iter()
            .filter(|d| d.severity >= Severity::Error)
            .count();
        if errors > 0 {
            eprintln!("ipvs-apply: {file}: {errors} configuration errors");
            return ExitCode::FAILURE;
        }
        let t1 = Instant::now();
        let want = desired(&read.config, &|_, _| None, &mut quorum);
        if step == 1 {
            owned.adopt(&kernel, &want);
        }
        let td = Instant::now();
        let changes = diff(&kernel, &want, &owned);
        let t2 = Instant::now();
        let before = ipvs.as_ref().map_or(0, keepalived_net::Ipvs::messages_sent);
        let count = changes.len();
        let applied = match ipvs.as_mut() {
            Some(ipvs) => ipvs.apply(changes),
            None => keepalived_net::Applied {
                done: changes,
                errors: Vec::new(),
            },
        };
        let t3 = Instant::now();
        for e in &applied.errors {
            eprintln!("ipvs-apply: {e}");
            failed = true;
        }
        apply(&mut kernel, &applied.done);
        owned.apply(&applied.done);
        // What the checker process adds to a reload: the check plan, and the engine taking it
        // (kept states matched, new checks scheduled).
        let t4 = Instant::now();
        let plan = plan(&read.config);
        let now = keepalived_checker::logic::Instant::from_millis(step * 1000);
        match engine.as_mut() {
            Some(e) => {
                let _ = e.reload(now, plan);
            }
            None => {
                let mut e = CheckerEngine::new(plan, 1);
                e.handle_start(now);
                engine = Some(e);
            }
        }
        while engine
            .as_mut()
            .and_then(CheckerEngine::poll_action)
            .is_some()
        {}
        let checker_us = t4.elapsed().as_micros();
        let dests: usize = want.values().map(|e| e.dests.len()).sum();
        println!(
            "step={step} services={} dests={dests} changes={count} messages={} read_us={} plan_us={} diff_us={} apply_us={} checker_us={checker_us}",
            want.len(),
            ipvs.as_ref().map_or(0, keepalived_net::Ipvs::messages_sent) - before,
            (t1 - t0).as_micros(),
            (t2 - t1).as_micros(),
            (t2 - td).as_micros(),
            (t3 - t2).as_micros(),
        );
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// `--time INPUT CMD ARGS...`.
fn time(args: &[String]) -> ExitCode {
    let [input, cmd, rest @ ..] = args else {
        eprintln!("usage: ipvs-apply --time INPUT CMD [ARGS...]");
        return ExitCode::from(2);
    };
    let stdin = match std::fs::File::open(input) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("ipvs-apply: {input}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let t0 = Instant::now();
    let status = std::process::Command::new(cmd)
        .args(rest)
        .stdin(stdin)
        .status();
    let us = t0.elapsed().as_micros();
    match status {
        Ok(s) if s.success() => {
            println!("exec_us={us}");
            ExitCode::SUCCESS
        }
        Ok(s) => {
            eprintln!("ipvs-apply: {cmd}: {s}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("ipvs-apply: {cmd}: {e}");
            ExitCode::FAILURE
        }
    }
}
