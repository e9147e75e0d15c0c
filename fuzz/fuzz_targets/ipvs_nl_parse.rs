//! Fuzzes the IPVS generic netlink codec: no panic on any bytes, and whatever decodes re-encodes
//! to the same message. The body is shared with the stable replay test
//! (`crates/lb/tests/fuzzing/mod.rs`, run by `crates/lb/tests/fuzz_replay.rs`).
#![no_main]

#[path = "../../crates/lb/tests/fuzzing/mod.rs"]
mod fuzzing;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzzing::parse_roundtrip(data);
});
