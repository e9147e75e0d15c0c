//! Builders for the VRRP part: `vrrp_instance`, `vrrp_sync_group`, `vrrp_script`,
//! `vrrp_track_process`, `track_file`/`vrrp_track_file`, `static_ipaddress`, `static_routes`
//! and `static_rules`.

mod instance;
mod ip;
mod peers;
mod route;
mod rule;
mod track;
mod validate;

use super::Cx;
use crate::model::Config;
use crate::model::common::Script;
use crate::model::vrrp::*;
use crate::tree::Node;

/// Top-level keywords this part owns.
pub const TOP_KEYWORDS: &[&str] = &[
    "static_ipaddress",
    "static_routes",
    "static_rules",
    "vrrp_sync_group",
    "vrrp_instance",
    "vrrp_script",
    "vrrp_track_process",
    "track_file",
    "vrrp_track_file",
];

/// Builds a top-level statement if it belongs to this part; returns false otherwise.
pub fn build_top(cx: &mut Cx, node: &Node, out: &mut VrrpConfig) -> bool {
    match node.name() {
        "static_ipaddress" => {
            if let Some(block) = cx.block(node) {
                for n in block {
                    if let Some(a) = ip::address(cx, n, ip::Owner::Static) {
                        out.static_addresses.push(a);
                    }
                }
            }
        }
        "static_routes" => {
            if let Some(block) = cx.block(node) {
                for n in block {
                    if let Some(r) = route::route(cx, n, ip::Owner::Static) {
                        out.static_routes.push(r);
                    }
                }
            }
        }
        "static_rules" => {
            if let Some(block) = cx.block(node) {
                for n in block {
                    if let Some(r) = rule::rule(cx, n, ip::Owner::Static) {
                        out.static_rules.push(r);
                    }
                }
            }
        }
        "vrrp_instance" => {
            if let Some(name) = block_name(
                cx,
                node,
                out.instances.iter().map(|i| (i.name.as_str(), i.loc)),
            ) {
                match instance::build(cx, node, &name) {
                    Ok(inst) => out.instances.push(inst),
                    Err(dropped) => out.dropped_instances.push(*dropped),
                }
            }
        }
        "vrrp_sync_group" => {
            if let Some(name) = block_name(
                cx,
                node,
                out.sync_groups.iter().map(|g| (g.name.as_str(), g.loc)),
            ) {
                out.sync_groups.push(track::sync_group(cx, node, &name));
            }
        }
        "vrrp_script" => {
            if let Some(name) = block_name(
                cx,
                node,
                out.scripts.iter().map(|s| (s.name.as_str(), s.loc)),
            ) && let Some(s) = track::vrrp_script(cx, node, &name)
            {
                out.scripts.push(s);
            }
        }
        "vrrp_track_process" => {
            if let Some(name) = block_name(
                cx,
                node,
                out.track_processes.iter().map(|s| (s.name.as_str(), s.loc)),
            ) && let Some(p) = track::track_process(cx, node, &name)
            {
                out.track_processes.push(p);
            }
        }
        "track_file" | "vrrp_track_file" => {
            if node.name() == "vrrp_track_file" {
                // keepalived 2.2.7 accepts it without a word.
                cx.warning(
                    node.keyword.loc,
                    "`vrrp_track_file` is deprecated; use `track_file`",
                );
            }
            if let Some(name) = block_name(
                cx,
                node,
                out.track_files.iter().map(|s| (s.name.as_str(), s.loc)),
            ) && let Some(f) = track::track_file(cx, node, &name)
            {
                out.track_files.push(f);
            }
        }
        _ => return false,
    }
    true
}

/// Cross-block checks of this part.
pub fn validate(cx: &mut Cx, config: &mut Config) {
    validate::validate(cx, config);
}

