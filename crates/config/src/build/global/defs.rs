//! `global_defs`: dispatch, and the general, e-mail, LVS, firewall, FIFO, SNMP, D-Bus and
//! reload keywords (the VRRP and process keywords are in `defs_more`).

use std::net::IpAddr;
use std::time::Duration;

use super::keywords::DEFS_KEYWORDS;
use super::{defs_lvs, defs_more, flag, no_block, one_string, opt_bool};
use crate::build::Cx;
use crate::model::global::*;
use crate::tree::Node;

const BLOCK: &str = "global_defs";

/// Linux's limit on process names (TASK_COMM_LEN - 1).
const MAX_PROCESS_NAME: usize = 15;

/// Builds the statements of one `global_defs` block into `defs`.
pub fn build(cx: &mut Cx, children: &[Node], defs: &mut GlobalDefs) {
    for node in children {
        if keyword(cx, node, defs) || defs_more::keyword(cx, node, defs) {
            cx.mark(BLOCK, node);
        } else {
            cx.unknown(node, "global_defs", DEFS_KEYWORDS);
        }
    }
    // Values that follow another setting unless given.
    if !defs.explicit.garp_lower_prio_delay {
        defs.vrrp_garp_lower_prio_delay = defs.vrrp_garp_master_delay;
    }
    if !defs.explicit.garp_lower_prio_repeat {
        defs.vrrp_garp_lower_prio_repeat = defs.vrrp_garp_master_repeat;
    }
    if !defs.explicit.vmac_addr_prefix {
        defs.vmac_addr_prefix = defs.vmac_prefix.clone();
    }
}

