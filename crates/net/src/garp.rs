//! Gratuitous ARP (IPv4) and unsolicited neighbour advertisements (IPv6)
//! for virtual IPs, so that the hosts and switches of a segment learn at
//! once which MAC address now answers for a VIP.
//!
//! Both are sent as whole Ethernet frames over one `AF_PACKET` socket, so
//! the source MAC (the interface's own, or a VRRP virtual MAC) and, for
//! IPv6, the source address are ours to choose:
//!
//! * [`arp_frame`]: an ARP request with sender = target = the VIP, from our
//!   MAC to the broadcast address (RFC 5227 §3, "ARP Announcement"; the
//!   target hardware address is zero).
//! * [`na_frame`]: an ICMPv6 neighbour advertisement (RFC 4861 §4.4, §7.2.6)
//!   with the Override flag, Solicited clear, target = the VIP and a target
//!   link-layer address option, to `ff02::1` with hop limit 255, from the
//!   interface's link-local address, checksummed with the IPv6 pseudo-header.
//!
//! The builders are pure and tested byte for byte; [`Garp`] only looks up
//! the interface and sends.
//!
//! ```text
//! ARP request (RFC 826) in an Ethernet frame, 42 bytes:
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |       destination MAC ff:ff:ff:ff:ff:ff (6) ... | source MAC  |
//! | ... (6)                         |  EtherType 0x0806           |
//! |  htype 1                        |  ptype 0x0800               |
//! |  hlen 6       |  plen 4         |  oper 1 (request)           |
//! |  sender MAC (6) ... | sender IP = VIP (4) | target MAC 0 (6)  |
//! |  target IP = VIP (4)                                          |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!
//! Neighbour advertisement (RFC 4861 §4.4), after Ethernet (14) and IPv6
//! (40, next header 58, hop limit 255, to ff02::1), 32 bytes:
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Type 136  |     Code 0    |          Checksum             |
//! |R|S|O|                     Reserved                            |
//! |                    Target Address = VIP (16)                  |
//! |  Type 2 (TLLA)|  Length 1     |  link-layer address (6) ...   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

// One `unsafe` block: socket2 has no safe constructor for a
// `sockaddr_ll`, the destination of an `AF_PACKET` send.
#![allow(unsafe_code)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use socket2::{Domain, SockAddr, SockAddrStorage, Socket, Type};

use crate::error::{NetError, Result};
use crate::link::ifindex;

/// A MAC address.
pub type MacAddr = [u8; 6];

/// The Ethernet broadcast address.
pub const BROADCAST_MAC: MacAddr = [0xff; 6];
/// The all-nodes multicast group `ff02::1`, destination of unsolicited NAs.
pub const ALL_NODES_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// The Ethernet address of `ff02::1` (RFC 2464 §7).
pub const ALL_NODES_MAC: MacAddr = [0x33, 0x33, 0, 0, 0, 1];
/// Length of a gratuitous ARP frame (no padding; the NIC pads to 60).
pub const ARP_FRAME_LEN: usize = 42;
/// Length of an unsolicited NA frame.
pub const NA_FRAME_LEN: usize = 86;

const ETH_P_ARP: u16 = 0x0806;
const ETH_P_IPV6: u16 = 0x86dd;
const ETH_HLEN: usize = 14;
const IPV6_HLEN: usize = 40;
const IPPROTO_ICMPV6: u8 = 58;
const ICMPV6_NA: u8 = 136;
/// The NA message and its one option.
const NA_LEN: u16 = 24 + 8;
const NA_FLAG_ROUTER: u8 = 0x80;
const NA_FLAG_OVERRIDE: u8 = 0x20;
const ND_OPT_TARGET_LLADDR: u8 = 2;

/// The gratuitous ARP announcing `vip` at `src_mac`; see the module
/// documentation for the layout.
#[must_use]
pub fn arp_frame(src_mac: MacAddr, vip: Ipv4Addr) -> [u8; ARP_FRAME_LEN] {
    let mut f = [0u8; ARP_FRAME_LEN];
    f[0..6].copy_from_slice(&BROADCAST_MAC);
    f[6..12].copy_from_slice(&src_mac);
    f[12..14].copy_from_slice(&ETH_P_ARP.to_be_bytes());
    f[14..16].copy_from_slice(&1u16.to_be_bytes()); // htype Ethernet
    f[16..18].copy_from_slice(&0x0800u16.to_be_bytes()); // ptype IPv4
    f[18] = 6; // hlen
    f[19] = 4; // plen
    f[20..22].copy_from_slice(&1u16.to_be_bytes()); // request
    f[22..28].copy_from_slice(&src_mac);
    f[28..32].copy_from_slice(&vip.octets());
    // 32..38: target MAC, zero (RFC 5227 §2.1.1).
    f[38..42].copy_from_slice(&vip.octets());
    f
}

