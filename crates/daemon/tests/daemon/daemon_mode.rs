//! Running like keepalived (issue 17): daemon mode (no `-n`), network namespaces (`net_namespace`,
//! `-s`, the pid-file directory, a reload that would change the namespace) and `-u` / `umask`,
//! and the rest of keepalived's command line ([`options`]), in lab namespaces. Every daemon is
//! started inside a lab namespace, also when it is told to move to another; the lab kills
//! whatever is left in its namespaces.

mod options;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::files::TempDir;
use crate::support::{KEEPALIVED, skip_reason_for, two_hosts};
use lab::{Host, wait_until};

const VIP: &str = "192.0.2.100";
const POLL: Duration = Duration::from_millis(50);

fn vip() -> IpAddr {
    VIP.parse().expect("address")
}

/// One VRRP instance on eth0 that becomes master alone, with `extra` at the top level and
/// `instance_extra` inside the instance.
fn conf(extra: &str, instance_extra: &str) -> String {
    format!(
        "{extra}\nvrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    \
         virtual_router_id 61\n    priority 150\n    advert_int 1\n{instance_extra}    \
         virtual_ipaddress {{\n        {VIP}/24\n    }}\n}}\n"
    )
}

fn pid_in(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

fn kill(sig: &str, pid: u32) {
    let _ = std::process::Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status();
}

/// Runs keepalived-rs in `host` with `args` (and `-l -D -f CONF`), stdout and stderr to
/// `dir/NAME.log`; returns the command's exit status and how long it took.
fn run_command(
    host: &Host,
    dir: &Path,
    name: &str,
    conf: &str,
    args: &[&str],
) -> (std::process::ExitStatus, Duration, PathBuf) {
    let conf_path = dir.join(format!("{name}.conf"));
    std::fs::write(&conf_path, conf).expect("config");
    let log = dir.join(format!("{name}.log"));
    let started = Instant::now();
    let status = host
        .command(env!("CARGO_BIN_EXE_keepalived-rs"))
        .args(["-l", "-D"])
        .args(args)
        .arg("-f")
        .arg(&conf_path)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&log).expect("log"))
        .stderr(std::fs::File::create(dir.join(format!("{name}.err"))).expect("log"))
        .status()
        .expect("run keepalived-rs");
    (status, started.elapsed(), conf_path)
}

#[test]
fn without_dont_fork_the_command_returns_once_the_daemon_runs() {
    if lab::Lab::skip_unless_root() {
        return;
    }
    let net = two_hosts("kvdm");
    let ha1 = &net.hosts[0];
    let dir = TempDir::new("daemon-mode");
    let pid_file = dir.0.join("k.pid");
    let pid_arg = pid_file.display().to_string();
    let vrrp_pid = dir.0.join("v.pid").display().to_string();
    let chk_pid = dir.0.join("c.pid").display().to_string();
    let (status, took, _) = run_command(
        ha1,
        &dir.0,
        "fork",
        &conf("", ""),
        &["-p", &pid_arg, "-r", &vrrp_pid, "-c", &chk_pid],
    );
    eprintln!("daemon_mode: command returned in {} ms", took.as_millis());
    assert!(status.success(), "exit status {status:?}");
    assert!(took < Duration::from_secs(10), "returned after {took:?}");
    let pid = pid_in(&pid_file).expect("the parent's pid file");
    assert!(alive(pid), "pid {pid} from the pid file is not running");
    let engine = pid_in(Path::new(&vrrp_pid)).expect("the VRRP engine's pid file");
    assert!(alive(engine), "VRRP engine {engine}");
    let master = wait_until(Duration::from_secs(15), POLL, || ha1.has_addr(vip()));
    assert!(master.is_some(), "the daemon never became master");
    kill("TERM", pid);
    let stopped = wait_until(Duration::from_secs(10), POLL, || {
        !alive(pid) && !ha1.has_addr(vip())
    });
    assert!(
        stopped.is_some(),
        "after SIGTERM: alive {}, VIP held {}",
        alive(pid),
        ha1.has_addr(vip())
    );
    assert!(!pid_file.exists(), "the pid file was not removed");
}

