//! The global part of the model.

use serde::Serialize;

/// Everything of the global part.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GlobalConfig {}
