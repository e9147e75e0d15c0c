//! The checker engine process, built like the VRRP one ([`crate::vrrp`]): its main
//! ([`process`]), the [`driver`] task that runs every check, reloads ([`reload`]), the dump's
//! [`snapshot`], the [`probes`], BFD_CHECK's sessions ([`bfd`]), and the Linux side (IPVS through the [`balancer`], addresses
//! watched for [`ha_suspend`], [`notify`] scripts and e-mail).

pub mod balancer;
pub mod bfd;
pub mod driver;
pub mod ha_suspend;
pub mod notify;
pub mod probes;
pub mod process;
pub mod reload;
pub mod snapshot;
