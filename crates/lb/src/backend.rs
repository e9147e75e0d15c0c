//! Between the reconciler's tables and the IPVS netlink messages: each [`Change`] becomes one
//! request ([`messages`]), and a dump of the kernel's services and destinations becomes a
//! [`Table`] ([`kernel_table`]) that the reconciler can compare with the desired one.

use std::net::SocketAddr;

use keepalived_config::model::lvs::{TunnelChecksum, TunnelType as CfgTunnel};

use crate::diff::Change;
use crate::ipvs::consts::{IP_VS_TUNNEL_ENCAP_FLAG_CSUM, IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM};
use crate::ipvs::{
    Destination, Family, FwdMethod, IpvsMessage, Protocol, Service as KService, ServiceKey as KKey,
    TunnelOpts, TunnelType,
};
use crate::table::{Dest, Forward, Proto, Service, ServiceEntry, ServiceKey, Table};

/// The kernel's key of a service.
pub fn kernel_key(k: &ServiceKey) -> KKey {
    match *k {
        ServiceKey::Addr { protocol, addr } => KKey::Addr {
            protocol: match protocol {
                Proto::Tcp => Protocol::Tcp,
                Proto::Udp => Protocol::Udp,
                Proto::Sctp => Protocol::Sctp,
            },
            addr: addr.ip(),
            port: addr.port(),
        },
        ServiceKey::Fwmark { mark, ipv6 } => KKey::Fwmark {
            family: if ipv6 { Family::Inet6 } else { Family::Inet },
            mark,
        },
    }
}

/// Our key of a kernel service (`None` for a protocol we never create).
pub fn table_key(k: &KKey) -> Option<ServiceKey> {
    Some(match *k {
        KKey::Addr {
            protocol,
            addr,
            port,
        } => ServiceKey::Addr {
            protocol: match protocol {
                Protocol::Tcp => Proto::Tcp,
                Protocol::Udp => Proto::Udp,
                Protocol::Sctp => Proto::Sctp,
                Protocol::Other(_) => return None,
            },
            addr: SocketAddr::new(addr, port),
        },
        KKey::Fwmark { family, mark } => ServiceKey::Fwmark {
            mark,
            ipv6: family == Family::Inet6,
        },
    })
}

fn kernel_service(k: &ServiceKey, s: &Service) -> KService {
    let mut svc = KService::new(kernel_key(k), &s.scheduler);
    svc.flags = s.flags;
    svc.timeout = s.timeout;
    svc.netmask = s.netmask;
    svc.pe_name.clone_from(&s.pe_name);
    svc
}

fn kernel_dest(addr: SocketAddr, d: &Dest) -> Destination {
    let (fwd, tunnel) = match d.forward {
        Forward::Masq => (FwdMethod::Masq, None),
        Forward::Route => (FwdMethod::DirectRoute, None),
        Forward::Tunnel {
            kind,
            port,
            checksum,
        } => (
            FwdMethod::Tunnel,
            Some(TunnelOpts {
                kind: match kind {
                    CfgTunnel::Ipip => TunnelType::Ipip,
                    CfgTunnel::Gue => TunnelType::Gue,
                    CfgTunnel::Gre => TunnelType::Gre,
                },
                port,
                flags: match checksum {
                    TunnelChecksum::Nocsum => 0,
                    TunnelChecksum::Csum => IP_VS_TUNNEL_ENCAP_FLAG_CSUM,
                    TunnelChecksum::Remcsum => IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM,
                },
            }),
        ),
    };
    let weight = i32::try_from(d.weight).unwrap_or(i32::MAX);
    let mut dest = Destination::new(addr.ip(), addr.port(), fwd, weight);
    dest.u_threshold = d.u_threshold;
    dest.l_threshold = d.l_threshold;
    dest.tunnel = tunnel;
    dest
}

fn table_dest(d: &Destination) -> Dest {
    let forward = match (d.fwd, d.tunnel) {
        (FwdMethod::Tunnel, t) => {
            let t = t.unwrap_or(TunnelOpts {
                kind: TunnelType::Ipip,
                port: 0,
                flags: 0,
            });
            Forward::Tunnel {
                kind: match t.kind {
                    TunnelType::Gue => CfgTunnel::Gue,
                    TunnelType::Gre => CfgTunnel::Gre,
                    TunnelType::Ipip | TunnelType::Other(_) => CfgTunnel::Ipip,
                },
                port: t.port,
                checksum: if t.flags & IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM != 0 {
                    TunnelChecksum::Remcsum
                } else if t.flags & IP_VS_TUNNEL_ENCAP_FLAG_CSUM != 0 {
                    TunnelChecksum::Csum
                } else {
                    TunnelChecksum::Nocsum
                },
            }
        }
        (FwdMethod::DirectRoute, _) => Forward::Route,
        _ => Forward::Masq,
    };
    Dest {
        forward,
        weight: u32::try_from(d.weight).unwrap_or(0),
        u_threshold: d.u_threshold,
        l_threshold: d.l_threshold,
    }
}

/// One request per change, in order.
pub fn messages(changes: &[Change]) -> Vec<IpvsMessage> {
    changes
        .iter()
        .map(|c| match c {
            Change::AddService(k, s) => IpvsMessage::NewService(kernel_service(k, s)),
            Change::EditService(k, s) => IpvsMessage::SetService(kernel_service(k, s)),
            Change::DelService(k) => IpvsMessage::DelService(kernel_key(k)),
            Change::AddDest(k, a, d) => IpvsMessage::NewDest {
                service: kernel_key(k),
                dest: kernel_dest(*a, d),
            },
            Change::EditDest(k, a, d) => IpvsMessage::SetDest {
                service: kernel_key(k),
                dest: kernel_dest(*a, d),
            },
            Change::DelDest(k, a) => IpvsMessage::DelDest {
                service: kernel_key(k),
                dest: kernel_dest(
                    *a,
                    &Dest {
                        forward: Forward::Masq,
                        weight: 0,
                        u_threshold: 0,
                        l_threshold: 0,
                    },
                )
                .key(),
            },
        })
        .collect()
}

/// The table the kernel holds, from a dump of its services, each with its destinations.
pub fn kernel_table(dump: &[(KService, Vec<Destination>)]) -> Table {
    let mut table = Table::new();
    for (svc, dests) in dump {
        let Some(key) = table_key(&svc.key) else {
            continue;
        };
        table.insert(
            key,
            ServiceEntry {
                service: Service {
                    scheduler: svc.scheduler.clone(),
                    flags: svc.flags,
                    timeout: svc.timeout,
                    netmask: svc.netmask,
                    pe_name: svc.pe_name.clone(),
                },
                dests: dests
                    .iter()
                    .map(|d| (SocketAddr::new(d.addr, d.port), table_dest(d)))
                    .collect(),
            },
        );
    }
    table
}
