//! Link state over rtnetlink: dumps, up/down/delete, and link notifications as events.
//!
//! The dump of every interface ([`Rtnl::links`]), single links by name, setting a link up or
//! down, deleting one, and [`LinkMonitor`], a non-blocking socket subscribed to `RTNLGRP_LINK`
//! that turns the kernel's `RTM_NEWLINK` / `RTM_DELLINK` notifications into [`LinkEvent`]s as
//! they happen (no polling).
//!
//! "Up" means what keepalived means by it: `IFF_UP` and `IFF_RUNNING` both set (the link is
//! administratively up and has carrier).

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::time::Duration;

use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoMacVlan, LinkAttribute, LinkFlags, LinkInfo as NlLinkInfo, LinkMessage,
    MacVlanMode,
};

use crate::address::Rtnl;
use crate::error::{NetError, Result};
use crate::garp::MacAddr;
use crate::netlink::NotifySocket;

/// The rtnetlink multicast group of link notifications (`RTNLGRP_LINK`).
const RTNLGRP_LINK: u32 = 1;

/// A link appeared, changed or disappeared (or, from [`Rtnl::links`], exists).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkEvent {
    /// The interface index. A link that is deleted and created again gets a new one.
    pub ifindex: u32,
    /// The interface name (after a rename, the new name).
    pub name: String,
    /// `IFF_UP` and `IFF_RUNNING` are both set (always false when `deleted`).
    pub up: bool,
    /// The link was deleted (`RTM_DELLINK`), or moved to another network namespace.
    pub deleted: bool,
}

/// One link as the kernel describes it in a dump or a notification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkInfo {
    /// The interface index.
    pub ifindex: u32,
    /// The interface name.
    pub name: String,
    /// `IFF_UP` and `IFF_RUNNING` are both set.
    pub up: bool,
    /// The raw `IFF_*` flags.
    pub flags: u32,
    /// The link-layer address, when it is an Ethernet-sized one.
    pub mac: Option<MacAddr>,
    /// `IFLA_INFO_KIND` (`"macvlan"`, `"veth"`, `"bridge"`, ...); `None` for physical NICs.
    pub kind: Option<String>,
    /// `IFLA_LINK`: the parent of a macvlan or VLAN (or a veth's peer index).
    pub parent: Option<u32>,
    /// The macvlan mode, for macvlans.
    pub macvlan_mode: Option<MacvlanMode>,
}

/// A macvlan's mode (`ip link add ... type macvlan mode MODE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MacvlanMode {
    /// `private`: no traffic between macvlans of the same parent (keepalived's VMAC mode).
    Private,
    /// `vepa`.
    Vepa,
    /// `bridge`.
    Bridge,
    /// `passthru`.
    Passthru,
    /// `source`.
    Source,
    /// Any other number.
    Other(u32),
}

impl From<MacVlanMode> for MacvlanMode {
    fn from(m: MacVlanMode) -> MacvlanMode {
        match m {
            MacVlanMode::Private => MacvlanMode::Private,
            MacVlanMode::Vepa => MacvlanMode::Vepa,
            MacVlanMode::Bridge => MacvlanMode::Bridge,
            MacVlanMode::Passthrough => MacvlanMode::Passthru,
            MacVlanMode::Source => MacvlanMode::Source,
            MacVlanMode::Other(n) => MacvlanMode::Other(n),
            _ => MacvlanMode::Other(u32::from(m)),
        }
    }
}