/// The unsolicited neighbour advertisement announcing `vip` at `src_mac`,
/// sent from `src` (normally the interface's link-local address) to
/// `ff02::1`; `router` sets the R flag. See the module documentation.
#[must_use]
pub fn na_frame(
    src_mac: MacAddr,
    src: Ipv6Addr,
    vip: Ipv6Addr,
    router: bool,
) -> [u8; NA_FRAME_LEN] {
    let mut f = [0u8; NA_FRAME_LEN];
    f[0..6].copy_from_slice(&ALL_NODES_MAC);
    f[6..12].copy_from_slice(&src_mac);
    f[12..14].copy_from_slice(&ETH_P_IPV6.to_be_bytes());
    let ip = &mut f[ETH_HLEN..ETH_HLEN + IPV6_HLEN];
    ip[0] = 0x60; // version 6, traffic class and flow label 0
    ip[4..6].copy_from_slice(&NA_LEN.to_be_bytes());
    ip[6] = IPPROTO_ICMPV6;
    ip[7] = 255; // hop limit (RFC 4861 §7.1.2)
    ip[8..24].copy_from_slice(&src.octets());
    ip[24..40].copy_from_slice(&ALL_NODES_V6.octets());
    let na = &mut f[ETH_HLEN + IPV6_HLEN..];
    na[0] = ICMPV6_NA;
    na[4] = NA_FLAG_OVERRIDE | if router { NA_FLAG_ROUTER } else { 0 };
    na[8..24].copy_from_slice(&vip.octets());
    na[24] = ND_OPT_TARGET_LLADDR;
    na[25] = 1; // in units of 8 bytes
    na[26..32].copy_from_slice(&src_mac);
    let sum = icmpv6_checksum(src, ALL_NODES_V6, na);
    na[2..4].copy_from_slice(&sum.to_be_bytes());
    f
}

/// The ICMPv6 checksum of `msg` (whose checksum field is zero) between
/// `src` and `dst` (RFC 8200 §8.1 pseudo-header).
fn icmpv6_checksum(src: Ipv6Addr, dst: Ipv6Addr, msg: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut add = |bytes: &[u8]| {
        for pair in bytes.chunks(2) {
            let hi = pair[0];
            let lo = pair.get(1).copied().unwrap_or(0);
            sum += u32::from(u16::from_be_bytes([hi, lo]));
        }
    };
    add(&src.octets());
    add(&dst.octets());
    let len = u32::try_from(msg.len()).unwrap_or(u32::MAX);
    add(&len.to_be_bytes());
    add(&[0, 0, 0, IPPROTO_ICMPV6]);
    add(msg);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    // The fold above leaves at most 16 bits.
    !u16::try_from(sum).unwrap_or(0xffff)
}

/// What `getifaddrs(3)` says about one interface.
fn link_info(ifname: &str) -> Result<(Option<MacAddr>, Option<Ipv6Addr>)> {
    let addrs = nix::ifaddrs::getifaddrs().map_err(|e| NetError::Socket {
        op: "getifaddrs",
        ifname: ifname.to_owned(),
        source: e.into(),
    })?;
    let mut mac = None;
    let mut link_local = None;
    for a in addrs.filter(|a| a.interface_name == ifname) {
        let Some(addr) = a.address else { continue };
        if let Some(ll) = addr.as_link_addr() {
            mac = ll.addr().or(mac);
        } else if let Some(in6) = addr.as_sockaddr_in6() {
            let ip = in6.ip();
            if ip.is_unicast_link_local() && link_local.is_none() {
                link_local = Some(ip);
            }
        }
    }
    Ok((mac, link_local))
}

/// A sender of gratuitous ARPs and unsolicited NAs on one interface; see
/// the module documentation.
///
/// Opened in the calling thread's network namespace; usable from any thread
/// afterwards. It receives nothing (its protocol is 0).
#[derive(Debug)]
pub struct Garp {
    socket: Socket,
    ifname: String,
    ifindex: u32,
    mac: MacAddr,
    link_local: Option<Ipv6Addr>,
    router: bool,
}

