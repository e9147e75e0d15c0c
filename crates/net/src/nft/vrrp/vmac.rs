//! The VMAC part of the VRRP firewall, as keepalived 2.2.7 programs it for `use_vmac`
//! instances (`nft_setup_igmp`, `nft_update_vmac_*`): in chain `out`, IGMP reports (`ip`) and
//! MLDv2 listener reports (`ip6`) sent on a macvlan listed in map `vmac_map` are duplicated to
//! the VMAC's base interface and dropped; for `ip6` router solicitations sent on a macvlan in
//! set `vmac_set` are dropped.

use super::{
    Base, Batch, Expr, Family, FwAddr, HOST_ENDIAN, MetaKey, NftError, Parts, TYPE_IFINDEX,
    Verdict, VrrpFirewall, set,
};

/// `IPPROTO_IGMP`, `IPPROTO_ICMPV6`, MLDv2 listener report, router solicitation.
const IGMP: u8 = 2;
const ICMPV6: u8 = 58;
const MLD2_REPORT: u8 = 143;
const ROUTER_SOLICIT: u8 = 133;

/// One VMAC in the firewall of one family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FwVmac {
    /// Table `ip6` (MLD, router solicitations) rather than `ip` (IGMP).
    pub ipv6: bool,
    /// The macvlan's interface index.
    pub ifindex: u32,
    /// Its base interface's index.
    pub base: u32,
}

impl FwVmac {
    fn family(self) -> Family {
        if self.ipv6 { Family::Ip6 } else { Family::Ip }
    }
}

impl VrrpFirewall {
    /// Puts `vmacs` into `vmac_map` (and `vmac_set`), creating the tables, map and rules
    /// they need, in one batch; as [`VrrpFirewall::add`] for stale tables and healing.
    ///
    /// # Errors
    /// As [`VrrpFirewall::add`].
    pub fn add_vmacs(&mut self, vmacs: &[FwVmac]) -> Result<usize, NftError> {
        let fresh = self.parts == Parts::default();
        let todo: Vec<FwVmac> = vmacs
            .iter()
            .filter(|v| fresh || !self.vmacs.contains(v))
            .copied()
            .collect();
        if todo.is_empty() && !fresh {
            return Ok(0);
        }
        let mut all: Vec<FwVmac> = if fresh {
            self.vmacs.iter().copied().collect()
        } else {
            Vec::new()
        };
        all.extend(
            todo.iter()
                .filter(|v| !all.contains(v))
                .copied()
                .collect::<Vec<_>>(),
        );
        if all.is_empty() {
            return Ok(0);
        }
        let addrs: Vec<FwAddr> = if fresh {
            self.installed.iter().cloned().collect()
        } else {
            Vec::new()
        };
        let result = self.rebuild(fresh, &addrs, &all);
        if result.is_err() {
            self.parts = Parts::default();
        }
        result
    }

    /// Takes `vmacs` out of `vmac_map` (and `vmac_set`) in one batch.
    ///
    /// # Errors
    /// As [`VrrpFirewall::remove`].
    pub fn remove_vmacs(&mut self, vmacs: &[FwVmac]) -> Result<usize, NftError> {
        let todo: Vec<FwVmac> = vmacs
            .iter()
            .filter(|v| self.vmacs.contains(v))
            .copied()
            .collect();
        if todo.is_empty() {
            return Ok(0);
        }
        for v in &todo {
            self.vmacs.remove(v);
        }
        if self.parts == Parts::default() {
            return Ok(0);
        }
        let mut batch = Batch::new();
        self.vmac_elements(&mut batch, &todo, false);
        if let Err(e) = self.socket()?.apply(&batch) {
            self.parts = Parts::default();
            return Err(e);
        }
        Ok(batch.len())
    }

    /// Whether `vmac` is in the map.
    pub fn contains_vmac(&self, vmac: &FwVmac) -> bool {
        self.vmacs.contains(vmac)
    }

    /// Adds the parts the VMACs need (VMACs first, as keepalived creates them at start before
    /// any address is firewalled), the addresses' parts, and all their elements.
    pub(super) fn rebuild(
        &mut self,
        fresh: bool,
        addrs: &[FwAddr],
        vmacs: &[FwVmac],
    ) -> Result<usize, NftError> {
        let mut batch = Batch::new();
        let mut parts = self.parts;
        if fresh {
            self.replace_stale(&mut batch)?;
        }
        for v in vmacs {
            self.setup_vmac(&mut batch, &mut parts, v.family());
        }
        self.vmac_elements(&mut batch, vmacs, true);
        for a in addrs {
            self.setup_for(&mut batch, &mut parts, a);
        }
        let refs: Vec<&FwAddr> = addrs.iter().collect();
        self.elements(&mut batch, &refs, true);
        self.socket()?.apply(&batch)?;
        self.parts = parts;
        self.installed.extend(addrs.iter().cloned());
        self.vmacs.extend(vmacs.iter().copied());
        Ok(batch.len())
    }

