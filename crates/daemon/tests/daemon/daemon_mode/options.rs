//! The rest of keepalived's command line (issue 17): `-a`, `-m`, `-g`, `--ignore-sigint`, `-T`,
//! `-X` and the `startup_script` / `shutdown_script` keywords, each asserted on its effect in a
//! lab namespace and, where Debian's keepalived 2.2.7 has it, compared with keepalived.

use super::*;

/// Like [`conf`], with the priority given.
fn conf_prio(extra: &str, priority: u8, instance_extra: &str) -> String {
    conf(extra, instance_extra).replace("priority 150", &format!("priority {priority}"))
}

fn stop(mut daemon: lab::LabChild) {
    let _ = daemon.signal("TERM");
    assert!(
        daemon.wait_timeout(Duration::from_secs(10)).is_some(),
        "did not stop on SIGTERM"
    );
}

/// -a: an address added and removed by hand is logged as keepalived logs it.
fn address_changes_logged(ours: bool, with_a: bool) -> String {
    let net = two_hosts(if ours { "kvaa" } else { "kvak" });
    let ha1 = &net.hosts[0];
    let dir = TempDir::new(if ours { "addrmon" } else { "addrmon-ka" });
    let args: &[&str] = if with_a { &["-a"] } else { &[] };
    let daemon = start(ours, ha1, &dir.0, "a", &conf("", ""), args);
    let master = wait_until(Duration::from_secs(15), POLL, || ha1.has_addr(vip()));
    assert!(master.is_some(), "never master\n{}", log_of(&dir.0, "a"));
    ha1.run_ok("ip", ["addr", "add", "198.51.100.9/24", "dev", "eth0"])
        .expect("add");
    ha1.run_ok("ip", ["addr", "del", "198.51.100.9/24", "dev", "eth0"])
        .expect("del");
    let removed = "Netlink reflector reports IP 198.51.100.9 removed from eth0";
    let _ = wait_until(Duration::from_secs(3), POLL, || {
        log_of(&dir.0, "a").contains(removed)
    });
    stop(daemon);
    log_of(&dir.0, "a")
}

#[test]
fn dash_a_logs_every_address_change_as_keepalived() {
    if lab::Lab::skip_unless_root() {
        return;
    }
    let added = "Netlink reflector reports IP 198.51.100.9 added to eth0";
    let removed = "Netlink reflector reports IP 198.51.100.9 removed from eth0";
    // The addresses present at start are logged as added (keepalived's initial dump).
    let present = "Netlink reflector reports IP 192.0.2.1 added to eth0";
    // keepalived-rs also logs the VIPs it adds itself; keepalived leaves out its own changes.
    let vip_added = format!("Netlink reflector reports IP {VIP} added to eth0");
    let log = address_changes_logged(true, true);
    for line in [added, removed, present, &vip_added] {
        assert!(log.contains(line), "-a: no '{line}'\n{log}");
    }
    let log = address_changes_logged(true, false);
    assert!(!log.contains(added), "without -a:\n{log}");
    // The checker process logs them too, without the interface (keepalived's checker text).
    let net = two_hosts("kvac");
    let ha1 = &net.hosts[0];
    let dir = TempDir::new("addrmon-check");
    let lvs = "virtual_server 192.0.2.10 80 {\n    lb_algo rr\n    lb_kind NAT\n    \
               protocol TCP\n    real_server 127.0.0.1 80 {\n        TCP_CHECK {\n        \
               connect_timeout 1\n        }\n    }\n}\n";
    let daemon = start(true, ha1, &dir.0, "c", lvs, &["-C", "-a"]);
    let checker = "Netlink reflector reports IP 198.51.100.9 added\n";
    let seen = wait_until(Duration::from_secs(10), POLL, || {
        if log_of(&dir.0, "c").contains("reports IP 127.0.0.1 added") {
            let _ = ha1.run_ok("ip", ["addr", "replace", "198.51.100.9/24", "dev", "eth0"]);
        }
        log_of(&dir.0, "c").contains(checker)
    });
    stop(daemon);
    assert!(seen.is_some(), "checker -a:\n{}", log_of(&dir.0, "c"));
    if let Some(why) = skip_reason_for(true, false) {
        eprintln!("-a: keepalived comparison skipped: {why}");
        return;
    }
    let log = address_changes_logged(false, true);
    for line in [added, removed, present] {
        assert!(log.contains(line), "keepalived -a: no '{line}'\n{log}");
    }
}

/// `Max core file size` of `/proc/PID/limits` (soft limit).
fn core_limit(pid: u32) -> String {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap_or_default();
    limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .and_then(|l| l.split_whitespace().nth(4))
        .unwrap_or("?")
        .to_owned()
}

