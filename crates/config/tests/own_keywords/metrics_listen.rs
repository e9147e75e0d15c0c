//! `metrics_listen ADDRESS:PORT` (a keepalived-rs keyword of `global_defs`): off by default,
//! IPv4 and bracketed IPv6 addresses, and the refused values named at their place.

use super::{errors, read};

#[test]
fn off_by_default_and_both_families() {
    let r = read("global_defs {\n router_id r1\n}\n");
    assert_eq!(r.config.global.defs.metrics_listen, None);
    let r = read("global_defs {\n metrics_listen 127.0.0.1:9165\n}\n");
    assert!(errors(&r).is_empty(), "{:?}", errors(&r));
    assert_eq!(
        r.config.global.defs.metrics_listen,
        Some("127.0.0.1:9165".parse().expect("addr"))
    );
    let r = read("global_defs {\n metrics_listen [2001:db8::1]:9165\n}\n");
    assert!(errors(&r).is_empty(), "{:?}", errors(&r));
    assert_eq!(
        r.config.global.defs.metrics_listen,
        Some("[2001:db8::1]:9165".parse().expect("addr"))
    );
    let json = serde_json::to_value(&r.config).expect("json");
    assert_eq!(
        json["global"]["defs"]["metrics_listen"],
        "[2001:db8::1]:9165"
    );
}

#[test]
fn bad_values_are_errors_at_their_place() {
    let r = read(
        "global_defs {\n metrics_listen 192.0.2.1:9165\n metrics_listen 192.0.2.1\n \
         metrics_listen 2001:db8::1:9165\n metrics_listen 192.0.2.1:0\n metrics_listen\n \
         metrics_listen localhost:9165\n}\n",
    );
    let errs = errors(&r);
    for line in 3..=7 {
        assert!(
            errs.iter().any(|(l, _)| *l == line),
            "line {line}: {errs:?}"
        );
    }
    assert!(
        errs.iter()
            .any(|(l, m)| *l == 3 && m.contains("`metrics_listen` expects ADDRESS:PORT")),
        "{errs:?}"
    );
    // The good value before the bad ones stays.
    assert_eq!(
        r.config.global.defs.metrics_listen,
        Some("192.0.2.1:9165".parse().expect("addr"))
    );
}
