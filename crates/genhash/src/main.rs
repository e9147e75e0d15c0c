//! `genhash`: fetches a page over HTTP or HTTPS and prints the MD5 of its body, ready to paste
//! into an HTTP_GET/SSL_GET `digest`. It uses the checker's own HTTP client
//! (`keepalived_checker::probe::http`), so it sends exactly what the check sends.
//!
//! Options are keepalived's genhash: `-s SERVER -p PORT -u URL [-S] [-I] [-V VHOST]
//! [-P 1.0|1.0C|1.1] [-t TIMEOUT] [-m FWMARK] [-H md5] [-v] [-h] [-r]`. Without `-v` the output
//! is the line `MD5SUM = <hex>`; with `-v` the request, the response head, a hex dump of the
//! body, the digest and the response time. Exit status: 0 when the page was fetched, 1 on a
//! command-line error, `-h`, or a failed fetch (connect, TLS, HTTP, timeout).
//!
//! Differences from keepalived's genhash: TLS is 1.2/1.3 only (rustls), and `-t` defaults to
//! 30 seconds instead of no limit. The certificate is not verified, as in keepalived.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser as _;
use keepalived_checker::probe::http::{Fetched, HttpProbe, hex};
use keepalived_checker::probe::report;
use keepalived_checker::probe::tcp::ConnectOpts;
use keepalived_checker::probe::tls::TlsVerify;
use keepalived_config::model::lvs::checker::{HttpCheck, Url};

use cli::Args;

mod cli;

const DELIM: &str = "-----------------------";

fn banner(out: &mut impl Write, title: &str) -> std::io::Result<()> {
    writeln!(out, "{DELIM}[ {title:^26} ]{DELIM}")
}

/// Offset, 16 bytes in hex, and their printable characters.
fn hex_dump(out: &mut impl Write, data: &[u8]) -> std::io::Result<()> {
    for (i, line) in data.chunks(16).enumerate() {
        write!(out, "{:08x} ", i * 16)?;
        for b in line {
            write!(out, " {b:02x}")?;
        }
        let pad = (16 - line.len()) * 3;
        let text: String = line
            .iter()
            .map(|&b| {
                if b.is_ascii_graphic() || b == b' ' {
                    b as char
                } else {
                    '.'
                }
            })
            .collect();
        writeln!(out, "{:pad$}  {text}", "")?;
    }
    Ok(())
}

fn print_head(out: &mut impl Write, f: &Fetched) -> std::io::Result<()> {
    let reason = f.status.canonical_reason().unwrap_or("");
    writeln!(out, "{:?} {} {reason}", f.version, f.status.as_u16())?;
    for (name, value) in &f.headers {
        writeln!(out, "{name}: {}", String::from_utf8_lossy(value.as_bytes()))?;
    }
    Ok(())
}

fn run(args: Args, server: IpAddr, port: u16, path: String) -> Result<(), String> {
    let check = HttpCheck {
        http_protocol: args.protocol,
        virtualhost: args.vhost.clone(),
        enable_sni: args.sni,
        urls: vec![Url::new(path, Default::default())],
        ..Default::default()
    };
    let mut opts = ConnectOpts::new(
        SocketAddr::new(server, port),
        Duration::from_secs(args.timeout),
    );
    opts.fwmark = args.fwmark;
    let probe = HttpProbe::new(&check, args.ssl, opts, &TlsVerify::None).map_err(|e| report(&e))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| report(&e))?;
    let start = Instant::now();
    let mut body = Vec::new();
    let fetched = rt.block_on(async {
        if args.verbose {
            let mut sink = |b: &[u8]| body.extend_from_slice(b);
            probe.fetch(0, Some(&mut sink)).await
        } else {
            probe.fetch(0, None).await
        }
    });
    let elapsed = start.elapsed();
    let fetched =
        fetched.map_err(|e| format!("cannot fetch [{}]:{}: {}", server, port, report(&e)))?;
    let md5 = fetched.md5.map(|d| hex(&d)).unwrap_or_default();
    let mut out = std::io::stdout().lock();
    let res = (|| -> std::io::Result<()> {
        if args.verbose {
            banner(&mut out, "HTTP Request")?;
            write!(out, "{}", probe.request_text(0).unwrap_or_default())?;
            banner(&mut out, "HTTP Header Ascii Buffer")?;
            print_head(&mut out, &fetched)?;
            banner(&mut out, "HTML Buffer")?;
            hex_dump(&mut out, &body)?;
            banner(&mut out, "HTML hash final resulting")?;
        }
        writeln!(out, "MD5SUM = {md5}")?;
        if args.verbose {
            writeln!(out)?;
            let path = check.urls.first().map(|u| u.path.as_str()).unwrap_or("");
            writeln!(
                out,
                "Global response time for [{path}] = {} usecs",
                elapsed.as_micros()
            )?;
        }
        out.flush()
    })();
    res.map_err(|e| format!("writing output: {e}"))?;
    if !fetched.status.is_success() {
        eprintln!(
            "genhash: note: HTTP status {} (HTTP_GET accepts 200-299 unless status_code says otherwise)",
            fetched.status.as_u16()
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(1);
        }
    };
    if args.help {
        use clap::CommandFactory;
        let _ = Args::command().write_long_help(&mut std::io::stderr());
        return ExitCode::from(1);
    }
    if args.release {
        eprintln!("genhash (keepalived-rs) {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    let (Some(server), Some(port), Some(url)) = (args.server, args.port, args.url.clone()) else {
        eprintln!("genhash: -s, -p and -u are required");
        return ExitCode::from(1);
    };
    match run(args, server, port, url) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("genhash: {e}");
            ExitCode::from(1)
        }
    }
}
