//! Logging as keepalived logs: with `-l` to the console (stderr), each line stamped like
//! `Wed Nov 25 22:45:16 2026: (VI_1) Entering MASTER STATE`; otherwise to syslog (`/dev/log`,
//! facility from `-S`, ident `Keepalived` for the parent, `Keepalived_vrrp` and
//! `Keepalived_healthcheckers` for the engines). `-D` adds the detail (debug) lines.
//!
//! The console time stamp is in UTC: the daemon forbids `unsafe`, so there is no `localtime_r`.

use std::io::{self, Write};
use std::os::unix::net::UnixDatagram;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::{Level, Metadata};

use keepalived_config::model::global::GlobalConfig;

use super::cli::Cli;
use super::netns;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;

/// Where log lines go.
#[derive(Debug, Clone)]
pub enum Target {
    /// stderr, with time stamps.
    Console,
    /// syslog with this facility number (LOG_DAEMON is 3).
    Syslog {
        /// The facility number (0..=23).
        facility: u8,
        /// The ident (`Keepalived`, `Keepalived_vrrp`, `Keepalived_healthcheckers`).
        ident: &'static str,
    },
}

/// Installs the global subscriber, also writing every line to `file` (`-g`,
/// [`super::log_file`]). Calling it twice is harmless (the second call is ignored).
pub fn init<F>(target: &Target, detail: bool, file: Option<F>)
where
    F: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;

    let level = if detail { Level::DEBUG } else { Level::INFO };
    let main = tracing_subscriber::fmt::layer()
        .with_target(false)
        .with_level(false);
    let main = match target {
        Target::Console => main
            .with_timer(KeepalivedTime)
            .with_writer(io::stderr)
            .boxed(),
        Target::Syslog { facility, ident } => main
            .without_time()
            .with_writer(Syslog::new(*facility, ident))
            .boxed(),
    };
    let file = file.map(|f| {
        tracing_subscriber::fmt::layer()
            .with_target(false)
            .with_level(false)
            .without_time()
            .with_writer(f)
    });
    let _ = tracing_subscriber::registry()
        .with(tracing_subscriber::filter::LevelFilter::from_level(level))
        .with(main)
        .with(file)
        .try_init();
}

/// The log target of `-l` / `-G` / `-S`, for the process whose base syslog ident is `base`
/// (with the namespace and instance names appended as keepalived does: [`netns::ident`]).
pub fn target(cli: &Cli, base: &str, global: &GlobalConfig) -> Target {
    if cli.log_console || cli.no_syslog {
        Target::Console
    } else {
        // Once per process: the ident lives as long as the process logs.
        let ident: &'static str = Box::leak(netns::ident(base, cli, global).into_boxed_str());
        Target::Syslog {
            facility: facility(cli.log_facility.as_deref()),
            ident,
        }
    }
}

/// The facility number for `-S` (`0`-`7`, `local0`-`local7`, `user`, `daemon`).
pub fn facility(name: Option<&str>) -> u8 {
    match name {
        Some("user") => 1,
        Some(s) => s
            .strip_prefix("local")
            .unwrap_or(s)
            .parse::<u8>()
            .ok()
            .filter(|n| *n <= 7)
            .map_or(3, |n| 16 + n),
        None => 3,
    }
}

/// keepalived's console stamp: `Wed Nov 25 22:45:16 2026:`.
struct KeepalivedTime;

impl FormatTime for KeepalivedTime {
    fn format_time(&self, w: &mut Writer<'_>) -> std::fmt::Result {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        write!(w, "{}:", stamp(secs))
    }
}

/// `Www Mmm dd hh:mm:ss yyyy` (as `ctime(3)`, day padded with a space) for `secs` since the
/// epoch, in UTC.
pub fn stamp(secs: u64) -> String {
    let c = civil(secs);
    format!(
        "{} {} {:>2} {:02}:{:02}:{:02} {}",
        c.weekday, c.month, c.day, c.hour, c.minute, c.second, c.year
    )
}

/// A time in seconds since the epoch as calendar parts (UTC), for the time stamps.
pub struct Civil {
    /// `Mon` .. `Sun`.
    pub weekday: &'static str,
    /// `Jan` .. `Dec`.
    pub month: &'static str,
    /// The year.
    pub year: u64,
    /// 1..=31.
    pub day: u64,
    /// 0..=23.
    pub hour: u64,
    /// 0..=59.
    pub minute: u64,
    /// 0..=59.
    pub second: u64,
}

/// The calendar parts of `secs` seconds since the epoch (UTC).
pub fn civil(secs: u64) -> Civil {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (year, m, day) = civil_from_days(days);
    Civil {
        weekday: DAYS[usize::try_from(days % 7).unwrap_or(0)],
        month: MONTHS[usize::try_from(m - 1).unwrap_or(0).min(11)],
        year,
        day,
        hour: rem / 3600,
        minute: (rem / 60) % 60,
        second: rem % 60,
    }
}

/// Year, month (1..=12), day (1..=31) of day `days` since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

/// A `MakeWriter` sending each event as one datagram to `/dev/log`.
struct Syslog {
    facility: u8,
    ident: &'static str,
    socket: Mutex<Option<UnixDatagram>>,
}

impl Syslog {
    fn new(facility: u8, ident: &'static str) -> Self {
        Syslog {
            facility,
            ident,
            socket: Mutex::new(None),
        }
    }

    fn send(&self, severity: u8, line: &[u8]) {
        let Ok(mut guard) = self.socket.lock() else {
            return;
        };
        if guard.is_none() {
            *guard = UnixDatagram::unbound()
                .and_then(|s| s.connect("/dev/log").map(|()| s))
                .ok();
        }
        let Some(sock) = guard.as_ref() else {
            return;
        };
        let text = String::from_utf8_lossy(line);
        let msg = format!(
            "<{}>{}[{}]: {}",
            u16::from(self.facility) * 8 + u16::from(severity),
            self.ident,
            std::process::id(),
            text.trim_end()
        );
        if sock.send(msg.as_bytes()).is_err() {
            // syslogd restarted: reconnect on the next line.
            *guard = None;
        }
    }
}

/// One event's text, sent on drop.
struct SyslogLine<'a> {
    sink: &'a Syslog,
    severity: u8,
    buf: Vec<u8>,
}

impl Write for SyslogLine<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for SyslogLine<'_> {
    fn drop(&mut self) {
        if !self.buf.is_empty() {
            self.sink.send(self.severity, &self.buf);
        }
    }
}

impl<'a> MakeWriter<'a> for Syslog {
    type Writer = SyslogLine<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        SyslogLine {
            sink: self,
            severity: 6,
            buf: Vec::new(),
        }
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Self::Writer {
        let severity = match *meta.level() {
            Level::ERROR => 3,
            Level::WARN => 4,
            Level::INFO => 6,
            Level::DEBUG | Level::TRACE => 7,
        };
        SyslogLine {
            sink: self,
            severity,
            buf: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_like_ctime() {
        assert_eq!(stamp(0), "Thu Jan  1 00:00:00 1970");
        // 2026-11-25 22:45:16 UTC, a Wednesday.
        assert_eq!(stamp(1_795_646_716), "Wed Nov 25 22:45:16 2026");
        assert_eq!(stamp(951_782_400), "Tue Feb 29 00:00:00 2000");
    }

    #[test]
    fn facilities() {
        assert_eq!(facility(None), 3);
        assert_eq!(facility(Some("daemon")), 3);
        assert_eq!(facility(Some("user")), 1);
        assert_eq!(facility(Some("local2")), 18);
        assert_eq!(facility(Some("7")), 23);
    }
}
