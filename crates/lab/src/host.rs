//! [`Host`]: a handle on one lab namespace, with helpers to run commands in
//! it and to configure and inspect its interfaces and addresses.

use std::ffi::OsStr;
use std::net::IpAddr;
use std::process::{Command, Output, Stdio};

use crate::cmd::{self, validate_ifname};
use crate::error::{LabError, Result};
use crate::process::LabChild;

/// A network namespace created by [`crate::Lab::host`].
///
/// This is only a name: cloning is cheap, and after the lab is dropped every
/// operation fails because the namespace is gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    name: String,
    netns: String,
}

impl Host {
    pub(crate) fn new(name: &str, netns: &str) -> Host {
        Host {
            name: name.to_owned(),
            netns: netns.to_owned(),
        }
    }

    /// The short name given to [`crate::Lab::host`] (e.g. `ha1`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The full namespace name, as shown by `ip netns list`.
    pub fn netns(&self) -> &str {
        &self.netns
    }

    /// Runs `ip -n NETNS ARGS...` and returns its stdout.
    ///
    /// # Errors
    /// [`LabError::Command`] with `ip`'s stderr if it fails.
    pub fn ip<I, S>(&self, args: I) -> Result<String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        cmd::checked(Command::new("ip").args(["-n", &self.netns]).args(args))
    }

    /// A [`Command`] for `ip netns exec NETNS PROGRAM`, to which the caller
    /// adds arguments, environment and stdio before running it.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.netns]).arg(program);
        c
    }

    /// Runs `PROGRAM ARGS...` inside the namespace, with no stdin, and
    /// returns its captured output whatever its exit status.
    ///
    /// # Panics
    /// If `ip` itself cannot be started.
    pub fn run<I, S>(&self, program: &str, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut c = self.command(program);
        c.args(args);
        cmd::output(&mut c).unwrap_or_else(|e| panic!("lab: {e}"))
    }

    /// Like [`Host::run`], but returns stdout only if the program succeeded.
    ///
    /// # Errors
    /// [`LabError::Command`] with the program's stderr if it failed.
    pub fn run_ok<I, S>(&self, program: &str, args: I) -> Result<String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut c = self.command(program);
        c.args(args);
        let out = cmd::output(&mut c)?;
        cmd::check(&c, out)
    }

    /// Runs `sh -c SCRIPT` inside the namespace; see [`Host::run`].
    ///
    /// # Panics
    /// If `ip` itself cannot be started.
    pub fn exec_sh(&self, script: &str) -> Output {
        self.run("sh", ["-c", script])
    }

    /// Starts `PROGRAM ARGS...` inside the namespace in the background, with
    /// stdin from `/dev/null` and stdout/stderr inherited. The process is
    /// killed and reaped when the returned [`LabChild`] is dropped (and in
    /// any case when the lab is dropped). For other stdio use
    /// [`Host::command`] with [`LabChild::spawn`].
    ///
    /// # Errors
    /// [`LabError::Spawn`] if `ip` cannot be started. A missing `PROGRAM`
    /// shows up as the child exiting with status 255.
    pub fn spawn<I, S>(&self, program: &str, args: I) -> Result<LabChild>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut c = self.command(program);
        c.args(args).stdin(Stdio::null());
        LabChild::spawn(&mut c)
    }

    /// Adds `cidr` (`192.0.2.1/24`, `2001:db8::1/64`; no prefix means a host
    /// route) to interface `ifname`. IPv6 addresses are added `nodad` so
    /// they are usable at once.
    ///
    /// # Errors
    /// [`LabError::InvalidArgument`] if `cidr` does not parse;
    /// [`LabError::Command`] if `ip addr add` fails.
    pub fn add_addr(&self, ifname: &str, cidr: &str) -> Result<()> {
        validate_ifname(ifname)?;
        let mut args = vec!["addr", "add", cidr, "dev", ifname];
        if parse_cidr(cidr)?.0.is_ipv6() {
            args.push("nodad");
        }
        self.ip(args).map(drop)
    }

    /// Removes `cidr` from interface `ifname`.
    ///
    /// # Errors
    /// As for [`Host::add_addr`].
    pub fn del_addr(&self, ifname: &str, cidr: &str) -> Result<()> {
        validate_ifname(ifname)?;
        parse_cidr(cidr)?;
        self.ip(["addr", "del", cidr, "dev", ifname]).map(drop)
    }

    /// Every address on `ifname` with its prefix length, in `ip`'s order
    /// (IPv6 link-local `fe80::` addresses included).
    ///
    /// # Errors
    /// [`LabError::Command`] if the interface does not exist;
    /// [`LabError::Parse`] if `ip -j`'s output cannot be understood.
    pub fn addrs(&self, ifname: &str) -> Result<Vec<(IpAddr, u8)>> {
        validate_ifname(ifname)?;
        let json = self.ip(["-j", "addr", "show", "dev", ifname])?;
        parse_addrs(&json).map_err(|detail| LabError::Parse {
            command: format!("ip -j -n {} addr show dev {ifname}", self.netns),
            detail,
        })
    }

    /// Whether `addr` is configured on any interface of this host. Any error
    /// (e.g. the namespace is gone) counts as "no".
    pub fn has_addr(&self, addr: IpAddr) -> bool {
        self.ip(["-j", "addr", "show"])
            .ok()
            .and_then(|json| parse_addrs(&json).ok())
            .is_some_and(|list| list.iter().any(|(a, _)| *a == addr))
    }

    /// `ip link set IFNAME up`.
    ///
    /// # Errors
    /// [`LabError::Command`] if the interface does not exist.
    pub fn link_set_up(&self, ifname: &str) -> Result<()> {
        validate_ifname(ifname)?;
        self.ip(["link", "set", "dev", ifname, "up"]).map(drop)
    }

    /// `ip link set IFNAME down`.
    ///
    /// # Errors
    /// [`LabError::Command`] if the interface does not exist.
    pub fn link_set_down(&self, ifname: &str) -> Result<()> {
        validate_ifname(ifname)?;
        self.ip(["link", "set", "dev", ifname, "down"]).map(drop)
    }

    /// Adds a veth pair with both ends, `ifname` and `peer`, in this host
    /// and brings both up, `peer` first, so `ifname` has carrier the moment
    /// it is up: a link that leads nowhere, where the kernel has no `dummy`
    /// links (a lone router's `eth0`, a link to track).
    ///
    /// # Errors
    /// [`LabError::InvalidArgument`] for a bad or repeated name;
    /// [`LabError::Command`] if `ip` fails, e.g. because a name is taken.
    pub fn veth_loop(&self, ifname: &str, peer: &str) -> Result<()> {
        validate_ifname(ifname)?;
        validate_ifname(peer)?;
        if ifname == peer {
            return Err(LabError::InvalidArgument {
                value: peer.to_owned(),
                reason: "both ends of a veth in one namespace need distinct names",
            });
        }
        self.ip(["link", "add", ifname, "type", "veth", "peer", "name", peer])?;
        self.link_set_up(peer)?;
        self.link_set_up(ifname)
    }

    /// Whether an interface called `ifname` exists in this host.
    pub fn iface_exists(&self, ifname: &str) -> bool {
        validate_ifname(ifname).is_ok() && self.ip(["link", "show", "dev", ifname]).is_ok()
    }

    /// Sets a sysctl inside this namespace, e.g.
    /// `sysctl("net.ipv4.ip_forward", "1")` (written to `/proc/sys/...`).
    ///
    /// # Errors
    /// [`LabError::InvalidArgument`] for a key with `/`, whitespace or `..`;
    /// [`LabError::Command`] if the write fails.
    pub fn sysctl(&self, key: &str, value: &str) -> Result<()> {
        if key.is_empty()
            || key.contains("..")
            || key.bytes().any(|b| b == b'/' || b.is_ascii_whitespace())
        {
            return Err(LabError::InvalidArgument {
                value: key.to_owned(),
                reason: "not a sysctl key",
            });
        }
        let path = format!("/proc/sys/{}", key.replace('.', "/"));
        self.run_ok(
            "sh",
            ["-c", "printf '%s\\n' \"$1\" > \"$2\"", "sh", value, &path],
        )
        .map(drop)
    }

    /// Sends one ICMP echo request to `dst` and reports whether a reply
    /// came within a second; see [`crate::ping`].
    pub fn ping(&self, dst: IpAddr) -> bool {
        crate::ping::ping(self, dst)
    }
}

