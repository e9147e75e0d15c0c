//! The vrrp part of the model.

use serde::Serialize;

/// Everything of the vrrp part.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VrrpConfig {}
