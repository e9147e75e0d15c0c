//! A small QEMU (TCG) virtual machine booting Debian's kernel with IPVS, for
//! tests the host kernel cannot run: [`VmBuilder`] gathers the ingredients
//! once (cached under `target/ipvs-vm/`), [`Vm::run`] boots it, runs a shell
//! script as root inside and returns what the script printed and its exit code.
//!
//! ```no_run
//! let Some(vm) = lab::vm::VmBuilder::new().build_or_skip().unwrap() else { return };
//! let out = vm.run("ipvsadm -A -t 192.0.2.10:80 -s rr && ipvsadm -Ln").unwrap();
//! assert_eq!(out.exit_code, 0);
//! println!("{} (boot {:?})", out.stdout, out.boot_time);
//! ```
//!
//! Inside: busybox (sh and the usual applets), iproute2's `ip` (with
//! `netns`), `ipvsadm`, the modules for IPVS and its schedulers, veth,
//! bridge, dummy and ipip already loaded, `lo` up, `/tmp` and `/run` on tmpfs.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};
use std::{fs, thread};

use crate::error::LabError;
use crate::vm_image::{self, Kernel, Stage, io, unique};

pub use crate::vm_image::missing_packages;

/// Modules loaded in every VM (their dependencies come first, from
/// `modules.dep`). `crc32c_generic` is libcrc32c's soft dependency, which
/// insmod does not follow.
pub const REQUIRED_MODULES: &[&str] = &["crc32c_generic", "ip_vs", "ip_vs_rr", "veth", "bridge"];

/// Modules loaded when this kernel has them: the other IPVS schedulers, the
/// SIP persistence engine, dummy interfaces and IP-in-IP tunnels.
pub const OPTIONAL_MODULES: &[&str] = &[
    "ip_vs_wrr",
    "ip_vs_lc",
    "ip_vs_wlc",
    "ip_vs_lblc",
    "ip_vs_lblcr",
    "ip_vs_dh",
    "ip_vs_sh",
    "ip_vs_sed",
    "ip_vs_nq",
    "ip_vs_fo",
    "ip_vs_ovf",
    "ip_vs_mh",
    "ip_vs_twos",
    "ip_vs_pe_sip",
    "dummy",
    "ipip",
];

/// Put before every script: Debian's static busybox `sh` runs its own
/// applets before searching `PATH`, so its limited `ip` (no `netns`) would
/// shadow iproute2's. A function wins over an applet. (In a nested `sh -c`,
/// call `/usr/sbin/ip` by path.)
const SCRIPT_PRELUDE: &str = "ip() { /usr/sbin/ip \"$@\"; }\n";

/// What can go wrong building or running the VM.
#[derive(Debug, thiserror::Error)]
pub enum VmError {
    /// Something the VM needs is not installed or cannot be fetched; tests
    /// skip on this (see [`VmError::is_unavailable`]).
    #[error("IPVS VM unavailable: {0}")]
    Unavailable(String),
    /// A module asked for does not exist in this kernel.
    #[error("kernel module {0:?} not found in the VM kernel")]
    Module(String),
    /// A path inside the VM is not absolute-and-clean (no `..`, no `//`).
    #[error("unusable path inside the VM: {0:?}")]
    BadPath(String),
    /// A host command (apt-get, dpkg, depmod, cpio, ...) failed.
    #[error(transparent)]
    Lab(#[from] LabError),
    /// A file operation in the cache failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The VM did not finish in time; it was killed.
    #[error("VM did not finish within {after:?}; console:\n{console}")]
    Timeout {
        /// The timeout that ran out.
        after: Duration,
        /// Everything the serial console printed.
        console: String,
    },
    /// QEMU exited without the script's result marker (kernel panic, bad
    /// init, QEMU error).
    #[error("VM ended without a result ({status}); console:\n{console}")]
    NoResult {
        /// How QEMU exited.
        status: String,
        /// Everything the serial console (and QEMU's stderr) printed.
        console: String,
    },
}

impl VmError {
    /// Whether this only says the VM cannot be had on this host (tests skip).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, VmError::Unavailable(_))
    }
}

/// The result of one [`Vm::run`].
#[derive(Debug, Clone)]
pub struct VmOutput {
    /// What the script wrote on stdout (serial line endings normalised to `\n`).
    pub stdout: String,
    /// What the script wrote on stderr (printed after it finished).
    pub stderr: String,
    /// The script's exit code (from the `/init` marker).
    pub exit_code: i32,
    /// From starting QEMU to the script starting (kernel boot, modules loaded).
    pub boot_time: Duration,
    /// From starting QEMU to QEMU exiting.
    pub total_time: Duration,
    /// Modules whose insmod failed inside the VM (normally empty).
    pub module_failures: Vec<String>,
    /// The whole serial console, for debugging.
    pub console: String,
}

