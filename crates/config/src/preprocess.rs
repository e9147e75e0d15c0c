//! The preprocessor: reads the main file and its includes, strips comments, and applies
//! `@id` / `@^id` conditions, `$NAME=value` definitions (multi-line too), `$NAME` / `${NAME}`
//! substitution with keepalived's built-ins, and `~SEQ` / `~SEQx` / `~LST` line repetition.
//! Its output is a flat list of logical lines, each tagged with the file and line it came from.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::diag::{Diagnostics, FileId, Loc, SourceMap};
use crate::lexer;

/// Deepest nesting of includes and of expansions before the reader gives up on a line.
const MAX_DEPTH: u32 = 64;
/// Most substitutions in one line before it is reported as a recursive definition.
const MAX_SUBSTITUTIONS: u32 = 4096;
/// Most lines one `~SEQ` / `~LST` may produce.
const MAX_REPEAT: i64 = 1_000_000;
/// Default for [`PreprocessOptions::repeat_limit`].
pub const MAX_REPEAT_TOTAL: u64 = 2_000_000;

/// Settings of the preprocessor that come from the command line and the environment.
#[derive(Debug, Clone)]
pub struct PreprocessOptions {
    /// The config id (`-i`), compared with `@id` conditions; defaults to the host name's first part.
    pub config_id: String,
    /// Seed of `${_RANDOM}`.
    pub random_seed: u64,
    /// Looks up `${_ENV NAME}`.
    pub env_lookup: fn(&str) -> Option<String>,
    /// Whether `include` lines are followed (the fuzzer turns this off so it never walks the
    /// file system).
    pub follow_includes: bool,
    /// `-e` / `--all-config`: every `include` must match and be readable, as with `includea`.
    pub strict_includes: bool,
    /// Most lines all `~SEQ` / `~LST` of one read may produce together (nested repetitions
    /// multiply; keepalived's own 65,024-instance example needs about a million).
    pub repeat_limit: u64,
}

impl Default for PreprocessOptions {
    #[allow(
        clippy::disallowed_methods,
        reason = "the default `$VAR` lookup is the process environment; callers may pass their own"
    )]
    fn default() -> Self {
        Self {
            config_id: String::new(),
            random_seed: 0,
            env_lookup: |name| std::env::var(name).ok(),
            follow_includes: true,
            strict_includes: false,
            repeat_limit: MAX_REPEAT_TOTAL,
        }
    }
}

/// Receives logical lines as the preprocessor produces them (the tree builder, or a `Vec<Line>`).
pub trait LineSink {
    /// One logical line: comment-free, trimmed, substitutions applied. `indent` is the number of
    /// characters before `text` in the file's line (meaningful only when not `expanded`).
    fn line(&mut self, text: &str, at: LineOrigin, sources: &SourceMap, diags: &mut Diagnostics);
}

/// Where a logical line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineOrigin {
    /// The file.
    pub file: FileId,
    /// 1-based line number in that file (for an expansion: the line that used it).
    pub line: u32,
    /// Characters before the text in the file's line.
    pub indent: u32,
    /// True when substitution or repetition changed the text, so columns may not match the file.
    pub expanded: bool,
}

impl LineSink for Vec<Line> {
    fn line(&mut self, text: &str, at: LineOrigin, _: &SourceMap, _: &mut Diagnostics) {
        self.push(Line {
            text: text.to_owned(),
            file: at.file,
            line: at.line,
            expanded: at.expanded,
        });
    }
}

/// One logical line after preprocessing (as collected by `Vec<Line>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The text, comment-free, substitutions applied.
    pub text: String,
    /// The file it came from.
    pub file: FileId,
    /// 1-based line number in that file (for an expansion: the line that used it).
    pub line: u32,
    /// True when substitution or repetition changed the text, so columns may not match the file.
    pub expanded: bool,
}

/// How strictly an include must match (keepalived's `include` variants).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct IncludeCheck {
    readable: bool,
    must_match: bool,
}

