//! keepalived-ctl's command line. Kept in a file of its own, with no other dependency than
//! clap, so the man page generator (crates/xtask) builds keepalived-ctl(1) from this very
//! definition.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// The socket keepalived-rs listens on without `control_socket` or `--control-socket`.
pub const DEFAULT_SOCKET: &str = "/run/keepalived.ctl";

#[derive(Parser, Debug)]
#[command(
    name = "keepalived-ctl",
    version,
    about = "Control a running keepalived-rs"
)]
pub struct Cli {
    /// The daemon's control socket.
    #[arg(long, value_name = "PATH", default_value = DEFAULT_SOCKET, global = true)]
    pub socket: PathBuf,
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Instances, sync groups, virtual and real servers, processes, the last reload.
    Status {
        /// The answer as JSON (the protocol's status object).
        #[arg(long)]
        json: bool,
    },
    /// A VRRP instance: `vrrp NAME maintenance on|off`.
    Vrrp {
        /// The vrrp_instance name.
        name: String,
        #[command(subcommand)]
        action: VrrpAction,
    },
    /// A real server: `rs drain|undrain VS RS`.
    Rs {
        #[command(subcommand)]
        action: RsAction,
    },
    /// Reads the configuration again and prints the outcome once the engines applied it.
    Reload,
    /// Prints a dump: data (as SIGUSR1), stats (as SIGUSR2) or json.
    Dump {
        /// Which dump.
        #[arg(value_enum, default_value_t = DumpArg::Data)]
        kind: DumpArg,
    },
}

#[derive(Subcommand, Debug)]
pub enum VrrpAction {
    /// `on`: the instance resigns (a priority-0 advert when master) and stays out of the
    /// election; `off`: it takes part again.
    Maintenance {
        /// on or off.
        #[arg(value_enum)]
        state: OnOff,
    },
}

#[derive(Subcommand, Debug)]
pub enum RsAction {
    /// Weight 0 in IPVS: no new connections, existing ones finish.
    Drain {
        /// The virtual server: ADDRESS:PORT, [V6]:PORT, `fwmark N` or a group name.
        virtual_server: String,
        /// The real server: ADDRESS:PORT or [V6]:PORT.
        real_server: String,
    },
    /// Back to its weight.
    Undrain {
        /// As for drain.
        virtual_server: String,
        /// As for drain.
        real_server: String,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum OnOff {
    On,
    Off,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum DumpArg {
    Data,
    Stats,
    Json,
}
