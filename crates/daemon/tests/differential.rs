//! Differential test: Debian's keepalived 2.2.7 and keepalived-rs run `-t` on every config of
//! the corpus inside the same network namespace (interfaces eth0 and eth1), and their verdicts
//! (valid or not) must agree. Corpus files marked `# keepalived-2.2.7: skip` use keywords newer
//! than 2.2.7 and are left out of the comparison only.

use std::path::{Path, PathBuf};

use lab::Lab;

const KEEPALIVED: &str = "/usr/sbin/keepalived";

fn corpus_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/tests/corpus");
    let mut files = Vec::new();
    for dir in std::fs::read_dir(&root).expect("corpus dir").flatten() {
        for file in std::fs::read_dir(dir.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            if file.path().extension().is_some_and(|e| e == "conf") {
                files.push(file.path());
            }
        }
    }
    // The README's example is held to the same standard.
    files.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/keepalived.conf"));
    files.sort();
    files
}

#[test]
fn verdicts_agree_with_keepalived_2_2_7() {
    if Lab::skip_unless_root() {
        return;
    }
    if !Path::new(KEEPALIVED).exists() {
        // CI installs it (scripts/test.sh); a developer without it is told so, loudly.
        eprintln!("skipping: {KEEPALIVED} not installed (apt-get install keepalived)");
        return;
    }
    let lab = Lab::new("kadiff").expect("lab");
    let host = lab.host("h").expect("host");
    host.ip([
        "link", "add", "eth0", "type", "veth", "peer", "name", "eth1",
    ])
    .expect("veth");
    host.link_set_up("eth0").expect("up");
    host.link_set_up("eth1").expect("up");
    host.add_addr("eth0", "192.0.2.1/24").expect("addr");
    host.add_addr("eth0", "2001:db8::1/64").expect("addr");
    host.add_addr("eth1", "198.51.100.1/24").expect("addr");
    let run_dir = std::env::temp_dir().join(format!("kadiff-{}", std::process::id()));
    std::fs::create_dir_all(&run_dir).expect("run dir");
    let pid = |name: &str| run_dir.join(name).display().to_string();

    let mut compared = 0;
    let mut skipped = Vec::new();
    let mut disagreements = Vec::new();
    for file in corpus_files() {
        let text = std::fs::read_to_string(&file).expect("read corpus file");
        if let Some(reason) = text
            .lines()
            .find_map(|l| l.strip_prefix("# keepalived-2.2.7: skip"))
        {
            skipped.push(format!("{} ({})", file.display(), reason.trim()));
            continue;
        }
        let path = file.display().to_string();
        let ours = host.run(
            env!("CARGO_BIN_EXE_keepalived-rs"),
            ["-t", "-i", "main", "-f", &path],
        );
        let theirs = host.run(
            KEEPALIVED,
            [
                "-t",
                "-l",
                "-i",
                "main",
                "-f",
                &path,
                "-p",
                &pid("ka.pid"),
                "-r",
                &pid("vrrp.pid"),
                "-c",
                &pid("chk.pid"),
            ],
        );
        compared += 1;
        let (ours_ok, theirs_ok) = (ours.status.success(), theirs.status.success());
        let expected_ok = text.lines().find_map(|l| l.strip_prefix("# expect: ")) == Some("valid");
        if ours_ok != expected_ok {
            disagreements.push(format!(
                "{path}: expected {}, keepalived-rs exit {:?}:\n{}",
                if expected_ok { "valid" } else { "invalid" },
                ours.status.code(),
                String::from_utf8_lossy(&ours.stderr)
            ));
        }
        if ours_ok != theirs_ok {
            disagreements.push(format!(
                "{path}: keepalived-rs says {} (exit {:?}), keepalived 2.2.7 says {} (exit {:?})\n--- ours:\n{}--- keepalived:\n{}{}",
                if ours_ok { "valid" } else { "invalid" },
                ours.status.code(),
                if theirs_ok { "valid" } else { "invalid" },
                theirs.status.code(),
                String::from_utf8_lossy(&ours.stderr),
                String::from_utf8_lossy(&theirs.stdout),
                String::from_utf8_lossy(&theirs.stderr),
            ));
        }
    }
    std::fs::remove_dir_all(&run_dir).ok();
    eprintln!(
        "differential: {compared} configs compared, {} skipped",
        skipped.len()
    );
    for s in &skipped {
        eprintln!("  skipped {s}");
    }
    assert!(compared >= 10, "too few configs compared ({compared})");
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n\n{}",
        disagreements.len(),
        disagreements.join("\n\n")
    );
}
