//! Shared support for the interoperability tests: a [`Router`] (Debian's keepalived or our
//! daemon, started in a lab namespace with its own config, pid files and captured output),
//! config templates for the interop cases ([`Case`], [`Conf`]), the two-host and bridged labs,
//! and timing helpers that measure from a given instant (the freeze). Needs root; every test
//! skips with a clear message when something it needs is missing.

#![allow(dead_code)]

pub mod daemon;
pub mod servers;

use std::fmt::Write as _;
use std::fs::File;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use lab::{Host, Lab, LabChild};

/// Debian's keepalived 2.2.7 (installed by scripts/test.sh).
pub const KEEPALIVED: &str = "/usr/sbin/keepalived";

/// The virtual router id of every case.
pub const VRID: u8 = 51;
/// The IPv4 VIP.
pub const VIP4: &str = "192.0.2.100";
/// The IPv6 VIP.
pub const VIP6: &str = "2001:db8::100";

/// Our daemon: `KEEPALIVED_RS_BIN` (scripts/test.sh points it at the release build) or the
/// binary cargo built for this test.
pub fn ours_bin() -> PathBuf {
    std::env::var_os("KEEPALIVED_RS_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_keepalived-rs")))
}

/// Which implementation a router runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Impl {
    /// Debian's keepalived 2.2.7.
    Keepalived,
    /// keepalived-rs.
    Ours,
}

impl Impl {
    /// `keepalived` or `ours`, as printed in the measurement lines.
    pub fn tag(self) -> &'static str {
        match self {
            Impl::Keepalived => "keepalived",
            Impl::Ours => "ours",
        }
    }
}

/// Who runs the (initial) master and who the backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roles {
    /// The priority-150 router on ha1.
    pub master: Impl,
    /// The priority-100 router on ha2.
    pub backup: Impl,
}

impl Roles {
    /// keepalived-rs is master, keepalived backup.
    pub const OURS_MASTER: Roles = Roles {
        master: Impl::Ours,
        backup: Impl::Keepalived,
    };
    /// keepalived is master, keepalived-rs backup.
    pub const KEEPALIVED_MASTER: Roles = Roles {
        master: Impl::Keepalived,
        backup: Impl::Ours,
    };
    /// keepalived on both sides: the reference run that validates the harness.
    pub const REFERENCE: Roles = Roles {
        master: Impl::Keepalived,
        backup: Impl::Keepalived,
    };

    /// `ours-master`, `keepalived-master` or `keepalived-both`.
    pub fn tag(self) -> String {
        if self.master == self.backup {
            format!("{}-both", self.master.tag())
        } else {
            format!("{}-master", self.master.tag())
        }
    }

    /// Whether either side runs keepalived-rs.
    pub fn uses_ours(self) -> bool {
        self.master == Impl::Ours || self.backup == Impl::Ours
    }

    /// Whether either side runs keepalived.
    pub fn uses_keepalived(self) -> bool {
        self.master == Impl::Keepalived || self.backup == Impl::Keepalived
    }
}

// ---------------------------------------------------------------------------------------------
// Skipping

/// Returns `Some(reason)` when a test with these roles cannot run here: not root, no `ip`,
/// keepalived not installed, or our daemon does not run the VRRP engine yet. Prints
/// `skipping TEST: reason` so the skip is visible with `--nocapture`.
pub fn skip_reason(roles: Roles) -> Option<String> {
    skip_reason_for(roles.uses_keepalived(), roles.uses_ours())
}

/// As [`skip_reason`], for tests that say directly which implementations they need.
pub fn skip_reason_for(keepalived: bool, ours: bool) -> Option<String> {
    if Lab::skip_unless_root() {
        return Some("needs root".into());
    }
    let reason = if keepalived && !Path::new(KEEPALIVED).exists() {
        Some(format!(
            "{KEEPALIVED} not installed (apt-get install keepalived)"
        ))
    } else if ours {
        ours_vrrp_unavailable()
    } else {
        None
    };
    if let Some(r) = &reason {
        let current = std::thread::current();
        eprintln!("skipping {}: {r}", current.name().unwrap_or("test"));
    }
    reason
}

