//! The host both implementations run on, per file and mode: network namespaces, and a private
//! mount namespace whose writes never reach the real filesystem.
//!
//! - "bare", a new user's host: `lo`, and `eth0`/`eth1` as the two ends of one veth pair, up,
//!   with addresses in the documentation ranges; no script of the file exists.
//! - "prepared": every interface the file names (see [`Scan`]) is one end of a veth pair whose
//!   other end (same name) sits in a peer namespace, up, with the file's own source addresses
//!   (`unicast_src_ip`, `mcast_src_ip`) or one from 198.18.0.0/15; every program its command lines
//!   run is a stub (`#!/bin/sh`, `exit 0`, root-owned, 0755).
//!
//! A *holder* process (`ip netns exec NS unshare --mount --propagation private sh ...`) owns the
//! mount namespace: a tmpfs under the test's temporary directory holds the upper layers of
//! overlays mounted over `/tmp`, `/run` and, in prepared mode, over the deepest existing
//! directory above each stub and each path the file names, so stubs, pid files, FIFOs and
//! track files land in that tmpfs. The holder reads its stdin and exits when the test closes it
//! or dies; the programs under test join its namespaces with `nsenter`. A crash leaves at most
//! network namespaces behind, which the lab's stale clean-up removes on the next run.

use std::collections::BTreeSet;
use std::io::{BufRead as _, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lab::{Host, Lab, LabChild};

use super::scan::Scan;

/// Which host a run sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mode {
    /// A new user's host: lo, eth0, eth1; no scripts.
    Bare,
    /// The interfaces and scripts the file names exist.
    Prepared,
}

impl Mode {
    /// The name used in reports and in the list of known differences.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Bare => "bare",
            Mode::Prepared => "prepared",
        }
    }
}

/// The PATH every program under test gets; stubs of commands named without a directory go to
/// its first directory.
pub const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Programs never replaced by a stub: the shell the stubs and the holder need, and the tools
/// the harness itself runs inside the namespace.
const NEVER_STUBBED: &[&str] = &[
    "sh",
    "bash",
    "dash",
    "env",
    "busybox",
    "nsenter",
    "unshare",
    "mount",
    "mkdir",
    "rm",
    "chmod",
    "chown",
    "printf",
    "keepalived",
    "keepalived-rs",
];

/// Where the pid files go inside the private mount namespace (under the overlaid /run).
pub const RUN_DIR: &str = "/run/kadiff";

/// What a finished command produced.
#[derive(Debug, Clone, Default)]
pub struct Output {
    /// The exit code (`None` when a signal ended it).
    pub code: Option<i32>,
    /// The signal that ended it.
    pub signal: Option<i32>,
    /// It did not end in time and was killed.
    pub timed_out: bool,
    /// Its stdout.
    pub stdout: String,
    /// Its stderr.
    pub stderr: String,
}

impl Output {
    /// The verdict as compared: `exit N`, `signal N` or `timeout`.
    pub fn verdict(&self) -> String {
        match (self.timed_out, self.code, self.signal) {
            (true, _, _) => "timeout".into(),
            (_, Some(c), _) => format!("exit {c}"),
            (_, None, Some(s)) => format!("signal {s}"),
            _ => "unknown".into(),
        }
    }
}

/// A prepared (or bare) host with its private mount namespace.
pub struct TestHost {
    /// The namespace the programs run in.
    pub host: Host,
    holder: LabChild,
    store: PathBuf,
    /// What could not be prepared as asked (names, paths), for the report.
    pub notes: Vec<String>,
    /// Some path the file names could not be covered by an overlay: a daemon run could write
    /// to the real filesystem there, so none is made.
    pub uncovered_writes: bool,
    /// Addresses configured before anything ran (`IFNAME ADDR/PREFIX`).
    pub baseline: BTreeSet<String>,
    // Dropped last: kills what is left in the namespaces and deletes them.
    _lab: Lab,
}

