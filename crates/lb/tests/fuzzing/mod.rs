//! The body of the `ipvs_nl_parse` fuzz target, shared with the stable replay test: no panic on
//! any bytes, and whatever decodes re-encodes to bytes that decode to the same message.

use keepalived_lb::ipvs::{IpvsMessage, decode, encode};
use netlink_packet_core::NetlinkPayload;

/// Decodes `data` as one netlink message of the IPVS family, and its tail as the attributes of
/// every command; checks the round trip of whatever decodes.
pub fn parse_roundtrip(data: &[u8]) {
    if let Ok(msg) = decode(data)
        && let NetlinkPayload::InnerMessage(genl) = msg.payload
    {
        let seq = msg.header.sequence_number;
        let family = msg.header.message_type;
        let again = encode(&genl.payload, family, seq);
        match decode(&again).map(|m| m.payload) {
            Ok(NetlinkPayload::InnerMessage(g)) => assert_eq!(g.payload, genl.payload),
            other => panic!("re-encoded {:?} decodes to {other:?}", genl.payload),
        }
    }
    let attrs = data.get(20..).unwrap_or(&[]);
    for cmd in 0..=18 {
        if let Ok(msg) = IpvsMessage::parse(cmd, attrs) {
            let mut buf = Vec::new();
            msg.emit(&mut buf);
            assert_eq!(IpvsMessage::parse(msg.command(), &buf), Ok(msg));
        }
    }
}
