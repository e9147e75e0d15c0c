//! Effects the engine asks its driver to carry out.

use core::net::IpAddr;

use crate::error::PeerError;
use crate::state::{Reason, State};
use crate::wire::ChecksumCaps;
use crate::wire::ah::AhSeal;
use crate::wire::vrrp::Repr;

/// One effect. Drain them with `poll_action` after every `handle_*` call, and execute them in
/// order.
#[must_use]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Send this advert (to the multicast group or each unicast peer). Emit it with
    /// [`Repr::emit`] from the instance's primary address and these checksum options, TTL /
    /// hop limit 255; with `ah`, wrap it with [`crate::wire::ah::emit_datagram`] (the same
    /// seal for every unicast peer).
    SendAdvert {
        /// The advert.
        repr: Repr,
        /// Checksum options for [`Repr::emit`].
        checksum: ChecksumCaps,
        /// `auth_type AH`: the key, sequence number and IP Identification of this advert.
        ah: Option<AhSeal>,
    },
    /// Add the virtual addresses (and routes and rules) to the interface.
    AddVips,
    /// Remove the virtual addresses (and routes and rules).
    DelVips,
    /// Send a burst of `count` gratuitous ARPs (IPv4) or unsolicited neighbour advertisements
    /// (IPv6) for the virtual addresses, spaced by the driver's `vrrp_garp_interval`.
    SendGratuitous {
        /// Messages per address.
        count: u8,
    },
    /// The state changed (log "(VI_1) Entering MASTER STATE", run notify scripts).
    StateChanged {
        /// The old state.
        from: State,
        /// The new state.
        to: State,
        /// Why.
        reason: Reason,
    },
    /// The effective priority changed (tracking): for `notify_priority_changes` and logs. A
    /// master has already queued an advert with the new priority.
    PriorityChanged {
        /// The old effective priority.
        from: u8,
        /// The new effective priority.
        to: u8,
    },
    /// A master received an advert with a lower priority than its own (keepalived's
    /// `notify_master_rx_lower_pri`); it has already answered with an advert of its own.
    MasterRxLowerPriority {
        /// The sender of the lower-priority advert.
        from: IpAddr,
        /// Its priority.
        priority: u8,
    },
    /// An advert was accepted but something in it is worth a log line (a v3 interval or an
    /// address list that differs from ours).
    Warning(PeerError),
}
