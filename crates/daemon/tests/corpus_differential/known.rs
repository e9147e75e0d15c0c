//! The checked-in list of known, documented differences (known_differences.txt beside this
//! file): what it says, its validation (every entry names a DIFFERENCES text of the man pages
//! that exists), and the bookkeeping that keeps it true (an entry that no longer happens fails
//! the test as much as a disagreement it does not list).

use std::collections::BTreeSet;
use std::path::Path;

/// One documented difference.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Known {
    /// The file, as the report names it.
    pub file: String,
    /// `bare`, `prepared` or `daemon`.
    pub mode: String,
    /// What differs, exactly as the report words it.
    pub what: String,
    /// Why keepalived-rs is right.
    pub reason: String,
    /// The text of the man page's DIFFERENCES section that explains it.
    pub man: String,
    /// Line in the list.
    pub line: usize,
}

/// The list's path.
pub fn list_path() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus_differential/known_differences.txt")
}

/// Reads and validates the list: returns the entries (a `both` entry becomes a `bare` and a
/// `prepared` one) and the problems found in it.
pub fn load(repo: &Path) -> (Vec<Known>, Vec<String>) {
    let path = list_path();
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let differences = differences_sections(repo);
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split(" | ").map(str::trim).collect();
        let [file, mode, what, reason, man] = fields.as_slice() else {
            problems.push(format!(
                "{}:{}: expected 5 fields `FILE | MODE | WHAT | REASON | MAN`",
                path.display(),
                i + 1
            ));
            continue;
        };
        if [file, mode, what, reason, man].iter().any(|f| f.is_empty()) {
            problems.push(format!("{}:{}: an empty field", path.display(), i + 1));
            continue;
        }
        if !differences.contains(man) {
            problems.push(format!(
                "{}:{}: `{man}` is not in the DIFFERENCES section of \
                 docs/man/keepalived-rs.conf.5.md or docs/man/keepalived-rs.8.md",
                path.display(),
                i + 1
            ));
        }
        let modes: &[&str] = match *mode {
            "both" => &["bare", "prepared"],
            "bare" => &["bare"],
            "prepared" => &["prepared"],
            "daemon" => &["daemon"],
            other => {
                problems.push(format!(
                    "{}:{}: mode `{other}` is not bare, prepared, both or daemon",
                    path.display(),
                    i + 1
                ));
                continue;
            }
        };
        for m in modes {
            out.push(Known {
                file: (*file).to_owned(),
                mode: (*m).to_owned(),
                what: (*what).to_owned(),
                reason: (*reason).to_owned(),
                man: (*man).to_owned(),
                line: i + 1,
            });
        }
    }
    (out, problems)
}

/// The text of the DIFFERENCES sections of the man pages' sources.
fn differences_sections(repo: &Path) -> String {
    let mut out = String::new();
    for page in [
        "docs/man/keepalived-rs.conf.5.md",
        "docs/man/keepalived-rs.8.md",
    ] {
        let text = std::fs::read_to_string(repo.join(page)).unwrap_or_default();
        let mut inside = false;
        for line in text.lines() {
            if line.starts_with("# ") {
                inside = line.starts_with("# DIFFERENCES");
            } else if inside {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

/// One observed difference: file, mode, what.
pub type Observed = (String, String, String);

/// Splits `observed` into documented ones and disagreements, and finds the entries of `known`
/// for files and modes that ran (`ran`) that did not happen (stale entries).
pub fn reconcile<'a>(
    known: &'a [Known],
    observed: &BTreeSet<Observed>,
    ran: &BTreeSet<(String, String)>,
) -> (Vec<&'a Known>, Vec<Observed>, Vec<&'a Known>) {
    let mut documented = Vec::new();
    let mut undocumented = Vec::new();
    for o in observed {
        match known
            .iter()
            .find(|k| k.file == o.0 && k.mode == o.1 && k.what == o.2)
        {
            Some(k) => documented.push(k),
            None => undocumented.push(o.clone()),
        }
    }
    let stale = known
        .iter()
        .filter(|k| ran.contains(&(k.file.clone(), k.mode.clone())))
        .filter(|k| !observed.contains(&(k.file.clone(), k.mode.clone(), k.what.clone())))
        .collect();
    (documented, undocumented, stale)
}