/// Reads `path` and everything it includes, feeding logical lines to `out`.
pub fn preprocess(
    path: &Path,
    opts: &PreprocessOptions,
    sources: &mut SourceMap,
    diags: &mut Diagnostics,
    out: &mut dyn LineSink,
) {
    let mut pre = Pre {
        opts,
        sources,
        diags,
        vars: HashMap::new(),
        out,
        stack: Vec::new(),
        rng: fastrand::Rng::with_seed(opts.random_seed),
        cur_dir: PathBuf::new(),
        cur_file: FileId(0),
        repeat_budget: opts.repeat_limit,
        repeat_stopped: false,
    };
    pre.read_file(
        path,
        None,
        IncludeCheck {
            readable: true,
            must_match: true,
        },
    );
}

/// Reads a configuration from a string, as if it were the file `name` (for tests and fuzzing).
/// `include` lines are resolved against the current directory.
pub fn preprocess_str(
    name: &str,
    text: &str,
    opts: &PreprocessOptions,
    sources: &mut SourceMap,
    diags: &mut Diagnostics,
    out: &mut dyn LineSink,
) {
    let mut pre = Pre {
        opts,
        sources,
        diags,
        vars: HashMap::new(),
        out,
        stack: Vec::new(),
        rng: fastrand::Rng::with_seed(opts.random_seed),
        cur_dir: PathBuf::from("."),
        cur_file: FileId(0),
        repeat_budget: opts.repeat_limit,
        repeat_stopped: false,
    };
    let (id, text) = pre.sources.add(PathBuf::from(name), text.to_owned());
    pre.read_text(id, &text, 0);
}

struct Pre<'a> {
    opts: &'a PreprocessOptions,
    sources: &'a mut SourceMap,
    diags: &'a mut Diagnostics,
    /// Defined parameters; a multi-line value holds its lines joined by '\n'.
    vars: HashMap<String, String>,
    out: &'a mut dyn LineSink,
    /// Canonical paths of the files being read, outermost first, for include-loop detection.
    stack: Vec<PathBuf>,
    rng: fastrand::Rng,
    cur_dir: PathBuf,
    cur_file: FileId,
    /// Lines expansions may still produce (see [`PreprocessOptions::repeat_limit`]).
    repeat_budget: u64,
    /// Set once the budget ran out (reported once).
    repeat_stopped: bool,
}

fn line_loc(file: FileId, line: u32) -> Loc {
    Loc {
        file,
        line,
        col: 1,
        len: 1,
    }
}