/// The core-size limits of the parent and the VRRP process, started under `ulimit -S -c 0`
/// (the soft limit only: raising a hard limit needs CAP_SYS_RESOURCE, which a container may
/// not have).
fn core_limits(ours: bool, args: &[&str]) -> (String, String) {
    let net = two_hosts(if ours { "kvcm" } else { "kvck" });
    let ha1 = &net.hosts[0];
    let dir = TempDir::new(if ours { "core" } else { "core-ka" });
    let conf_path = dir.0.join("m.conf");
    std::fs::write(&conf_path, conf("", "")).expect("config");
    let p = |n: &str| dir.0.join(n).display().to_string();
    let (pp, rp, cp) = (p("k.pid"), p("v.pid"), p("c.pid"));
    let bin = if ours {
        env!("CARGO_BIN_EXE_keepalived-rs")
    } else {
        KEEPALIVED
    };
    let mut cmd = ha1.command("sh");
    cmd.args([
        "-c",
        "ulimit -S -c 0; exec \"$@\"",
        "sh",
        bin,
        "-n",
        "-l",
        "-P",
    ])
    .args(["-p", &pp, "-r", &rp, "-c", &cp])
    .args(args)
    .arg("-f")
    .arg(&conf_path)
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(std::fs::File::create(dir.0.join("m.log")).expect("log"));
    let daemon = lab::LabChild::spawn(&mut cmd).expect("spawn");
    let up = wait_until(Duration::from_secs(15), POLL, || {
        pid_in(Path::new(&rp)).is_some_and(alive)
    });
    assert!(up.is_some(), "no VRRP process\n{}", log_of(&dir.0, "m"));
    let engine = pid_in(Path::new(&rp)).unwrap_or(0);
    let limits = (core_limit(daemon.id()), core_limit(engine));
    stop(daemon);
    limits
}

#[test]
fn dash_m_lifts_the_core_size_limit_in_every_process_as_keepalived() {
    if lab::Lab::skip_unless_root() {
        return;
    }
    let unlimited = ("unlimited".to_owned(), "unlimited".to_owned());
    let zero = ("0".to_owned(), "0".to_owned());
    assert_eq!(core_limits(true, &[]), zero, "without -m");
    assert_eq!(core_limits(true, &["-m"]), unlimited, "with -m");
    if let Some(why) = skip_reason_for(true, false) {
        eprintln!("-m: keepalived comparison skipped: {why}");
        return;
    }
    assert_eq!(core_limits(false, &["-m"]), unlimited, "keepalived -m");
}

#[test]
fn dash_g_writes_one_log_file_per_process_named_as_keepalived() {
    if lab::Lab::skip_unless_root() {
        return;
    }
    let net = two_hosts("kvlg");
    let ha1 = &net.hosts[0];
    let dir = TempDir::new("logfile");
    let file = dir.0.join("ka.log");
    let arg = format!("--log-file={}", file.display());
    let daemon = start(true, ha1, &dir.0, "g", &conf("", ""), &[&arg]);
    let vrrp_file = dir.0.join("ka_vrrp.log");
    let master = wait_until(Duration::from_secs(15), POLL, || {
        std::fs::read_to_string(&vrrp_file).is_ok_and(|t| t.contains("Entering MASTER STATE"))
    });
    assert!(
        master.is_some(),
        "{}: {:?}\n{}",
        vrrp_file.display(),
        std::fs::read_to_string(&vrrp_file),
        log_of(&dir.0, "g")
    );
    stop(daemon);
    let parent = std::fs::read_to_string(&file).expect("the parent's log file");
    assert!(parent.contains("Starting keepalived-rs"), "{parent}");
    assert!(
        !parent.contains("Entering MASTER STATE"),
        "the VRRP process wrote to the parent's file"
    );
    // keepalived's file stamp: `Mon Dec 07 15:33:17.123456789 2026: ...`.
    let first = parent.lines().next().unwrap_or_default();
    let stamp: Vec<&str> = first.splitn(6, ' ').collect();
    assert_eq!(stamp.len(), 6, "{first}");
    assert_eq!(stamp[2].len(), 2, "day of month in {first}");
    let (time, nanos) = stamp[3].split_once('.').unwrap_or_default();
    assert_eq!((time.len(), nanos.len()), (8, 9), "time in {first}");
    assert!(stamp[4].ends_with(':'), "{first}");
    assert!(
        !dir.0.join("ka_check.log").exists(),
        "no checker process ran"
    );
}

