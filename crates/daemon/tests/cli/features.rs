//! Build options as an operator meets them, for whichever features this test was built with:
//! `-v` lists exactly the features built in, a configuration using a keyword of a missing
//! feature is an error at its place at `-t` and refuses to start, and a binary without `lvs`
//! carries no IPVS or checker code (its symbol table, by `nm`).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::bin;

/// Every feature, whether this build has it, and a configuration that needs it with the
/// keyword and line the error must name.
const CASES: [(&str, bool, &str, &str, u32); 5] = [
    (
        "vrrp",
        cfg!(feature = "vrrp"),
        "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority 100\n \
         virtual_ipaddress {\n  192.0.2.10/24\n }\n}\n",
        "vrrp_instance",
        1,
    ),
    (
        "lvs",
        cfg!(feature = "lvs"),
        "\nvirtual_server 192.0.2.10 80 {\n lb_algo rr\n lb_kind NAT\n protocol TCP\n \
         real_server 192.0.2.20 80 {\n }\n}\n",
        "virtual_server",
        2,
    ),
    (
        "lvs-syncd",
        cfg!(feature = "lvs-syncd"),
        "global_defs {\n router_id lb1\n lvs_sync_daemon eth0 id 1\n}\n",
        "lvs_sync_daemon",
        3,
    ),
    (
        "vmac",
        cfg!(feature = "vmac"),
        "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority 100\n \
         use_vmac\n virtual_ipaddress {\n  192.0.2.10/24\n }\n}\n",
        "use_vmac",
        1,
    ),
    (
        "bfd",
        cfg!(feature = "bfd"),
        "\n\nbfd_instance b1 {\n neighbor_ip 192.0.2.2\n}\n",
        "bfd_instance",
        3,
    ),
];

fn temp_conf(name: &str, text: &str) -> PathBuf {
    super::temp_conf_in("features", name, text)
}

fn needs(keyword: &str, feature: &str) -> String {
    format!("`{keyword}` needs the `{feature}` feature")
}

#[test]
fn version_lists_exactly_the_features_built_in() {
    let out = bin().arg("-v").output().expect("run keepalived-rs -v");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    assert!(text.starts_with("keepalived-rs "), "{text}");
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("Build options: "))
        .unwrap_or_else(|| panic!("no Build options line in {text}"));
    let listed: Vec<&str> = line.split_whitespace().collect();
    let built: Vec<&str> = CASES.iter().filter(|c| c.1).map(|c| c.0).collect();
    assert_eq!(listed, built, "{text}");
}

#[test]
fn a_keyword_of_a_missing_feature_is_an_error_at_its_place() {
    for (feature, built, conf, keyword, line) in CASES {
        let path = temp_conf(&format!("{feature}.conf"), conf);
        let out = bin()
            .arg("-t")
            .arg("-f")
            .arg(&path)
            .output()
            .expect("run keepalived-rs -t");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let wanted = needs(keyword, feature);
        if built {
            assert!(!stderr.contains(&wanted), "{feature} is built in: {stderr}");
        } else {
            let place = format!("{}:{line}:", path.display());
            assert!(
                stderr
                    .lines()
                    .any(|l| l.starts_with(&place) && l.contains(&wanted)),
                "{feature} is not built in: want {place} ... {wanted} in\n{stderr}"
            );
            assert_eq!(out.status.code(), Some(5), "{stderr}");
        }
    }
}

#[test]
fn the_daemon_refuses_to_start_with_a_missing_feature() {
    for (feature, built, conf, keyword, _) in CASES {
        if built {
            continue;
        }
        let path = temp_conf(&format!("start-{feature}.conf"), conf);
        let out = bin()
            .args(["-n", "-l", "-f"])
            .arg(&path)
            .output()
            .expect("run keepalived-rs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(&needs(keyword, feature)), "{stderr}");
        assert!(stderr.contains("not starting"), "{stderr}");
        assert_ne!(out.status.code(), Some(0), "{stderr}");
    }
}

/// The symbols of `path` (`nm`), or `None` when nm is missing or the binary is stripped.
fn symbols(path: &Path) -> Option<String> {
    let out = Command::new("nm").arg(path).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.success() && !text.is_empty()).then_some(text)
}

#[test]
fn without_lvs_no_ipvs_or_checker_code_is_linked() {
    let path = Path::new(env!("CARGO_BIN_EXE_keepalived-rs"));
    let Some(syms) = symbols(path) else {
        eprintln!("skipped: no symbols to read in {} (nm)", path.display());
        return;
    };
    // Crate names appear mangled in every symbol of their code.
    let foreign = [
        "keepalived_lb",
        "keepalived_checker",
        "4Ipvs",
        "hickory_proto",
    ];
    for name in foreign {
        let found = syms.lines().filter(|l| l.contains(name)).count();
        if cfg!(feature = "lvs") {
            assert!(found > 0, "{name}: lvs is built in, yet not found");
        } else {
            assert_eq!(found, 0, "{name} linked into a build without lvs");
        }
    }
}