impl Pre<'_> {
    #[allow(
        clippy::disallowed_methods,
        reason = "reading the configuration files is this crate's I/O (lib.rs)"
    )]
    fn read_file(&mut self, path: &Path, from: Option<Loc>, check: IncludeCheck) {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                let msg = format!("cannot read configuration file {}: {e}", path.display());
                match from {
                    None => self.diags.fatal(Loc::default(), msg),
                    // keepalived counts a checked include it cannot read as a file error: it
                    // does not start, and `-t` exits 4.
                    Some(loc) if check.readable => self.diags.fatal(loc, msg),
                    Some(loc) => self.diags.warning(loc, msg),
                }
                return;
            }
        };
        let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        if let Some(loc) = from {
            if self.stack.contains(&canonical) {
                let chain: Vec<String> =
                    self.stack.iter().map(|p| p.display().to_string()).collect();
                self.diags.error(
                    loc,
                    format!(
                        "include loop: {} is already being read (via {})",
                        path.display(),
                        chain.join(" -> ")
                    ),
                );
                return;
            }
            if self.stack.len() as u32 >= MAX_DEPTH {
                self.diags
                    .error(loc, format!("includes nested more than {MAX_DEPTH} deep"));
                return;
            }
        }
        let text = String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        let (id, text) = self.sources.add(path.to_path_buf(), text);
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let saved = (std::mem::replace(&mut self.cur_dir, dir), self.cur_file);
        self.stack.push(canonical);
        self.read_text(id, &text, 0);
        self.stack.pop();
        (self.cur_dir, self.cur_file) = saved;
    }

    fn read_text(&mut self, id: FileId, text: &str, depth: u32) {
        self.cur_file = id;
        // A multi-line definition being collected: name, lines so far, where it started.
        let mut pending: Option<(String, Vec<String>)> = None;
        for (idx, raw) in text.split('\n').enumerate() {
            let lineno = u32::try_from(idx + 1).unwrap_or(u32::MAX);
            let raw = raw.strip_suffix('\r').unwrap_or(raw);
            let body = lexer::strip_comment(raw).trim();
            if let Some((name, mut lines)) = pending.take() {
                match body.strip_suffix('\\') {
                    Some(part) => {
                        lines.push(part.trim().to_owned());
                        pending = Some((name, lines));
                    }
                    None => {
                        lines.push(body.to_owned());
                        lines.retain(|l| !l.is_empty());
                        self.vars.insert(name, lines.join("\n"));
                    }
                }
                continue;
            }
            if body.is_empty() {
                continue;
            }
            let indent = raw.len() - raw.trim_start().len();
            let indent = u32::try_from(raw[..indent].chars().count()).unwrap_or(0);
            pending = self.process_line(
                body,
                LineOrigin {
                    file: id,
                    line: lineno,
                    indent,
                    expanded: false,
                },
                depth,
            );
        }
        if let Some((name, lines)) = pending {
            // A continuation on the last line: keep what was collected.
            self.vars.insert(name, lines.join("\n"));
        }
    }

    /// Handles one comment-free, trimmed line. Returns a multi-line definition that has begun.
    fn process_line(
        &mut self,
        text: &str,
        at: LineOrigin,
        depth: u32,
    ) -> Option<(String, Vec<String>)> {
        let (file, line) = (at.file, at.line);
        let mut text = text.trim();
        let at_len = text.len();
        if text.is_empty() {
            return None;
        }
        if at.expanded {
            // Every line an expansion produces counts, so nested definitions cannot blow up.
            if self.repeat_budget == 0 {
                self.budget_exhausted(line_loc(file, line));
                return None;
            }
            self.repeat_budget -= 1;
        }
        if depth > MAX_DEPTH {
            self.diags.error(
                line_loc(file, line),
                "expansion nested too deep (recursive definition?)",
            );
            return None;
        }
        // Conditional lines: `@id rest` or `@^id rest`.
        while let Some(cond) = text.strip_prefix('@') {
            let (word, rest) = split_first_word(cond);
            let (negate, id) = match word.strip_prefix('^') {
                Some(id) => (true, id),
                None => (false, word),
            };
            if (id == self.opts.config_id) == negate {
                return None;
            }
            text = rest.trim_start();
            if text.is_empty() {
                return None;
            }
        }
        // Definitions: `$NAME=value`, or `$NAME=\` starting a multi-line value.
        if let Some((name, value)) = parse_definition(text) {
            let value = value.trim();
            if let Some(first) = value.strip_suffix('\\') {
                let first = first.trim();
                let lines = if first.is_empty() {
                    Vec::new()
                } else {
                    vec![first.to_owned()]
                };
                return Some((name.to_owned(), lines));
            }
            self.vars.insert(name.to_owned(), value.to_owned());
            return None;
        }
        // Repetition: `~SEQ(var, start, step, end) rest`, `~SEQx(...)`, `~LST(var, v1, v2) rest`.
        if text.starts_with('~') {
            self.repeat_line(text, at, depth);
            return None;
        }
        if text.contains('$') {
            let loc = line_loc(file, line);
            if let Some(result) = self.substitute(text, loc) {
                let mut started: Option<(String, Vec<String>)> = None;
                for part in result.split('\n') {
                    // A definition that starts in an expansion swallows the expansion's next lines.
                    if let Some((name, mut lines)) = started.take() {
                        let part: &str = part.trim();
                        match part.strip_suffix('\\') {
                            Some(p) => {
                                lines.push(p.trim().to_owned());
                                started = Some((name, lines));
                            }
                            None => {
                                lines.push(part.to_owned());
                                lines.retain(|l: &String| !l.is_empty());
                                self.vars.insert(name, lines.join("\n"));
                            }
                        }
                        continue;
                    }
                    started = self.process_line(
                        part,
                        LineOrigin {
                            expanded: true,
                            ..at
                        },
                        depth + 1,
                    );
                }
                return started;
            }
        }
        let (first, rest) = split_first_word(text);
        let check = match first {
            // `-e` / `--all-config` makes a plain include as strict as `includea`.
            "include" => Some(IncludeCheck {
                readable: self.opts.strict_includes,
                must_match: self.opts.strict_includes,
            }),
            "includer" => Some(IncludeCheck {
                readable: true,
                must_match: false,
            }),
            "includem" | "includew" | "includeb" => Some(IncludeCheck {
                readable: false,
                must_match: true,
            }),
            "includea" => Some(IncludeCheck {
                readable: true,
                must_match: true,
            }),
            _ => None,
        };
        if let Some(check) = check {
            self.include(rest, check, file, line, text);
            return None;
        }
        // A conditional prefix moves the text right: columns are then found by search.
        let at = if text.len() == at_len {
            at
        } else {
            LineOrigin {
                expanded: true,
                ..at
            }
        };
        self.out.line(text, at, self.sources, self.diags);
        None
    }

    #[allow(
        clippy::disallowed_methods,
        reason = "an include names files and directories (a directory matched is skipped)"
    )]
    fn include(&mut self, rest: &str, check: IncludeCheck, file: FileId, line: u32, text: &str) {
        if !self.opts.follow_includes {
            self.diags.warning(
                line_loc(file, line),
                "include not followed (includes are disabled)",
            );
            return;
        }
        let mut unterminated = false;
        let words = lexer::split_words(rest, &mut unterminated);
        let col = u32::try_from(text.len() - rest.len() + 1).unwrap_or(1);
        let loc = Loc {
            file,
            line,
            col,
            len: u32::try_from(rest.chars().count()).unwrap_or(1).max(1),
        };
        if words.is_empty() {
            self.diags.error(loc, "include needs a file name");
            return;
        }
        for word in words {
            let pattern = if Path::new(&word.text).is_absolute() {
                PathBuf::from(&word.text)
            } else {
                self.cur_dir.join(&word.text)
            };
            let mut matched = Vec::new();
            for alternative in expand_braces(&pattern.to_string_lossy()) {
                let found: Vec<PathBuf> = match glob::glob(&alternative) {
                    Ok(paths) => paths.filter_map(Result::ok).collect(),
                    Err(e) => {
                        self.diags
                            .error(loc, format!("bad include pattern {alternative}: {e}"));
                        continue;
                    }
                };
                if found.is_empty() && check.must_match && alternative.contains(['*', '?', '[']) {
                    self.diags
                        .fatal(loc, format!("include: nothing matches {alternative}"));
                }
                matched.extend(found);
            }
            matched.sort();
            matched.dedup();
            if matched.is_empty() {
                let msg = format!("include: no file matches {}", pattern.display());
                if check.must_match || check.readable {
                    self.diags.fatal(loc, msg);
                } else {
                    self.diags.warning(loc, msg);
                }
            }
            for path in matched {
                if path.is_dir() {
                    continue;
                }
                self.read_file(&path, Some(loc), check);
            }
        }
        self.cur_file = file;
    }

    fn repeat_line(&mut self, text: &str, at: LineOrigin, depth: u32) {
        let loc = line_loc(at.file, at.line);
        let Some(open) = text.find('(') else {
            self.diags.error(
                loc,
                format!("unknown line directive {}", split_first_word(text).0),
            );
            return;
        };
        let directive = &text[..open];
        let Some(close_rel) = text[open..].find(')') else {
            self.diags.error(loc, format!("{directive}: missing ')'"));
            return;
        };
        // ~LST may have {..} groups containing commas but never ')', so the first ')' ends it.
        let spec = self.substitute(&text[open + 1..open + close_rel], loc);
        let spec_owned = spec.unwrap_or_else(|| text[open + 1..open + close_rel].to_owned());
        let rest = text[open + close_rel + 1..].trim();
        let assignments: Vec<Vec<(String, String)>> = match directive {
            "~SEQ" | "~SEQx" => match parse_seq(&spec_owned, directive == "~SEQx") {
                Ok(list) => list,
                Err(e) => {
                    self.diags
                        .error(loc, format!("{directive}({spec_owned}): {e}"));
                    return;
                }
            },
            "~LST" => match parse_lst(&spec_owned) {
                Ok(list) => list,
                Err(e) => {
                    self.diags.error(loc, format!("~LST({spec_owned}): {e}"));
                    return;
                }
            },
            other => {
                self.diags.error(
                    loc,
                    format!("unknown line directive {other} (expected ~SEQ, ~SEQx or ~LST)"),
                );
                return;
            }
        };
        for values in assignments {
            if self.repeat_budget == 0 {
                self.budget_exhausted(loc);
                return;
            }
            let saved: Vec<(String, Option<String>)> = values
                .iter()
                .map(|(name, value)| (name.clone(), self.vars.insert(name.clone(), value.clone())))
                .collect();
            let _ = self.process_line(
                rest,
                LineOrigin {
                    expanded: true,
                    ..at
                },
                depth + 1,
            );
            for (name, old) in saved {
                match old {
                    Some(v) => self.vars.insert(name, v),
                    None => self.vars.remove(&name),
                };
            }
        }
    }

    fn budget_exhausted(&mut self, loc: Loc) {
        if !self.repeat_stopped {
            self.repeat_stopped = true;
            let msg = format!(
                "expansion stopped: more than {} generated lines in total",
                self.opts.repeat_limit
            );
            self.diags.error(loc, msg);
        }
    }

    /// Substitutes parameters; `None` when the text has nothing to substitute.
    fn substitute(&mut self, text: &str, loc: Loc) -> Option<String> {
        let mut s = text.to_owned();
        let mut pos = 0;
        let mut count = 0u32;
        let mut changed = false;
        while let Some(found) = s[pos..].find('$') {
            let at = pos + found;
            let after = &s[at + 1..];
            let (replacement, consumed) = if let Some(inner) = after.strip_prefix('{') {
                let Some(end) = inner.find('}') else {
                    pos = at + 1;
                    continue;
                };
                let body = &inner[..end];
                match self.lookup(body) {
                    Some(v) => (v, end + 3),
                    None => {
                        if is_name(body) {
                            self.diags.warning(
                                loc,
                                format!("undefined parameter ${{{body}}} left as written"),
                            );
                        }
                        pos = at + 1;
                        continue;
                    }
                }
            } else {
                let len = after
                    .bytes()
                    .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
                    .count();
                let name = &after[..len];
                let ends_word = after[len..].chars().next().is_none_or(char::is_whitespace);
                match (is_name(name) && ends_word)
                    .then(|| self.vars.get(name).cloned())
                    .flatten()
                {
                    Some(v) => (v, len + 1),
                    None => {
                        pos = at + 1;
                        continue;
                    }
                }
            };
            count += 1;
            if count > MAX_SUBSTITUTIONS || s.len() > text.len() + (1 << 20) {
                self.diags.error(
                    loc,
                    "parameter substitution does not terminate (recursive definition?)",
                );
                return Some(s);
            }
            s.replace_range(at..at + consumed, &replacement);
            changed = true;
            // Replacement is recursive: rescan from the same place.
            pos = at;
        }
        changed.then_some(s)
    }

    /// The value of `${body}`: a defined parameter or a built-in.
    fn lookup(&mut self, body: &str) -> Option<String> {
        let (name, args) = split_first_word(body);
        match name {
            "_PWD" => Some(self.cur_dir_display()),
            "_INSTANCE" => Some(self.opts.config_id.clone()),
            "_HASH" => Some("#".into()),
            "_BANG" => Some("!".into()),
            "_ENV" => Some((self.opts.env_lookup)(args.trim()).unwrap_or_default()),
            "_RANDOM" => {
                let mut nums = args.split_whitespace().map(str::parse::<u64>);
                let min = nums.next().and_then(Result::ok).unwrap_or(0);
                let max = nums.next().and_then(Result::ok).unwrap_or(32767).max(min);
                Some(self.rng.u64(min..=max).to_string())
            }
            _ if args.is_empty() => self.vars.get(name).cloned(),
            _ => None,
        }
    }

    #[allow(
        clippy::disallowed_methods,
        reason = "`${_PWD}` is the included file's directory, resolved as keepalived resolves it"
    )]
    fn cur_dir_display(&self) -> String {
        let dir = std::fs::canonicalize(&self.cur_dir).unwrap_or_else(|_| self.cur_dir.clone());
        dir.display().to_string()
    }
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn split_first_word(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    match s.find(char::is_whitespace) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, ""),
    }
}