#[test]
fn ignore_sigint_keeps_every_process_running() {
    if lab::Lab::skip_unless_root() {
        return;
    }
    let net = two_hosts("kvsi");
    let ha1 = &net.hosts[0];
    let dir = TempDir::new("sigint");
    for ignore in [true, false] {
        let name = if ignore { "i" } else { "n" };
        let args: &[&str] = if ignore { &["--ignore-sigint"] } else { &[] };
        let mut daemon = start(true, ha1, &dir.0, name, &conf("", ""), args);
        let master = wait_until(Duration::from_secs(15), POLL, || ha1.has_addr(vip()));
        assert!(master.is_some(), "never master\n{}", log_of(&dir.0, name));
        let engine = pid_in(&dir.0.join(format!("{name}-v.pid"))).expect("VRRP pid");
        kill("INT", engine);
        kill("INT", daemon.id());
        let ended = daemon.wait_timeout(Duration::from_secs(3));
        if ignore {
            assert!(ended.is_none(), "SIGINT ended the daemon");
            assert!(alive(engine), "SIGINT ended the VRRP process");
            assert!(ha1.has_addr(vip()));
            stop(daemon);
        } else {
            assert!(ended.is_some(), "without --ignore-sigint SIGINT stops it");
        }
        assert!(!ha1.has_addr(vip()), "VIP left behind");
    }
}

/// Writes an executable shell script.
fn script(path: &Path, body: &str) {
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).expect("script");
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
}

/// What the startup and shutdown scripts saw, run by keepalived-rs or keepalived: the lines of
/// `events` (whether the VRRP process's pid file existed; whether the VIP was configured).
fn start_stop_events(ours: bool) -> Vec<String> {
    let net = two_hosts(if ours { "kvss" } else { "kvsk" });
    let ha1 = &net.hosts[0];
    let dir = TempDir::new(if ours { "startstop" } else { "startstop-ka" });
    let events = dir.0.join("events");
    let vrrp_pid = dir.0.join("s-v.pid");
    let probe = format!(
        "if [ -e {pid} ]; then e=engine-running; else e=no-engine; fi\n\
         if ip -o addr show | grep -q ' {VIP}/'; then v=vip-held; else v=vip-gone; fi\n\
         echo \"$1 $e $v\" >> {events}",
        pid = vrrp_pid.display(),
        events = events.display()
    );
    script(&dir.0.join("probe.sh"), &probe);
    let probe_path = dir.0.join("probe.sh").display().to_string();
    let text = conf_prio(
        &format!(
            "global_defs {{\n    startup_script \"{probe_path} start\"\n    \
             shutdown_script \"{probe_path} stop\"\n}}"
        ),
        150,
        "",
    );
    let daemon = start(ours, ha1, &dir.0, "s", &text, &[]);
    let master = wait_until(Duration::from_secs(15), POLL, || ha1.has_addr(vip()));
    assert!(master.is_some(), "never master\n{}", log_of(&dir.0, "s"));
    stop(daemon);
    let _ = wait_until(Duration::from_secs(5), POLL, || {
        std::fs::read_to_string(&events).is_ok_and(|t| t.contains("stop"))
    });
    std::fs::read_to_string(&events)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn startup_script_before_the_engines_shutdown_script_after_them_as_keepalived() {
    if lab::Lab::skip_unless_root() {
        return;
    }
    let expected = ["start no-engine vip-gone", "stop no-engine vip-gone"];
    assert_eq!(start_stop_events(true), expected, "keepalived-rs");
    // A startup script that hangs delays the engines by its timeout only.
    let net = two_hosts("kvst");
    let ha1 = &net.hosts[0];
    let dir = TempDir::new("startup-timeout");
    script(&dir.0.join("hang.sh"), "exec sleep 60.125");
    let text = conf(
        &format!(
            "global_defs {{\n    startup_script {}\n    startup_script_timeout 2\n}}",
            dir.0.join("hang.sh").display()
        ),
        "",
    );
    let started = Instant::now();
    let daemon = start(true, ha1, &dir.0, "t", &text, &[]);
    let engine = wait_until(Duration::from_secs(15), POLL, || {
        pid_in(&dir.0.join("t-v.pid")).is_some_and(alive)
    });
    let took = started.elapsed();
    eprintln!(
        "startup_script_timeout 2: the VRRP process started after {} ms",
        took.as_millis()
    );
    assert!(engine.is_some(), "no engine\n{}", log_of(&dir.0, "t"));
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(6),
        "{took:?}"
    );
    let hung = ha1
        .run_ok("pgrep", ["-f", "sleep 60.125"])
        .unwrap_or_default();
    assert!(hung.trim().is_empty(), "the timed-out script still runs");
    stop(daemon);
    // SIGTERM during the startup script: the script is killed, no engine starts, the parent
    // exits and leaves no pid file.
    let text = text.replace("startup_script_timeout 2", "startup_script_timeout 30");
    let mut daemon = start(true, ha1, &dir.0, "w", &text, &[]);
    let hang_runs = || {
        !ha1.run_ok("pgrep", ["-f", "sleep 60.125"])
            .unwrap_or_default()
            .trim()
            .is_empty()
    };
    let running = wait_until(Duration::from_secs(5), POLL, hang_runs);
    assert!(running.is_some(), "the startup script never ran");
    daemon.signal("TERM").expect("SIGTERM");
    let ended = daemon.wait_timeout(Duration::from_secs(3));
    assert!(ended.is_some(), "SIGTERM during the startup script");
    assert!(!hang_runs(), "the startup script outlived the daemon");
    assert!(!dir.0.join("w-v.pid").exists(), "an engine started");
    assert!(!dir.0.join("w-k.pid").exists(), "pid file left behind");
    if let Some(why) = skip_reason_for(true, false) {
        eprintln!("startup/shutdown scripts: keepalived comparison skipped: {why}");
        return;
    }
    assert_eq!(start_stop_events(false), expected, "keepalived");
}

