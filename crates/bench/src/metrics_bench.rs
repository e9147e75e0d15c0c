//! `metrics-bench`: the time of a Prometheus scrape of keepalived-rs running many VRRP
//! instances (issue 18: under 50 ms at 4,000), and whether scrapes change the adverts' timing.
//!
//! One lab host runs keepalived-rs with `--instances` VRRPv3 instances (200 VRIDs per veth,
//! `eth0`, `eth1`, ... towards a peer host that runs nothing), each master with one VIP, and
//! `metrics_listen 127.0.0.1:9165`. Once every instance is master (read from the metrics), a
//! thread inside the namespace times `--scrapes` scrapes one after the other (connect, GET,
//! read to the end). Then tcpdump on the peer's `eth0` records the adverts of its 200
//! instances for `--secs` seconds without scrapes and `--secs` seconds with scrapes back to
//! back, and the intervals between two adverts of one VRID are compared.

use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, TcpStream};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use lab::Lab;

use crate::vrrp_bench::conf::Impl;
use crate::vrrp_bench::procs::{Daemon, NsThread};
use crate::vrrp_bench::tcpdump::{Advert, Capture};

/// Instances per interface (VRIDs 1..=200).
const PER_LINK: usize = 200;

/// Command-line options of `metrics-bench`.
#[derive(Debug, Parser)]
#[command(
    name = "metrics-bench",
    about = "Scrape time of keepalived-rs's metrics, and the adverts' timing under scrapes"
)]
pub struct Opts {
    /// VRRP instances
    #[arg(long, default_value_t = 4000)]
    pub instances: usize,
    /// advert_int of every instance (seconds, version 3)
    #[arg(long, default_value = "1")]
    pub advert: String,
    /// Scrapes timed
    #[arg(long, default_value_t = 50)]
    pub scrapes: u32,
    /// Length of each advert capture (without, then with scrapes), in seconds
    #[arg(long, default_value_t = 20)]
    pub secs: u64,
    /// keepalived-rs binary [default: build target/release/keepalived-rs first]
    #[arg(long = "bin", value_name = "PATH")]
    pub bin: Option<PathBuf>,
}

fn conf_text(opts: &Opts, links: usize) -> String {
    let mut t =
        String::from("global_defs {\n    router_id mbench\n    metrics_listen 127.0.0.1:9165\n}\n");
    for i in 0..opts.instances {
        let (link, vrid) = (i / PER_LINK, i % PER_LINK + 1);
        let vip = Ipv4Addr::from(u32::from(Ipv4Addr::new(198, 19, 0, 0)) + i as u32 + 1);
        t.push_str(&format!(
            "vrrp_instance V{i} {{\n    state MASTER\n    interface eth{link}\n    \
             virtual_router_id {vrid}\n    priority 150\n    version 3\n    advert_int {}\n    \
             virtual_ipaddress {{\n        {vip}/32 dev eth{link}\n    }}\n}}\n",
            opts.advert
        ));
    }
    debug_assert!(links * PER_LINK >= opts.instances);
    t
}

/// One scrape from inside the namespace: its time and size.
fn scrape() -> Result<(Duration, usize), String> {
    let t0 = Instant::now();
    let mut s = TcpStream::connect("127.0.0.1:9165").map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: bench\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut body = Vec::new();
    s.read_to_end(&mut body).map_err(|e| e.to_string())?;
    let took = t0.elapsed();
    let text = String::from_utf8_lossy(&body);
    if !text.starts_with("HTTP/1.1 200") {
        return Err(text.lines().next().unwrap_or("no answer").to_owned());
    }
    Ok((took, body.len()))
}