/// `$NAME=value` → (NAME, value).
fn parse_definition(text: &str) -> Option<(&str, &str)> {
    let rest = text.strip_prefix('$')?;
    let eq = rest.find('=')?;
    let name = &rest[..eq];
    is_name(name).then(|| (name, &rest[eq + 1..]))
}

fn parse_int(s: &str) -> Result<i64, String> {
    let t = s.trim();
    let (neg, digits) = match t.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, t),
    };
    let v = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) => i64::from_str_radix(hex, 16),
        None => digits.parse::<i64>(),
    }
    .map_err(|_| format!("'{t}' is not an integer"))?;
    Ok(if neg { -v } else { v })
}

/// `var, start, step, end` / `var, start, end` / `var, end`.
fn parse_seq(spec: &str, hex: bool) -> Result<Vec<Vec<(String, String)>>, String> {
    let parts: Vec<&str> = spec.split(',').map(str::trim).collect();
    let var = parts.first().copied().unwrap_or("");
    if !is_name(var) {
        return Err(format!("'{var}' is not a variable name"));
    }
    let nums: Vec<i64> = parts[1..]
        .iter()
        .map(|p| parse_int(p))
        .collect::<Result<_, _>>()?;
    let (start, step, end) = match nums.as_slice() {
        [end] => (if *end >= 0 { 1 } else { -1 }, None, *end),
        [start, end] => (*start, None, *end),
        [start, step, end] => (*start, Some(*step), *end),
        _ => return Err("expected (var, [start,] [step,] end)".into()),
    };
    let step = step.unwrap_or(if end >= start { 1 } else { -1 });
    if step == 0 {
        return Err("step must not be 0".into());
    }
    if (end - start).signum() * step.signum() < 0 {
        return Ok(Vec::new());
    }
    let count = (end - start) / step + 1;
    if count > MAX_REPEAT {
        return Err(format!("would produce {count} lines (limit {MAX_REPEAT})"));
    }
    Ok((0..count)
        .map(|i| {
            let v = start + i * step;
            let text = if hex { format!("{v:x}") } else { v.to_string() };
            vec![(var.to_owned(), text)]
        })
        .collect())
}