    /// One message per family and map/set, keepalived's order (ip, then ip6 map and set).
    fn vmac_elements(&self, b: &mut Batch, vmacs: &[FwVmac], add: bool) {
        let t = self.cfg.table.as_str();
        for ipv6 in [false, true] {
            let mine: Vec<&FwVmac> = vmacs.iter().filter(|v| v.ipv6 == ipv6).collect();
            if mine.is_empty() {
                continue;
            }
            let f = if ipv6 { Family::Ip6 } else { Family::Ip };
            let pairs: Vec<(Vec<u8>, Vec<u8>)> = mine
                .iter()
                .map(|v| {
                    (
                        v.ifindex.to_ne_bytes().to_vec(),
                        v.base.to_ne_bytes().to_vec(),
                    )
                })
                .collect();
            b.value_map_elements(add, f, t, "vmac_map", &pairs);
            if ipv6 {
                let keys: Vec<Vec<u8>> = mine
                    .iter()
                    .map(|v| v.ifindex.to_ne_bytes().to_vec())
                    .collect();
                if add {
                    b.add_elements(f, t, "vmac_set", &keys);
                } else {
                    b.del_elements(f, t, "vmac_set", &keys);
                }
            }
        }
    }

    fn setup_vmac(&self, b: &mut Batch, parts: &mut Parts, f: Family) {
        let t = self.cfg.table.as_str();
        let prio = self.cfg.priority;
        let ipv6 = f == Family::Ip6;
        let (table_done, igmp_done) = if ipv6 {
            (&mut parts.ip6_table, &mut parts.ip6_igmp)
        } else {
            (&mut parts.ip_table, &mut parts.ip_igmp)
        };
        if *igmp_done {
            return;
        }
        if !*table_done {
            b.add_table(f, t);
            b.add_base_chain(f, t, "out", super::Hook::Output, prio);
            *table_done = true;
        }
        *igmp_done = true;
        b.add_value_map(f, t, "vmac_map", (TYPE_IFINDEX, 4), (TYPE_IFINDEX, 4));
        if ipv6 {
            b.add_set(f, t, &set("vmac_set", TYPE_IFINDEX, 4, HOST_ENDIAN));
        }
        let mut exprs = if ipv6 {
            icmpv6_type(MLD2_REPORT)
        } else {
            vec![
                Expr::Payload {
                    base: Base::Network,
                    offset: 9,
                    len: 1,
                    dreg: 1,
                },
                Expr::CmpEq {
                    sreg: 1,
                    data: vec![IGMP],
                },
            ]
        };
        exprs.push(Expr::Payload {
            base: Base::Network,
            offset: if ipv6 { 24 } else { 16 },
            len: if ipv6 { 16 } else { 4 },
            dreg: 1,
        });
        exprs.extend(oif_macvlan());
        exprs.push(Expr::LookupMap {
            sreg: 2,
            dreg: 2,
            set: "vmac_map".to_owned(),
        });
        exprs.push(Expr::Dup {
            sreg_addr: 1,
            sreg_dev: 2,
        });
        let what = if ipv6 {
            "icmpv6 type mld2-listener-report meta oifkind \"macvlan\" dup to ip6 daddr device oif map @vmac_map drop"
        } else {
            "ip protocol igmp meta oifkind \"macvlan\" dup to ip daddr device oif map @vmac_map drop"
        };
        self.rule(b, f, "out", exprs, Verdict::Drop, what);
        if ipv6 {
            let mut exprs = icmpv6_type(ROUTER_SOLICIT);
            exprs.extend(oif_macvlan());
            exprs.push(Expr::Lookup {
                sreg: 2,
                set: "vmac_set".to_owned(),
            });
            self.rule(
                b,
                f,
                "out",
                exprs,
                Verdict::Drop,
                "icmpv6 type nd-router-solicit meta oifkind \"macvlan\" oif @vmac_set drop",
            );
        }
    }
}

/// `meta l4proto ipv6-icmp icmpv6 type TYPE` into register 1.
fn icmpv6_type(t: u8) -> Vec<Expr> {
    vec![
        Expr::Meta {
            key: MetaKey::L4Proto,
            dreg: 1,
        },
        Expr::CmpEq {
            sreg: 1,
            data: vec![ICMPV6],
        },
        Expr::Payload {
            base: Base::Transport,
            offset: 0,
            len: 1,
            dreg: 1,
        },
        Expr::CmpEq {
            sreg: 1,
            data: vec![t],
        },
    ]
}

/// `meta oifkind "macvlan"`, then the output interface's index into register 2.
fn oif_macvlan() -> Vec<Expr> {
    let mut kind = b"macvlan".to_vec();
    kind.resize(16, 0);
    vec![
        Expr::Meta {
            key: MetaKey::OifKind,
            dreg: 2,
        },
        Expr::CmpEq {
            sreg: 2,
            data: kind,
        },
        Expr::Meta {
            key: MetaKey::Oif,
            dreg: 2,
        },
    ]
}
