//! Tests of the script runner with real processes (run as root, as the daemon does).

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use keepalived_config::model::global::GlobalDefs;

use super::*;

/// A directory under /tmp, mode 0755, removed on drop.
pub(crate) struct TempDir(pub PathBuf);

impl TempDir {
    pub(crate) fn new(tag: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "kars-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir(&path).expect("create temp dir");
        chmod(&path, 0o755);
        TempDir(path)
    }

    pub(crate) fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// Writes an executable shell script (mode 0755).
    pub(crate) fn script(&self, name: &str, body: &str) -> PathBuf {
        let path = self.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write script");
        chmod(&path, 0o755);
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub(crate) fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

pub(crate) fn argv(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| (*w).to_owned()).collect()
}

/// Runs as root (the tests' user), no script security.
pub(crate) fn root_env() -> ScriptEnv {
    let defs = GlobalDefs {
        script_user: Some(("root".into(), None)),
        ..GlobalDefs::default()
    };
    ScriptEnv::with_default_user(&defs, false)
}

fn secure_env() -> ScriptEnv {
    let defs = GlobalDefs {
        enable_script_security: true,
        script_user: Some(("root".into(), None)),
        ..GlobalDefs::default()
    };
    ScriptEnv::with_default_user(&defs, false)
}

/// True while `pid` is a live (not zombie) process.
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

#[tokio::test]
async fn timeout_kills_the_whole_process_group() {
    let dir = TempDir::new("timeout");
    let pids = dir.join("pids");
    let body = format!("sleep 60 &\necho $! > {}\nsleep 60", pids.display());
    let path = dir.script("hang.sh", &body);
    let script = root_env()
        .prepare_as(
            "hang",
            &argv(&[path.to_str().unwrap_or_default()]),
            None,
            None,
        )
        .expect("prepare");
    let start = Instant::now();
    let outcome = script.run(&[], Some(Duration::from_millis(300))).await;
    let took = start.elapsed();
    assert_eq!(outcome, RunOutcome::TimedOut);
    assert!(!outcome.is_success());
    assert!(took >= Duration::from_millis(300), "{took:?}");
    assert!(took < Duration::from_millis(400), "killed after {took:?}");
    let child: i32 = std::fs::read_to_string(&pids)
        .expect("the script wrote its child's pid")
        .trim()
        .parse()
        .expect("a pid");
    // The background sleep was in the same group: SIGKILL reached it too.
    let deadline = Instant::now() + Duration::from_secs(1);
    while alive(child) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!alive(child), "grandchild {child} survived the timeout");
}

