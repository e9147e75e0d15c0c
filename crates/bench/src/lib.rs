//! keepalived-bench: times `keepalived-rs -t -f FILE` (and Debian's keepalived 2.2.7 when it is
//! installed) on two large generated configurations, prints a table and checks the targets.
//!
//! Run it with `cargo run --release -p keepalived-bench --bin config-bench [-- OPTIONS]` or
//! `cargo bench -p keepalived-bench`; see [`Opts`] for the options.

pub mod bfd_bench;
pub mod checker_bench;
pub mod r#gen;
pub mod measure;
pub mod metrics_bench;
pub mod netns;
mod report;
pub mod vrrp_bench;
pub mod watchdog_bench;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use clap::Parser;

use measure::{Sample, Summary};
use report::{Row, report};

/// Target: median wall time of `keepalived-rs -t` on the large LVS file, in milliseconds.
pub const TARGET_LVS_MS: f64 = 150.0;
/// Target: peak RSS of `keepalived-rs -t` on either file, in MB (10^6 bytes).
pub const TARGET_RSS_MB: f64 = 100.0;

/// Command-line options of `config-bench`.
#[derive(Debug, Parser)]
#[command(
    name = "config-bench",
    about = "Times keepalived-rs -t (and keepalived -t) on large configs"
)]
pub struct Opts {
    /// keepalived-rs binary to time [default: build target/release/keepalived-rs first]
    #[arg(long = "bin", value_name = "PATH")]
    pub bin: Option<PathBuf>,
    /// keepalived binary to compare with (skipped when it does not exist)
    #[arg(long, value_name = "PATH", default_value = "/usr/sbin/keepalived")]
    pub keepalived: PathBuf,
    /// Don't run keepalived even if it is installed
    #[arg(long)]
    pub no_keepalived: bool,
    /// Timed runs per binary and file (after one untimed warm-up run)
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub runs: u32,
    /// Exit 1 when a target is missed
    #[arg(long)]
    pub check: bool,
    /// Run without a network namespace (keepalived then checks the host's interfaces)
    #[arg(long)]
    pub no_netns: bool,
    /// Directory for the generated files and outputs [default: <target>/config-bench]
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Passed by `cargo bench`; ignored
    #[arg(long, hide = true)]
    pub bench: bool,
    /// Bench name filters passed by `cargo bench -- FILTER`; ignored
    #[arg(hide = true)]
    pub filters: Vec<String>,
}

/// The workspace root, as seen when this crate was compiled.
fn workspace_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::canonicalize(&root).unwrap_or(root)
}

/// Cargo's target directory (`CARGO_TARGET_DIR`, or `target/` in the workspace).
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace_root().join("target"), PathBuf::from)
}

/// Entry point shared by the `config-bench` binary and the `config_test` bench.
pub fn main_entry() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(measure::WRAPPER_ARG) {
        return measure::wrapper_main(&args[2..]);
    }
    let opts = Opts::parse();
    match run(&opts) {
        Ok(all_met) if all_met || !opts.check => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("config-bench: {e}");
            ExitCode::from(2)
        }
    }
}

/// Builds `target/release/keepalived-rs` with cargo and returns its path (`tool` names the
/// benchmark in the progress line).
pub(crate) fn build_ours(tool: &str) -> Result<PathBuf, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!("{tool}: cargo build --release --bin keepalived-rs");
    let status = Command::new(cargo)
        .args(["build", "--release", "--bin", "keepalived-rs"])
        .current_dir(workspace_root())
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!(
            "cargo build --release --bin keepalived-rs failed ({status})"
        ));
    }
    Ok(target_dir().join("release/keepalived-rs"))
}

fn first_lines(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .take(n)
        .map(|l| format!("    | {l}\n"))
        .collect()
}

