//! The host check of scripts applies keepalived 2.2.7's corrections to the model: what it
//! removes (a `vrrp_script` and its tracking, a MISC_CHECK, a notify script) is gone from the
//! model, with keepalived's severity (a configuration error, or only a log line) and place.

use keepalived_config::host::{Accounts, HostFacts, check_with_accounts};
use keepalived_config::{DiagKind, PreprocessOptions, Read, Severity, read_str};

fn root() -> HostFacts {
    HostFacts {
        interfaces: ["eth0".to_owned()].into(),
        is_root: true,
        ..Default::default()
    }
}

fn accounts(users: &[&str]) -> Accounts {
    Accounts {
        users: users.iter().map(|u| (*u).to_owned()).collect(),
        groups: ["root".to_owned()].into(),
    }
}

fn checked(text: &str, users: &[&str]) -> Read {
    let mut r = read_str("s.conf", text, &PreprocessOptions::default());
    check_with_accounts(&mut r.config, &root(), &accounts(users), &mut r.diagnostics);
    r
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
