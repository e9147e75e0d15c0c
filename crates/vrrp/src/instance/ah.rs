//! keepalived's IPsec AH sequence numbers of one instance (`ipsecah_counter`): one counter serves
//! for the adverts we send and for the replay check of those we receive, so a backup that takes
//! over continues above the last number its master used.

use crate::error::RxError;
use crate::wire::ah::{AhKey, AhSeal};

/// Above this a sending counter "cycles" (keepalived: stops counting; the receivers then drop
/// every advert as replayed until the sender becomes master again with a fresh counter).
const SEQ_CYCLE: u32 = 0xffff_fffd;

/// The sequence-number state; all zero after a (re)start, kept across a reload.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct AhCounter {
    /// The last sequence number sent or accepted.
    pub seq: u32,
    /// The counter passed [`SEQ_CYCLE`] while sending.
    pub cycle: bool,
    /// The IPv4 Identification of the last advert (never 0: the kernel would replace 0).
    ip_id: u16,
}

impl AhCounter {
    /// The seal of the next advert: the sequence number goes up by one (unless it cycled) and
    /// so does the IP Identification.
    pub fn next_seal(&mut self, key: AhKey) -> AhSeal {
        if self.seq > SEQ_CYCLE {
            self.cycle = true;
        } else {
            self.seq += 1;
        }
        self.ip_id = self.ip_id.wrapping_add(1).max(1);
        AhSeal {
            key,
            seq: self.seq,
            ip_id: self.ip_id,
        }
    }

    /// The replay check of a verified advert: only a number above ours is accepted (and
    /// becomes ours).
    pub fn accept(&mut self, seq: u32) -> Result<(), RxError> {
        if seq > self.seq {
            self.seq = seq;
            Ok(())
        } else {
            Err(RxError::AhReplay {
                seq,
                last: self.seq,
            })
        }
    }

    /// A master heard a lower-priority master: continue above its number (keepalived's
    /// "Syncing seq_num"), so our next adverts pass its replay check.
    pub fn sync_above(&mut self, seq: u32) {
        self.seq = seq.wrapping_add(1);
        self.cycle = false;
    }

    /// Becoming master: a cycled counter starts again from 0 (keepalived's anti-replay reset).
    pub fn on_master(&mut self) {
        if self.cycle {
            self.cycle = false;
            self.seq = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_adverts_and_ip_ids_from_one() {
        let mut c = AhCounter::default();
        let s = c.next_seal([1; 8]);
        assert_eq!((s.seq, s.ip_id, s.key), (1, 1, [1; 8]));
        let s = c.next_seal([1; 8]);
        assert_eq!((s.seq, s.ip_id), (2, 2));
    }

    #[test]
    fn ip_id_skips_zero() {
        let mut c = AhCounter {
            ip_id: u16::MAX,
            ..AhCounter::default()
        };
        assert_eq!(c.next_seal([0; 8]).ip_id, 1);
    }

    #[test]
    fn replay_check_accepts_only_higher_numbers() {
        let mut c = AhCounter::default();
        assert_eq!(c.accept(5), Ok(()));
        assert_eq!(c.accept(5), Err(RxError::AhReplay { seq: 5, last: 5 }));
        assert_eq!(c.accept(3), Err(RxError::AhReplay { seq: 3, last: 5 }));
        assert_eq!(c.accept(6), Ok(()));
        // Our own adverts move the same counter.
        assert_eq!(c.next_seal([0; 8]).seq, 7);
        assert!(c.accept(7).is_err());
    }

    #[test]
    fn cycles_at_the_top_and_restarts_on_becoming_master() {
        let mut c = AhCounter {
            seq: SEQ_CYCLE,
            ..AhCounter::default()
        };
        assert_eq!(c.next_seal([0; 8]).seq, SEQ_CYCLE + 1);
        assert!(!c.cycle);
        assert_eq!(c.next_seal([0; 8]).seq, SEQ_CYCLE + 1);
        assert!(c.cycle);
        c.on_master();
        assert_eq!((c.seq, c.cycle), (0, false));
        c.on_master();
        assert_eq!(c.seq, 0);
    }
}
