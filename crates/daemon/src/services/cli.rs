//! keepalived's command line, spelled as keepalived spells it, plus our own `--json`.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

/// Options that belong to a part not built yet say which (the SNMP issue).
const SNMP_NOT_BUILT: &str = "(SNMP: not built yet, issue 21; accepted and ignored)";
/// keepalived's options for its debug builds only (keepalived(8): "if they have been compiled
/// into keepalived"; Debian's build has none of them).
const DEBUG_BUILD_ONLY: &str = "accepted, no effect: only in keepalived builds configured for it";

/// keepalived-rs: VRRP and load-balancer health checking, compatible with keepalived.
#[derive(Debug, Clone, Parser)]
#[command(name = "keepalived-rs", version = None, disable_version_flag = true)]
pub struct Cli {
    /// Use the specified configuration file
    #[arg(
        short = 'f',
        long = "use-file",
        value_name = "FILE",
        default_value = "/etc/keepalived/keepalived.conf"
    )]
    pub use_file: PathBuf,

    /// Check the configuration for obvious errors; diagnostics go to stderr (or LOG_FILE)
    #[arg(short = 't', long = "config-test", value_name = "LOG_FILE", num_args = 0..=1, require_equals = true)]
    pub config_test: Option<Option<PathBuf>>,

    /// With -t: print the parsed configuration (typed, every default filled in) as JSON on stdout
    #[arg(long = "json")]
    pub json: bool,

    /// Skip configuration lines beginning '@' that don't match ID, and lines beginning '@^' that
    /// do. Defaults to the node name up to the first '.'
    #[arg(short = 'i', long = "config-id", value_name = "ID")]
    pub config_id: Option<String>,

    /// Only run the VRRP subsystem
    #[arg(short = 'P', long = "vrrp", help = "Only run the VRRP subsystem")]
    pub vrrp: bool,

    /// Only run the health-checker subsystem
    #[arg(short = 'C', long = "check")]
    pub check: bool,

    /// Don't run the BFD subsystem
    #[arg(short = 'B', long = "no_bfd")]
    pub no_bfd: bool,

    /// Force all child processes to run, even if they have no configuration
    #[arg(long = "all")]
    pub all: bool,

    /// Log messages to the local console
    #[arg(
        short = 'l',
        long = "log-console",
        help = "Log messages to the local console (stderr, time-stamped) instead of syslog"
    )]
    pub log_console: bool,

    /// Detailed log messages
    #[arg(short = 'D', long = "log-detail", help = "Detailed log messages")]
    pub log_detail: bool,

    /// Set syslog facility to LOG_LOCAL[0-7], user or daemon (default)
    #[arg(short = 'S', long = "log-facility", value_name = "FACILITY", value_parser = parse_facility,
          help = "Set syslog facility: 0-7, local0-local7, user or daemon (default)")]
    pub log_facility: Option<String>,

    /// Don't log via syslog
    #[arg(
        short = 'G',
        long = "no-syslog",
        help = "Don't log via syslog (log to the console instead)"
    )]
    pub no_syslog: bool,

    /// umask for file creation (in numeric form)
    #[arg(
        short = 'u',
        long = "umask",
        value_name = "MASK",
        help = "umask for file creation (numeric; octal with a leading 0); overrides global_defs' umask"
    )]
    pub umask: Option<String>,

    /// Drop VIPs on transition from signal
    #[arg(
        short = 'X',
        long = "release-vips",
        help = "Drop VIPs on transition from signal (always done here: a master leaving MASTER, also after a reload, removes its VIPs)"
    )]
    pub release_vips: bool,

    /// Don't remove VRRP VIPs and VROUTEs on daemon stop
    #[arg(
        short = 'V',
        long = "dont-release-vrrp",
        help = "Don't remove VRRP VIPs, routes and rules on daemon stop"
    )]
    pub dont_release_vrrp: bool,

    /// Don't remove IPVS topology on daemon stop
    #[arg(
        short = 'I',
        long = "dont-release-ipvs",
        help = "Don't remove IPVS topology on daemon stop"
    )]
    pub dont_release_ipvs: bool,

    /// Don't respawn child processes
    #[arg(short = 'R', long = "dont-respawn")]
    pub dont_respawn: bool,

    /// Don't fork the daemon process
    #[arg(
        short = 'n',
        long = "dont-fork",
        help = "Don't fork the daemon process: stay in the foreground (the systemd mode); without it the command returns once the daemon's engines are up"
    )]
    pub dont_fork: bool,

    /// Dump the configuration data
    #[arg(
        short = 'd',
        long = "dump-conf",
        help = "Dump the configuration data (as JSON on stdout, after reading it)"
    )]
    pub dump_conf: bool,

    /// Use the specified pidfile for the parent process
    #[arg(
        short = 'p',
        long = "pid",
        value_name = "FILE",
        help = "Use the specified pidfile for the parent process [default: /run/keepalived.pid]"
    )]
    pub pid: Option<PathBuf>,

    /// Use the specified pidfile for the VRRP child process
    #[arg(
        short = 'r',
        long = "vrrp_pid",
        value_name = "FILE",
        help = "Use the specified pidfile for the VRRP child process [default: /run/keepalived_vrrp.pid]"
    )]
    pub vrrp_pid: Option<PathBuf>,

    /// Use the specified pidfile for the checkers child process
    #[arg(
        short = 'c',
        long = "checkers_pid",
        value_name = "FILE",
        help = "Use the specified pidfile for the checkers child process [default: /run/keepalived_checkers.pid]"
    )]
    pub checkers_pid: Option<PathBuf>,

    /// Use the specified pidfile for the BFD child process
    #[arg(
        short = 'b',
        long = "bfd_pid",
        value_name = "FILE",
        help = "Use the specified pidfile for the BFD child process [default: /run/keepalived_bfd.pid]"
    )]
    pub bfd_pid: Option<PathBuf>,

    /// Report all address additions/deletions notified via netlink
    #[arg(
        short = 'a',
        long = "address-monitoring",
        help = "Report all address additions/deletions notified via netlink (logged by the VRRP and checker processes)"
    )]
    pub address_monitoring: bool,

    /// Run in network namespace NAME (overrides config)
    #[arg(
        short = 's',
        long = "namespace",
        value_name = "NAME",
        help = "Run in network namespace NAME (overrides config's net_namespace)"
    )]
    pub namespace: Option<String>,

    /// Produce a core dump if terminating abnormally
    #[arg(
        short = 'm',
        long = "core-dump",
        help = "Produce a core dump if terminating abnormally (RLIMIT_CORE unlimited and the dumpable flag, in every process)"
    )]
    pub core_dump: bool,

    /// Also set /proc/sys/kernel/core_pattern to PATN (default 'core'); implies -m
    #[arg(short = 'M', long = "core-dump-pattern", value_name = "PATN", num_args = 0..=1,
          require_equals = true, default_missing_value = "core",
          help = "Also set /proc/sys/kernel/core_pattern to PATN (default 'core'; restored at exit); implies -m")]
    pub core_dump_pattern: Option<String>,

    /// Also log to FILE, one file per process (keepalived.log, keepalived_vrrp.log, ...)
    #[arg(short = 'g', long = "log-file", value_name = "FILE", num_args = 0..=1,
          require_equals = true, default_missing_value = "keepalived.log",
          help = "Also log to FILE (default /tmp/keepalived.log; a relative FILE is under $TMPDIR or /tmp); the VRRP and checker processes insert _vrrp and _check before the extension")]
    pub log_file: Option<PathBuf>,

    /// Flush the log file after each line
    #[arg(
        long = "flush-log-file",
        help = "Flush log file on write (always done here: every line is written at once)"
    )]
    pub flush_log_file: bool,

    /// Ignore SIGINT
    #[arg(
        long = "ignore-sigint",
        help = "Ignore SIGINT (default means terminate), in every process; used for debugging"
    )]
    pub ignore_sigint: bool,

    /// Enter genhash utility mode
    #[arg(
        short = 'T',
        long = "genhash",
        help = "Enter genhash utility mode (this should be the first option used): the remaining arguments go to genhash-rs"
    )]
    pub genhash: bool,

    /// Enable the SNMP subsystem
    #[arg(short = 'x', long = "snmp", help = format!("Enable SNMP subsystem {SNMP_NOT_BUILT}"))]
    pub snmp: bool,

    /// Use the specified socket for the SNMP master agent
    #[arg(short = 'A', long = "snmp-agent-socket", value_name = "FILE",
          help = format!("Use the specified socket for master agent {SNMP_NOT_BUILT}"))]
    pub snmp_agent_socket: Option<String>,

    /// Disable malloc() etc mem-checks (keepalived debug builds)
    #[arg(long = "no-mem-check", help = format!("Disable malloc() etc mem-checks ({DEBUG_BUILD_ONLY})"))]
    pub no_mem_check: bool,

    /// Collect perf data (keepalived debug builds)
    #[arg(long = "perf", value_name = "PERF_TYPE", num_args = 0..=1, require_equals = true,
          help = format!("Collect perf data, PERF_TYPE=all, run or end ({DEBUG_BUILD_ONLY})"))]
    pub perf: Option<Option<String>>,

    /// Enable debug options (keepalived debug builds)
    #[arg(long = "debug", value_name = "OPTIONS", num_args = 0..=1, require_equals = true,
          help = format!("Enable debug options ({DEBUG_BUILD_ONLY})"))]
    pub debug: Option<Option<String>>,

    /// Error if any configuration file is missing (same as includea)
    #[arg(short = 'e', long = "all-config")]
    pub all_config: bool,

    /// Refuse to start (or to reload) with any configuration error, not only where keepalived
    /// refuses; by default a part with an error is dropped, as keepalived drops it
    #[arg(long = "strict-config")]
    pub strict_config: bool,

    /// Serve Prometheus metrics over HTTP on ADDRESS:PORT (`127.0.0.1:9165`, `[::1]:9165`;
    /// overrides the configuration's `metrics_listen`)
    #[arg(long = "metrics-listen", value_name = "ADDRESS:PORT")]
    pub metrics_listen: Option<std::net::SocketAddr>,

    /// The control socket keepalived-ctl talks to (overrides the configuration's
    /// `control_socket`; default: beside the parent's pid file, ending in `.ctl`)
    #[arg(long = "control-socket", value_name = "PATH")]
    pub control_socket: Option<PathBuf>,

    /// Print the signal number for STOP, RELOAD, DATA, STATS, STATS_CLEAR or JSON, and exit
    #[arg(long = "signum", value_name = "SIGFUNC")]
    pub signum: Option<String>,

    /// Display the version number and the features built in
    #[arg(short = 'v', long = "version")]
    pub version: bool,

    /// Internal: run as this engine process under the supervising parent (the parent passes
    /// it to the copy of itself it starts; see `supervisor`).
    #[arg(long = "engine", value_name = "ENGINE", hide = true)]
    pub engine: Option<Engine>,
}

