//! The checker logic's clock type: [`keepalived_clock::Instant`], passed in by the caller.

pub use keepalived_clock::Instant;
