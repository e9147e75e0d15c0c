//! The accept-mode firewall of the VRRP process: while an instance without accept mode is
//! master its addresses are in the drop sets of keepalived's nftables tables
//! ([`keepalived_net::nft::VrrpFirewall`]); put there before the addresses are added, taken
//! out after they are removed, the tables deleted at stop (and by the parent, or the next
//! engine, when an engine dies: [`remove_leftovers`]). One firewall per process, as the
//! kernel's tables are per network namespace; a failure is logged with the table and message
//! the kernel refused, the instance runs on, and the next transition tries again.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard, PoisonError};

use keepalived_net::nft::{FirewallConfig, FwAddr, FwVmac, VrrpFirewall, remove_leftover_tables};
use tracing::{debug, info, warn};

use super::iptables::{self, IptablesFirewall};
use crate::plan::convert::{InstancePlan, VipSpec};
use crate::plan::firewall::{InstanceFirewall, VmacFirewall};

/// The process's firewall, created on first use from the first instance that needs one.
static FIREWALL: Mutex<Option<Backend>> = Mutex::new(None);

fn firewall() -> MutexGuard<'static, Option<Backend>> {
    FIREWALL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// nf_tables, or the legacy iptables/ipsets (`vrrp_iptables` without `nftables`).
enum Backend {
    Nft(VrrpFirewall),
    Iptables(IptablesFirewall),
}

impl Backend {
    fn new(plan: &InstanceFirewall) -> Backend {
        if let Some(ipt) = &plan.iptables {
            if iptables::available() {
                return Backend::Iptables(IptablesFirewall::new(ipt.clone()));
            }
            info!(
                "vrrp_iptables: no iptables-restore command; using nftables (tables ip and ip6 {})",
                plan.table
            );
        }
        Backend::Nft(VrrpFirewall::new(config(plan)))
    }

    fn what(&self) -> String {
        match self {
            Backend::Nft(fw) => format!("table {}", fw.config().table),
            Backend::Iptables(fw) => fw.describe(),
        }
    }

    fn add(&mut self, addrs: &[FwAddr]) -> Result<usize, String> {
        match self {
            Backend::Nft(fw) => fw.add(addrs).map_err(|e| e.to_string()),
            Backend::Iptables(fw) => fw.add(addrs),
        }
    }

    fn remove(&mut self, addrs: &[FwAddr]) -> Result<usize, String> {
        match self {
            Backend::Nft(fw) => fw.remove(addrs).map_err(|e| e.to_string()),
            Backend::Iptables(fw) => fw.remove(addrs),
        }
    }

    fn stop(&mut self) -> Result<(), String> {
        match self {
            Backend::Nft(fw) => fw.remove_tables().map_err(|e| e.to_string()),
            Backend::Iptables(fw) => fw.remove_all(),
        }
    }
}

/// Puts `vips` of instance `name` into the drop sets (before the addresses are added), if its
/// plan asks for a firewall.
pub fn before_add(name: &str, plan: &InstancePlan, vips: &[VipSpec]) {
    let Some(fw_plan) = &plan.firewall else {
        return;
    };
    let addrs = fw_addrs(fw_plan, vips);
    if addrs.is_empty() {
        return;
    }
    let mut guard = firewall();
    let fw = guard.get_or_insert_with(|| Backend::new(fw_plan));
    match fw.add(&addrs) {
        Ok(n) => debug!("({name}) setting firewall drop rule ({n} changes)"),
        Err(e) => warn!(
            "({name}) cannot set the firewall drop rule in {}: {e}",
            fw.what()
        ),
    }
}

/// Takes `vips` of instance `name` out of the drop sets (after the addresses are removed).
pub fn after_del(name: &str, plan: &InstancePlan, vips: &[VipSpec]) {
    let Some(fw_plan) = &plan.firewall else {
        return;
    };
    let mut guard = firewall();
    let Some(fw) = guard.as_mut() else {
        return;
    };
    let addrs = fw_addrs(fw_plan, vips);
    match fw.remove(&addrs) {
        Ok(n) => debug!("({name}) removing firewall drop rule ({n} changes)"),
        Err(e) => warn!(
            "({name}) cannot remove the firewall drop rule in {}: {e}",
            fw.what()
        ),
    }
}

/// A master's plan changed by a reload: when accept mode was turned on its addresses leave
/// the sets, when it was turned off they enter them (the addresses that changed were handled
/// by [`before_add`] and [`after_del`] with the new plan already).
pub fn reloaded(name: &str, old: &InstancePlan, new: &InstancePlan) {
    match (&old.firewall, &new.firewall) {
        (Some(_), None) => after_del(name, old, &old.vips),
        (None, Some(_)) => before_add(name, new, &new.vips),
        _ => {}
    }
}

