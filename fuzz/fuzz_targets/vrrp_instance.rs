//! Fuzzes one VRRP instance with arbitrary inputs at arbitrary times (adverts built from fields
//! or raw bytes, timeouts on time, late or spurious, events) and checks its invariants after
//! every drain: Master_Down_Timer armed exactly in Backup, Adver_Timer exactly in Master,
//! `poll_timeout` never in the past, addresses held exactly while Master, adverts that survive
//! the codec. The body is shared with the stable replay test (`crates/vrrp/tests/fuzz_replay.rs`).
#![no_main]

#[path = "../../crates/vrrp/tests/fuzzing/mod.rs"]
mod fuzzing;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzzing::instance_run(data);
});
