//! Fuzzes the whole reader (preprocessor, lexer, tree, model, validation, rendering):
//! any bytes must be read without a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = keepalived_config::fuzz_read(data);
});
