//! From the syntax tree to the typed model: top-level dispatch to the block builders of each
//! part (global, VRRP, LVS), then cross-block validation.

pub mod cx;
pub mod global;
pub mod lvs;
pub mod vrrp;

pub use cx::Cx;

use crate::model::Config;
use crate::tree::Node;

/// Builds the model from top-level statements; every problem goes to `cx.diags`.
pub fn build_config(cx: &mut Cx, nodes: &[Node]) -> Config {
    let mut config = Config::default();
    for node in nodes {
        let handled = global::build_top(cx, node, &mut config.global)
            || vrrp::build_top(cx, node, &mut config.vrrp)
            || lvs::build_top(cx, node, &mut config.lvs);
        if handled {
            cx.mark("top level", node);
        } else {
            let known: Vec<&str> = global::TOP_KEYWORDS
                .iter()
                .chain(vrrp::TOP_KEYWORDS)
                .chain(lvs::TOP_KEYWORDS)
                .copied()
                .collect();
            cx.unknown(node, "the top level", &known);
        }
    }
    global::validate(cx, &config);
    vrrp::validate(cx, &config);
    lvs::validate(cx, &config);
    config
}