/// A master (`ours` or keepalived, with `args`) in ha1 and keepalived-rs at priority 100 in
/// ha2; a reload lowers ha1's priority to 50. Returns whether ha1 still holds the VIP once ha2
/// holds it, and how long after the SIGHUP ha2 took it.
fn reload_lowering_priority(ours: bool, args: &[&str], tag: &str) -> (bool, Duration) {
    let net = two_hosts(tag);
    let (ha1, ha2) = (&net.hosts[0], &net.hosts[1]);
    let dir = TempDir::new(tag);
    let mut master = start(ours, ha1, &dir.0, "m", &conf_prio("", 150, ""), args);
    let held = wait_until(Duration::from_secs(15), POLL, || ha1.has_addr(vip()));
    assert!(held.is_some(), "ha1 never master\n{}", log_of(&dir.0, "m"));
    let backup = start(true, ha2, &dir.0, "b", &conf_prio("", 100, ""), &[]);
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        !ha2.has_addr(vip()),
        "ha2 took the VIP from a higher priority"
    );
    std::fs::write(dir.0.join("m.conf"), conf_prio("", 50, "")).expect("config");
    let hup = Instant::now();
    master.signal("HUP").expect("SIGHUP");
    let taken = wait_until(Duration::from_secs(15), POLL, || ha2.has_addr(vip()));
    let took = hup.elapsed();
    assert!(
        taken.is_some(),
        "ha2 never took over\n{}",
        log_of(&dir.0, "b")
    );
    // Give ha1 time to see ha2's advert and leave MASTER.
    let _ = wait_until(Duration::from_secs(5), POLL, || !ha1.has_addr(vip()));
    let still = ha1.has_addr(vip());
    stop(master);
    stop(backup);
    (still, took)
}

#[test]
fn a_reload_lowering_the_priority_releases_the_vips_with_or_without_dash_x() {
    if lab::Lab::skip_unless_root() {
        return;
    }
    for args in [&[][..], &["-X"][..]] {
        let (still, took) = reload_lowering_priority(true, args, "kvrx");
        eprintln!(
            "-X {args:?}: the backup took over {} ms after SIGHUP",
            took.as_millis()
        );
        assert!(!still, "keepalived-rs {args:?} kept the VIP as BACKUP");
    }
    if let Some(why) = skip_reason_for(true, false) {
        eprintln!("-X: keepalived comparison skipped: {why}");
        return;
    }
    let (still, took) = reload_lowering_priority(false, &["-X"], "kvrk");
    eprintln!(
        "keepalived -X: the backup took over {} ms after SIGHUP",
        took.as_millis()
    );
    assert!(!still, "keepalived -X kept the VIP as BACKUP");
}

/// The MD5 digest a genhash run prints (the first 32-hex-digit word).
fn digest(out: &str) -> Option<String> {
    out.split(|c: char| !c.is_ascii_hexdigit())
        .find(|w| w.len() == 32)
        .map(str::to_lowercase)
}

