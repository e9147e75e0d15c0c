//! keepalived's D-Bus interface (`enable_dbus`, issue 21), keepalived-rs against Debian's
//! keepalived 2.2.7 on a private system bus (a `dbus-daemon` of our own, reached through
//! `DBUS_SYSTEM_BUS_ADDRESS`): the same scenario is run with each, and what `busctl` and
//! `dbus-monitor` see must be the same.
//!
//! The scenario: one router alone becomes master (`State` is `(2, "Master")`, a
//! `VrrpStatusChange` 2 was sent); `PrintData` writes the data dump before it returns;
//! `SendGarp` sends a gratuitous ARP for the VIP; `ReloadConfig` reloads (`VrrpReloaded`); a priority-200 peer takes over (`State` follows, to
//! `(1, "Backup")`); SIGTERM sends `VrrpStopped`. The introspection of the `…/Vrrp` and
//! instance objects (as `busctl introspect` lists it) is equal between the two. Needs root.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lab::{Host, LabChild};

use crate::support::{
    Case, Conf, Impl, Router, Side, net::tcpdump, ours_bin, skip_reason_for, two_hosts,
};

const SERVICE: &str = "org.keepalived.Vrrp1";
const VRRP_PATH: &str = "/org/keepalived/Vrrp1/Vrrp";
const INSTANCE_PATH: &str = "/org/keepalived/Vrrp1/Instance/eth0/51/IPv4";

/// A private system bus: `dbus-daemon` listening on a socket in `dir`.
struct Bus {
    _daemon: LabChild,
    address: String,
}