/// The name of a named block (`vrrp_instance NAME { ... }`): exactly one word, not already
/// used by an earlier block of the same kind. `None` (with an error) when the block is to be
/// skipped.
fn block_name<'a>(
    cx: &mut Cx,
    node: &Node,
    existing: impl IntoIterator<Item = (&'a str, crate::diag::Loc)>,
) -> Option<String> {
    let kw = node.name();
    let Some(tok) = node.args.first() else {
        cx.error(node.keyword.loc, format!("`{kw}` needs a name"));
        return None;
    };
    if let Some(extra) = node.args.get(1) {
        cx.error(
            extra.loc,
            format!(
                "`{kw}` takes exactly one name; `{}` is extra (block skipped)",
                extra.text
            ),
        );
        return None;
    }
    if node.block.is_none() {
        cx.error(
            node.keyword.loc,
            format!("`{kw} {}` needs a block {{ ... }}", tok.text),
        );
        return None;
    }
    if let Some((_, first)) = existing.into_iter().find(|(n, _)| *n == tok.text) {
        cx.error(
            tok.loc,
            format!(
                "{kw} `{}` is already defined (line {}); this one is skipped",
                tok.text, first.line
            ),
        );
        return None;
    }
    Some(tok.text.clone())
}

/// A `NAME [weight N [reverse|noreverse]]` list (`track_interface { ... }` etc.), weights in
/// `-range..=range`.
fn track_list(cx: &mut Cx, node: &Node, range: i32) -> Vec<Track> {
    let mut out = Vec::new();
    let Some(block) = cx.block(node) else {
        return out;
    };
    let what = node.name();
    for entry in block {
        if entry.block.is_some() {
            cx.error(
                entry.keyword.loc,
                format!("`{what}` entries do not take a block"),
            );
            continue;
        }
        let mut track = Track {
            name: entry.name().to_owned(),
            weight: None,
            reverse: false,
            loc: entry.keyword.loc,
        };
        let mut ok = true;
        let mut i = 0;
        while let Some(tok) = entry.args.get(i) {
            match tok.text.as_str() {
                "weight" => {
                    i += 1;
                    match entry.args.get(i) {
                        Some(w) => {
                            match cx.int_token::<i32>(&format!("{what} weight"), w, -range..=range)
                            {
                                Some(v) => track.weight = Some(v),
                                None => ok = false,
                            }
                        }
                        None => {
                            cx.error(tok.loc, format!("`{what}`: `weight` needs a value"));
                            ok = false;
                        }
                    }
                }
                "reverse" => track.reverse = true,
                "noreverse" | "no_reverse" => track.reverse = false,
                other => {
                    cx.error(
                        tok.loc,
                        format!("`{what}` entry `{}`: unknown option `{other}`", track.name),
                    );
                    ok = false;
                }
            }
            i += 1;
        }
        if track.reverse && track.weight.is_none() {
            // keepalived accepts `reverse` only after a weight.
            cx.error(
                entry.keyword.loc,
                format!("`{what}` entry `{}`: `reverse` needs a weight", track.name),
            );
            ok = false;
        }
        if ok {
            out.push(track);
        }
    }
    out
}

/// A notify script (`notify_master "/path arg" [user [group]]`), refusing a second one.
fn notify_script(cx: &mut Cx, node: &Node, slot: &mut Option<Script>) {
    if slot.is_some() {
        cx.error(
            node.keyword.loc,
            format!(
                "`{}` script already specified - this one is ignored",
                node.name()
            ),
        );
        return;
    }
    cx.at_most(node, 3);
    *slot = cx.script(node, 0);
}

/// `notify_*` keywords shared by instances and sync groups; true if `node` was one.
fn notify_keyword(cx: &mut Cx, node: &Node, notify: &mut Notify) -> bool {
    let slot = match node.name() {
        "notify_master" => &mut notify.master,
        "notify_backup" => &mut notify.backup,
        "notify_fault" => &mut notify.fault,
        "notify_stop" => &mut notify.stop,
        "notify" => &mut notify.any,
        _ => return false,
    };
    notify_script(cx, node, slot);
    true
}

/// A keyword that takes no argument (warns about extras).
fn flag(cx: &mut Cx, node: &Node) -> bool {
    cx.at_most(node, 0);
    cx.no_block(node);
    true
}

/// A keyword with an optional `<BOOL>` argument.
fn opt_bool(cx: &mut Cx, node: &Node) -> Option<bool> {
    cx.at_most(node, 1);
    Some(cx.bool_opt(node, 0))
}
