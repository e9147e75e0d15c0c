//! Fuzzes the VRRP codec: no panic on any bytes, and whatever parses re-emits and parses to the
//! same `Repr` (parse(emit(parse(x))) == parse(x)). The body is shared with the stable replay test
//! (`crates/vrrp/tests/fuzzing/mod.rs`, run by `crates/vrrp/tests/fuzz_replay.rs`).
#![no_main]

#[path = "../../crates/vrrp/tests/fuzzing/mod.rs"]
mod fuzzing;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzzing::parse_roundtrip(data);
});
