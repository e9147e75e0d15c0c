//! The four man pages: generated ([`generate`]), written ([`write`]) and compared with the
//! committed ones ([`check`]).

use std::io;
use std::path::{Path, PathBuf};

use clap::{Command, CommandFactory as _};
use clap_mangen::Man;

use crate::markdown;

/// The daemon's command line, from the daemon's own source.
#[allow(dead_code)]
#[path = "../../daemon/src/services/cli.rs"]
mod daemon_cli;

/// genhash's command line, from genhash's own source.
#[allow(dead_code)]
#[path = "../../genhash/src/cli.rs"]
mod genhash_cli;

/// keepalived-ctl's command line, from keepalived-ctl's own source.
#[allow(dead_code)]
#[path = "../../ctl/src/cli.rs"]
mod ctl_cli;

/// The version printed in the pages' footers (the workspace version).
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The hand-written sections, from docs/man.
const DAEMON_MD: &str = include_str!("../../../docs/man/keepalived-rs.8.md");
const GENHASH_MD: &str = include_str!("../../../docs/man/genhash.1.md");
const CTL_MD: &str = include_str!("../../../docs/man/keepalived-ctl.1.md");
const CONF_MD: &str = include_str!("../../../docs/man/keepalived-rs.conf.5.md");

/// One generated page.
pub struct Page {
    /// Its file name (`keepalived-rs.8`).
    pub file: &'static str,
    /// The roff text.
    pub text: String,
}

/// `man/` at the repository root, where the generated pages are committed.
pub fn committed_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../man")
}

/// The daemon's clap command, with the version set.
pub fn daemon_command() -> Command {
    daemon_cli::Cli::command().version(VERSION)
}

/// genhash's clap command, with the version set.
pub fn genhash_command() -> Command {
    genhash_cli::Args::command().version(VERSION)
}

/// keepalived-ctl's clap command, with the version set.
pub fn ctl_command() -> Command {
    ctl_cli::Cli::command().version(VERSION)
}

/// A page from a clap command: title, NAME, SYNOPSIS, DESCRIPTION and OPTIONS from clap, then
/// the sections of `extra` (Markdown).
fn clap_page(cmd: Command, section: &str, manual: &str, extra: &str) -> io::Result<String> {
    let man = Man::new(cmd)
        .section(section)
        .manual(manual)
        .source(format!("keepalived-rs {VERSION}"));
    let mut buf = Vec::new();
    man.render_title(&mut buf)?;
    man.render_name_section(&mut buf)?;
    man.render_synopsis_section(&mut buf)?;
    man.render_description_section(&mut buf)?;
    man.render_options_section(&mut buf)?;
    let mut text = String::from_utf8(buf).map_err(io::Error::other)?;
    text.push_str(&markdown::to_roff(extra));
    Ok(text)
}

/// Every page.
pub fn generate() -> io::Result<Vec<Page>> {
    let conf = format!(
        ".TH keepalived\\-rs.conf 5 \"\" \"keepalived\\-rs {VERSION}\" \"File Formats Manual\"\n{}",
        markdown::to_roff(CONF_MD)
    );
    Ok(vec![
        Page {
            file: "keepalived-rs.8",
            text: clap_page(daemon_command(), "8", "System Administration", DAEMON_MD)?,
        },
        Page {
            file: "keepalived-rs.conf.5",
            text: conf,
        },
        Page {
            file: "genhash.1",
            text: clap_page(genhash_command(), "1", "User Commands", GENHASH_MD)?,
        },
        Page {
            file: "keepalived-ctl.1",
            text: clap_page(ctl_command(), "1", "User Commands", CTL_MD)?,
        },
    ])
}

/// Writes every page into `dir` (created if needed); returns the paths written.
pub fn write(dir: &Path) -> io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for page in generate()? {
        let path = dir.join(page.file);
        std::fs::write(&path, page.text)?;
        written.push(path);
    }
    Ok(written)
}

/// Fails, naming them, when the pages in `dir` are missing or differ from the generated ones.
pub fn check(dir: &Path) -> io::Result<()> {
    let mut stale = Vec::new();
    for page in generate()? {
        let path = dir.join(page.file);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(page.text.as_str()) {
            stale.push(path.display().to_string());
        }
    }
    if stale.is_empty() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "out of date: {}; regenerate with `cargo run -p xtask -- man` and commit them",
            stale.join(", ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(file: &str) -> String {
        generate()
            .expect("generate")
            .into_iter()
            .find(|p| p.file == file)
            .map(|p| p.text)
            .expect("page")
    }

    /// Every option of `cmd` appears in `text` (in roff's spelling of hyphens).
    fn assert_mentions_every_option(cmd: &Command, text: &str) {
        let mut n = 0;
        // Hidden options (the supervisor's internal `--engine`) are not for users.
        for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
            if let Some(long) = arg.get_long() {
                let roff = format!("\\-\\-{}", long.replace('-', "\\-"));
                assert!(text.contains(&roff), "--{long} missing from the page");
                n += 1;
            }
            if let Some(short) = arg.get_short() {
                assert!(text.contains(&format!("\\-{short}")), "-{short} missing");
            }
        }
        assert!(n > 5, "too few options found: {n}");
    }

    #[test]
    fn committed_pages_are_up_to_date() {
        if let Err(e) = check(&committed_dir()) {
            panic!("{e}");
        }
    }

    #[test]
    fn pages_mention_every_option() {
        assert_mentions_every_option(&daemon_command(), &page("keepalived-rs.8"));
        assert_mentions_every_option(&genhash_command(), &page("genhash.1"));
        // keepalived-ctl: its few options, and every subcommand with its options.
        let ctl = page("keepalived-ctl.1");
        let mut stack = vec![ctl_command()];
        while let Some(cmd) = stack.pop() {
            for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
                if let Some(long) = arg.get_long() {
                    let roff = format!("\\-\\-{}", long.replace('-', "\\-"));
                    assert!(
                        ctl.contains(&roff),
                        "--{long} missing from keepalived-ctl(1)"
                    );
                }
            }
            for sub in cmd.get_subcommands().filter(|c| c.get_name() != "help") {
                assert!(
                    ctl.contains(&format!("\\fB{}", sub.get_name())),
                    "{} missing from keepalived-ctl(1)",
                    sub.get_name()
                );
                stack.push(sub.clone());
            }
        }
        let daemon = page("keepalived-rs.8");
        for s in ["SIGNALS", "EXIT STATUS", "CAPABILITIES", "CAP_NET_RAW"] {
            assert!(daemon.contains(s), "{s} missing from keepalived-rs(8)");
        }
        let conf = page("keepalived-rs.conf.5");
        for s in [
            "WHAT IS ACCEPTED",
            "DIFFERENCES FROM KEEPALIVED",
            "\\-\\-json",
        ] {
            assert!(conf.contains(s), "{s} missing from keepalived-rs.conf(5)");
        }
    }

    /// groff (when installed) formats every page without a warning.
    #[test]
    fn groff_formats_the_pages_without_warnings() {
        use std::io::Write as _;
        use std::process::{Command, Stdio};
        for p in generate().expect("generate") {
            let child = Command::new("groff")
                .args(["-man", "-Tutf8", "-ww", "-z"])
                .stdin(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn();
            let Ok(mut child) = child else {
                eprintln!("skipping: groff not installed");
                return;
            };
            if let Some(mut stdin) = child.stdin.take() {
                stdin.write_all(p.text.as_bytes()).expect("write to groff");
            }
            let out = child.wait_with_output().expect("groff");
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success() && err.is_empty(), "{}: {err}", p.file);
        }
    }
}
