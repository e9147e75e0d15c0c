//! The host check of scripts applies keepalived 2.2.7's corrections to the model: what it
//! removes (a `vrrp_script` and its tracking, a MISC_CHECK, a notify script) is gone from the
//! model, with keepalived's severity (a configuration error, or only a log line) and place.

mod fake_host;

use std::path::Path;

use fake_host::FakeHost;
use keepalived_config::host::{HostFacts, check, find_program, insecure_path, locate};
use keepalived_config::{DiagKind, PreprocessOptions, Read, Severity, read_str};

fn root() -> HostFacts {
    HostFacts {
        interfaces: ["eth0".to_owned()].into(),
        is_root: true,
        ..Default::default()
    }
}

/// A host with `/bin/true` (root's, 0755) and these users.
fn host(users: &[&str]) -> FakeHost {
    FakeHost::new().program("/bin/true").users(users)
}

fn checked_on(text: &str, host: &FakeHost) -> Read {
    let mut r = read_str("s.conf", text, &PreprocessOptions::default());
    check(&mut r.config, &root(), host, &mut r.diagnostics);
    r
}

fn checked(text: &str, users: &[&str]) -> Read {
    checked_on(text, &host(users))
}

fn at(r: &Read, line: u32, severity: Severity, text: &str) -> bool {
    r.diagnostics
        .items()
        .iter()
        .any(|d| d.loc.line == line && d.severity == severity && d.message.contains(text))
}

const INSTANCE: &str = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n \
                        virtual_ipaddress {\n 192.0.2.10\n }\n";

#[test]
fn a_missing_notify_script_is_logged_and_not_run() {
    let text = format!("{INSTANCE} notify_master /nonexistent/notify.sh\n}}\n");
    let r = checked(&text, &["root"]);
    assert!(at(&r, 7, Severity::Warning, "not found"));
    assert_eq!(r.exit_code(), 0, "{:?}", r.diagnostics.items());
    assert!(r.config.vrrp.instances[0].notify.master.is_none());
}

#[test]
fn a_missing_vrrp_script_is_an_error_and_its_tracking_goes() {
    let text = format!(
        "vrrp_script chk {{\n script /nonexistent/chk.sh\n}}\n{INSTANCE} track_script {{\n chk\n }}\n}}\n"
    );
    let r = checked(&text, &["root"]);
    assert!(at(&r, 2, Severity::Error, "Disabling track script chk"));
    assert_eq!(r.exit_code(), 5);
    assert!(r.config.vrrp.scripts.is_empty());
    assert!(r.config.vrrp.instances[0].track_scripts.is_empty());
}

#[test]
fn a_missing_misc_check_is_logged_and_the_checker_removed() {
    let text = "virtual_server 192.0.2.1 80 {\n lb_algo rr\n lb_kind NAT\n protocol TCP\n real_server 192.0.2.2 80 {\n \
                MISC_CHECK {\n misc_path /nonexistent/check.sh\n }\n }\n}\n";
    let r = checked(text, &["root"]);
    assert!(at(&r, 7, Severity::Warning, "not found"));
    assert_eq!(r.exit_code(), 0, "{:?}", r.diagnostics.items());
    assert!(
        r.config.lvs.virtual_servers[0].real_servers[0]
            .checkers
            .is_empty()
    );
}

#[test]
fn a_file_test_script_is_no_program() {
    // `</dev/tcp/...` opens a file: nothing to find, nothing to secure.
    let text = format!(
        "vrrp_script port {{\n script \"</dev/tcp/127.0.0.1/80\"\n}}\n{INSTANCE} track_script {{\n port\n }}\n}}\n"
    );
    let r = checked(&text, &["root"]);
    assert_eq!(r.exit_code(), 0, "{:?}", r.diagnostics.items());
    assert_eq!(r.config.vrrp.scripts.len(), 1);
}

#[test]
fn a_found_script_without_script_security_is_a_security_error_whoever_runs_it() {
    let text = format!(
        "vrrp_script chk {{\n script /bin/true\n user nobody\n}}\n{INSTANCE} track_script {{\n chk\n }}\n}}\n"
    );
    let r = checked(&text, &["root", "nobody"]);
    assert!(
        r.diagnostics
            .items()
            .iter()
            .any(|d| d.kind == DiagKind::ScriptSecurity)
    );
    assert_eq!(r.exit_code(), 6);
}

