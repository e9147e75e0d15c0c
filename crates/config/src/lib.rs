//! keepalived.conf reader: preprocessor, lexer, parser, typed model, validation and diagnostics.
//!
//! The only I/O is reading the configuration files. Everything that depends on the host (does an
//! interface exist? is a script there, and safe to run?) is checked by [`host::check`] against
//! facts the caller gathers and a [`host::HostLookup`] the caller implements.
//!
//! ```
//! let read = keepalived_config::read_str("k.conf", "global_defs { router_id lb1 }\n", &Default::default());
//! assert!(!read.diagnostics.has_errors());
//! assert_eq!(read.config.global.defs.router_id.as_deref(), Some("lb1"));
//! ```

// No I/O beyond reading the configuration files (`preprocess`, with its `#[allow]`s), checked
// by clippy: the list and reasons are in clippy.toml.
#![deny(clippy::disallowed_methods, clippy::disallowed_types)]

pub mod build;
pub mod diag;
pub mod host;
pub mod lexer;
pub mod model;
pub mod preprocess;
pub mod tree;

use std::collections::BTreeSet;
use std::path::Path;

pub use diag::{DiagKind, Diagnostic, Diagnostics, Loc, Severity, SourceMap};
pub use model::Config;
pub use preprocess::PreprocessOptions;

/// Everything one read produced.
#[derive(Debug)]
pub struct Read {
    /// The typed model (parts with errors dropped, as keepalived drops them).
    pub config: Config,
    /// Every problem found, in file order.
    pub diagnostics: Diagnostics,
    /// The files read, for rendering diagnostics.
    pub sources: SourceMap,
    /// `(block, keyword)` pairs that were understood.
    pub keywords_seen: BTreeSet<(&'static str, String)>,
}

impl Read {
    /// Renders all diagnostics, one per entry, as `FILE:LINE:COL: error: ...` plus line and caret.
    pub fn render_diagnostics(&self) -> Vec<String> {
        self.diagnostics
            .items()
            .iter()
            .map(|d| self.sources.render(d))
            .collect()
    }

    /// keepalived's `-t` exit code (2.2.5 and later): 0 valid (warnings only), 4 the file cannot
    /// be read or a fatal error, 5 configuration errors (keepalived runs without the bad
    /// parts), 6 scripts configured without script security. As keepalived's `config_err`
    /// keeps the largest class reported, a script security finding wins over errors, and
    /// errors win over a fatal one.
    pub fn exit_code(&self) -> i32 {
        let items = self.diagnostics.items();
        if items.iter().any(|d| d.kind == DiagKind::ScriptSecurity) {
            6
        } else if items.iter().any(|d| d.severity == Severity::Error)
            || self.diagnostics.has_suppressed_errors()
        {
            5
        } else if self.diagnostics.has_fatal() {
            4
        } else {
            0
        }
    }
}

/// Reads a configuration file and everything it includes.
pub fn read_file(path: &Path, opts: &PreprocessOptions) -> Read {
    let mut sources = SourceMap::default();
    let mut diags = Diagnostics::default();
    let mut model = build::ConfigBuilder::default();
    let mut tree = tree::TreeBuilder::streaming(Box::new(|node| model.top(&node)));
    preprocess::preprocess(path, opts, &mut sources, &mut diags, &mut tree);
    tree.finish(&mut diags);
    finish(model, sources, diags)
}

/// Reads a configuration from memory, named `name` in diagnostics.
pub fn read_str(name: &str, text: &str, opts: &PreprocessOptions) -> Read {
    let mut sources = SourceMap::default();
    let mut diags = Diagnostics::default();
    let mut model = build::ConfigBuilder::default();
    let mut tree = tree::TreeBuilder::streaming(Box::new(|node| model.top(&node)));
    preprocess::preprocess_str(name, text, opts, &mut sources, &mut diags, &mut tree);
    tree.finish(&mut diags);
    finish(model, sources, diags)
}

fn finish(model: build::ConfigBuilder, sources: SourceMap, diags: Diagnostics) -> Read {
    let (config, cx) = model.finish();
    let mut diagnostics = diags;
    diagnostics.extend(cx.diags);
    diagnostics.sort();
    let keywords_seen = cx
        .seen
        .into_iter()
        .flat_map(|(block, names)| names.into_iter().map(move |n| (block, n)))
        .collect();
    Read {
        config,
        diagnostics,
        sources,
        keywords_seen,
    }
}

/// The fuzzing entry point: reads arbitrary bytes as a configuration. Never panics; returns the
/// number of diagnostics so the work cannot be optimised away.
pub fn fuzz_read(data: &[u8]) -> usize {
    let text = String::from_utf8_lossy(data);
    let opts = PreprocessOptions {
        follow_includes: false,
        repeat_limit: 10_000,
        ..PreprocessOptions::default()
    };
    let read = read_str("fuzz.conf", &text, &opts);
    let rendered = read.render_diagnostics();
    rendered.len() + read.exit_code().unsigned_abs() as usize
}