#[test]
fn a_configuration_error_is_printed_and_returned_before_the_fork() {
    if lab::Lab::skip_unless_root() {
        return;
    }
    let net = two_hosts("kvde");
    let dir = TempDir::new("daemon-error");
    let p = dir.0.join("k.pid").display().to_string();
    // A fatal error: an include that must exist (includea) and does not.
    let text = format!(
        "{}\nincludea /nonexistent/keepalived-rs-*.conf\n",
        conf("", "")
    );
    let (status, took, _) = run_command(&net.hosts[0], &dir.0, "bad", &text, &["-p", &p]);
    assert!(
        !status.success(),
        "a configuration that cannot run: {status:?}"
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
    let stderr = std::fs::read_to_string(dir.0.join("bad.err")).unwrap_or_default();
    assert!(stderr.contains("not starting"), "stderr: {stderr}");
    assert!(!Path::new(&p).exists(), "no daemon may run");
}

/// Starts a foreground daemon (`-n`) in `host` with `args`; returns the parent.
fn start_foreground(
    host: &Host,
    dir: &Path,
    name: &str,
    conf: &str,
    args: &[&str],
) -> lab::LabChild {
    let conf_path = dir.join(format!("{name}.conf"));
    std::fs::write(&conf_path, conf).expect("config");
    let mut cmd = host.command(env!("CARGO_BIN_EXE_keepalived-rs"));
    cmd.args(["-n", "-l", "-D"])
        .args(args)
        .arg("-f")
        .arg(&conf_path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join(format!("{name}.log"))).expect("log"));
    lab::LabChild::spawn(&mut cmd).expect("spawn keepalived-rs")
}

fn log_of(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(format!("{name}.log"))).unwrap_or_default()
}

#[test]
fn net_namespace_moves_the_whole_daemon_and_a_reload_cannot_change_it() {
    if lab::Lab::skip_unless_root() {
        return;
    }
    let net = two_hosts("kvns");
    let (ha1, ha2) = (&net.hosts[0], &net.hosts[1]);
    let dir = TempDir::new("netns");
    // Started in ha1's namespace, told to run in ha2's; default pid files (in the namespace's
    // directory under /run/keepalived).
    let text = conf(&format!("net_namespace {}", ha2.netns()), "");
    let mut daemon = start_foreground(ha1, &dir.0, "ns", &text, &[]);
    let held = wait_until(Duration::from_secs(15), POLL, || ha2.has_addr(vip()));
    assert!(
        held.is_some(),
        "VIP never in {}\n{}",
        ha2.netns(),
        log_of(&dir.0, "ns")
    );
    assert!(
        !ha1.has_addr(vip()),
        "the VIP is in the namespace the daemon was started in"
    );
    let pid_dir = PathBuf::from(format!("/run/keepalived/{}", ha2.netns()));
    let parent_pid = pid_in(&pid_dir.join("keepalived.pid"));
    assert_eq!(
        parent_pid,
        Some(daemon.id()),
        "pid file in {}",
        pid_dir.display()
    );
    assert!(pid_in(&pid_dir.join("vrrp.pid")).is_some_and(alive));
    // A reload naming another namespace is refused as a whole; the daemon stays where it is.
    let moved = conf(&format!("net_namespace {}", ha1.netns()), "");
    std::fs::write(dir.0.join("ns.conf"), moved).expect("config");
    daemon.signal("HUP").expect("SIGHUP");
    let refused = wait_until(Duration::from_secs(10), POLL, || {
        log_of(&dir.0, "ns").contains("Cannot change network namespace at a reload")
    });
    assert!(refused.is_some(), "{}", log_of(&dir.0, "ns"));
    std::thread::sleep(Duration::from_secs(2));
    assert!(ha2.has_addr(vip()) && !ha1.has_addr(vip()), "the VIP moved");
    daemon.signal("TERM").expect("SIGTERM");
    assert!(
        daemon.wait_timeout(Duration::from_secs(10)).is_some(),
        "did not stop"
    );
    assert!(!ha2.has_addr(vip()), "VIP left behind in {}", ha2.netns());
    assert!(
        !pid_dir.join("keepalived.pid").exists(),
        "pid file left behind"
    );
    let _ = std::fs::remove_dir(&pid_dir);
}

