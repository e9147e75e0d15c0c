//! Fuzzes the BFD codec: no panic on any bytes, and whatever parses re-emits to the same bytes
//! and `Repr`. The body is shared with the stable replay test
//! (`crates/bfd/tests/fuzzing/mod.rs`, run by `crates/bfd/tests/fuzz_replay.rs`).
#![no_main]

#[path = "../../crates/bfd/tests/fuzzing/mod.rs"]
mod fuzzing;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzzing::parse_roundtrip(data);
});
