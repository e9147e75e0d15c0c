//! Interface names and indexes.

use crate::error::{NetError, Result};

/// The index of interface `ifname` in the calling thread's network
/// namespace (`if_nametoindex(3)`).
///
/// # Errors
/// [`NetError::NoSuchInterface`] if there is none (or the name is not a
/// valid interface name).
pub fn ifindex(ifname: &str) -> Result<u32> {
    let not_found = |source| NetError::NoSuchInterface {
        ifname: ifname.to_owned(),
        source,
    };
    if ifname.is_empty() || ifname.len() > 15 || ifname.contains('\0') {
        return Err(not_found(std::io::Error::from_raw_os_error(libc::ENODEV)));
    }
    nix::net::if_::if_nametoindex(ifname).map_err(|e| not_found(e.into()))
}

/// The name of the interface with index `index` (`if_indextoname(3)`).
///
/// # Errors
/// [`NetError::NoSuchInterface`] (with the index as the name) if there is none.
pub fn ifname(index: u32) -> Result<String> {
    let not_found = |source| NetError::NoSuchInterface {
        ifname: format!("#{index}"),
        source,
    };
    let name = nix::net::if_::if_indextoname(index)
        .map(|name| name.to_string_lossy().into_owned())
        .map_err(|e| not_found(e.into()))?;
    if index == 0 || name.is_empty() {
        return Err(not_found(std::io::Error::from_raw_os_error(libc::ENXIO)));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_found_and_junk_is_not() {
        // Every network namespace has `lo`.
        let lo = ifindex("lo").unwrap();
        assert!(lo > 0);
        assert_eq!(ifname(lo).unwrap(), "lo");
        assert!(matches!(
            ifindex("no-such-if0"),
            Err(NetError::NoSuchInterface { .. })
        ));
        assert!(ifindex("").is_err());
        assert!(ifindex("abcdefghijklmnop").is_err());
        assert!(ifname(0).is_err());
        assert!(ifname(u32::MAX).is_err());
    }
}