#[test]
fn words_after_a_vrrp_script_command_are_not_its_user() {
    let text = "vrrp_script chk {\n script /bin/true -s x\n}\n";
    let r = checked(text, &["root"]);
    let s = &r.config.vrrp.scripts[0];
    assert_eq!((s.script.user.as_deref(), s.user.as_deref()), (None, None));
}

#[test]
fn an_unknown_global_script_user_removes_the_scripts_that_need_it() {
    let text = format!(
        "global_defs {{\n script_user ghost\n enable_script_security\n}}\n\
         vrrp_script chk {{\n script /bin/true\n}}\n{INSTANCE} track_script {{\n chk\n }}\n \
         notify_master /bin/true\n}}\n"
    );
    let r = checked(&text, &["root"]);
    assert!(at(
        &r,
        2,
        Severity::Error,
        "Error setting global script uid/gid"
    ));
    assert!(at(
        &r,
        6,
        Severity::Error,
        "Unable to set default user for vrrp script chk"
    ));
    // Removed while reading: keepalived then reports the tracking of it.
    assert!(at(&r, 15, Severity::Error, "track script chk not found"));
    assert_eq!(r.exit_code(), 5);
    assert!(r.config.vrrp.scripts.is_empty());
    let inst = &r.config.vrrp.instances[0];
    assert!(inst.track_scripts.is_empty() && inst.notify.master.is_none());
}

#[test]
fn no_default_user_under_script_security_is_reported_once() {
    let text = format!(
        "global_defs {{\n enable_script_security\n}}\nvrrp_script a {{\n script /bin/true\n}}\n\
         vrrp_script b {{\n script /bin/true\n}}\n{INSTANCE}}}\n"
    );
    let r = checked(&text, &["root"]);
    let once = r
        .diagnostics
        .items()
        .iter()
        .filter(|d| {
            d.message
                .contains("Unable to set default user keepalived_script")
        })
        .count();
    assert_eq!(once, 1);
    assert!(at(&r, 8, Severity::Error, "for vrrp script b - removing"));
    assert!(r.config.vrrp.scripts.is_empty());
}

#[test]
fn a_missing_interface_stops_the_vrrp_script_checks_as_in_keepalived() {
    let text = "vrrp_script chk {\n script /nonexistent/chk.sh\n}\nvrrp_instance VI_1 {\n \
                interface nosuch0\n virtual_router_id 51\n virtual_ipaddress {\n 192.0.2.10\n }\n}\n";
    let r = checked(text, &["root"]);
    assert!(
        !r.diagnostics
            .items()
            .iter()
            .any(|d| d.message.contains("Disabling"))
    );
}

#[test]
fn a_script_that_is_not_executable_is_disabled() {
    let text = format!("{INSTANCE} notify_master /etc/keepalived/notify.sh\n}}\n");
    let host = host(&[]).file("/etc/keepalived/notify.sh", 0, 0, 0o644);
    let r = checked_on(&text, &host);
    assert!(at(
        &r,
        7,
        Severity::Warning,
        "is not executable - disabling"
    ));
    assert!(r.config.vrrp.instances[0].notify.master.is_none());
}

#[test]
fn script_security_refuses_a_script_in_a_directory_another_user_can_write() {
    let text = format!(
        "global_defs {{\n enable_script_security\n script_user root\n}}\n\
         vrrp_script chk {{\n script /home/op/chk.sh\n}}\n\
         vrrp_script ok {{\n script /usr/libexec/ok.sh\n}}\n\
         {INSTANCE} track_script {{\n chk\n ok\n }}\n}}\n"
    );
    let host = host(&[])
        .dir("/home/op", 1000, 1000, 0o755)
        .file("/home/op/chk.sh", 0, 0, 0o755)
        .program("/usr/libexec/ok.sh");
    let r = checked_on(&text, &host);
    assert!(at(
        &r,
        6,
        Severity::Error,
        "Disabling track script chk due to insecure: /home/op is owned by uid 1000"
    ));
    let names: Vec<&str> = r
        .config
        .vrrp
        .scripts
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(names, ["ok"]);
    let tracked: Vec<&str> = r.config.vrrp.instances[0]
        .track_scripts
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(tracked, ["ok"]);
}

