//! The tracking matrix of issue 14: every tracker kind (`vrrp_script`, `track_interface`,
//! `track_file`, `vrrp_track_process`) with weight 0 and with a weight, starting healthy and
//! starting unhealthy (and with `init_fail` for scripts), each case on a lone router in a
//! namespace of its own. A case starts the daemon, then turns the tracked object's health
//! over twice; after each step it waits for what keepalived shows: whether the VIP is held,
//! the notify FIFO's lines (`INSTANCE "VI_1" MASTER 100`) and the log lines keepalived prints
//! for that tracker, in order. The expectations are keepalived's: the same cases run with
//! Debian's keepalived 2.2.7 (`*_keepalived_reference`), so a wrong expectation fails there;
//! Debian's build has no `vrrp_track_process`, so the process cases run with keepalived-rs
//! only, their expectations read from keepalived's source. Cases of one test run
//! concurrently. Last, a sync group whose member tracks an unweighted script, with both.
//! Needs root (skips otherwise). Documentation addresses only.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::support::files::{fifo_reader, script, script_dir};
use crate::support::{Impl, Router, VIP4, skip_reason_for};
use lab::{Host, Lab, LabChild};

const POLL: Duration = Duration::from_millis(25);

/// Numbers the cases of this test binary (their directories, process names and routers).
static CASES: AtomicUsize = AtomicUsize::new(0);

/// The tracker kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `vrrp_script chk` (interval 1, rise 1, fall 2: the snippet).
    Script { init_fail: bool },
    /// `track_interface { trk0 }`.
    Interface,
    /// `track_file tf` holding 0 (healthy) or 1.
    File,
    /// `vrrp_track_process tp`: a process running (healthy) or not.
    Process,
}

/// One case: a tracker kind, its weight (0, or -10 / +10) and its health at start.
#[derive(Debug, Clone, Copy)]
struct Case {
    kind: Kind,
    weight: i32,
    healthy: bool,
}

impl Case {
    fn tag(&self) -> String {
        let kind = match self.kind {
            Kind::Script { init_fail: false } => "script",
            Kind::Script { init_fail: true } => "script-init_fail",
            Kind::Interface => "interface",
            Kind::File => "file",
            Kind::Process => "process",
        };
        let health = if self.healthy { "healthy" } else { "unhealthy" };
        format!("{kind} weight {} starting {health}", self.weight)
    }

    /// The weight used for the weighted cases: processes add while up, the others subtract
    /// while down (files: the value 1 times the weight).
    fn weighted(kind: Kind) -> i32 {
        if kind == Kind::Process { 10 } else { -10 }
    }

    /// The four (weight × start) cases of `kind`.
    fn all(kind: Kind) -> Vec<Case> {
        let mut out = Vec::new();
        for weight in [0, Case::weighted(kind)] {
            for healthy in [true, false] {
                out.push(Case {
                    kind,
                    weight,
                    healthy,
                });
            }
        }
        out
    }
}

/// What one phase must end with: the VIP held or not, the FIFO lines this phase adds, and
/// the log lines (substrings, in order, after the previous phase's) it adds.
#[derive(Debug, Clone, Default)]
struct Phase {
    master: bool,
    fifo: Vec<String>,
    log: Vec<String>,
}

/// The FIFO line keepalived writes for a state and effective priority.
fn fifo(state: &str, prio: u8) -> String {
    format!("INSTANCE \"VI_1\" {state} {prio}")
}

/// keepalived's log lines for the tracker turning healthy (`up`) or unhealthy after the start.
fn tracker_lines(case: Case, up: bool) -> Vec<String> {
    let v = |s: &[&str]| s.iter().map(|l| (*l).to_owned()).collect();
    match (case.kind, up) {
        (Kind::Script { .. }, true) => {
            v(&["Script `chk` now returning 0", "VRRP_Script(chk) succeeded"])
        }
        (Kind::Script { .. }, false) => v(&[
            "Script `chk` now returning 1",
            "VRRP_Script(chk) failed (exited with status 1)",
        ]),
        (Kind::Interface, true) => v(&["Netlink reports trk0 up"]),
        (Kind::Interface, false) => v(&["Netlink reports trk0 down"]),
        // Logged for weight 0 only (keepalived's detailed log, -D).
        (Kind::File, _) if case.weight != 0 => Vec::new(),
        (Kind::File, true) => v(&["(VI_1): tracked file tf leaving FAULT state"]),
        (Kind::File, false) => v(&["(VI_1): tracked file tf now FAULT state"]),
        (Kind::Process, true) => v(&["Quorum gained for tracked process tp"]),
        (Kind::Process, false) => v(&["Quorum lost for tracked process tp"]),
    }
}