/// Parses `ADDR[/PREFIX]`.
fn parse_cidr(cidr: &str) -> Result<(IpAddr, Option<u8>)> {
    let bad = |reason| LabError::InvalidArgument {
        value: cidr.to_owned(),
        reason,
    };
    let (addr, prefix) = match cidr.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (cidr, None),
    };
    let addr: IpAddr = addr.parse().map_err(|_| bad("not an IP address"))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        Some(p) => match p.parse::<u8>() {
            Ok(n) if n <= max => Some(n),
            _ => return Err(bad("bad prefix length")),
        },
        None => None,
    };
    Ok((addr, prefix))
}

/// Extracts `(local, prefixlen)` pairs from `ip -j addr show` output.
fn parse_addrs(json: &str) -> std::result::Result<Vec<(IpAddr, u8)>, String> {
    let value: serde_json::Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let links = value.as_array().ok_or("expected a JSON array")?;
    let mut out = Vec::new();
    for link in links {
        let Some(infos) = link.get("addr_info").and_then(|a| a.as_array()) else {
            continue;
        };
        for info in infos {
            let Some(local) = info.get("local").and_then(|l| l.as_str()) else {
                continue;
            };
            let addr: IpAddr = local
                .parse()
                .map_err(|_| format!("bad address {local:?}"))?;
            let prefix = info
                .get("prefixlen")
                .and_then(|p| p.as_u64())
                .and_then(|p| u8::try_from(p).ok())
                .ok_or_else(|| format!("missing prefixlen for {local}"))?;
            out.push((addr, prefix));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_parsing() {
        assert!(parse_cidr("192.0.2.1/24").is_ok());
        assert!(parse_cidr("2001:db8::1/64").unwrap().0.is_ipv6());
        assert_eq!(parse_cidr("192.0.2.1").unwrap().1, None);
        assert!(parse_cidr("192.0.2.1/33").is_err());
        assert!(parse_cidr("nonsense/8").is_err());
    }

    #[test]
    fn addr_json_parsing() {
        let json = r#"[{"ifname":"eth0","addr_info":[
            {"family":"inet","local":"192.0.2.1","prefixlen":24},
            {"family":"inet6","local":"2001:db8::1","prefixlen":64}]},
            {"ifname":"lo"}]"#;
        let got = parse_addrs(json).unwrap();
        assert_eq!(
            got,
            vec![
                ("192.0.2.1".parse().unwrap(), 24),
                ("2001:db8::1".parse().unwrap(), 64)
            ]
        );
        assert!(parse_addrs("{}").is_err());
    }
}