/// A file to add to the VM.
#[derive(Debug, Clone)]
enum Extra {
    /// Host file copied as is.
    File(PathBuf, String),
    /// Host program copied with its shared libraries.
    Binary(PathBuf, String),
    /// Bytes written with a mode.
    Data(String, Vec<u8>, u32),
}

/// Builds a [`Vm`]: which extra files and modules go in, memory, timeout and
/// the cache directory.
#[derive(Debug, Clone)]
pub struct VmBuilder {
    cache: Option<PathBuf>,
    memory_mb: u32,
    timeout: Duration,
    modules: Vec<String>,
    extras: Vec<Extra>,
}

impl Default for VmBuilder {
    fn default() -> Self {
        Self::new()
    }
}

/// The default cache: `$IPVS_VM_CACHE`, else `$CARGO_TARGET_DIR/ipvs-vm`,
/// else `target/ipvs-vm` at the workspace root.
pub fn default_cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("IPVS_VM_CACHE") {
        return d.into();
    }
    if let Some(d) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(d).join("ipvs-vm");
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/ipvs-vm")
}

impl VmBuilder {
    /// Defaults: 512 MiB, 120 s timeout per run, [`default_cache_dir`].
    pub fn new() -> Self {
        VmBuilder {
            cache: None,
            memory_mb: 512,
            timeout: Duration::from_secs(120),
            modules: Vec::new(),
            extras: Vec::new(),
        }
    }

    /// Where the kernel and the base archive are cached.
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache = Some(dir.into());
        self
    }

    /// Guest memory in MiB.
    pub fn memory_mb(mut self, mb: u32) -> Self {
        self.memory_mb = mb;
        self
    }

    /// How long one [`Vm::run`] (boot included) may take before QEMU is killed.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// One more kernel module to load at boot (with its dependencies); it
    /// must exist in the kernel.
    pub fn module(mut self, name: &str) -> Self {
        self.modules.push(name.to_owned());
        self
    }

    /// Copies the host file `src` to the absolute path `dest` in the VM.
    pub fn file(mut self, src: impl Into<PathBuf>, dest: &str) -> Self {
        self.extras.push(Extra::File(src.into(), dest.to_owned()));
        self
    }

    /// Copies the host program `src` to `dest` in the VM, with the shared
    /// libraries `ldd` lists for it (at their host paths).
    pub fn binary(mut self, src: impl Into<PathBuf>, dest: &str) -> Self {
        self.extras.push(Extra::Binary(src.into(), dest.to_owned()));
        self
    }

    /// Writes `contents` at `dest` in the VM with permission bits `mode`.
    pub fn data(mut self, dest: &str, contents: impl Into<Vec<u8>>, mode: u32) -> Self {
        self.extras
            .push(Extra::Data(dest.to_owned(), contents.into(), mode));
        self
    }

    /// Checks the host tools, fetches the kernel if not cached, builds (or
    /// reuses) the base archive and packs the extra files.
    pub fn build(self) -> Result<Vm, VmError> {
        let missing = missing_packages();
        if !missing.is_empty() {
            return Err(VmError::Unavailable(format!(
                "missing Debian packages: {} (scripts/test.sh installs them)",
                missing.join(" ")
            )));
        }
        let cache = self.cache.clone().unwrap_or_else(default_cache_dir);
        fs::create_dir_all(&cache).map_err(io(format!("creating {}", cache.display())))?;
        // One builder at a time per process fetches the kernel or packs the
        // base archive; the others then find it cached.
        static PREPARE: Mutex<()> = Mutex::new(());
        let guard = PREPARE.lock().unwrap_or_else(|e| e.into_inner());
        let kernel = vm_image::ensure_kernel(&cache)?;
        let mut required: Vec<String> = REQUIRED_MODULES.iter().map(|s| s.to_string()).collect();
        required.extend(self.modules.iter().cloned());
        let optional: Vec<String> = OPTIONAL_MODULES.iter().map(|s| s.to_string()).collect();
        let order = vm_image::module_order(&kernel, &required, &optional)?;
        let base = vm_image::ensure_base(&cache, &kernel, &order)?;
        drop(guard);
        let work = cache.join(format!("vm-{}", unique()));
        fs::create_dir_all(&work).map_err(io(format!("creating {}", work.display())))?;
        let mut vm = Vm {
            qemu: vm_image::find_program("qemu-system-x86_64")
                .unwrap_or_else(|| "qemu-system-x86_64".into()),
            kernel,
            prefix: Vec::new(),
            work,
            memory_mb: self.memory_mb,
            timeout: self.timeout,
        };
        let extras = vm.work.join("extras.cpio.gz");
        let stage = Stage::new(&vm.work)?;
        for extra in &self.extras {
            match extra {
                Extra::File(src, dest) => stage.file(src, dest)?,
                Extra::Binary(src, dest) => stage.binary(src, dest)?,
                Extra::Data(dest, data, mode) => stage.data(dest, data, *mode)?,
            }
        }
        stage.pack(&extras, 1)?;
        // Kept in memory: a later prune of the cache cannot pull it away.
        vm.prefix = fs::read(&base).map_err(io("reading the base initramfs"))?;
        vm.prefix
            .extend(fs::read(&extras).map_err(io("reading the extras archive"))?);
        let _ = fs::remove_file(&extras);
        Ok(vm)
    }

    /// Like [`VmBuilder::build`], but prints why and returns `Ok(None)` when
    /// the VM cannot be had here (missing packages, no kernel package).
    pub fn build_or_skip(self) -> Result<Option<Vm>, VmError> {
        match self.build() {
            Ok(vm) => Ok(Some(vm)),
            Err(e) if e.is_unavailable() => {
                eprintln!("skipping: {e}");
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}

/// A ready-to-boot VM. Each [`Vm::run`] boots a fresh one; runs may happen
/// concurrently. Dropping it removes its work directory (not the cache).
#[derive(Debug)]
pub struct Vm {
    qemu: PathBuf,
    kernel: Kernel,
    /// The base and extras archives, concatenated.
    prefix: Vec<u8>,
    work: PathBuf,
    memory_mb: u32,
    timeout: Duration,
}

impl Drop for Vm {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.work);
    }
}