/// `var, v1, v2` or `{a, b}, {1, 2}, {3, 4}`.
fn parse_lst(spec: &str) -> Result<Vec<Vec<(String, String)>>, String> {
    let items = split_groups(spec)?;
    let (names, values) = items.split_first().ok_or("expected (var, values...)")?;
    if !names.iter().all(|n| is_name(n)) {
        return Err(format!("'{}' is not a variable name", names.join(", ")));
    }
    if values.is_empty() {
        return Err("needs at least one value".into());
    }
    values
        .iter()
        .map(|group| {
            if group.len() != names.len() {
                return Err(format!(
                    "{} values given for {} variables",
                    group.len(),
                    names.len()
                ));
            }
            Ok(names.iter().cloned().zip(group.iter().cloned()).collect())
        })
        .collect()
}

/// Splits `a, {b, c}, d` into [[a], [b, c], [d]].
fn split_groups(spec: &str) -> Result<Vec<Vec<String>>, String> {
    let mut out = Vec::new();
    let mut rest = spec.trim();
    while !rest.is_empty() {
        if let Some(inner) = rest.strip_prefix('{') {
            let end = inner.find('}').ok_or("missing '}'")?;
            out.push(
                inner[..end]
                    .split(',')
                    .map(|s| s.trim().to_owned())
                    .collect(),
            );
            rest = inner[end + 1..].trim_start();
            rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            out.push(vec![rest[..end].trim().to_owned()]);
            rest = rest.get(end + 1..).unwrap_or("").trim_start();
        }
    }
    Ok(out)
}

