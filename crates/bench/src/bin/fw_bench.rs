//! `fw-bench`: the accept-mode firewall's cost per VRRP transition, with keepalived-rs's own
//! nf_tables client (`keepalived_net::nft::VrrpFirewall`) against the real kernel, inside a
//! throwaway network namespace. Run as root:
//!
//! `cargo run --release -p keepalived-bench --bin fw-bench [-- --instances 4000 --rounds 200]`
//!
//! 1. The first transition of an instance with 100 addresses (it creates the tables).
//! 2. `--rounds` transitions of that instance into MASTER and out (100 addresses in one batch
//!    each way) while the sets hold nothing else.
//! 3. `--instances` instances with one address each become master one after another (the
//!    sets fill up: each is one batch); the first and last hundred are reported apart.
//! 4. The 100-address transitions of step 2 again, with those addresses in the sets.
//! 5. The tables and all `--instances` addresses in one batch (what a rebuild after a refused
//!    batch sends).
//!
//! Each line gives the messages per batch and the median, 99th percentile and worst time of
//! one batch (send to the kernel's last acknowledgement).

use std::net::{IpAddr, Ipv4Addr};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use keepalived_bench::netns::Netns;
use keepalived_net::nft::{FirewallConfig, FwAddr, VrrpFirewall};

fn main() -> ExitCode {
    let mut instances = 4000usize;
    let mut rounds = 200usize;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let value = it.next().and_then(|v| v.parse().ok());
        match (a.as_str(), value) {
            ("--instances", Some(v)) => instances = v,
            ("--rounds", Some(v)) => rounds = v,
            _ => {
                eprintln!("usage: fw-bench [--instances N] [--rounds N]");
                return ExitCode::from(2);
            }
        }
    }
    let ns = match Netns::create() {
        Ok(ns) => ns,
        Err(e) => {
            eprintln!("fw-bench: network namespace: {e} (run as root)");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = keepalived_net::enter_netns(ns.name()) {
        eprintln!("fw-bench: entering {}: {e}", ns.name());
        return ExitCode::FAILURE;
    }
    match run(instances, rounds) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fw-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Address `i` of 198.18.0.0/15.
fn addr(i: usize) -> FwAddr {
    let i = u32::try_from(i).unwrap_or(0);
    FwAddr::Ip(IpAddr::V4(Ipv4Addr::from(0xc612_0000 + i)))
}

fn run(instances: usize, rounds: usize) -> Result<(), String> {
    let mut fw = VrrpFirewall::new(FirewallConfig {
        table: "keepalived".to_owned(),
        priority: -1,
        counters: false,
    });
    let hundred: Vec<FwAddr> = (0..100).map(addr).collect();
    let t = Instant::now();
    let n = fw.add(&hundred).map_err(|e| e.to_string())?;
    report(
        "first MASTER, 100 addresses (creates the tables)",
        n,
        &[t.elapsed()],
    );
    fw.remove(&hundred).map_err(|e| e.to_string())?;

    transitions(&mut fw, &hundred, rounds, "empty sets")?;

    let mut each = Vec::with_capacity(instances);
    for i in 0..instances {
        let one = [addr(1000 + i)];
        let t = Instant::now();
        fw.add(&one).map_err(|e| e.to_string())?;
        each.push(t.elapsed());
    }
    let k = each.len().min(100);
    report(
        &format!("instances 1-{k} MASTER, 1 address each"),
        1,
        &each[..k],
    );
    report(
        &format!(
            "instances {}-{instances} MASTER, 1 address each",
            instances - k + 1
        ),
        1,
        &each[each.len() - k..],
    );
    transitions(
        &mut fw,
        &hundred,
        rounds,
        &format!("{instances} other addresses in the set"),
    )?;
    fw.remove_tables().map_err(|e| e.to_string())?;

    // The rebuild after a refused batch: every address in one batch (tables created too).
    let all: Vec<FwAddr> = (0..instances).map(|i| addr(1000 + i)).collect();
    let t = Instant::now();
    let n = fw.add(&all).map_err(|e| e.to_string())?;
    report(
        &format!("tables and all {instances} addresses in one batch (a rebuild)"),
        n,
        &[t.elapsed()],
    );
    fw.remove_tables().map_err(|e| e.to_string())
}

/// `rounds` times: the 100 addresses in (one batch), then out (one batch).
fn transitions(
    fw: &mut VrrpFirewall,
    addrs: &[FwAddr],
    rounds: usize,
    what: &str,
) -> Result<(), String> {
    let (mut ins, mut outs) = (Vec::new(), Vec::new());
    let mut msgs = (0, 0);
    for _ in 0..rounds {
        let t = Instant::now();
        msgs.0 = fw.add(addrs).map_err(|e| e.to_string())?;
        ins.push(t.elapsed());
        let t = Instant::now();
        msgs.1 = fw.remove(addrs).map_err(|e| e.to_string())?;
        outs.push(t.elapsed());
    }
    report(&format!("MASTER, 100 addresses, {what}"), msgs.0, &ins);
    report(
        &format!("leave MASTER, 100 addresses, {what}"),
        msgs.1,
        &outs,
    );
    Ok(())
}

fn report(what: &str, messages: usize, times: &[Duration]) {
    let mut v: Vec<Duration> = times.to_vec();
    v.sort();
    let at = |q: f64| {
        let i = ((v.len() as f64 - 1.0) * q).round() as usize;
        v.get(i).copied().unwrap_or_default()
    };
    println!(
        "{what}: {} batches of {messages} message(s): median {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        v.len(),
        ms(at(0.5)),
        ms(at(0.99)),
        ms(at(1.0)),
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
