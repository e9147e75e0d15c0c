//! From the syntax tree to the typed model: top-level dispatch to the block builders of each
//! part (global, VRRP, LVS), then cross-block validation.

pub mod cx;
pub mod global;
pub mod lvs;
pub mod vrrp;

pub use cx::Cx;

use crate::model::Config;
use crate::tree::Node;

/// Builds the model one top-level statement at a time.
#[derive(Debug, Default)]
pub struct ConfigBuilder {
    /// Diagnostics and keyword bookkeeping.
    pub cx: Cx,
    /// The model so far.
    pub config: Config,
}

impl ConfigBuilder {
    /// Adds one complete top-level statement.
    pub fn top(&mut self, node: &Node) {
        let (cx, config) = (&mut self.cx, &mut self.config);
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

    /// Runs the cross-block checks, which also correct the model as keepalived corrects its
    /// own (a reset option, a dropped instance), and returns the model and the context.
    pub fn finish(mut self) -> (Config, Cx) {
        global::validate(&mut self.cx, &mut self.config);
        vrrp::validate(&mut self.cx, &mut self.config);
        lvs::validate(&mut self.cx, &mut self.config);
        (self.config, self.cx)
    }
}

/// Builds the model from top-level statements; every problem goes to `cx.diags`.
pub fn build_config(cx: &mut Cx, nodes: &[Node]) -> Config {
    let mut builder = ConfigBuilder {
        cx: std::mem::take(cx),
        config: Config::default(),
    };
    for node in nodes {
        builder.top(node);
    }
    let (config, built) = builder.finish();
    *cx = built;
    config
}
