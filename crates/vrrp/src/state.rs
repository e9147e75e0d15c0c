//! Instance states, the reasons for transitions, and the events an instance reacts to.
//!
//! States follow RFC 9568 §6.4 (Initialize, Backup, Master) plus keepalived's Fault and Stop.
//! `Display` gives keepalived's words (`MASTER`, `BACKUP`, `FAULT`, `INIT`, `STOP`).

use core::fmt;

/// The state of an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// Not started (RFC 9568 §6.4.1).
    Initialize,
    /// Listening for a master (RFC 9568 §6.4.2).
    Backup,
    /// Forwarding for the virtual addresses and advertising (RFC 9568 §6.4.3).
    Master,
    /// keepalived's FAULT: the interface is down, nothing sent or accepted.
    Fault,
    /// Shut down; `handle_start` starts again.
    Stop,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Initialize => "INIT",
            State::Backup => "BACKUP",
            State::Master => "MASTER",
            State::Fault => "FAULT",
            State::Stop => "STOP",
        })
    }
}

/// Why a transition happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// Start-up into Backup.
    Startup,
    /// Start-up as the address owner (priority 255): master at once (RFC 9568 §6.4.1).
    AddressOwner,
    /// `state MASTER` at start-up (the immediate Master_Down_Timer expired).
    InitialStateMaster,
    /// Master_Down_Timer expired: no (acceptable) advert from a master (RFC 6527
    /// `masterNoResponse`; after a priority-0 advert this is Skew_Time).
    MasterDown,
    /// An advert of higher priority, or equal priority from a higher address (RFC 9568 §6.4.3).
    HigherPriorityAdvert,
    /// The interface went down.
    InterfaceDown,
    /// The interface came back.
    InterfaceUp,
    /// Shut down.
    Shutdown,
}

impl Reason {
    /// RFC 6527 `vrrpStatisticsNewMasterReason` for a transition into Master: priority(1),
    /// preempted(2), masterNoResponse(3); notMaster(0) otherwise.
    #[must_use]
    pub fn new_master_reason(self) -> u8 {
        match self {
            Reason::AddressOwner => 1,
            Reason::InitialStateMaster => 2,
            Reason::MasterDown => 3,
            _ => 0,
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Reason::Startup => "start-up",
            Reason::AddressOwner => "address owner",
            Reason::InitialStateMaster => "initial state MASTER",
            Reason::MasterDown => "master down timer expired",
            Reason::HigherPriorityAdvert => "higher priority advert received",
            Reason::InterfaceDown => "interface down",
            Reason::InterfaceUp => "interface up",
            Reason::Shutdown => "shutdown",
        })
    }
}

/// Something that happened outside the protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// The interface (and whatever it tracks) is usable again.
    InterfaceUp,
    /// The interface is down: go to Fault.
    InterfaceDown,
    /// Stop: a master sends a priority-0 advert and releases its addresses.
    Shutdown,
    /// The effective priority changed (tracking); a master advertises it at once. Clamped to
    /// 1..=254; ignored for the address owner (255).
    PriorityChanged(u8),
}
