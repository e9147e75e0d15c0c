//! VRRP virtual MAC interfaces (keepalived's `use_vmac`) and the sysctls that go with them.
//!
//! A VMAC is a macvlan in private mode on the
//! instance's interface, with the RFC 5798 §7.3 virtual router MAC `00:00:5e:00:01:VRID`
//! (IPv4) or `00:00:5e:00:02:VRID` (IPv6), or a configured one; named `vrrp.VRID` unless
//! configured (keepalived's default, `vmac_prefix` + `.` + VRID).
//!
//! What keepalived does around the link, and [`Vmacs`] does too:
//! * A link of that name left by a crashed run (a macvlan whose MAC is the wanted one or any
//!   VRRP MAC) is deleted and created afresh; any other link of that name is left alone and
//!   creation fails.
//! * IPv6 address generation is off on the VMAC (`addr_gen_mode none`): a link-local address
//!   derived from the shared virtual MAC would be the same on every router (RFC 5798 §7.4).
//! * IPv4 instance: on the VMAC `arp_ignore=1` (answer ARP only for its own addresses),
//!   `accept_local=1` (hear the other routers' adverts), `rp_filter=0` (receive without an
//!   address), `promote_secondaries=1`, and IPv6 disabled unless asked for (IPv6 eVIPs); on the
//!   parent `arp_ignore=1` and `arp_filter=1` so it does not answer for the VIPs, its previous
//!   values restored when its last VMAC goes. If `net.ipv4.conf.all.rp_filter` is set, every
//!   interface's `rp_filter` and `default.rp_filter` are raised to it and `all` is set to 0 (the
//!   effective value is the maximum of both), all restored when the last IPv4 VMAC goes.
//! * IPv6 instance: the VMAC gets a link-local address, the source of the adverts: the one
//!   configured, else the parent's link-local address, else the EUI-64 address of the parent's
//!   MAC; `/64`, `nodad` and deprecated (preferred lifetime 0) so that nothing else picks it as a
//!   source.
//! * Then the VMAC is set up.
//!
//! The sysctls are written under `/proc/sys`, in the calling thread's network namespace (see
//! `sysctl.rs`); the links and addresses go through the [`Rtnl`] socket's namespace. Use both
//! from the same namespace.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::address::{AddressAttribute, CacheInfo};
use netlink_packet_route::link::{
    AfSpecInet6, AfSpecUnspec, In6AddrGenMode, InfoData, InfoKind, InfoMacVlan, LinkAttribute,
    LinkInfo as NlLinkInfo, LinkMessage, MacVlanMode,
};

use crate::address::{AddrScope, AddrSpec, Rtnl};
use crate::error::{NetError, Result};
use crate::garp::MacAddr;
use crate::link_monitor::LinkInfo;
use crate::sysctl::{self, Tree};
use crate::vrrp_socket::IpFamily;

/// The RFC 5798 virtual router MAC of `vrid`: `00:00:5e:00:01:VRID` for IPv4,
/// `00:00:5e:00:02:VRID` for IPv6.
#[must_use]
pub fn vrrp_mac(family: IpFamily, vrid: u8) -> MacAddr {
    let f = match family {
        IpFamily::V4 => 1,
        IpFamily::V6 => 2,
    };
    [0, 0, 0x5e, 0, f, vrid]
}

/// Whether `mac` is an RFC 5798 virtual router MAC (either family).
#[must_use]
pub fn is_vrrp_mac(mac: &MacAddr) -> bool {
    mac[..4] == [0, 0, 0x5e, 0] && matches!(mac[4], 1 | 2)
}

/// keepalived's default VMAC name: `PREFIX.VRID` (`vmac_prefix`, default `vrrp`).
#[must_use]
pub fn vmac_name(prefix: &str, vrid: u8) -> String {
    format!("{prefix}.{vrid}")
}

/// The MAC of `use_vmac MAC`: 6 octets as given, or 5 octets followed by `vrid`; `None` for
/// any other length.
#[must_use]
pub fn configured_vmac(octets: &[u8], vrid: u8) -> Option<MacAddr> {
    match octets.len() {
        6 => MacAddr::try_from(octets).ok(),
        5 => {
            let mut mac = [0; 6];
            mac[..5].copy_from_slice(octets);
            mac[5] = vrid;
            Some(mac)
        }
        _ => None,
    }
}

