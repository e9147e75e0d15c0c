//! SIGHUP in the VRRP engine: the configuration is read by the shared reload task
//! ([`crate::services::loader::Reloader`]) and applied by the driver, which changes only the
//! difference ([`super::reload_apply`]) and answers with a [`ReloadSummary`].

use crate::services::loader;

pub use crate::services::loader::ReloadSummary;

/// A checked configuration for the VRRP driver; it answers with a [`ReloadSummary`].
pub type ReloadRequest = loader::ReloadRequest<ReloadSummary>;