/// keepalived's log lines for an instance put in FAULT at start by the tracker (weight 0).
fn initial_fault_lines(kind: Kind) -> Vec<String> {
    let first = match kind {
        // A script's first failure: logged as a result; the instance goes from INIT to FAULT
        // without a line of its own.
        Kind::Script { init_fail: false } => {
            return vec![
                "Script `chk` now returning 1".into(),
                "VRRP_Script(chk) failed (exited with status 1)".into(),
            ];
        }
        Kind::Script { init_fail: true } => "(VI_1): entering FAULT state due to script chk",
        Kind::Interface => "(VI_1): entering FAULT state (interface trk0 down)",
        Kind::File => "(VI_1): entering FAULT state (tracked file tf has status -254)",
        Kind::Process => "(VI_1) entering FAULT state (tracked process tp quorum not achieved)",
    };
    vec![first.into(), "(VI_1) entering FAULT state".into()]
}

/// The three phases `imp` goes through for `case`: start, health turned over, turned back.
///
/// One divergence, on purpose: keepalived (2.2.7 to 2.4.x) resets a script's initial state
/// when an instance or group tracks it, so `init_fail` never has an effect there; keepalived-rs
/// does what keepalived.conf(5) says (the script starts failed and needs `rise` successes),
/// logging what keepalived's own code for that state logs. The reference runs pin both.
fn expect(imp: Impl, mut case: Case) -> [Phase; 3] {
    if imp == Impl::Keepalived {
        case.kind = match case.kind {
            Kind::Script { .. } => Kind::Script { init_fail: false },
            k => k,
        };
    }
    let base: u8 = 100;
    let healths = [case.healthy, !case.healthy, case.healthy];
    let mut phases: [Phase; 3] = Default::default();
    let init_fail = case.kind == Kind::Script { init_fail: true };
    if case.weight == 0 {
        for (i, &up) in healths.iter().enumerate() {
            let p = &mut phases[i];
            p.master = up;
            if i > 0 {
                p.log.extend(tracker_lines(case, up));
            } else if !up {
                p.log.extend(initial_fault_lines(case.kind));
            } else if init_fail {
                p.log.extend(initial_fault_lines(case.kind));
                p.log.push("VRRP_Script(chk) succeeded".into());
            } else if let Kind::Script { .. } = case.kind {
                p.log.push("VRRP_Script(chk) succeeded".into());
            }
            if up {
                if i == 0 && init_fail {
                    p.fifo.push(fifo("FAULT", base));
                }
                p.fifo.push(fifo("BACKUP", base));
                p.fifo.push(fifo("MASTER", base));
                p.log.push("(VI_1) Entering MASTER STATE".into());
            } else {
                p.fifo.push(fifo("FAULT", base));
                if i > 0 {
                    p.log.push("(VI_1) Entering FAULT STATE".into());
                }
            }
        }
        return phases;
    }
    // Weighted: always MASTER (alone), the priority moves by the weight.
    let prio = |up: bool| -> u8 {
        let adjust = match (case.weight > 0, up) {
            (true, true) | (false, false) => case.weight,
            _ => 0,
        };
        u8::try_from(i32::from(base) + adjust).unwrap_or(base)
    };
    let changing =
        |from: u8, to: u8| format!("(VI_1) Changing effective priority from {from} to {to}");
    for (i, &up) in healths.iter().enumerate() {
        let p = &mut phases[i];
        p.master = true;
        if i > 0 {
            p.log.extend(tracker_lines(case, up));
            p.log.push(changing(prio(!up), prio(up)));
            continue;
        }
        // At start: a script without init_fail adjusts nothing until its first result;
        // init_fail assumes a failure; the other kinds are read at once.
        let initial = match case.kind {
            Kind::Script { init_fail: false } => base,
            Kind::Script { init_fail: true } => prio(false),
            _ => prio(up),
        };
        let mut log = Vec::new();
        if initial != base {
            log.push(changing(base, initial));
        }
        match case.kind {
            // The first result: `now returning` only for a failure (keepalived's last status
            // starts at 0).
            Kind::Script { init_fail: false } if up => {
                log.push("VRRP_Script(chk) succeeded".into());
            }
            Kind::Script { init_fail: false } => log.extend(tracker_lines(case, up)),
            Kind::Script { init_fail: true } if up => {
                log.push("VRRP_Script(chk) succeeded".into());
            }
            _ => {}
        }
        if prio(up) != initial {
            log.push(changing(initial, prio(up)));
        }
        log.push("(VI_1) Entering MASTER STATE".into());
        p.log = log;
        p.fifo.push(fifo("BACKUP", initial));
        p.fifo.push(fifo("MASTER", prio(up)));
    }
    phases
}

