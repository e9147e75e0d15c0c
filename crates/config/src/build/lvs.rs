//! Builders for the lvs part of the configuration.

use super::Cx;
use crate::model::Config;
use crate::model::lvs::*;
use crate::tree::Node;

/// Top-level keywords this part owns.
pub const TOP_KEYWORDS: &[&str] = &[];

/// Builds a top-level statement if it belongs to this part; returns false otherwise.
pub fn build_top(_cx: &mut Cx, _node: &Node, _out: &mut LvsConfig) -> bool {
    false
}

/// Cross-block checks of this part.
pub fn validate(_cx: &mut Cx, _config: &Config) {}
