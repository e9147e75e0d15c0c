//! Per-interface sysctls under `/proc/sys/net/{ipv4,ipv6}/conf/IFNAME/KEY`.
//!
//! `/proc/sys/net` shows the network namespace of the thread that opens the file, so these
//! act in the calling thread's namespace (like [`crate::Rtnl::open`]); call them from the
//! thread (or namespace) the interfaces live in.

use std::io;

use crate::error::{NetError, Result};

/// Which tree: `net/ipv4/conf` or `net/ipv6/conf`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tree {
    V4,
    V6,
}

fn path(tree: Tree, ifname: &str, key: &str) -> Result<String> {
    // `all` and `default` are valid; a name with `/` or `..` would escape the directory.
    if ifname.is_empty() || ifname.contains('/') || ifname == ".." || ifname.contains('\0') {
        return Err(NetError::InvalidArgument(format!(
            "interface name {ifname:?} for a sysctl"
        )));
    }
    let t = match tree {
        Tree::V4 => "ipv4",
        Tree::V6 => "ipv6",
    };
    Ok(format!("/proc/sys/net/{t}/conf/{ifname}/{key}"))
}

fn err(op: &'static str, ifname: &str, source: io::Error) -> NetError {
    NetError::Socket {
        op,
        ifname: ifname.to_owned(),
        source,
    }
}

/// Reads an integer sysctl.
pub(crate) fn get(tree: Tree, ifname: &str, key: &'static str) -> Result<i64> {
    let p = path(tree, ifname, key)?;
    let text = std::fs::read_to_string(&p).map_err(|e| err(key, ifname, e))?;
    text.trim().parse().map_err(|_| {
        err(
            key,
            ifname,
            io::Error::new(io::ErrorKind::InvalidData, format!("{p}: {text:?}")),
        )
    })
}

/// Writes an integer sysctl.
pub(crate) fn set(tree: Tree, ifname: &str, key: &'static str, value: i64) -> Result<()> {
    let p = path(tree, ifname, key)?;
    std::fs::write(&p, format!("{value}\n")).map_err(|e| err(key, ifname, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_conf() {
        assert_eq!(
            path(Tree::V4, "vrrp.51", "arp_ignore").unwrap(),
            "/proc/sys/net/ipv4/conf/vrrp.51/arp_ignore"
        );
        assert_eq!(
            path(Tree::V6, "all", "disable_ipv6").unwrap(),
            "/proc/sys/net/ipv6/conf/all/disable_ipv6"
        );
        assert!(path(Tree::V4, "../../x", "k").is_err());
        assert!(path(Tree::V4, "..", "k").is_err());
        assert!(path(Tree::V4, "", "k").is_err());
        // `lo` always exists; reading works without root.
        assert!(get(Tree::V4, "lo", "arp_ignore").is_ok());
        assert!(get(Tree::V4, "no-such-if0", "arp_ignore").is_err());
    }
}