/// The general keywords; false when `node` is not one of them.
fn keyword(cx: &mut Cx, node: &Node, d: &mut GlobalDefs) -> bool {
    match node.name() {
        "process_names" => {
            flag(cx, node);
            d.vrrp_process_name = Some("keepalived_vrrp".into());
            d.checker_process_name = Some("keepalived_lvs".into());
            d.bfd_process_name = Some("keepalived_bfd".into());
        }
        "process_name" => set_process_name(cx, node, &mut d.process_name),
        "vrrp_process_name" => set_process_name(cx, node, &mut d.vrrp_process_name),
        "checker_process_name" => set_process_name(cx, node, &mut d.checker_process_name),
        "lvs_process_name" => {
            cx.warning(
                node.keyword.loc,
                "`lvs_process_name` is deprecated; use `checker_process_name`",
            );
            set_process_name(cx, node, &mut d.checker_process_name);
        }
        "bfd_process_name" => set_process_name(cx, node, &mut d.bfd_process_name),
        "use_symlink_paths" => set_opt_bool(cx, node, &mut d.use_symlink_paths),
        "set_supplementary_groups" => set_opt_bool(cx, node, &mut d.set_supplementary_groups),
        "router_id" => set_string(cx, node, &mut d.router_id),
        "notification_email_from" => set_string(cx, node, &mut d.notification_email_from),
        "smtp_server" => smtp_server(cx, node, d),
        "smtp_helo_name" => set_string(cx, node, &mut d.smtp_helo_name),
        "smtp_connect_timeout" => {
            no_block(cx, node);
            cx.at_most(node, 1);
            if let Some(mut secs) = cx.int::<u32>(node, 0, 0..=4294) {
                if secs == 0 {
                    cx.error(
                        node.args_loc(),
                        "`smtp_connect_timeout` must be greater than 0; using 1",
                    );
                    secs = 1;
                }
                d.smtp_connect_timeout = Duration::from_secs(secs.into());
            }
        }
        "notification_email" => {
            if let Some(children) = cx.block(node) {
                cx.at_most(node, 0);
                let before = d.notification_email.len();
                for child in children {
                    no_block(cx, child);
                    d.notification_email
                        .extend(child.words().map(|t| t.text.clone()));
                }
                if d.notification_email.len() == before {
                    cx.error(node.keyword.loc, "empty `notification_email` block");
                }
            }
        }
        "smtp_alert" => set_opt_bool_some(cx, node, &mut d.smtp_alert),
        "smtp_alert_vrrp" => set_opt_bool_some(cx, node, &mut d.smtp_alert_vrrp),
        "smtp_alert_checker" => set_opt_bool_some(cx, node, &mut d.smtp_alert_checker),
        "checker_log_all_failures" => set_opt_bool(cx, node, &mut d.checker_log_all_failures),
        "no_email_faults" => d.no_email_faults = flag(cx, node),
        "no_checker_emails" => set_opt_bool(cx, node, &mut d.no_checker_emails),
        "startup_script" => script(cx, node, &mut d.startup_script),
        "shutdown_script" => script(cx, node, &mut d.shutdown_script),
        "startup_script_timeout" => script_timeout(cx, node, &mut d.startup_script_timeout),
        "shutdown_script_timeout" => script_timeout(cx, node, &mut d.shutdown_script_timeout),
        "script_user" => {
            no_block(cx, node);
            if let Some(user) = cx.string(node) {
                cx.at_most(node, 2);
                d.script_user = Some((user, node.args.get(1).map(|t| t.text.clone())));
                d.script_user_loc = node.loc();
            }
        }
        "enable_script_security" => d.enable_script_security = flag(cx, node),
        "dynamic_interfaces" => {
            no_block(cx, node);
            cx.at_most(node, 1);
            d.dynamic_interfaces = DynamicInterfaces::Enabled;
            if let Some(tok) = node.args.first() {
                if tok.text == "allow_if_changes" {
                    d.dynamic_interfaces = DynamicInterfaces::AllowIfChanges;
                } else {
                    cx.error(
                        tok.loc,
                        format!(
                            "unknown `dynamic_interfaces` option `{}` (expected allow_if_changes)",
                            tok.text
                        ),
                    );
                }
            }
        }
        "default_interface" => {
            if let Some(name) = one_string(cx, node) {
                d.default_interface = name;
            }
        }
        "disable_local_igmp" => d.disable_local_igmp = flag(cx, node),
        "lvs_timeouts" => defs_lvs::lvs_timeouts(cx, node, d),
        "lvs_flush" => d.lvs_flush = flag(cx, node),
        "lvs_flush_on_stop" | "lvs_flush_onstop" => {
            no_block(cx, node);
            cx.at_most(node, 1);
            match node.args.first() {
                None => d.lvs_flush_on_stop = LvsFlushOnStop::Full,
                Some(t) if t.text == "VS" => d.lvs_flush_on_stop = LvsFlushOnStop::Vs,
                Some(t) => cx.error(
                    t.loc,
                    format!(
                        "unknown `lvs_flush_on_stop` type `{}` (expected VS)",
                        t.text
                    ),
                ),
            }
        }
        "lvs_sync_daemon" => defs_lvs::lvs_sync_daemon(cx, node, d),
        "vrrp_iptables" => defs_lvs::vrrp_iptables(cx, node, d),
        "vrrp_ipsets" => defs_lvs::vrrp_ipsets(cx, node, d),
        "nftables" => {
            if let Some(name) = defs_lvs::nft_table(cx, node, &d.nftables, "keepalived") {
                d.nftables = Some(name);
                d.nftables_priority = -1;
            }
        }
        "nftables_priority" => defs_lvs::set_nft_priority(cx, node, &mut d.nftables_priority),
        "nftables_ifindex" => d.nftables_ifindex = flag(cx, node),
        "nftables_counters" => d.nftables_counters = flag(cx, node),
        "nftables_ipvs" => {
            if let Some(name) = defs_lvs::nft_table(cx, node, &d.nftables_ipvs, "keepalived_ipvs") {
                d.nftables_ipvs = Some(name);
                d.nftables_ipvs_priority = -1;
                d.nftables_ipvs_start_fwmark = 1000;
            }
        }
        "nftables_ipvs_priority" => {
            defs_lvs::set_nft_priority(cx, node, &mut d.nftables_ipvs_priority)
        }
        "nftables_ipvs_start_fwmark" => {
            no_block(cx, node);
            cx.at_most(node, 1);
            if let Some(v) = cx.int::<u32>(node, 0, 1..=u32::MAX) {
                d.nftables_ipvs_start_fwmark = v;
            }
        }
        "notify_fifo" => notify_fifo(cx, node, &mut d.notify_fifo),
        "vrrp_notify_fifo" => notify_fifo(cx, node, &mut d.vrrp_notify_fifo),
        "lvs_notify_fifo" => notify_fifo(cx, node, &mut d.lvs_notify_fifo),
        "notify_fifo_script" => script(cx, node, &mut d.notify_fifo.script),
        "vrrp_notify_fifo_script" => script(cx, node, &mut d.vrrp_notify_fifo.script),
        "lvs_notify_fifo_script" => script(cx, node, &mut d.lvs_notify_fifo.script),
        "fifo_write_vrrp_states_on_reload" => d.fifo_write_vrrp_states_on_reload = flag(cx, node),
        "snmp_socket" => {
            no_block(cx, node);
            if node.args.len() > 1 {
                cx.error(
                    node.args_loc(),
                    "too many arguments for `snmp_socket`; ignored",
                );
            } else if let Some(sock) = cx.string(node) {
                if d.snmp.socket.is_some() {
                    cx.error(
                        node.keyword.loc,
                        format!("`snmp_socket` already set; `{sock}` ignored"),
                    );
                } else if sock.len() > 4095 {
                    cx.error(node.args_loc(), "`snmp_socket` name too long");
                } else {
                    d.snmp.socket = Some(sock);
                }
            }
        }
        "enable_traps" => d.snmp.traps = flag(cx, node),
        "enable_snmp_vrrp" | "enable_snmp_keepalived" => d.snmp.vrrp = flag(cx, node),
        "enable_snmp_checker" => d.snmp.checker = flag(cx, node),
        "enable_snmp_rfc" => {
            flag(cx, node);
            d.snmp.rfcv2 = true;
            d.snmp.rfcv3 = true;
        }
        "enable_snmp_rfcv2" => d.snmp.rfcv2 = flag(cx, node),
        "enable_snmp_rfcv3" => d.snmp.rfcv3 = flag(cx, node),
        "snmp_vs_stats_update_interval" => {
            set_secs(cx, node, 0.001, 30.0, &mut d.snmp.vs_stats_update_interval)
        }
        "snmp_rs_stats_update_interval" => {
            set_secs(cx, node, 0.001, 30.0, &mut d.snmp.rs_stats_update_interval)
        }
        "enable_dbus" => d.dbus.enabled = flag(cx, node),
        "dbus_service_name" => {
            if let Some(name) = one_string(cx, node) {
                d.dbus.service_name = name;
            }
        }
        "dbus_no_interface_name" => {
            if let Some(name) = one_string(cx, node) {
                d.dbus.no_interface_name = name;
            }
        }
        "reload_check_config" => {
            no_block(cx, node);
            cx.at_most(node, 1);
            d.reload_check_config = Some(
                node.args
                    .first()
                    .map_or_else(|| "/dev/null".to_owned(), |t| t.text.clone()),
            );
        }
        "reload_time_file" => {
            no_block(cx, node);
            if node.args.len() == 1 {
                d.reload_time_file = node.args.first().map(|t| t.text.clone());
            } else {
                cx.error(
                    node.keyword.loc,
                    "`reload_time_file` takes exactly one file name",
                );
            }
        }
        "reload_repeat" => d.reload_repeat = flag(cx, node),
        "reload_file" => {
            no_block(cx, node);
            cx.at_most(node, 1);
            d.reload_file = Some(
                node.args
                    .first()
                    .map_or(ReloadFile::Default, |t| ReloadFile::Path(t.text.clone())),
            );
        }
        "config_save_dir" => set_string(cx, node, &mut d.config_save_dir),
        "tmp_config_directory" => {
            if d.tmp_config_directory.is_some() {
                no_block(cx, node);
                cx.error(
                    node.keyword.loc,
                    "`tmp_config_directory` already specified; ignored",
                );
            } else {
                set_string(cx, node, &mut d.tmp_config_directory);
            }
        }
        "data_use_instance" => set_opt_bool(cx, node, &mut d.data_use_instance),
        "json_version" => {
            no_block(cx, node);
            cx.at_most(node, 1);
            if let Some(v) = cx.choice(node, 0, &[("1", JsonVersion::V1), ("2", JsonVersion::V2)]) {
                d.json_version = v;
            }
        }
        "iproute_usr_dir" => set_string(cx, node, &mut d.iproute_usr_dir),
        "iproute_etc_dir" => set_string(cx, node, &mut d.iproute_etc_dir),
        "state_dump_file" => set_string(cx, node, &mut d.state_dump_file),
        "stats_dump_file" => set_string(cx, node, &mut d.stats_dump_file),
        "json_dump_file" => set_string(cx, node, &mut d.json_dump_file),
        _ => return false,
    }
    true
}