/// The lone router's host: eth0 (192.0.2.1/24) is one end of a veth whose other end stays in
/// the namespace; trk0/trk1 another pair, for the interface cases.
fn lone_host(lab: &Lab) -> Host {
    let host = lab.host("h").expect("host");
    for (a, b) in [("eth0", "eth0p"), ("trk0", "trk1")] {
        host.veth_loop(a, b).expect("veth");
    }
    host.add_addr("eth0", "192.0.2.1/24").expect("addr");
    host
}

/// The object a case tracks, and how to make it healthy or not.
struct Object {
    host: Host,
    kind: Kind,
    /// Script: the flag whose presence fails it; file: the tracked file.
    path: PathBuf,
    /// Process: the program (a copy of `sleep` under a unique name) and its running copy.
    program: PathBuf,
    running: Option<LabChild>,
}

impl Object {
    fn set(&mut self, healthy: bool) {
        match self.kind {
            Kind::Script { .. } => {
                if healthy {
                    let _ = std::fs::remove_file(&self.path);
                } else {
                    std::fs::write(&self.path, "").expect("flag");
                }
            }
            Kind::Interface => {
                let r = if healthy {
                    self.host.link_set_up("trk0")
                } else {
                    self.host.link_set_down("trk0")
                };
                r.expect("trk0");
            }
            Kind::File => {
                std::fs::write(&self.path, if healthy { "0\n" } else { "1\n" }).expect("file");
            }
            Kind::Process => {
                if healthy && self.running.is_none() {
                    let mut cmd = Command::new(&self.program);
                    cmd.arg("600")
                        .stdin(Stdio::null())
                        .stdout(Stdio::null())
                        .stderr(Stdio::null());
                    // The program was copied just before: a process another test thread forked
                    // meanwhile may still hold the copy's write descriptor until it execs
                    // (ETXTBSY); that passes within moments.
                    let mut tries = 0;
                    let child = loop {
                        match LabChild::spawn(&mut cmd) {
                            Err(e)
                                if tries < 50
                                    && format!("{e:?}").contains("ExecutableFileBusy") =>
                            {
                                tries += 1;
                                std::thread::sleep(Duration::from_millis(20));
                            }
                            other => break other.expect("tracked process"),
                        }
                    };
                    self.running = Some(child);
                } else if !healthy && let Some(mut child) = self.running.take() {
                    child.kill();
                }
            }
        }
    }
}

