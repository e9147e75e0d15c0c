//! genhash's command line (keepalived's options). Kept in a file of its own, with no other
//! dependency than clap and the config model, so the man page generator (crates/xtask) builds
//! genhash(1) from this very definition.

use std::net::IpAddr;

use clap::Parser;
use keepalived_config::model::lvs::checker::HttpProtocol;

/// Default `-t`, in seconds.
pub const DEFAULT_TIMEOUT_SECS: u64 = 30;

/// genhash's options.
#[derive(Debug, Parser)]
#[command(
    name = "genhash",
    about = "MD5 digest of a web page, for HTTP_GET/SSL_GET `digest`",
    disable_help_flag = true,
    disable_version_flag = true
)]
pub struct Args {
    /// Use SSL (TLS 1.2/1.3) to connect to the server.
    #[arg(short = 'S', long = "use-ssl")]
    pub ssl: bool,
    /// Send SNI during the TLS handshake (the -V name).
    #[arg(short = 'I', long = "use-sni")]
    pub sni: bool,
    /// The server's IP address.
    #[arg(short = 's', long = "server", required_unless_present_any = ["help", "release"])]
    pub server: Option<IpAddr>,
    /// The server's port.
    #[arg(short = 'p', long = "port", required_unless_present_any = ["help", "release"],
          value_parser = clap::value_parser!(u16).range(1..))]
    pub port: Option<u16>,
    /// The path to fetch.
    #[arg(short = 'u', long = "url", required_unless_present_any = ["help", "release"])]
    pub url: Option<String>,
    /// The virtual host sent in the Host header (default: SERVER:PORT).
    #[arg(short = 'V', long = "use-virtualhost")]
    pub vhost: Option<String>,
    /// HTTP protocol: 1.0, 1.0C (1.0 with `Connection: close`) or 1.1.
    #[arg(short = 'P', long = "protocol", value_parser = parse_protocol, default_value = "1.0")]
    pub protocol: HttpProtocol,
    /// Timeout of the whole fetch, in seconds.
    #[arg(short = 't', long = "timeout", default_value_t = DEFAULT_TIMEOUT_SECS)]
    pub timeout: u64,
    /// Firewall mark set on the connection (SO_MARK).
    #[arg(short = 'm', long = "fwmark")]
    pub fwmark: Option<u32>,
    /// Hash algorithm (only MD5, the one HTTP_GET's digest uses).
    #[arg(short = 'H', long = "hash", value_parser = parse_hash, default_value = "md5")]
    pub hash: String,
    /// Verbose output: request, response head, body dump, timing.
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,
    /// Print this help and exit.
    #[arg(short = 'h', long = "help")]
    pub help: bool,
    /// Print the release number and exit.
    #[arg(short = 'r', long = "release")]
    pub release: bool,
}

fn parse_protocol(s: &str) -> Result<HttpProtocol, String> {
    match s {
        "1.0" => Ok(HttpProtocol::Http10),
        "1.0C" | "1.0c" => Ok(HttpProtocol::Http10C),
        "1.1" => Ok(HttpProtocol::Http11),
        _ => Err(format!(
            "invalid HTTP protocol version '{s}' (1.0, 1.0C or 1.1)"
        )),
    }
}

fn parse_hash(s: &str) -> Result<String, String> {
    if s.eq_ignore_ascii_case("md5") {
        Ok("MD5".to_owned())
    } else {
        Err(format!("unknown hash algorithm: {s} (only MD5)"))
    }
}