impl Garp {
    /// Opens an `AF_PACKET` socket for `ifname` and records the interface's
    /// MAC address and IPv6 link-local address (if it has one yet).
    ///
    /// # Errors
    /// [`NetError::NoSuchInterface`]; [`NetError::InvalidArgument`] if the
    /// interface has no Ethernet address; [`NetError::Socket`] (`EPERM`
    /// without `CAP_NET_RAW`).
    pub fn open(ifname: &str) -> Result<Garp> {
        let ifindex = ifindex(ifname)?;
        let socket = Socket::new(Domain::PACKET, Type::RAW.cloexec(), None).map_err(|source| {
            NetError::Socket {
                op: "socket(AF_PACKET)",
                ifname: ifname.to_owned(),
                source,
            }
        })?;
        let (mac, link_local) = link_info(ifname)?;
        let mac = mac.ok_or_else(|| {
            NetError::InvalidArgument(format!("interface {ifname} has no link-layer address"))
        })?;
        Ok(Garp {
            socket,
            ifname: ifname.to_owned(),
            ifindex,
            mac,
            link_local,
            router: false,
        })
    }

    /// Announces with `mac` (e.g. the VRRP virtual MAC `00:00:5e:00:01:VRID`)
    /// as the frames' source and the advertised link-layer address, instead
    /// of the interface's own.
    #[must_use]
    pub fn with_mac(mut self, mac: MacAddr) -> Garp {
        self.mac = mac;
        self
    }

    /// Sets the Router flag of neighbour advertisements (off by default).
    #[must_use]
    pub fn with_router_flag(mut self, router: bool) -> Garp {
        self.router = router;
        self
    }

    /// Sets the IPv6 source of neighbour advertisements (by default the
    /// link-local address found by [`Garp::open`]).
    #[must_use]
    pub fn with_source_v6(mut self, src: Ipv6Addr) -> Garp {
        self.link_local = Some(src);
        self
    }

    /// The interface name.
    #[must_use]
    pub fn ifname(&self) -> &str {
        &self.ifname
    }

    /// The interface index (looked up when opened).
    #[must_use]
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// The MAC address announced.
    #[must_use]
    pub fn mac(&self) -> MacAddr {
        self.mac
    }

    /// The IPv6 source of neighbour advertisements, if known; without one
    /// they are sent from the VIP itself.
    #[must_use]
    pub fn source_v6(&self) -> Option<Ipv6Addr> {
        self.link_local
    }

    /// Sends one gratuitous ARP for `vip`.
    ///
    /// # Errors
    /// [`NetError::Socket`] if the send fails (`ENETDOWN` when the link is down).
    pub fn send_arp(&self, vip: Ipv4Addr) -> Result<()> {
        self.send(&arp_frame(self.mac, vip), ETH_P_ARP, BROADCAST_MAC)
    }

    /// Sends one unsolicited neighbour advertisement for `vip`.
    ///
    /// # Errors
    /// As for [`Garp::send_arp`].
    pub fn send_na(&self, vip: Ipv6Addr) -> Result<()> {
        let src = self.link_local.unwrap_or(vip);
        self.send(
            &na_frame(self.mac, src, vip, self.router),
            ETH_P_IPV6,
            ALL_NODES_MAC,
        )
    }

    /// [`Garp::send_arp`] or [`Garp::send_na`], by the family of `vip`.
    ///
    /// # Errors
    /// As for [`Garp::send_arp`].
    pub fn announce(&self, vip: IpAddr) -> Result<()> {
        match vip {
            IpAddr::V4(v4) => self.send_arp(v4),
            IpAddr::V6(v6) => self.send_na(v6),
        }
    }

    fn send(&self, frame: &[u8], protocol: u16, dst: MacAddr) -> Result<()> {
        let to = link_sockaddr(self.ifindex, protocol, dst);
        let err = |source| NetError::Socket {
            op: "sendto(AF_PACKET)",
            ifname: self.ifname.clone(),
            source,
        };
        let sent = self.socket.send_to(frame, &to).map_err(err)?;
        if sent == frame.len() {
            Ok(())
        } else {
            Err(err(std::io::Error::other(format!(
                "sent {sent} of {} bytes",
                frame.len()
            ))))
        }
    }
}