/// csh-style brace expansion: `a{b,c{d,e}}f` → abf, acdf, acef.
pub(crate) fn expand_braces(pattern: &str) -> Vec<String> {
    let bytes = pattern.as_bytes();
    let Some(open) = pattern.find('{') else {
        return vec![pattern.to_owned()];
    };
    let mut depth = 0;
    let mut commas = Vec::new();
    let mut close = None;
    for (i, &b) in bytes.iter().enumerate().skip(open) {
        match b {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(i);
                    break;
                }
            }
            b',' if depth == 1 => commas.push(i),
            _ => {}
        }
    }
    let Some(close) = close else {
        return vec![pattern.to_owned()];
    };
    let (prefix, suffix) = (&pattern[..open], &pattern[close + 1..]);
    let mut bounds = vec![open];
    bounds.extend(commas);
    bounds.push(close);
    let mut out = Vec::new();
    for pair in bounds.windows(2) {
        let alt = &pattern[pair[0] + 1..pair[1]];
        for expanded in expand_braces(&format!("{prefix}{alt}{suffix}")) {
            out.push(expanded);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str, id: &str) -> (Vec<String>, Diagnostics) {
        let opts = PreprocessOptions {
            config_id: id.into(),
            ..Default::default()
        };
        let mut sources = SourceMap::default();
        let mut diags = Diagnostics::default();
        let mut lines: Vec<Line> = Vec::new();
        preprocess_str("t.conf", text, &opts, &mut sources, &mut diags, &mut lines);
        (lines.into_iter().map(|l| l.text).collect(), diags)
    }

    #[test]
    fn conditionals() {
        let text = "@main router_id a\n@backup router_id b\n@^main x\n";
        assert_eq!(run(text, "main").0, ["router_id a"]);
        assert_eq!(run(text, "backup").0, ["router_id b", "x"]);
    }

    #[test]
    fn recursive_substitution_at_use_time() {
        let text = "$B=10.2.${S}\n$S=0\n${B}.100/32\n$S=10\n${B}.100/32\n$P=240\npriority $P\n";
        assert_eq!(
            run(text, "").0,
            ["10.2.0.100/32", "10.2.10.100/32", "priority 240"]
        );
    }

    #[test]
    fn undefined_left_alone_and_recursion_stopped() {
        let (lines, diags) = run("script \"echo ${NOPE} $HOME\"\n$A=${A}x\n$A\n", "");
        assert_eq!(lines[0], "script \"echo ${NOPE} $HOME\"");
        assert!(diags.has_errors());
    }

    #[test]
    fn multiline_definitions_nest() {
        let text =
            "$RS= \\\nreal_server 192.0.2.${N} 80 { \\\nweight 1 \\\n}\n$N=1\n$RS\n$N=2\n$RS\n";
        let (lines, _) = run(text, "");
        assert_eq!(
            lines,
            [
                "real_server 192.0.2.1 80 {",
                "weight 1",
                "}",
                "real_server 192.0.2.2 80 {",
                "weight 1",
                "}"
            ]
        );
    }

    #[test]
    fn conditional_through_parameter() {
        assert_eq!(
            run("$IF=@main\n$IF priority 240\n", "main").0,
            ["priority 240"]
        );
        assert!(run("$IF=@main\n$IF priority 240\n", "other").0.is_empty());
    }

    #[test]
    fn sequences_and_lists() {
        assert_eq!(run("~SEQ(S, 0, 3) ip 10.0.${S}.1", "").0.len(), 4);
        assert_eq!(
            run("~SEQx(S, 0x90, 0x10, 0xc0) fe80::${S}:1", "").0[1],
            "fe80::a0:1"
        );
        assert_eq!(run("~SEQ(S, 3) x${S}", "").0, ["x1", "x2", "x3"]);
        let lst = run(
            "~LST({IP, IP1}, {10,1},{20,4}) ~SEQ(X,168,2,170) 192.${X}.${IP}.${IP1}",
            "",
        )
        .0;
        assert_eq!(
            lst,
            [
                "192.168.10.1",
                "192.170.10.1",
                "192.168.20.4",
                "192.170.20.4"
            ]
        );
    }

    #[test]
    fn builtins() {
        let (l, _) = run("a ${_HASH}${_BANG} ${_INSTANCE}\nr ${_RANDOM 5 5}", "node1");
        assert_eq!(l, ["a #! node1", "r 5"]);
    }

    #[test]
    fn braces_expand() {
        assert_eq!(expand_braces("a{b,c{d,e}}f"), ["abf", "acdf", "acef"]);
        assert_eq!(expand_braces("x{,y}"), ["x", "xy"]);
    }
}
