//! keepalived-rs health checkers of real servers.
//!
//! * `logic`: which check runs when, retries, alpha/omega, a real server's state from all its
//!   checkers, weight changes, and the events that come out. No I/O: time is an argument.
//! * `probe`: one attempt of each checker type against a real server (tokio sockets), returning
//!   an outcome for the logic to judge.

#![forbid(unsafe_code)]

pub mod probe;