/// The modified EUI-64 link-local address of `mac` (RFC 4291 appendix A).
#[must_use]
pub fn eui64_link_local(mac: &MacAddr) -> Ipv6Addr {
    Ipv6Addr::from([
        0xfe,
        0x80,
        0,
        0,
        0,
        0,
        0,
        0,
        mac[0] ^ 0x02,
        mac[1],
        mac[2],
        0xff,
        0xfe,
        mac[3],
        mac[4],
        mac[5],
    ])
}

fn is_link_local(a: &Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

/// What VMAC to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VmacSpec {
    /// The parent interface's index (the instance's `interface`).
    pub parent: u32,
    /// The macvlan's name (at most 15 bytes).
    pub name: String,
    /// Its MAC address.
    pub mac: MacAddr,
    /// The instance's address family: decides the sysctls and the link-local address.
    pub family: IpFamily,
    /// IPv6 instances: the link-local address to give the VMAC (`None`: the parent's, else
    /// EUI-64 from the parent's MAC). Ignored for IPv4.
    pub link_local: Option<Ipv6Addr>,
    /// IPv4 instances: keep IPv6 enabled on the VMAC (it carries IPv6 eVIPs).
    pub keep_ipv6: bool,
}

impl VmacSpec {
    /// keepalived's defaults for `vrid` on `parent`: name `vrrp.VRID`, the RFC MAC.
    #[must_use]
    pub fn new(parent: u32, vrid: u8, family: IpFamily) -> VmacSpec {
        VmacSpec {
            parent,
            name: vmac_name("vrrp", vrid),
            mac: vrrp_mac(family, vrid),
            family,
            link_local: None,
            keep_ipv6: false,
        }
    }

    /// Sets the name.
    #[must_use]
    pub fn with_name(mut self, name: &str) -> VmacSpec {
        name.clone_into(&mut self.name);
        self
    }

    /// Sets the MAC.
    #[must_use]
    pub fn with_mac(mut self, mac: MacAddr) -> VmacSpec {
        self.mac = mac;
        self
    }

    /// Sets the IPv6 link-local address (IPv6 instances: `mcast_src_ip` when link-local).
    #[must_use]
    pub fn with_link_local(mut self, addr: Ipv6Addr) -> VmacSpec {
        self.link_local = Some(addr);
        self
    }

    /// Keeps IPv6 on an IPv4 instance's VMAC.
    #[must_use]
    pub fn with_ipv6(mut self, keep: bool) -> VmacSpec {
        self.keep_ipv6 = keep;
        self
    }

    /// Checks the name, the parent index, and that the MAC is a unicast one.
    ///
    /// # Errors
    /// [`NetError::InvalidArgument`] saying what is wrong.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(NetError::InvalidArgument(m));
        if self.name.is_empty()
            || self.name.len() > 15
            || self.name.contains(['/', '\0', ' '])
            || self.name == "."
            || self.name == ".."
        {
            return bad(format!("VMAC name {:?}", self.name));
        }
        if self.parent == 0 {
            return bad("VMAC parent index 0".to_owned());
        }
        if self.mac[0] & 1 != 0 || self.mac == [0; 6] {
            return bad(format!("VMAC MAC {} is not unicast", mac_str(&self.mac)));
        }
        if let Some(ll) = self.link_local
            && !is_link_local(&ll)
        {
            return bad(format!("VMAC link-local address {ll} is not link-local"));
        }
        Ok(())
    }
}

/// A VMAC that exists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vmac {
    /// Its index: bind the instance's socket, add the VIPs and send GARPs here.
    pub ifindex: u32,
    /// Its name.
    pub name: String,
    /// The parent's index.
    pub parent: u32,
    /// Its MAC.
    pub mac: MacAddr,
    /// The instance's family.
    pub family: IpFamily,
    /// IPv6 instances: the VMAC's link-local address, the source of the adverts.
    pub link_local: Option<Ipv6Addr>,
}

/// `aa:bb:cc:dd:ee:ff`.
#[must_use]
pub fn mac_str(mac: &MacAddr) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

