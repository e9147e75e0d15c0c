//! The places each implementation names in its `-t` output, and the rule matching them:
//! every line keepalived names (`(Line N) ...` or `(FILE: Line N) ...`) must be named by one of
//! keepalived-rs's diagnostics (`FILE:LINE:COL: severity: message`).
//!
//! One documented allowance, the *block rule*: keepalived checks a block when it reads the `}`
//! that closes it and reports those checks at that line (e.g. "Cannot use unicast_ttl without
//! unicast peers", named at the instance's `}`). When the line keepalived names holds only a
//! closing `}`, the place it means is the block, so any diagnostic of ours inside that block
//! (from the line that opens it to the `}`) matches. Such matches are counted apart in the
//! summary. No other line is moved: a line keepalived names that ours does not is a
//! disagreement.

use super::scan::Scan;

/// One message of keepalived's `-t` output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KaMessage {
    /// The file it names (`None`: `(Line N)` without a file name, i.e. the main file, or no
    /// place at all).
    pub file: Option<String>,
    /// The line it names.
    pub line: Option<u32>,
    /// The whole output line.
    pub text: String,
}

/// One diagnostic of keepalived-rs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RsDiag {
    /// The file it names (`None` when it names none).
    pub file: Option<String>,
    /// The line it names.
    pub line: Option<u32>,
    /// The first line of the diagnostic as printed.
    pub text: String,
}

/// How a keepalived place was matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaceMatch {
    /// A diagnostic of ours names the same line.
    Exact,
    /// The line is a block's closing `}` and ours names a line of that block.
    Block,
    /// Nothing of ours names it.
    Missing,
}

/// keepalived's output lines (stderr and stdout, in that order), without empty lines.
pub fn parse_keepalived(output: &str) -> Vec<KaMessage> {
    output
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
        .map(|text| {
            let (file, line) = keepalived_place(text);
            KaMessage {
                file,
                line,
                text: text.to_owned(),
            }
        })
        .collect()
}

/// `(Line N) ...` or `(FILE: Line N) ...`.
fn keepalived_place(text: &str) -> (Option<String>, Option<u32>) {
    let Some(rest) = text.strip_prefix('(') else {
        return (None, None);
    };
    let Some(close) = rest
        .find(") ")
        .or_else(|| rest.strip_suffix(')').map(str::len))
    else {
        return (None, None);
    };
    let inside = &rest[..close];
    if let Some(n) = inside.strip_prefix("Line ") {
        return (None, n.trim().parse().ok());
    }
    if let Some((file, n)) = inside.rsplit_once(": Line ")
        && let Ok(n) = n.trim().parse()
    {
        return (Some(file.to_owned()), Some(n));
    }
    (None, None)
}

/// keepalived-rs's diagnostics: the header line of each (`FILE:LINE:COL: SEV: ...`,
/// `FILE: SEV: ...` or `keepalived-rs: SEV: ...`); the quoted source lines under them are
/// skipped.
pub fn parse_ours(stderr: &str) -> Vec<RsDiag> {
    let mut out = Vec::new();
    for text in stderr.lines() {
        if text.starts_with(' ') || text.trim().is_empty() {
            continue;
        }
        let Some((head, _)) = [": error: ", ": warning: ", ": fatal: "]
            .iter()
            .filter_map(|sev| text.find(sev).map(|i| (&text[..i], i)))
            .min_by_key(|(_, i)| *i)
        else {
            out.push(RsDiag {
                file: None,
                line: None,
                text: text.to_owned(),
            });
            continue;
        };
        let (file, line) = match head.rsplitn(3, ':').collect::<Vec<_>>().as_slice() {
            [col, line, file] if col.parse::<u32>().is_ok() => {
                (Some((*file).to_owned()), line.parse().ok())
            }
            _ if head == "keepalived-rs" => (None, None),
            _ => (Some(head.to_owned()), None),
        };
        out.push(RsDiag {
            file,
            line,
            text: text.to_owned(),
        });
    }
    out
}

/// Matches one keepalived place against our diagnostics. `scan` knows the files and their
/// blocks; a place naming no file means the main file (`scan.files[0]`).
pub fn match_place(ka: &KaMessage, ours: &[RsDiag], scan: &Scan) -> PlaceMatch {
    let Some(line) = ka.line else {
        return PlaceMatch::Exact;
    };
    let file = match &ka.file {
        None => Some(0),
        Some(name) => scan.file_index(name),
    };
    let ours_in_file: Vec<u32> = ours
        .iter()
        .filter(|d| {
            d.file
                .as_deref()
                .is_some_and(|f| file.is_some() && scan.file_index(f) == file)
        })
        .filter_map(|d| d.line)
        .collect();
    if ours_in_file.contains(&line) {
        return PlaceMatch::Exact;
    }
    let Some(scanned) = file.and_then(|i| scan.files.get(i)) else {
        return PlaceMatch::Missing;
    };
    if scanned.closing_lines.contains(&line)
        && let Some(&(open, _)) = scanned.blocks.iter().find(|(_, close)| *close == line)
        && ours_in_file.iter().any(|l| (open..=line).contains(l))
    {
        return PlaceMatch::Block;
    }
    PlaceMatch::Missing
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keepalived_places() {
        assert_eq!(
            keepalived_place("(Line 3) Unknown keyword 'x'"),
            (None, Some(3))
        );
        assert_eq!(
            keepalived_place("(/a/b.conf: Line 12) WARNING - x"),
            (Some("/a/b.conf".into()), Some(12))
        );
        assert_eq!(
            keepalived_place("(VI_1) track script x not found"),
            (None, None)
        );
        assert_eq!(keepalived_place("Non-existent interface"), (None, None));
    }

    #[test]
    fn our_places() {
        let d = parse_ours(
            "/a/b.conf:5:15: error: (VI_1) x: y\n    vrrp_instance VI_1 {\n    ^\n\
             /a/c.conf: warning: no line\nkeepalived-rs: error: nowhere\n",
        );
        assert_eq!(d.len(), 3);
        assert_eq!(
            (d[0].file.as_deref(), d[0].line),
            (Some("/a/b.conf"), Some(5))
        );
        assert_eq!((d[1].file.as_deref(), d[1].line), (Some("/a/c.conf"), None));
        assert_eq!((d[2].file.as_deref(), d[2].line), (None, None));
    }
}