/// One line (or the end) of QEMU's output, with when it arrived.
enum Event {
    Line(String, Instant),
    Eof,
}

impl Vm {
    /// The guest kernel release, e.g. `6.1.0-56-amd64`.
    pub fn kernel_release(&self) -> &str {
        &self.kernel.release
    }

    /// Boots the VM, runs `script` with `sh` as root inside (cwd `/`, stdin
    /// `/dev/null`), powers off, and returns its output and exit code. A
    /// script exit code other than 0 is not an error.
    pub fn run(&self, script: &str) -> Result<VmOutput, VmError> {
        self.run_with(script, &[])
    }

    /// Like [`Vm::run`], with files for this run only: `(absolute path in
    /// the VM, contents)`, written with mode 0755 (configs, scripts).
    pub fn run_with(&self, script: &str, files: &[(&str, &[u8])]) -> Result<VmOutput, VmError> {
        let id = unique();
        let stage = Stage::new(&self.work)?;
        let script = format!("{SCRIPT_PRELUDE}{script}");
        stage.data("/vm-test.sh", script.as_bytes(), 0o755)?;
        let watchdog = self.timeout.as_secs() + 5;
        stage.data(
            "/etc/vm-watchdog",
            format!("{watchdog}\n").as_bytes(),
            0o644,
        )?;
        for (dest, data) in files {
            stage.data(dest, data, 0o755)?;
        }
        let script_cpio = self.work.join(format!("script-{id}.cpio.gz"));
        stage.pack(&script_cpio, 1)?;
        let initrd = self.work.join(format!("initrd-{id}.img"));
        let result = fs::read(&script_cpio)
            .map_err(io("reading the script archive"))
            .and_then(|tail| {
                // The kernel unpacks concatenated archives in turn.
                let mut bytes = Vec::with_capacity(self.prefix.len() + tail.len());
                bytes.extend_from_slice(&self.prefix);
                bytes.extend(tail);
                fs::write(&initrd, bytes).map_err(io(format!("writing {}", initrd.display())))
            })
            .and_then(|()| self.boot(&initrd));
        let _ = fs::remove_file(&script_cpio);
        let _ = fs::remove_file(&initrd);
        result
    }

