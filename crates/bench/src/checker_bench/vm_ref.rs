//! The keepalived reference of `checker-bench --vm-reference`: boots ONE IPVS VM (see
//! `lab::vm`; keepalived's checker needs IPVS, which the host kernel lacks) with Debian's
//! keepalived, keepalived-rs and this executable inside, lets the in-VM [`super::vm_driver`] run
//! both daemons in turn on the same TCP_CHECK configuration, and prints checks/s, CPU per check
//! and RSS of both with the ratio ours/keepalived.

use std::path::PathBuf;
use std::time::Duration;

use lab::vm::VmBuilder;

use super::vm_driver::{self, DRIVER_ARG, RESULT};

/// One run as the driver reported it.
#[derive(Debug, Clone, PartialEq)]
pub struct RefRun {
    /// `keepalived` or `ours`.
    pub imp: String,
    /// Targets.
    pub n: usize,
    /// Round (from 1).
    pub round: u32,
    /// Measuring window by the sink's clock.
    pub wall: Duration,
    /// Accepts the sink counted in the window.
    pub checks: u64,
    /// CPU time (user + system) of the daemon's process tree in the window.
    pub cpu: Duration,
    /// Fewest / most checks of one target in the window.
    pub min: u64,
    /// See [`RefRun::min`].
    pub max: u64,
    /// Targets never checked in the window.
    pub unchecked: usize,
    /// Sum of the peak RSS (VmHWM) of the tree's processes, KiB.
    pub hwm_kib: u64,
    /// The sink's CPU time in the window.
    pub sink_cpu: Duration,
    /// Processes in the daemon's tree.
    pub procs: usize,
    /// Whether the daemon was still running at the end.
    pub alive: bool,
    /// From start until every target had been checked once.
    pub first_round: Duration,
}

impl RefRun {
    /// Parses the fields after [`RESULT`]; `None` for a malformed or error line.
    pub fn parse(line: &str) -> Option<RefRun> {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [
            imp,
            n,
            round,
            wall,
            checks,
            cpu,
            min,
            max,
            zero,
            hwm,
            scpu,
            procs,
            alive,
            first,
        ] = f.as_slice()
        else {
            return None;
        };
        let ns = |s: &str| s.parse::<u64>().ok().map(Duration::from_nanos);
        Some(RefRun {
            imp: (*imp).to_owned(),
            n: n.parse().ok()?,
            round: round.parse().ok()?,
            wall: ns(wall)?,
            checks: checks.parse().ok()?,
            cpu: ns(cpu)?,
            min: min.parse().ok()?,
            max: max.parse().ok()?,
            unchecked: zero.parse().ok()?,
            hwm_kib: hwm.parse().ok()?,
            sink_cpu: ns(scpu)?,
            procs: procs.parse().ok()?,
            alive: *alive == "1",
            first_round: Duration::from_millis(first.parse().ok()?),
        })
    }

    /// Checks per second counted at the sink.
    pub fn rate(&self) -> f64 {
        self.checks as f64 / self.wall.as_secs_f64().max(1e-9)
    }

    /// CPU microseconds of the daemon per check.
    pub fn us_per_check(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / self.checks.max(1) as f64
    }

    /// CPU microseconds of the sink per check.
    pub fn sink_us_per_check(&self) -> f64 {
        self.sink_cpu.as_secs_f64() * 1e6 / self.checks.max(1) as f64
    }

    /// The daemon's CPU per check in units of the sink's: the sink does the same work per
    /// check (accept, close) whoever checks, so this cancels out how fast the emulated CPU
    /// happened to run (QEMU TCG on a shared host varies from run to run).
    pub fn per_sink(&self) -> f64 {
        self.us_per_check() / self.sink_us_per_check().max(1e-9)
    }
}

/// What the reference needs from the command line.
#[derive(Debug, Clone)]
pub struct RefOpts {
    /// Numbers of targets.
    pub targets: Vec<usize>,
    /// Measuring window per run.
    pub secs: u64,
    /// keepalived, then ours, this many times.
    pub rounds: u32,
    /// keepalived-rs on the host.
    pub ours: PathBuf,
    /// keepalived on the host.
    pub keepalived: PathBuf,
    /// Where the driver's output and the VM console go.
    pub dir: PathBuf,
}

