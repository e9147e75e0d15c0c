//! The daemon run of a VRRP-only file: keepalived (`-n -l -D -P`, private pid files) and
//! keepalived-rs each on a prepared host of its own (same preparation, run side by side), until
//! their instances have settled, then stopped with SIGTERM.
//!
//! Compared: whether each started (still running when the instances settled), the state each
//! instance was in from the `(NAME) Entering X STATE` lines both log (`-` for an instance that
//! never entered one: dropped), and, after the stop, that ours left no address behind. An
//! instance keepalived drops must be dropped by ours with a message naming a line of its block.
//!
//! Settled: every instance that logged a state is MASTER or FAULT and nothing moved for a
//! second, or [`DEADLINE`] passed. In a namespace of its own no peer answers, so a BACKUP
//! becomes MASTER after its Master_Down_Interval (3.6 s with `advert_int 1`); an instance whose
//! interval ends close to the deadline (advert_int about 2.5 s) could be seen in different
//! states by the two runs: none of the corpus's files has one.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lab::LabChild;

use super::corpus::CorpusFile;
use super::host::{Mode, RUN_DIR, TestHost};
use super::report::Finding;
use super::scan::Scan;
use crate::{KEEPALIVED, ours_bin};

/// Longest a daemon runs before it is stopped.
pub const DEADLINE: Duration = Duration::from_secs(8);
/// Quiet time after the last transition before the instances count as settled.
const QUIET: Duration = Duration::from_secs(1);
/// Longest a daemon may take to stop after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(8);

/// Lines a daemon logged, each with the time it was read.
type LiveLog = Arc<Mutex<Vec<(Instant, String)>>>;

/// One daemon's run.
pub struct DaemonRun {
    /// Still running when the instances settled.
    pub started: bool,
    /// Each instance's last state (`MASTER`, `BACKUP`, `FAULT`, ...).
    pub states: BTreeMap<String, String>,
    /// Its exit after SIGTERM (or before, if it stopped by itself).
    pub exit: String,
    /// Addresses present after the stop that were not there before.
    pub left: BTreeSet<String>,
    /// Everything it logged.
    pub log: String,
}

/// The comparison of one file's daemon runs.
pub struct DaemonComparison {
    /// The file.
    pub file: CorpusFile,
    /// keepalived's run (`None` when none was made).
    pub keepalived: Option<DaemonRun>,
    /// Ours.
    pub ours: Option<DaemonRun>,
    /// keepalived started.
    pub keepalived_started: bool,
    /// Ours started.
    pub ours_started: bool,
    /// The differences.
    pub findings: Vec<Finding>,
    /// Host preparation notes and why a run was not made.
    pub notes: Vec<String>,
}

impl DaemonComparison {
    /// Both logs, labelled, for the report.
    pub fn side_by_side(&self) -> String {
        let mut s = String::new();
        for (label, run) in [
            ("keepalived 2.2.7", &self.keepalived),
            ("keepalived-rs", &self.ours),
        ] {
            let Some(run) = run else { continue };
            s.push_str(&format!(
                "--- {label} (started: {}, states: {:?}, after SIGTERM: {}, left: {:?}):\n",
                run.started, run.states, run.exit, run.left
            ));
            for l in run.log.lines().filter(|l| !l.trim().is_empty()) {
                s.push_str(&format!("    {l}\n"));
            }
        }
        for n in &self.notes {
            s.push_str(&format!("--- host: {n}\n"));
        }
        s
    }
}