impl TestHost {
    /// Builds the host for `scan` in `mode`; `tmp` is a directory of the test's own for the
    /// mount point of the private tmpfs.
    pub fn new(mode: Mode, scan: &Scan, tmp: &Path, tag: &str) -> Result<TestHost, String> {
        let lab = Lab::new("kacorpus").map_err(|e| e.to_string())?;
        let host = lab.host("h").map_err(|e| e.to_string())?;
        let mut notes = Vec::new();
        let mut overlays = vec![PathBuf::from("/tmp"), PathBuf::from("/run")];
        let mut stubs = Vec::new();
        let mut uncovered_writes = false;
        // Link-local addresses usable at once (no duplicate address detection).
        for key in [
            "net.ipv6.conf.all.accept_dad",
            "net.ipv6.conf.default.accept_dad",
        ] {
            host.sysctl(key, "0").map_err(|e| e.to_string())?;
        }
        match mode {
            Mode::Bare => {
                host.ip([
                    "link", "add", "eth0", "type", "veth", "peer", "name", "eth1",
                ])
                .map_err(|e| e.to_string())?;
                for (ifname, v4, v6) in [
                    ("eth0", "192.0.2.1/24", "2001:db8::1/64"),
                    ("eth1", "198.51.100.1/24", "2001:db8:1::1/64"),
                ] {
                    host.link_set_up(ifname).map_err(|e| e.to_string())?;
                    host.add_addr(ifname, v4).map_err(|e| e.to_string())?;
                    host.add_addr(ifname, v6).map_err(|e| e.to_string())?;
                }
            }
            Mode::Prepared => {
                let peer = lab.host("p").map_err(|e| e.to_string())?;
                for key in [
                    "net.ipv6.conf.all.accept_dad",
                    "net.ipv6.conf.default.accept_dad",
                ] {
                    peer.sysctl(key, "0").map_err(|e| e.to_string())?;
                }
                for (i, ifname) in scan.interfaces.iter().enumerate() {
                    if let Err(e) = lab.veth(&host, ifname, &peer, ifname) {
                        notes.push(format!("interface {ifname} not created: {e}"));
                        continue;
                    }
                    let own = scan.addresses.get(ifname).cloned().unwrap_or_default();
                    let mut addrs: Vec<String> = own
                        .iter()
                        .map(|a| {
                            if a.contains(':') {
                                format!("{a}/64")
                            } else {
                                format!("{a}/24")
                            }
                        })
                        .collect();
                    if !own.iter().any(|a| !a.contains(':')) {
                        addrs.push(format!("198.18.{}.1/24", i % 256));
                    }
                    for a in addrs {
                        if let Err(e) = host.add_addr(ifname, &a) {
                            notes.push(format!("address {a} on {ifname} not added: {e}"));
                        }
                    }
                }
                for command in &scan.commands {
                    match stub_path(command) {
                        Ok((overlay, stub)) => {
                            overlays.push(overlay);
                            stubs.push(stub);
                        }
                        Err(why) => notes.push(format!("command {command} not stubbed: {why}")),
                    }
                }
                for path in &scan.paths {
                    match covering_dir(path) {
                        Ok(dir) => overlays.push(dir),
                        Err(why) => {
                            uncovered_writes = true;
                            notes.push(format!("path {} not covered: {why}", path.display()));
                        }
                    }
                }
            }
        }
        let overlays = outermost(overlays);
        let store = tmp.join(format!("store-{tag}"));
        std::fs::create_dir_all(&store).map_err(|e| e.to_string())?;
        let holder = start_holder(&host, &store, &overlays, &stubs)?;
        let baseline = addresses(&host);
        Ok(TestHost {
            host,
            holder,
            store,
            notes,
            uncovered_writes,
            baseline,
            _lab: lab,
        })
    }

    /// A command running `program args` inside the host's network and mount namespaces, with a
    /// clean environment (only [`PATH`] and `LANG=C`).
    pub fn command(&self, program: &str, args: &[String]) -> Command {
        let mut c = Command::new("nsenter");
        c.arg("-t")
            .arg(self.holder.id().to_string())
            .args(["-m", "-n", "--", program])
            .args(args)
            .env_clear()
            .env("PATH", PATH)
            .env("LANG", "C")
            .stdin(Stdio::null());
        c
    }

