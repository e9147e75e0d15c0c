//! `watchdog-bench`: how long after its VRRP engine freezes keepalived-rs still holds the
//! master's VIP (issue 16: the parent's watchdog must release it within 2 s).
//!
//! Each round starts keepalived-rs afresh in a lab host (a fresh daemon, so the restart
//! back-off of the previous round never delays anything), waits until its one instance
//! (`version 3`, `--advert`) holds the VIP, SIGSTOPs the VRRP engine alone (its pid from the
//! `-r` file; the parent runs on) and measures, from a thread inside the namespace that probes
//! the address by binding to it every 0.5 ms, the time until the VIP is gone. Prints each round,
//! then the median and the worst. The heartbeat's CPU cost at 200 instances is `vrrp-bench
//! --scale` with and without `--watchdog-off`.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use lab::Lab;

use crate::vrrp_bench::conf::Impl;
use crate::vrrp_bench::procs::{Daemon, NsThread, is_local, poll_local};

const VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 100);

/// Command-line options of `watchdog-bench`.
#[derive(Debug, Parser)]
#[command(
    name = "watchdog-bench",
    about = "Freeze of the VRRP engine to release of its VIP"
)]
pub struct Opts {
    /// Rounds
    #[arg(long, default_value_t = 20)]
    pub rounds: u32,
    /// advert_int of the instance (seconds, version 3)
    #[arg(long, default_value = "1")]
    pub advert: String,
    /// keepalived-rs binary [default: build target/release/keepalived-rs first]
    #[arg(long = "bin", value_name = "PATH")]
    pub bin: Option<PathBuf>,
}

fn conf(advert: &str) -> String {
    format!(
        "global_defs {{\n    router_id wd\n}}\nvrrp_instance VI_1 {{\n    state BACKUP\n    \
         interface eth0\n    virtual_router_id 51\n    priority 150\n    version 3\n    \
         advert_int {advert}\n    virtual_ipaddress {{\n        {VIP}/24 dev eth0\n    }}\n}}\n"
    )
}

fn read_pid(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// One round: the time from the freeze to the VIP gone.
fn round(host: &lab::Host, bin: &Path, conf: &Path, dir: &Path) -> Result<Duration, String> {
    let probe = NsThread::enter(host.netns())?;
    let mut d = Daemon::start(host, Impl::Ours, bin, conf, dir, "watchdog")?;
    let master = probe.call(|| {
        poll_local(
            VIP,
            true,
            Instant::now(),
            Duration::from_secs(20),
            Duration::from_millis(5),
        )
    });
    if master.is_none() {
        d.kill_all();
        return Err("never master".into());
    }
    // Well inside the master state: its first adverts and ARPs are out.
    std::thread::sleep(Duration::from_millis(300));
    let pid = read_pid(&dir.join("watchdog.vrrp.pid")).ok_or("no VRRP engine pid")?;
    let t0 = Instant::now();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(pid).map_err(|e| e.to_string())?),
        nix::sys::signal::Signal::SIGSTOP,
    )
    .map_err(|e| e.to_string())?;
    let gone = probe.call(move || {
        poll_local(
            VIP,
            false,
            t0,
            Duration::from_secs(10),
            Duration::from_micros(500),
        )
    });
    d.stop(Duration::from_secs(5));
    let _ = probe.call(|| is_local(VIP));
    gone.ok_or_else(|| "VIP still held 10 s after the freeze".to_owned())
}

/// Entry point of the `watchdog-bench` binary.
pub fn main_entry() -> ExitCode {
    let opts = Opts::parse();
    if !lab::is_root() {
        eprintln!("watchdog-bench: needs root (network namespaces)");
        return ExitCode::from(2);
    }
    match run(&opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("watchdog-bench: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(opts: &Opts) -> Result<(), String> {
    let bin = match &opts.bin {
        Some(b) => b.clone(),
        None => crate::build_ours("watchdog-bench")?,
    };
    let dir = crate::target_dir().join("watchdog-bench");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let conf = dir.join("watchdog.conf");
    std::fs::write(&conf, conf_text(opts)).map_err(|e| e.to_string())?;
    let e = |e: lab::LabError| e.to_string();
    let lab = Lab::new("wdbench").map_err(e)?;
    let host = lab.host("a").map_err(e)?;
    let peer = lab.host("b").map_err(e)?;
    lab.veth(&host, "eth0", &peer, "eth0").map_err(e)?;
    host.add_addr("eth0", "192.0.2.1/24").map_err(e)?;
    let mut times = Vec::new();
    for n in 1..=opts.rounds {
        match round(&host, &bin, &conf, &dir) {
            Ok(t) => {
                println!(
                    "round {n}: freeze -> VIP gone {:.1} ms",
                    t.as_secs_f64() * 1e3
                );
                times.push(t);
            }
            Err(err) => println!("round {n}: failed: {err}"),
        }
    }
    times.sort();
    let Some(worst) = times.last() else {
        return Err("no round completed".into());
    };
    let median = times[times.len() / 2];
    println!(
        "advert_int {}: {} rounds, freeze -> VIP gone: median {:.1} ms, best {:.1} ms, worst {:.1} ms",
        opts.advert,
        times.len(),
        median.as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
        worst.as_secs_f64() * 1e3
    );
    Ok(())
}

fn conf_text(opts: &Opts) -> String {
    conf(&opts.advert)
}