/// Whether `keepalived-rs -n -l -f FILE` runs the VRRP engine: it is started once (per test
/// binary) in a throwaway namespace on a valid config; exiting with status 2 and "not
/// implemented" within 1.5 s means the engine is not there yet. Any other early exit counts as
/// available, so a real start-up failure shows up in the tests with its logs.
pub fn ours_vrrp_unavailable() -> Option<String> {
    static ONCE: OnceLock<Option<String>> = OnceLock::new();
    ONCE.get_or_init(probe_ours).clone()
}

fn probe_ours() -> Option<String> {
    let lab = Lab::new("kaiprobe").expect("lab");
    let host = lab.host("h").expect("host");
    host.ip([
        "link", "add", "eth0", "type", "veth", "peer", "name", "eth1",
    ])
    .expect("veth");
    host.link_set_up("eth0").expect("up");
    host.link_set_up("eth1").expect("up");
    host.add_addr("eth0", "192.0.2.1/24").expect("addr");
    let conf = Case::V3Ipv4.conf(Side::Ha1, 150).render();
    let mut router = Router::start(Impl::Ours, &host, "probe", &conf);
    let status = router.child.wait_timeout(Duration::from_millis(1500));
    let out = router.output();
    router.quiet = true;
    match status {
        Some(s) if s.code() == Some(2) && out.contains("not implemented") => Some(format!(
            "keepalived-rs -n does not run the VRRP engine yet ({}): {}",
            s,
            out.trim()
        )),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Routers

static ROUTER_COUNTER: AtomicU32 = AtomicU32::new(0);

/// One keepalived or keepalived-rs process tree in a lab host. Its config, pid files and
/// output live in a temp dir of its own; on a panicking test the output is printed when the
/// router is dropped. Dropping it kills every process of the router.
pub struct Router {
    /// Which implementation runs.
    pub kind: Impl,
    /// A label for messages (`ha1`, ...).
    pub name: String,
    /// The host it runs in.
    pub host: Host,
    /// The parent process (keepalived's main process, or our daemon).
    pub child: LabChild,
    dir: PathBuf,
    conf: String,
    quiet: bool,
}

impl Router {
    /// Starts Debian's keepalived on `host`:
    /// `keepalived -n -l -D -f conf -p run/ka.pid -r run/vrrp.pid -c run/chk.pid`.
    pub fn keepalived(host: &Host, conf_text: &str) -> Router {
        Router::start(Impl::Keepalived, host, host.name(), conf_text)
    }

    /// Starts keepalived-rs on `host`: `keepalived-rs -n -l -D -f conf` with the same pid
    /// files as keepalived.
    pub fn ours(host: &Host, conf_text: &str) -> Router {
        Router::start(Impl::Ours, host, host.name(), conf_text)
    }

    /// Starts `kind` on `host` with config `conf_text`; `name` labels its temp dir and output.
    pub fn start(kind: Impl, host: &Host, name: &str, conf_text: &str) -> Router {
        let n = ROUTER_COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "ka-interop-{}-{n}-{name}-{}",
            std::process::id(),
            kind.tag()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("run")).expect("router temp dir");
        let conf = dir.join("keepalived.conf");
        std::fs::write(&conf, conf_text).expect("write config");
        let stdout = File::create(dir.join("stdout.log")).expect("stdout file");
        let stderr = File::create(dir.join("stderr.log")).expect("stderr file");
        let mut cmd = match kind {
            Impl::Keepalived => {
                let mut c = host.command(KEEPALIVED);
                c.args(["-n", "-l", "-D", "-f"])
                    .arg(&conf)
                    .arg("-p")
                    .arg(dir.join("run/ka.pid"))
                    .arg("-r")
                    .arg(dir.join("run/vrrp.pid"))
                    .arg("-c")
                    .arg(dir.join("run/chk.pid"));
                c
            }
            Impl::Ours => {
                let mut c = host.command(ours_bin());
                c.args(["-n", "-l", "-D", "-f"])
                    .arg(&conf)
                    .arg("-p")
                    .arg(dir.join("run/ka.pid"))
                    .arg("-r")
                    .arg(dir.join("run/vrrp.pid"))
                    .arg("-c")
                    .arg(dir.join("run/chk.pid"));
                c
            }
        };
        cmd.stdin(Stdio::null()).stdout(stdout).stderr(stderr);
        let child = LabChild::spawn(&mut cmd).expect("spawn router");
        Router {
            kind,
            name: name.to_owned(),
            host: host.clone(),
            child,
            dir,
            conf: conf_text.to_owned(),
            quiet: false,
        }
    }

    /// The parent's pid (`ip netns exec` execs the program, so it is the daemon itself).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Every process of the router: descendants first (deepest first), the parent last.
    pub fn pids(&self) -> Vec<u32> {
        let mut order = Vec::new();
        collect_descendants(self.pid(), &mut order);
        order.push(self.pid());
        order
    }

    /// Freezes the router (SIGSTOP to its children, then its parent, in one `kill` run) and
    /// returns the instant just before the signals were sent: takeover times are measured
    /// from there, so they never come out shorter than the truth.
    pub fn freeze(&mut self) -> Instant {
        let pids = self.pids();
        let t0 = Instant::now();
        send_signal("STOP", &pids);
        t0
    }

    /// Whether every process of the router is stopped (state `T` in `/proc/PID/stat`), and
    /// whether that includes at least its VRRP child: checks that a freeze caught the whole
    /// router.
    pub fn is_frozen(&self) -> bool {
        let pids = self.pids();
        // Both daemons run a parent and at least a VRRP child.
        let enough = pids.len() >= 2;
        enough
            && pids.iter().all(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .ok()
                    .and_then(|stat| {
                        let rest = &stat[stat.rfind(')')? + 1..];
                        rest.split_whitespace().next().map(|st| st == "T")
                    })
                    .unwrap_or(false)
            })
    }

    /// Resumes a frozen router (SIGCONT, parent first).
    pub fn thaw(&mut self) {
        let mut pids = self.pids();
        pids.reverse();
        send_signal("CONT", &pids);
    }

    /// Kills the router: freezes it (so nothing reacts, e.g. to its parent's death), then
    /// SIGKILLs every process and reaps the parent. Like a crash, this leaves its VIPs behind.
    pub fn kill(&mut self) {
        if !self.child.is_running() {
            return;
        }
        let pids = self.pids();
        send_signal("STOP", &pids);
        send_signal("KILL", &pids);
        self.child.kill();
    }

    /// Sends SIGTERM to the parent and returns the instant just before.
    pub fn term(&mut self) -> Instant {
        let t0 = Instant::now();
        self.child.signal("TERM").expect("SIGTERM");
        t0
    }

    /// Whether the parent is still running.
    pub fn is_running(&mut self) -> bool {
        self.child.is_running()
    }

    /// Waits for the parent to exit by itself.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        self.child.wait_timeout(timeout)
    }

    /// What the router wrote so far: its stdout, then its stderr.
    pub fn output(&self) -> String {
        let read = |f: &str| std::fs::read_to_string(self.dir.join(f)).unwrap_or_default();
        let (out, err) = (read("stdout.log"), read("stderr.log"));
        // keepalived's log may hold stray bytes; keep it printable.
        format!("{out}{err}").replace('\0', "")
    }

    /// Whether the router's output contains `needle`.
    pub fn logged(&self, needle: &str) -> bool {
        self.output().contains(needle)
    }

    /// How many lines of the output contain `needle`.
    pub fn count_logged(&self, needle: &str) -> usize {
        self.output().lines().filter(|l| l.contains(needle)).count()
    }

    /// Config and output, for failure messages.
    pub fn describe(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "===== {} ({}) pid {} in {} =====",
            self.name,
            self.kind.tag(),
            self.pid(),
            self.host.netns()
        );
        let _ = writeln!(s, "----- config -----\n{}", self.conf);
        let out = self.output();
        let lines: Vec<&str> = out.lines().collect();
        let skip = lines.len().saturating_sub(200);
        let _ = writeln!(s, "----- output (last {} lines) -----", lines.len() - skip);
        for l in &lines[skip..] {
            let _ = writeln!(s, "{l}");
        }
        s
    }
}

