//! `vrrp_script`, `track_file`, `vrrp_track_process` and `vrrp_sync_group` blocks.

use std::path::PathBuf;
use std::time::Duration;

use super::{Cx, flag, notify_keyword, opt_bool, track_list};
use crate::model::vrrp::*;
use crate::tree::Node;

/// Keywords of `vrrp_script`.
pub const SCRIPT_KEYWORDS: &[&str] = &[
    "script",
    "interval",
    "timeout",
    "weight",
    "rise",
    "fall",
    "user",
    "init_fail",
];

/// Keywords of `vrrp_track_process`.
pub const PROCESS_KEYWORDS: &[&str] = &[
    "process",
    "param_match",
    "weight",
    "quorum",
    "quorum_max",
    "delay",
    "terminate_delay",
    "fork_delay",
    "full_command",
];

/// Keywords of `track_file`.
pub const FILE_KEYWORDS: &[&str] = &["file", "weight", "init_file"];

/// Keywords of `vrrp_sync_group`.
pub const SYNC_GROUP_KEYWORDS: &[&str] = &[
    "group",
    "track_interface",
    "track_script",
    "track_file",
    "track_process",
    "track_bfd",
    "notify_backup",
    "notify_master",
    "notify_fault",
    "notify_stop",
    "notify",
    "smtp_alert",
    "global_tracking",
    "sync_group_tracking_weight",
    "notify_priority_changes",
];

/// Runs `f` on each child that is a keyword of `known` (marking it), reporting the others.
fn each(
    cx: &mut Cx,
    node: &Node,
    block: &'static str,
    known: &[&str],
    mut f: impl FnMut(&mut Cx, &Node) -> Option<()>,
) {
    for n in node.children() {
        if known.contains(&n.name()) {
            let _ = f(cx, n);
            cx.mark(block, n);
        } else {
            cx.unknown(n, block, known);
        }
    }
}

/// `weight N [reverse|noreverse]` within `-range..=range`.
fn weight(cx: &mut Cx, n: &Node, range: i32) -> Option<(i32, bool)> {
    cx.at_most(n, 2);
    let w = cx.int(n, 0, -range..=range)?;
    let reverse = match n.args.get(1) {
        None => false,
        Some(t) if t.text == "reverse" => true,
        Some(t) if t.text == "noreverse" || t.text == "no_reverse" => false,
        Some(t) => {
            cx.error(
                t.loc,
                format!("`weight`: unknown option `{}` (expected reverse)", t.text),
            );
            return None;
        }
    };
    Some((w, reverse))
}

/// Whole seconds (keepalived reads these as integers).
fn whole_secs(cx: &mut Cx, n: &Node, lo: u32, hi: u32) -> Option<Duration> {
    cx.at_most(n, 1);
    cx.int(n, 0, lo..=hi)
        .map(|s| Duration::from_secs(u64::from(s)))
}

/// `vrrp_script NAME { ... }`; `None` without `script`.
pub fn vrrp_script(cx: &mut Cx, node: &Node, name: &str) -> Option<VrrpScript> {
    let mut script = None;
    let mut s = VrrpScript {
        name: name.to_owned(),
        loc: node.args.first().map_or(node.keyword.loc, |t| t.loc),
        script: crate::model::common::Script::new("", None, None, node.keyword.loc),
        interval: Duration::from_secs(1),
        timeout: None,
        weight: 0,
        reverse: false,
        rise: 1,
        fall: 1,
        user: None,
        group: None,
        init_fail: false,
    };
    each(cx, node, "vrrp_script", SCRIPT_KEYWORDS, |cx, n| {
        cx.no_block(n);
        match n.name() {
            "script" => {
                cx.at_most(n, 1);
                // keepalived runs the first word (or the quoted string) only: words after it
                // are neither arguments nor a user (that is `user`).
                let mut sc = cx.script(n, 0)?;
                sc.user = None;
                sc.group = None;
                script = Some(sc);
            }
            "interval" => s.interval = whole_secs(cx, n, 1, 4294)?,
            "timeout" => s.timeout = Some(whole_secs(cx, n, 1, 4294)?),
            "weight" => (s.weight, s.reverse) = weight(cx, n, 253)?,
            "rise" => {
                cx.at_most(n, 1);
                s.rise = cx.int(n, 0, 1u32..=i32::MAX as u32)?;
            }
            "fall" => {
                cx.at_most(n, 1);
                s.fall = cx.int(n, 0, 1u32..=i32::MAX as u32)?;
            }
            "user" => {
                cx.at_most(n, 2);
                s.user = Some(cx.arg(n, 0)?.text.clone());
                s.group = n.args.get(1).map(|t| t.text.clone());
            }
            "init_fail" => s.init_fail = flag(cx, n),
            _ => {}
        }
        Some(())
    });
    match script {
        Some(sc) => {
            s.script = sc;
            Some(s)
        }
        None => {
            cx.error(
                s.loc,
                format!("no `script` set for vrrp_script {name} - removed"),
            );
            None
        }
    }
}