/// The configuration of `case`: `vrrp_version 3`, `advert_int 0.1`, priority 100, the notify
/// FIFO, and the tracker.
fn config(case: Case, object: &Object, fifo_path: &Path, check: &Path) -> String {
    let mut top = String::new();
    let mut track = String::new();
    let w = case.weight;
    let weight = if w == 0 {
        String::new()
    } else {
        format!("    weight {w}\n")
    };
    match case.kind {
        Kind::Script { init_fail } => {
            let _ = writeln!(
                top,
                "vrrp_script chk {{\n    script \"{}\"\n    interval 1\n    fall 2\n    rise 1\n{weight}{}}}",
                check.display(),
                if init_fail { "    init_fail\n" } else { "" }
            );
            track.push_str("    track_script {\n        chk\n    }\n");
        }
        Kind::Interface => {
            let entry = if w == 0 {
                String::new()
            } else {
                format!(" weight {w}")
            };
            let _ = writeln!(track, "    track_interface {{\n        trk0{entry}\n    }}");
        }
        Kind::File => {
            let _ = writeln!(
                top,
                "track_file tf {{\n    file {}\n    weight {w}\n}}",
                object.path.display()
            );
            track.push_str("    track_file {\n        tf\n    }\n");
        }
        Kind::Process => {
            let name = object
                .program
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            // An explicit weight: keepalived.conf(5) says the default is 1 (keepalived-rs
            // follows it), keepalived's code makes it 0.
            let _ = writeln!(
                top,
                "vrrp_track_process tp {{\n    process {name}\n    weight {w}\n}}"
            );
            track.push_str("    track_process {\n        tp\n    }\n");
        }
    }
    format!(
        "global_defs {{\n    router_id h\n    script_user root\n    vrrp_version 3\n    \
         notify_fifo {}\n}}\n\n{top}\nvrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    \
         virtual_router_id 51\n    priority 100\n    advert_int 0.1\n{track}    \
         virtual_ipaddress {{\n        {VIP4}/24 dev eth0\n    }}\n}}\n",
        fifo_path.display()
    )
}

fn instance_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("INSTANCE"))
        .map(str::to_owned)
        .collect()
}

/// Whether `wanted` appear in `log` in this order (each a substring of a later line).
fn in_order(log: &str, wanted: &[String]) -> bool {
    let mut lines = log.lines();
    wanted.iter().all(|w| lines.any(|l| l.contains(w.as_str())))
}

/// The log lines worth showing when a case fails.
fn tracking_lines(log: &str) -> String {
    const KEYS: [&str; 9] = [
        "VRRP_Script",
        "Script `",
        "Netlink reports",
        "tracked",
        "track_",
        "Quorum",
        "ntering",
        "priority",
        "VIPs",
    ];
    log.lines()
        .filter(|l| KEYS.iter().any(|k| l.contains(k)))
        .fold(String::new(), |mut s, l| {
            let _ = writeln!(s, "    {l}");
            s
        })
}

