//! keepalived-ctl: asks a running keepalived-rs over its control socket (status, maintenance,
//! drain, reload, dumps) and prints the answer.

use std::io::{BufRead as _, BufReader, Write as _};
use std::os::unix::net::UnixStream;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use clap::Parser as _;
use keepalived_ctl::proto::{self, Command, DumpKind, ReloadOutcome, Response, Status};

mod cli;
use cli::{Cli, Cmd, DumpArg, OnOff, RsAction, VrrpAction};

/// How long an answer may take (a reload waits for the engines to apply it).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(120);

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (command, json) = match cli.command {
        Cmd::Status { json } => (Command::Status, json),
        Cmd::Vrrp {
            name,
            action: VrrpAction::Maintenance { state },
        } => (
            Command::Maintenance {
                instance: name,
                on: matches!(state, OnOff::On),
            },
            false,
        ),
        Cmd::Rs { action } => {
            let (virtual_server, real_server, on) = match action {
                RsAction::Drain {
                    virtual_server,
                    real_server,
                } => (virtual_server, real_server, true),
                RsAction::Undrain {
                    virtual_server,
                    real_server,
                } => (virtual_server, real_server, false),
            };
            (
                Command::Drain {
                    virtual_server,
                    real_server,
                    on,
                },
                false,
            )
        }
        Cmd::Reload => (Command::Reload, false),
        Cmd::Dump { kind } => {
            let kind = match kind {
                DumpArg::Data => DumpKind::Data,
                DumpArg::Stats => DumpKind::Stats,
                DumpArg::Json => DumpKind::Json,
            };
            (Command::Dump { kind }, false)
        }
    };
    match ask(&cli.socket, &command) {
        Ok(response) if response.ok => {
            print_result(&command, response.result.unwrap_or_default(), json);
            ExitCode::SUCCESS
        }
        Ok(response) => {
            let e = response.error.unwrap_or_else(|| "refused".into());
            eprintln!("keepalived-ctl: {e}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("keepalived-ctl: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Sends `command` on the socket at `path` and reads the answer.
fn ask(path: &std::path::Path, command: &Command) -> Result<Response, String> {
    let mut stream = UnixStream::connect(path).map_err(|e| {
        let hint = match e.kind() {
            std::io::ErrorKind::PermissionDenied => {
                " (the control socket is root's; control_socket_group opens it to a group)"
            }
            std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => {
                " (is keepalived-rs running? its control_socket or --control-socket may name \
                 another path: use --socket)"
            }
            _ => "",
        };
        format!("cannot connect to {}: {e}{hint}", path.display())
    })?;
    let _ = stream.set_read_timeout(Some(ANSWER_TIMEOUT));
    stream
        .write_all(proto::request_line(command).as_bytes())
        .map_err(|e| format!("cannot send to {}: {e}", path.display()))?;
    let mut line = String::new();
    BufReader::new(&stream)
        .read_line(&mut line)
        .map_err(|e| format!("no answer from {}: {e}", path.display()))?;
    if line.is_empty() {
        return Err(format!("{} closed the connection", path.display()));
    }
    serde_json::from_str(&line).map_err(|e| format!("unreadable answer: {e}"))
}

fn print_result(command: &Command, result: serde_json::Value, json: bool) {
    match command {
        Command::Status if json => {
            println!(
                "{}",
                serde_json::to_string_pretty(&result).unwrap_or_default()
            );
        }
        Command::Status => match serde_json::from_value::<Status>(result) {
            Ok(status) => {
                let now = SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(0.0, |d| d.as_secs_f64());
                print!("{}", keepalived_ctl::table::render(&status, now));
            }
            Err(e) => eprintln!("keepalived-ctl: unreadable status: {e}"),
        },
        Command::Reload => match serde_json::from_value::<ReloadOutcome>(result) {
            Ok(r) if r.applied => println!("reload: applied"),
            Ok(r) => {
                println!("reload: refused; the running configuration is kept");
                for e in r.errors {
                    println!("  {e}");
                }
            }
            Err(e) => eprintln!("keepalived-ctl: unreadable answer: {e}"),
        },
        Command::Dump { .. } => match result {
            serde_json::Value::String(text) => print!("{text}"),
            other => println!("{other}"),
        },
        Command::Maintenance { .. } | Command::Drain { .. } => match result {
            serde_json::Value::String(text) => println!("{text}"),
            other => println!("{other}"),
        },
    }
}