impl LinkInfo {
    /// Decodes a `RTM_NEWLINK` / `RTM_DELLINK` body; `None` without a name.
    pub(crate) fn from_message(msg: &LinkMessage) -> Option<LinkInfo> {
        let flags = msg.header.flags;
        let mut info = LinkInfo {
            ifindex: msg.header.index,
            name: String::new(),
            up: flags.contains(LinkFlags::Up | LinkFlags::Running),
            flags: flags.bits(),
            mac: None,
            kind: None,
            parent: None,
            macvlan_mode: None,
        };
        for attr in &msg.attributes {
            match attr {
                LinkAttribute::IfName(name) => info.name.clone_from(name),
                LinkAttribute::Address(a) => info.mac = <MacAddr>::try_from(a.as_slice()).ok(),
                LinkAttribute::Link(p) if *p != 0 => info.parent = Some(*p),
                LinkAttribute::LinkInfo(infos) => {
                    for i in infos {
                        match i {
                            NlLinkInfo::Kind(kind) => info.kind = Some(kind_name(kind)),
                            NlLinkInfo::Data(InfoData::MacVlan(data)) => {
                                for d in data {
                                    if let InfoMacVlan::Mode(m) = d {
                                        info.macvlan_mode = Some((*m).into());
                                    }
                                }
                            }
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        (!info.name.is_empty()).then_some(info)
    }

    /// The same link as an event (not deleted).
    #[must_use]
    pub fn event(&self) -> LinkEvent {
        LinkEvent {
            ifindex: self.ifindex,
            name: self.name.clone(),
            up: self.up,
            deleted: false,
        }
    }

    /// It is a macvlan.
    #[must_use]
    pub fn is_macvlan(&self) -> bool {
        self.kind.as_deref() == Some("macvlan")
    }
}

/// The kernel's name of a link kind (what `ip -d link` prints after the flags).
fn kind_name(kind: &InfoKind) -> String {
    match kind {
        InfoKind::Other(s) => s.clone(),
        k => k.to_string(),
    }
}

impl Rtnl {
    /// Every link in the namespace (`RTM_GETLINK` dump), in index order.
    ///
    /// # Errors
    /// [`NetError::Netlink`] / [`NetError::NetlinkDecode`].
    pub fn links(&mut self) -> Result<Vec<LinkInfo>> {
        let msgs = self.dump(
            "RTM_GETLINK",
            RouteNetlinkMessage::GetLink(LinkMessage::default()),
        )?;
        Ok(msgs
            .iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => LinkInfo::from_message(l),
                _ => None,
            })
            .collect())
    }

    /// The link named `name`, if there is one.
    ///
    /// # Errors
    /// As for [`Rtnl::links`].
    pub fn link_by_name(&mut self, name: &str) -> Result<Option<LinkInfo>> {
        Ok(self.links()?.into_iter().find(|l| l.name == name))
    }

    /// The link with index `ifindex`, if there is one.
    ///
    /// # Errors
    /// As for [`Rtnl::links`].
    pub fn link_by_index(&mut self, ifindex: u32) -> Result<Option<LinkInfo>> {
        Ok(self.links()?.into_iter().find(|l| l.ifindex == ifindex))
    }

    /// Sets link `ifindex` administratively up or down (`ip link set ... up|down`).
    ///
    /// # Errors
    /// [`NetError::Netlink`] (`ENODEV` if there is no such link).
    pub fn set_link_up(&mut self, ifindex: u32, up: bool) -> Result<()> {
        let mut msg = LinkMessage::default();
        msg.header.index = ifindex;
        msg.header.change_mask = LinkFlags::Up;
        if up {
            msg.header.flags = LinkFlags::Up;
        }
        self.request("RTM_NEWLINK", RouteNetlinkMessage::SetLink(msg), 0)
    }

    /// Deletes link `ifindex` (`ip link del`). Callers check first that it is theirs.
    ///
    /// # Errors
    /// [`NetError::Netlink`] (`ENODEV` if there is no such link).
    pub fn del_link(&mut self, ifindex: u32) -> Result<()> {
        if ifindex == 0 {
            return Err(NetError::InvalidArgument("interface index 0".to_owned()));
        }
        let mut msg = LinkMessage::default();
        msg.header.index = ifindex;
        self.request("RTM_DELLINK", RouteNetlinkMessage::DelLink(msg), 0)
    }
}

/// A non-blocking `NETLINK_ROUTE` socket subscribed to link notifications, in the network
/// namespace of the thread that opens it.
///
/// Register it with tokio's `AsyncFd` (it implements [`AsFd`] / [`AsRawFd`]) and call
/// [`LinkMonitor::recv`] whenever it is readable, until that returns
/// [`io::ErrorKind::WouldBlock`]. If the kernel had to drop notifications because they were not
/// read fast enough, `recv` fails with `ENOBUFS` ([`LinkMonitor::is_overrun`]): the state is
/// then unknown and must be read again with [`Rtnl::links`].
///
/// Open the monitor before taking the initial dump, so that no change between the dump and the
/// subscription is lost (a change seen twice is harmless).
#[derive(Debug)]
pub struct LinkMonitor {
    socket: NotifySocket,
}

impl LinkMonitor {
    /// Opens the socket and joins `RTNLGRP_LINK`.
    ///
    /// # Errors
    /// [`NetError::Netlink`] if the socket cannot be created, bound or subscribed.
    pub fn open() -> Result<LinkMonitor> {
        Ok(LinkMonitor {
            socket: NotifySocket::open("open link monitor socket", &[RTNLGRP_LINK])?,
        })
    }

    /// Reads one datagram of notifications and decodes the link events in it (possibly none:
    /// notifications without a name are skipped).
    ///
    /// # Errors
    /// [`io::ErrorKind::WouldBlock`] when nothing is queued; `ENOBUFS` after an overrun (see
    /// the type's documentation); [`io::ErrorKind::InvalidData`] if the datagram does not
    /// decode (the events before the bad message are lost with it: treat it as an overrun).
    pub fn recv(&mut self) -> io::Result<Vec<LinkEvent>> {
        decode_events(self.socket.recv()?)
    }

    /// Sets the socket's receive buffer (keepalived's `vrrp_netlink_monitor_rcv_bufs`); the
    /// kernel doubles the value and caps it at `net.core.rmem_max`. Smaller buffers overrun
    /// sooner.
    ///
    /// # Errors
    /// The error of `setsockopt(SO_RCVBUF)`.
    pub fn set_recv_buffer(&self, bytes: usize) -> io::Result<()> {
        self.socket.set_recv_buffer(bytes)
    }

    /// Waits up to `timeout` for the socket to become readable (for synchronous callers and
    /// tests; the daemon uses `AsyncFd`).
    ///
    /// # Errors
    /// The error of `poll(2)`.
    pub fn wait_readable(&self, timeout: Duration) -> io::Result<bool> {
        self.socket.wait_readable(timeout)
    }

    /// Whether `err` (from [`LinkMonitor::recv`]) means notifications were lost and the link
    /// state must be read again.
    #[must_use]
    pub fn is_overrun(err: &io::Error) -> bool {
        NotifySocket::is_overrun(err)
    }
}

impl AsFd for LinkMonitor {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

impl AsRawFd for LinkMonitor {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.as_fd().as_raw_fd()
    }
}

/// The link events in one datagram of rtnetlink notifications.
fn decode_events(msgs: Vec<NetlinkMessage<RouteNetlinkMessage>>) -> io::Result<Vec<LinkEvent>> {
    let mut out = Vec::new();
    for msg in msgs {
        let (link, deleted) = match &msg.payload {
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(l)) => (l, false),
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelLink(l)) => (l, true),
            _ => continue,
        };
        if let Some(info) = LinkInfo::from_message(link) {
            out.push(LinkEvent {
                ifindex: info.ifindex,
                name: info.name,
                up: info.up && !deleted,
                deleted,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use netlink_packet_core::{NetlinkHeader, NetlinkMessage};

    use super::*;

    /// One datagram's bytes decoded as [`LinkMonitor::recv`] does.
    fn decode_bytes(buf: &[u8]) -> io::Result<Vec<LinkEvent>> {
        decode_events(
            crate::netlink::split_messages(buf)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?,
        )
    }

    fn link_msg(index: u32, name: &str, flags: LinkFlags) -> LinkMessage {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        msg.header.flags = flags;
        msg.attributes.push(LinkAttribute::IfName(name.to_owned()));
        msg.attributes
            .push(LinkAttribute::Address(vec![0, 0, 0x5e, 0, 1, 7]));
        msg.attributes.push(LinkAttribute::Link(2));
        msg.attributes.push(LinkAttribute::LinkInfo(vec![
            NlLinkInfo::Kind(InfoKind::MacVlan),
            NlLinkInfo::Data(InfoData::MacVlan(vec![InfoMacVlan::Mode(
                MacVlanMode::Private,
            )])),
        ]));
        msg
    }

    fn datagram(msgs: Vec<RouteNetlinkMessage>) -> Vec<u8> {
        let mut out = Vec::new();
        for m in msgs {
            let mut packet = NetlinkMessage::new(NetlinkHeader::default(), NetlinkPayload::from(m));
            packet.finalize();
            let mut buf = vec![0; packet.buffer_len()];
            packet.serialize(&mut buf);
            buf.resize(buf.len().next_multiple_of(4), 0);
            out.extend(buf);
        }
        out
    }

    #[test]
    fn up_needs_up_and_running() {
        let up = LinkInfo::from_message(&link_msg(5, "vrrp.7", LinkFlags::Up | LinkFlags::Running))
            .unwrap();
        assert!(up.up);
        assert_eq!(up.mac, Some([0, 0, 0x5e, 0, 1, 7]));
        assert_eq!(up.parent, Some(2));
        assert!(up.is_macvlan());
        assert_eq!(up.macvlan_mode, Some(MacvlanMode::Private));
        let no_carrier = LinkInfo::from_message(&link_msg(5, "x", LinkFlags::Up)).unwrap();
        assert!(!no_carrier.up);
        let admin_down = LinkInfo::from_message(&link_msg(5, "x", LinkFlags::Running)).unwrap();
        assert!(!admin_down.up);
        let mut nameless = link_msg(5, "x", LinkFlags::Up);
        nameless
            .attributes
            .retain(|a| !matches!(a, LinkAttribute::IfName(_)));
        assert_eq!(LinkInfo::from_message(&nameless), None);
    }

    #[test]
    fn datagrams_decode_into_events() {
        let buf = datagram(vec![
            RouteNetlinkMessage::NewLink(link_msg(3, "eth0", LinkFlags::Up | LinkFlags::Running)),
            RouteNetlinkMessage::NewAddress(Default::default()),
            RouteNetlinkMessage::DelLink(link_msg(4, "eth1", LinkFlags::Up | LinkFlags::Running)),
        ]);
        let events = decode_bytes(&buf).unwrap();
        assert_eq!(
            events,
            vec![
                LinkEvent {
                    ifindex: 3,
                    name: "eth0".into(),
                    up: true,
                    deleted: false
                },
                LinkEvent {
                    ifindex: 4,
                    name: "eth1".into(),
                    up: false,
                    deleted: true
                },
            ]
        );
        // Garbage is an error, never a panic.
        let err = decode_bytes(&[0xff; 7]).unwrap_err();
        assert!(LinkMonitor::is_overrun(&err));
        assert!(decode_bytes(&[]).unwrap().is_empty());
        for cut in 0..buf.len() {
            let _ = decode_bytes(&buf[..cut]);
        }
    }
}
