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
    /// Master_Down_Timer expired: no (acceptable) advert from a master (RFC 6527
    /// `masterNoResponse`; after a priority-0 advert this is Skew_Time).
    MasterDown,
    /// An advert of higher priority, or equal priority from a higher address (RFC 9568 §6.4.3).
    HigherPriorityAdvert,
    /// The interface went down.
    InterfaceDown,
    /// The interface came back.
    InterfaceUp,
    /// A tracked object (script, interface, file, process) put the instance in FAULT.
    TrackerFault,
    /// The tracked objects that held the instance in FAULT are good again.
    TrackerRecovered,
    /// The instance's sync group moved it (to MASTER, BACKUP or FAULT, or out of FAULT).
    SyncGroup,
    /// The operator put it in maintenance (`keepalived-ctl vrrp NAME maintenance on`).
    MaintenanceOn,
    /// The operator took it out of maintenance.
    MaintenanceOff,
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
            Reason::MasterDown | Reason::SyncGroup => 3,
            _ => 0,
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Reason::Startup => "start-up",
            Reason::AddressOwner => "address owner",
            Reason::MasterDown => "master down timer expired",
            Reason::HigherPriorityAdvert => "higher priority advert received",
            Reason::InterfaceDown => "interface down",
            Reason::InterfaceUp => "interface up",
            Reason::TrackerFault => "tracked object in fault",
            Reason::TrackerRecovered => "tracked objects recovered",
            Reason::SyncGroup => "sync group",
            Reason::MaintenanceOn => "maintenance on",
            Reason::MaintenanceOff => "maintenance off",
            Reason::Shutdown => "shutdown",
        })
    }
}

/// Something that happened outside the protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// The interface is usable again: the same as `FaultCleared(FaultCause::Interface)`.
    InterfaceUp,
    /// The interface is down: the same as `FaultRaised(FaultCause::Interface)`.
    InterfaceDown,
    /// A cause of FAULT appeared: the instance enters Fault (if running) and stays there until
    /// every cause is cleared.
    FaultRaised(FaultCause),
    /// A cause of FAULT went away; the instance leaves Fault when none is left.
    FaultCleared(FaultCause),
    /// Stop: a master sends a priority-0 advert and releases its addresses.
    Shutdown,
    /// The effective priority changed (tracking); a master advertises it at once. Clamped to
    /// 1..=254; ignored for the address owner (255).
    PriorityChanged(u8),
}

/// Why an instance is in FAULT. An instance leaves FAULT only when every cause is gone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FaultCause {
    /// Its interface is down.
    Interface,
    /// A tracked object with weight 0 failed (or a `track_file` result below -253).
    Tracker,
    /// Another member of its sync group is in FAULT.
    SyncGroup,
    /// The operator put it in maintenance: it resigns (a priority-0 advert when master) and
    /// takes no part until taken out again.
    Maintenance,
}

impl FaultCause {
    const fn bit(self) -> u8 {
        match self {
            FaultCause::Interface => 1,
            FaultCause::Tracker => 2,
            FaultCause::SyncGroup => 4,
            FaultCause::Maintenance => 8,
        }
    }

    /// The reason recorded when this cause puts an instance in FAULT.
    #[must_use]
    pub fn raised_reason(self) -> Reason {
        match self {
            FaultCause::Interface => Reason::InterfaceDown,
            FaultCause::Tracker => Reason::TrackerFault,
            FaultCause::SyncGroup => Reason::SyncGroup,
            FaultCause::Maintenance => Reason::MaintenanceOn,
        }
    }

    /// The reason recorded when clearing this (last) cause takes an instance out of FAULT.
    #[must_use]
    pub fn cleared_reason(self) -> Reason {
        match self {
            FaultCause::Interface => Reason::InterfaceUp,
            FaultCause::Tracker => Reason::TrackerRecovered,
            FaultCause::SyncGroup => Reason::SyncGroup,
            FaultCause::Maintenance => Reason::MaintenanceOff,
        }
    }
}

impl fmt::Display for FaultCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FaultCause::Interface => "interface down",
            FaultCause::Tracker => "tracked object",
            FaultCause::SyncGroup => "sync group",
            FaultCause::Maintenance => "maintenance",
        })
    }
}

/// A set of [`FaultCause`]s.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FaultCauses(u8);

impl FaultCauses {
    /// No cause.
    pub const NONE: FaultCauses = FaultCauses(0);

    /// Whether `cause` is in the set.
    #[must_use]
    pub fn contains(self, cause: FaultCause) -> bool {
        self.0 & cause.bit() != 0
    }

    /// Whether the set is empty.
    #[must_use]
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Adds `cause`.
    pub fn insert(&mut self, cause: FaultCause) {
        self.0 |= cause.bit();
    }

    /// Removes `cause`.
    pub fn remove(&mut self, cause: FaultCause) {
        self.0 &= !cause.bit();
    }

    /// The set without `cause`.
    #[must_use]
    pub fn without(mut self, cause: FaultCause) -> FaultCauses {
        self.remove(cause);
        self
    }
}