#[test]
fn dash_t_is_genhash_as_in_keepalived() {
    if lab::Lab::skip_unless_root() {
        return;
    }
    let net = two_hosts("kvgh");
    let ha1 = &net.hosts[0];
    let dir = TempDir::new("genhash");
    std::fs::write(dir.0.join("page.html"), "keepalived-rs -T\n").expect("page");
    let _server = crate::support::servers::http_server(ha1, &dir.0, 8089);
    let args = ["-s", "127.0.0.1", "-p", "8089", "-u", "/page.html"];
    let ours = ha1.run(
        env!("CARGO_BIN_EXE_keepalived-rs"),
        std::iter::once("-T").chain(args),
    );
    let text = String::from_utf8_lossy(&ours.stdout).into_owned();
    assert!(
        ours.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&ours.stderr)
    );
    // md5("keepalived-rs -T\n"), computed here.
    let md5 = ha1
        .run_ok("md5sum", [dir.0.join("page.html").display().to_string()])
        .expect("md5sum");
    let expected = md5.split_whitespace().next().map(str::to_owned);
    assert_eq!(digest(&text), expected, "{text}");
    if let Some(why) = skip_reason_for(true, false) {
        eprintln!("-T: keepalived comparison skipped: {why}");
        return;
    }
    let theirs = ha1.run(KEEPALIVED, std::iter::once("-T").chain(args));
    let text = String::from_utf8_lossy(&theirs.stdout).into_owned();
    assert_eq!(digest(&text), expected, "keepalived -T: {text}");
}

/// `-M` writes `/proc/sys/kernel/core_pattern`, a setting of the whole machine: tested only
/// inside the IPVS VM (Debian's kernel under QEMU, lab::vm), never on the host.
#[test]
fn dash_capital_m_sets_core_pattern_and_restores_it_at_exit_in_the_vm() {
    let bin = std::env::var("KEEPALIVED_RS_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_keepalived-rs").to_owned());
    let builder = lab::vm::VmBuilder::new()
        .binary(bin, "/usr/sbin/keepalived-rs")
        .data("/etc/keepalived.conf", "", 0o644);
    let keepalived = Path::new(KEEPALIVED).exists();
    let builder = if keepalived {
        builder.binary(KEEPALIVED, KEEPALIVED)
    } else {
        builder
    };
    let Some(vm) = builder.build_or_skip().expect("building the VM") else {
        return;
    };
    let script = "p=/proc/sys/kernel/core_pattern\n\
        echo kv-before > $p\n\
        run() {\n\
          bin=$1; shift\n\
          ($bin -n -l -P \"$@\" -f /etc/keepalived.conf -p /tmp/k.pid -r /tmp/v.pid -c /tmp/c.pid > /tmp/k.log 2>&1 &)\n\
          sleep 2\n\
          echo \"during $* $(cat $p) $(grep 'Max core' /proc/$(cat /tmp/k.pid)/limits | tr -s ' ' | cut -d' ' -f5)\"\n\
          kill $(cat /tmp/k.pid)\n\
          sleep 2\n\
          echo \"after $* $(cat $p)\"\n\
        }\n\
        ulimit -S -c 0\n\
        run /usr/sbin/keepalived-rs --core-dump-pattern=/tmp/core.%p\n\
        run /usr/sbin/keepalived-rs -M\n\
        run /usr/sbin/keepalived-rs -m\n\
        [ -x /usr/sbin/keepalived ] && run /usr/sbin/keepalived --core-dump-pattern=/tmp/core.%p\n\
        cat /tmp/k.log\n";
    let out = vm.run(script).expect("running the VM");
    assert_eq!(out.exit_code, 0, "{}\n{}", out.stdout, out.stderr);
    let lines: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("during ") || l.starts_with("after "))
        .collect();
    let (ours, theirs) = lines.split_at(lines.len().min(6));
    assert_eq!(
        *ours,
        [
            "during --core-dump-pattern=/tmp/core.%p /tmp/core.%p unlimited",
            "after --core-dump-pattern=/tmp/core.%p kv-before",
            "during -M core unlimited",
            "after -M kv-before",
            "during -m kv-before unlimited",
            "after -m kv-before",
        ],
        "{}\n{}",
        out.stdout,
        out.stderr
    );
    if keepalived {
        // A deliberate divergence: keepalived 2.2.7 (and 2.4.3) writes the new pattern on the
        // descriptor it has just read the old one from, at a non-zero offset, which the
        // kernel's strict sysctl writes (the default) ignore: its -M leaves the pattern as it
        // was, and lifts the limit only.
        assert_eq!(
            *theirs,
            [
                "during --core-dump-pattern=/tmp/core.%p kv-before unlimited",
                "after --core-dump-pattern=/tmp/core.%p kv-before",
            ],
            "keepalived -M in the VM\n{}",
            out.stdout
        );
    }
}
