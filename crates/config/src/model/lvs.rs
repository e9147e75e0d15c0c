//! The lvs part of the model.

use serde::Serialize;

/// Everything of the lvs part.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LvsConfig {}