    /// Runs QEMU on `initrd` and reads the serial console until it exits or
    /// the timeout runs out.
    fn boot(&self, initrd: &Path) -> Result<VmOutput, VmError> {
        let start = Instant::now();
        let mut cmd = Command::new(&self.qemu);
        cmd.args(["-accel", "tcg", "-m", &self.memory_mb.to_string()])
            .args(["-nographic", "-no-reboot", "-nic", "none", "-kernel"])
            .arg(&self.kernel.vmlinuz)
            .arg("-initrd")
            .arg(initrd)
            .args(["-append", "console=ttyS0 quiet panic=-1"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|source| LabError::Spawn {
            command: crate::cmd::describe(&cmd),
            source,
        })?;
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take();
        let reader = thread::spawn(move || {
            let Some(mut stdout) = stdout else {
                let _ = tx.send(Event::Eof);
                return;
            };
            let mut pending = Vec::new();
            let mut buf = [0u8; 4096];
            loop {
                match stdout.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        pending.extend_from_slice(&buf[..n]);
                        while let Some(pos) = pending.iter().position(|&b| b == b'\n') {
                            let line: Vec<u8> = pending.drain(..=pos).collect();
                            let text = String::from_utf8_lossy(&line)
                                .trim_end_matches(['\n', '\r'])
                                .replace('\r', "");
                            let _ = tx.send(Event::Line(text, Instant::now()));
                        }
                    }
                }
            }
            if !pending.is_empty() {
                let text = String::from_utf8_lossy(&pending).replace('\r', "");
                let _ = tx.send(Event::Line(text, Instant::now()));
            }
            let _ = tx.send(Event::Eof);
        });
        let stderr = child.stderr.take();
        let err_reader = thread::spawn(move || {
            let mut s = String::new();
            if let Some(mut e) = stderr {
                let _ = e.read_to_string(&mut s);
            }
            s
        });
        let deadline = start + self.timeout;
        let mut lines = Vec::new();
        let mut booted_at = None;
        let mut timed_out = false;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(Event::Line(line, at)) => {
                    if booted_at.is_none() && line.contains("@@VM-BOOTED@@") {
                        booted_at = Some(at);
                    }
                    lines.push(line);
                }
                Ok(Event::Eof) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    timed_out = true;
                    let _ = child.kill();
                    break;
                }
            }
        }
        let status = child.wait().map_err(io("waiting for qemu"))?;
        let total_time = start.elapsed();
        let _ = reader.join();
        let qemu_err = err_reader.join().unwrap_or_default();
        let mut console = lines.join("\n");
        if !qemu_err.trim().is_empty() {
            console.push_str("\n[qemu stderr]\n");
            console.push_str(qemu_err.trim());
        }
        if timed_out {
            return Err(VmError::Timeout {
                after: self.timeout,
                console,
            });
        }
        let parsed = parse_console(&lines);
        match parsed {
            Some((stdout, stderr, exit_code, module_failures)) => Ok(VmOutput {
                stdout,
                stderr,
                exit_code,
                boot_time: booted_at.map_or(total_time, |t| t.duration_since(start)),
                total_time,
                module_failures,
                console,
            }),
            None => Err(VmError::NoResult {
                status: status.to_string(),
                console,
            }),
        }
    }
}

/// Script stdout, stderr, exit code and insmod failures, from the console
/// lines; `None` without the exit marker.
fn parse_console(lines: &[String]) -> Option<(String, String, i32, Vec<String>)> {
    let section = |begin: &str, end: &str| -> String {
        // The console's terminal resets may precede a marker on its line.
        let Some(b) = lines.iter().position(|l| l.ends_with(begin)) else {
            return String::new();
        };
        let e = lines[b + 1..]
            .iter()
            .position(|l| l == end)
            .map_or(lines.len(), |e| b + 1 + e);
        lines[b + 1..e].join("\n")
    };
    let exit_code = lines
        .iter()
        .find_map(|l| l.split_once("@@VM-EXIT@@ ").map(|(_, c)| c))
        .and_then(|c| c.trim().parse().ok())?;
    let failures = lines
        .iter()
        .filter_map(|l| l.split_once("@@VM-INSMOD-FAILED@@ ").map(|(_, m)| m))
        .map(str::to_owned)
        .collect();
    Some((
        section("@@VM-STDOUT-BEGIN@@", "@@VM-STDOUT-END@@"),
        section("@@VM-STDERR-BEGIN@@", "@@VM-STDERR-END@@"),
        exit_code,
        failures,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(s: &str) -> Vec<String> {
        s.split('\n').map(str::to_owned).collect()
    }

    #[test]
    fn console_sections_keep_the_scripts_own_newlines() {
        let l = lines(
            "boot noise\n\x1bc@@VM-INSMOD-FAILED@@ ip_vs_mh\n@@VM-BOOTED@@ 1.2\n\x1b[2J@@VM-STDOUT-BEGIN@@\na\nb\n\n@@VM-STDOUT-END@@\n@@VM-STDERR-BEGIN@@\noops\n@@VM-STDERR-END@@\n@@VM-EXIT@@ 3",
        );
        let (out, err, code, failed) = parse_console(&l).unwrap();
        assert_eq!(out, "a\nb\n");
        assert_eq!(err, "oops");
        assert_eq!(code, 3);
        assert_eq!(failed, vec!["ip_vs_mh".to_owned()]);
        // No trailing newline from the script: none added.
        let l = lines("@@VM-STDOUT-BEGIN@@\nx\n@@VM-STDOUT-END@@\n@@VM-EXIT@@ 0");
        assert_eq!(parse_console(&l).unwrap().0, "x");
    }

    #[test]
    fn no_exit_marker_is_no_result() {
        assert!(parse_console(&lines("Kernel panic - not syncing")).is_none());
    }
}
