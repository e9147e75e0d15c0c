//! Receiving adverts: the instance's checks (RFC 9568 §7.1, RFC 3768 §7.1) and the Backup and
//! Master reactions (RFC 9568 §6.4.2 and §6.4.3).

use core::cmp::Ordering;

use super::{Instance, PRIORITY_STOP};
use crate::action::Action;
use crate::error::{PeerError, RxError, Scope};
use crate::state::{Reason, State};
use crate::time::Instant;
use crate::timer::Timer;
use crate::timing::Version;
use crate::wire::ah::{self, AhRx};
use crate::wire::ip::RxMeta;
use crate::wire::vrrp::{AUTH_IP_AH, Auth, Family, Packet, Repr};

impl Instance {
    /// Parses a VRRP message (the IP payload) with this instance's checksum options and handles
    /// it; see [`Instance::handle_packet`]. Instance-scope errors are counted here; global ones
    /// (checksum, version, VRID, truncation) are returned for the caller's
    /// [`crate::GlobalStats`].
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        meta: &RxMeta,
        bytes: &[u8],
    ) -> Result<(), PeerError> {
        let parsed = Packet::new_checked(bytes)
            .and_then(|p| Repr::parse(&p, meta.src, meta.dst, self.cfg.checksum));
        match parsed {
            Ok(repr) => self.handle_packet(now, meta, &repr),
            Err(e) => Err(self.reject(meta, e)),
        }
    }

    /// Handles an advert that came behind an IPsec AH (from [`ah::split`]): parsed as
    /// [`Instance::handle_datagram`] does, then the AH checked with the VRRPv2 authentication
    /// (ICV, SPI, then the replay check of the sequence number, as keepalived does).
    pub fn handle_ah_datagram(
        &mut self,
        now: Instant,
        meta: &RxMeta,
        rx: &AhRx<'_>,
    ) -> Result<(), PeerError> {
        let parsed = Packet::new_checked(rx.vrrp)
            .and_then(|p| Repr::parse(&p, meta.src, meta.dst, self.cfg.checksum));
        match parsed {
            Ok(repr) => self.receive(now, meta, &repr, Some(rx)),
            Err(e) => Err(self.reject(meta, e)),
        }
    }

    /// Handles a parsed advert received with `meta` (without an AH). Returns the reason when
    /// the advert is dropped; instance-scope reasons are counted in [`Instance::stats`].
    /// Adverts are ignored (`Ok`) outside Backup and Master, and so are adverts from our own
    /// address.
    pub fn handle_packet(
        &mut self,
        now: Instant,
        meta: &RxMeta,
        repr: &Repr,
    ) -> Result<(), PeerError> {
        self.receive(now, meta, repr, None)
    }

    fn receive(
        &mut self,
        now: Instant,
        meta: &RxMeta,
        repr: &Repr,
        ah: Option<&AhRx<'_>>,
    ) -> Result<(), PeerError> {
        // Our own adverts looped back (or a peer misconfigured with our address, which would
        // otherwise make two masters answer each other forever) are ignored.
        if !matches!(self.state, State::Backup | State::Master) || meta.src == self.cfg.primary_addr
        {
            return Ok(());
        }
        self.validate(meta, repr, ah)
            .map_err(|e| self.reject(meta, e))?;
        self.stats.advert_rcvd += 1;
        if repr.priority == PRIORITY_STOP {
            self.stats.pri_zero_rcvd += 1;
        }
        match self.state {
            State::Backup => self.backup_rx(now, meta, repr),
            State::Master => self.master_rx(now, meta, repr, ah.map(|a| a.header.seq)),
            _ => {}
        }
        Ok(())
    }

    fn reject(&mut self, meta: &RxMeta, e: RxError) -> PeerError {
        if e.scope() == Scope::Instance {
            self.stats.record(&e);
        }
        e.from_peer(meta.src)
    }

    fn warn(&mut self, meta: &RxMeta, e: RxError) {
        self.stats.record(&e);
        self.actions
            .push_back(Action::Warning(e.from_peer(meta.src)));
    }

    /// The checks that need the instance, in RFC 9568 §7.1 order.
    fn validate(
        &mut self,
        meta: &RxMeta,
        repr: &Repr,
        ah: Option<&AhRx<'_>>,
    ) -> Result<(), RxError> {
        if self.cfg.check_ttl && meta.ttl != 255 {
            return Err(RxError::IpTtl { got: meta.ttl });
        }
        if repr.version != self.cfg.version {
            return Err(RxError::Version {
                got: repr.version.number(),
            });
        }
        if repr.vrid != self.cfg.vrid
            || repr.family() != self.cfg.family()
            || Family::of(&meta.src) != self.cfg.family()
        {
            return Err(RxError::VridUnknown { vrid: repr.vrid });
        }
        // RFC 3768 §7.1: authentication must match.
        let ours = self.cfg.auth.type_number();
        match (&self.cfg.auth, &repr.auth, ah) {
            // keepalived: "No AH header but auth type is AH" / "Received AH header but auth
            // type not AH".
            (Auth::IpAh, _, None) => {
                return Err(RxError::AuthTypeMismatch {
                    got: repr.auth.type_number(),
                    expected: ours,
                });
            }
            (a, _, Some(_)) if *a != Auth::IpAh => {
                return Err(RxError::AuthTypeMismatch {
                    got: AUTH_IP_AH,
                    expected: ours,
                });
            }
            (Auth::IpAh, Auth::IpAh, Some(rx)) => self.check_ah(meta, rx)?,
            (Auth::Simple(a), Auth::Simple(b), _) if a != b => return Err(RxError::AuthFailure),
            (a, b, _) if a.type_number() != b.type_number() => {
                return Err(RxError::AuthTypeMismatch {
                    got: b.type_number(),
                    expected: ours,
                });
            }
            _ => {}
        }
        if repr.adver_int != self.cfg.adver_int {
            let e = RxError::AdverInterval {
                got: repr.adver_int,
                expected: self.cfg.adver_int,
            };
            match self.cfg.version {
                // RFC 3768 §7.1: MUST discard.
                Version::V2 => return Err(e),
                // An interval of 0 cannot be learned: Master_Down_Interval would be 0 and a
                // backup would take over from a live master after each of its adverts.
                Version::V3 if repr.adver_int.0 == 0 => return Err(e),
                // RFC 9568: backups learn the master's interval; keepalived logs and counts.
                Version::V3 => self.warn(meta, e),
            }
        }
        if !repr.addrs.same_set(&self.cfg.vips) {
            // RFC 9568 §7.1: MAY drop; SHOULD log.
            if self.cfg.strict_addr_check {
                return Err(RxError::AddressList);
            }
            self.warn(meta, RxError::AddressList);
        }
        Ok(())
    }

    /// keepalived's `vrrp_in_chk_ipsecah`: the ICV with our key, the SPI (the sender's
    /// address), then the sequence number above ours. A backup's counter also stops "cycling".
    fn check_ah(&mut self, meta: &RxMeta, rx: &AhRx<'_>) -> Result<(), RxError> {
        if !rx.verify(&self.cfg.ah_key, self.cfg.unicast) {
            return Err(RxError::AhIcv);
        }
        if !ah::spi_matches(&rx.header, meta.src) {
            return Err(RxError::AhSpi { spi: rx.header.spi });
        }
        self.ah.accept(rx.header.seq)?;
        if self.state == State::Backup {
            self.ah.cycle = false;
        }
        Ok(())
    }

    /// RFC 9568 §6.4.2 (600-645), with keepalived's `preempt_delay`.
    fn backup_rx(&mut self, now: Instant, meta: &RxMeta, repr: &Repr) {
        if repr.priority == PRIORITY_STOP {
            // (610) Master_Down_Timer = Skew_Time.
            self.down_reason = Reason::MasterDown;
            self.timers.set(Timer::MasterDown, now + self.skew_time());
            return;
        }
        let higher_or_equal = repr.priority >= self.priority;
        let delay_running = self.preempt_delay_running(now, repr.priority);
        if !self.cfg.preempt || higher_or_equal || delay_running {
            // (625-635) learn the interval (v3), recompute, reset the timer.
            if self.cfg.version == Version::V3 {
                self.master_adver_int = repr.adver_int;
            }
            self.master_addr = Some(meta.src);
            self.wants_master = false;
            self.down_reason = Reason::MasterDown;
            self.timers
                .set(Timer::MasterDown, now + self.master_down_interval());
        }
        // (645) else discard: preempt by letting the down timer expire.
    }

    /// keepalived's `preempt_delay`: hearing a higher master forgets the delay; the first
    /// lower-priority advert (or start-up) starts it; while it runs, lower masters are accepted.
    fn preempt_delay_running(&mut self, now: Instant, their_priority: u8) -> bool {
        if self.cfg.preempt_delay.is_zero() {
            return false;
        }
        if their_priority > self.priority {
            self.preempt_deadline = None;
            return false;
        }
        let deadline = *self
            .preempt_deadline
            .get_or_insert(now + self.cfg.preempt_delay);
        now < deadline
    }

    /// RFC 9568 §6.4.3 (850-890).
    fn master_rx(&mut self, now: Instant, meta: &RxMeta, repr: &Repr, ah_seq: Option<u32>) {
        if repr.priority == PRIORITY_STOP {
            // (855-860) answer at once, reset Adver_Timer.
            self.send_advert(self.priority);
            self.timers
                .set(Timer::Adver, now + self.cfg.adver_int.as_duration());
            return;
        }
        let theirs_wins = match repr.priority.cmp(&self.priority) {
            Ordering::Greater => true,
            // Unsigned comparison in network byte order, which `IpAddr`'s `Ord` is.
            Ordering::Equal => meta.src > self.cfg.primary_addr,
            Ordering::Less => false,
        };
        if theirs_wins {
            self.ah.cycle = false;
            // (870-890) Backup, learn the interval (v3), Master_Down_Timer.
            self.transition(now, State::Backup, Reason::HigherPriorityAdvert);
            if self.cfg.version == Version::V3 {
                self.master_adver_int = repr.adver_int;
            }
            self.master_addr = Some(meta.src);
            self.timers
                .set(Timer::MasterDown, now + self.master_down_interval());
        } else {
            if let Some(seq) = ah_seq {
                // keepalived: "IPSEC-AH : Syncing seq_num - Increment seq".
                self.ah.sync_above(seq);
            }
            if repr.priority < self.priority {
                // keepalived's notify_master_rx_lower_pri.
                self.actions.push_back(Action::MasterRxLowerPriority {
                    from: meta.src,
                    priority: repr.priority,
                });
            }
            // keepalived: a lesser master is answered at once to force the election.
            self.send_advert(self.priority);
            self.timers
                .set(Timer::Adver, now + self.cfg.adver_int.as_duration());
        }
    }
}
