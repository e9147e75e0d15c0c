//! The summary both tests print: files, comparisons, agreements, documented differences and
//! disagreements (with both outputs), checked against the list of known differences; written to
//! stderr and to a file in cargo's `CARGO_TARGET_TMPDIR`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::Instant;

use super::corpus::repo_root;
use super::known::{self, Observed};

/// One difference found in a comparison, worded as the list of known differences names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding(pub String);

impl Finding {
    /// A finding worded `what`.
    pub fn new(what: impl Into<String>) -> Finding {
        Finding(what.into())
    }
}

/// The summary being built.
pub struct Report {
    title: String,
    head: Vec<String>,
    problems: Vec<String>,
    comparisons: usize,
    agreements: usize,
    observed: BTreeSet<Observed>,
    ran: BTreeSet<(String, String)>,
    /// Both outputs of each comparison with findings, by (file, mode).
    details: BTreeMap<(String, String), String>,
}

impl Report {
    /// An empty report.
    pub fn new(title: &str) -> Report {
        Report {
            title: title.to_owned(),
            head: Vec::new(),
            problems: Vec::new(),
            comparisons: 0,
            agreements: 0,
            observed: BTreeSet::new(),
            ran: BTreeSet::new(),
            details: BTreeMap::new(),
        }
    }

    /// A line of the summary's head.
    pub fn line(&mut self, text: String) {
        self.head.push(text);
    }

    /// A line that must be seen: printed at once as well.
    pub fn loud(&mut self, text: String) {
        eprintln!("{text}");
        self.head.push(text);
    }

    /// Something wrong with the corpus, the list or the harness: fails the test.
    pub fn problem(&mut self, text: String) {
        self.problems.push(text);
    }

    /// One comparison of `file` in `mode` with what it found; `outputs` renders both sides when
    /// there is a finding.
    pub fn comparison(
        &mut self,
        file: &str,
        mode: &str,
        findings: &[Finding],
        outputs: impl FnOnce() -> String,
    ) {
        self.comparisons += 1;
        self.ran.insert((file.to_owned(), mode.to_owned()));
        if findings.is_empty() {
            self.agreements += 1;
            return;
        }
        for f in findings {
            self.observed
                .insert((file.to_owned(), mode.to_owned(), f.0.clone()));
        }
        self.details
            .insert((file.to_owned(), mode.to_owned()), outputs());
    }

    /// Prints the summary, writes it to `CARGO_TARGET_TMPDIR/name`, and fails the test on any
    /// undocumented disagreement, stale entry of the list, or problem.
    pub fn finish(mut self, started: Instant, name: &str) {
        let (known, list_problems) = known::load(&repo_root());
        self.problems.extend(list_problems);
        let (documented, undocumented, stale) = known::reconcile(&known, &self.observed, &self.ran);
        let mut s = String::new();
        let _ = writeln!(s, "==== {} ====", self.title);
        for h in &self.head {
            let _ = writeln!(s, "{h}");
        }
        let disagreeing: BTreeSet<(String, String)> = undocumented
            .iter()
            .map(|(f, m, _)| (f.clone(), m.clone()))
            .collect();
        let _ = writeln!(
            s,
            "comparisons: {}; agreements: {}; with differences: {} ({} documented differences, \
             {} disagreements in {} comparisons); stale list entries: {}; problems: {}; took {:.1} s",
            self.comparisons,
            self.agreements,
            self.comparisons - self.agreements,
            documented.len(),
            undocumented.len(),
            disagreeing.len(),
            stale.len(),
            self.problems.len(),
            started.elapsed().as_secs_f64()
        );
        if !documented.is_empty() {
            let _ = writeln!(s, "\n---- documented differences ----");
            for k in &documented {
                let _ = writeln!(
                    s,
                    "{} [{}] {}: {} (man: {})",
                    k.file, k.mode, k.what, k.reason, k.man
                );
            }
        }
        if !undocumented.is_empty() {
            let _ = writeln!(s, "\n---- disagreements ----");
            let mut by_cmp: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
            for (f, m, w) in &undocumented {
                by_cmp
                    .entry((f.clone(), m.clone()))
                    .or_default()
                    .push(w.clone());
            }
            for ((f, m), whats) in &by_cmp {
                let _ = writeln!(s, "\n== {f} [{m}]: {}", whats.join("; "));
                if let Some(d) = self.details.get(&(f.clone(), m.clone())) {
                    s.push_str(d);
                }
            }
        }
        if !stale.is_empty() {
            let _ = writeln!(
                s,
                "\n---- list entries that no longer happen (remove them) ----"
            );
            for k in &stale {
                let _ = writeln!(s, "line {}: {} | {} | {}", k.line, k.file, k.mode, k.what);
            }
        }
        if !self.problems.is_empty() {
            let _ = writeln!(s, "\n---- problems ----");
            for p in &self.problems {
                let _ = writeln!(s, "{p}");
            }
        }
        eprintln!("{s}");
        let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
        if std::fs::write(&path, &s).is_ok() {
            eprintln!("(summary written to {})", path.display());
        }
        assert!(
            undocumented.is_empty() && stale.is_empty() && self.problems.is_empty(),
            "{} disagreements, {} stale list entries, {} problems (see the summary above)",
            undocumented.len(),
            stale.len(),
            self.problems.len()
        );
    }
}