impl Drop for Router {
    fn drop(&mut self) {
        if std::thread::panicking() && !self.quiet {
            eprintln!("{}", self.describe());
        }
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Appends the descendants of `pid` (from `/proc/PID/task/*/children`), deepest first.
fn collect_descendants(pid: u32, out: &mut Vec<u32>) {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return;
    };
    let mut children = Vec::new();
    for task in tasks.flatten() {
        if let Ok(list) = std::fs::read_to_string(task.path().join("children")) {
            children.extend(
                list.split_whitespace()
                    .filter_map(|p| p.parse::<u32>().ok()),
            );
        }
    }
    children.sort_unstable();
    children.dedup();
    for child in children {
        collect_descendants(child, out);
        out.push(child);
    }
}

/// `kill -s SIG PID...` in one shell (the builtin sends in argument order).
fn send_signal(sig: &str, pids: &[u32]) {
    if pids.is_empty() {
        return;
    }
    let _ = Command::new("sh")
        .args(["-c", "kill -s \"$0\" \"$@\" 2>/dev/null", sig])
        .args(pids.iter().map(u32::to_string))
        .stdin(Stdio::null())
        .status();
}

// ---------------------------------------------------------------------------------------------
// Configs

/// The interop cases of issue 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    /// VRRPv2, IPv4, multicast, `advert_int 1`.
    V2Ipv4,
    /// VRRPv3, IPv4, multicast, `advert_int 0.05`.
    V3Ipv4,
    /// VRRPv3, IPv6, multicast, `advert_int 0.05`.
    V3Ipv6,
    /// VRRPv2 with PASS authentication, `advert_int 1`.
    V2Pass,
    /// VRRPv3, IPv4, unicast (`unicast_src_ip`, `unicast_peer`), `advert_int 0.05`.
    V3Unicast,
}

