//! The fuzz targets' checks on the stable toolchain: every seed under `fuzz/seeds/vrrp_parse` and
//! `fuzz/seeds/vrrp_instance` (whole, truncated and damaged), plus a few thousand pseudo-random
//! inputs, through the same bodies the fuzzers run (`tests/fuzzing/`). A seed that once broke an
//! invariant keeps being checked without the fuzzer.

#![allow(
    clippy::disallowed_methods,
    reason = "reads the fuzz seeds from fuzz/seeds"
)]

mod fuzzing;

use std::path::{Path, PathBuf};

fn seeds(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/seeds")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// Runs `body` on `data`, on prefixes of it and on copies with one byte changed.
fn whole_cut_and_damaged<R>(data: &[u8], body: fn(&[u8]) -> R) {
    let _ = body(data);
    let step = (data.len() / 23).max(1);
    for cut in (0..data.len()).step_by(step) {
        let _ = body(&data[..cut]);
        for flip in [0x01, 0x80, 0xff] {
            let mut damaged = data.to_vec();
            damaged[cut] ^= flip;
            let _ = body(&damaged);
        }
    }
}

/// xorshift64*, so the test needs no dev-dependency for randomness.
fn random_bytes(state: &mut u64, len: usize) -> Vec<u8> {
    (0..len)
        .map(|_| {
            *state ^= *state >> 12;
            *state ^= *state << 25;
            *state ^= *state >> 27;
            state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes()[7]
        })
        .collect()
}

#[test]
fn vrrp_parse_seeds_round_trip() {
    let files = seeds("vrrp_parse");
    assert!(files.len() >= 10, "vrrp_parse seeds missing: {files:?}");
    for f in &files {
        let data = std::fs::read(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        whole_cut_and_damaged(&data, fuzzing::parse_roundtrip);
    }
}

#[test]
fn vrrp_instance_seeds_keep_the_invariants() {
    let files = seeds("vrrp_instance");
    assert!(files.len() >= 10, "vrrp_instance seeds missing: {files:?}");
    for f in &files {
        let data = std::fs::read(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        whole_cut_and_damaged(&data, fuzzing::instance_run);
    }
}

#[test]
fn random_parse_inputs_round_trip() {
    let mut state = 0x9e37_79b9_7f4a_7c15;
    for i in 0..5_000 {
        let len = 1 + (i % 90);
        let mut data = random_bytes(&mut state, len);
        // Mostly well-formed headers: version 2 or 3, type 1, a small count.
        if let Some(b) = data.get_mut(9) {
            *b = if i % 2 == 0 { 0x21 } else { 0x31 };
        }
        if let Some(b) = data.get_mut(12) {
            *b %= 4;
        }
        fuzzing::parse_roundtrip(&data);
    }
}

#[test]
fn random_instance_programs_keep_the_invariants() {
    let mut state = 0x2545_f491_4f6c_dd1d;
    let (mut runs_with_master, mut takeovers, mut accepted) = (0, 0, 0);
    for i in 0..3_000 {
        let mut data = random_bytes(&mut state, 40 + (i % 400));
        // Intervals of 1-4 s (v2) or 50 ms-1 s (v3), so timers fire within the sleeps.
        let v3 = data[0] & 1 != 0;
        data[2] = 0;
        data[3] = if v3 {
            5 + data[3] % 96
        } else {
            1 + data[3] % 4
        };
        let s = fuzzing::instance_run(&data);
        runs_with_master += u32::from(s.become_master > 0);
        takeovers += s.release_master;
        accepted += s.advert_rcvd;
    }
    // The programs explore: many reach Master, some lose it to adverts, adverts get accepted.
    eprintln!("{runs_with_master} runs reached Master, {takeovers} releases, {accepted} adverts");
    assert!(runs_with_master > 300, "{runs_with_master}");
    assert!(takeovers > 100, "{takeovers}");
    assert!(accepted > 1000, "{accepted}");
}

/// The checker itself catches broken sequences (so a passing replay means something).
#[test]
fn checker_rejects_broken_sequences() {
    use core::net::Ipv4Addr;

    use fuzzing::{Checker, Input};
    use keepalived_vrrp::{Action, AddrList, Instance, InstanceConfig, Instant, Version};

    let cfg = InstanceConfig::new(
        "VI_1",
        51,
        Version::V2,
        Ipv4Addr::new(192, 0, 2, 10).into(),
        AddrList::V4(vec![Ipv4Addr::new(192, 0, 2, 100)]),
    );
    let fresh = Instance::new(cfg.clone()).unwrap();
    assert!(
        Checker::new()
            .check(&fresh, &[Action::AddVips], Instant::ZERO, Input::Other)
            .is_err()
    );

    let mut started = fresh.clone();
    started.handle_start(Instant::ZERO);
    let actions: Vec<Action> = std::iter::from_fn(|| started.poll_action()).collect();
    // A state change nobody reported.
    assert!(
        Checker::new()
            .check(&started, &[], Instant::ZERO, Input::Other)
            .is_err()
    );
    let mut c = Checker::new();
    assert_eq!(
        c.check(&started, &actions, Instant::ZERO, Input::Other),
        Ok(())
    );
    // An advert from a backup.
    let advert = Action::SendAdvert {
        repr: keepalived_vrrp::Repr {
            version: Version::V2,
            vrid: 51,
            priority: 100,
            adver_int: cfg.adver_int,
            auth: cfg.auth,
            addrs: cfg.vips.clone(),
        },
        checksum: cfg.checksum,
        ah: None,
    };
    assert!(
        c.clone()
            .check(&started, &[advert], Instant::ZERO, Input::Other)
            .is_err()
    );
    // A deadline in the past (the Master_Down_Timer is due at 3609.375 ms).
    assert!(
        c.clone()
            .check(&started, &[], Instant::from_millis(4000), Input::Other)
            .is_err()
    );

    // A timer still due after handle_timeout: the backup's Master_Down_Timer is due at
    // 3609.375 ms; a timeout input at that instant that did not act on it is a bug.
    let due = started.poll_timeout().unwrap();
    assert!(c.check(&started, &[], due, Input::Timeout).is_err());
}

/// Found by the `vrrp_instance` fuzzer: a VRRPv3 advert with Max Adver Int 0 from a
/// higher-priority master made the backup learn Master_Adver_Interval = 0 (Master_Down_Interval
/// 0) and take over from a live master after each of its adverts. Such an advert is now dropped
/// and counted (`adver_interval_errors`).
#[test]
fn v3_zero_interval_advert_does_not_cause_instant_takeover() {
    use core::net::Ipv4Addr;

    use keepalived_vrrp::{
        AddrList, Auth, Centisecs, ChecksumCaps, Instance, InstanceConfig, Instant, Repr, RxMeta,
        State, Version,
    };

    let vips = AddrList::V4(vec![Ipv4Addr::new(192, 0, 2, 100)]);
    let cfg = InstanceConfig::new(
        "VI_1",
        51,
        Version::V3,
        Ipv4Addr::new(192, 0, 2, 10).into(),
        vips.clone(),
    );
    let mut inst = Instance::new(cfg).unwrap();
    inst.handle_start(Instant::ZERO);
    let meta = RxMeta {
        src: Ipv4Addr::new(192, 0, 2, 20).into(),
        dst: fuzzing::MCAST_V4.into(),
        ttl: 255,
    };
    let advert = Repr {
        version: Version::V3,
        vrid: 51,
        priority: 200,
        adver_int: Centisecs(0),
        auth: Auth::None,
        addrs: vips,
    };
    let bytes = advert
        .to_bytes(meta.src, meta.dst, ChecksumCaps::default())
        .unwrap();
    let now = Instant::from_millis(1000);
    let _ = inst.handle_datagram(now, &meta, &bytes);
    while inst.poll_action().is_some() {}
    inst.handle_timeout(now);
    assert_eq!(inst.state(), State::Backup, "took over from a live master");
    assert!(inst.poll_timeout().is_some_and(|t| t > now));
}

/// `garp.master_refresh = Some(0)` used to pass `InstanceConfig::validate`, and a master then
/// re-armed the refresh timer at `now` on every `handle_timeout(now)` (a driver waiting for
/// `poll_timeout` would spin). It is now refused.
#[test]
fn zero_garp_refresh_is_refused_or_does_not_spin() {
    use core::net::Ipv4Addr;
    use core::time::Duration;

    use keepalived_vrrp::{AddrList, Instance, InstanceConfig, Instant, Version};

    let mut cfg = InstanceConfig::new(
        "VI_1",
        51,
        Version::V2,
        Ipv4Addr::new(192, 0, 2, 10).into(),
        AddrList::V4(vec![Ipv4Addr::new(192, 0, 2, 100)]),
    );
    cfg.priority = 255;
    cfg.garp.master_refresh = Some(Duration::ZERO);
    let Ok(mut inst) = Instance::new(cfg) else {
        return; // refused: fine
    };
    inst.handle_start(Instant::ZERO);
    while inst.poll_action().is_some() {}
    inst.handle_timeout(Instant::ZERO);
    while inst.poll_action().is_some() {}
    assert!(
        inst.poll_timeout().is_some_and(|t| t > Instant::ZERO),
        "still due after handle_timeout: a driver spins"
    );
}
