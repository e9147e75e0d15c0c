//! One attempt of each checker type against a real server (tokio sockets), and its outcome.
//!
//! A probe does I/O and returns an [`Outcome`]; it never retries, never sleeps between tries and
//! never decides whether a real server is up: the `logic` module does that from the outcomes.
//! Every probe honours its own timeout, so an attempt always ends.

pub mod dns;
pub mod http;
pub mod http_wire;
pub mod ping;
pub mod smtp;
pub mod spec;
pub mod tcp;
pub mod tls;
pub mod udp;

/// The result of one attempt of a checker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The check passed.
    Success,
    /// The check failed; the reason is meant for logs (`log_all_failures`, notify scripts).
    Failure(String),
}

impl Outcome {
    /// True for [`Outcome::Success`].
    pub fn is_success(&self) -> bool {
        matches!(self, Outcome::Success)
    }
}

impl<E: std::error::Error> From<Result<(), E>> for Outcome {
    fn from(r: Result<(), E>) -> Self {
        match r {
            Ok(()) => Outcome::Success,
            Err(e) => Outcome::Failure(report(&e)),
        }
    }
}

/// An error and its sources on one line (`a: b: c`), for logs and [`Outcome::Failure`].
pub fn report(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(cause) = src {
        let text = cause.to_string();
        // hyper and io errors often repeat their cause in their own message.
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        src = cause.source();
    }
    s
}
