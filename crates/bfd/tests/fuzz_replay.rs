//! The fuzz targets' checks on the stable toolchain: every seed under `fuzz/seeds/bfd_parse` and
//! `fuzz/seeds/bfd_session` (whole, truncated and damaged), plus thousands of pseudo-random
//! inputs, through the same bodies the fuzzers run (`tests/fuzzing/`). A seed that once broke an
//! invariant keeps being checked without the fuzzer. `cargo test -p keepalived-bfd --test
//! fuzz_replay -- --ignored write_seeds` regenerates the seed files.

#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "reads and writes the fuzz seeds in fuzz/seeds"
)]

mod fuzzing;

use std::path::{Path, PathBuf};

use keepalived_bfd::{Diag, Repr, State};

fn seed_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/seeds")
        .join(target)
}

fn seeds(target: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(seed_dir(target))
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
fn whole_cut_and_damaged(data: &[u8], body: fn(&[u8])) {
    body(data);
    let step = (data.len() / 23).max(1);
    for cut in (0..data.len()).step_by(step) {
        body(&data[..cut]);
        for flip in [0x01, 0x80, 0xff] {
            let mut damaged = data.to_vec();
            damaged[cut] ^= flip;
            body(&damaged);
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
fn bfd_parse_seeds_round_trip() {
    let files = seeds("bfd_parse");
    assert!(files.len() >= 8, "bfd_parse seeds missing: {files:?}");
    for f in &files {
        let data = std::fs::read(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        whole_cut_and_damaged(&data, fuzzing::parse_roundtrip);
    }
}

#[test]
fn bfd_session_seeds_keep_the_invariants() {
    let files = seeds("bfd_session");
    assert!(files.len() >= 6, "bfd_session seeds missing: {files:?}");
    for f in &files {
        let data = std::fs::read(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        whole_cut_and_damaged(&data, fuzzing::session_run);
    }
}

#[test]
fn random_parse_inputs_round_trip() {
    let mut state = 0x9e37_79b9_7f4a_7c15;
    let mut parsed = 0;
    for i in 0..20_000 {
        let mut data = random_bytes(&mut state, 27 + i % 12);
        // Make most of them plausible: version 1 and matching length fields.
        if i % 4 != 0 {
            data[0] = (data[0] & 0x1f) | 0x20;
            if i % 3 != 0 {
                data.truncate(24);
                data[1] &= !0x04;
            } else {
                data[1] |= 0x04;
                data[25] = u8::try_from(data.len() - 24).unwrap();
            }
            data[3] = u8::try_from(data.len()).unwrap();
        }
        if Repr::parse(&data).is_ok() {
            parsed += 1;
        }
        fuzzing::parse_roundtrip(&data);
    }
    assert!(parsed > 5_000, "too few random packets parsed: {parsed}");
}

#[test]
fn random_session_programs_keep_the_invariants() {
    let mut state = 0x2545_f491_4f6c_dd1d;
    let mut reached_up = 0;
    for i in 0..3_000 {
        let data = random_bytes(&mut state, 16 + i % 300);
        reached_up += usize::from(fuzzing::session_checked(&data).ups > 0);
    }
    assert!(
        reached_up > 100,
        "random programs rarely reach Up: {reached_up}"
    );
}

#[test]
fn the_handshake_seeds_reach_up() {
    for name in ["handshake.bin", "passive.bin", "multihop.bin"] {
        let data = std::fs::read(seed_dir("bfd_session").join(name)).unwrap();
        let chk = fuzzing::session_checked(&data);
        assert!(chk.ups >= 1, "{name} never came Up");
        assert_eq!(
            chk.last_up,
            Some(false),
            "{name}: the silence at the end did not expire it"
        );
    }
}

#[test]
fn the_checker_catches_a_missing_final() {
    // The invariants can fail: a Poll answered without F is reported.
    let result = std::panic::catch_unwind(|| {
        let mut engine = keepalived_bfd::Engine::new(1);
        let now = keepalived_bfd::Instant::ZERO;
        let cfg = keepalived_bfd::SessionConfig::new("x", core::net::IpAddr::V4(fuzzing::PEER));
        let id = engine.add_session(now, cfg).unwrap();
        let mut chk = fuzzing::Checker::new();
        // Claim the adding was a Poll: the first packet sent (without F) must be flagged.
        fuzzing::check_drain(&mut engine, id, now, true, &mut chk);
    });
    assert!(result.is_err());
}

fn packet(state: State, poll: bool, fin: bool, your: u32, tx: u32, rx: u32) -> Vec<u8> {
    Repr {
        diag: Diag::None,
        state,
        poll,
        fin,
        cpi: false,
        demand: false,
        multipoint: false,
        detect_mult: 3,
        my_discr: 0x0102_0304,
        your_discr: your,
        desired_min_tx_us: tx,
        required_min_rx_us: rx,
        required_min_echo_rx_us: 0,
        auth: None,
    }
    .to_bytes()
    .to_vec()
}

/// Writes the seed files (run by hand with `--ignored`).
#[test]
#[ignore = "writes fuzz/seeds/bfd_*; run by hand to regenerate them"]
fn write_seeds() {
    let parse = seed_dir("bfd_parse");
    std::fs::create_dir_all(&parse).unwrap();
    let mut auth = packet(State::Up, false, false, 7, 50_000, 50_000);
    auth[1] |= 0x04;
    auth[3] = 30;
    auth.extend_from_slice(&[1, 6, 1, b'a', b'b', b'c']);
    let mut md5 = packet(State::Up, false, false, 7, 50_000, 50_000);
    md5[1] |= 0x04;
    md5[3] = 48;
    md5.extend_from_slice(&[2, 24, 1, 0, 0, 0, 0, 1]);
    md5.extend_from_slice(&[0x5a; 16]);
    let files: Vec<(&str, Vec<u8>)> = vec![
        (
            "down.bin",
            packet(State::Down, false, false, 0, 1_000_000, 10_000),
        ),
        (
            "init.bin",
            packet(State::Init, false, false, 7, 1_000_000, 10_000),
        ),
        ("up.bin", packet(State::Up, false, false, 7, 50_000, 50_000)),
        (
            "poll.bin",
            packet(State::Up, true, false, 7, 300_000, 300_000),
        ),
        (
            "final.bin",
            packet(State::Up, false, true, 7, 300_000, 300_000),
        ),
        (
            "admindown.bin",
            packet(State::AdminDown, false, false, 0, 0, 0),
        ),
        ("auth-simple.bin", auth),
        ("auth-md5.bin", md5),
        (
            "zero-intervals.bin",
            packet(State::Up, false, false, 7, 0, 0),
        ),
        (
            "max-intervals.bin",
            packet(State::Up, false, false, 7, u32::MAX, u32::MAX),
        ),
    ];
    for (name, bytes) in files {
        std::fs::write(parse.join(name), bytes).unwrap();
    }
    let session = seed_dir("bfd_session");
    std::fs::create_dir_all(&session).unwrap();
    // Configuration: min_rx, min_tx, idle_tx (×100 µs), multiplier, flags, max_hops.
    let fast: [u8; 9] = [0, 100, 0, 100, 0x27, 0x10, 3, 0, 0];
    let passive: [u8; 9] = [0, 100, 0, 100, 0x27, 0x10, 3, 1, 0];
    let multihop: [u8; 9] = [0, 200, 0, 200, 0x27, 0x10, 1, 2, 3];
    // Ops: 0 time step (u16 ms); 2 packet: sel (state bits 6-7, Your Discriminator kind bits
    // 0-1: 0 zero, 1 given, 2 ours), flags (0x10 P, 0x20 F), interval kinds (tx bits 0-2, rx
    // bits 3-5: 0 zero, 1 one µs, 2 u32::MAX, 3 u32 given, 4 u16 ms given), mult, fields;
    // 4 raw bytes; 5 admin.
    let handshake = [
        0, 0, 10, // 10 ms
        2, 0x40, 0, 0x24, 3, 0x03, 0xe8, 0, 10, // Down, your 0, 1 s / 10 ms
        0, 0, 10, //
        2, 0xc2, 0, 0x24, 3, 0, 50, 0, 50, // Up, your = ours, 50 ms / 50 ms
        0, 0, 100, //
        2, 0xc2, 0x10, 0x24, 3, 0x01, 0x2c, 0, 10, // Poll: 300 ms / 10 ms
        0, 0, 100, //
        2, 0xc2, 0x20, 0x24, 3, 0, 10, 0, 10, // Final
        0, 4, 0, // 1 s of silence: expiry
    ];
    let mut wild = handshake[..27].to_vec();
    wild.extend_from_slice(&[
        2, 0xc2, 0x10, 0x00, 255, // Poll, intervals 0 / 0, mult 255
        0, 0, 5, //
        2, 0xc2, 0x10, 0x09, 1, // Poll, 1 µs / 1 µs, mult 1
        0, 0, 5, //
        2, 0xc2, 0x10, 0x12, 200, // Poll, u32::MAX / u32::MAX
        0, 0, 5, //
        2, 0xc2, 0x10, 0x1b, 9, 0, 0, 0x27, 0x10, 0xff, 0xff, 0xff, 0xff, // Poll, given
        0, 0, 200, 5, 1, 0, 0, 200, 5, 0, //
        2, 0x40, 0, 0x24, 3, 0x03, 0xe8, 0, 10, // Down again
        0, 0xff, 0xff, // a minute
    ]);
    let garbage = [
        4, 24, 0x20, 0xc0, 3, 24, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1,
    ];
    let files: Vec<(&str, Vec<u8>)> = vec![
        (
            "handshake.bin",
            fuzzing::encode_session_seed(&fast, 1, 0x0102_0304, &handshake),
        ),
        (
            "passive.bin",
            fuzzing::encode_session_seed(&passive, 2, 9, &handshake),
        ),
        (
            "multihop.bin",
            fuzzing::encode_session_seed(&multihop, 3, 9, &handshake),
        ),
        (
            "wild.bin",
            fuzzing::encode_session_seed(&fast, 4, 77, &wild),
        ),
        (
            "wild-multihop.bin",
            fuzzing::encode_session_seed(&multihop, 5, 77, &wild),
        ),
        (
            "garbage.bin",
            fuzzing::encode_session_seed(&fast, 6, 5, &garbage),
        ),
    ];
    for (name, bytes) in files {
        std::fs::write(session.join(name), bytes).unwrap();
    }
}
