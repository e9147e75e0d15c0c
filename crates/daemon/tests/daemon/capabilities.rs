//! The daemon with exactly the capabilities docs/capabilities.md documents: run through
//! `setpriv` as an unprivileged user (uid 65534) with only those as ambient capabilities, a VRRP
//! pair elects a master that takes the VIP and hands it over on stop; without CAP_NET_RAW, or
//! without CAP_NET_ADMIN, the daemon refuses to start with a message naming the capability.
//! And as root limited to exactly the systemd unit's `CapabilityBoundingSet=`
//! (packaging/keepalived-rs.service), the same pair works.
//! Needs root and `setpriv` (util-linux); skips otherwise. Documentation addresses only.

use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::time::Duration;

use crate::support::daemon::{Daemon, Start};
use crate::support::files::TempDir;
use crate::support::net::veth_pair;
use lab::{Host, Lab, have_program, wait_until};

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

/// The systemd unit's `CapabilityBoundingSet=`, in setpriv's spelling.
fn unit_set() -> Vec<String> {
    let unit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../packaging/keepalived-rs.service");
    let text = std::fs::read_to_string(&unit).expect("packaging/keepalived-rs.service");
    let line = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("CapabilityBoundingSet="))
        .expect("a CapabilityBoundingSet= line in the unit");
    line.split_whitespace()
        .map(|c| c.trim_start_matches("CAP_").to_ascii_lowercase())
        .collect()
}

/// How the daemon is started: as uid 65534 with `caps` as its ambient set, or as root with its
/// bounding set limited to `caps` (what systemd's `CapabilityBoundingSet=` does).
#[derive(Clone, Copy)]
enum Who<'a> {
    Nobody(&'a [String]),
    RootBounded(&'a [String]),
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

/// A test directory the unprivileged user may write its pid files to (mode 0777).
fn shared_dir(tag: &str) -> TempDir {
    let dir = TempDir::new(&format!("caps-{tag}"));
    std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    dir
}

fn conf(priority: u8) -> String {
    format!(
        "vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    \
         priority {priority}\n    advert_int 1\n    virtual_ipaddress {{\n        192.0.2.100/24\n    }}\n}}\n"
    )
}

/// Starts keepalived-rs in `host` as uid 65534 with exactly `caps` (setpriv names).
fn start(host: &Host, dir: &Path, name: &str, priority: u8, caps: &[String]) -> Daemon {
    start_as(host, dir, name, priority, Who::Nobody(caps))
}

/// Starts keepalived-rs in `host` through `setpriv`, as `who` says.
fn start_as(host: &Host, dir: &Path, name: &str, priority: u8, who: Who<'_>) -> Daemon {
    let set = |caps: &[String]| {
        let list: String = caps.iter().map(|c| format!(",+{c}")).collect();
        format!("-all{list}")
    };
    let via = match who {
        Who::Nobody(caps) => vec![
            "setpriv".to_owned(),
            format!("--reuid={UID}"),
            format!("--regid={UID}"),
            "--clear-groups".to_owned(),
            format!("--inh-caps={}", set(caps)),
            format!("--ambient-caps={}", set(caps)),
            format!("--bounding-set={}", set(caps)),
        ],
        Who::RootBounded(caps) => vec![
            "setpriv".to_owned(),
            format!("--bounding-set={}", set(caps)),
        ],
    };
    let via: Vec<&str> = via.iter().map(String::as_str).collect();
    Start {
        via: &via,
        ..Start::new(&[])
    }
    .run(host, dir, name, &conf(priority))
}

const VIP: &str = "192.0.2.100";

#[test]
fn documented_set_runs_a_vrrp_pair() {
    if skip() {
        return;
    }
    let caps = documented_set();
    assert_eq!(caps, ["net_admin", "net_raw"], "the documented minimal set");
    vrrp_pair_works(Who::Nobody(&caps), true);
}

#[test]
fn the_units_bounding_set_runs_a_vrrp_pair_as_root() {
    if skip() {
        return;
    }
    let caps = unit_set();
    for needed in documented_set() {
        assert!(caps.contains(&needed), "the unit lacks {needed}: {caps:?}");
    }
    vrrp_pair_works(Who::RootBounded(&caps), false);
}

/// A VRRP pair started as `who`: the master takes the VIP, and hands it over on SIGTERM.
fn vrrp_pair_works(who: Who<'_>, unprivileged: bool) {
    let dir = shared_dir(if unprivileged { "pair" } else { "unit" });
    let lab = Lab::new("kacap").expect("lab");
    let (ha1, ha2) = veth_pair(&lab);
    let vip: IpAddr = VIP.parse().expect("vip");
    let mut master = start_as(&ha1, &dir.0, "ha1", 150, who);
    let mut backup = start_as(&ha2, &dir.0, "ha2", 100, who);
    let took = wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
        ha1.has_addr(vip)
    });
    assert!(
        took.is_some(),
        "the master never took the VIP\nha1:\n{}\nha2:\n{}",
        master.log(),
        backup.log()
    );
    assert!(!ha2.has_addr(vip), "the backup holds the VIP too");
    // The daemon really runs unprivileged (`ip netns exec` and setpriv exec in place, so the
    // child's pid is the daemon's).
    let ps = ha1.run(
        "ps",
        ["-o", "uid=,comm=", "-p", &master.child.id().to_string()],
    );
    let ps = String::from_utf8_lossy(&ps.stdout).into_owned();
    if unprivileged {
        assert!(ps.contains(UID), "not running as {UID}: {ps}");
    } else {
        // Root, but with no capability outside the unit's set.
        let status = std::fs::read_to_string(format!("/proc/{}/status", master.child.id()))
            .unwrap_or_default();
        let bnd = status
            .lines()
            .find_map(|l| l.strip_prefix("CapBnd:"))
            .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
            .expect("CapBnd");
        let caps = match who {
            Who::RootBounded(c) | Who::Nobody(c) => c,
        };
        assert_eq!(
            bnd.count_ones() as usize,
            caps.len(),
            "bounding set {bnd:x}"
        );
    }
    master.child.signal("TERM").expect("SIGTERM");
    assert!(master.child.wait_timeout(Duration::from_secs(5)).is_some());
    let handed = wait_until(Duration::from_secs(5), Duration::from_millis(50), || {
        ha2.has_addr(vip) && !ha1.has_addr(vip)
    });
    assert!(
        handed.is_some(),
        "the backup did not take over, or the master kept the VIP\nha1:\n{}\nha2:\n{}",
        master.log(),
        backup.log()
    );
    backup.child.kill();
}

/// Runs one daemon without `dropped` and checks that it refuses to start, naming it.
fn refuses_without(dropped: &str, message: &str) {
    let caps: Vec<String> = documented_set()
        .into_iter()
        .filter(|c| c != dropped)
        .collect();
    let dir = shared_dir(dropped);
    let lab = Lab::new("kacap").expect("lab");
    let (ha1, _ha2) = veth_pair(&lab);
    let mut daemon = start(&ha1, &dir.0, "ha1", 150, &caps);
    let status = daemon.child.wait_timeout(Duration::from_secs(10));
    let out = daemon.log();
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
