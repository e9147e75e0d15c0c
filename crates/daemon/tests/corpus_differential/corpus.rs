//! The corpus: every `.conf` under crates/config/tests/corpus (files under a directory named
//! `include` are fragments other files include, not configurations of their own), the README's
//! examples/keepalived.conf, and the sample files Debian's keepalived package installs (read
//! where the package put them, never copied: they are GPL). Also the marker of files that use
//! keywords newer than keepalived 2.2.7, and the check of its wording.

use std::path::{Path, PathBuf};

/// Where Debian's keepalived package puts its sample configurations.
pub const SAMPLES_DIR: &str = "/usr/share/doc/keepalived/samples";

/// The marker's prefix; the whole line reads
/// `# keepalived-2.2.7: skip (KEYWORDS: VERSION[; KEYWORDS: VERSION...])`, e.g.
/// `# keepalived-2.2.7: skip (track_bfd weight reverse: 2.3.0)`.
pub const MARKER: &str = "# keepalived-2.2.7: skip";

/// One configuration of the corpus.
#[derive(Debug, Clone)]
pub struct CorpusFile {
    /// Absolute path.
    pub path: PathBuf,
    /// How reports and the list of known differences name it: relative to the repository, or
    /// `samples/NAME` for Debian's samples.
    pub name: String,
    /// The marker's reason when the file uses keywords newer than 2.2.7.
    pub newer: Option<String>,
}

/// The repository's root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

/// The corpus files of the repository and, when installed, Debian's samples (else `None` for
/// the samples, so the caller can say so loudly). Wrongly worded markers are returned as
/// errors, one per file.
pub fn files() -> (Vec<CorpusFile>, Option<usize>, Vec<String>) {
    let root = repo_root();
    let mut paths = Vec::new();
    walk(&root.join("crates/config/tests/corpus"), &mut paths);
    paths.push(root.join("examples/keepalived.conf"));
    paths.sort();
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        let name = path
            .strip_prefix(&root)
            .unwrap_or(&path)
            .display()
            .to_string();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let newer = match marker(&text) {
            Ok(m) => m,
            Err(e) => {
                errors.push(format!("{name}: {e}"));
                None
            }
        };
        out.push(CorpusFile { path, name, newer });
    }
    let mut samples: Option<usize> = None;
    if let Ok(entries) = std::fs::read_dir(SAMPLES_DIR) {
        let mut found: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("keepalived.conf.") && !n.ends_with(".gz"))
            })
            .collect();
        found.sort();
        samples = Some(found.len());
        for path in found {
            let name = format!(
                "samples/{}",
                path.file_name().unwrap_or_default().to_string_lossy()
            );
            out.push(CorpusFile {
                path,
                name,
                newer: None,
            });
        }
    }
    (out, samples, errors)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "include") {
                walk(&path, out);
            }
        } else if path.extension().is_some_and(|x| x == "conf") {
            out.push(path);
        }
    }
}

/// The marker of a file: `Ok(None)` without one, `Ok(Some(reason))` for a well-worded one,
/// `Err` when it is worded otherwise. Inside the parentheses: one or more `KEYWORDS: VERSION`
/// separated by `; `, each VERSION a keepalived release after 2.2.7 (`2.3.0`) or `unreleased`
/// for a keyword only in keepalived's development branch.
pub fn marker(text: &str) -> Result<Option<String>, String> {
    let Some(line) = text.lines().find(|l| l.starts_with(MARKER)) else {
        return Ok(None);
    };
    let bad = |why: &str| {
        Err(format!(
            "marker `{line}` {why}: it must read `{MARKER} (KEYWORDS: VERSION[; KEYWORDS: \
             VERSION...])` naming the keepalived version that added them, e.g. \
             `{MARKER} (track_bfd weight reverse: 2.3.0)`"
        ))
    };
    let Some(inner) = line[MARKER.len()..]
        .strip_prefix(" (")
        .and_then(|r| r.strip_suffix(')'))
    else {
        return bad("has no parenthesised list");
    };
    for group in inner.split("; ") {
        let Some((what, version)) = group.rsplit_once(": ") else {
            return bad("names no version");
        };
        if what.trim().is_empty() {
            return bad("names no keyword");
        }
        if version == "unreleased" {
            continue;
        }
        let parts: Vec<u32> = version.split('.').filter_map(|p| p.parse().ok()).collect();
        if parts.len() != 3 || version.split('.').count() != 3 {
            return bad(&format!("has `{version}`, not a version X.Y.Z"));
        }
        if parts.as_slice() <= [2, 2, 7].as_slice() {
            return bad(&format!(
                "has {version}, not newer than 2.2.7 (a keyword 2.2.7 knows is compared)"
            ));
        }
    }
    Ok(Some(inner.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_wording() {
        let ok = "# x\n# keepalived-2.2.7: skip (track_bfd weight reverse: 2.3.0)\n";
        assert_eq!(
            marker(ok).unwrap().as_deref(),
            Some("track_bfd weight reverse: 2.3.0")
        );
        assert_eq!(marker("vrrp_instance x {\n}\n").unwrap(), None);
        assert!(marker("# keepalived-2.2.7: skip newer keywords\n").is_err());
        assert!(marker("# keepalived-2.2.7: skip (x: 2.2.7)\n").is_err());
        assert!(marker("# keepalived-2.2.7: skip (x: 2.3)\n").is_err());
        assert!(marker("# keepalived-2.2.7: skip (: 2.3.0)\n").is_err());
        assert!(marker("# keepalived-2.2.7: skip (a, b: 2.2.8; c: unreleased)\n").is_ok());
        assert!(marker("# keepalived-2.2.7: skip (a: 2.2.8; c)\n").is_err());
    }
}
