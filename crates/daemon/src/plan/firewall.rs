//! Pure: whether an instance's virtual addresses are firewalled while it is master (accept
//! mode off), and with which table, priority, counters and link-local keying, as keepalived
//! 2.2.7 decides it (`vrrp_complete_instance`, `nft_update_ipv6_address`).

use keepalived_config::model::global::{GlobalDefs, VrrpIpsets};
use keepalived_config::model::vrrp::{VrrpInstance, VrrpVersion};

/// keepalived's default table name (`DEFAULT_NFTABLES_TABLE`).
pub const DEFAULT_TABLE: &str = "keepalived";

/// An instance whose addresses get drop rules while it is master.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceFirewall {
    /// `nftables` (default `keepalived`): the `ip` and `ip6` tables' name.
    pub table: String,
    /// `nftables_priority` of the `in` and `out` chains.
    pub priority: i32,
    /// `nftables_counters`.
    pub counters: bool,
    /// Link-local addresses are keyed by interface name (`vips_link_local_name`) rather than
    /// index: keepalived does so for an instance with `dont_track_primary` unless
    /// `nftables_ifindex`.
    pub link_local_by_name: bool,
    /// `vrrp_iptables` without `nftables` (keepalived prefers nftables when both are given):
    /// the legacy firewall, with the operator's chains (nftables when there is no
    /// `iptables-restore`, as keepalived without an `iptables` command).
    pub iptables: Option<IptablesPlan>,
}

/// The legacy firewall's chains and sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IptablesPlan {
    /// Inbound chain of table filter (default INPUT).
    pub in_chain: String,
    /// Outbound chain (default OUTPUT; none when only an inbound chain is named).
    pub out_chain: Option<String>,
    /// The ipsets (keepalived's defaults unless `vrrp_ipsets` names others); none with
    /// `vrrp_ipsets` alone: one rule per address.
    pub ipsets: Option<IpsetNames>,
}

/// The ipsets of the legacy firewall.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpsetNames {
    /// IPv4 addresses (hash:ip).
    pub address: String,
    /// IPv6 addresses (hash:ip family inet6).
    pub address6: String,
    /// Link-local IPv6 addresses with their interface (hash:net,iface).
    pub address_iface6: String,
}

impl Default for IpsetNames {
    /// keepalived's default names.
    fn default() -> Self {
        IpsetNames {
            address: "keepalived".to_owned(),
            address6: "keepalived6".to_owned(),
            address_iface6: "keepalived_if6".to_owned(),
        }
    }
}

/// The legacy firewall `defs` ask for, if any.
pub fn iptables_plan(defs: &GlobalDefs) -> Option<IptablesPlan> {
    let chains = defs.vrrp_iptables.as_ref()?;
    if defs.nftables.is_some() {
        return None;
    }
    let ipsets = match &defs.vrrp_ipsets {
        None => Some(IpsetNames::default()),
        Some(VrrpIpsets::Disabled) => None,
        Some(VrrpIpsets::Sets {
            address,
            address6,
            address_iface6,
            ..
        }) => Some(IpsetNames {
            address: address.clone(),
            address6: address6.clone(),
            address_iface6: address_iface6.clone(),
        }),
    };
    Some(IptablesPlan {
        in_chain: chains.in_chain.clone(),
        out_chain: chains.out_chain.clone(),
        ipsets,
    })
}

/// Whether `inst` runs in accept mode: `accept`/`no_accept` when given, else accept unless
/// strict (`vrrp_strict` / `strict_mode`) and not the address owner; strict VRRPv2 below 255
/// never accepts (RFC 3768).
pub fn accepts(inst: &VrrpInstance, defs: &GlobalDefs, version: VrrpVersion) -> bool {
    let strict = inst.strict_mode.unwrap_or(defs.vrrp_strict);
    let owner = inst.effective_priority() == 255;
    let accept = inst.accept.unwrap_or(owner || !strict);
    accept && (owner || !strict || version != VrrpVersion::V2)
}

