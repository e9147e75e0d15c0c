//! State dumps on signals with a real daemon pair in network namespaces: SIGUSR1 writes the data
//! dump (state, priorities, master, VIPs, trackers), SIGUSR2 the statistics (counters that grow
//! with the adverts), the JSON signal the JSON dump; a symlink, a hard link and a file held open
//! at the dump paths are never written through (CVE-2018-19044/19045/19046), and the files are
//! 0644 even under umask 077. Needs root (skips otherwise).

use std::fs::File;
use std::io::Read as _;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use crate::support::daemon::{Daemon, Start};
use crate::support::files::TempDir;
use lab::{Host, LabChild, wait_until};

const POLL: Duration = Duration::from_millis(50);
const VIP: &str = "192.0.2.100";

fn conf(dir: &Path, router_id: &str, priority: u8, track: bool) -> String {
    let d = dir.display();
    let (script, tracked) = if track {
        (
            "vrrp_script chk {\n    script \"/bin/false\"\n    interval 1\n    weight -10\n}\n",
            "    track_script {\n        chk\n    }\n",
        )
    } else {
        ("", "")
    };
    format!(
        "global_defs {{\n    router_id {router_id}\n    script_user root\n    state_dump_file {d}/\n    \
         stats_dump_file {d}/stats.txt\n    json_dump_file {d}/dump.json\n}}\n{script}\
         vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    \
         priority {priority}\n    version 3\n    advert_int 0.1\n{tracked}    virtual_ipaddress {{\n        \
         {VIP}/24 dev eth0\n    }}\n}}\n"
    )
}

/// keepalived-rs on `host` under `umask 077`, logging to `dir/name.log`.
fn start(host: &Host, dir: &Path, name: &str, conf: &str) -> Daemon {
    Start {
        via: &["sh", "-c", "umask 077; exec \"$@\"", "sh"],
        ..Start::new(&[])
    }
    .run(host, dir, name, conf)
}

/// Sends signal `sig` (a number or a name) with procps' kill.
fn kill(child: &LabChild, sig: &str) {
    let ok = std::process::Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(child.id().to_string())
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "kill -{sig}");
}

/// The JSON signal's number, as `keepalived-rs --signum=JSON` prints it.
fn json_signal() -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_keepalived-rs"))
        .arg("--signum=JSON")
        .output()
        .expect("--signum");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The file at `path` once it is a regular file (not a symlink) whose text satisfies `ok`.
fn wait_file(path: &Path, secs: u64, ok: impl Fn(&str) -> bool) -> Option<String> {
    let mut text = None;
    wait_until(Duration::from_secs(secs), POLL, || {
        let regular = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file());
        text = std::fs::read_to_string(path)
            .ok()
            .filter(|t| regular && ok(t));
        text.is_some()
    })?;
    text
}

/// `(received, sent)` adverts of VI_1 in a statistics dump.
fn adverts(stats: &str) -> Option<(u64, u64)> {
    let rest = stats
        .split("VRRP Instance: VI_1\n  Advertisements:\n")
        .nth(1)?;
    let mut lines = rest.lines();
    let num = |l: Option<&str>, key: &str| -> Option<u64> {
        l?.trim().strip_prefix(key)?.trim().parse().ok()
    };
    Some((num(lines.next(), "Received:")?, num(lines.next(), "Sent:")?))
}

fn read_all(mut f: &File) -> String {
    let mut s = String::new();
    f.read_to_string(&mut s).expect("read held file");
    s
}

