//! `ipvs-bench`: programming the kernel's IPVS in the VM (lab::vm): 1,000 virtual servers ×
//! 10 real servers from a cold start, then a reload changing 1 % of them (one real server's
//! weight in 10 virtual servers), by keepalived-rs's reconciler (`ipvs-apply`) and, as the
//! reference, by `ipvsadm --restore` with the same rules, alternating in one VM run. Prints a
//! table of wall times and netlink requests.
//!
//! `ipvs-bench [--services N] [--reals N] [--rounds N]`

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use lab::vm::VmBuilder;

struct Args {
    services: usize,
    reals: usize,
    rounds: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        services: 1000,
        reals: 10,
        rounds: 3,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let n: usize = value
            .parse()
            .map_err(|_| format!("{flag}: not a number: {value}"))?;
        match flag.as_str() {
            "--services" => a.services = n.clamp(1, 50_000),
            "--reals" => a.reals = n.clamp(1, 250),
            "--rounds" => a.rounds = n.clamp(1, 20),
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    Ok(a)
}

/// Virtual server `i`: 203.0.113.10, port 10000 + i; real server `r`: 192.0.2.(r+1):80.
fn port(i: usize) -> usize {
    10_000 + i
}

/// Whether a reload changes virtual server `i` (1 %: every hundredth).
fn changed(i: usize) -> bool {
    i.is_multiple_of(100)
}

fn config(a: &Args, reload: bool) -> String {
    let mut s = String::new();
    for i in 0..a.services {
        let _ = write!(
            s,
            "virtual_server 203.0.113.10 {} {{\n lb_algo wrr\n lb_kind NAT\n protocol TCP\n",
            port(i)
        );
        for r in 0..a.reals {
            let w = if reload && r == 0 && changed(i) { 2 } else { 1 };
            let _ = write!(
                s,
                " real_server 192.0.2.{} 80 {{\n  weight {w}\n }}\n",
                r + 1
            );
        }
        s.push_str("}\n");
    }
    s
}

fn rules(a: &Args) -> String {
    let mut s = String::new();
    for i in 0..a.services {
        let _ = writeln!(s, "-A -t 203.0.113.10:{} -s wrr", port(i));
        for r in 0..a.reals {
            let _ = writeln!(
                s,
                "-a -t 203.0.113.10:{} -r 192.0.2.{}:80 -m -w 1",
                port(i),
                r + 1
            );
        }
    }
    s
}

fn reload_rules(a: &Args) -> String {
    let mut s = String::new();
    for i in (0..a.services).filter(|i| changed(*i)) {
        let _ = writeln!(s, "-e -t 203.0.113.10:{} -r 192.0.2.1:80 -m -w 2", port(i));
    }
    s
}

/// Runs `ipvs-apply --dry` natively `args.rounds` times; the median plan times of the cold
/// start and of the reload.
fn native_runs(
    apply: &std::path::Path,
    dir: &std::path::Path,
    args: &Args,
) -> Result<(u64, u64), String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let cold = dir.join("cold.conf");
    let reload = dir.join("reload.conf");
    std::fs::write(&cold, config(args, false)).map_err(|e| e.to_string())?;
    std::fs::write(&reload, config(args, true)).map_err(|e| e.to_string())?;
    let (mut c, mut r) = (Vec::new(), Vec::new());
    for _ in 0..args.rounds {
        let out = std::process::Command::new(apply)
            .arg("--dry")
            .arg(&cold)
            .arg(&reload)
            .output()
            .map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&out.stdout);
        for line in text.lines() {
            match field(line, "step") {
                Some(1) => c.extend(field(line, "plan_us")),
                Some(2) => r.extend(field(line, "plan_us")),
                _ => {}
            }
        }
    }
    Ok((median(c), median(r)))
}

/// `key=value` fields of one output line.
fn field(line: &str, key: &str) -> Option<u64> {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
        .and_then(|v| v.parse().ok())
}

fn median(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}

