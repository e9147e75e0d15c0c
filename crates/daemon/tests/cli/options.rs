//! The command line as an operator meets it: `-t` exit codes and diagnostics, `--json`,
//! `-v`, `--signum`, `--help`.

use std::path::PathBuf;
use std::process::{Command, Output};

use super::bin;

fn temp_conf(name: &str, text: &str) -> PathBuf {
    super::temp_conf_in("cli", name, text)
}

fn config_test(path: &PathBuf, extra: &[&str]) -> Output {
    bin()
        .arg("-t")
        .args(extra)
        .arg("-f")
        .arg(path)
        .output()
        .expect("run keepalived-rs")
}

#[test]
fn valid_config_prints_nothing_and_exits_0() {
    let path = temp_conf("ok.conf", "global_defs {\n    router_id lb1\n}\n");
    let out = config_test(&path, &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    assert!(out.stderr.is_empty());
}

#[test]
fn every_error_is_located_with_line_and_caret() {
    let path = temp_conf(
        "bad.conf",
        "global_defs {\n    router_idd lb1\n    smtp_conect_timeout 3\n}\n",
    );
    let out = config_test(&path, &[]);
    assert_eq!(out.status.code(), Some(5));
    let err = String::from_utf8_lossy(&out.stderr);
    let file = path.display().to_string();
    assert!(err.contains(&format!("{file}:2:5: error: unknown keyword `router_idd` in global_defs; did you mean `router_id`?")), "{err}");
    assert!(
        err.contains(&format!(
            "{file}:3:5: error: unknown keyword `smtp_conect_timeout`"
        )),
        "{err}"
    );
    assert!(
        err.contains("\n        router_idd lb1\n        ^^^^^^^^^^\n"),
        "{err}"
    );
}

#[test]
fn missing_file_exits_4() {
    let out = bin()
        .args(["-t", "-f", "/nonexistent/keepalived.conf"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(4));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("cannot read configuration file /nonexistent/keepalived.conf")
    );
}

#[test]
fn json_goes_to_stdout_alone_even_with_errors() {
    let path = temp_conf(
        "json.conf",
        "global_defs {\n    router_id lb1\n    bogus_kw 1\n}\n\
         vrrp_instance VI_OK {\n    interface eth0\n    virtual_router_id 7\n}\n\
         vrrp_instance VI_BAD {\n    interface eth0\n    virtual_router_id 300\n}\n",
    );
    let out = config_test(&path, &["--json"]);
    assert_eq!(out.status.code(), Some(5));
    let json: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("stdout is JSON alone");
    assert_eq!(json["global"]["defs"]["router_id"], "lb1");
    // Every vrrp_instance is named: those that would not run under dropped_instances.
    assert_eq!(json["vrrp"]["instances"][0]["name"], "VI_OK");
    let dropped = &json["vrrp"]["dropped_instances"][0];
    assert_eq!(dropped["instance"]["name"], "VI_BAD", "{json}");
    assert!(dropped["reason"].as_str().is_some_and(|r| !r.is_empty()));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bogus_kw"));
}

#[test]
fn log_file_receives_the_diagnostics() {
    let path = temp_conf("log.conf", "nonsense_top_level\n");
    let log = path.with_extension("log");
    let _ = std::fs::remove_file(&log);
    let out = bin()
        .arg(format!("--config-test={}", log.display()))
        .arg("-f")
        .arg(&path)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(5));
    assert!(out.stderr.is_empty());
    let text = std::fs::read_to_string(&log).expect("log written");
    assert!(text.contains("unknown keyword `nonsense_top_level`"));
}