/// The entries of VMAC `ifindex` on base interface `base` for the families `plan` names.
fn fw_vmacs(plan: &VmacFirewall, ifindex: u32, base: u32) -> Vec<FwVmac> {
    [(plan.ipv4, false), (plan.ipv6, true)]
        .into_iter()
        .filter(|(on, _)| *on)
        .map(|(_, ipv6)| FwVmac {
            ipv6,
            ifindex,
            base,
        })
        .collect()
}

/// VMAC `ifindex` of instance `name` was created on `base`: its multicast reports go out on
/// `base` from now on (keepalived's `firewall_add_vmac`). Not with the legacy iptables
/// firewall (Debian's keepalived has none to compare with).
pub fn vmac_added(name: &str, plan: &VmacFirewall, ifindex: u32, base: u32) {
    let vmacs = fw_vmacs(plan, ifindex, base);
    let mut guard = firewall();
    let fw = guard.get_or_insert_with(|| {
        Backend::Nft(VrrpFirewall::new(FirewallConfig {
            table: plan.table.clone(),
            priority: plan.priority,
            counters: plan.counters,
        }))
    });
    match fw {
        Backend::Nft(nft) => match nft.add_vmacs(&vmacs) {
            Ok(n) => debug!("({name}) VMAC multicast rules set ({n} changes)"),
            Err(e) => warn!(
                "({name}) cannot set the VMAC multicast rules in table {}: {e}",
                plan.table
            ),
        },
        Backend::Iptables(_) => debug!("({name}) no VMAC multicast rules with vrrp_iptables"),
    }
}

/// VMAC `ifindex` of instance `name` was removed: its entries leave the map and set.
pub fn vmac_removed(name: &str, plan: &VmacFirewall, ifindex: u32, base: u32) {
    let mut guard = firewall();
    if let Some(Backend::Nft(nft)) = guard.as_mut()
        && let Err(e) = nft.remove_vmacs(&fw_vmacs(plan, ifindex, base))
    {
        warn!(
            "({name}) cannot remove the VMAC multicast rules in table {}: {e}",
            plan.table
        );
    }
}

/// Deletes the tables this process created (at stop).
pub fn stop() {
    let mut guard = firewall();
    if let Some(fw) = guard.as_mut()
        && let Err(e) = fw.stop()
    {
        warn!("cannot remove the firewall ({}): {e}", fw.what());
    }
    *guard = None;
}

/// Deletes the tables named by `plans` that a VRRP engine which died (or an earlier run) left;
/// returns how many tables were deleted. A table owned by a live process is left alone and
/// logged.
pub fn remove_leftovers(plans: &[InstancePlan]) -> usize {
    let tables: BTreeSet<&str> = plans
        .iter()
        .filter_map(|p| p.firewall.as_ref().map(|f| f.table.as_str()))
        .chain(plans.iter().filter_map(|p| {
            p.vmac
                .as_ref()
                .and_then(|v| v.firewall.as_ref())
                .map(|f| f.table.as_str())
        }))
        .collect();
    let mut removed = 0;
    for table in tables {
        match remove_leftover_tables(table) {
            Ok(0) => {}
            Ok(n) => {
                info!("removed leftover nftables table {table} ({n} families)");
                removed += n;
            }
            Err(e) => warn!("cannot remove leftover nftables table {table}: {e}"),
        }
    }
    removed
}

fn config(plan: &InstanceFirewall) -> FirewallConfig {
    FirewallConfig {
        table: plan.table.clone(),
        priority: plan.priority,
        counters: plan.counters,
    }
}

/// The set entries for `vips`: link-local IPv6 addresses with their interface (by index, or
/// by name with `link_local_by_name`); an interface that does not exist leaves its
/// link-local address out (the address cannot be added either).
fn fw_addrs(plan: &InstanceFirewall, vips: &[VipSpec]) -> Vec<FwAddr> {
    vips.iter()
        .filter_map(|v| match v.addr {
            IpAddr::V6(a) if a.segments()[0] & 0xffc0 == 0xfe80 => {
                if plan.link_local_by_name {
                    Some(FwAddr::LinkLocalByName(a, v.dev.clone()))
                } else {
                    keepalived_net::ifindex(&v.dev)
                        .ok()
                        .map(|i| FwAddr::LinkLocal(a, i))
                }
            }
            a => Some(FwAddr::Ip(a)),
        })
        .collect()
}