/// Warm-up plus `runs` timed runs; stdout/stderr of the last go to `dir/TAG.{stdout,stderr}`.
fn bench(
    ns: Option<&str>,
    dir: &Path,
    tag: &str,
    bin: &Path,
    args: &[&str],
    runs: u32,
) -> Result<Summary, String> {
    let (out, err) = (
        dir.join(format!("{tag}.stdout")),
        dir.join(format!("{tag}.stderr")),
    );
    let once = || measure::run_once(ns, &out, &err, bin, args).map_err(|e| format!("{tag}: {e}"));
    once()?;
    let samples: Vec<Sample> = (0..runs).map(|_| once()).collect::<Result<_, _>>()?;
    let s = Summary::of(&samples);
    if s.code != 0 {
        eprintln!(
            "config-bench: {tag}: {} exited {}; first lines of {}:",
            bin.display(),
            s.code,
            err.display()
        );
        eprint!("{}", first_lines(&err, 20));
        eprint!("{}", first_lines(&out, 20));
    }
    Ok(s)
}

/// Generates the files, times the binaries, prints the table and the targets. Returns whether
/// every target was met.
pub fn run(opts: &Opts) -> Result<bool, String> {
    let dir = opts
        .dir
        .clone()
        .unwrap_or_else(|| target_dir().join("config-bench"));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let ours_bin = match &opts.bin {
        Some(p) => p.clone(),
        None => build_ours("config-bench")?,
    };
    let ours_bin =
        std::fs::canonicalize(&ours_bin).map_err(|e| format!("{}: {e}", ours_bin.display()))?;
    let theirs_bin =
        (!opts.no_keepalived && opts.keepalived.is_file()).then_some(opts.keepalived.as_path());
    if theirs_bin.is_none() && !opts.no_keepalived {
        println!(
            "{}: not found; keepalived skipped",
            opts.keepalived.display()
        );
    }

    let files = [
        (
            "lvs-2300x16",
            r#gen::lvs(r#gen::LVS_VIRTUAL_SERVERS, r#gen::LVS_REAL_SERVERS_PER_VS),
        ),
        ("vrrp-1000", r#gen::vrrp(r#gen::VRRP_INSTANCES)),
    ];
    for (name, g) in &files {
        let path = dir.join(format!("{name}.conf"));
        std::fs::write(&path, &g.text).map_err(|e| format!("{}: {e}", path.display()))?;
        println!(
            "generated {} ({} lines, {} bytes)",
            path.display(),
            g.lines,
            g.text.len()
        );
    }

    let ns = if opts.no_netns {
        None
    } else {
        match netns::Netns::create() {
            Ok(ns) => Some(ns),
            Err(e) => {
                eprintln!("config-bench: no network namespace ({e}); running on the host");
                None
            }
        }
    };
    let ns_name = ns.as_ref().map(netns::Netns::name);
    if let Some(n) = ns_name {
        println!("running in network namespace {n} (eth0..eth3)");
    }
    println!("ours: {}", ours_bin.display());
    if let Some(t) = theirs_bin {
        println!("keepalived: {}", t.display());
    }

    let mut rows = Vec::new();
    for (name, g) in &files {
        let conf = dir.join(format!("{name}.conf"));
        let conf = conf.to_str().ok_or("non-UTF-8 directory")?;
        let ours = bench(
            ns_name,
            &dir,
            &format!("ours-{name}"),
            &ours_bin,
            &["-t", "-f", conf],
            opts.runs,
        )?;
        let theirs = match theirs_bin {
            Some(t) => {
                let pid = |f: &str| dir.join(f).to_string_lossy().into_owned();
                let (p, r, c) = (pid("ka.pid"), pid("vrrp.pid"), pid("chk.pid"));
                let args = ["-t", "-l", "-f", conf, "-p", &p, "-r", &r, "-c", &c];
                Some(bench(
                    ns_name,
                    &dir,
                    &format!("keepalived-{name}"),
                    Path::new(t),
                    &args,
                    opts.runs,
                )?)
            }
            None => None,
        };
        rows.push(Row {
            name,
            lines: g.lines,
            ours,
            theirs,
        });
    }
    drop(ns);
    Ok(report(&rows, opts.runs))
}