/// Runs both daemons on `file` and compares them.
pub fn compare(
    file: &CorpusFile,
    scan: &Scan,
    scratch: &Path,
    seq: usize,
) -> Result<DaemonComparison, String> {
    let ka_host = TestHost::new(Mode::Prepared, scan, scratch, &format!("{seq}k"))
        .map_err(|e| format!("{} [daemon]: {e}", file.name))?;
    let rs_host = TestHost::new(Mode::Prepared, scan, scratch, &format!("{seq}r"))
        .map_err(|e| format!("{} [daemon]: {e}", file.name))?;
    let mut comparison = DaemonComparison {
        file: file.clone(),
        keepalived: None,
        ours: None,
        keepalived_started: false,
        ours_started: false,
        findings: Vec::new(),
        notes: ka_host.notes.clone(),
    };
    if ka_host.uncovered_writes {
        comparison
            .notes
            .push("not run: a path it names could not be kept off the real filesystem".into());
        return Ok(comparison);
    }
    let path = file.path.display().to_string();
    let pid = |n: &str| format!("{RUN_DIR}/{n}.pid");
    let mut args: Vec<String> = ["-n", "-l", "-D", "-P", "-i", "main", "-f", &path]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    for (flag, name) in [("-p", "ka"), ("-r", "vrrp"), ("-c", "chk")] {
        args.push(flag.to_owned());
        args.push(pid(name));
    }
    let mut ka_args = args.clone();
    ka_args.extend(["-b".to_owned(), pid("bfd")]);
    let names: BTreeSet<String> = scan.instances.iter().map(|i| i.name.clone()).collect();
    let (mut ka, ka_log) = spawn(&ka_host, KEEPALIVED, &ka_args)?;
    let (mut rs, rs_log) = spawn(&rs_host, &ours_bin(), &args)?;
    let start = Instant::now();
    while start.elapsed() < DEADLINE {
        let ka_done = !ka.is_running() || settled(&ka_log, &names);
        let rs_done = !rs.is_running() || settled(&rs_log, &names);
        if ka_done && rs_done {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let ka_run = stop(&ka_host, &mut ka, &ka_log, &names);
    let rs_run = stop(&rs_host, &mut rs, &rs_log, &names);
    comparison.keepalived_started = ka_run.started;
    comparison.ours_started = rs_run.started;
    comparison.findings = judge(&ka_run, &rs_run, scan, &names);
    if !ka_run.left.is_empty() {
        comparison.notes.push(format!(
            "keepalived left addresses behind: {:?}",
            ka_run.left
        ));
    }
    comparison.keepalived = Some(ka_run);
    comparison.ours = Some(rs_run);
    Ok(comparison)
}

/// The differences between the two runs.
fn judge(ka: &DaemonRun, rs: &DaemonRun, scan: &Scan, names: &BTreeSet<String>) -> Vec<Finding> {
    let mut findings = Vec::new();
    match (ka.started, rs.started) {
        (true, false) => findings.push(Finding::new("not started (keepalived started)")),
        (false, true) => findings.push(Finding::new("started (keepalived did not)")),
        (false, false) => return findings,
        (true, true) => {}
    }
    if !rs.left.is_empty() {
        findings.push(Finding::new(format!(
            "left behind: {}",
            rs.left.iter().cloned().collect::<Vec<_>>().join(", ")
        )));
    }
    if !rs.started {
        return findings;
    }
    for name in names {
        let k = ka.states.get(name).map_or("-", String::as_str);
        let r = rs.states.get(name).map_or("-", String::as_str);
        if k != r {
            findings.push(Finding::new(format!("{name} {k}/{r}")));
        } else if k == "-" {
            // Dropped by both: ours must say where.
            let named = scan.instances.iter().filter(|i| &i.name == name).any(|i| {
                let f = &scan.files[i.file].path;
                names_line_in(&rs.log, f, i.open, i.close)
            });
            if !named {
                findings.push(Finding::new(format!(
                    "{name} dropped without a message at its place"
                )));
            }
        }
    }
    findings
}

/// Whether `log` has a `FILE:LINE:` with LINE in `open..=close`.
fn names_line_in(log: &str, file: &Path, open: u32, close: u32) -> bool {
    let needle = format!("{}:", file.display());
    log.lines().any(|l| {
        l.match_indices(&needle).any(|(i, _)| {
            let rest = &l[i + needle.len()..];
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits
                .parse::<u32>()
                .is_ok_and(|n| (open..=close).contains(&n) && rest[digits.len()..].starts_with(':'))
        })
    })
}

fn spawn(host: &TestHost, program: &str, args: &[String]) -> Result<(LabChild, LiveLog), String> {
    let mut c = host.command(program, args);
    c.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = LabChild::spawn(&mut c).map_err(|e| e.to_string())?;
    let log: LiveLog = Arc::default();
    let out = child.child_mut().stdout.take();
    let err = child.child_mut().stderr.take();
    follow(out, &log);
    follow(err, &log);
    Ok((child, log))
}

fn follow<R: std::io::Read + Send + 'static>(pipe: Option<R>, log: &LiveLog) {
    let Some(pipe) = pipe else { return };
    let log = Arc::clone(log);
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            log.lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((Instant::now(), line));
        }
    });
}

