//! Tracking: `vrrp_script`, `track_file`, `vrrp_track_process`, the `track_*` lists of
//! instances and sync groups, and `vrrp_sync_group`.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use super::Notify;
use crate::diag::Loc;
use crate::model::common::Script;

/// One entry of a `track_interface`, `track_script`, `track_file`, `track_process` or
/// `track_bfd` list: `NAME [weight N [reverse|noreverse]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Track {
    /// The interface, or the name of the script/file/process/BFD instance.
    pub name: String,
    /// `weight` (`None`: the tracked object's own weight; 0 for interfaces).
    pub weight: Option<i32>,
    /// `reverse`: adjust the priority the other way.
    pub reverse: bool,
    /// Where it was configured.
    #[serde(skip)]
    pub loc: Loc,
}

/// A name with its place (sync group members).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Named {
    /// The name.
    pub name: String,
    /// Where it was written.
    #[serde(skip)]
    pub loc: Loc,
}

/// A `vrrp_script` block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VrrpScript {
    /// Its name.
    pub name: String,
    /// Where it was declared.
    #[serde(skip)]
    pub loc: Loc,
    /// `script` (required; a block without one is dropped).
    pub script: Script,
    /// `interval` (whole seconds, default 1).
    #[serde(serialize_with = "crate::model::common::secs")]
    pub interval: Duration,
    /// `timeout` (whole seconds; default: the interval).
    #[serde(serialize_with = "crate::model::common::opt_secs")]
    pub timeout: Option<Duration>,
    /// `weight` (-253..=253, default 0: failure means fault).
    pub weight: i32,
    /// `weight N reverse`.
    pub reverse: bool,
    /// `rise` (default 1).
    pub rise: u32,
    /// `fall` (default 1).
    pub fall: u32,
    /// `user USER [GROUP]`.
    pub user: Option<String>,
    /// The group given after `user`.
    pub group: Option<String>,
    /// `init_fail`: start in the failed state.
    pub init_fail: bool,
}

/// `init_file [VALUE] [overwrite]` of a `track_file`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct InitFile {
    /// The value written (default 0).
    pub value: i64,
    /// `overwrite`: write even if the file exists.
    pub overwrite: bool,
}

/// A `track_file` (or deprecated `vrrp_track_file`) block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrackFile {
    /// Its name.
    pub name: String,
    /// Where it was declared.
    #[serde(skip)]
    pub loc: Loc,
    /// `file` (required).
    pub file: PathBuf,
    /// `weight` (default 1).
    pub weight: i32,
    /// `weight N reverse`.
    pub reverse: bool,
    /// `init_file`.
    pub init_file: Option<InitFile>,
}

/// `param_match` of a `vrrp_track_process`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamMatch {
    /// All configured parameters must match exactly (the default).
    #[default]
    Exact,
    /// `partial`: the first configured parameters match exactly.
    Partial,
    /// `initial`: like partial, and the last may be a prefix.
    Initial,
}

/// A `vrrp_track_process` block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrackProcess {
    /// Its name.
    pub name: String,
    /// Where it was declared.
    #[serde(skip)]
    pub loc: Loc,
    /// `process NAME [PARAM...]`: the process name (required).
    pub process: String,
    /// The parameters after the process name.
    pub params: Vec<String>,
    /// `param_match` (`None`: exact match of the parameters, if any).
    pub param_match: Option<ParamMatch>,
    /// `weight` (-254..=254, default 1).
    pub weight: i32,
    /// `weight N reverse`.
    pub reverse: bool,
    /// `quorum` (default 1).
    pub quorum: u32,
    /// `quorum_max` (default unlimited).
    pub quorum_max: Option<u32>,
    /// `fork_delay` (default 0).
    #[serde(serialize_with = "crate::model::common::secs")]
    pub fork_delay: Duration,
    /// `terminate_delay` (default 0).
    #[serde(serialize_with = "crate::model::common::secs")]
    pub terminate_delay: Duration,
    /// `full_command`: match the whole command line.
    pub full_command: bool,
}

/// A `vrrp_sync_group` block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncGroup {
    /// Its name.
    pub name: String,
    /// Where it was declared.
    #[serde(skip)]
    pub loc: Loc,
    /// `group { ... }`: the member instances.
    pub members: Vec<Named>,
    /// `track_interface` entries.
    pub track_interfaces: Vec<Track>,
    /// `track_script` entries.
    pub track_scripts: Vec<Track>,
    /// `track_file` entries.
    pub track_files: Vec<Track>,
    /// `track_process` entries.
    pub track_processes: Vec<Track>,
    /// `track_bfd` entries.
    pub track_bfds: Vec<Track>,
    /// `notify_*` scripts.
    pub notify: Notify,
    /// `smtp_alert` (`None`: the global setting).
    pub smtp_alert: Option<bool>,
    /// `global_tracking` (deprecated) or `sync_group_tracking_weight`: members keep their
    /// tracking weights.
    pub tracking_weight: bool,
    /// `notify_priority_changes` (`None`: the global setting).
    pub notify_priority_changes: Option<bool>,
}

impl SyncGroup {
    /// An empty group.
    pub fn new(name: &str, loc: Loc) -> Self {
        Self {
            name: name.to_owned(),
            loc,
            members: Vec::new(),
            track_interfaces: Vec::new(),
            track_scripts: Vec::new(),
            track_files: Vec::new(),
            track_processes: Vec::new(),
            track_bfds: Vec::new(),
            notify: Notify::default(),
            smtp_alert: None,
            tracking_weight: false,
            notify_priority_changes: None,
        }
    }
}
