//! keepalived-rs health checkers of real servers.
//!
//! * [`logic`]: which check runs when, retries, alpha/omega, a real server's state from all its
//!   checkers, weight changes, and the events that come out. No I/O: time is an argument. It is
//!   its own crate, keepalived-checker-logic, so that clippy can hold it to that (its
//!   clippy.toml); re-exported here under its old path.
//! * [`probe`]: one attempt of each checker type against a real server (tokio sockets),
//!   returning an outcome for the logic to judge.

#![forbid(unsafe_code)]

pub use keepalived_checker_logic as logic;
pub mod probe;