/// The engine processes the supervising parent runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ValueEnum)]
pub enum Engine {
    /// The VRRP engine (keepalived's VRRP child).
    Vrrp,
    /// The health checkers and IPVS (keepalived's healthcheckers child).
    Checker,
    /// The BFD sessions (keepalived's BFD child).
    Bfd,
}

impl Engine {
    /// The option value (`vrrp`, `checker`).
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Vrrp => "vrrp",
            Engine::Checker => "checker",
            Engine::Bfd => "bfd",
        }
    }

    /// keepalived's name of the process in log lines (`VRRP`, `Healthcheck`).
    pub fn title(self) -> &'static str {
        match self {
            Engine::Vrrp => "VRRP",
            Engine::Checker => "Healthcheck",
            Engine::Bfd => "BFD",
        }
    }
}

fn parse_facility(s: &str) -> Result<String, String> {
    let ok = matches!(s, "user" | "daemon")
        || s.strip_prefix("local")
            .unwrap_or(s)
            .parse::<u8>()
            .is_ok_and(|n| n <= 7);
    if ok {
        Ok(s.to_owned())
    } else {
        Err(format!("'{s}' is not 0-7, local0-local7, user or daemon"))
    }
}

/// keepalived's signal numbers for `--signum` (glibc's SIGRTMIN is 34).
pub fn signum(name: &str) -> Option<i32> {
    Some(match name {
        "STOP" => 15,
        "RELOAD" => 1,
        "DATA" => 10,
        "STATS" => 12,
        "STATS_CLEAR" => 63,
        "JSON" => 36,
        _ => return None,
    })
}