/// The firewall of `inst` (none when it accepts, or owns its addresses).
pub fn plan(
    inst: &VrrpInstance,
    defs: &GlobalDefs,
    version: VrrpVersion,
) -> Option<InstanceFirewall> {
    if inst.effective_priority() == 255 || accepts(inst, defs, version) {
        return None;
    }
    Some(InstanceFirewall {
        table: defs
            .nftables
            .clone()
            .unwrap_or_else(|| DEFAULT_TABLE.to_owned()),
        priority: defs.nftables_priority,
        counters: defs.nftables_counters,
        link_local_by_name: !defs.nftables_ifindex && inst.dont_track_primary,
        iptables: iptables_plan(defs),
    })
}

/// The VMAC rules of a `use_vmac` instance (keepalived's `firewall_add_vmac`): the tables
/// they go into, and the families whose reports move to the base interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmacFirewall {
    /// As [`InstanceFirewall::table`]: `nftables`, or `keepalived` (a VMAC gets the table
    /// even without `vrrp_strict`).
    pub table: String,
    /// `nftables_priority`.
    pub priority: i32,
    /// `nftables_counters`.
    pub counters: bool,
    /// IGMP reports (table `ip`).
    pub ipv4: bool,
    /// MLD reports and router solicitations (table `ip6`).
    pub ipv6: bool,
}

/// The VMAC rules of an instance of family `ipv6` whose excluded addresses include the other
/// family when `other_family`: none for an IPv4 instance with `disable_local_igmp` (keepalived
/// then adds no rule for either family).
pub fn vmac_plan(defs: &GlobalDefs, ipv6: bool, other_family: bool) -> Option<VmacFirewall> {
    if !ipv6 && defs.disable_local_igmp {
        return None;
    }
    Some(VmacFirewall {
        table: defs
            .nftables
            .clone()
            .unwrap_or_else(|| DEFAULT_TABLE.to_owned()),
        priority: defs.nftables_priority,
        counters: defs.nftables_counters,
        ipv4: !ipv6 || other_family,
        ipv6: ipv6 || other_family,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inst(priority: u8) -> VrrpInstance {
        let mut i = VrrpInstance::new("VI_1", Default::default());
        i.priority = Some(priority);
        i
    }

    #[test]
    fn accept_by_default_unless_strict() {
        let mut defs = GlobalDefs::default();
        assert!(plan(&inst(100), &defs, VrrpVersion::V2).is_none());
        defs.vrrp_strict = true;
        let fw = plan(&inst(100), &defs, VrrpVersion::V2).expect("strict: no accept");
        assert_eq!(fw.table, "keepalived");
        assert_eq!(fw.priority, -1);
    }

    #[test]
    fn owner_and_explicit_accept_are_exempt() {
        let defs = GlobalDefs {
            vrrp_strict: true,
            ..GlobalDefs::default()
        };
        assert!(plan(&inst(255), &defs, VrrpVersion::V2).is_none());
        let mut a = inst(100);
        a.accept = Some(true);
        assert!(plan(&a, &defs, VrrpVersion::V3).is_none());
        // Strict VRRPv2 resets accept (RFC 3768).
        assert!(plan(&a, &defs, VrrpVersion::V2).is_some());
    }

    #[test]
    fn no_accept_without_strict() {
        let mut a = inst(100);
        a.accept = Some(false);
        a.dont_track_primary = true;
        let fw = plan(&a, &GlobalDefs::default(), VrrpVersion::V2).expect("no_accept");
        assert!(fw.link_local_by_name);
    }

    #[test]
    fn vmac_rules_follow_the_families() {
        let mut defs = GlobalDefs::default();
        let v4 = vmac_plan(&defs, false, false).expect("v4");
        assert_eq!(
            (v4.ipv4, v4.ipv6, v4.table.as_str()),
            (true, false, "keepalived")
        );
        let both = vmac_plan(&defs, true, true).expect("v6 with v4 excluded");
        assert!(both.ipv4 && both.ipv6);
        defs.disable_local_igmp = true;
        assert!(vmac_plan(&defs, false, true).is_none());
        assert!(vmac_plan(&defs, true, false).is_some_and(|p| p.ipv6 && !p.ipv4));
    }
}
