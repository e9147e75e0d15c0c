//! The layering rule of this crate, checked: every reference from one top-level module to another
//! (`crate::X`, or `super::` climbing out of a module, in code, `use` or not) points to a lower
//! layer, and the children of the shared layers (`services`, `plan`) never reference each other in
//! a circle. Comments, doc comments (intra-doc links may point anywhere) and string literals do not
//! count. A new top-level module must be given a layer here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, from the top (entry points) down; `main.rs` may use anything.
const LAYERS: &[&[&str]] = &[
    // Entry points: the parent, an engine process's entry, `-t`; and this test.
    &["supervisor", "engine", "config_test", "layering"],
    // The engine processes.
    &["vrrp", "checker", "bfd"],
    // What more than one process uses.
    &["services"],
    // Pure planning.
    &["plan"],
];

/// Modules whose children must not reference each other in a circle.
const ACYCLIC: &[&str] = &["services", "plan"];

/// One reference from a file to a module path (`crate::a::b` gives `["a", "b"]`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Reference {
    file: String,
    line: usize,
    target: Vec<String>,
}

/// The module path of a source file relative to `src/` (`vrrp/driver.rs` is `vrrp::driver`,
/// `vrrp/mod.rs` is `vrrp`, `main.rs` is the root).
fn module_of(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if let Some(last) = parts.pop() {
        let stem = last.trim_end_matches(".rs");
        if stem != "mod" && stem != "main" {
            parts.push(stem.to_owned());
        }
    }
    parts
}

/// `text` with comments and the contents of string and char literals replaced by spaces
/// (newlines kept, so line numbers stay right).
fn code_only(text: &str) -> String {
    let b: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(b[i]));
                    i += 1;
                }
            }
        } else if c == 'r' && (next == Some('"') || next == Some('#')) && !ident_before(&b, i) {
            // A raw string: r"..." or r#"..."#.
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            out.extend(std::iter::repeat_n(' ', j + 1 - i));
            i = j + 1;
            while i < b.len() {
                if b[i] == '"' && (0..hashes).all(|k| b.get(i + 1 + k) == Some(&'#')) {
                    out.extend(std::iter::repeat_n(' ', hashes + 1));
                    i += hashes + 1;
                    break;
                }
                out.push(blank(b[i]));
                i += 1;
            }
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if let Some(&ch) = b.get(i) {
                    out.push(blank(ch));
                }
                i += 1;
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{..}'), not a lifetime ('a).
            let close = if next == Some('\\') {
                (i + 2..b.len().min(i + 12)).find(|&j| b[j] == '\'')
            } else if b.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match close {
                Some(end) => {
                    out.extend(std::iter::repeat_n(' ', end + 1 - i));
                    i = end + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn ident_before(b: &[char], i: usize) -> bool {
    i > 0 && (b[i - 1].is_alphanumeric() || b[i - 1] == '_')
}

fn ident_at(s: &str) -> Option<&str> {
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    (end > 0).then(|| &s[..end])
}

/// The top-level names of a `{a, b::c, d as e}` group starting at `s` (just after the `{`).
fn group_heads(s: &str) -> Vec<String> {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut at_item = true;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => at_item = true,
            c if c.is_whitespace() => {}
            _ if at_item && depth == 0 => {
                at_item = false;
                if let Some(id) = ident_at(&s[i..]) {
                    heads.push(id.to_owned());
                }
            }
            _ => {}
        }
    }
    heads
}

/// Every module path `file` (at module path `module`) refers to, resolved from the crate root.
fn references(file: &str, module: &[String], text: &str) -> Vec<Reference> {
    let code = code_only(text);
    let mut refs = Vec::new();
    let bytes = code.as_bytes();
    let mut push = |at: usize, target: Vec<String>| {
        let line = code[..at].matches('\n').count() + 1;
        refs.push(Reference {
            file: file.to_owned(),
            line,
            target,
        });
    };
    let mut i = 0;
    while i < code.len() {
        let rest = &code[i..];
        let starts_word = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        if starts_word && (rest.starts_with("crate::") || rest.starts_with("super::")) {
            let (mut base, mut tail) = if let Some(tail) = rest.strip_prefix("crate::") {
                (Vec::new(), tail)
            } else {
                let mut base = module.to_vec();
                let mut tail = rest;
                while let Some(t) = tail.strip_prefix("super::") {
                    base.pop();
                    tail = t.trim_start();
                }
                (base, tail)
            };
            // Follow `a::b::` as far as it goes.
            while let Some(id) = ident_at(tail) {
                base.push(id.to_owned());
                match tail[id.len()..].strip_prefix("::") {
                    Some(t) => tail = t,
                    None => {
                        tail = "";
                        break;
                    }
                }
            }
            if let Some(group) = tail.strip_prefix('{') {
                for head in group_heads(group) {
                    let mut target = base.clone();
                    if head != "self" {
                        target.push(head);
                    }
                    push(i, target);
                }
            } else {
                push(i, base);
            }
            i += 7;
        } else {
            i += rest.chars().next().map_or(1, char::len_utf8);
        }
    }
    refs
}

fn layer_of(top: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&top))
}

