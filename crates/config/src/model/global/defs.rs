//! The `global_defs` block, with keepalived's defaults.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use serde::Serialize;

use super::types::*;
use crate::diag::Loc;
use crate::model::common::Script;

/// `global_defs { ... }`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GlobalDefs {
    // --- Process names and scripts ------------------------------------------------------------
    /// `process_name`: name of the parent process (at most 15 characters).
    pub process_name: Option<String>,
    /// `vrrp_process_name` (`process_names` sets `keepalived_vrrp`).
    pub vrrp_process_name: Option<String>,
    /// `checker_process_name` (old spelling `lvs_process_name`; `process_names` sets
    /// `keepalived_lvs`).
    pub checker_process_name: Option<String>,
    /// `bfd_process_name` (`process_names` sets `keepalived_bfd`).
    pub bfd_process_name: Option<String>,
    /// `use_symlink_paths`: keep symlinks in script paths instead of resolving them.
    pub use_symlink_paths: bool,
    /// `set_supplementary_groups`: set the supplementary groups of script processes.
    pub set_supplementary_groups: bool,
    /// `startup_script`: run once before the child processes start.
    pub startup_script: Option<Script>,
    /// `startup_script_timeout` (1..=1000 s, default 10 s).
    #[serde(serialize_with = "crate::model::common::secs")]
    pub startup_script_timeout: Duration,
    /// `shutdown_script`: run once after the child processes have stopped.
    pub shutdown_script: Option<Script>,
    /// `shutdown_script_timeout` (1..=1000 s, default 10 s).
    #[serde(serialize_with = "crate::model::common::secs")]
    pub shutdown_script_timeout: Duration,
    /// `script_user USER [GROUP]`: default user (and group) for scripts.
    pub script_user: Option<(String, Option<String>)>,
    /// Where `script_user` was given.
    #[serde(skip)]
    pub script_user_loc: Loc,
    /// `enable_script_security`: refuse scripts that non-root users could modify.
    pub enable_script_security: bool,

    // --- Notification e-mail ------------------------------------------------------------------
    /// `router_id`: identifies this machine in notifications (default: the host name).
    pub router_id: Option<String>,
    /// `notification_email { ... }`: recipients.
    pub notification_email: Vec<String>,
    /// `notification_email_from` (default `keepalived@HOSTNAME`).
    pub notification_email_from: Option<String>,
    /// `smtp_server HOST [PORT]`.
    pub smtp_server: Option<SmtpServer>,
    /// `smtp_helo_name` (default: the host name).
    pub smtp_helo_name: Option<String>,
    /// `smtp_connect_timeout` (whole seconds, default 30 s).
    #[serde(serialize_with = "crate::model::common::secs")]
    pub smtp_connect_timeout: Duration,
    /// `smtp_alert`: default for every `smtp_alert` (None: not set).
    pub smtp_alert: Option<bool>,
    /// `smtp_alert_vrrp`: default for VRRP `smtp_alert`.
    pub smtp_alert_vrrp: Option<bool>,
    /// `smtp_alert_checker`: default for checker `smtp_alert`.
    pub smtp_alert_checker: Option<bool>,
    /// `no_email_faults`: no e-mail for fault transitions.
    pub no_email_faults: bool,
    /// `no_checker_emails`: e-mail only when real servers are added or removed.
    pub no_checker_emails: bool,
    /// `checker_log_all_failures`: log every failed check.
    pub checker_log_all_failures: bool,

    // --- Scheduling and resources -------------------------------------------------------------
    /// `max_auto_priority [N]`: ceiling for automatic real-time priority increases (-1..=99;
    /// default 0 = no automatic increase, -1 also silences the startup warning).
    pub max_auto_priority: i32,
    /// `min_auto_priority_delay` (µs, 1..=10000000; default 1 s): scheduling lateness that
    /// triggers an automatic priority increase.
    #[serde(serialize_with = "crate::model::common::secs")]
    pub min_auto_priority_delay: Duration,
    /// `vrrp_priority`, `vrrp_no_swap`, `vrrp_rt_priority`, `vrrp_cpu_affinity`,
    /// `vrrp_rlimit_rttime`.
    pub vrrp_process: ProcessSettings,
    /// `checker_priority`, `checker_no_swap`, ... for the checker process.
    pub checker_process: ProcessSettings,
    /// `vrrp_watchdog_timeout SECS` (keepalived-rs): how long the VRRP engine process may
    /// leave the parent's heartbeat unanswered before it is killed and its addresses are
    /// released (default [`VRRP_WATCHDOG_TIMEOUT`]; zero: no watchdog).
    #[serde(serialize_with = "crate::model::common::secs")]
    pub vrrp_watchdog_timeout: Duration,
    /// `checker_watchdog_timeout SECS` (keepalived-rs): the same for the checker engine
    /// process (default [`CHECKER_WATCHDOG_TIMEOUT`]; zero: no watchdog).
    #[serde(serialize_with = "crate::model::common::secs")]
    pub checker_watchdog_timeout: Duration,
    /// `metrics_listen ADDRESS:PORT` (keepalived-rs): where the parent serves Prometheus
    /// metrics over HTTP (`None`, the default: not at all).
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// `control_socket PATH` (keepalived-rs): the control socket's path (`None`: the default,
    /// beside the parent's pid file).
    pub control_socket: Option<std::path::PathBuf>,
    /// `control_socket_group GROUP` (keepalived-rs): the group the control socket is opened to
    /// (mode 0660 instead of 0600).
    pub control_socket_group: Option<String>,
    /// `bfd_priority`, `bfd_no_swap`, ... for the BFD process.
    pub bfd_process: ProcessSettings,
    /// `umask` for files keepalived creates (default `IXUSR|IRWXG|IRWXO` = 0177).
    pub umask: Umask,
    /// `random_seed`: seed of `${_RANDOM}` (None: time based).
    pub random_seed: Option<u32>,

    // --- Interfaces ---------------------------------------------------------------------------
    /// `dynamic_interfaces [allow_if_changes]`.
    pub dynamic_interfaces: DynamicInterfaces,
    /// `default_interface`: interface for static addresses without `dev` (default `eth0`).
    pub default_interface: String,
    /// `disable_local_igmp`: turn off IGMP reports for link-local multicast.
    pub disable_local_igmp: bool,

    // --- LVS ----------------------------------------------------------------------------------
    /// `lvs_timeouts [tcp S] [tcpfin S] [udp S]`.
    pub lvs_timeouts: LvsTimeouts,
    /// `lvs_flush`: flush the IPVS table at startup.
    pub lvs_flush: bool,
    /// `lvs_flush_on_stop [VS]` (old spelling `lvs_flush_onstop`).
    pub lvs_flush_on_stop: LvsFlushOnStop,
    /// `lvs_sync_daemon IFNAME [[inst] INSTANCE] [id N] [maxlen N] [port N] [ttl N] [group IP]`.
    pub lvs_sync_daemon: Option<LvsSyncDaemon>,

    // --- VRRP ---------------------------------------------------------------------------------
    /// `vrrp_mcast_group4` (default 224.0.0.18).
    pub vrrp_mcast_group4: IpAddr,
    /// `vrrp_mcast_group6` (default ff02::12).
    pub vrrp_mcast_group6: IpAddr,
    /// `vrrp_garp_master_delay`: delay of the second burst of gratuitous ARPs after becoming
    /// master (whole seconds, default 5 s, 0 = no second burst).
    #[serde(serialize_with = "crate::model::common::secs")]
    pub vrrp_garp_master_delay: Duration,
    /// `vrrp_garp_master_repeat`: gratuitous ARPs per burst (default 5).
    pub vrrp_garp_master_repeat: u32,
    /// `vrrp_garp_master_refresh`: refresh interval while master (None: no refresh).
    #[serde(serialize_with = "crate::model::common::opt_secs")]
    pub vrrp_garp_master_refresh: Option<Duration>,
    /// `vrrp_garp_master_refresh_repeat`: gratuitous ARPs per refresh (default 1).
    pub vrrp_garp_master_refresh_repeat: u32,
    /// `vrrp_garp_lower_prio_delay` (default: `vrrp_garp_master_delay`).
    #[serde(serialize_with = "crate::model::common::secs")]
    pub vrrp_garp_lower_prio_delay: Duration,
    /// `vrrp_garp_lower_prio_repeat` (default: `vrrp_garp_master_repeat`).
    pub vrrp_garp_lower_prio_repeat: u32,
    /// `vrrp_garp_interval`: delay between gratuitous ARPs on an interface (default 0).
    #[serde(serialize_with = "crate::model::common::secs")]
    pub vrrp_garp_interval: Duration,
    /// `vrrp_gna_interval`: delay between unsolicited NAs on an interface (default 0).
    #[serde(serialize_with = "crate::model::common::secs")]
    pub vrrp_gna_interval: Duration,
    /// `vrrp_min_garp`: one gratuitous ARP, no repeat (already applied to the values above).
    pub vrrp_min_garp: bool,
    /// `vrrp_garp_extra_if [all] SECS` (old spelling `vrrp_vmac_garp_intvl`).
    pub vrrp_garp_extra_if: Option<GarpExtraIf>,
    /// `vrrp_down_timer_adverts` (1..=100, default 3): adverts missed before master is down.
    pub vrrp_down_timer_adverts: u32,
    /// `vrrp_lower_prio_no_advert`: do not answer a lower priority advert.
    pub vrrp_lower_prio_no_advert: bool,
    /// `vrrp_higher_prio_send_advert`: send an advert before yielding to a higher priority.
    pub vrrp_higher_prio_send_advert: bool,
    /// `vrrp_version` (2 or 3, default 2).
    pub vrrp_version: u8,
    /// `v3_checksum_as_v2`: compute VRRPv3 IPv4 checksums without the pseudo header.
    pub v3_checksum_as_v2: bool,
    /// `vrrp_check_unicast_src`: check that unicast adverts come from a configured peer.
    pub vrrp_check_unicast_src: bool,
    /// `vrrp_skip_check_adv_addr`: skip the address check for adverts of the same master.
    pub vrrp_skip_check_adv_addr: bool,
    /// `vrrp_strict`: strict RFC compliance.
    pub vrrp_strict: bool,
    /// `vrrp_notify_priority_changes`: send priority changes on the notify FIFOs.
    pub vrrp_notify_priority_changes: bool,
    /// `vrrp_rx_bufs_policy MTU|ADVERT|SIZE` (default: the system's).
    pub vrrp_rx_bufs_policy: RxBufsPolicy,
    /// `vrrp_rx_bufs_multiplier` (default 3).
    pub vrrp_rx_bufs_multiplier: u32,
    /// `vrrp_startup_delay`: delay before VRRP instances start (default 0).
    #[serde(serialize_with = "crate::model::common::secs")]
    pub vrrp_startup_delay: Duration,
    /// `vrrp_delay_after_boot`: delay VRRP instances until this long after boot (default 0).
    #[serde(serialize_with = "crate::model::common::secs")]
    pub vrrp_delay_after_boot: Duration,
    /// `log_unknown_vrids`: log adverts for VRIDs not configured on the interface.
    pub log_unknown_vrids: bool,
    /// `vrrp_owner_ignore_adverts`: an address owner (priority 255) ignores received adverts.
    pub vrrp_owner_ignore_adverts: bool,
    /// `vmac_prefix`: prefix of generated VMAC interface names (default `vrrp`).
    pub vmac_prefix: String,
    /// `vmac_addr_prefix`: prefix for VMACs of VIPs on other interfaces (default: `vmac_prefix`).
    pub vmac_addr_prefix: String,

    // --- Firewall -----------------------------------------------------------------------------
    /// `vrrp_iptables [IN [OUT]]` (no argument: INPUT and OUTPUT).
    pub vrrp_iptables: Option<IptablesChains>,
    /// `vrrp_ipsets [NAMES...]`.
    pub vrrp_ipsets: Option<VrrpIpsets>,
    /// `nftables [TABLE]` (no argument: `keepalived`).
    pub nftables: Option<String>,
    /// `nftables_priority` (default -1).
    pub nftables_priority: i32,
    /// `nftables_ifindex`: key link-local sets by interface index.
    pub nftables_ifindex: bool,
    /// `nftables_counters`: add counters to the rules.
    pub nftables_counters: bool,
    /// `nftables_ipvs [TABLE]` (no argument: `keepalived_ipvs`).
    pub nftables_ipvs: Option<String>,
    /// `nftables_ipvs_priority` (default -1).
    pub nftables_ipvs_priority: i32,
    /// `nftables_ipvs_start_fwmark` (default 1000).
    pub nftables_ipvs_start_fwmark: u32,

    // --- Notify FIFOs -------------------------------------------------------------------------
    /// `notify_fifo` and `notify_fifo_script`.
    pub notify_fifo: NotifyFifo,
    /// `vrrp_notify_fifo` and `vrrp_notify_fifo_script`.
    pub vrrp_notify_fifo: NotifyFifo,
    /// `lvs_notify_fifo` and `lvs_notify_fifo_script`.
    pub lvs_notify_fifo: NotifyFifo,
    /// `fifo_write_vrrp_states_on_reload`.
    pub fifo_write_vrrp_states_on_reload: bool,

    // --- SNMP and D-Bus -----------------------------------------------------------------------
    /// SNMP settings.
    pub snmp: SnmpSettings,
    /// D-Bus settings.
    pub dbus: DbusSettings,

    // --- Netlink buffers ----------------------------------------------------------------------
    /// `vrrp_netlink_cmd_rcv_bufs` and `..._force`.
    pub vrrp_netlink_cmd_rcv_bufs: NetlinkBufs,
    /// `vrrp_netlink_monitor_rcv_bufs` and `..._force`.
    pub vrrp_netlink_monitor_rcv_bufs: NetlinkBufs,
    /// `process_monitor_rcv_bufs` and `..._force`.
    pub process_monitor_rcv_bufs: NetlinkBufs,
    /// `lvs_netlink_cmd_rcv_bufs` and `..._force`.
    pub lvs_netlink_cmd_rcv_bufs: NetlinkBufs,
    /// `lvs_netlink_monitor_rcv_bufs` and `..._force`.
    pub lvs_netlink_monitor_rcv_bufs: NetlinkBufs,
    /// `rs_init_notifies`: notify for real servers at startup.
    pub rs_init_notifies: bool,

    // --- Reload, files and directories --------------------------------------------------------
    /// `reload_check_config [LOG_FILE]`: check a new configuration before reloading (no file:
    /// `/dev/null`).
    pub reload_check_config: Option<String>,
    /// `reload_time_file PATH`: file holding a scheduled reload time.
    pub reload_time_file: Option<String>,
    /// `reload_repeat`: keep the reload time file (reload daily).
    pub reload_repeat: bool,
    /// `reload_file [PATH]`.
    pub reload_file: Option<ReloadFile>,
    /// `include_check [OPTIONS]`: which include problems are errors.
    pub include_check: Option<IncludeCheck>,
    /// `config_save_dir DIR`: save configuration state around reloads (debugging).
    pub config_save_dir: Option<String>,
    /// `tmp_config_directory DIR`: where the configuration copy is written.
    pub tmp_config_directory: Option<String>,
    /// `data_use_instance`: instance and namespace in the names of the dump files.
    pub data_use_instance: bool,
    /// `json_version` (1 or 2, default 1).
    pub json_version: JsonVersion,
    /// `iproute_usr_dir`: iproute2's directory under /usr.
    pub iproute_usr_dir: Option<String>,
    /// `iproute_etc_dir`: iproute2's directory under /etc.
    pub iproute_etc_dir: Option<String>,
    /// `state_dump_file`: where SIGUSR1 writes the state (a trailing `/` means a directory).
    pub state_dump_file: Option<String>,
    /// `stats_dump_file`: where SIGUSR2 writes the statistics.
    pub stats_dump_file: Option<String>,
    /// `json_dump_file`: where the JSON dump is written.
    pub json_dump_file: Option<String>,
    /// Which values that default to another setting were given explicitly (reader
    /// bookkeeping, not part of the JSON).
    #[serde(skip)]
    pub explicit: ExplicitDefs,
}

