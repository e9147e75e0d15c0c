//! Builders for the global part of the configuration: the top-level daemon settings,
//! `global_defs`, `track_group`, `garp_group`, `linkbeat_interfaces`,
//! `interface_up_down_delays` and `bfd_instance`.

mod blocks;
mod defs;
mod defs_lvs;
mod defs_more;
mod keywords;

use super::Cx;
use super::cx::parse_bool;
use crate::model::Config;
use crate::model::global::*;
use crate::tree::Node;

/// Top-level keywords this part owns.
pub const TOP_KEYWORDS: &[&str] = &[
    "linkbeat_use_polling",
    "net_namespace",
    "net_namespace_ipvs",
    "namespace_with_ipsets",
    "use_pid_dir",
    "instance",
    "child_wait_time",
    "global_defs",
    "track_group",
    "garp_group",
    "linkbeat_interfaces",
    "interface_up_down_delays",
    "bfd_instance",
];

/// Builds a top-level statement if it belongs to this part; returns false otherwise.
pub fn build_top(cx: &mut Cx, node: &Node, out: &mut GlobalConfig) -> bool {
    match node.name() {
        "global_defs" => {
            if let Some(children) = cx.block(node) {
                cx.at_most(node, 0);
                defs::build(cx, children, &mut out.defs);
            }
        }
        "linkbeat_use_polling" => out.linkbeat_use_polling = flag(cx, node),
        "net_namespace" => {
            no_block(cx, node);
            if let Some(name) = cx.string(node) {
                cx.at_most(node, 1);
                if out.net_namespace.is_some() {
                    cx.error(
                        node.keyword.loc,
                        format!("duplicate `net_namespace` ({name}) ignored"),
                    );
                } else {
                    out.net_namespace = Some(name);
                    out.use_pid_dir = true;
                }
            }
        }
        "net_namespace_ipvs" => {
            no_block(cx, node);
            cx.at_most(node, 1);
            let name = node
                .args
                .first()
                .map(|t| t.text.clone())
                .unwrap_or_default();
            if out.net_namespace_ipvs.is_some() {
                cx.error(node.keyword.loc, "duplicate `net_namespace_ipvs` ignored");
            } else {
                out.net_namespace_ipvs = Some(name);
            }
        }
        "namespace_with_ipsets" => out.namespace_with_ipsets = flag(cx, node),
        "use_pid_dir" => out.use_pid_dir = flag(cx, node),
        "instance" => {
            no_block(cx, node);
            if let Some(name) = cx.string(node) {
                cx.at_most(node, 1);
                if out.instance.is_some() {
                    cx.error(
                        node.keyword.loc,
                        format!("duplicate `instance` ({name}) ignored"),
                    );
                } else {
                    out.instance = Some(name);
                    out.use_pid_dir = true;
                }
            }
        }
        "child_wait_time" => {
            no_block(cx, node);
            cx.at_most(node, 1);
            if let Some(secs) = cx.int::<u32>(node, 0, 0..=u32::MAX) {
                out.child_wait_time = std::time::Duration::from_secs(secs.into());
            }
        }
        "track_group" => blocks::track_group(cx, node, out),
        "garp_group" => blocks::garp_group(cx, node, out),
        "linkbeat_interfaces" => blocks::linkbeat_interfaces(cx, node, out),
        "interface_up_down_delays" => blocks::interface_up_down_delays(cx, node, out),
        "bfd_instance" => blocks::bfd_instance(cx, node, out),
        _ => return false,
    }
    true
}

/// Cross-block checks of this part.
pub fn validate(cx: &mut Cx, config: &mut Config) {
    let config = &*config;
    let defs = &config.global.defs;
    for (what, fifo) in [
        ("notify_fifo", &defs.notify_fifo),
        ("vrrp_notify_fifo", &defs.vrrp_notify_fifo),
        ("lvs_notify_fifo", &defs.lvs_notify_fifo),
    ] {
        if let (Some(script), None) = (&fifo.script, &fifo.path) {
            cx.warning(
                script.loc,
                format!("`{what}_script` has no `{what}` to read; it will not be run"),
            );
        }
    }
}

/// A keyword without arguments (extra arguments are warned about).
pub(super) fn flag(cx: &mut Cx, node: &Node) -> bool {
    no_block(cx, node);
    cx.at_most(node, 0);
    true
}

/// Errors when a keyword that takes no block has one.
pub(super) fn no_block(cx: &mut Cx, node: &Node) {
    cx.no_block(node);
}

/// keepalived's optional `<BOOL>`: absent is true; an invalid word is an error and the
/// statement is ignored (None).
pub(super) fn opt_bool(cx: &mut Cx, node: &Node) -> Option<bool> {
    no_block(cx, node);
    cx.at_most(node, 1);
    match node.args.first() {
        None => Some(true),
        Some(tok) => {
            let v = parse_bool(&tok.text);
            if v.is_none() {
                cx.error(
                    tok.loc,
                    format!(
                        "`{}` expects on|off|true|false|yes|no, got `{}`",
                        node.name(),
                        tok.text
                    ),
                );
            }
            v
        }
    }
}

/// A single string argument (error when missing, warning for extra words).
pub(super) fn one_string(cx: &mut Cx, node: &Node) -> Option<String> {
    no_block(cx, node);
    let s = cx.string(node)?;
    cx.at_most(node, 1);
    Some(s)
}
