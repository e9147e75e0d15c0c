//! Diagnostics: located errors and warnings, collected (never fatal to the reader) and rendered
//! as `FILE:LINE:COL: error: ...` with the offending line and a caret.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

/// Index of a file in the [`SourceMap`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct FileId(pub u32);

/// A place in the configuration: file, 1-based line and 1-based column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Loc {
    /// The file.
    pub file: FileId,
    /// 1-based line number (0 when the place is not in any file, e.g. the command line).
    pub line: u32,
    /// 1-based column (in characters) of the start of the offending text.
    pub col: u32,
    /// Width of the offending text in characters (at least 1 for the caret).
    pub len: u32,
}

/// How bad a diagnostic is; decides `-t`'s exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; the configuration is still valid.
    Warning,
    /// The offending part is dropped or corrected; keepalived would still run (exit 5 from
    /// `-t`).
    Error,
    /// keepalived cannot run at all (exit 4 from `-t`, unless errors were also reported).
    Fatal,
}

/// What a diagnostic is about, for the exit code and for tests that look for a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DiagKind {
    /// Anything not covered by a more specific kind.
    General,
    /// A keyword no block knows.
    UnknownKeyword,
    /// Scripts are configured but `enable_script_security` is not set (exit 6 from `-t`).
    ScriptSecurity,
    /// An interface named in the configuration does not exist on this host.
    MissingInterface,
}

/// One located message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Warning, error or fatal.
    pub severity: Severity,
    /// Classification.
    pub kind: DiagKind,
    /// Where.
    pub loc: Loc,
    /// What, in one sentence.
    pub message: String,
}

/// All diagnostics of one read, in the order they were found.
#[derive(Debug, Clone, Default)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
    suppressed: usize,
    suppressed_errors: bool,
}

/// Most diagnostics kept; more (from megabytes of garbage) are counted, not stored.
pub const MAX_DIAGNOSTICS: usize = 10_000;

impl Diagnostics {
    /// Records an error at `loc`.
    pub fn error(&mut self, loc: Loc, message: impl Into<String>) {
        self.push(Severity::Error, DiagKind::General, loc, message);
    }
    /// Records a warning at `loc`.
    pub fn warning(&mut self, loc: Loc, message: impl Into<String>) {
        self.push(Severity::Warning, DiagKind::General, loc, message);
    }
    /// Records a fatal error at `loc`.
    pub fn fatal(&mut self, loc: Loc, message: impl Into<String>) {
        self.push(Severity::Fatal, DiagKind::General, loc, message);
    }
    /// Records a diagnostic of any severity and kind.
    pub fn push(
        &mut self,
        severity: Severity,
        kind: DiagKind,
        loc: Loc,
        message: impl Into<String>,
    ) {
        if self.items.len() >= MAX_DIAGNOSTICS {
            self.suppressed += 1;
            self.suppressed_errors |= severity >= Severity::Error;
            return;
        }
        self.items.push(Diagnostic {
            severity,
            kind,
            loc,
            message: message.into(),
        });
    }
    /// True once [`MAX_DIAGNOSTICS`] are kept: further ones are only counted.
    pub fn is_full(&self) -> bool {
        self.items.len() >= MAX_DIAGNOSTICS
    }
    /// How many diagnostics were counted but not kept (beyond [`MAX_DIAGNOSTICS`]).
    pub fn suppressed(&self) -> usize {
        self.suppressed
    }
    /// Appends another collection's diagnostics (and its suppressed count).
    pub fn extend(&mut self, other: Diagnostics) {
        self.suppressed += other.suppressed;
        self.suppressed_errors |= other.suppressed_errors;
        for d in other.items {
            self.push(d.severity, d.kind, d.loc, d.message);
        }
    }
    /// All diagnostics, in order of discovery.
    pub fn items(&self) -> &[Diagnostic] {
        &self.items
    }
    /// True when any error or fatal error was recorded.
    pub fn has_errors(&self) -> bool {
        self.suppressed_errors || self.items.iter().any(|d| d.severity >= Severity::Error)
    }
    /// True when errors were counted beyond [`MAX_DIAGNOSTICS`] without being kept.
    pub fn has_suppressed_errors(&self) -> bool {
        self.suppressed_errors
    }
    /// True when a fatal error was recorded.
    pub fn has_fatal(&self) -> bool {
        self.items.iter().any(|d| d.severity == Severity::Fatal)
    }
    /// Number of errors (fatal included).
    pub fn error_count(&self) -> usize {
        self.items
            .iter()
            .filter(|d| d.severity >= Severity::Error)
            .count()
    }
    /// Sorts by place (file, line, column), keeping discovery order for ties.
    pub fn sort(&mut self) {
        self.items
            .sort_by_key(|d| (d.loc.file, d.loc.line, d.loc.col));
    }
}