/// Which of the lab hosts a config is for (its own and its peers' addresses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// 192.0.2.1 / 2001:db8::1
    Ha1,
    /// 192.0.2.2 / 2001:db8::2
    Ha2,
    /// 192.0.2.3 / 2001:db8::3 (bridge labs)
    Ha3,
}

impl Side {
    /// The host's own IPv4 address.
    pub fn ipv4(self) -> &'static str {
        match self {
            Side::Ha1 => "192.0.2.1",
            Side::Ha2 => "192.0.2.2",
            Side::Ha3 => "192.0.2.3",
        }
    }

    /// The peer's IPv4 address in a two-host lab.
    pub fn peer_ipv4(self) -> &'static str {
        match self {
            Side::Ha1 => "192.0.2.2",
            Side::Ha2 | Side::Ha3 => "192.0.2.1",
        }
    }
}

impl Case {
    /// Every case.
    pub const ALL: [Case; 5] = [
        Case::V2Ipv4,
        Case::V3Ipv4,
        Case::V3Ipv6,
        Case::V2Pass,
        Case::V3Unicast,
    ];

    /// The name in measurement lines.
    pub fn tag(self) -> &'static str {
        match self {
            Case::V2Ipv4 => "v2-ipv4",
            Case::V3Ipv4 => "v3-ipv4",
            Case::V3Ipv6 => "v3-ipv6",
            Case::V2Pass => "v2-pass",
            Case::V3Unicast => "v3-unicast",
        }
    }

    /// The config for `side` at `priority` (preemption on, `state BACKUP`).
    pub fn conf(self, side: Side, priority: u8) -> Conf {
        let mut c = Conf {
            router_id: format!("{:?}", side).to_lowercase(),
            priority,
            ..Conf::default()
        };
        match self {
            Case::V2Ipv4 => {}
            Case::V3Ipv4 => c.fast_v3(),
            Case::V3Ipv6 => {
                c.fast_v3();
                c.ipv6 = true;
            }
            Case::V2Pass => c.auth_pass = Some("s3cret".into()),
            Case::V3Unicast => {
                c.fast_v3();
                c.unicast = Some((side.ipv4().into(), vec![side.peer_ipv4().into()]));
            }
        }
        c
    }

    /// The VIP as an address.
    pub fn vip(self) -> IpAddr {
        if self == Case::V3Ipv6 {
            VIP6.parse().expect("vip")
        } else {
            VIP4.parse().expect("vip")
        }
    }

    /// The advert interval.
    pub fn advert_int(self) -> Duration {
        self.conf(Side::Ha1, 100).advert_int()
    }
}

