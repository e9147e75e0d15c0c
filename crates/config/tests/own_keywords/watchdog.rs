//! `vrrp_watchdog_timeout` and `checker_watchdog_timeout` (keepalived-rs keywords of
//! `global_defs`): defaults, values, zero (off), and the refused values named at their place.

use std::time::Duration;

use keepalived_config::Read;
use keepalived_config::model::global::{
    CHECKER_WATCHDOG_TIMEOUT, GlobalDefs, VRRP_WATCHDOG_TIMEOUT,
};

use super::{errors, read};

fn defs(r: &Read) -> &GlobalDefs {
    &r.config.global.defs
}

#[test]
fn defaults_when_absent() {
    let r = read("global_defs {\n router_id r1\n}\n");
    assert!(errors(&r).is_empty(), "{:?}", errors(&r));
    assert_eq!(defs(&r).vrrp_watchdog_timeout, Duration::from_millis(1500));
    assert_eq!(defs(&r).vrrp_watchdog_timeout, VRRP_WATCHDOG_TIMEOUT);
    assert_eq!(defs(&r).checker_watchdog_timeout, CHECKER_WATCHDOG_TIMEOUT);
}

#[test]
fn values_fractions_and_zero() {
    let r = read("global_defs {\n vrrp_watchdog_timeout 0.8\n checker_watchdog_timeout 0\n}\n");
    assert!(errors(&r).is_empty(), "{:?}", errors(&r));
    assert_eq!(defs(&r).vrrp_watchdog_timeout, Duration::from_millis(800));
    assert_eq!(defs(&r).checker_watchdog_timeout, Duration::ZERO);
    let json = serde_json::to_value(&r.config).expect("json");
    assert_eq!(json["global"]["defs"]["vrrp_watchdog_timeout"], 0.8);
}

#[test]
fn bad_values_are_errors_at_their_place_and_keep_the_default() {
    let r = read(
        "global_defs {\n vrrp_watchdog_timeout 0.05\n checker_watchdog_timeout x\n \
         vrrp_watchdog_timeout 5000\n checker_watchdog_timeout 1 2\n}\n",
    );
    let errs = errors(&r);
    assert!(
        errs.iter().any(|(l, m)| *l == 2
            && m.contains("`vrrp_watchdog_timeout` must be 0 (off) or at least 0.1 s")),
        "{errs:?}"
    );
    assert!(errs.iter().any(|(l, _)| *l == 3), "{errs:?}");
    assert!(errs.iter().any(|(l, _)| *l == 4), "{errs:?}");
    assert_eq!(defs(&r).vrrp_watchdog_timeout, VRRP_WATCHDOG_TIMEOUT);
    // Extra arguments: the first one counts.
    assert_eq!(defs(&r).checker_watchdog_timeout, Duration::from_secs(1));
}