/// Runs `case` with `kind` and checks every phase.
fn run_case(kind: Impl, case: Case) {
    let n = CASES.fetch_add(1, Ordering::Relaxed);
    let tag = case.tag();
    let lab = Lab::new("kvtm").expect("lab");
    let host = lone_host(&lab);
    let dir = script_dir(&format!("tm-{}-{n}", kind.tag()));
    let fifo_path = dir.0.join("notify.fifo");
    let fifo_out = dir.0.join("fifo.out");
    let mut reader = fifo_reader(&fifo_path, &fifo_out);
    let flag = dir.0.join("fail");
    let check = script(&dir.0, "check.sh", &format!("[ ! -e {} ]", flag.display()));
    let program = dir
        .0
        .join(format!("tp{}x{n}", std::process::id() % 100_000));
    if case.kind == Kind::Process {
        std::fs::copy("/bin/sleep", &program).expect("copy sleep");
    }
    let mut object = Object {
        host: host.clone(),
        kind: case.kind,
        path: if case.kind == Kind::File {
            dir.0.join("tracked")
        } else {
            flag
        },
        program,
        running: None,
    };
    object.set(case.healthy);
    let conf = config(case, &object, &fifo_path, &check);
    let router = Router::start(kind, &host, &format!("tm{n}"), &conf);
    let vip: IpAddr = VIP4.parse().expect("vip");
    let phases = expect(kind, case);
    let mut want_fifo: Vec<String> = Vec::new();
    let mut want_log: Vec<String> = Vec::new();
    let timeout = match case.kind {
        Kind::Script { .. } => Duration::from_secs(7),
        _ => Duration::from_secs(5),
    };
    for (i, phase) in phases.iter().enumerate() {
        if i > 0 {
            object.set(if i == 1 { !case.healthy } else { case.healthy });
        }
        want_fifo.extend(phase.fifo.iter().cloned());
        want_log.extend(phase.log.iter().cloned());
        let t0 = Instant::now();
        let reached = lab::wait_until(timeout, POLL, || {
            host.has_addr(vip) == phase.master
                && instance_lines(&fifo_out) == want_fifo
                && in_order(&router.output(), &want_log)
        });
        if reached.is_none() {
            let log = router.output();
            panic!(
                "{} {tag}, phase {i}: not reached in {:?}\n  VIP held: {} (want {})\n  FIFO: \
                 {:?}\n  want: {want_fifo:?}\n  log lines wanted in order: {want_log:?}\n  \
                 tracking log:\n{}\n{}",
                kind.tag(),
                t0.elapsed(),
                host.has_addr(vip),
                phase.master,
                instance_lines(&fifo_out),
                tracking_lines(&log),
                router.describe()
            );
        }
        // Nothing more may follow: a second look after a while sees the same.
        std::thread::sleep(Duration::from_millis(600));
        assert_eq!(
            (host.has_addr(vip), instance_lines(&fifo_out)),
            (phase.master, want_fifo.clone()),
            "{} {tag}, phase {i}: changed after settling\n{}",
            kind.tag(),
            tracking_lines(&router.output())
        );
    }
    eprintln!(
        "tracking-matrix: {} {tag}: ok\n{}",
        kind.tag(),
        tracking_lines(&router.output())
    );
    drop(router);
    reader.kill();
    if let Some(mut p) = object.running.take() {
        p.kill();
    }
}

/// Runs every case of `kind` with `imp`, concurrently, each in its own lab.
fn matrix(imp: Impl, kind: Kind) {
    if skip_reason_for(imp == Impl::Keepalived, imp == Impl::Ours).is_some() {
        return;
    }
    let cases = Case::all(kind);
    std::thread::scope(|s| {
        let handles: Vec<_> = cases
            .iter()
            .map(|&case| s.spawn(move || run_case(imp, case)))
            .collect();
        let failed: Vec<String> = handles
            .into_iter()
            .zip(&cases)
            .filter_map(|(h, c)| h.join().is_err().then(|| c.tag()))
            .collect();
        assert!(failed.is_empty(), "{} failed: {failed:?}", imp.tag());
    });
}

#[test]
fn script_keepalived_reference() {
    matrix(Impl::Keepalived, Kind::Script { init_fail: false });
}

#[test]
fn script_ours() {
    matrix(Impl::Ours, Kind::Script { init_fail: false });
}

#[test]
fn script_init_fail_keepalived_reference() {
    matrix(Impl::Keepalived, Kind::Script { init_fail: true });
}

#[test]
fn script_init_fail_ours() {
    matrix(Impl::Ours, Kind::Script { init_fail: true });
}

#[test]
fn interface_keepalived_reference() {
    matrix(Impl::Keepalived, Kind::Interface);
}

#[test]
fn interface_ours() {
    matrix(Impl::Ours, Kind::Interface);
}

#[test]
fn file_keepalived_reference() {
    matrix(Impl::Keepalived, Kind::File);
}

#[test]
fn file_ours() {
    matrix(Impl::Ours, Kind::File);
}

/// Debian's keepalived is built without `vrrp_track_process`: keepalived-rs only.
#[test]
fn process_ours() {
    matrix(Impl::Ours, Kind::Process);
}

