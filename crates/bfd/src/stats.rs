//! Counters: per session ([`SessionStats`]) and for the whole engine by drop reason
//! ([`GlobalStats`], one field per [`RxError`] kind).

use crate::error::{ParseError, RxError};

/// One session's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SessionStats {
    /// Control packets sent.
    pub tx: u64,
    /// Valid control packets accepted.
    pub rx: u64,
    /// Packets matched to this session but dropped (TTL, authentication, AdminDown, port).
    pub rx_dropped: u64,
    /// Transitions into Up.
    pub up: u64,
    /// Transitions from Up to Down.
    pub down: u64,
    /// Detection-time expiries.
    pub expired: u64,
    /// Poll sequences started.
    pub polls: u64,
}

/// Received packets the engine dropped, by reason, plus the ones accepted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GlobalStats {
    /// Accepted and given to a session.
    pub rx_ok: u64,
    /// Shorter than 24 bytes.
    pub truncated: u64,
    /// Version not 1.
    pub bad_version: u64,
    /// Length field wrong (or the authentication section's).
    pub bad_length: u64,
    /// Detect Mult 0.
    pub zero_detect_mult: u64,
    /// M bit set.
    pub multipoint: u64,
    /// My Discriminator 0.
    pub zero_my_discr: u64,
    /// Your Discriminator 0 while not Down/AdminDown.
    pub zero_your_discr: u64,
    /// P and F together.
    pub poll_and_final: u64,
    /// Diagnostic above 8.
    pub bad_diag: u64,
    /// Your Discriminator unknown.
    pub unknown_discr: u64,
    /// No session for the source address.
    pub no_session: u64,
    /// Single-hop packet for a multihop session or the reverse.
    pub wrong_port: u64,
    /// TTL / hop limit too low.
    pub bad_ttl: u64,
    /// A bit set without authentication configured.
    pub auth: u64,
    /// For a session in AdminDown.
    pub admin_down: u64,
}

impl GlobalStats {
    /// Counts one drop.
    pub fn count(&mut self, e: &RxError) {
        let c = match e {
            RxError::Parse(ParseError::Truncated { .. }) => &mut self.truncated,
            RxError::Parse(ParseError::BadVersion { .. }) => &mut self.bad_version,
            RxError::Parse(_) => &mut self.bad_length,
            RxError::ZeroDetectMult => &mut self.zero_detect_mult,
            RxError::Multipoint => &mut self.multipoint,
            RxError::ZeroMyDiscriminator => &mut self.zero_my_discr,
            RxError::ZeroYourDiscriminator { .. } => &mut self.zero_your_discr,
            RxError::PollAndFinal => &mut self.poll_and_final,
            RxError::BadDiag { .. } => &mut self.bad_diag,
            RxError::UnknownDiscriminator { .. } => &mut self.unknown_discr,
            RxError::NoSession { .. } => &mut self.no_session,
            RxError::WrongPort => &mut self.wrong_port,
            RxError::BadTtl { .. } => &mut self.bad_ttl,
            RxError::AuthNotConfigured => &mut self.auth,
            RxError::AdminDown => &mut self.admin_down,
        };
        *c = c.saturating_add(1);
    }

    /// All drops.
    #[must_use]
    pub fn dropped(&self) -> u64 {
        [
            self.truncated,
            self.bad_version,
            self.bad_length,
            self.zero_detect_mult,
            self.multipoint,
            self.zero_my_discr,
            self.zero_your_discr,
            self.poll_and_final,
            self.bad_diag,
            self.unknown_discr,
            self.no_session,
            self.wrong_port,
            self.bad_ttl,
            self.auth,
            self.admin_down,
        ]
        .iter()
        .fold(0u64, |a, b| a.saturating_add(*b))
    }
}
