//! The daemon with exactly the capabilities docs/capabilities.md documents: run through
//! `setpriv` as an unprivileged user (uid 65534) with only those as ambient capabilities, a VRRP
//! pair elects a master that takes the VIP and hands it over on stop; without CAP_NET_RAW, or
//! without CAP_NET_ADMIN, the daemon refuses to start with a message naming the capability.
//! Needs root and `setpriv` (util-linux); skips otherwise. Documentation addresses only.

use std::fs::File;
use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use lab::{Host, Lab, LabChild, have_program, wait_until};

/// The unprivileged user the daemon runs as (nobody).
const UID: &str = "65534";

/// The minimal set, as written in docs/capabilities.md (`AmbientCapabilities=...`), in
/// setpriv's spelling: `net_admin`, `net_raw`.
fn documented_set() -> Vec<String> {
    let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/capabilities.md");
    let text = std::fs::read_to_string(&doc).expect("docs/capabilities.md");
    let line = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("AmbientCapabilities="))
        .expect("an AmbientCapabilities= line in docs/capabilities.md");
    line.split_whitespace()
        .map(|c| c.trim_start_matches("CAP_").to_ascii_lowercase())
        .collect()
}

fn skip() -> bool {
    if lab::skip_unless_root() {
        return true;
    }
    if !have_program("setpriv") {
        eprintln!("skipping: setpriv (util-linux) not installed");
        return true;
    }
    false
}

/// A directory the unprivileged user owns, removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("kars-caps-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("temp dir");
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        Dir(d)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn conf(priority: u8) -> String {
    format!(
        "vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    \
         priority {priority}\n    advert_int 1\n    virtual_ipaddress {{\n        192.0.2.100/24\n    }}\n}}\n"
    )
}

/// Starts keepalived-rs in `host` as uid 65534 with exactly `caps` (setpriv names).
fn start(host: &Host, dir: &Path, name: &str, priority: u8, caps: &[String]) -> LabChild {
    let conf_path = dir.join(format!("{name}.conf"));
    std::fs::write(&conf_path, conf(priority)).expect("write config");
    let list: String = caps.iter().map(|c| format!(",+{c}")).collect();
    let set = format!("-all{list}");
    let mut cmd = host.command("setpriv");
    cmd.args([
        &format!("--reuid={UID}"),
        &format!("--regid={UID}"),
        "--clear-groups",
        &format!("--inh-caps={set}"),
        &format!("--ambient-caps={set}"),
        &format!("--bounding-set={set}"),
    ])
    .arg(env!("CARGO_BIN_EXE_keepalived-rs"))
    .args(["-n", "-l", "-D", "-f"])
    .arg(&conf_path)
    .arg("-p")
    .arg(dir.join(format!("{name}.pid")))
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(File::create(dir.join(format!("{name}.log"))).expect("log"));
    LabChild::spawn(&mut cmd).expect("spawn setpriv keepalived-rs")
}

fn log(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(format!("{name}.log"))).unwrap_or_default()
}

fn two_hosts(lab: &Lab) -> (Host, Host) {
    let ha1 = lab.host("ha1").expect("host ha1");
    let ha2 = lab.host("ha2").expect("host ha2");
    lab.veth(&ha1, "eth0", &ha2, "eth0").expect("veth");
    ha1.add_addr("eth0", "192.0.2.1/24").expect("addr");
    ha2.add_addr("eth0", "192.0.2.2/24").expect("addr");
    (ha1, ha2)
}

const VIP: &str = "192.0.2.100";

#[test]
fn documented_set_runs_a_vrrp_pair() {
    if skip() {
        return;
    }
    let caps = documented_set();
    assert_eq!(caps, ["net_admin", "net_raw"], "the documented minimal set");
    let dir = Dir::new("pair");
    let lab = Lab::new("kacap").expect("lab");
    let (ha1, ha2) = two_hosts(&lab);
    let vip: IpAddr = VIP.parse().expect("vip");
    let mut master = start(&ha1, &dir.0, "ha1", 150, &caps);
    let mut backup = start(&ha2, &dir.0, "ha2", 100, &caps);
    let took = wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
        ha1.has_addr(vip)
    });
    assert!(
        took.is_some(),
        "the master never took the VIP\nha1:\n{}\nha2:\n{}",
        log(&dir.0, "ha1"),
        log(&dir.0, "ha2")
    );
    assert!(!ha2.has_addr(vip), "the backup holds the VIP too");
    // The daemon really runs unprivileged (`ip netns exec` and setpriv exec in place, so the
    // child's pid is the daemon's).
    let ps = ha1.run("ps", ["-o", "uid=,comm=", "-p", &master.id().to_string()]);
    let ps = String::from_utf8_lossy(&ps.stdout).into_owned();
    assert!(ps.contains(UID), "not running as {UID}: {ps}");
    master.signal("TERM").expect("SIGTERM");
    assert!(master.wait_timeout(Duration::from_secs(5)).is_some());
    let handed = wait_until(Duration::from_secs(5), Duration::from_millis(50), || {
        ha2.has_addr(vip) && !ha1.has_addr(vip)
    });
    assert!(
        handed.is_some(),
        "the backup did not take over, or the master kept the VIP\nha1:\n{}\nha2:\n{}",
        log(&dir.0, "ha1"),
        log(&dir.0, "ha2")
    );
    backup.kill();
}

/// Runs one daemon without `dropped` and checks that it refuses to start, naming it.
fn refuses_without(dropped: &str, message: &str) {
    let caps: Vec<String> = documented_set()
        .into_iter()
        .filter(|c| c != dropped)
        .collect();
    let dir = Dir::new(dropped);
    let lab = Lab::new("kacap").expect("lab");
    let (ha1, _ha2) = two_hosts(&lab);
    let mut child = start(&ha1, &dir.0, "ha1", 150, &caps);
    let status = child.wait_timeout(Duration::from_secs(10));
    let out = log(&dir.0, "ha1");
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(1),
        "expected exit 1 without {dropped}:\n{out}"
    );
    assert!(
        out.contains(message),
        "no clear message without {dropped}:\n{out}"
    );
    assert!(!ha1.has_addr(VIP.parse().expect("vip")));
}

#[test]
fn without_net_raw_the_start_fails_naming_it() {
    if skip() {
        return;
    }
    refuses_without(
        "net_raw",
        "cannot open the VRRP socket: CAP_NET_RAW is missing",
    );
}

#[test]
fn without_net_admin_the_start_fails_naming_it() {
    if skip() {
        return;
    }
    refuses_without(
        "net_admin",
        "cannot add the virtual IP addresses: CAP_NET_ADMIN is missing",
    );
}