/// How many series show an instance as master.
fn masters() -> usize {
    let Ok(mut s) = TcpStream::connect("127.0.0.1:9165") else {
        return 0;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = s.write_all(b"GET /metrics HTTP/1.1\r\n\r\n");
    let mut body = String::new();
    let _ = s.read_to_string(&mut body);
    body.lines()
        .filter(|l| l.starts_with("keepalived_vrrp_state{") && l.ends_with(" 2"))
        .count()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The intervals between two adverts of one VRID, microseconds.
fn intervals(ads: &[Advert]) -> Vec<i64> {
    let mut last = vec![None; 256];
    let mut out = Vec::new();
    for ad in ads {
        let Some(v) = ad.vrid else { continue };
        if let Some(prev) = last[usize::from(v)].replace(ad.ts_us) {
            out.push(ad.ts_us - prev);
        }
    }
    out.sort_unstable();
    out
}

fn describe(name: &str, iv: &[i64]) {
    let pick = |q: f64| {
        iv.get(((iv.len() as f64 - 1.0) * q) as usize)
            .copied()
            .unwrap_or(0)
    };
    println!(
        "adverts {name}: {} intervals, min {:.1} ms, median {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        iv.len(),
        pick(0.0) as f64 / 1e3,
        pick(0.5) as f64 / 1e3,
        pick(0.99) as f64 / 1e3,
        pick(1.0) as f64 / 1e3
    );
}

/// Entry point of the `metrics-bench` binary.
pub fn main_entry() -> ExitCode {
    let opts = Opts::parse();
    if !lab::is_root() {
        eprintln!("metrics-bench: needs root (network namespaces)");
        return ExitCode::from(2);
    }
    match run(&opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("metrics-bench: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(opts: &Opts) -> Result<(), String> {
    let bin = match &opts.bin {
        Some(b) => b.clone(),
        None => crate::build_ours("metrics-bench")?,
    };
    let dir = crate::target_dir().join("metrics-bench");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let links = opts.instances.div_ceil(PER_LINK).max(1);
    let conf = dir.join("metrics.conf");
    std::fs::write(&conf, conf_text(opts, links)).map_err(|e| e.to_string())?;
    let e = |e: lab::LabError| e.to_string();
    let lab = Lab::new("mtbench").map_err(e)?;
    let host = lab.host("a").map_err(e)?;
    let peer = lab.host("b").map_err(e)?;
    for l in 0..links {
        let ifname = format!("eth{l}");
        lab.veth(&host, &ifname, &peer, &ifname).map_err(e)?;
        host.add_addr(&ifname, &format!("198.18.{l}.1/24"))
            .map_err(e)?;
        peer.add_addr(&ifname, &format!("198.18.{l}.2/24"))
            .map_err(e)?;
    }
    host.link_set_up("lo").map_err(e)?;
    let mut daemon = Daemon::start(&host, Impl::Ours, &bin, &conf, &dir, "metrics")?;
    let ns = NsThread::enter(host.netns())?;
    let t0 = Instant::now();
    let want = opts.instances;
    loop {
        let n = ns.call(masters);
        if n >= want {
            println!(
                "{n} instances master after {:.1} s",
                t0.elapsed().as_secs_f64()
            );
            break;
        }
        if t0.elapsed() > Duration::from_secs(180) || daemon.exited().is_some() {
            return Err(format!(
                "only {n} of {want} instances master (log: {})",
                daemon.log.display()
            ));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    std::thread::sleep(Duration::from_secs(2));
    let mut times = Vec::new();
    let mut size = 0;
    for _ in 0..opts.scrapes {
        let (t, n) = ns.call(scrape)?;
        times.push(t);
        size = n;
    }
    times.sort();
    let pick = |q: f64| times[((times.len() as f64 - 1.0) * q) as usize];
    println!(
        "scrape of {want} instances ({size} bytes), {} scrapes: min {:.1} ms, median {:.1} ms, \
         p90 {:.1} ms, max {:.1} ms",
        times.len(),
        ms(pick(0.0)),
        ms(pick(0.5)),
        ms(pick(0.9)),
        ms(pick(1.0))
    );
    let window = Duration::from_secs(opts.secs);
    let cap = Capture::start(&peer, "eth0")?;
    std::thread::sleep(window);
    let quiet = intervals(&cap.stop());
    let cap = Capture::start(&peer, "eth0")?;
    let t0 = Instant::now();
    let mut n = 0u32;
    while t0.elapsed() < window {
        ns.call(scrape)?;
        n += 1;
    }
    let busy_iv = intervals(&cap.stop());
    println!("{n} scrapes back to back during the second capture");
    describe("without scrapes", &quiet);
    describe("with scrapes", &busy_iv);
    daemon.stop(Duration::from_secs(10));
    drop(lab);
    Ok(())
}
