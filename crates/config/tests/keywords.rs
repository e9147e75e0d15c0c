//! Keyword coverage: every keyword keepalived 2.4 accepts (tests/data/keepalived-keywords.md, a
//! copy of the project's checklist) is understood by the reader somewhere in the test corpus.
//! A keyword is "understood" only when a block builder dispatched it to a typed field.

#![allow(
    clippy::disallowed_methods,
    reason = "reads the corpus files and the keyword checklist"
)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use keepalived_config::{PreprocessOptions, read_file};

fn checklist() -> BTreeSet<String> {
    let text = include_str!("data/keepalived-keywords.md");
    let mut names = BTreeSet::new();
    let mut in_lists = false;
    for line in text.lines() {
        if line.starts_with("## from") {
            in_lists = true;
            continue;
        }
        if !in_lists || line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let name = line.split_whitespace().next().unwrap_or("");
        names.insert(name.to_owned());
    }
    names
}

fn corpus_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut files = Vec::new();
    for dir in std::fs::read_dir(&root).expect("corpus dir").flatten() {
        for file in std::fs::read_dir(dir.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            if file.path().extension().is_some_and(|e| e == "conf") {
                files.push(file.path());
            }
        }
    }
    files.sort();
    files
}

#[test]
fn checklist_is_complete() {
    let names = checklist();
    assert!(
        names.len() >= 300,
        "checklist parsed to only {} names",
        names.len()
    );
    for expected in [
        "global_defs",
        "vrrp_instance",
        "virtual_server",
        "TCP_CHECK",
        "auth_pass",
        "flag-1",
    ] {
        assert!(
            names.contains(expected),
            "{expected} missing from parsed checklist"
        );
    }
}

#[test]
fn every_keyword_of_the_checklist_is_understood_by_the_corpus() {
    let mut seen = BTreeSet::new();
    for file in corpus_files() {
        let read = read_file(
            &file,
            &PreprocessOptions {
                config_id: "main".into(),
                ..Default::default()
            },
        );
        seen.extend(read.keywords_seen.into_iter().map(|(_, k)| k));
    }
    let missing: Vec<String> = checklist()
        .into_iter()
        .filter(|k| !seen.contains(k))
        .collect();
    assert!(
        missing.is_empty(),
        "{} keywords never understood in the corpus: {missing:?}",
        missing.len()
    );
}

#[test]
fn every_corpus_file_declares_and_meets_its_expectation() {
    let mut wrong = Vec::new();
    // operators/ holds operators' files as they publish them, without headers: their verdict is
    // keepalived's own, compared by crates/daemon/tests/corpus_differential.rs.
    for file in corpus_files()
        .into_iter()
        .filter(|f| !f.parent().is_some_and(|d| d.ends_with("operators")))
    {
        let text = std::fs::read_to_string(&file).expect("read");
        // `invalid (host)`: valid to the reader, rejected by the host checks (daemon/tests/corpus_differential.rs).
        let expect_valid = match text.lines().find_map(|l| l.strip_prefix("# expect: ")) {
            Some("valid") | Some("invalid (host)") => true,
            Some("invalid") => false,
            other => panic!(
                "{}: header `# expect: valid|invalid` missing ({other:?})",
                file.display()
            ),
        };
        let read = read_file(
            &file,
            &PreprocessOptions {
                config_id: "main".into(),
                ..Default::default()
            },
        );
        if read.diagnostics.has_errors() == expect_valid {
            wrong.push(format!(
                "{}: expected {}, got:\n{}",
                file.display(),
                if expect_valid { "valid" } else { "invalid" },
                read.render_diagnostics().join("\n")
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}