#[test]
fn signals_write_fresh_state_stats_and_json_dumps() {
    if let Some(reason) = crate::support::skip_reason_for(false, true) {
        eprintln!("skipping: {reason}");
        return;
    }
    let net = crate::support::two_hosts("kvdump");
    let (ha1, ha2) = (&net.hosts[0], &net.hosts[1]);
    let d1 = TempDir::new("dump-ha1");
    let d2 = TempDir::new("dump-ha2");
    for d in [&d1, &d2] {
        std::fs::set_permissions(&d.0, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    // The attacks, planted before the daemon starts: a symlink at the data dump's path, a hard
    // link to another file at the statistics' path (held open), a file held open at the JSON
    // dump's path.
    let victim = d1.0.join("victim");
    std::fs::write(&victim, "victim\n").expect("victim");
    std::os::unix::fs::symlink(&victim, d1.0.join("keepalived.data")).expect("symlink");
    let victim2 = d1.0.join("victim2");
    std::fs::write(&victim2, "victim2\n").expect("victim2");
    std::fs::hard_link(&victim2, d1.0.join("stats.txt")).expect("hard link");
    let held_stats = File::open(d1.0.join("stats.txt")).expect("open stats");
    std::fs::write(d1.0.join("dump.json"), "old\n").expect("old json");
    let held_json = File::open(d1.0.join("dump.json")).expect("open json");

    let mut r1 = start(ha1, &d1.0, "ha1", &conf(&d1.0, "ha1", 150, false));
    let mut r2 = start(ha2, &d2.0, "ha2", &conf(&d2.0, "ha2", 100, true));
    let vip = VIP.parse().expect("vip");
    assert!(
        wait_until(Duration::from_secs(10), POLL, || ha1.has_addr(vip)).is_some(),
        "ha1 never became master:\n{}",
        r1.log()
    );
    // Let ha2 hear a few adverts.
    std::thread::sleep(Duration::from_millis(500));
    let json_sig = json_signal();
    assert_eq!(json_sig, "36");
    for sig in ["USR1", "USR2", json_sig.as_str()] {
        kill(&r1.child, sig);
        kill(&r2.child, sig);
    }
    let data1 = wait_file(&d1.0.join("keepalived.data"), 5, |t| {
        t.contains("VRRP Instance")
    })
    .unwrap_or_else(|| panic!("no data dump on ha1:\n{}", r1.log()));
    for needle in [
        " VRRP Instance = VI_1\n",
        "   State = MASTER\n",
        "   Master router = 192.0.2.1\n",
        "   Priority = 150\n",
        "   Effective priority = 150\n",
        "   Virtual Router ID = 51\n",
        "     192.0.2.100/24 dev eth0\n",
        "   Advert timer due in = ",
    ] {
        assert!(data1.contains(needle), "{needle:?} missing:\n{data1}");
    }
    // The script reports after its first run: dump again until it has.
    let mut data2 = None;
    for _ in 0..10 {
        data2 = wait_file(&d2.0.join("keepalived.data"), 1, |t| {
            t.contains("script chk weight -10 status DOWN")
        });
        if data2.is_some() {
            break;
        }
        kill(&r2.child, "USR1");
    }
    let data2 = data2.unwrap_or_else(|| {
        std::thread::sleep(Duration::from_millis(500));
        let last = std::fs::read_to_string(d2.0.join("keepalived.data")).unwrap_or_default();
        panic!("data dump on ha2:\n{last}\nlog:\n{}", r2.log())
    });
    for needle in [
        "   State = BACKUP\n",
        "   Master router = 192.0.2.1\n",
        "   Priority = 100\n",
        "   Effective priority = 90\n",
        "     script chk weight -10 status DOWN\n",
        "   Master down timer due in = ",
    ] {
        assert!(data2.contains(needle), "{needle:?} missing:\n{data2}");
    }

    // Neither the symlink's target nor the hard link's other name nor the held files changed.
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "victim\n");
    assert_eq!(std::fs::read_to_string(&victim2).unwrap(), "victim2\n");
    assert_eq!(read_all(&held_stats), "victim2\n");
    assert_eq!(read_all(&held_json), "old\n");

    let stats1 =
        wait_file(&d1.0.join("stats.txt"), 5, |t| adverts(t).is_some()).expect("stats on ha1");
    let json1 =
        wait_file(&d1.0.join("dump.json"), 5, |t| t.contains("iname")).expect("json on ha1");
    for name in ["keepalived.data", "stats.txt", "dump.json"] {
        let p: PathBuf = d1.0.join(name);
        let m = std::fs::symlink_metadata(&p).expect("dump metadata");
        assert!(m.file_type().is_file(), "{name} is not a regular file");
        assert_eq!(m.mode() & 0o777, 0o644, "{name} mode under umask 077");
        assert_eq!(m.nlink(), 1, "{name} link count");
    }
    let v: serde_json::Value = serde_json::from_str(&json1).expect("json");
    assert_eq!(v[0]["data"]["iname"], "VI_1", "{json1}");
    assert_eq!(v[0]["data"]["state"], 2, "{json1}");
    assert_eq!(v[0]["data"]["base_priority"], 150, "{json1}");
    assert!(
        v[0]["stats"]["advert_sent"].as_u64().unwrap_or(0) > 0,
        "{json1}"
    );
    assert_eq!(v[0]["stats"]["become_master"], 1, "{json1}");
    let json2 = wait_file(&d2.0.join("dump.json"), 5, |t| t.contains("iname")).expect("json 2");
    let v2: serde_json::Value = serde_json::from_str(&json2).expect("json 2");
    assert_eq!(v2[0]["data"]["state"], 1, "{json2}");
    assert_eq!(v2[0]["data"]["track_script"][0], "chk", "{json2}");

    // Counters grow with the adverts: sent on the master, received on the backup.
    let (_, sent_before) = adverts(&stats1).expect("ha1 counters");
    let stats2 = wait_file(&d2.0.join("stats.txt"), 5, |t| adverts(t).is_some()).expect("ha2");
    let (rcvd_before, _) = adverts(&stats2).expect("ha2 counters");
    assert!(sent_before > 0 && rcvd_before > 0, "{stats1}\n{stats2}");
    std::thread::sleep(Duration::from_millis(1000));
    kill(&r1.child, "USR2");
    kill(&r2.child, "USR2");
    let later1 = wait_file(&d1.0.join("stats.txt"), 5, |t| {
        adverts(t).is_some_and(|(_, s)| s >= sent_before + 5)
    });
    assert!(
        later1.is_some(),
        "ha1 sent counter did not grow from {sent_before}"
    );
    let later2 = wait_file(&d2.0.join("stats.txt"), 5, |t| {
        adverts(t).is_some_and(|(r, _)| r >= rcvd_before + 5)
    });
    assert!(
        later2.is_some(),
        "ha2 received counter did not grow from {rcvd_before}"
    );
    // Still the same victims after the second round.
    assert_eq!(std::fs::read_to_string(&victim2).unwrap(), "victim2\n");
    assert!(r1.child.is_running() && r2.child.is_running());
    r1.child.signal("TERM").expect("term");
    r2.child.signal("TERM").expect("term");
    assert!(r1.child.wait_timeout(Duration::from_secs(8)).is_some());
    assert!(r2.child.wait_timeout(Duration::from_secs(8)).is_some());
}

#[test]
fn checker_data_dump_shows_real_servers() {
    if lab::Lab::skip_unless_root() {
        return;
    }
    let lab = lab::Lab::new("kvchkdump").expect("lab");
    let host = lab.host("lb").expect("host");
    host.link_set_up("lo").expect("lo up");
    let dir = TempDir::new("chkdump");
    std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let mut web = host.command("python3");
    web.args(["-m", "http.server", "18097", "--bind", "127.0.0.1"])
        .current_dir(&dir.0)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let _web = LabChild::spawn(&mut web).expect("http.server");
    let d = dir.0.display();
    let conf = format!(
        "global_defs {{\n    state_dump_file {d}/\n}}\n\
         virtual_server 192.0.2.100 80 {{\n    delay_loop 1\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n    \
         real_server 127.0.0.1 18097 {{\n        weight 3\n        TCP_CHECK {{\n            connect_timeout 1\n        }}\n    }}\n    \
         real_server 127.0.0.1 18098 {{\n        TCP_CHECK {{\n            connect_timeout 1\n            retry 0\n        }}\n    }}\n}}\n"
    );
    let mut daemon = start(&host, &dir.0, "lb", &conf);
    let path = dir.0.join("keepalived_check.data");
    // Signals only once the handlers are there (SIGUSR1's default action is to terminate).
    assert!(
        wait_until(Duration::from_secs(10), POLL, || daemon
            .log()
            .contains("Checkers:"))
        .is_some(),
        "{}",
        daemon.log()
    );
    // The checker thread logs that while the main thread is still installing them.
    std::thread::sleep(Duration::from_millis(500));
    // Nothing listens on 18098: it goes down after its first failed check.
    let mut text = None;
    for _ in 0..10 {
        kill(&daemon.child, "USR1");
        text = wait_file(&path, 1, |t| {
            t.contains("   RS = [127.0.0.1]:tcp:18098\n     Alive = no\n")
        });
        if text.is_some() {
            break;
        }
    }
    let text = text.unwrap_or_else(|| {
        panic!(
            "checker dump: {:?}\nlog:\n{}",
            std::fs::read_to_string(&path),
            daemon.log()
        )
    });
    for needle in [
        " VS = [192.0.2.100]:tcp:80\n",
        "   RS = [127.0.0.1]:tcp:18097\n     Alive = yes\n     Weight = 3\n",
        "     TCP_CHECK: failed",
    ] {
        assert!(text.contains(needle), "{needle:?} missing:\n{text}");
    }
    // Without VRRP instances there is no VRRP data dump.
    assert!(!dir.0.join("keepalived.data").exists());
    let m = std::fs::metadata(&path).expect("metadata");
    assert_eq!(m.mode() & 0o777, 0o644);
    daemon.child.signal("TERM").expect("TERM");
    assert!(daemon.child.wait_timeout(Duration::from_secs(8)).is_some());
}

/// Without dump paths in the configuration, the dumps go to `$TMPDIR` (keepalived's rule).
#[test]
fn dumps_go_to_tmpdir_when_it_is_set() {
    if let Some(reason) = crate::support::skip_reason_for(false, true) {
        eprintln!("skipping: {reason}");
        return;
    }
    let net = crate::support::two_hosts("kvtmpd");
    let host = &net.hosts[0];
    let dir = TempDir::new("dump-tmpdir");
    let tmp = dir.0.join("tmp");
    std::fs::create_dir(&tmp).expect("tmp dir");
    let conf = format!(
        "vrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 52\n    \
         priority 100\n    advert_int 0.1\n    version 3\n    virtual_ipaddress {{\n        \
         {VIP}/24\n    }}\n}}\n"
    );
    let daemon = Daemon::start_with(
        host,
        &dir.0,
        "tmpdir",
        &conf,
        &[],
        &[("TMPDIR", tmp.as_os_str())],
    );
    std::thread::sleep(Duration::from_millis(500));
    kill(&daemon.child, &json_signal());
    let json = wait_file(&tmp.join("keepalived.json"), 5, |t| t.contains("VI_1"));
    assert!(json.is_some(), "no JSON dump in $TMPDIR:\n{}", daemon.log());
    kill(&daemon.child, "USR1");
    let data = wait_file(&tmp.join("keepalived.data"), 5, |t| t.contains("VI_1"));
    assert!(data.is_some(), "no data dump in $TMPDIR:\n{}", daemon.log());
}

/// SIGUSR1 makes the BFD process write its dump next to the VRRP one: `state_dump_file
/// DIR/state.txt` gives `DIR/state_bfd.txt` (keepalived's `open_dump_file("_bfd")`), not
/// `keepalived_bfd.data` in the temporary directory.
#[test]
fn bfd_dump_follows_state_dump_file() {
    if let Some(reason) = crate::support::skip_reason_for(false, true) {
        eprintln!("skipping: {reason}");
        return;
    }
    let net = crate::support::two_hosts("kvbfdd");
    let host = &net.hosts[0];
    let dir = TempDir::new("bfd-dump");
    let tmp = dir.0.join("tmp");
    std::fs::create_dir(&tmp).expect("tmp dir");
    let d = dir.0.display();
    let conf = format!(
        "global_defs {{\n    state_dump_file {d}/state.txt\n}}\n\
         bfd_instance b1 {{\n    neighbor_ip 192.0.2.2\n    source_ip 192.0.2.1\n}}\n\
         vrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 53\n    \
         priority 100\n    advert_int 0.1\n    version 3\n    virtual_ipaddress {{\n        \
         {VIP}/24\n    }}\n}}\n"
    );
    let daemon = Daemon::start_with(
        host,
        &dir.0,
        "bfd",
        &conf,
        &[],
        &[("TMPDIR", tmp.as_os_str())],
    );
    assert!(
        wait_until(Duration::from_secs(10), POLL, || daemon
            .log()
            .contains("BFD: 1 sessions"))
        .is_some(),
        "{}",
        daemon.log()
    );
    let path = dir.0.join("state_bfd.txt");
    let mut text = None;
    // The BFD process logs its sessions while its signal handlers may still be on the way.
    for _ in 0..10 {
        kill(&daemon.child, "USR1");
        text = wait_file(&path, 1, |t| t.contains(" BFD Instance = b1\n"));
        if text.is_some() {
            break;
        }
    }
    let text = text.unwrap_or_else(|| {
        panic!(
            "no BFD dump at {}: {:?}\nlog:\n{}",
            path.display(),
            std::fs::read_dir(&dir.0)
                .map(|r| r.flatten().map(|e| e.file_name()).collect::<Vec<_>>()),
            daemon.log()
        )
    });
    assert!(text.contains("   Neighbor IP = 192.0.2.2\n"), "{text}");
    assert_eq!(
        std::fs::metadata(&path).expect("metadata").mode() & 0o777,
        0o644
    );
    let vrrp = wait_file(&dir.0.join("state.txt"), 5, |t| t.contains("VI_1"));
    assert!(vrrp.is_some_and(|t| !t.contains("BFD Instance")));
    assert!(!tmp.join("keepalived_bfd.data").exists());
}
