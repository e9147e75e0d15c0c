//! keepalived-rs's control protocol (the daemon's control socket and `keepalived-ctl` speak
//! it: [`proto`]) and the client's rendering of a status ([`table`]).

pub mod proto;
pub mod table;