#[test]
fn version_signum_and_help() {
    let out = bin().arg("-v").output().expect("run");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("keepalived-rs "));
    let out = bin().arg("--signum=JSON").output().expect("run");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "36");
    let out = bin().arg("--signum=RELOAD").output().expect("run");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1");
    let out = bin().arg("--help").output().expect("run");
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--use-file",
        "--config-test",
        "--dont-fork",
        "--log-console",
        "--log-detail",
        "--log-facility",
        "--pid",
        "--vrrp_pid",
        "--checkers_pid",
        "--vrrp",
        "--check",
        "--config-id",
        "--dump-conf",
        "--version",
        "--json",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}");
    }
    // Every option does what keepalived's does, or its help says why not.
    assert!(!help.contains("not yet active"), "{help}");
    for flag in [
        "--core-dump-pattern",
        "--log-file",
        "--flush-log-file",
        "--ignore-sigint",
        "--genhash",
        "--snmp-agent-socket",
        "--no_bfd",
        "--bfd_pid",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}");
    }
}

#[test]
fn config_id_selects_conditional_lines() {
    let path = temp_conf(
        "cond.conf",
        "global_defs {\n@main router_id main_router\n@backup router_id backup_router\n}\n",
    );
    let out = config_test(&path, &["--json", "-i", "backup"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["global"]["defs"]["router_id"], "backup_router");
}

#[test]
fn scripts_without_script_security_exit_6_as_root() {
    let root = std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"))
    });
    if !root {
        eprintln!("skipping: scripts run as root only when we are root");
        return;
    }
    let path = temp_conf(
        "sec.conf",
        "global_defs {\n    startup_script /bin/true\n}\n",
    );
    let out = config_test(&path, &[]);
    assert_eq!(
        out.status.code(),
        Some(6),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("SECURITY VIOLATION"));
    let path = temp_conf(
        "sec-ok.conf",
        "global_defs {\n    startup_script /bin/true\n    enable_script_security\n    script_user root\n}\n",
    );
    assert_eq!(config_test(&path, &[]).status.code(), Some(0));
}

#[test]
fn all_config_makes_a_missing_include_an_error() {
    let path = temp_conf("inc.conf", "include /nonexistent/keepalived-rs-*.conf\n");
    let out = config_test(&path, &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "a plain include that matches nothing is a warning"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("warning: include: no file matches"));
    let out = config_test(&path, &["-e"]);
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stderr).contains("fatal: include"));
}

#[test]
#[cfg_attr(not(feature = "vrrp"), ignore = "its configuration is a vrrp_instance")]
fn sigterm_is_honoured_even_when_the_parent_blocked_it() {
    // `sh -c` with SIGTERM ignored would not do: an ignored signal stays ignored across exec on
    // purpose. A *blocked* one (the mask) must be reset by the daemon itself. python3 blocks
    // SIGTERM in its mask, then execs the daemon (in config-test mode it exits at once, so run
    // the daemon on a config whose only instance uses a missing interface: it keeps running).
    let root = std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"))
    });
    if !root || Command::new("python3").arg("-c").arg("1").status().is_err() {
        eprintln!("skipping: needs root and python3");
        return;
    }
    let path = temp_conf(
        "sigmask.conf",
        "vrrp_instance VI_1 {\n interface kars-nosuch0\n virtual_router_id 51\n priority 100\n virtual_ipaddress {\n  192.0.2.10/24\n }\n}\n",
    );
    let run = path.with_extension("run");
    std::fs::create_dir_all(&run).expect("run dir");
    let script = format!(
        "import os, signal; signal.pthread_sigmask(signal.SIG_BLOCK, {{signal.SIGTERM}}); os.execv('{bin}', ['{bin}', '-n', '-l', '-f', '{conf}', '-p', '{run}/p.pid', '-r', '{run}/v.pid', '-c', '{run}/c.pid'])",
        bin = env!("CARGO_BIN_EXE_keepalived-rs"),
        conf = path.display(),
        run = run.display()
    );
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(script)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(
        child.try_wait().expect("wait").is_none(),
        "daemon exited early"
    );
    Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .expect("kill");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break Some(s);
        }
        if std::time::Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    if status.is_none() {
        let _ = child.kill();
    }
    assert!(
        status.is_some(),
        "SIGTERM was ignored (blocked signal mask inherited)"
    );
}