fn set_string(cx: &mut Cx, node: &Node, out: &mut Option<String>) {
    if let Some(s) = one_string(cx, node) {
        *out = Some(s);
    }
}

fn set_opt_bool(cx: &mut Cx, node: &Node, out: &mut bool) {
    if let Some(v) = opt_bool(cx, node) {
        *out = v;
    }
}

fn set_opt_bool_some(cx: &mut Cx, node: &Node, out: &mut Option<bool>) {
    if let Some(v) = opt_bool(cx, node) {
        *out = Some(v);
    }
}

pub(super) fn set_secs(cx: &mut Cx, node: &Node, min: f64, max: f64, out: &mut Duration) {
    no_block(cx, node);
    cx.at_most(node, 1);
    if let Some(d) = cx.secs(node, 0, min, max) {
        *out = d;
    }
}

fn set_process_name(cx: &mut Cx, node: &Node, out: &mut Option<String>) {
    let Some(mut name) = one_string(cx, node) else {
        return;
    };
    if name.chars().count() > MAX_PROCESS_NAME {
        cx.error(
            node.args_loc(),
            format!(
                "process name `{name}` is longer than {MAX_PROCESS_NAME} characters; truncated"
            ),
        );
        name = name.chars().take(MAX_PROCESS_NAME).collect();
    }
    *out = Some(name);
}

