//! Fuzzes the BFD session state machine: bytes become a configuration and a sequence of inputs
//! (time steps, peer packets with arbitrary values, raw bytes, admin changes); the invariants
//! are checked after every drain. The body is shared with the stable replay test
//! (`crates/bfd/tests/fuzzing/mod.rs`, run by `crates/bfd/tests/fuzz_replay.rs`).
#![no_main]

#[path = "../../crates/bfd/tests/fuzzing/mod.rs"]
mod fuzzing;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzzing::session_run(data);
});