/// Which `global_defs` values that follow another setting by default were set explicitly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExplicitDefs {
    /// `vrrp_garp_lower_prio_delay` was given.
    pub garp_lower_prio_delay: bool,
    /// `vrrp_garp_lower_prio_repeat` was given.
    pub garp_lower_prio_repeat: bool,
    /// `vmac_addr_prefix` was given.
    pub vmac_addr_prefix: bool,
}

/// The default IPv4 VRRP multicast group (RFC 5798).
pub const VRRP_MCAST_GROUP4: IpAddr = IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18));
/// The default IPv6 VRRP multicast group (RFC 5798).
pub const VRRP_MCAST_GROUP6: IpAddr = IpAddr::V6(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12));
/// Default `vrrp_garp_master_delay`.
pub const VRRP_GARP_DELAY: Duration = Duration::from_secs(5);
/// Default `vrrp_garp_master_repeat`.
pub const VRRP_GARP_REPEAT: u32 = 5;
/// Default `vrrp_garp_master_refresh_repeat`.
pub const VRRP_GARP_REFRESH_REPEAT: u32 = 1;
/// The default `vrrp_watchdog_timeout`: short enough that a frozen VRRP engine's addresses are
/// gone within 2 s of the freeze, whatever its advert interval.
pub const VRRP_WATCHDOG_TIMEOUT: Duration = Duration::from_millis(1500);
/// The default `checker_watchdog_timeout` (the checker holds nothing the kernel would not
/// keep doing without it).
pub const CHECKER_WATCHDOG_TIMEOUT: Duration = Duration::from_secs(10);
/// The smallest watchdog timeout accepted (but zero, which turns it off).
pub const MIN_WATCHDOG_TIMEOUT: Duration = Duration::from_millis(100);

