//! Removing what a VRRP engine that died (crashed, killed) left on the host: its instances'
//! virtual routes and rules, their virtual addresses (excluded ones too), their VMACs and, last,
//! the accept-mode firewall's nftables tables. The supervising parent runs it as soon as it sees
//! the engine die, so no address of a dead engine stays up while the peer takes over; the next
//! engine removes leftovers again at its own start. Static addresses, routes and rules stay:
//! they are there whatever the state.

use keepalived_net::Rtnl;
use tracing::{info, warn};

use super::netops::{del_addr, remove_leftover_routes};
use crate::plan::convert::InstancePlan;

/// Removes the leftovers of the instances in `plans` (see the module documentation); returns
/// how many addresses and VMACs were removed. Failures are logged.
pub fn remove_leftovers(plans: &[InstancePlan]) -> usize {
    let mut rtnl = match Rtnl::open() {
        Ok(r) => r,
        Err(e) => {
            warn!("cannot remove what the VRRP engine left: rtnetlink: {e}");
            return 0;
        }
    };
    let present = match rtnl.addrs(None) {
        Ok(a) => a,
        Err(e) => {
            warn!("cannot list addresses: {e}");
            Vec::new()
        }
    };
    let mut removed = 0;
    for plan in plans {
        let name = &plan.cfg.name;
        remove_leftover_routes(&mut rtnl, name, &plan.routes, &plan.rules);
        for vip in &plan.vips {
            let Ok(ifindex) = keepalived_net::ifindex(&vip.dev) else {
                continue;
            };
            let there = present.iter().any(|a| {
                a.ifindex == ifindex && a.addr == vip.addr && a.prefix_len == vip.prefix_len
            });
            if there {
                del_addr(&mut rtnl, name, vip);
                info!("({name}) removed leftover {vip}");
                removed += 1;
            }
        }
        if let Some(vmac) = &plan.vmac {
            match rtnl.remove_leftover_vmac(&vmac.spec.name, &vmac.spec.mac) {
                Ok(true) => {
                    info!("({name}) removed leftover VMAC {}", vmac.spec.name);
                    removed += 1;
                }
                Ok(false) => {}
                Err(e) => warn!("({name}) {e}"),
            }
        }
    }
    // Last: no window where an address of ours is up without its drop rules.
    removed + super::firewall::remove_leftovers(plans)
}
