//! `-g` / `--log-file=FILE`: each process also logs to a file of its own, named as keepalived
//! names them: FILE for the parent, with `_vrrp` or `_check` (then `_NAMESPACE`, `_INSTANCE`)
//! inserted before the extension for the engines; a relative FILE is under `$TMPDIR` (or
//! `/tmp`). Each line is stamped like keepalived's file lines,
//! `Mon Dec 07 15:33:17.123456789 2026: ...` (UTC here, see [`super::log`]), and written with
//! one `write(2)` as it is made, so `--flush-log-file` is always in effect.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use keepalived_config::model::global::GlobalConfig;
use tracing_subscriber::fmt::MakeWriter;

use super::cli::Cli;
use super::netns;

/// keepalived's file name for process `prog` (`None`: the parent) from `-g NAME`.
pub fn file_name(
    name: &Path,
    prog: Option<&str>,
    namespace: Option<&str>,
    instance: Option<&str>,
) -> PathBuf {
    let text = name.to_string_lossy();
    let mut out = if text.starts_with('/') {
        String::new()
    } else {
        let tmp = std::env::var("TMPDIR")
            .ok()
            .filter(|t| t.starts_with('/'))
            .unwrap_or_else(|| "/tmp".to_owned());
        format!("{tmp}/")
    };
    // The extension starts at the last '.' after the last '/'.
    let dir_end = text.rfind('/').map_or(0, |i| i + 1);
    let ext_start = text[dir_end..].rfind('.').map(|i| dir_end + i);
    out.push_str(&text[..ext_start.unwrap_or(text.len())]);
    for part in [prog, namespace, instance].into_iter().flatten() {
        out.push('_');
        out.push_str(part);
    }
    if let Some(i) = ext_start {
        out.push_str(&text[i..]);
    }
    PathBuf::from(out)
}

/// The log file of this process for `-g` (`prog`: `None` for the parent, `vrrp`, `check`);
/// `None` without `-g`. A file that cannot be opened is reported on stderr and skipped.
pub fn open(cli: &Cli, prog: Option<&str>, global: &GlobalConfig) -> Option<FileSink> {
    let name = cli.log_file.as_deref()?;
    let path = file_name(
        name,
        prog,
        netns::chosen(cli, global),
        global.instance.as_deref(),
    );
    let opened = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .mode(0o666)
        .open(&path);
    match opened {
        Ok(file) => Some(FileSink {
            file: Mutex::new(file),
        }),
        Err(e) => {
            eprintln!(
                "keepalived-rs: cannot open log file {}: {e}",
                path.display()
            );
            None
        }
    }
}

/// Log lines to a file, one `write(2)` per line.
#[derive(Debug)]
pub struct FileSink {
    file: Mutex<File>,
}

/// One event's text, written on drop with its time stamp.
pub struct FileLine<'a> {
    sink: &'a FileSink,
    buf: Vec<u8>,
}

impl Write for FileLine<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for FileLine<'_> {
    fn drop(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let text = String::from_utf8_lossy(&self.buf);
        let line = format!(
            "{}: {}\n",
            stamp(now.as_secs(), now.subsec_nanos()),
            text.trim_end()
        );
        if let Ok(mut f) = self.sink.file.lock() {
            let _ = f.write_all(line.as_bytes());
        }
    }
}

impl<'a> MakeWriter<'a> for FileSink {
    type Writer = FileLine<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        FileLine {
            sink: self,
            buf: Vec::new(),
        }
    }
}

/// keepalived's file stamp, `%a %b %d %T.%9ld %Y`: `Mon Dec 07 15:33:17.123456789 2026`.
pub fn stamp(secs: u64, nanos: u32) -> String {
    let c = super::log::civil(secs);
    format!(
        "{} {} {:02} {:02}:{:02}:{:02}.{nanos:09} {}",
        c.weekday, c.month, c.day, c.hour, c.minute, c.second, c.year
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_like_keepalived() {
        let p = |n: &str, prog, ns, inst| file_name(Path::new(n), prog, ns, inst);
        assert_eq!(
            p("/var/log/ka.log", None, None, None),
            Path::new("/var/log/ka.log")
        );
        assert_eq!(
            p("/var/log/ka.log", Some("vrrp"), None, None),
            Path::new("/var/log/ka_vrrp.log")
        );
        assert_eq!(
            p("/var/log/ka.log", Some("check"), Some("blue"), Some("i1")),
            Path::new("/var/log/ka_check_blue_i1.log")
        );
        // No extension; a '.' in a directory is not one.
        assert_eq!(
            p("/var/lo.g/ka", Some("vrrp"), None, None),
            Path::new("/var/lo.g/ka_vrrp")
        );
    }

    #[test]
    fn stamps_like_keepalived_files() {
        // 2026-12-07 15:33:17 UTC, a Monday.
        assert_eq!(
            stamp(1_796_657_597, 5),
            "Mon Dec 07 15:33:17.000000005 2026"
        );
    }
}