/// The files that were read, with their lines, for rendering diagnostics.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

#[derive(Debug, Clone)]
struct SourceFile {
    path: PathBuf,
    text: Arc<String>,
    /// Byte offset of the start of each line.
    line_starts: Vec<usize>,
}

impl SourceMap {
    /// Adds a file and its text; returns its id and the shared text.
    pub fn add(&mut self, path: PathBuf, text: String) -> (FileId, Arc<String>) {
        let id = FileId(u32::try_from(self.files.len()).unwrap_or(u32::MAX));
        let mut line_starts = vec![0];
        line_starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        let text = Arc::new(text);
        self.files.push(SourceFile {
            path,
            text: Arc::clone(&text),
            line_starts,
        });
        (id, text)
    }
    /// The path of a file, as it was named (relative paths resolved against their includer).
    pub fn path(&self, id: FileId) -> Option<&std::path::Path> {
        self.files.get(id.0 as usize).map(|f| f.path.as_path())
    }
    /// The text of a 1-based line.
    pub fn line(&self, id: FileId, line: u32) -> Option<&str> {
        let f = self.files.get(id.0 as usize)?;
        let idx = (line as usize).checked_sub(1)?;
        let start = *f.line_starts.get(idx)?;
        let end = f
            .line_starts
            .get(idx + 1)
            .map_or(f.text.len(), |next| next - 1);
        let text = f.text.get(start..end)?;
        Some(text.strip_suffix('\r').unwrap_or(text))
    }
    /// Number of files read.
    pub fn len(&self) -> usize {
        self.files.len()
    }
    /// True when no file was read.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Renders one diagnostic as `FILE:LINE:COL: severity: message`, then the line and a caret.
    pub fn render(&self, d: &Diagnostic) -> String {
        let sev = match d.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Fatal => "fatal",
        };
        let mut out = String::new();
        let path = self.path(d.loc.file).map(|p| p.display().to_string());
        match (path, d.loc.line) {
            (Some(p), line) if line > 0 => {
                let _ = write!(out, "{p}:{line}:{}: {sev}: {}", d.loc.col.max(1), d.message);
            }
            (Some(p), _) => {
                let _ = write!(out, "{p}: {sev}: {}", d.message);
            }
            (None, _) => {
                let _ = write!(out, "keepalived-rs: {sev}: {}", d.message);
            }
        }
        if let Some(text) = self.line(d.loc.file, d.loc.line) {
            // Long lines (up to megabytes) are cut around the caret so the output stays readable.
            let col = (d.loc.col.max(1) - 1) as usize;
            let start = col.saturating_sub(60);
            let mut window = text.chars().skip(start);
            let shown: String = window.by_ref().take(col + 100 - start).collect();
            let end = start + shown.chars().count();
            let prefix = if start > 0 { "..." } else { "" };
            let suffix = if window.next().is_some() { "..." } else { "" };
            let shown = shown.replace('\t', " ");
            let _ = write!(out, "\n    {prefix}{shown}{suffix}");
            let pad = prefix.len() + col - start.min(col);
            let width = (d.loc.len.max(1) as usize).min(end.saturating_sub(col).max(1));
            let _ = write!(out, "\n    {}{}", " ".repeat(pad), "^".repeat(width));
        }
        out
    }
}