/// The `sockaddr_ll` for sending a frame of EtherType `protocol` to `dst`
/// on interface `ifindex`.
fn link_sockaddr(ifindex: u32, protocol: u16, dst: MacAddr) -> SockAddr {
    let mut addr = [0u8; 8];
    addr[..6].copy_from_slice(&dst);
    let ll = libc::sockaddr_ll {
        sll_family: u16::try_from(libc::AF_PACKET).unwrap_or(17),
        sll_protocol: protocol.to_be(),
        sll_ifindex: i32::try_from(ifindex).unwrap_or(0),
        sll_hatype: 0,
        sll_pkttype: 0,
        sll_halen: 6,
        sll_addr: addr,
    };
    let mut storage = SockAddrStorage::zeroed();
    let len = libc::socklen_t::try_from(size_of::<libc::sockaddr_ll>()).unwrap_or(20);
    // SAFETY: `sockaddr_ll` is a `sockaddr_*` type of this platform (what
    // `view_as` requires), fully initialised, and `len` is its size, so the
    // storage holds a valid address of that length.
    unsafe {
        *storage.view_as::<libc::sockaddr_ll>() = ll;
        SockAddr::new(storage, len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: MacAddr = [0x02, 0x00, 0x00, 0xaa, 0xbb, 0xcc];

    /// Written out by hand from RFC 826 / RFC 5227 §3.
    static ARP_192_0_2_10: [u8; 42] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // broadcast
        0x02, 0x00, 0x00, 0xaa, 0xbb, 0xcc, // source MAC
        0x08, 0x06, // ARP
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, // Ethernet/IPv4, request
        0x02, 0x00, 0x00, 0xaa, 0xbb, 0xcc, 192, 0, 2, 10, // sender
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 192, 0, 2, 10, // target
    ];

    /// Written out by hand from RFC 4861 §4.4; the checksum (0x6bde) was
    /// computed separately with Python's arithmetic over the pseudo-header.
    static NA_2001_DB8_10: [u8; 86] = [
        0x33, 0x33, 0x00, 0x00, 0x00, 0x01, // ff02::1
        0x02, 0x00, 0x00, 0xaa, 0xbb, 0xcc, // source MAC
        0x86, 0xdd, // IPv6
        0x60, 0x00, 0x00, 0x00, 0x00, 0x20, 58, 255, // len 32, ICMPv6, hop limit 255
        0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, // fe80::1
        0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, // ff02::1
        136, 0, 0x6b, 0xde, // NA, checksum
        0x20, 0, 0, 0, // Override
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, // 2001:db8::10
        2, 1, 0x02, 0x00, 0x00, 0xaa, 0xbb, 0xcc, // target link-layer address
    ];

    #[test]
    fn arp_frame_byte_for_byte() {
        let f = arp_frame(MAC, Ipv4Addr::new(192, 0, 2, 10));
        assert_eq!(f, ARP_192_0_2_10);
    }

    #[test]
    fn na_frame_byte_for_byte() {
        let f = na_frame(
            MAC,
            "fe80::1".parse().unwrap(),
            "2001:db8::10".parse().unwrap(),
            false,
        );
        assert_eq!(f, NA_2001_DB8_10);
    }

    #[test]
    fn na_router_flag_and_checksum_verifies() {
        let src: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let vip: Ipv6Addr = "2001:db8:0:1::10".parse().unwrap();
        let f = na_frame(MAC, src, vip, true);
        let na = &f[ETH_HLEN + IPV6_HLEN..];
        assert_eq!(na[4], NA_FLAG_ROUTER | NA_FLAG_OVERRIDE);
        // Summing a message with its checksum in place gives 0 (complemented).
        assert_eq!(icmpv6_checksum(src, ALL_NODES_V6, na), 0);
        assert_eq!(&f[ETH_HLEN + 8..ETH_HLEN + 24], &src.octets());
    }

    #[test]
    fn checksum_of_odd_length_pads_with_zero() {
        let a = icmpv6_checksum(Ipv6Addr::UNSPECIFIED, Ipv6Addr::UNSPECIFIED, &[1, 2, 3]);
        let b = icmpv6_checksum(Ipv6Addr::UNSPECIFIED, Ipv6Addr::UNSPECIFIED, &[1, 2, 3, 0]);
        // Same words, different length field: differ by exactly 1.
        assert_eq!(a.wrapping_sub(b), 1);
    }

    #[test]
    fn sockaddr_is_an_af_packet_address() {
        let sa = link_sockaddr(3, ETH_P_ARP, BROADCAST_MAC);
        assert_eq!(i32::from(sa.family()), libc::AF_PACKET);
        assert_eq!(
            usize::try_from(sa.len()).unwrap(),
            size_of::<libc::sockaddr_ll>()
        );
    }
}
