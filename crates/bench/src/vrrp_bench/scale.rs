//! `--scale`: one process running 200 VRRPv3 instances at `advert_int 0.1` (VRIDs 1..200 on
//! one interface), with a backup peer running the same instances at a lower priority, per
//! implementation in its own pair of namespaces; all pairs run at the same time. Reports the
//! CPU time over the measuring window and the peak RSS of each process tree.

use std::net::Ipv4Addr;
use std::path::Path;
use std::time::{Duration, Instant};

use lab::{Host, Lab};

use super::conf::{self, Case, Impl, Instance};
use super::procs::{self, Daemon};

/// Number of instances.
pub const INSTANCES: u8 = 200;
const CASE: Case = Case {
    name: "scale",
    version: 3,
    advert_ms: 100,
};

fn vip(vrid: u8) -> String {
    format!("{}/32", Ipv4Addr::new(198, 51, 100, vrid))
}

fn write_conf(
    dir: &Path,
    role: &str,
    priority: u8,
    master: bool,
    imp: Impl,
    watchdog_off: bool,
) -> Result<String, String> {
    let instances: Vec<Instance> = (1..=INSTANCES)
        .map(|vrid| Instance {
            vrid,
            priority,
            master,
            vips: vec![vip(vrid)],
        })
        .collect();
    let path = dir.join(format!("scale-{}-{role}.conf", imp.name()));
    let mut text = conf::config(role, CASE, &instances);
    if watchdog_off && imp == Impl::Ours {
        // A second global_defs block adds to the first (keepalived-rs only knows the keyword).
        text.push_str("global_defs {\n    vrrp_watchdog_timeout 0\n}\n");
    }
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path.to_string_lossy().into_owned())
}

fn vip_count(h: &Host) -> usize {
    h.addrs("eth0")
        .map(|a| {
            a.iter()
                .filter(|(ip, _)| ip.to_string().starts_with("198.51.100."))
                .count()
        })
        .unwrap_or(0)
}

/// Waits up to 30 s for the master on `host` to hold every VIP.
fn wait_vips(imp: Impl, host: &Host) {
    let want = usize::from(INSTANCES);
    let ok = lab::wait_until(Duration::from_secs(30), Duration::from_millis(100), || {
        vip_count(host) >= want || super::interrupted()
    });
    if ok.is_none() {
        eprintln!(
            "vrrp-bench: {} master holds only {} of {want} VIPs after 30 s",
            imp.name(),
            vip_count(host)
        );
    }
}

/// The figures of one process tree.
#[derive(Debug)]
pub struct Usage {
    /// Implementation.
    pub imp: Impl,
    /// `master` or `backup`.
    pub role: &'static str,
    /// Number of processes in the tree.
    pub procs: usize,
    /// CPU time over the measuring window.
    pub window_cpu: Duration,
    /// CPU time since start-up.
    pub total_cpu: Duration,
    /// Sum of the processes' VmHWM, KiB.
    pub hwm_kib: u64,
    /// VIPs the host held at the start and at the end of the window.
    pub vips: (usize, usize),
}

struct Side {
    imp: Impl,
    role: &'static str,
    host: Host,
    daemon: Daemon,
}

/// Runs the scale benchmark for `impls` for `secs` seconds; files go to `dir`.
pub fn run(
    impls: &[(Impl, &Path)],
    secs: u64,
    watchdog_off: bool,
    dir: &Path,
) -> Result<(Duration, Vec<Usage>), String> {
    let e = |e: lab::LabError| e.to_string();
    let lab = Lab::new("vrbscale").map_err(e)?;
    let mut sides = Vec::new();
    for (imp, bin) in impls {
        let confs = [
            (
                "master",
                write_conf(dir, "master", 150, true, *imp, watchdog_off)?,
            ),
            (
                "backup",
                write_conf(dir, "backup", 100, false, *imp, watchdog_off)?,
            ),
        ];
        let a = lab.host(&format!("{}-a", imp.name())).map_err(e)?;
        let b = lab.host(&format!("{}-b", imp.name())).map_err(e)?;
        lab.veth(&a, "eth0", &b, "eth0").map_err(e)?;
        a.add_addr("eth0", "192.0.2.1/24").map_err(e)?;
        b.add_addr("eth0", "192.0.2.2/24").map_err(e)?;
        // The master first, and the backup once the master holds every VIP: started together,
        // the backups time out before the masters' first adverts and the pair may keep flapping.
        for ((role, conf), host) in confs.iter().zip([a, b]) {
            let tag = format!("{}-scale-{role}", imp.name());
            let daemon = Daemon::start(&host, *imp, bin, Path::new(conf), dir, &tag)?;
            if *role == "master" {
                wait_vips(*imp, &host);
            }
            sides.push(Side {
                imp: *imp,
                role,
                host,
                daemon,
            });
        }
    }
    // Let start-up transients pass (keepalived repeats its gratuitous ARPs 5 s after a
    // transition to master: vrrp_garp_master_delay).
    std::thread::sleep(Duration::from_secs(6));
    let start: Vec<(Duration, usize)> = sides
        .iter()
        .map(|s| {
            (
                procs::cpu_time(&procs::tree(s.daemon.pid())),
                vip_count(&s.host),
            )
        })
        .collect();
    let t0 = Instant::now();
    let window = Duration::from_secs(secs);
    while t0.elapsed() < window && !super::interrupted() {
        std::thread::sleep(Duration::from_millis(200));
    }
    let window = t0.elapsed();
    let mut out = Vec::new();
    for (s, (cpu0, vips0)) in sides.iter_mut().zip(start) {
        if let Some(st) = s.daemon.exited() {
            eprintln!(
                "vrrp-bench: {} {} exited early ({st})",
                s.imp.name(),
                s.role
            );
        }
        let pids = procs::tree(s.daemon.pid());
        let total = procs::cpu_time(&pids);
        out.push(Usage {
            imp: s.imp,
            role: s.role,
            procs: pids.len(),
            window_cpu: total.saturating_sub(cpu0),
            total_cpu: total,
            hwm_kib: procs::hwm_kib(&pids).iter().sum(),
            vips: (vips0, vip_count(&s.host)),
        });
    }
    // Backups first, so that they do not take over from stopping masters.
    for s in sides.iter_mut().rev() {
        s.daemon.stop(Duration::from_secs(5));
    }
    drop(sides);
    drop(lab);
    Ok((window, out))
}