/// Boots the VM, runs the driver and returns every run (`Ok(None)`: the VM or keepalived is
/// not available here, with the reason printed).
pub fn run(opts: &RefOpts) -> Result<Option<Vec<RefRun>>, String> {
    if !opts.keepalived.is_file() {
        eprintln!(
            "checker-bench: {} is not installed; no reference",
            opts.keepalived.display()
        );
        return Ok(None);
    }
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let runs = opts.targets.len() as u64 * u64::from(opts.rounds) * 2;
    // Boot, then per run: up to 90 s for the first round of checks, 2 s settling, the window
    // and up to 10 s to stop; QEMU TCG on a busy host is slow, so generously.
    let timeout = Duration::from_secs(180 + runs * (opts.secs + 110));
    let max_n = opts.targets.iter().copied().max().unwrap_or(0) as u32;
    let builder = VmBuilder::new()
        .memory_mb(1024 + max_n / 20)
        .timeout(timeout)
        .binary(&opts.keepalived, vm_driver::KEEPALIVED)
        .binary(&opts.ours, vm_driver::OURS)
        .binary(&me, vm_driver::SELF);
    let vm = match builder.build_or_skip() {
        Ok(Some(vm)) => vm,
        Ok(None) => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    let targets: Vec<String> = opts.targets.iter().map(usize::to_string).collect();
    let script = format!(
        "ip addr add {}/32 dev lo\necho 65535 > /proc/sys/net/core/somaxconn\n\
         echo 65535 > /proc/sys/net/ipv4/tcp_max_syn_backlog\n\
         {} {DRIVER_ARG} {} {} {}\n",
        vm_driver::TARGET_ADDR,
        vm_driver::SELF,
        targets.join(","),
        opts.secs,
        opts.rounds
    );
    eprintln!(
        "checker-bench: booting the IPVS VM (kernel {}), {runs} runs of {} s ...",
        vm.kernel_release(),
        opts.secs
    );
    let out = vm.run(&script).map_err(|e| e.to_string())?;
    let save = |name: &str, text: &str| {
        let p = opts.dir.join(name);
        let _ = std::fs::write(&p, text);
    };
    save("vm-reference.stdout", &out.stdout);
    save("vm-reference.stderr", &out.stderr);
    save("vm-reference.console", &out.console);
    if !out.stderr.trim().is_empty() {
        eprint!("{}", out.stderr);
    }
    let runs: Vec<RefRun> = out
        .stdout
        .lines()
        .filter_map(|l| l.split_once(RESULT).map(|(_, r)| r))
        .filter_map(RefRun::parse)
        .collect();
    if out.exit_code != 0 && runs.is_empty() {
        return Err(format!(
            "the driver exited {} without results; see {}",
            out.exit_code,
            opts.dir.join("vm-reference.console").display()
        ));
    }
    eprintln!(
        "checker-bench: VM boot {:.1} s, total {:.1} s",
        out.boot_time.as_secs_f64(),
        out.total_time.as_secs_f64()
    );
    Ok(Some(runs))
}

/// Prints the runs and, per number of targets, the ratio ours/keepalived of the means.
pub fn table(secs: u64, runs: &[RefRun]) {
    println!(
        "\nreference inside the IPVS VM (QEMU TCG, 1 vCPU; CPU times are the guest's): TCP_CHECK, \
         delay_loop 1, targets 192.0.2.2:10001.. on lo, {secs} s per run"
    );
    println!(
        "{:<10} {:>6} {:>5} | {:>8} {:>6} | {:>12} | {:>7} {:>6} | {:>9} | {:>7} {:>5} | {:>9} {:>6} | {:>7}",
        "daemon",
        "N",
        "round",
        "checks/s",
        "of N",
        "min/max/0",
        "CPU s",
        "% core",
        "µs/check",
        "RSS MB",
        "procs",
        "sink µs/ch",
        "÷sink",
        "1st s"
    );
    for r in runs {
        let w = r.wall.as_secs_f64().max(1e-9);
        println!(
            "{:<10} {:>6} {:>5} | {:>8.0} {:>5.0}% | {:>12} | {:>7.2} {:>5.1}% | {:>9.1} | {:>7.1} {:>5} | {:>10.1} {:>6.2} | {:>7.1}{}",
            r.imp,
            r.n,
            r.round,
            r.rate(),
            100.0 * r.rate() / r.n.max(1) as f64,
            format!("{}/{}/{}", r.min, r.max, r.unchecked),
            r.cpu.as_secs_f64(),
            100.0 * r.cpu.as_secs_f64() / w,
            r.us_per_check(),
            r.hwm_kib as f64 * 1024.0 / 1e6,
            r.procs,
            r.sink_us_per_check(),
            r.per_sink(),
            r.first_round.as_secs_f64(),
            if r.alive { "" } else { "  (daemon died)" }
        );
    }
    let mut sizes: Vec<usize> = runs.iter().map(|r| r.n).collect();
    sizes.dedup();
    for n in sizes {
        let mean = |imp: &str, f: &dyn Fn(&RefRun) -> f64| {
            let v: Vec<f64> = runs
                .iter()
                .filter(|r| r.n == n && r.imp == imp)
                .map(f)
                .collect();
            (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
        };
        let us = |r: &RefRun| r.us_per_check();
        let norm = |r: &RefRun| r.per_sink();
        let rss = |r: &RefRun| r.hwm_kib as f64;
        if let (Some(k), Some(o), Some(kn), Some(on), Some(kr), Some(or)) = (
            mean("keepalived", &us),
            mean("ours", &us),
            mean("keepalived", &norm),
            mean("ours", &norm),
            mean("keepalived", &rss),
            mean("ours", &rss),
        ) {
            println!(
                "N {n}: CPU per check keepalived {k:.1} µs, ours {o:.1} µs: ours/keepalived \
                 {:.2}x; in sink units {kn:.2} and {on:.2}: {:.2}x; RSS ours/keepalived {:.2}x",
                o / k.max(1e-9),
                on / kn.max(1e-9),
                or / kr.max(1e-9)
            );
        }
    }
    println!(
        "(min/max/0: fewest and most checks of one target in the window, and targets never \
         checked; RSS: sum of VmHWM over the daemon's processes, keepalived's parent and checker \
         child; sink µs/ch: the target sink's CPU per check; ÷sink: µs/check divided by sink \
         µs/check, which cancels the emulated CPU's varying speed; 1st s: from start until every target \
         had been checked once)"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_lines_parse() {
        let r = RefRun::parse(
            "ours 1000 2 20000000000 19990 1500000000 19 21 0 30720 800000000 1 1 2400",
        )
        .unwrap();
        assert_eq!(r.imp, "ours");
        assert_eq!(
            (r.n, r.round, r.checks, r.min, r.max),
            (1000, 2, 19990, 19, 21)
        );
        assert!((r.rate() - 999.5).abs() < 1e-6);
        assert!((r.us_per_check() - 1_500_000_000.0 / 1e3 / 19990.0).abs() < 1e-6);
        assert!(r.alive);
        assert_eq!(r.first_round, Duration::from_millis(2400));
        assert!(RefRun::parse("keepalived 1000 1 error").is_none());
    }
}