    /// Runs `program args` to completion (killed after `timeout`).
    pub fn run(&self, program: &str, args: &[String], timeout: Duration) -> Output {
        let mut c = self.command(program, args);
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = match LabChild::spawn(&mut c) {
            Ok(child) => child,
            Err(e) => {
                return Output {
                    stderr: format!("harness: cannot start {program}: {e}"),
                    ..Output::default()
                };
            }
        };
        let stdout = reader(child.child_mut().stdout.take());
        let stderr = reader(child.child_mut().stderr.take());
        let status = child.wait_timeout(timeout);
        if status.is_none() {
            child.kill();
        }
        use std::os::unix::process::ExitStatusExt as _;
        Output {
            code: status.and_then(|s| s.code()),
            signal: status.and_then(|s| s.signal()),
            timed_out: status.is_none(),
            stdout: stdout.join().unwrap_or_default(),
            stderr: stderr.join().unwrap_or_default(),
        }
    }

    /// The addresses configured now (`IFNAME ADDR/PREFIX`), IPv6 link-local ones left out.
    pub fn addresses(&self) -> BTreeSet<String> {
        addresses(&self.host)
    }
}

impl Drop for TestHost {
    fn drop(&mut self) {
        // Closing its stdin ends the holder; killing it covers a holder that is stuck.
        drop(self.holder.child_mut().stdin.take());
        self.holder.kill();
        let _ = std::fs::remove_dir(&self.store);
    }
}

/// Collects a pipe to a string on a thread of its own.
pub fn reader<R: std::io::Read + Send + 'static>(
    pipe: Option<R>,
) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = Vec::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_end(&mut text);
        }
        String::from_utf8_lossy(&text).into_owned()
    })
}

/// `ip -j addr` of the host as `IFNAME ADDR/PREFIX` (link-local IPv6 left out).
fn addresses(host: &Host) -> BTreeSet<String> {
    let Ok(json) = host.ip(["-j", "addr", "show"]) else {
        return BTreeSet::new();
    };
    let Ok(value) = serde_json::from_str::<serde_json::Value>(&json) else {
        return BTreeSet::new();
    };
    let mut out = BTreeSet::new();
    for link in value.as_array().into_iter().flatten() {
        let ifname = link.get("ifname").and_then(|i| i.as_str()).unwrap_or("?");
        for info in link
            .get("addr_info")
            .and_then(|a| a.as_array())
            .into_iter()
            .flatten()
        {
            let local = info.get("local").and_then(|l| l.as_str()).unwrap_or("?");
            let prefix = info.get("prefixlen").and_then(|p| p.as_u64()).unwrap_or(0);
            if !local.starts_with("fe80:") {
                out.insert(format!("{ifname} {local}/{prefix}"));
            }
        }
    }
    out
}

/// Starts the holder and waits for its `ready`.
fn start_holder(
    host: &Host,
    store: &Path,
    overlays: &[PathBuf],
    stubs: &[PathBuf],
) -> Result<LabChild, String> {
    const SCRIPT: &str = r#"set -e
umask 022
store=$1; n=$2; shift 2
mount -t tmpfs -o mode=0700 kacorpus "$store"
i=0
while [ "$i" -lt "$n" ]; do
    i=$((i + 1)); d=$1; shift
    mkdir "$store/u$i" "$store/w$i"
    chown --reference="$d" "$store/u$i"; chmod --reference="$d" "$store/u$i"
    mount -t overlay kacorpus -o "lowerdir=$d,upperdir=$store/u$i,workdir=$store/w$i" "$d"
done
for s in "$@"; do
    mkdir -p "${s%/*}"
    rm -f "$s"
    printf '#!/bin/sh\nexit 0\n' > "$s"
    chown 0:0 "$s"; chmod 0755 "$s"
done
mkdir -p /run/kadiff
echo ready
read -r _ || true
"#;
    let mut c = host.command("unshare");
    c.args([
        "--mount",
        "--propagation",
        "private",
        "--",
        "sh",
        "-c",
        SCRIPT,
        "sh",
    ])
    .arg(store)
    .arg(overlays.len().to_string())
    .args(overlays)
    .args(stubs)
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut holder = LabChild::spawn(&mut c).map_err(|e| e.to_string())?;
    let stdout = holder.child_mut().stdout.take();
    let mut line = String::new();
    if let Some(out) = stdout {
        let _ = BufReader::new(out).read_line(&mut line);
    }
    if line.trim() != "ready" {
        let err = read_rest(holder.child_mut());
        holder.kill();
        return Err(format!("host preparation failed: {}", err.trim()));
    }
    Ok(holder)
}

