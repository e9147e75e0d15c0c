//! The corpus differential test (issue 14): every configuration of the corpus (see
//! `corpus_differential/corpus.rs`) goes through Debian's keepalived 2.2.7 `-t` and
//! keepalived-rs `-t` on the same host, twice: on a new user's host ("bare": lo, eth0, eth1, no
//! scripts) and on a host prepared for the file ("prepared": the interfaces it names, stubs of
//! the scripts it runs; see `corpus_differential/host.rs`). Per file and mode the exit codes
//! must be equal and every line keepalived names must be named by one of our diagnostics
//! (`corpus_differential/places.rs`, with its documented block rule). Then the VRRP-only files
//! run through both daemons (`corpus_differential/daemon_run.rs`).
//!
//! Differences listed in `corpus_differential/known_differences.txt` (each with its reason and
//! the man page text explaining it) are reported as documented; any other fails the test, and
//! so does a listed one that no longer happens. Files marked
//! `# keepalived-2.2.7: skip (KEYWORDS: VERSION)` use keywords newer than 2.2.7 and are not
//! compared. The summary goes to stderr and to `corpus_differential.txt` in cargo's
//! `CARGO_TARGET_TMPDIR`. Needs root, `unshare` and `nsenter`, and /usr/sbin/keepalived (skips
//! loudly without them).

mod corpus_differential {
    pub mod corpus;
    pub mod daemon_run;
    pub mod host;
    pub mod known;
    pub mod places;
    pub mod report;
    pub mod scan;
}

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use corpus_differential::corpus::{self, CorpusFile};
use corpus_differential::host::{Mode, Output, RUN_DIR, TestHost};
use corpus_differential::places::{self, PlaceMatch};
use corpus_differential::report::{Finding, Report};
use corpus_differential::scan::Scan;

/// Debian's keepalived.
pub const KEEPALIVED: &str = "/usr/sbin/keepalived";

/// The `-i` both implementations get, so conditional lines do not depend on the host name.
const CONFIG_ID: &str = "main";

/// Longest a `-t` may take.
const TEST_TIMEOUT: Duration = Duration::from_secs(30);

/// keepalived-rs: `KEEPALIVED_RS_BIN` (scripts/test.sh points it at the release build) or the
/// binary cargo built for this test.
pub fn ours_bin() -> String {
    std::env::var("KEEPALIVED_RS_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_keepalived-rs").to_owned())
}

/// Why the test cannot run here, if it cannot.
fn skip_reason() -> Option<String> {
    if lab::skip_unless_root() {
        return Some("not root".into());
    }
    if !Path::new(KEEPALIVED).exists() {
        // CI installs it (scripts/test.sh); a developer without it is told so, loudly.
        return Some(format!(
            "{KEEPALIVED} not installed (apt-get install keepalived)"
        ));
    }
    for tool in ["unshare", "nsenter"] {
        if !lab::have_program(tool) {
            return Some(format!("`{tool}` not found (util-linux)"));
        }
    }
    None
}