/// The rule's violations among `files` (path relative to `src/`, contents).
fn violations(files: &[(PathBuf, String)]) -> Vec<String> {
    let mut problems = Vec::new();
    // Per shared module: child -> children it references.
    let mut edges: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for (rel, text) in files {
        let module = module_of(rel);
        let Some(from_top) = module.first() else {
            continue; // main.rs
        };
        let Some(from_layer) = layer_of(from_top) else {
            problems.push(format!(
                "{}: top-level module `{from_top}` has no layer in layering.rs",
                rel.display()
            ));
            continue;
        };
        for r in references(&rel.display().to_string(), &module, text) {
            let Some(to_top) = r.target.first() else {
                continue;
            };
            if to_top == from_top {
                if ACYCLIC.contains(&from_top.as_str())
                    && let (Some(a), Some(b)) = (module.get(1), r.target.get(1))
                    && a != b
                {
                    edges
                        .entry(from_top.clone())
                        .or_default()
                        .entry(a.clone())
                        .or_default()
                        .insert(b.clone());
                }
                continue;
            }
            match layer_of(to_top) {
                Some(to_layer) if to_layer > from_layer => {}
                Some(_) => problems.push(format!(
                    "{}:{}: `{}` reaches up or sideways to `crate::{}`",
                    r.file,
                    r.line,
                    from_top,
                    r.target.join("::")
                )),
                // An item of the crate root (`crate::GLOBAL`) or an unknown module.
                None => problems.push(format!(
                    "{}:{}: `crate::{}` is not in a layer",
                    r.file,
                    r.line,
                    r.target.join("::")
                )),
            }
        }
    }
    for (parent, graph) in &edges {
        if let Some(cycle) = find_cycle(graph) {
            problems.push(format!(
                "circular references inside `{parent}`: {}",
                cycle.join(" -> ")
            ));
        }
    }
    problems
}

/// A cycle of `graph`, as the nodes along it (first repeated at the end).
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

fn source_files(dir: &Path, root: &Path, out: &mut Vec<(PathBuf, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("reading src/")
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            source_files(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).expect("reading a source file");
            let rel = path.strip_prefix(root).expect("under src/").to_path_buf();
            out.push((rel, text));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_only_point_down() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        source_files(&src, &src, &mut files);
        assert!(files.len() > 20, "found the sources: {}", files.len());
        let problems = violations(&files);
        assert!(problems.is_empty(), "layering:\n{}", problems.join("\n"));
    }

    fn files(list: &[(&str, &str)]) -> Vec<(PathBuf, String)> {
        list.iter()
            .map(|(p, t)| (PathBuf::from(p), (*t).to_owned()))
            .collect()
    }

    #[test]
    fn an_upward_reference_is_found_in_code_but_not_in_comments_or_strings() {
        let found = violations(&files(&[
            (
                "plan/convert.rs",
                "//! See [`crate::vrrp::driver`].\n/* crate::supervisor */\nfn f() {\n    \
                 let s = \"crate::checker\";\n    let _ = r#\"crate::engine\"#;\n    \
                 super::vmac::spec();\n}\n",
            ),
            ("services/log.rs", "fn g() { let _ = crate::vrrp::x; }\n"),
        ]));
        assert_eq!(
            found,
            ["services/log.rs:1: `services` reaches up or sideways to `crate::vrrp::x`"]
        );
    }

    #[test]
    fn grouped_imports_super_chains_and_siblings() {
        let found = violations(&files(&[
            (
                "vrrp/trackers/link.rs",
                "use super::super::link::x;\nuse super::super::super::checker::x;\n",
            ),
            (
                "vrrp/driver.rs",
                "use crate::{plan::convert, supervisor};\n",
            ),
            ("checker/driver.rs", "use crate::vrrp::link;\n"),
            ("engine.rs", "use crate::{services::cli, vrrp};\n"),
        ]));
        assert_eq!(
            found,
            [
                "vrrp/trackers/link.rs:2: `vrrp` reaches up or sideways to `crate::checker::x`",
                "vrrp/driver.rs:1: `vrrp` reaches up or sideways to `crate::supervisor`",
                "checker/driver.rs:1: `checker` reaches up or sideways to `crate::vrrp::link`",
            ]
        );
    }

    #[test]
    fn a_circle_inside_services_and_an_unknown_module_are_found() {
        let found = violations(&files(&[
            ("services/mail.rs", "use super::log::stamp;\n"),
            ("services/log.rs", "use crate::services::mail::Mail;\n"),
            ("metrics.rs", "use crate::services::log;\n"),
        ]));
        assert_eq!(
            found,
            [
                "metrics.rs: top-level module `metrics` has no layer in layering.rs",
                "circular references inside `services`: log -> mail -> log",
            ]
        );
    }

    #[test]
    fn lifetimes_and_chars_do_not_hide_code() {
        let text = "fn f<'a>(x: &'a str) -> char { let _ = crate::vrrp::y; '\\'' }\n";
        let refs = references("services/x.rs", &["services".into(), "x".into()], text);
        assert_eq!(refs.len(), 1, "{refs:?}");
        assert_eq!(refs[0].target, ["vrrp", "y"]);
    }
}