fn script(cx: &mut Cx, node: &Node, out: &mut Option<crate::model::common::Script>) {
    no_block(cx, node);
    if out.is_some() {
        cx.error(
            node.keyword.loc,
            format!("`{}` already specified; ignored", node.name()),
        );
        return;
    }
    cx.at_most(node, 3);
    if let Some(s) = cx.script(node, 0) {
        *out = Some(s);
    }
}

fn script_timeout(cx: &mut Cx, node: &Node, out: &mut Duration) {
    no_block(cx, node);
    cx.at_most(node, 1);
    if let Some(secs) = cx.int::<u32>(node, 0, 1..=1000) {
        *out = Duration::from_secs(secs.into());
    }
}

fn smtp_server(cx: &mut Cx, node: &Node, d: &mut GlobalDefs) {
    no_block(cx, node);
    let Some(host) = cx.arg(node, 0) else { return };
    cx.at_most(node, 2);
    let port = match node.args.get(1) {
        Some(tok) => match cx.int_token::<u16>("smtp_server port", tok, 1..=u16::MAX) {
            Some(p) => p,
            None => return,
        },
        None => 25,
    };
    let valid_name = |s: &str| {
        !s.is_empty()
            && s.len() <= 253
            && s.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && l.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            })
    };
    if host.text.parse::<IpAddr>().is_err() && !valid_name(&host.text) {
        cx.error(
            host.loc,
            format!(
                "invalid `smtp_server` `{}`: not an IP address or host name",
                host.text
            ),
        );
        return;
    }
    d.smtp_server = Some(SmtpServer {
        host: host.text.clone(),
        port,
        loc: node.keyword.loc,
    });
}

fn notify_fifo(cx: &mut Cx, node: &Node, fifo: &mut NotifyFifo) {
    no_block(cx, node);
    let Some(path) = cx.string(node) else { return };
    cx.at_most(node, 3);
    if fifo.path.is_some() {
        cx.error(
            node.keyword.loc,
            format!("`{}` already specified; `{path}` ignored", node.name()),
        );
        return;
    }
    fifo.path = Some(path);
    fifo.user = node.args.get(1).map(|t| t.text.clone());
    fifo.group = node.args.get(2).map(|t| t.text.clone());
    fifo.loc = node.keyword.loc;
}