impl Rtnl {
    /// The macvlans in the namespace whose MAC is an RFC 5798 one (VMACs of any VRRP
    /// daemon, ours included; the caller decides which to remove).
    ///
    /// # Errors
    /// As for [`Rtnl::links`].
    pub fn vrrp_macvlans(&mut self) -> Result<Vec<LinkInfo>> {
        let mut links = self.links()?;
        links.retain(|l| l.is_macvlan() && l.mac.as_ref().is_some_and(is_vrrp_mac));
        Ok(links)
    }

    /// Deletes the link `name` if it is a VMAC left behind: a macvlan whose MAC is `mac` or
    /// an RFC 5798 one. Returns whether one was deleted.
    ///
    /// # Errors
    /// [`NetError::InvalidArgument`] if a link of that name exists but is not such a
    /// macvlan (it is never deleted); netlink errors otherwise.
    pub fn remove_leftover_vmac(&mut self, name: &str, mac: &MacAddr) -> Result<bool> {
        let Some(link) = self.link_by_name(name)? else {
            return Ok(false);
        };
        let ours = link.is_macvlan() && link.mac.is_some_and(|m| m == *mac || is_vrrp_mac(&m));
        if !ours {
            return Err(NetError::InvalidArgument(format!(
                "interface {name} exists and is not a VMAC (kind {}, MAC {}): not touching it",
                link.kind.as_deref().unwrap_or("none"),
                link.mac.as_ref().map_or_else(|| "none".to_owned(), mac_str),
            )));
        }
        match self.del_link(link.ifindex) {
            Ok(()) => Ok(true),
            Err(NetError::Netlink { source, .. })
                if source.raw_os_error() == Some(libc::ENODEV) =>
            {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// Creates the macvlan of `spec` (private mode), down, with nothing else set.
    fn add_macvlan(&mut self, spec: &VmacSpec) -> Result<()> {
        let mut msg = LinkMessage::default();
        msg.attributes
            .push(LinkAttribute::IfName(spec.name.clone()));
        msg.attributes.push(LinkAttribute::Link(spec.parent));
        msg.attributes
            .push(LinkAttribute::Address(spec.mac.to_vec()));
        msg.attributes.push(LinkAttribute::LinkInfo(vec![
            NlLinkInfo::Kind(InfoKind::MacVlan),
            NlLinkInfo::Data(InfoData::MacVlan(vec![InfoMacVlan::Mode(
                MacVlanMode::Private,
            )])),
        ]));
        self.request(
            "RTM_NEWLINK (macvlan)",
            RouteNetlinkMessage::NewLink(msg),
            NLM_F_CREATE | NLM_F_EXCL,
        )
    }

    /// `ip link set IFINDEX addrgenmode none`.
    fn set_addr_gen_mode_none(&mut self, ifindex: u32) -> Result<()> {
        let mut msg = LinkMessage::default();
        msg.header.index = ifindex;
        msg.attributes
            .push(LinkAttribute::AfSpecUnspec(vec![AfSpecUnspec::Inet6(
                vec![AfSpecInet6::AddrGenMode(In6AddrGenMode::None)],
            )]));
        self.request(
            "RTM_NEWLINK (addr_gen_mode)",
            RouteNetlinkMessage::NewLink(msg),
            0,
        )
    }

    /// Adds `addr/64` on `ifindex`, scope link, `nodad`, preferred lifetime 0.
    fn add_vmac_link_local(&mut self, ifindex: u32, addr: Ipv6Addr) -> Result<()> {
        let spec = AddrSpec::new(ifindex, IpAddr::V6(addr), 64).with_scope(AddrScope::Link);
        let mut msg = spec.message();
        let mut lifetimes = CacheInfo::default();
        lifetimes.ifa_preferred = 0;
        lifetimes.ifa_valid = u32::MAX;
        msg.attributes.push(AddressAttribute::CacheInfo(lifetimes));
        match self.request(
            "RTM_NEWADDR (VMAC link-local)",
            RouteNetlinkMessage::NewAddress(msg),
            NLM_F_CREATE | NLM_F_EXCL,
        ) {
            Err(NetError::Netlink { source, .. })
                if source.raw_os_error() == Some(libc::EEXIST) =>
            {
                Ok(())
            }
            r => r,
        }
    }

    /// The link-local address an IPv6 VMAC on `parent` gets when none is configured.
    fn parent_link_local(&mut self, parent: &LinkInfo) -> Result<Option<Ipv6Addr>> {
        let from_addr = self
            .addrs(Some(parent.ifindex))?
            .into_iter()
            .find_map(|a| match a.addr {
                IpAddr::V6(v6) if is_link_local(&v6) => Some(v6),
                _ => None,
            });
        Ok(from_addr.or_else(|| parent.mac.as_ref().map(eui64_link_local)))
    }
}

/// A parent's ARP sysctls before its first VMAC.
#[derive(Debug)]
struct ParentState {
    name: String,
    users: usize,
    arp_ignore: Option<i64>,
    arp_filter: Option<i64>,
}

/// `rp_filter` values changed because `all.rp_filter` was set.
#[derive(Debug, Default)]
struct RpFilterSaved {
    all: i64,
    /// `default` and every interface whose value was raised, with its old value.
    changed: Vec<(String, i64)>,
}

/// The VMACs this process created and the sysctls it changed for them, so that removing the
/// last one restores what was there before. One per daemon (per network namespace).
#[derive(Debug, Default)]
pub struct Vmacs {
    vmacs: Vec<Vmac>,
    parents: HashMap<u32, ParentState>,
    rp_filter: Option<RpFilterSaved>,
}

impl Vmacs {
    /// No VMACs yet.
    #[must_use]
    pub fn new() -> Vmacs {
        Vmacs::default()
    }

    /// The VMACs created and not yet removed.
    #[must_use]
    pub fn vmacs(&self) -> &[Vmac] {
        &self.vmacs
    }

    /// Creates, configures and sets up the VMAC of `spec` (see the module documentation);
    /// a leftover of the same name is replaced. On failure, nothing of it is left behind.
    ///
    /// # Errors
    /// [`NetError::InvalidArgument`] for a bad spec, a missing parent, or a name taken by a
    /// link that is not a VMAC; netlink and sysctl errors otherwise.
    pub fn create(&mut self, rtnl: &mut Rtnl, spec: &VmacSpec) -> Result<Vmac> {
        spec.validate()?;
        let parent = rtnl.link_by_index(spec.parent)?.ok_or_else(|| {
            NetError::InvalidArgument(format!("VMAC {}: no parent #{}", spec.name, spec.parent))
        })?;
        rtnl.remove_leftover_vmac(&spec.name, &spec.mac)?;
        let v4 = spec.family == IpFamily::V4;
        if v4 && self.ipv4_count() == 0 {
            self.relax_rp_filter(rtnl)?;
        }
        rtnl.add_macvlan(spec)?;
        let result = self.configure(rtnl, spec, &parent);
        match result {
            Ok(vmac) => {
                if v4 {
                    self.hold_parent(&parent);
                }
                self.vmacs.push(vmac.clone());
                Ok(vmac)
            }
            Err(e) => {
                if let Ok(Some(l)) = rtnl.link_by_name(&spec.name) {
                    let _ = rtnl.del_link(l.ifindex);
                }
                if v4 {
                    if self
                        .parents
                        .get(&parent.ifindex)
                        .is_some_and(|s| s.users == 0)
                    {
                        self.release_parent(parent.ifindex);
                    }
                    if self.ipv4_count() == 0 {
                        self.restore_rp_filter();
                    }
                }
                Err(e)
            }
        }
    }

    fn configure(&mut self, rtnl: &mut Rtnl, spec: &VmacSpec, parent: &LinkInfo) -> Result<Vmac> {
        let link = rtnl.link_by_name(&spec.name)?.ok_or_else(|| {
            NetError::InvalidArgument(format!("VMAC {} vanished after creation", spec.name))
        })?;
        let ifindex = link.ifindex;
        let mut link_local = None;
        match spec.family {
            IpFamily::V4 => {
                // Only matters when IPv6 stays on; harmless when it is disabled below.
                let gen_mode = rtnl.set_addr_gen_mode_none(ifindex);
                for (key, value) in [
                    ("arp_ignore", 1),
                    ("accept_local", 1),
                    ("rp_filter", 0),
                    ("promote_secondaries", 1),
                ] {
                    sysctl::set(Tree::V4, &spec.name, key, value)?;
                }
                if spec.keep_ipv6 {
                    gen_mode?;
                } else {
                    // Without IPv6 the kernel has no `conf/NAME` under ipv6: nothing to do.
                    let _ = sysctl::set(Tree::V6, &spec.name, "disable_ipv6", 1);
                }
                if !self.parents.contains_key(&parent.ifindex) {
                    self.set_parent_arp(parent)?;
                }
            }
            IpFamily::V6 => {
                rtnl.set_addr_gen_mode_none(ifindex)?;
                let ll = match spec.link_local {
                    Some(ll) => Some(ll),
                    None => rtnl.parent_link_local(parent)?,
                };
                if let Some(ll) = ll {
                    rtnl.add_vmac_link_local(ifindex, ll)?;
                }
                link_local = ll;
            }
        }
        rtnl.set_link_up(ifindex, true)?;
        Ok(Vmac {
            ifindex,
            name: spec.name.clone(),
            parent: spec.parent,
            mac: spec.mac,
            family: spec.family,
            link_local,
        })
    }

    /// Deletes `vmac` (if it is still a macvlan with its MAC; gone already is fine) and
    /// restores the sysctls changed for it once nothing else needs them.
    ///
    /// # Errors
    /// Netlink errors; the bookkeeping is updated even then.
    pub fn remove(&mut self, rtnl: &mut Rtnl, vmac: &Vmac) -> Result<()> {
        let known = self.vmacs.iter().position(|v| v == vmac);
        if let Some(i) = known {
            self.vmacs.remove(i);
        }
        let result = match rtnl.link_by_index(vmac.ifindex) {
            Ok(Some(l)) if l.is_macvlan() && l.mac == Some(vmac.mac) => {
                match rtnl.del_link(vmac.ifindex) {
                    Err(NetError::Netlink { source, .. })
                        if source.raw_os_error() == Some(libc::ENODEV) =>
                    {
                        Ok(())
                    }
                    r => r,
                }
            }
            Ok(_) => Ok(()),
            Err(e) => Err(e),
        };
        if known.is_some() && vmac.family == IpFamily::V4 {
            self.release_parent(vmac.parent);
            if self.ipv4_count() == 0 {
                self.restore_rp_filter();
            }
        }
        result
    }

    /// Removes every VMAC still held (at shutdown); returns the first error.
    ///
    /// # Errors
    /// The first netlink error met; every VMAC is tried regardless.
    pub fn remove_all(&mut self, rtnl: &mut Rtnl) -> Result<()> {
        let mut first = Ok(());
        while let Some(v) = self.vmacs.last().cloned() {
            let r = self.remove(rtnl, &v);
            if first.is_ok() {
                first = r;
            }
        }
        first
    }

    fn ipv4_count(&self) -> usize {
        self.vmacs
            .iter()
            .filter(|v| v.family == IpFamily::V4)
            .count()
    }

    fn set_parent_arp(&mut self, parent: &LinkInfo) -> Result<()> {
        let mut st = ParentState {
            name: parent.name.clone(),
            users: 0,
            arp_ignore: None,
            arp_filter: None,
        };
        let old_ignore = sysctl::get(Tree::V4, &parent.name, "arp_ignore")?;
        if old_ignore != 1 {
            sysctl::set(Tree::V4, &parent.name, "arp_ignore", 1)?;
            st.arp_ignore = Some(old_ignore);
        }
        let old_filter = sysctl::get(Tree::V4, &parent.name, "arp_filter")?;
        if old_filter != 1 {
            sysctl::set(Tree::V4, &parent.name, "arp_filter", 1)?;
            st.arp_filter = Some(old_filter);
        }
        self.parents.insert(parent.ifindex, st);
        Ok(())
    }

    fn hold_parent(&mut self, parent: &LinkInfo) {
        if let Some(st) = self.parents.get_mut(&parent.ifindex) {
            st.users += 1;
        }
    }

    fn release_parent(&mut self, parent: u32) {
        let Some(st) = self.parents.get_mut(&parent) else {
            return;
        };
        st.users = st.users.saturating_sub(1);
        if st.users > 0 {
            return;
        }
        if let Some(st) = self.parents.remove(&parent) {
            // Best effort: the parent may be gone.
            if let Some(v) = st.arp_ignore {
                let _ = sysctl::set(Tree::V4, &st.name, "arp_ignore", v);
            }
            if let Some(v) = st.arp_filter {
                let _ = sysctl::set(Tree::V4, &st.name, "arp_filter", v);
            }
        }
    }

    /// See the module documentation (`all.rp_filter`).
    fn relax_rp_filter(&mut self, rtnl: &mut Rtnl) -> Result<()> {
        let all = sysctl::get(Tree::V4, "all", "rp_filter")?;
        if all == 0 {
            return Ok(());
        }
        let mut saved = RpFilterSaved {
            all,
            changed: Vec::new(),
        };
        let names =
            std::iter::once("default".to_owned()).chain(rtnl.links()?.into_iter().map(|l| l.name));
        for name in names {
            // An interface can vanish meanwhile: skip it.
            if let Ok(v) = sysctl::get(Tree::V4, &name, "rp_filter")
                && v < all
                && sysctl::set(Tree::V4, &name, "rp_filter", all).is_ok()
            {
                saved.changed.push((name, v));
            }
        }
        sysctl::set(Tree::V4, "all", "rp_filter", 0)?;
        self.rp_filter = Some(saved);
        Ok(())
    }

    fn restore_rp_filter(&mut self) {
        if let Some(saved) = self.rp_filter.take() {
            let _ = sysctl::set(Tree::V4, "all", "rp_filter", saved.all);
            for (name, v) in saved.changed {
                let _ = sysctl::set(Tree::V4, &name, "rp_filter", v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_and_names() {
        assert_eq!(vrrp_mac(IpFamily::V4, 51), [0, 0, 0x5e, 0, 1, 51]);
        assert_eq!(vrrp_mac(IpFamily::V6, 255), [0, 0, 0x5e, 0, 2, 255]);
        assert!(is_vrrp_mac(&vrrp_mac(IpFamily::V6, 1)));
        assert!(!is_vrrp_mac(&[0, 0, 0x5e, 0, 3, 1]));
        assert!(!is_vrrp_mac(&[2, 0, 0x5e, 0, 1, 1]));
        assert_eq!(vmac_name("vrrp", 51), "vrrp.51");
        assert_eq!(mac_str(&[0, 0, 0x5e, 0, 1, 0x33]), "00:00:5e:00:01:33");
        assert_eq!(
            configured_vmac(&[2, 1, 2, 3, 4], 9),
            Some([2, 1, 2, 3, 4, 9])
        );
        assert_eq!(
            configured_vmac(&[2, 1, 2, 3, 4, 5], 9),
            Some([2, 1, 2, 3, 4, 5])
        );
        assert_eq!(configured_vmac(&[2, 1, 2], 9), None);
        assert_eq!(configured_vmac(&[], 9), None);
    }

    #[test]
    fn eui64() {
        // The example keepalived 2.2.7 produced in a lab: MAC 82:08:a5:f9:e7:9d.
        let ll = eui64_link_local(&[0x82, 0x08, 0xa5, 0xf9, 0xe7, 0x9d]);
        assert_eq!(ll, "fe80::8008:a5ff:fef9:e79d".parse::<Ipv6Addr>().unwrap());
        assert!(is_link_local(&ll));
        assert!(!is_link_local(&"2001:db8::1".parse().unwrap()));
    }

    #[test]
    fn spec_validation() {
        let spec = VmacSpec::new(2, 51, IpFamily::V4);
        assert_eq!(spec.name, "vrrp.51");
        assert!(spec.validate().is_ok());
        assert!(spec.clone().with_name("").validate().is_err());
        assert!(
            spec.clone()
                .with_name("a-name-too-long!")
                .validate()
                .is_err()
        );
        assert!(spec.clone().with_name("a/b").validate().is_err());
        assert!(
            spec.clone()
                .with_mac([1, 0, 0, 0, 0, 1])
                .validate()
                .is_err()
        );
        assert!(spec.clone().with_mac([0; 6]).validate().is_err());
        assert!(
            spec.clone()
                .with_link_local("2001:db8::1".parse().unwrap())
                .validate()
                .is_err()
        );
        let mut zero = spec;
        zero.parent = 0;
        assert!(zero.validate().is_err());
    }
}
