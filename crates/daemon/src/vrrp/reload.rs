//! SIGHUP in the VRRP engine: the configuration is read by the shared reload task
//! ([`crate::services::loader::Reloader`]) and applied by the driver, which changes only the
//! difference ([`super::reload_apply`]) and answers with a [`ReloadSummary`].

use crate::services::loader;

/// What a reload changed, by instance name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReloadSummary {
    /// Instances started.
    pub added: Vec<String>,
    /// Instances stopped.
    pub removed: Vec<String>,
    /// Instances that took new parameters in place.
    pub changed: Vec<String>,
    /// Instances left as they were.
    pub unchanged: usize,
}

impl std::fmt::Display for ReloadSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list = |v: &[String]| {
            if v.is_empty() {
                "none".to_owned()
            } else {
                v.join(" ")
            }
        };
        write!(
            f,
            "added: {}; removed: {}; changed: {}; unchanged: {}",
            list(&self.added),
            list(&self.removed),
            list(&self.changed),
            self.unchanged
        )
    }
}

/// A checked configuration for the VRRP driver; it answers with a [`ReloadSummary`].
pub type ReloadRequest = loader::ReloadRequest<ReloadSummary>;