/// A temporary directory of this test process, removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("kacorpus-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `f` over `items` on `workers` threads; results in the items' order.
pub fn parallel<T: Sync, R: Send>(
    items: &[T],
    workers: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new(items.iter().map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..workers.max(1) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let r = f(item);
                    results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(r);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .map(|r| r.expect("every item ran"))
        .collect()
}

/// The corpus, split into the files compared and those marked newer than 2.2.7; marker
/// problems fail the test.
fn corpus_or_fail(report: &mut Report) -> (Vec<CorpusFile>, Vec<CorpusFile>) {
    let (files, samples, marker_errors) = corpus::files();
    match samples {
        Some(n) => report.line(format!(
            "Debian's samples: {n} files in {}",
            corpus::SAMPLES_DIR
        )),
        None => report.loud(format!(
            "SKIPPING Debian's samples: {} is missing (apt-get install keepalived)",
            corpus::SAMPLES_DIR
        )),
    }
    for e in marker_errors {
        report.problem(e);
    }
    files.into_iter().partition(|f| f.newer.is_none())
}

/// One file in one mode through both `-t`.
struct TestRun {
    file: CorpusFile,
    mode: Mode,
    keepalived: Output,
    ours: Output,
    findings: Vec<Finding>,
    exact: usize,
    block: usize,
    notes: Vec<String>,
}

fn run_t(file: &CorpusFile, mode: Mode, scratch: &Path, seq: usize) -> Result<TestRun, String> {
    let scan = Scan::of(&file.path);
    let host = TestHost::new(mode, &scan, scratch, &seq.to_string())
        .map_err(|e| format!("{} [{}]: {e}", file.name, mode.name()))?;
    let path = file.path.display().to_string();
    let pid = |n: &str| format!("{RUN_DIR}/{n}.pid");
    let ka_args: Vec<String> = [
        "-t",
        "-l",
        "-i",
        CONFIG_ID,
        "-f",
        &path,
        "-p",
        &pid("ka"),
        "-r",
        &pid("vrrp"),
        "-c",
        &pid("chk"),
        "-b",
        &pid("bfd"),
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let rs_args: Vec<String> = ["-t", "-i", CONFIG_ID, "-f", &path]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let keepalived = host.run(KEEPALIVED, &ka_args, TEST_TIMEOUT);
    let ours = host.run(&ours_bin(), &rs_args, TEST_TIMEOUT);
    let mut findings = Vec::new();
    let (kv, rv) = (short_verdict(&keepalived), short_verdict(&ours));
    if kv != rv {
        findings.push(Finding::new(format!("exit {kv}/{rv}")));
    }
    let ka_msgs =
        places::parse_keepalived(&format!("{}\n{}", keepalived.stderr, keepalived.stdout));
    let rs_diags = places::parse_ours(&ours.stderr);
    let (mut exact, mut block) = (0, 0);
    let mut missing = BTreeSet::new();
    for m in ka_msgs.iter().filter(|m| m.line.is_some()) {
        match places::match_place(m, &rs_diags, &scan) {
            PlaceMatch::Exact => exact += 1,
            PlaceMatch::Block => block += 1,
            PlaceMatch::Missing => {
                let line = m.line.unwrap_or(0);
                let what = match &m.file {
                    Some(f) if scan.file_index(f) != Some(0) => {
                        let base = Path::new(f).file_name().unwrap_or_default();
                        format!("line {}:{line}", base.to_string_lossy())
                    }
                    _ => format!("line {line}"),
                };
                missing.insert(what);
            }
        }
    }
    findings.extend(missing.into_iter().map(Finding::new));
    Ok(TestRun {
        file: file.clone(),
        mode,
        keepalived,
        ours,
        findings,
        exact,
        block,
        notes: host.notes.clone(),
    })
}

/// `5`, `sig11`, `timeout`.
fn short_verdict(o: &Output) -> String {
    match (o.timed_out, o.code, o.signal) {
        (true, _, _) => "timeout".into(),
        (_, Some(c), _) => c.to_string(),
        (_, None, Some(s)) => format!("sig{s}"),
        _ => "?".into(),
    }
}

#[test]
fn config_test_agrees_with_keepalived_2_2_7() {
    if let Some(why) = skip_reason() {
        eprintln!("SKIPPING corpus differential (-t): {why}");
        return;
    }
    let started = Instant::now();
    let mut report = Report::new("corpus differential: keepalived 2.2.7 -t vs keepalived-rs -t");
    let (compared, newer) = corpus_or_fail(&mut report);
    for f in &newer {
        report.line(format!(
            "not compared (newer than 2.2.7): {} ({})",
            f.name,
            f.newer.as_deref().unwrap_or("")
        ));
    }
    let scratch = Scratch::new("t");
    let jobs: Vec<(usize, &CorpusFile, Mode)> = compared
        .iter()
        .flat_map(|f| [Mode::Bare, Mode::Prepared].map(|m| (f, m)))
        .enumerate()
        .map(|(i, (f, m))| (i, f, m))
        .collect();
    let runs = parallel(&jobs, 4, |(i, f, m)| run_t(f, *m, &scratch.0, *i));
    let (mut exact, mut block) = (0, 0);
    for run in runs {
        match run {
            Ok(r) => {
                exact += r.exact;
                block += r.block;
                report.comparison(&r.file.name, r.mode.name(), &r.findings, || {
                    side_by_side(&r)
                });
            }
            Err(e) => report.problem(format!("harness: {e}")),
        }
    }
    report.line(format!(
        "files: {} compared, {} newer than 2.2.7; keepalived places matched: {exact} at their \
         line, {block} by the block rule",
        compared.len(),
        newer.len()
    ));
    report.finish(started, "corpus_differential_t.txt");
}

/// Both outputs of one comparison, labelled, for the report.
fn side_by_side(r: &TestRun) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "--- keepalived 2.2.7 ({}):\n",
        r.keepalived.verdict()
    ));
    for l in r
        .keepalived
        .stderr
        .lines()
        .chain(r.keepalived.stdout.lines())
    {
        if !l.trim().is_empty() {
            s.push_str(&format!("    {l}\n"));
        }
    }
    s.push_str(&format!("--- keepalived-rs ({}):\n", r.ours.verdict()));
    for d in places::parse_ours(&r.ours.stderr) {
        s.push_str(&format!("    {}\n", d.text));
    }
    for n in &r.notes {
        s.push_str(&format!("--- host: {n}\n"));
    }
    s
}

#[test]
fn vrrp_daemons_agree_with_keepalived_2_2_7() {
    if let Some(why) = skip_reason() {
        eprintln!("SKIPPING corpus differential (daemons): {why}");
        return;
    }
    let started = Instant::now();
    let mut report = Report::new("corpus differential: keepalived 2.2.7 and keepalived-rs daemons");
    let (compared, _) = corpus_or_fail(&mut report);
    let vrrp_only: Vec<(usize, CorpusFile, Scan)> = compared
        .into_iter()
        .map(|f| {
            let scan = Scan::of(&f.path);
            (f, scan)
        })
        .filter(|(_, s)| !s.has_virtual_server && !s.instances.is_empty())
        .enumerate()
        .map(|(i, (f, s))| (i, f, s))
        .collect();
    let scratch = Scratch::new("d");
    let runs = parallel(&vrrp_only, 8, |(i, f, s)| {
        corpus_differential::daemon_run::compare(f, s, &scratch.0, *i)
    });
    let mut started_both = 0;
    for r in runs {
        match r {
            Ok(r) => {
                started_both += usize::from(r.keepalived_started && r.ours_started);
                report.comparison(&r.file.name, "daemon", &r.findings, || r.side_by_side());
            }
            Err(e) => report.problem(format!("harness: {e}")),
        }
    }
    report.line(format!(
        "VRRP-only files run: {}; started by both: {started_both}",
        vrrp_only.len()
    ));
    report.finish(started, "corpus_differential_daemons.txt");
}