/// `track_file NAME { ... }`; `None` without `file`.
pub fn track_file(cx: &mut Cx, node: &Node, name: &str) -> Option<TrackFile> {
    let mut file = None;
    let mut f = TrackFile {
        name: name.to_owned(),
        loc: node.args.first().map_or(node.keyword.loc, |t| t.loc),
        file: PathBuf::new(),
        weight: 1,
        reverse: false,
        init_file: None,
    };
    each(cx, node, "track_file", FILE_KEYWORDS, |cx, n| {
        cx.no_block(n);
        match n.name() {
            "file" => {
                cx.at_most(n, 1);
                let tok = cx.arg(n, 0)?;
                if file.is_some() {
                    cx.error(
                        tok.loc,
                        format!("track_file {name}: `file` already set - ignored"),
                    );
                    return None;
                }
                file = Some(PathBuf::from(&tok.text));
            }
            "weight" => (f.weight, f.reverse) = weight(cx, n, 254)?,
            "init_file" => {
                cx.at_most(n, 2);
                let mut init = InitFile {
                    value: 0,
                    overwrite: false,
                };
                for (i, t) in n.args.iter().enumerate() {
                    if t.text == "overwrite" {
                        init.overwrite = true;
                    } else if i == 0 {
                        init.value =
                            cx.int_token::<i64>("init_file", t, -2147483648..=2147483647)?;
                    } else {
                        cx.error(t.loc, format!("`init_file`: unknown option `{}`", t.text));
                        return None;
                    }
                }
                f.init_file = Some(init);
            }
            _ => {}
        }
        Some(())
    });
    match file {
        Some(p) => {
            f.file = p;
            Some(f)
        }
        None => {
            cx.error(
                f.loc,
                format!("no `file` set for track_file {name} - removed"),
            );
            None
        }
    }
}