/// One `vrrp_instance VI_1` config, rendered for keepalived 2.2.7 and keepalived-rs alike
/// (no scripts, nothing newer than 2.2.7).
#[derive(Debug, Clone)]
pub struct Conf {
    /// `global_defs { router_id }`.
    pub router_id: String,
    /// `state`.
    pub state: &'static str,
    /// `priority`.
    pub priority: u8,
    /// `version` (2 or 3).
    pub version: u8,
    /// `advert_int`, as written.
    pub advert_int: &'static str,
    /// IPv6 VIP instead of IPv4.
    pub ipv6: bool,
    /// `authentication { auth_type PASS auth_pass X }`.
    pub auth_pass: Option<String>,
    /// `unicast_src_ip` and `unicast_peer`.
    pub unicast: Option<(String, Vec<String>)>,
    /// `nopreempt`.
    pub nopreempt: bool,
}

impl Default for Conf {
    fn default() -> Conf {
        Conf {
            router_id: "ha".into(),
            state: "BACKUP",
            priority: 100,
            version: 2,
            advert_int: "1",
            ipv6: false,
            auth_pass: None,
            unicast: None,
            nopreempt: false,
        }
    }
}

impl Conf {
    /// `version 3`, `advert_int 0.05`.
    pub fn fast_v3(&mut self) {
        self.version = 3;
        self.advert_int = "0.05";
    }

    /// The advert interval.
    pub fn advert_int(&self) -> Duration {
        Duration::from_secs_f64(self.advert_int.parse().expect("advert_int"))
    }

    /// Skew_Time of this router: (256 - priority) / 256 of the interval (v2: seconds; v3:
    /// centiseconds, as keepalived computes it, which is the same value).
    pub fn skew(&self) -> Duration {
        self.advert_int() * (256 - u32::from(self.priority)) / 256
    }

    /// Master_Down_Interval of this router: 3 intervals plus its skew.
    pub fn master_down(&self) -> Duration {
        self.advert_int() * 3 + self.skew()
    }

    /// The config text.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "global_defs {{\n    router_id {}\n}}\n", self.router_id);
        let _ = writeln!(s, "vrrp_instance VI_1 {{");
        let _ = writeln!(s, "    state {}", self.state);
        let _ = writeln!(s, "    interface eth0");
        let _ = writeln!(s, "    virtual_router_id {VRID}");
        let _ = writeln!(s, "    priority {}", self.priority);
        let _ = writeln!(s, "    version {}", self.version);
        let _ = writeln!(s, "    advert_int {}", self.advert_int);
        if self.nopreempt {
            let _ = writeln!(s, "    nopreempt");
        }
        if let Some(pass) = &self.auth_pass {
            let _ = writeln!(
                s,
                "    authentication {{\n        auth_type PASS\n        auth_pass {pass}\n    }}"
            );
        }
        if let Some((src, peers)) = &self.unicast {
            let _ = writeln!(s, "    unicast_src_ip {src}");
            let _ = writeln!(s, "    unicast_peer {{");
            for p in peers {
                let _ = writeln!(s, "        {p}");
            }
            let _ = writeln!(s, "    }}");
        }
        let vip = if self.ipv6 {
            format!("{VIP6}/64")
        } else {
            format!("{VIP4}/24")
        };
        let _ = writeln!(
            s,
            "    virtual_ipaddress {{\n        {vip} dev eth0\n    }}\n}}"
        );
        s
    }
}

// ---------------------------------------------------------------------------------------------
// Labs

/// A lab of hosts sharing one segment.
pub struct Net {
    /// The lab (dropped last: kills what is left and deletes the namespaces).
    pub lab: Lab,
    /// The hosts, ha1, ha2, ...
    pub hosts: Vec<Host>,
}

/// Creates host `name` with IPv6 DAD off (so link-local and global addresses are usable at
/// once) before any interface is added.
fn new_host(lab: &Lab, name: &str) -> Host {
    let host = lab.host(name).expect("host");
    for key in [
        "net.ipv6.conf.all.accept_dad",
        "net.ipv6.conf.default.accept_dad",
    ] {
        host.sysctl(key, "0").expect("sysctl");
    }
    host
}

fn address_host(host: &Host, i: usize) {
    host.add_addr("eth0", &format!("192.0.2.{i}/24"))
        .expect("ipv4 address");
    host.add_addr("eth0", &format!("2001:db8::{i}/64"))
        .expect("ipv6 address");
}