/// A sync group whose member VI_2 tracks the script with weight 0, on the lone router: VI_1
/// (VIP .100) and VI_2 (VIP .101) both on eth0. The pending member holds the whole group only
/// until the script's first result: healthy at start, both become MASTER; the script failing
/// puts both in FAULT; recovering, both are MASTER again.
fn sync_group_case(imp: Impl) {
    if skip_reason_for(imp == Impl::Keepalived, imp == Impl::Ours).is_some() {
        return;
    }
    let n = CASES.fetch_add(1, Ordering::Relaxed);
    let lab = Lab::new("kvtm").expect("lab");
    let host = lone_host(&lab);
    let dir = script_dir(&format!("tm-{}-{n}", imp.tag()));
    let fifo_path = dir.0.join("notify.fifo");
    let fifo_out = dir.0.join("fifo.out");
    let mut reader = fifo_reader(&fifo_path, &fifo_out);
    let flag = dir.0.join("fail");
    let check = script(&dir.0, "check.sh", &format!("[ ! -e {} ]", flag.display()));
    let instance = |name: &str, vrid: u8, vip: &str, track: &str| {
        format!(
            "vrrp_instance {name} {{\n    state BACKUP\n    interface eth0\n    virtual_router_id \
             {vrid}\n    priority 100\n    advert_int 0.1\n{track}    virtual_ipaddress {{\n        \
             {vip}/24 dev eth0\n    }}\n}}\n"
        )
    };
    let conf = format!(
        "global_defs {{\n    router_id h\n    script_user root\n    vrrp_version 3\n    \
         notify_fifo {}\n}}\n\nvrrp_script chk {{\n    script \"{}\"\n    interval 1\n    fall 2\n    \
         rise 1\n}}\n\n{}{}vrrp_sync_group G {{\n    group {{\n        VI_1\n        VI_2\n    }}\n}}\n",
        fifo_path.display(),
        check.display(),
        instance("VI_1", 51, VIP4, ""),
        instance(
            "VI_2",
            52,
            "192.0.2.101",
            "    track_script {\n        chk\n    }\n"
        ),
    );
    let router = Router::start(imp, &host, &format!("tmsg{n}"), &conf);
    let vips: [IpAddr; 2] = [
        VIP4.parse().expect("vip"),
        "192.0.2.101".parse().expect("vip"),
    ];
    let lines = |state: &str| {
        vec![
            format!("GROUP \"G\" {state} 0"),
            format!("INSTANCE \"VI_1\" {state} 100"),
            format!("INSTANCE \"VI_2\" {state} 100"),
        ]
    };
    let mut want: Vec<String> = Vec::new();
    for (i, up) in [true, false, true].into_iter().enumerate() {
        match i {
            1 => std::fs::write(&flag, "").expect("flag"),
            2 => std::fs::remove_file(&flag).expect("unflag"),
            _ => {}
        }
        if up {
            want.extend(lines("BACKUP"));
            want.extend(lines("MASTER"));
        } else {
            want.extend(lines("FAULT"));
        }
        let mut sorted_want = want.clone();
        sorted_want.sort();
        let seen = || {
            // The order of the lines within one group transition is not fixed.
            let mut v: Vec<String> = std::fs::read_to_string(&fifo_out)
                .unwrap_or_default()
                .lines()
                .filter(|l| l.starts_with("INSTANCE") || l.starts_with("GROUP"))
                .map(str::to_owned)
                .collect();
            v.sort();
            v
        };
        let reached = lab::wait_until(Duration::from_secs(7), POLL, || {
            vips.iter().all(|v| host.has_addr(*v) == up) && seen() == sorted_want
        });
        assert!(
            reached.is_some(),
            "{} sync group, phase {i}: VIPs {:?} (want {up})\n  FIFO: {:?}\n  want (any order \
             within a step): {want:?}\n{}\n{}",
            imp.tag(),
            vips.iter().map(|v| host.has_addr(*v)).collect::<Vec<_>>(),
            std::fs::read_to_string(&fifo_out).unwrap_or_default(),
            tracking_lines(&router.output()),
            router.describe()
        );
    }
    assert_eq!(router.count_logged("VRRP_Script(chk) succeeded"), 2);
    drop(router);
    reader.kill();
}

#[test]
fn sync_group_keepalived_reference() {
    sync_group_case(Impl::Keepalived);
}

#[test]
fn sync_group_ours() {
    sync_group_case(Impl::Ours);
}