impl Bus {
    fn start(host: &Host, dir: &Path) -> Bus {
        let socket = dir.join("bus");
        let conf = dir.join("bus.conf");
        std::fs::write(
            &conf,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
"#,
                socket.display()
            ),
        )
        .expect("bus config");
        let mut cmd = host.command("dbus-daemon");
        cmd.arg(format!("--config-file={}", conf.display()))
            .args(["--nofork", "--nopidfile"]);
        let daemon = LabChild::spawn(&mut cmd).expect("dbus-daemon");
        let t0 = Instant::now();
        while !socket.exists() && t0.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(20));
        }
        Bus {
            _daemon: daemon,
            address: format!("unix:path={}", socket.display()),
        }
    }

    /// `busctl --address=… ARGS`: its output, or its error text.
    fn busctl(&self, host: &Host, args: &[&str]) -> String {
        let out = host
            .command("busctl")
            .arg(format!("--address={}", self.address))
            .args(args)
            .output()
            .expect("busctl");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() {
            text
        } else {
            format!("busctl failed: {}", String::from_utf8_lossy(&out.stderr))
        }
    }

    /// Calls `method` of the `…/Vrrp` object.
    fn call_vrrp(&self, host: &Host, method: &str) {
        let args = [
            "call",
            SERVICE,
            VRRP_PATH,
            "org.keepalived.Vrrp1.Vrrp",
            method,
        ];
        let _ = self.busctl(host, &args);
    }

    fn state(&self, host: &Host) -> String {
        let args = [
            "get-property",
            SERVICE,
            INSTANCE_PATH,
            "org.keepalived.Vrrp1.Instance",
            "State",
        ];
        self.busctl(host, &args).trim().to_owned()
    }

    /// Polls State until it is `want` or `within` passes; the last answer.
    fn wait_state(&self, host: &Host, want: &str, within: Duration) -> String {
        let t0 = Instant::now();
        loop {
            let now = self.state(host);
            if now == want || t0.elapsed() > within {
                return now;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// What one implementation showed on the bus.
#[derive(Debug)]
struct Seen {
    vrrp_introspection: String,
    instance_introspection: String,
    master_state: String,
    backup_state: String,
    name: String,
    dump_written: bool,
    garp_sent: bool,
    signals: String,
}

/// The members `busctl introspect` lists for the interfaces keepalived defines.
fn keepalived_members(listing: &str) -> String {
    let mut ours = false;
    let mut out = Vec::new();
    for line in listing.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.get(1) == Some(&"interface") {
            ours = words[0].starts_with("org.keepalived.");
        }
        if ours {
            // NAME TYPE SIGNATURE RESULT/VALUE FLAGS: a property's value is not its shape
            // (busctl shows it when GetAll answers: ours does, keepalived's fails on Name).
            let mut words = words;
            if words.get(1) == Some(&"property") && words.len() > 3 {
                words[3] = "-";
            }
            out.push(words.join(" "));
        }
    }
    out.join("\n")
}

fn conf(side: Side, priority: u8, dbus: bool) -> String {
    let text = Case::V2Ipv4.conf(side, priority).render();
    if dbus {
        // No second round of gratuitous ARPs after 5 s: the ARP SendGarp sends is the only one.
        text.replacen(
            "global_defs {",
            "global_defs {\n    enable_dbus\n    vrrp_garp_master_delay 0",
            1,
        )
    } else {
        text
    }
}

fn run(kind: Impl) -> Option<Seen> {
    let net = two_hosts(&format!("kadb{}", &kind.tag()[..1]));
    let hosts = &net.hosts;
    let dir: PathBuf =
        std::env::temp_dir().join(format!("ka-dbus-{}-{}", std::process::id(), kind.tag()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let bus = Bus::start(&hosts[0], &dir);
    let mut monitor_cmd = hosts[0].command("dbus-monitor");
    monitor_cmd
        .args(["--address", bus.address.as_str()])
        .arg("type='signal',interface='org.keepalived.Vrrp1.Vrrp'")
        .arg("type='signal',interface='org.keepalived.Vrrp1.Instance'")
        .stdout(std::fs::File::create(dir.join("signals.log")).expect("signals log"));
    let monitor_start = LabChild::spawn(&mut monitor_cmd);
    let tmp = dir.to_string_lossy().into_owned();
    let env = [
        ("DBUS_SYSTEM_BUS_ADDRESS", bus.address.as_str()),
        ("TMPDIR", tmp.as_str()),
    ];
    let c1 = Conf::default();
    let mut router = Router::start_with_env(
        kind,
        &hosts[0],
        "ha1",
        &conf(Side::Ha1, 150, true),
        &[],
        &env,
    );
    let master = bus.wait_state(
        &hosts[0],
        "(us) 2 \"Master\"",
        c1.master_down() * 2 + Duration::from_secs(5),
    );
    let vrrp_introspection = bus.busctl(&hosts[0], &["introspect", SERVICE, VRRP_PATH]);
    let instance_introspection = bus.busctl(&hosts[0], &["introspect", SERVICE, INSTANCE_PATH]);
    let name = bus
        .busctl(
            &hosts[0],
            &[
                "get-property",
                SERVICE,
                INSTANCE_PATH,
                "org.keepalived.Vrrp1.Instance",
                "Name",
            ],
        )
        .trim()
        .to_owned();
    let dump = dir.join("keepalived.data");
    let _ = std::fs::remove_file(&dump);
    bus.call_vrrp(&hosts[0], "PrintData");
    // keepalived writes the file before it answers; allow a moment for the rename to show.
    let t0 = Instant::now();
    while !dump.exists() && t0.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let dump_written = std::fs::read_to_string(&dump).is_ok_and(|t| t.contains("VI_1"));
    // SendGarp: one gratuitous ARP for the VIP, seen on the peer.
    let capture = dir.join("arp.txt");
    let arp = tcpdump(&hosts[1], &["-n", "-l", "arp"], &capture);
    std::thread::sleep(Duration::from_millis(500));
    let send_garp = [
        "call",
        SERVICE,
        INSTANCE_PATH,
        "org.keepalived.Vrrp1.Instance",
        "SendGarp",
    ];
    let _ = bus.busctl(&hosts[0], &send_garp);
    std::thread::sleep(Duration::from_secs(1));
    drop(arp);
    let vip = Case::V2Ipv4.vip().to_string();
    let garp_sent = std::fs::read_to_string(&capture).is_ok_and(|t| t.contains(&vip));
    bus.call_vrrp(&hosts[0], "ReloadConfig");
    std::thread::sleep(Duration::from_secs(2));
    let peer = Router::start(kind, &hosts[1], "ha2", &conf(Side::Ha2, 200, false));
    let backup = bus.wait_state(&hosts[0], "(us) 1 \"Backup\"", Duration::from_secs(10));
    router.term();
    let _ = router.wait_exit(Duration::from_secs(10));
    drop(peer);
    std::thread::sleep(Duration::from_millis(500));
    drop(monitor_start);
    let signals = std::fs::read_to_string(dir.join("signals.log")).unwrap_or_default();
    let seen = Seen {
        vrrp_introspection: keepalived_members(&vrrp_introspection),
        instance_introspection: keepalived_members(&instance_introspection),
        master_state: master,
        backup_state: backup,
        name,
        dump_written,
        garp_sent,
        signals,
    };
    let _ = std::fs::remove_dir_all(&dir);
    Some(seen)
}

fn has_signal(signals: &str, member: &str) -> bool {
    signals.contains(&format!("member={member}"))
}

#[test]
fn the_dbus_interface_matches_keepalived() {
    if skip_reason_for(true, true).is_some() {
        return;
    }
    if !Path::new("/usr/bin/dbus-daemon").exists() || !Path::new("/usr/bin/busctl").exists() {
        eprintln!("skipped: dbus-daemon or busctl missing");
        return;
    }
    let _ = ours_bin();
    let (Some(theirs), Some(ours)) = (run(Impl::Keepalived), run(Impl::Ours)) else {
        return;
    };
    for (who, seen) in [("keepalived", &theirs), ("keepalived-rs", &ours)] {
        assert_eq!(seen.master_state, "(us) 2 \"Master\"", "{who}: {seen:#?}");
        assert_eq!(seen.backup_state, "(us) 1 \"Backup\"", "{who}: {seen:#?}");
        assert!(
            seen.dump_written,
            "{who}: PrintData wrote no dump: {seen:#?}"
        );
        assert!(seen.garp_sent, "{who}: SendGarp sent no ARP: {seen:#?}");
        for member in [
            "VrrpStarted",
            "VrrpReloaded",
            "VrrpStatusChange",
            "VrrpStopped",
        ] {
            assert!(
                has_signal(&seen.signals, member),
                "{who}: no {member}: {seen:#?}"
            );
        }
        assert!(
            seen.signals.contains("uint32 2") && seen.signals.contains("uint32 1"),
            "{who}: no VrrpStatusChange to master and to backup: {seen:#?}"
        );
        assert!(
            seen.vrrp_introspection.contains(".PrintData"),
            "{who}: {seen:#?}"
        );
    }
    assert_eq!(ours.vrrp_introspection, theirs.vrrp_introspection);
    assert_eq!(ours.instance_introspection, theirs.instance_introspection);
    // keepalived answers Name with a `(s)` where its XML says `s`; ours answers the `s` its
    // introspection promises.
    assert_eq!(ours.name, "s \"VI_1\"", "{ours:#?}");
    eprintln!("interop: case=dbus keepalived Name answer: {}", theirs.name);
}