/// Waits until every host's eth0 has a usable (non-tentative) IPv6 link-local address: the
/// source of v3 IPv6 adverts.
fn wait_link_local(hosts: &[Host]) {
    let ok = lab::wait_until(Duration::from_secs(10), Duration::from_millis(20), || {
        hosts.iter().all(|h| {
            h.ip(["-6", "addr", "show", "dev", "eth0", "scope", "link"])
                .is_ok_and(|out| out.contains("fe80") && !out.contains("tentative"))
        })
    });
    assert!(ok.is_some(), "link-local addresses never became usable");
}

/// Two hosts on a veth: ha1 eth0 = 192.0.2.1/24, 2001:db8::1/64; ha2 eth0 = 192.0.2.2/24,
/// 2001:db8::2/64 (IPv6 without DAD).
pub fn two_hosts(prefix: &str) -> Net {
    let lab = Lab::new(prefix).expect("lab");
    let ha1 = new_host(&lab, "ha1");
    let ha2 = new_host(&lab, "ha2");
    lab.veth(&ha1, "eth0", &ha2, "eth0").expect("veth");
    address_host(&ha1, 1);
    address_host(&ha2, 2);
    let hosts = vec![ha1, ha2];
    wait_link_local(&hosts);
    Net { lab, hosts }
}

/// `n` hosts (ha1..haN, eth0 = 192.0.2.I/24, 2001:db8::I/64) on one bridge.
pub fn bridged_hosts(prefix: &str, n: usize) -> Net {
    let lab = Lab::new(prefix).expect("lab");
    let seg = lab.bridge("seg").expect("bridge");
    let mut hosts = Vec::new();
    for i in 1..=n {
        let h = new_host(&lab, &format!("ha{i}"));
        lab.attach(&seg, &h, "eth0").expect("attach");
        address_host(&h, i);
        hosts.push(h);
    }
    wait_link_local(&hosts);
    Net { lab, hosts }
}

/// Removes `vip` from `host`'s eth0 if it is there (a killed router leaves it behind).
pub fn remove_vip(host: &Host, vip: IpAddr) {
    let prefix = if vip.is_ipv6() { 64 } else { 24 };
    let _ = host.del_addr("eth0", &format!("{vip}/{prefix}"));
}

// ---------------------------------------------------------------------------------------------
// Timing

/// Polls `cond` every `poll` until it holds or `timeout` (counted from `t0`) has passed;
/// returns the time from `t0` to the first poll where it held.
pub fn wait_from(
    t0: Instant,
    timeout: Duration,
    poll: Duration,
    mut cond: impl FnMut() -> bool,
) -> Option<Duration> {
    loop {
        if cond() {
            return Some(t0.elapsed());
        }
        if t0.elapsed() >= timeout {
            return None;
        }
        std::thread::sleep(poll);
    }
}

/// Waits until exactly `holder` (index into `hosts`) holds `vip` and has kept holding it,
/// alone, for `stable`. Returns when that state began (from the call), or `None` if it was not
/// reached within `timeout`.
pub fn wait_sole_holder(
    hosts: &[Host],
    holder: usize,
    vip: IpAddr,
    timeout: Duration,
    stable: Duration,
) -> Option<Duration> {
    let start = Instant::now();
    let mut since: Option<Instant> = None;
    loop {
        if holders(hosts, vip) == [holder] {
            let s = *since.get_or_insert_with(Instant::now);
            if s.elapsed() >= stable {
                return Some(s - start);
            }
        } else {
            since = None;
        }
        if start.elapsed() >= timeout {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The indices of the hosts holding `vip`.
pub fn holders(hosts: &[Host], vip: IpAddr) -> Vec<usize> {
    hosts
        .iter()
        .enumerate()
        .filter(|(_, h)| h.has_addr(vip))
        .map(|(i, _)| i)
        .collect()
}

/// Prints one parseable measurement line:
/// `interop: case=v2-ipv4 roles=ours-master event=freeze takeover_ms=3602 bound_ms=3709`.
pub fn report(case: &str, roles: &str, event: &str, took: Duration, bound: Duration) {
    eprintln!(
        "interop: case={case} roles={roles} event={event} takeover_ms={} bound_ms={}",
        took.as_millis(),
        bound.as_millis()
    );
}

/// The number of processes whose command line contains `needle`.
pub fn count_processes(needle: &str) -> usize {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            std::fs::read(e.path().join("cmdline")).is_ok_and(|c| {
                String::from_utf8_lossy(&c)
                    .replace('\0', " ")
                    .contains(needle)
            })
        })
        .count()
}