#[test]
fn dash_s_overrides_net_namespace() {
    if lab::Lab::skip_unless_root() {
        return;
    }
    let net = two_hosts("kvnss");
    let (ha1, ha2) = (&net.hosts[0], &net.hosts[1]);
    let dir = TempDir::new("netns-s");
    let p = |n: &str| dir.0.join(n).display().to_string();
    let (pp, rp, cp) = (p("k.pid"), p("v.pid"), p("c.pid"));
    // The configuration names ha1's namespace; -s names ha2's, which wins.
    let text = conf(&format!("net_namespace {}", ha1.netns()), "");
    let ns = ha2.netns().to_owned();
    let mut daemon = start_foreground(
        ha1,
        &dir.0,
        "s",
        &text,
        &["-s", &ns, "-p", &pp, "-r", &rp, "-c", &cp],
    );
    let held = wait_until(Duration::from_secs(15), POLL, || ha2.has_addr(vip()));
    assert!(held.is_some(), "VIP never in {ns}\n{}", log_of(&dir.0, "s"));
    assert!(!ha1.has_addr(vip()));
    assert!(
        log_of(&dir.0, "s").contains(&format!(
            "Overriding config net_namespace '{}' with command line namespace '{ns}'",
            ha1.netns()
        )),
        "{}",
        log_of(&dir.0, "s")
    );
    // Explicit pid files win over the namespace's directory.
    assert_eq!(pid_in(Path::new(&pp)), Some(daemon.id()));
    daemon.signal("TERM").expect("SIGTERM");
    assert!(daemon.wait_timeout(Duration::from_secs(10)).is_some());
    let _ = std::fs::remove_dir(format!("/run/keepalived/{ns}"));
}

/// Starts keepalived-rs (`ours`) or Debian's keepalived (`-P`: no IPVS here) in the foreground
/// in `host` with `args` and pid files in `dir`; the log goes to `dir/NAME.log`.
fn start(
    ours: bool,
    host: &Host,
    dir: &Path,
    name: &str,
    text: &str,
    args: &[&str],
) -> lab::LabChild {
    let p = |n: &str| dir.join(format!("{name}-{n}")).display().to_string();
    let (pp, rp, cp) = (p("k.pid"), p("v.pid"), p("c.pid"));
    let mut all: Vec<&str> = vec!["-p", &pp, "-r", &rp, "-c", &cp];
    all.extend_from_slice(args);
    if ours {
        return start_foreground(host, dir, name, text, &all);
    }
    let conf_path = dir.join(format!("{name}.conf"));
    std::fs::write(&conf_path, text).expect("config");
    let mut cmd = host.command(KEEPALIVED);
    cmd.args(["-n", "-l", "-D", "-P"])
        .args(&all)
        .arg("-f")
        .arg(&conf_path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join(format!("{name}.log"))).expect("log"));
    lab::LabChild::spawn(&mut cmd).expect("spawn keepalived")
}

/// The mode of the file a notify_master script creates, under keepalived-rs or Debian's
/// keepalived with `args`.
fn created_mode(ours: bool, umask_line: &str, args: &[&str]) -> u32 {
    let net = two_hosts(if ours { "kvum" } else { "kvuk" });
    let ha1 = &net.hosts[0];
    let dir = TempDir::new(if ours { "umask-ours" } else { "umask-ka" });
    let made = dir.0.join("made");
    let script = format!("    notify_master \"/usr/bin/touch {}\"\n", made.display());
    let text = conf(&format!("global_defs {{\n{umask_line}\n}}"), &script);
    let mut daemon = start(ours, ha1, &dir.0, "u", &text, args);
    let done = wait_until(Duration::from_secs(15), POLL, || made.exists());
    assert!(
        done.is_some(),
        "no file from notify_master\n{}",
        log_of(&dir.0, "u")
    );
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&made).expect("metadata").permissions(),
    ) & 0o777;
    let _ = daemon.signal("TERM");
    let _ = daemon.wait_timeout(Duration::from_secs(10));
    mode
}

#[test]
fn umask_from_the_configuration_or_dash_u_as_keepalived() {
    if lab::Lab::skip_unless_root() {
        return;
    }
    // keepalived's default umask (0177), global_defs `umask`, and -u over it.
    let default_ours = created_mode(true, "", &[]);
    assert_eq!(default_ours, 0o600, "default umask 0177");
    assert_eq!(created_mode(true, "    umask 027", &[]), 0o640);
    assert_eq!(created_mode(true, "    umask 027", &["-u", "022"]), 0o644);
    if let Some(why) = skip_reason_for(true, false) {
        eprintln!("umask: keepalived comparison skipped: {why}");
        return;
    }
    assert_eq!(
        created_mode(false, "", &[]),
        default_ours,
        "keepalived's default"
    );
    assert_eq!(created_mode(false, "    umask 027", &["-u", "022"]), 0o644);
}
