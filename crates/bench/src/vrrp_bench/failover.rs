//! One failover round in a two-host lab: master (priority 150) on `ha1`, backup (priority 100)
//! on `ha2`, joined by a veth; the master is frozen and the backup's takeover is timed.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lab::{Host, Lab};

use super::conf::{self, BACKUP_PRIO, Case, Impl, Instance, MASTER_PRIO};
use super::procs::{self, Daemon, NsThread};
use super::tcpdump::{self, Capture};

/// The master's interface address.
pub const MASTER_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
/// The backup's interface address.
pub const BACKUP_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
/// The virtual address.
pub const VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 100);
const VIP_CIDR: &str = "192.0.2.100/24";

/// The lab; dropping it kills what runs there and deletes the namespaces.
pub struct FailoverLab {
    master: Host,
    backup: Host,
    in_master: NsThread,
    in_backup: NsThread,
    _lab: Lab,
}

/// What one failover measured.
#[derive(Debug, Clone, Copy)]
pub struct Round {
    /// From the freeze to the VIP being present on the backup.
    pub freeze_to_vip: Duration,
    /// Last master advert to first backup advert, on the wire.
    pub wire_gap: Duration,
    /// From the master's last advert to the freeze.
    pub freeze_lag: Duration,
}

/// The configuration files of one implementation and case.
pub struct Confs {
    master: PathBuf,
    backup: PathBuf,
}

/// Writes `dir/CASE-{master,backup}.conf`.
pub fn write_confs(dir: &Path, case: Case) -> Result<Confs, String> {
    let inst = |priority, master| Instance {
        vrid: 51,
        priority,
        master,
        vips: vec![VIP_CIDR.into()],
    };
    let write = |role: &str, router: &str, i: Instance| {
        let path = dir.join(format!("{}-{role}.conf", case.name));
        std::fs::write(&path, conf::config(router, case, &[i]))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok::<_, String>(path)
    };
    Ok(Confs {
        master: write("master", "ha1", inst(MASTER_PRIO, true))?,
        backup: write("backup", "ha2", inst(BACKUP_PRIO, false))?,
    })
}

impl FailoverLab {
    /// Creates hosts `ha1` (192.0.2.1) and `ha2` (192.0.2.2) joined by `eth0`.
    pub fn new() -> Result<FailoverLab, String> {
        let e = |e: lab::LabError| e.to_string();
        let lab = Lab::new("vrbench").map_err(e)?;
        let master = lab.host("ha1").map_err(e)?;
        let backup = lab.host("ha2").map_err(e)?;
        lab.veth(&master, "eth0", &backup, "eth0").map_err(e)?;
        master.add_addr("eth0", "192.0.2.1/24").map_err(e)?;
        backup.add_addr("eth0", "192.0.2.2/24").map_err(e)?;
        Ok(FailoverLab {
            in_master: NsThread::enter(master.netns())?,
            in_backup: NsThread::enter(backup.netns())?,
            master,
            backup,
            _lab: lab,
        })
    }

    /// The master's host, e.g. to probe whether keepalived-rs runs at all.
    pub fn master_host(&self) -> &Host {
        &self.master
    }

    fn clean_vips(&self) {
        for h in [&self.master, &self.backup] {
            let _ = h.del_addr("eth0", VIP_CIDR);
        }
    }

    /// Runs one failover of `imp` (at `bin`); logs go to `dir`. `align` freezes the master
    /// right after one of its adverts was captured.
    pub fn round(
        &self,
        imp: Impl,
        bin: &Path,
        case: Case,
        confs: &Confs,
        dir: &Path,
        align: bool,
    ) -> Result<Round, String> {
        self.clean_vips();
        let res = self.round_inner(imp, bin, case, confs, dir, align);
        self.clean_vips();
        res
    }

    fn round_inner(
        &self,
        imp: Impl,
        bin: &Path,
        case: Case,
        confs: &Confs,
        dir: &Path,
        align: bool,
    ) -> Result<Round, String> {
        let tag = |role: &str| format!("{}-{}-{role}", imp.name(), case.name);
        let mut master = Daemon::start(&self.master, imp, bin, &confs.master, dir, &tag("master"))?;
        let up = self.in_master.call(|| {
            let t = Duration::from_secs(10);
            procs::poll_local(VIP, true, Instant::now(), t, Duration::from_millis(5))
        });
        if up.is_none() {
            return Err(format!(
                "master never took {VIP} (exit: {:?}; see {})",
                master.exited(),
                master.log.display()
            ));
        }
        let mut backup = Daemon::start(&self.backup, imp, bin, &confs.backup, dir, &tag("backup"))?;
        let joined = lab::wait_until(Duration::from_secs(3), Duration::from_millis(5), || {
            self.in_backup.call(|| procs::joined_vrrp_group("eth0"))
        });
        if joined.is_none() {
            eprintln!("vrrp-bench: backup did not join 224.0.0.18 on eth0 within 3 s");
        }
        std::thread::sleep((2 * case.advert()).max(Duration::from_millis(500)));
        if let Some(st) = backup.exited().or_else(|| master.exited()) {
            return Err(format!(
                "a daemon exited early ({st}); see {}",
                dir.display()
            ));
        }
        if self.in_backup.call(|| procs::is_local(VIP)) {
            return Err("the backup holds the VIP before the freeze".into());
        }

        let mut cap = Capture::start(&self.backup, "eth0")?;
        let wait = 3 * case.advert() + Duration::from_secs(2);
        cap.next_from(MASTER_IP, wait)
            .ok_or("tcpdump saw no advert from the master")?;
        if align {
            cap.next_from(MASTER_IP, wait)
                .ok_or("tcpdump saw no second advert from the master")?;
        }
        let wall = SystemTime::now();
        let t0 = master.freeze();
        let mdi = case.master_down(BACKUP_PRIO);
        let took = self.in_backup.call(move || {
            procs::poll_local(
                VIP,
                true,
                t0,
                2 * mdi + Duration::from_secs(2),
                Duration::from_millis(1),
            )
        });
        let Some(freeze_to_vip) = took else {
            return Err(format!("the backup never took {VIP}"));
        };
        let first = cap.next_from(BACKUP_IP, 2 * case.advert() + Duration::from_secs(1));
        let ads = cap.stop();
        master.kill_all();
        backup.stop(Duration::from_secs(3));
        first.ok_or("tcpdump saw no advert from the new master")?;
        let (wire_gap, last_us) = tcpdump::wire_gap(&ads, MASTER_IP, BACKUP_IP)
            .ok_or("no master/backup advert pair on the wire")?;
        let wall_us = wall
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
        let lag = u64::try_from(wall_us - last_us).unwrap_or(0);
        Ok(Round {
            freeze_to_vip,
            wire_gap,
            freeze_lag: Duration::from_micros(lag),
        })
    }
}

impl Confs {
    /// The master's configuration file.
    pub fn master_path(&self) -> &Path {
        &self.master
    }
}
