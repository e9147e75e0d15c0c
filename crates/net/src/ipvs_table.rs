//! The reconciler's tables against the kernel: read what IPVS holds as a
//! [`Table`](keepalived_lb::table::Table), and apply a change set with batched requests.

use keepalived_lb::backend::{kernel_table, messages};
use keepalived_lb::diff::Change;
use keepalived_lb::table::Table;

use crate::ipvs::{BATCH_MAX, Ipvs, IpvsError};

/// What [`Ipvs::apply`] did.
#[derive(Debug, Default)]
pub struct Applied {
    /// The changes that took effect, in order.
    pub done: Vec<Change>,
    /// Why the others did not (each names its service or real server); a socket failure ends
    /// the batch and is the last entry.
    pub errors: Vec<IpvsError>,
}

impl Ipvs {
    /// What the kernel holds: every service with its destinations (services of a protocol we
    /// never create are left out).
    ///
    /// # Errors
    /// As [`Ipvs::services`] and [`Ipvs::dests`].
    pub fn read_table(&mut self) -> Result<Table, IpvsError> {
        let mut dump = Vec::new();
        for svc in self.services()? {
            let dests = self.dests(&svc.key)?;
            dump.push((svc, dests));
        }
        Ok(kernel_table(&dump))
    }

    /// Sends `changes` (one request each, [`BATCH_MAX`] per datagram) and returns those that
    /// took effect and the kernel's reasons for the others. Changes left out are tried again
    /// by the next reconciliation, whose diff still contains them.
    pub fn apply(&mut self, changes: Vec<Change>) -> Applied {
        let msgs = messages(&changes);
        let mut out = Applied {
            done: Vec::with_capacity(changes.len()),
            errors: Vec::new(),
        };
        let mut results = Vec::with_capacity(msgs.len());
        for chunk in msgs.chunks(BATCH_MAX) {
            match self.execute_batch(chunk) {
                Ok(r) => results.extend(r),
                Err(e) => {
                    out.errors.push(e);
                    break;
                }
            }
        }
        for (change, result) in changes.into_iter().zip(results) {
            match result {
                Ok(()) => out.done.push(change),
                Err(e) => out.errors.push(e),
            }
        }
        out
    }
}
