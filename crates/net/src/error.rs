//! The crate's error type: which operation failed, on what, and the
//! kernel's answer.

use std::io;

/// Everything that can go wrong while talking to the kernel.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    /// A socket call failed (`op` names it, e.g. `"IP_ADD_MEMBERSHIP"`).
    #[error("{op} on {ifname}: {source}")]
    Socket {
        /// The call or option that failed.
        op: &'static str,
        /// The interface the socket is for.
        ifname: String,
        /// The kernel's error.
        #[source]
        source: io::Error,
    },
    /// No interface of that name exists (in this network namespace).
    #[error("no interface named {ifname:?}: {source}")]
    NoSuchInterface {
        /// The name looked up.
        ifname: String,
        /// The kernel's error (usually `ENODEV`).
        #[source]
        source: io::Error,
    },
    /// An argument is unusable (mixed families, a prefix longer than the
    /// address, a label on an IPv6 address, ...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The kernel refused a netlink request (`op` names it, e.g.
    /// `"RTM_NEWADDR"`); `source` carries the errno it answered with.
    #[error("{op}: {source}")]
    Netlink {
        /// The request that failed.
        op: &'static str,
        /// The kernel's error.
        #[source]
        source: io::Error,
    },
    /// A netlink reply could not be decoded.
    #[error("{op}: cannot decode the kernel's reply: {detail}")]
    NetlinkDecode {
        /// The request whose reply it was.
        op: &'static str,
        /// The decoder's message.
        detail: String,
    },
}

/// Shorthand for results whose error is [`NetError`].
pub type Result<T, E = NetError> = std::result::Result<T, E>;