fn ms(us: u64) -> String {
    format!("{:.2} ms", us as f64 / 1000.0)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("ipvs-bench: {e}");
            return ExitCode::from(2);
        }
    };
    let apply = match std::env::current_exe() {
        Ok(p) => p.with_file_name("ipvs-apply"),
        Err(e) => {
            eprintln!("ipvs-bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    if !apply.exists() {
        eprintln!(
            "ipvs-bench: {} not found (cargo build -p keepalived-bench --bins)",
            apply.display()
        );
        return ExitCode::FAILURE;
    }
    // The reconciler alone, natively on this host (no kernel: the model table), same configs.
    let dir = std::env::temp_dir().join(format!("ipvs-bench-{}", std::process::id()));
    let native = native_runs(&apply, &dir, &args);
    let _ = std::fs::remove_dir_all(&dir);
    let builder = VmBuilder::new()
        .binary(&apply, "/usr/bin/ipvs-apply")
        .memory_mb(1024)
        .timeout(Duration::from_secs(900))
        .data("/b/cold.conf", config(&args, false), 0o644)
        .data("/b/reload.conf", config(&args, true), 0o644)
        .data("/b/cold.rules", rules(&args), 0o644)
        .data("/b/reload.rules", reload_rules(&args), 0o644);
    let vm = match builder.build() {
        Ok(vm) => vm,
        Err(e) => {
            eprintln!("ipvs-bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    let script = format!(
        "set -e\nfor i in $(seq {}); do\n\
         ipvsadm -C\necho ours; ipvs-apply /b/cold.conf /b/reload.conf\n\
         ipvsadm -C\necho ref-cold; ipvs-apply --time /b/cold.rules ipvsadm --restore\n\
         echo ref-reload; ipvs-apply --time /b/reload.rules ipvsadm --restore\n\
         done\nipvsadm -Ln | grep -c Masq\n",
        args.rounds
    );
    eprintln!(
        "ipvs-bench: {} virtual servers x {} real servers, {} rounds, in the VM (QEMU TCG)...",
        args.services, args.reals, args.rounds
    );
    let out = match vm.run(&script) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("ipvs-bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    if out.exit_code != 0 {
        eprintln!(
            "ipvs-bench: the VM script failed:\n{}\n{}",
            out.stdout, out.stderr
        );
        return ExitCode::FAILURE;
    }
    let lines: Vec<&str> = out.stdout.lines().collect();
    let pick = |step: u64, key: &str| -> Vec<u64> {
        lines
            .iter()
            .filter(|l| field(l, "step") == Some(step))
            .filter_map(|l| field(l, key))
            .collect()
    };
    let after = |tag: &str| -> Vec<u64> {
        lines
            .windows(2)
            .filter(|w| w[0] == tag)
            .filter_map(|w| field(w[1], "exec_us"))
            .collect()
    };
    let ours = |step: u64| {
        let total: Vec<u64> = pick(step, "read_us")
            .iter()
            .zip(pick(step, "plan_us"))
            .zip(pick(step, "apply_us"))
            .map(|((r, p), a)| r + p + a)
            .collect();
        (
            median(pick(step, "read_us")),
            median(pick(step, "plan_us")),
            median(pick(step, "apply_us")),
            median(total),
            median(pick(step, "messages")),
            median(pick(step, "changes")),
        )
    };
    let (c_read, c_plan, c_apply, c_total, c_msgs, c_changes) = ours(1);
    let (r_read, r_plan, r_apply, r_total, r_msgs, r_changes) = ours(2);
    let ref_cold = median(after("ref-cold"));
    let ref_reload = median(after("ref-reload"));
    let cold_lines = (args.services * (args.reals + 1)) as u64;
    let reload_lines = (0..args.services).filter(|i| changed(*i)).count() as u64;
    println!(
        "IPVS programming, {} virtual servers x {} real servers, kernel {}, QEMU TCG, median of {} rounds",
        args.services,
        args.reals,
        vm.kernel_release(),
        args.rounds
    );
    println!(
        "{:<28} {:>12} {:>12} {:>12} {:>12} {:>10}",
        "", "read config", "plan (diff)", "netlink", "total", "requests"
    );
    println!(
        "{:<28} {:>12} {:>12} {:>12} {:>12} {:>10}",
        "keepalived-rs cold start",
        ms(c_read),
        ms(c_plan),
        ms(c_apply),
        ms(c_total),
        c_msgs
    );
    println!(
        "{:<28} {:>12} {:>12} {:>12} {:>12} {:>10}",
        "ipvsadm --restore cold",
        "",
        "",
        "",
        ms(ref_cold),
        cold_lines
    );
    println!(
        "{:<28} {:>12} {:>12} {:>12} {:>12} {:>10}",
        "keepalived-rs 1 % reload",
        ms(r_read),
        ms(r_plan),
        ms(r_apply),
        ms(r_total),
        r_msgs
    );
    println!(
        "{:<28} {:>12} {:>12} {:>12} {:>12} {:>10}",
        "ipvsadm --restore 1 %",
        "",
        "",
        "",
        ms(ref_reload),
        reload_lines
    );
    println!(
        "cold start: {c_changes} changes; {:.2}x ipvsadm --restore (target <= 2x)",
        c_total as f64 / ref_cold.max(1) as f64
    );
    println!(
        "1 % reload: {r_changes} changes; our own time (plan + netlink) {} (target < 10 ms), with reading the config {}",
        ms(r_plan + r_apply),
        ms(r_total)
    );
    println!(
        "checker plan + engine in the VM: {} at the cold start, {} for the reload (kept states \
         matched); the daemon's whole reload adds these to the plan and netlink times",
        ms(median(pick(1, "checker_us"))),
        ms(median(pick(2, "checker_us")))
    );
    match native {
        Ok((cold, reload)) => println!(
            "natively on this host (no kernel, same configs): plan {} cold, {} for the 1 % reload; \
             our own reload time = native plan + VM netlink = {} (target < 10 ms)",
            ms(cold),
            ms(reload),
            ms(reload + r_apply)
        ),
        Err(e) => println!("native run failed: {e}"),
    }
    println!("(boot {:?}, whole run {:?})", out.boot_time, out.total_time);
    ExitCode::SUCCESS
}
