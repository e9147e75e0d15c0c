//! Running external commands (`ip`, `sh`), turning failures into
//! [`LabError`]s, and checking the names handed to them.

use std::ffi::OsStr;
use std::process::{Command, Output, Stdio};

use crate::error::{LabError, Result};

/// Longest Linux interface name (`IFNAMSIZ` - 1).
pub(crate) const IFNAME_MAX: usize = 15;

/// Renders a command line for error messages.
pub(crate) fn describe(cmd: &Command) -> String {
    let mut line = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        line.push(' ');
        line.push_str(&arg.to_string_lossy());
    }
    line
}

/// Runs `cmd` to completion with no standard input and captures its output.
pub(crate) fn output(cmd: &mut Command) -> Result<Output> {
    cmd.stdin(Stdio::null());
    cmd.output().map_err(|source| LabError::Spawn {
        command: describe(cmd),
        source,
    })
}

/// Turns a finished command into its stdout, or a [`LabError::Command`].
pub(crate) fn check(cmd: &Command, out: Output) -> Result<String> {
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(LabError::Command {
            command: describe(cmd),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }
}

/// Runs `cmd` and returns its stdout if it exited successfully.
pub(crate) fn checked(cmd: &mut Command) -> Result<String> {
    let out = output(cmd)?;
    check(cmd, out)
}

/// Runs `ip ARGS...` in the caller's namespace and returns its stdout.
pub(crate) fn ip<I, S>(args: I) -> Result<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    checked(Command::new("ip").args(args))
}

/// Checks a lab, host or segment label: it becomes part of a namespace name.
pub(crate) fn validate_label(name: &str) -> Result<()> {
    let bad = |reason| {
        Err(LabError::InvalidArgument {
            value: name.to_owned(),
            reason,
        })
    };
    if name.is_empty() {
        return bad("empty name");
    }
    if name.len() > 64 {
        return bad("longer than 64 bytes");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return bad("only ASCII letters, digits, '_' and '-' are allowed");
    }
    Ok(())
}

/// Checks an interface name: at most 15 bytes, no '/', ':' or whitespace.
pub(crate) fn validate_ifname(name: &str) -> Result<()> {
    let bad = |reason| {
        Err(LabError::InvalidArgument {
            value: name.to_owned(),
            reason,
        })
    };
    if name.is_empty() || name == "." || name == ".." {
        return bad("not a usable interface name");
    }
    if name.len() > IFNAME_MAX {
        return bad("interface names are at most 15 bytes");
    }
    if name
        .bytes()
        .any(|b| b == b'/' || b == b':' || b.is_ascii_whitespace() || !b.is_ascii())
    {
        return bad("interface names may not contain '/', ':', whitespace or non-ASCII");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_ifnames() {
        assert!(validate_label("ha1").is_ok());
        assert!(validate_label("").is_err());
        assert!(validate_label("a/b").is_err());
        assert!(validate_ifname("eth0").is_ok());
        assert!(validate_ifname("abcdefghijklmno").is_ok());
        assert!(validate_ifname("abcdefghijklmnop").is_err());
        assert!(validate_ifname("a b").is_err());
    }

    #[test]
    fn describe_joins_args() {
        let mut cmd = Command::new("ip");
        cmd.args(["-n", "x", "link"]);
        assert_eq!(describe(&cmd), "ip -n x link");
    }
}