fn read_rest(child: &mut Child) -> String {
    let mut s = String::new();
    if let Some(mut e) = child.stderr.take() {
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline && child.try_wait().ok().flatten().is_none() {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = e.read_to_string(&mut s);
    }
    s
}

/// Where the stub of `command` goes (resolved through symbolic links) and the directory to
/// overlay for it.
fn stub_path(command: &str) -> Result<(PathBuf, PathBuf), String> {
    let name = Path::new(command)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or("no file name")?;
    if NEVER_STUBBED.contains(&name.as_str()) {
        return Err("the harness needs the real program".into());
    }
    let path = if command.contains('/') {
        if !command.starts_with('/') {
            return Err("a relative path".into());
        }
        PathBuf::from(command)
    } else {
        Path::new(PATH.split(':').next().unwrap_or("/usr/local/sbin")).join(command)
    };
    let parent = path.parent().ok_or("no directory")?;
    let dir = covering_dir(parent.join("x").as_path())?;
    // The stub's real place: the overlaid directory, then the components that do not exist yet.
    let missing = parent
        .strip_prefix(deepest_existing(parent))
        .map(Path::to_path_buf)
        .unwrap_or_default();
    Ok((dir.clone(), dir.join(missing).join(name)))
}

/// The directory to overlay so that `path` can be written privately: the canonical form of
/// the deepest existing directory above it (never `/` or a kernel filesystem).
fn covering_dir(path: &Path) -> Result<PathBuf, String> {
    let text = path.to_string_lossy();
    if text.contains([',', ':', '\\']) || text.chars().any(char::is_whitespace) {
        return Err("characters overlayfs options cannot carry".into());
    }
    let parent = path.parent().ok_or("no directory")?;
    let existing = deepest_existing(parent);
    let dir = std::fs::canonicalize(existing).map_err(|e| e.to_string())?;
    if dir == Path::new("/") {
        return Err("its top-level directory does not exist".into());
    }
    if ["/proc", "/sys", "/dev"].iter().any(|k| dir.starts_with(k)) {
        return Err("a kernel filesystem".into());
    }
    Ok(dir)
}

/// The deepest directory at or above `path` that exists.
fn deepest_existing(path: &Path) -> &Path {
    let mut p = path;
    while !p.is_dir() {
        match p.parent() {
            Some(up) => p = up,
            None => return Path::new("/"),
        }
    }
    p
}

/// `dirs` without duplicates and without any directory below another one of the list.
fn outermost(mut dirs: Vec<PathBuf>) -> Vec<PathBuf> {
    dirs.sort();
    dirs.dedup();
    let mut out: Vec<PathBuf> = Vec::new();
    for d in dirs {
        if !out.iter().any(|o| d.starts_with(o)) {
            out.push(d);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outermost_directories() {
        let got = outermost(vec![
            "/etc/keepalived".into(),
            "/etc".into(),
            "/run".into(),
            "/etc".into(),
        ]);
        assert_eq!(got, [PathBuf::from("/etc"), PathBuf::from("/run")]);
    }

    #[test]
    fn stubs_resolve_to_an_existing_directory() {
        let (dir, stub) = stub_path("/usr/lib/nonexistent-kacorpus/x/check.sh").unwrap();
        assert_eq!(dir, std::fs::canonicalize("/usr/lib").unwrap());
        assert!(stub.ends_with("nonexistent-kacorpus/x/check.sh"));
        assert!(stub_path("/bin/sh").is_err());
        assert!(stub_path("/nonexistent-top/x.sh").is_err());
        let (_, stub) = stub_path("killall").unwrap();
        assert_eq!(stub, Path::new("/usr/local/sbin/killall"));
    }
}
