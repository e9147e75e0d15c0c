//! The figures of one run (checks per second, CPU per check, advert jitter) and the table
//! printed against the targets.

use std::time::Duration;

use super::conf::Kind;

/// Advert interval jitter: deviations of the gaps between successive adverts from the
/// configured interval, in microseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Jitter {
    /// Adverts captured.
    pub adverts: usize,
    /// Median absolute deviation from the interval.
    pub median_us: i64,
    /// 99th percentile of the absolute deviation.
    pub p99_us: i64,
    /// Largest absolute deviation.
    pub max_us: i64,
}

impl Jitter {
    /// From capture timestamps (µs, in order) and the advert interval (µs).
    pub fn of(ts_us: &[i64], interval_us: i64) -> Jitter {
        let mut dev: Vec<i64> = ts_us
            .windows(2)
            .map(|w| (w[1] - w[0] - interval_us).abs())
            .collect();
        dev.sort_unstable();
        let pick = |q: f64| {
            if dev.is_empty() {
                return 0;
            }
            let i = ((dev.len() - 1) as f64 * q).round() as usize;
            dev.get(i).copied().unwrap_or(0)
        };
        Jitter {
            adverts: ts_us.len(),
            median_us: pick(0.5),
            p99_us: pick(0.99),
            max_us: dev.last().copied().unwrap_or(0),
        }
    }

    fn cell(&self) -> String {
        format!(
            "{:.2}/{:.2}/{:.2}",
            self.median_us as f64 / 1e3,
            self.p99_us as f64 / 1e3,
            self.max_us as f64 / 1e3
        )
    }
}

/// One (kind, N) run.
#[derive(Debug)]
pub struct Row {
    /// Checker.
    pub kind: Kind,
    /// Targets.
    pub n: usize,
    /// From start to the checker's "Checkers:" log line.
    pub startup: Duration,
    /// Measuring window, by the server's clock.
    pub wall: Duration,
    /// Checks the server counted in the window.
    pub checks: u64,
    /// The daemon's CPU time (user + system, the whole process tree) in the window.
    pub cpu: Duration,
    /// The checker engine process's CPU time alone in the window.
    pub checker_cpu: Duration,
    /// The target server's CPU time in the window.
    pub server_cpu: Duration,
    /// Peak RSS of the daemon, KiB.
    pub hwm_kib: u64,
    /// "Removing service" lines in the daemon's log.
    pub removed: usize,
    /// Failed attempts logged.
    pub failures: usize,
    /// Whether the daemon was still running at the end of the window.
    pub alive: bool,
    /// Advert jitter in the window.
    pub jitter: Jitter,
}

impl Row {
    fn rate(&self) -> f64 {
        self.checks as f64 / self.wall.as_secs_f64().max(1e-9)
    }

    fn per_core(&self) -> f64 {
        self.checks as f64 / self.cpu.as_secs_f64().max(1e-9)
    }

    fn us_per_check(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / (self.checks.max(1) as f64)
    }

    fn checker_us_per_check(&self) -> f64 {
        self.checker_cpu.as_secs_f64() * 1e6 / (self.checks.max(1) as f64)
    }

    fn server_us_per_check(&self) -> f64 {
        self.server_cpu.as_secs_f64() * 1e6 / (self.checks.max(1) as f64)
    }
}

/// Prints one row as soon as it is measured (stderr: progress).
pub fn row_line(r: &Row) {
    eprintln!(
        "checker-bench: {} x {}: {:.0} checks/s, CPU {:.2} s, {:.0} checks/s/core, {:.2} µs/check, \
         removed {}, jitter {} ms",
        r.kind.name(),
        r.n,
        r.rate(),
        r.cpu.as_secs_f64(),
        r.per_core(),
        r.us_per_check(),
        r.removed,
        r.jitter.cell()
    );
}

/// Prints the table.
pub fn table(secs: u64, baseline: Option<&Jitter>, rows: &[Row]) {
    println!(
        "\ncheckers: N real servers 127.x.y.z:80, delay_loop 1, measured over {secs} s; VRRPv3 \
         advert_int 0.1 beside them"
    );
    println!(
        "{:<5} {:>6} | {:>9} {:>6} | {:>7} {:>7} | {:>12} {:>7} {:>8} | {:>9} | {:>7} | {:>7} {:>6} | {:>18} | {:>8}",
        "kind",
        "N",
        "checks/s",
        "of N",
        "CPU s",
        "% core",
        "checks/s/core",
        "target",
        "µs/check",
        "engine µs",
        "RSS MB",
        "removed",
        "fails",
        "jitter med/p99/max",
        "srv µs/ch"
    );
    for r in rows {
        let w = r.wall.as_secs_f64().max(1e-9);
        println!(
            "{:<5} {:>6} | {:>9.0} {:>5.0}% | {:>7.2} {:>6.1}% | {:>13.0} {:>6.2}x {:>8.2} | {:>9.2} | {:>7.1} | \
             {:>7} {:>6} | {:>18} | {:>9.2}{}",
            r.kind.name(),
            r.n,
            r.rate(),
            100.0 * r.rate() / r.n as f64,
            r.cpu.as_secs_f64(),
            100.0 * r.cpu.as_secs_f64() / w,
            r.per_core(),
            r.per_core() / r.kind.target(),
            r.us_per_check(),
            r.checker_us_per_check(),
            r.hwm_kib as f64 * 1024.0 / 1e6,
            r.removed,
            r.failures,
            r.jitter.cell(),
            r.server_us_per_check(),
            if r.alive { "" } else { "  (daemon died)" }
        );
    }
    if let Some(b) = baseline {
        println!(
            "{:<5} {:>6} | {:>118} | {:>18}",
            "vrrp",
            "-",
            "baseline: VRRP instance alone",
            b.cell()
        );
    }
    let mut counts: Vec<String> = baseline
        .map(|b| format!("baseline {}", b.adverts))
        .into_iter()
        .collect();
    counts.extend(
        rows.iter()
            .map(|r| format!("{} {} {}", r.kind.name(), r.n, r.jitter.adverts)),
    );
    println!("adverts captured: {}", counts.join(", "));
    println!(
        "(target: checks/s/core over the issue's {:.0} for TCP_CHECK, {:.0} for HTTP_GET; CPU is \
         utime+stime of the whole daemon, \
         including the kernel's work for the loopback packets it sends, which runs in its context; \
         engine µs is the checker engine process's CPU per check alone, without the supervising \
         parent and the VRRP engine beside it; \
         srv µs/ch is the target server's CPU per check; jitter in ms = |advert gap - 100 ms|; RSS is VmHWM; \
         startup times: {})",
        Kind::Tcp.target(),
        Kind::Http.target(),
        rows.iter()
            .map(|r| format!("{} {} {:.1} s", r.kind.name(), r.n, r.startup.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "keepalived reference (its checker needs IPVS, which this kernel may lack): \
         checker-bench --vm-reference"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stats() {
        let ts = [0, 100_000, 201_000, 300_500, 400_500];
        let j = Jitter::of(&ts, 100_000);
        assert_eq!(j.adverts, 5);
        assert_eq!(j.max_us, 1_000);
        assert_eq!(j.median_us, 500);
        assert_eq!(Jitter::of(&[], 100_000).max_us, 0);
    }
}
