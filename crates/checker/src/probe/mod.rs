//! One attempt of each checker type against a real server (tokio sockets), returning an
//! outcome for the logic to judge.

pub mod dns;
pub mod ping;
pub mod smtp;
pub mod udp;