impl Default for GlobalDefs {
    fn default() -> Self {
        Self {
            process_name: None,
            vrrp_process_name: None,
            checker_process_name: None,
            bfd_process_name: None,
            use_symlink_paths: false,
            set_supplementary_groups: false,
            startup_script: None,
            startup_script_timeout: Duration::from_secs(10),
            shutdown_script: None,
            shutdown_script_timeout: Duration::from_secs(10),
            script_user: None,
            script_user_loc: Loc::default(),
            enable_script_security: false,
            router_id: None,
            notification_email: Vec::new(),
            notification_email_from: None,
            smtp_server: None,
            smtp_helo_name: None,
            smtp_connect_timeout: Duration::from_secs(30),
            smtp_alert: None,
            smtp_alert_vrrp: None,
            smtp_alert_checker: None,
            no_email_faults: false,
            no_checker_emails: false,
            checker_log_all_failures: false,
            max_auto_priority: 0,
            min_auto_priority_delay: Duration::from_secs(1),
            vrrp_process: ProcessSettings::default(),
            checker_process: ProcessSettings::default(),
            vrrp_watchdog_timeout: VRRP_WATCHDOG_TIMEOUT,
            checker_watchdog_timeout: CHECKER_WATCHDOG_TIMEOUT,
            metrics_listen: None,
            control_socket: None,
            control_socket_group: None,
            bfd_process: ProcessSettings::default(),
            umask: Umask::default(),
            random_seed: None,
            dynamic_interfaces: DynamicInterfaces::Disabled,
            default_interface: "eth0".to_owned(),
            disable_local_igmp: false,
            lvs_timeouts: LvsTimeouts::default(),
            lvs_flush: false,
            lvs_flush_on_stop: LvsFlushOnStop::Disabled,
            lvs_sync_daemon: None,
            vrrp_mcast_group4: VRRP_MCAST_GROUP4,
            vrrp_mcast_group6: VRRP_MCAST_GROUP6,
            vrrp_garp_master_delay: VRRP_GARP_DELAY,
            vrrp_garp_master_repeat: VRRP_GARP_REPEAT,
            vrrp_garp_master_refresh: None,
            vrrp_garp_master_refresh_repeat: VRRP_GARP_REFRESH_REPEAT,
            vrrp_garp_lower_prio_delay: VRRP_GARP_DELAY,
            vrrp_garp_lower_prio_repeat: VRRP_GARP_REPEAT,
            vrrp_garp_interval: Duration::ZERO,
            vrrp_gna_interval: Duration::ZERO,
            vrrp_min_garp: false,
            vrrp_garp_extra_if: None,
            vrrp_down_timer_adverts: 3,
            vrrp_lower_prio_no_advert: false,
            vrrp_higher_prio_send_advert: false,
            vrrp_version: 2,
            v3_checksum_as_v2: false,
            vrrp_check_unicast_src: false,
            vrrp_skip_check_adv_addr: false,
            vrrp_strict: false,
            vrrp_notify_priority_changes: false,
            vrrp_rx_bufs_policy: RxBufsPolicy::System,
            vrrp_rx_bufs_multiplier: 3,
            vrrp_startup_delay: Duration::ZERO,
            vrrp_delay_after_boot: Duration::ZERO,
            log_unknown_vrids: false,
            vrrp_owner_ignore_adverts: false,
            vmac_prefix: "vrrp".to_owned(),
            vmac_addr_prefix: "vrrp".to_owned(),
            vrrp_iptables: None,
            vrrp_ipsets: None,
            nftables: None,
            nftables_priority: -1,
            nftables_ifindex: false,
            nftables_counters: false,
            nftables_ipvs: None,
            nftables_ipvs_priority: -1,
            nftables_ipvs_start_fwmark: 1000,
            notify_fifo: NotifyFifo::default(),
            vrrp_notify_fifo: NotifyFifo::default(),
            lvs_notify_fifo: NotifyFifo::default(),
            fifo_write_vrrp_states_on_reload: false,
            snmp: SnmpSettings::default(),
            dbus: DbusSettings::default(),
            vrrp_netlink_cmd_rcv_bufs: NetlinkBufs::default(),
            vrrp_netlink_monitor_rcv_bufs: NetlinkBufs::default(),
            process_monitor_rcv_bufs: NetlinkBufs::default(),
            lvs_netlink_cmd_rcv_bufs: NetlinkBufs::default(),
            lvs_netlink_monitor_rcv_bufs: NetlinkBufs::default(),
            rs_init_notifies: false,
            reload_check_config: None,
            reload_time_file: None,
            reload_repeat: false,
            reload_file: None,
            include_check: None,
            config_save_dir: None,
            tmp_config_directory: None,
            data_use_instance: false,
            json_version: JsonVersion::V1,
            iproute_usr_dir: None,
            iproute_etc_dir: None,
            state_dump_file: None,
            stats_dump_file: None,
            json_dump_file: None,
            explicit: ExplicitDefs::default(),
        }
    }
}