/// `(NAME) Entering X STATE` lines (keepalived also writes `(NAME) entering X state` and
/// `(NAME): entering X state (reason)`): each instance's last state and when the last one came.
fn states(log: &LiveLog, names: &BTreeSet<String>) -> (BTreeMap<String, String>, Option<Instant>) {
    let mut states = BTreeMap::new();
    let mut last = None;
    for (at, line) in log.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        if let Some((name, state)) = state_line(line).filter(|(n, _)| names.contains(n)) {
            states.insert(name, state);
            last = Some(*at);
        }
    }
    (states, last)
}

/// The instance and the state of a state line.
fn state_line(line: &str) -> Option<(String, String)> {
    let lower = line.to_ascii_lowercase();
    let i = lower.find(" entering ")?;
    let before = line[..i].strip_suffix(':').unwrap_or(&line[..i]);
    let name = before.strip_suffix(')')?;
    let name = &name[name.rfind('(')? + 1..];
    let mut rest = line[i + " entering ".len()..].split_whitespace();
    let state = rest.next()?;
    rest.next()
        .filter(|w| w.eq_ignore_ascii_case("state"))
        .map(|_| (name.to_owned(), state.to_ascii_uppercase()))
}

fn settled(log: &LiveLog, names: &BTreeSet<String>) -> bool {
    let (states, last) = states(log, names);
    !states.is_empty()
        && states.values().all(|s| s == "MASTER" || s == "FAULT")
        && last.is_some_and(|t| t.elapsed() >= QUIET)
}

/// Stops a daemon with SIGTERM and collects its run.
fn stop(
    host: &TestHost,
    child: &mut LabChild,
    log: &LiveLog,
    names: &BTreeSet<String>,
) -> DaemonRun {
    let started = child.is_running();
    let (states, _) = states(log, names);
    let _ = child.signal("TERM");
    let exit = match child.wait_timeout(STOP_TIMEOUT) {
        Some(status) => format!("{status}"),
        None => {
            child.kill();
            "did not stop: killed".to_owned()
        }
    };
    // The reader threads get the last lines.
    std::thread::sleep(Duration::from_millis(100));
    let left: BTreeSet<String> = host
        .addresses()
        .difference(&host.baseline)
        .cloned()
        .collect();
    let log = log
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|(_, l)| l.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    DaemonRun {
        started,
        states,
        exit,
        left,
        log,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_named_in_a_log() {
        let log = "Sun Dec  7 10:00:00 2025: /a/b.conf:12:5: error: x\n";
        assert!(names_line_in(log, Path::new("/a/b.conf"), 10, 14));
        assert!(!names_line_in(log, Path::new("/a/b.conf"), 13, 14));
        assert!(!names_line_in(log, Path::new("/a/c.conf"), 10, 14));
    }

    #[test]
    fn states_from_logs() {
        let log: LiveLog = Arc::default();
        let names: BTreeSet<String> = ["VI_1".to_owned()].into();
        for l in [
            "Sun Dec  7 10:00:00 2025: (VI_1) Entering BACKUP STATE (init)",
            "Sun Dec  7 10:00:03 2025: (VI_1) Entering MASTER STATE",
            "(VI_2) Entering FAULT STATE",
            "(VI_1): entering FAULT state (tracked file TF has status -254)",
            "(VI_1) entering FAULT state",
        ] {
            log.lock().unwrap().push((Instant::now(), l.to_owned()));
        }
        let (s, _) = states(&log, &names);
        assert_eq!(s.get("VI_1").map(String::as_str), Some("FAULT"));
        assert_eq!(s.len(), 1);
    }
}
