//! Bad input never panics: the fuzz seed corpus and every test corpus file (whole, truncated and
//! damaged), binary garbage, unbalanced braces, a 10 MB line, include loops, undefined variables.

#![allow(
    clippy::disallowed_methods,
    reason = "reads the fuzz seeds and corpus files, and writes include loops to a temporary directory"
)]

use std::path::{Path, PathBuf};

use keepalived_config::{PreprocessOptions, fuzz_read, read_file, read_str};

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn seeds() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    files_under(&root.join("../../fuzz/seeds"), &mut files);
    files_under(&root.join("tests/corpus"), &mut files);
    files.sort();
    files
}

#[test]
fn fuzz_seed_corpus_and_damaged_copies_never_panic() {
    let seeds = seeds();
    assert!(seeds.len() >= 3, "seed corpus missing: {seeds:?}");
    for seed in &seeds {
        let data = std::fs::read(seed).expect("read seed");
        fuzz_read(&data);
        // Truncated at many points, and with a byte flipped at many points.
        let step = (data.len() / 17).max(1);
        for cut in (0..data.len()).step_by(step) {
            fuzz_read(&data[..cut]);
            let mut damaged = data.clone();
            damaged[cut] ^= 0x5a;
            fuzz_read(&damaged);
        }
    }
}

#[test]
fn binary_garbage_is_rejected_not_panicked() {
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    for len in [1usize, 7, 100, 4096, 65536] {
        let data: Vec<u8> = (0..len)
            .map(|_| {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                (rng >> 24) as u8
            })
            .collect();
        fuzz_read(&data);
    }
}

#[test]
fn unbalanced_braces_are_errors_with_lines() {
    let read = read_str(
        "u.conf",
        "global_defs {\n router_id a\n",
        &PreprocessOptions::default(),
    );
    let d = &read.diagnostics.items()[0];
    assert_eq!(d.loc.line, 1);
    assert!(d.message.contains("never closed"), "{}", d.message);
    let read = read_str("u.conf", "}\n", &PreprocessOptions::default());
    assert!(
        read.diagnostics.items()[0]
            .message
            .contains("unexpected '}'")
    );
}

#[test]
fn ten_megabyte_line_is_read() {
    let mut text = String::from("global_defs {\n router_id ");
    text.push_str(&"x".repeat(10 << 20));
    text.push_str("\n}\n");
    let read = read_str("big.conf", &text, &PreprocessOptions::default());
    assert!(
        !read.diagnostics.has_errors(),
        "{:?}",
        read.render_diagnostics()
    );
    assert_eq!(
        read.config.global.defs.router_id.as_ref().map(String::len),
        Some(10 << 20)
    );
    // A 10 MB line of garbage words and braces: errors are located, rendering stays short.
    let garbage = format!("{}\n", "{ zz ".repeat(2 << 20));
    let read = read_str("g.conf", &garbage, &PreprocessOptions::default());
    assert!(read.diagnostics.has_errors());
    assert!(read.render_diagnostics().iter().all(|r| r.len() < 1000));
}

#[test]
fn include_loops_are_reported() {
    let dir = std::env::temp_dir().join(format!("karsloop{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    std::fs::write(
        dir.join("a.conf"),
        "global_defs { router_id a }\ninclude b.conf\n",
    )
    .expect("write");
    std::fs::write(dir.join("b.conf"), "include a.conf\n").expect("write");
    let read = read_file(&dir.join("a.conf"), &PreprocessOptions::default());
    let loops: Vec<_> = read
        .diagnostics
        .items()
        .iter()
        .filter(|d| d.message.contains("include loop"))
        .collect();
    assert_eq!(loops.len(), 1, "{:?}", read.render_diagnostics());
    assert_eq!(loops[0].loc.line, 1);
    assert_eq!(
        read.sources.path(loops[0].loc.file),
        Some(dir.join("b.conf").as_path())
    );
    assert_eq!(read.config.global.defs.router_id.as_deref(), Some("a"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn undefined_and_recursive_variables() {
    // An undefined ${NAME} stays as written, so its braces are braces (keepalived 2.2.7 agrees:
    // "Unexpected '{'"): the line is an error, and the warning names the parameter.
    let read = read_str(
        "v.conf",
        "global_defs {\n router_id ${NOPE}\n}\n$L=${L}${L}\n$L\n",
        &PreprocessOptions::default(),
    );
    assert!(
        read.diagnostics
            .items()
            .iter()
            .any(|d| d.message.contains("undefined parameter ${NOPE}") && d.loc.line == 2)
    );
    assert!(read.diagnostics.has_errors());
    assert!(
        read.diagnostics
            .items()
            .iter()
            .any(|d| d.message.contains("does not terminate"))
    );
}

#[test]
fn nested_repetition_is_bounded() {
    let read = read_str(
        "r.conf",
        "~SEQ(A, 1000) ~SEQ(B, 1000) ~SEQ(C, 1000) x ${A}${B}${C}\n",
        &PreprocessOptions::default(),
    );
    assert!(
        read.diagnostics
            .items()
            .iter()
            .any(|d| d.message.contains("expansion stopped"))
    );
}

#[test]
fn missing_main_file_is_fatal() {
    let read = read_file(
        Path::new("/nonexistent/keepalived.conf"),
        &PreprocessOptions::default(),
    );
    assert!(read.diagnostics.has_fatal());
    assert_eq!(read.exit_code(), 4);
}
