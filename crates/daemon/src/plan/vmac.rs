//! From a `vrrp_instance` to its links: its VMAC and the interfaces it tracks.
//!
//! The VMAC it gets with `use_vmac` ([`vmac_spec`]) and
//! the interfaces whose state it follows ([`own_interfaces`], [`track_interfaces`]), as
//! keepalived.conf(5) describes them. The driver creates the VMACs with
//! [`keepalived_net::Vmacs`] and feeds the names to [`super::trackers::link`].

// The driver wires this in when it gains VMACs; until then only the tests use it.

use std::net::IpAddr;

use keepalived_config::model::vrrp::{Track, VrrpInstance};
use keepalived_net::{IpFamily, VmacSpec, configured_vmac, vmac_name, vrrp_mac};

/// The VMAC of `inst` (`None` without `use_vmac`), on the parent interface with index
/// `parent`, for an instance of `family`; `prefix` is the global `vmac_prefix` (default
/// `vrrp`).
///
/// The name is the configured one or `PREFIX.VRID`; the MAC the configured one (5 octets are
/// completed with the VRID) or `00:00:5e:00:0{1,2}:VRID`. An IPv6 instance whose
/// `mcast_src_ip` is link-local gives the VMAC that address (otherwise the parent's link-local
/// address is used); an IPv4 instance keeps IPv6 on its VMAC only when it has IPv6 eVIPs
/// without their own `dev`.
#[must_use]
pub fn vmac_spec(
    inst: &VrrpInstance,
    prefix: &str,
    parent: u32,
    family: IpFamily,
) -> Option<VmacSpec> {
    // Built without `vmac`, `use_vmac` is refused at check (crate::services::features); never a VMAC.
    let cfg = inst.use_vmac.as_ref().filter(|_| cfg!(feature = "vmac"))?;
    let vrid = inst.virtual_router_id;
    let name = cfg
        .ifname
        .clone()
        .unwrap_or_else(|| vmac_name(prefix, vrid));
    let mac = cfg
        .mac
        .as_deref()
        .and_then(|m| configured_vmac(m, vrid))
        .unwrap_or_else(|| vrrp_mac(family, vrid));
    let mut spec = VmacSpec::new(parent, vrid, family)
        .with_name(&name)
        .with_mac(mac);
    match family {
        IpFamily::V6 => {
            if let Some(IpAddr::V6(src)) = inst.src_ip
                && src.segments()[0] & 0xffc0 == 0xfe80
            {
                spec = spec.with_link_local(src);
            }
        }
        IpFamily::V4 => {
            let v6_evip = inst
                .virtual_ipaddresses_excluded
                .iter()
                .any(|v| v.addr.addr.is_ipv6() && v.dev.is_none());
            spec = spec.with_ipv6(v6_evip);
        }
    }
    Some(spec)
}

/// The instance's own interfaces whose failure puts it in FAULT: its `interface` and, with
/// `use_vmac`, the VMAC named `vmac`; none with `dont_track_primary`.
#[must_use]
pub fn own_interfaces(inst: &VrrpInstance, vmac: Option<&str>) -> Vec<String> {
    if inst.dont_track_primary {
        return Vec::new();
    }
    inst.interface
        .iter()
        .map(String::as_str)
        .chain(vmac)
        .map(str::to_owned)
        .collect()
}

/// The instance's `track_interface` entries, without its own interface (keepalived ignores
/// that one, with a log line) and without repeats of a name (the first entry wins).
pub fn track_interfaces(inst: &VrrpInstance) -> impl Iterator<Item = &Track> {
    let own = inst.interface.as_deref();
    inst.track_interfaces
        .iter()
        .enumerate()
        .filter(move |(i, t)| {
            Some(t.name.as_str()) != own
                && !inst.track_interfaces[..*i]
                    .iter()
                    .any(|earlier| earlier.name == t.name)
        })
        .map(|(_, t)| t)
}

#[cfg(test)]
mod tests {
    use keepalived_config::model::common::IpPrefix;
    use keepalived_config::model::vrrp::{UseVmac, VirtualAddress};

    use super::*;

    fn instance() -> VrrpInstance {
        let mut inst = VrrpInstance::new("VI_1", Default::default());
        inst.interface = Some("eth0".into());
        inst.virtual_router_id = 51;
        inst
    }

    #[test]
    fn no_use_vmac_no_vmac() {
        assert_eq!(vmac_spec(&instance(), "vrrp", 2, IpFamily::V4), None);
    }

    #[test]
    fn defaults_and_configured_name_and_mac() {
        let mut inst = instance();
        inst.use_vmac = Some(UseVmac::default());
        let spec = vmac_spec(&inst, "vrrp", 2, IpFamily::V4).unwrap();
        assert_eq!(spec.name, "vrrp.51");
        assert_eq!(spec.mac, [0, 0, 0x5e, 0, 1, 51]);
        assert_eq!(spec.parent, 2);
        assert!(!spec.keep_ipv6);
        let spec = vmac_spec(&inst, "vmac", 2, IpFamily::V6).unwrap();
        assert_eq!(spec.name, "vmac.51");
        assert_eq!(spec.mac, [0, 0, 0x5e, 0, 2, 51]);
        assert_eq!(spec.link_local, None);

        inst.use_vmac = Some(UseVmac {
            ifname: Some("vip0".into()),
            mac: Some(vec![2, 0, 0, 0, 9]),
        });
        inst.src_ip = Some("fe80::7".parse().unwrap());
        let spec = vmac_spec(&inst, "vrrp", 2, IpFamily::V6).unwrap();
        assert_eq!(spec.name, "vip0");
        assert_eq!(spec.mac, [2, 0, 0, 0, 9, 51]);
        assert_eq!(spec.link_local, Some("fe80::7".parse().unwrap()));
        // A global source is not the VMAC's link-local address.
        inst.src_ip = Some("2001:db8::7".parse().unwrap());
        assert_eq!(
            vmac_spec(&inst, "vrrp", 2, IpFamily::V6)
                .unwrap()
                .link_local,
            None
        );
    }

    #[test]
    fn ipv6_evips_keep_ipv6_on_an_ipv4_vmac() {
        let mut inst = instance();
        inst.use_vmac = Some(UseVmac::default());
        let evip = |addr: &str, dev: Option<&str>| {
            let mut v = VirtualAddress::new(IpPrefix::parse(addr).unwrap(), Default::default());
            v.dev = dev.map(str::to_owned);
            v
        };
        inst.virtual_ipaddresses_excluded = vec![evip("2001:db8::9/64", Some("eth1"))];
        assert!(!vmac_spec(&inst, "vrrp", 2, IpFamily::V4).unwrap().keep_ipv6);
        inst.virtual_ipaddresses_excluded
            .push(evip("2001:db8::8/64", None));
        assert!(vmac_spec(&inst, "vrrp", 2, IpFamily::V4).unwrap().keep_ipv6);
    }

    #[test]
    fn tracked_interfaces() {
        let mut inst = instance();
        assert_eq!(own_interfaces(&inst, Some("vrrp.51")), ["eth0", "vrrp.51"]);
        assert_eq!(own_interfaces(&inst, None), ["eth0"]);
        let track = |name: &str| Track {
            name: name.to_owned(),
            weight: None,
            reverse: false,
            loc: Default::default(),
        };
        inst.track_interfaces = vec![track("eth1"), track("eth0"), track("eth2"), track("eth1")];
        let names: Vec<&str> = track_interfaces(&inst).map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["eth1", "eth2"]);
        inst.dont_track_primary = true;
        assert!(own_interfaces(&inst, Some("vrrp.51")).is_empty());
    }
}
