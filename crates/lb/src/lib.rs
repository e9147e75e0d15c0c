//! keepalived-rs load balancer: the virtual-server model, the reconciler and its backends,
//! without I/O.
//!
//! * [`ipvs`]: the kernel's IPVS generic netlink protocol (commands, attributes, typed
//!   services, destinations, sync daemons, timeouts), encoded and decoded symmetrically.
//!   The socket that carries it lives in `keepalived-net` (`Ipvs`).

pub mod ipvs;