#[test]
fn programs_are_looked_up_in_path_and_only_executables_count() {
    let host = FakeHost::new()
        .file("/opt/a/tool", 0, 0, 0o644)
        .program("/opt/b/tool");
    let mut host = host;
    host.path = Some("/opt/a:/opt/b".into());
    assert_eq!(find_program(&host, "tool"), Some("/opt/b/tool".into()));
    assert_eq!(find_program(&host, "missing"), None);
    // A path as written is found executable or not; a name only among executables.
    assert_eq!(
        locate(&host, "/opt/a/tool"),
        Some(("/opt/a/tool".into(), false))
    );
    assert_eq!(locate(&host, "tool"), Some(("/opt/b/tool".into(), true)));
    // Without PATH, execvp's default list (which has /usr/bin).
    host.path = None;
    let host = host.program("/usr/bin/tool");
    assert_eq!(find_program(&host, "tool"), Some("/usr/bin/tool".into()));
}

#[test]
fn a_path_is_safe_only_when_root_alone_can_change_what_runs() {
    let host = FakeHost::new()
        .program("/usr/bin/ok")
        .dir("/srv", 0, 50, 0o775)
        .program("/srv/grp")
        .dir("/opt", 0, 0, 0o775)
        .program("/opt/grp0")
        .dir("/tmp", 0, 0, 0o1777)
        .program("/tmp/sticky")
        .file("/tmp/open", 0, 0, 0o777)
        .program("/home/op/bin/x")
        .dir("/home/op", 1000, 1000, 0o755);
    let why = |p: &str| insecure_path(&host, Path::new(p));
    assert_eq!(why("/usr/bin/ok"), None);
    assert_eq!(
        why("/srv/grp").as_deref(),
        Some("/srv is writable by group 50")
    );
    // Group-writable by group 0 is root's, and a sticky directory protects root's entries.
    assert_eq!(why("/opt/grp0"), None);
    assert_eq!(why("/tmp/sticky"), None);
    assert_eq!(
        why("/tmp/open").as_deref(),
        Some("/tmp/open is writable by every user")
    );
    assert_eq!(
        why("/home/op/bin/x").as_deref(),
        Some("/home/op is owned by uid 1000")
    );
}

#[test]
fn symbolic_links_are_checked_themselves_and_where_they_lead() {
    let host = FakeHost::new()
        .program("/usr/bin/real")
        .link("/usr/local/bin/good", "../../bin/real", 0)
        .link("/usr/local/bin/theirs", "/usr/bin/real", 1000)
        .dir("/home/op", 1000, 1000, 0o755)
        .program("/home/op/x")
        .link("/usr/local/bin/away", "/home/op/x", 0)
        .link("/usr/local/bin/loop1", "loop2", 0)
        .link("/usr/local/bin/loop2", "loop1", 0);
    let why = |p: &str| insecure_path(&host, Path::new(p));
    assert_eq!(why("/usr/local/bin/good"), None);
    assert_eq!(
        why("/usr/local/bin/theirs").as_deref(),
        Some("/usr/local/bin/theirs is owned by uid 1000")
    );
    assert_eq!(
        why("/usr/local/bin/away").as_deref(),
        Some("/home/op is owned by uid 1000")
    );
    assert_eq!(
        why("/usr/local/bin/loop1").as_deref(),
        Some("too many symbolic links in /usr/local/bin/loop1")
    );
}

#[test]
fn what_cannot_be_examined_is_unsafe() {
    let mut host = FakeHost::new().unreadable("/secret").program("/usr/bin/ok");
    let why = |h: &FakeHost, p: &str| insecure_path(h, Path::new(p));
    assert_eq!(
        why(&host, "/secret/x").as_deref(),
        Some("cannot examine /secret: Permission denied (os error 13)")
    );
    assert_eq!(
        why(&host, "/usr/bin/missing").as_deref(),
        Some("cannot examine /usr/bin/missing: No such file or directory (os error 2)")
    );
    // A relative path is resolved against the working directory, which may be gone.
    host.cwd = Some("/usr".into());
    assert_eq!(why(&host, "bin/ok"), None);
    host.cwd = None;
    assert_eq!(
        why(&host, "bin/ok").as_deref(),
        Some("cannot resolve bin/ok: No such file or directory (os error 2)")
    );
}