/// `vrrp_track_process NAME { ... }`; `None` without `process`.
pub fn track_process(cx: &mut Cx, node: &Node, name: &str) -> Option<TrackProcess> {
    let mut process = None;
    let mut p = TrackProcess {
        name: name.to_owned(),
        loc: node.args.first().map_or(node.keyword.loc, |t| t.loc),
        process: String::new(),
        params: Vec::new(),
        param_match: None,
        weight: 1,
        reverse: false,
        quorum: 1,
        quorum_max: None,
        fork_delay: Duration::ZERO,
        terminate_delay: Duration::ZERO,
        full_command: false,
    };
    each(cx, node, "vrrp_track_process", PROCESS_KEYWORDS, |cx, n| {
        cx.no_block(n);
        match n.name() {
            "process" => {
                let tok = cx.arg(n, 0)?;
                process = Some(tok.text.clone());
                p.params = n.args.iter().skip(1).map(|t| t.text.clone()).collect();
            }
            "param_match" => {
                cx.at_most(n, 1);
                p.param_match = Some(cx.choice(
                    n,
                    0,
                    &[
                        ("partial", ParamMatch::Partial),
                        ("initial", ParamMatch::Initial),
                    ],
                )?);
            }
            "weight" => (p.weight, p.reverse) = weight(cx, n, 254)?,
            "quorum" => {
                cx.at_most(n, 1);
                p.quorum = cx.int(n, 0, 1u32..=65535)?;
            }
            "quorum_max" => {
                cx.at_most(n, 1);
                p.quorum_max = Some(cx.int(n, 0, 0u32..=65535)?);
            }
            "delay" => {
                cx.at_most(n, 1);
                let d = cx.secs(n, 0, 0.0, 65535.0)?;
                p.fork_delay = d;
                p.terminate_delay = d;
            }
            "terminate_delay" => {
                cx.at_most(n, 1);
                p.terminate_delay = cx.secs(n, 0, 0.0, 65535.0)?;
            }
            "fork_delay" => {
                cx.at_most(n, 1);
                p.fork_delay = cx.secs(n, 0, 0.0, 65535.0)?;
            }
            "full_command" => p.full_command = flag(cx, n),
            _ => {}
        }
        Some(())
    });
    if let Some(max) = p.quorum_max
        && max < p.quorum
    {
        cx.error(
            p.loc,
            format!(
                "vrrp_track_process {name}: quorum_max {max} is less than quorum {}",
                p.quorum
            ),
        );
        return None;
    }
    match process {
        Some(proc_name) => {
            p.process = proc_name;
            Some(p)
        }
        None => {
            cx.error(
                p.loc,
                format!("no `process` set for vrrp_track_process {name} - removed"),
            );
            None
        }
    }
}

/// `vrrp_sync_group NAME { ... }`.
pub fn sync_group(cx: &mut Cx, node: &Node, name: &str) -> SyncGroup {
    let mut g = SyncGroup::new(name, node.args.first().map_or(node.keyword.loc, |t| t.loc));
    let mut group_seen = false;
    each(cx, node, "vrrp_sync_group", SYNC_GROUP_KEYWORDS, |cx, n| {
        if !matches!(
            n.name(),
            "group"
                | "track_interface"
                | "track_script"
                | "track_file"
                | "track_process"
                | "track_bfd"
        ) {
            cx.no_block(n);
        }
        if notify_keyword(cx, n, &mut g.notify) {
            return Some(());
        }
        match n.name() {
            "group" => {
                if group_seen {
                    cx.error(
                        n.keyword.loc,
                        format!("group list already specified for sync group {name} - ignored"),
                    );
                    return None;
                }
                group_seen = true;
                for m in cx.block(n)? {
                    for t in m.words() {
                        if g.members.iter().any(|x| x.name == t.text) {
                            cx.error(
                                t.loc,
                                format!("sync group {name}: `{}` is listed twice", t.text),
                            );
                        } else {
                            g.members.push(Named {
                                name: t.text.clone(),
                                loc: t.loc,
                            });
                        }
                    }
                }
            }
            "track_interface" => g.track_interfaces.extend(track_list(cx, n, 253)),
            "track_script" => g.track_scripts.extend(track_list(cx, n, 253)),
            "track_file" => g.track_files.extend(track_list(cx, n, 254)),
            "track_process" => g.track_processes.extend(track_list(cx, n, 254)),
            "track_bfd" => g.track_bfds.extend(track_list(cx, n, 253)),
            "smtp_alert" => g.smtp_alert = opt_bool(cx, n),
            "notify_priority_changes" => g.notify_priority_changes = opt_bool(cx, n),
            "global_tracking" => {
                flag(cx, n);
                cx.error(
                    n.keyword.loc,
                    format!("({name}) `global_tracking` is deprecated; use track_interface/script/file on the sync group"),
                );
                g.tracking_weight = true;
            }
            "sync_group_tracking_weight" => g.tracking_weight = flag(cx, n),
            _ => {}
        }
        Some(())
    });
    g
}