#[tokio::test]
async fn plain_sleep_is_killed_within_timeout_plus_100ms() {
    let script = root_env()
        .prepare_as("sleep", &argv(&["sleep", "60"]), None, None)
        .expect("prepare");
    let start = Instant::now();
    let outcome = script.run(&[], Some(Duration::from_millis(200))).await;
    assert_eq!(outcome, RunOutcome::TimedOut);
    assert!(
        start.elapsed() < Duration::from_millis(300),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn exit_status_signal_and_missing_program() {
    let env = root_env();
    let run = |words: &[&str]| {
        let s = env
            .prepare_as("t", &argv(words), None, None)
            .expect("prepare");
        async move { s.run(&[], Some(Duration::from_secs(5))).await }
    };
    assert_eq!(run(&["true"]).await, RunOutcome::Exited(0));
    assert!(run(&["true"]).await.is_success());
    assert_eq!(run(&["false"]).await, RunOutcome::Exited(1));
    assert_eq!(run(&["sh", "-c", "exit 7"]).await, RunOutcome::Exited(7));
    assert_eq!(
        run(&["sh", "-c", "kill -TERM $$"]).await,
        RunOutcome::Signalled(libc::SIGTERM)
    );
    assert!(matches!(
        run(&["/nonexistent/keepalived-rs-script"]).await,
        RunOutcome::NotStarted(StartError::NotFound(_))
    ));
    assert_eq!(
        env.prepare_as("t", &[], None, None).err(),
        Some(ScriptError::Empty)
    );
}

#[tokio::test]
async fn argv_is_passed_without_a_shell_and_stdio_is_dev_null() {
    let dir = TempDir::new("argv");
    let out = dir.join("out");
    let path = dir.script(
        "rec.sh",
        &format!(
            "printf '%s|' \"$@\" > {0}\nread x && echo stdin-not-null >> {0}\n\
             o=$(readlink /proc/$$/fd/1)\ne=$(readlink /proc/$$/fd/2)\necho \"$o $e\" >> {0}",
            out.display()
        ),
    );
    let script = root_env()
        .prepare_as(
            "rec",
            &argv(&[path.to_str().unwrap_or_default(), "a b", "$HOME"]),
            None,
            None,
        )
        .expect("prepare");
    let outcome = script
        .run(&argv(&["x;y"]), Some(Duration::from_secs(5)))
        .await;
    assert_eq!(outcome, RunOutcome::Exited(0));
    let text = std::fs::read_to_string(&out).expect("output");
    assert!(text.starts_with("a b|$HOME|x;y|"), "{text}");
    assert!(!text.contains("stdin-not-null"), "{text}");
    assert!(text.ends_with("|/dev/null /dev/null\n"), "{text}");
}

#[tokio::test]
async fn runs_as_nobody() {
    let dir = TempDir::new("nobody");
    chmod(&dir.0, 0o777);
    let out = dir.join("ids");
    let body = format!("id -u > {0}\nid -g >> {0}\nid -G >> {0}", out.display());
    let path = dir.script("id.sh", &body);
    let script = root_env()
        .prepare_as(
            "id",
            &argv(&[path.to_str().unwrap_or_default()]),
            Some("nobody"),
            None,
        )
        .expect("prepare");
    assert_eq!(script.credentials().uid, 65534);
    let outcome = script.run(&[], Some(Duration::from_secs(5))).await;
    assert_eq!(outcome, RunOutcome::Exited(0));
    let ids = std::fs::read_to_string(&out).expect("ids");
    let lines: Vec<&str> = ids.lines().collect();
    assert_eq!(lines.first(), Some(&"65534"), "{ids}");
    let gid = script.credentials().gid.to_string();
    assert_eq!(lines.get(1), Some(&gid.as_str()), "{ids}");
    // No supplementary group of root's left over.
    assert_eq!(lines.get(2), Some(&gid.as_str()), "{ids}");
}

#[tokio::test]
async fn global_script_user_applies_when_the_script_names_none() {
    let defs = GlobalDefs {
        script_user: Some(("nobody".into(), None)),
        ..GlobalDefs::default()
    };
    let env = ScriptEnv::with_default_user(&defs, false);
    assert_eq!(env.credentials(None, None).map(|c| c.uid), Ok(65534));
    assert_eq!(env.credentials(Some("root"), None).map(|c| c.uid), Ok(0));
    assert_eq!(
        env.credentials(Some("no-such-user-kars"), None),
        Err(ScriptError::UnknownUser("no-such-user-kars".into()))
    );
    assert_eq!(
        env.credentials(Some("root"), Some("no-such-group-kars")),
        Err(ScriptError::UnknownGroup("no-such-group-kars".into()))
    );
    // No script_user and no keepalived_script: keepalived's own user, unless security is on.
    let env = ScriptEnv::with_default_user(&GlobalDefs::default(), false);
    assert_eq!(env.credentials(None, None).map(|c| c.uid), Ok(0));
    let defs = GlobalDefs {
        enable_script_security: true,
        ..GlobalDefs::default()
    };
    let env = ScriptEnv::with_default_user(&defs, false);
    assert_eq!(env.credentials(None, None), Err(ScriptError::NoUser));
}

#[tokio::test]
async fn insecure_script_is_refused_under_script_security() {
    let dir = TempDir::new("insecure");
    let open = dir.join("open");
    std::fs::create_dir(&open).expect("mkdir");
    chmod(&open, 0o777);
    let ran = dir.join("ran");
    let body = format!("echo ran >> {}", ran.display());
    let path = open.join("s.sh");
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write");
    chmod(&path, 0o755);
    let words = argv(&[path.to_str().unwrap_or_default()]);

    let script = secure_env()
        .prepare_as("s", &words, None, None)
        .expect("prepare");
    let outcome = script.run(&[], Some(Duration::from_secs(5))).await;
    match &outcome {
        RunOutcome::NotStarted(StartError::Insecure { why, .. }) => {
            assert!(why.contains("writable by every user"), "{why}");
        }
        other => panic!("ran an insecure script as root: {other:?}"),
    }
    assert!(!ran.exists(), "the insecure script ran");

    // Without script security it runs (keepalived only warns at start-up).
    let script = root_env()
        .prepare_as("s", &words, None, None)
        .expect("prepare");
    assert_eq!(
        script.run(&[], Some(Duration::from_secs(5))).await,
        RunOutcome::Exited(0)
    );
    assert!(ran.exists());
    std::fs::remove_file(&ran).expect("rm");

    // Run as a non-root user, security does not refuse it.
    chmod(&dir.0, 0o777);
    let script = secure_env()
        .prepare_as("s", &words, Some("nobody"), None)
        .expect("prepare");
    assert_eq!(
        script.run(&[], Some(Duration::from_secs(5))).await,
        RunOutcome::Exited(0)
    );

    // The same script in a root-only directory passes.
    chmod(&dir.0, 0o755);
    chmod(&open, 0o755);
    let script = secure_env()
        .prepare_as("s", &words, None, None)
        .expect("prepare");
    assert_eq!(
        script.run(&[], Some(Duration::from_secs(5))).await,
        RunOutcome::Exited(0)
    );
}

#[tokio::test]
async fn symlink_owned_by_a_user_is_refused_under_script_security() {
    let dir = TempDir::new("symlink");
    let sticky = dir.join("sticky");
    std::fs::create_dir(&sticky).expect("mkdir");
    chmod(&sticky, 0o1777);
    let target = dir.script("real.sh", "exit 0");
    // A root-owned link in a sticky directory is fine...
    let good = sticky.join("good");
    std::os::unix::fs::symlink(&target, &good).expect("symlink");
    let script = secure_env()
        .prepare_as(
            "good",
            &argv(&[good.to_str().unwrap_or_default()]),
            None,
            None,
        )
        .expect("prepare");
    assert_eq!(
        script.run(&[], Some(Duration::from_secs(5))).await,
        RunOutcome::Exited(0)
    );
    // ...one its (non-root) owner can replace is not, though it points at a safe file.
    let bad = sticky.join("bad");
    std::os::unix::fs::symlink(&target, &bad).expect("symlink");
    std::os::unix::fs::lchown(&bad, Some(65534), Some(65534)).expect("lchown");
    let script = secure_env()
        .prepare_as(
            "bad",
            &argv(&[bad.to_str().unwrap_or_default()]),
            None,
            None,
        )
        .expect("prepare");
    match script.run(&[], Some(Duration::from_secs(5))).await {
        RunOutcome::NotStarted(StartError::Insecure { why, .. }) => {
            assert!(why.contains("owned by uid 65534"), "{why}");
        }
        other => panic!("ran through a user's symlink as root: {other:?}"),
    }
    // A link to a script in an open directory is refused for the target's directory.
    let open = dir.join("open");
    std::fs::create_dir(&open).expect("mkdir");
    chmod(&open, 0o777);
    let hidden = open.join("x.sh");
    std::fs::write(&hidden, "#!/bin/sh\nexit 0\n").expect("write");
    chmod(&hidden, 0o755);
    let link = dir.join("link");
    std::os::unix::fs::symlink(&hidden, &link).expect("symlink");
    let script = secure_env()
        .prepare_as(
            "link",
            &argv(&[link.to_str().unwrap_or_default()]),
            None,
            None,
        )
        .expect("prepare");
    assert!(matches!(
        script.run(&[], Some(Duration::from_secs(5))).await,
        RunOutcome::NotStarted(StartError::Insecure { .. })
    ));
}

#[tokio::test(flavor = "current_thread")]
async fn a_long_script_does_not_block_the_runtime() {
    let script = root_env()
        .prepare_as("sleep", &argv(&["sleep", "60"]), None, None)
        .expect("prepare");
    let long = tokio::spawn(async move { script.run(&[], Some(Duration::from_secs(2))).await });
    // The single runtime thread keeps ticking every 10 ms while the script runs.
    let start = Instant::now();
    let mut worst = Duration::ZERO;
    for _ in 0..50 {
        let t = Instant::now();
        tokio::time::sleep(Duration::from_millis(10)).await;
        worst = worst.max(t.elapsed());
    }
    // A blocked runtime would stall until the script's 2 s timeout.
    assert!(worst < Duration::from_millis(900), "a tick took {worst:?}");
    assert!(start.elapsed() < Duration::from_secs(2));
    long.abort();
}
