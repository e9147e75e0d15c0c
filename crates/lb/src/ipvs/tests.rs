//! Codec tests: round trips of every message, golden bytes worked out from the uapi layout,
//! and garbage that must not panic.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_core::NetlinkPayload;

const NLM_F_MULTI: u16 = 2;

use super::consts::*;
use super::*;

const V4: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
const V4_RS: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 10));
const V6: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1));
const V6_RS: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x10));

fn tcp(addr: IpAddr, port: u16) -> ServiceKey {
    ServiceKey::Addr {
        protocol: Protocol::Tcp,
        addr,
        port,
    }
}

fn stats() -> Stats {
    Stats {
        conns: 1,
        inpkts: 2,
        outpkts: 3,
        inbytes: 1 << 40,
        outbytes: 5,
        cps: 6,
        inpps: 7,
        outpps: 8,
        inbps: 9,
        outbps: 10,
    }
}

/// One message of every kind, with every optional part in at least one of them.
fn samples() -> Vec<IpvsMessage> {
    let mut persistent = Service::new(tcp(V4, 443), "wlc");
    persistent.flags = IP_VS_SVC_F_PERSISTENT;
    persistent.timeout = 360;
    persistent.netmask = netmask_v4(Ipv4Addr::new(255, 255, 255, 0));
    let mut sip = Service::new(
        ServiceKey::Addr {
            protocol: Protocol::Udp,
            addr: V6,
            port: 5060,
        },
        "sh",
    );
    sip.flags = IP_VS_SVC_F_PERSISTENT | IP_VS_SVC_F_SCHED_SH_FALLBACK | IP_VS_SVC_F_SCHED_SH_PORT;
    sip.timeout = 60;
    sip.netmask = 64;
    sip.pe_name = Some("sip".into());
    let fwm6 = ServiceKey::Fwmark {
        family: Family::Inet6,
        mark: 7,
    };
    let mut dumped = Service::new(
        ServiceKey::Fwmark {
            family: Family::Inet,
            mark: 1,
        },
        "mh",
    );
    dumped.flags = IP_VS_SVC_F_HASHED | IP_VS_SVC_F_ONEPACKET;
    dumped.stats = Some(stats());
    let sctp = Service::new(
        ServiceKey::Addr {
            protocol: Protocol::Sctp,
            addr: V4,
            port: 9,
        },
        "rr",
    );
    let mut tun = Destination::new(V6_RS, 0, FwdMethod::Tunnel, 3);
    tun.tunnel = Some(TunnelOpts {
        kind: TunnelType::Gue,
        port: 6080,
        flags: IP_VS_TUNNEL_ENCAP_FLAG_CSUM | IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM,
    });
    let mut nat = Destination::new(V4_RS, 8080, FwdMethod::Masq, 100);
    nat.u_threshold = 1000;
    nat.l_threshold = 800;
    let mut entry = Destination::new(V4_RS, 80, FwdMethod::DirectRoute, 0);
    entry.conns = Some(DestConns {
        active: 4,
        inactive: 5,
        persistent: 6,
    });
    entry.stats = Some(stats());
    vec![
        IpvsMessage::NewService(Service::new(tcp(V4, 80), "rr")),
        IpvsMessage::NewService(persistent),
        IpvsMessage::SetService(sip),
        IpvsMessage::NewService(dumped),
        IpvsMessage::NewService(sctp),
        IpvsMessage::DelService(tcp(V6, 443)),
        IpvsMessage::DelService(fwm6),
        IpvsMessage::GetService(None),
        IpvsMessage::GetService(Some(tcp(V4, 80))),
        IpvsMessage::NewDest {
            service: tcp(V4, 80),
            dest: nat.clone(),
        },
        IpvsMessage::NewDest {
            service: fwm6,
            dest: tun.clone(),
        },
        IpvsMessage::SetDest {
            service: tcp(V4, 80),
            dest: tun,
        },
        IpvsMessage::SetDest {
            service: tcp(V6, 80),
            dest: nat,
        },
        IpvsMessage::DelDest {
            service: tcp(V6, 443),
            dest: DestKey {
                addr: V6_RS,
                port: 8443,
            },
        },
        IpvsMessage::DelDest {
            service: fwm6,
            dest: DestKey {
                addr: V4_RS,
                port: 0,
            },
        },
        IpvsMessage::GetDest(tcp(V4, 80)),
        IpvsMessage::GetDest(fwm6),
        IpvsMessage::DestEntry(entry),
        IpvsMessage::NewDaemon(SyncDaemon {
            state: DaemonState::Master,
            mcast_ifn: "eth0".into(),
            sync_id: 50,
            sync_maxlen: None,
            mcast_group: None,
            mcast_port: None,
            mcast_ttl: None,
        }),
        IpvsMessage::NewDaemon(SyncDaemon {
            state: DaemonState::Backup,
            mcast_ifn: "bond0.100".into(),
            sync_id: 255,
            sync_maxlen: Some(1472),
            mcast_group: Some(IpAddr::V4(Ipv4Addr::new(224, 0, 0, 81))),
            mcast_port: Some(8848),
            mcast_ttl: Some(1),
        }),
        IpvsMessage::NewDaemon(SyncDaemon {
            state: DaemonState::Master,
            mcast_ifn: "eth1".into(),
            sync_id: 0,
            sync_maxlen: Some(1400),
            mcast_group: Some("ff02::1:51".parse().unwrap_or(V6)),
            mcast_port: Some(8849),
            mcast_ttl: Some(5),
        }),
        IpvsMessage::DelDaemon(DaemonState::Backup),
        IpvsMessage::GetDaemon,
        IpvsMessage::SetConfig(Timeouts {
            tcp: Some(900),
            tcp_fin: Some(120),
            udp: Some(300),
        }),
        IpvsMessage::SetConfig(Timeouts {
            tcp: None,
            tcp_fin: None,
            udp: Some(5),
        }),
        IpvsMessage::GetConfig,
        IpvsMessage::SetInfo(Info {
            version: 0x010201,
            conn_tab_size: 4096,
        }),
        IpvsMessage::GetInfo,
        IpvsMessage::Zero(None),
        IpvsMessage::Zero(Some(tcp(V4, 80))),
        IpvsMessage::Flush,
    ]
}

#[test]
fn every_message_round_trips() {
    for msg in samples() {
        assert_eq!(msg.validate(), Ok(()), "{msg:?}");
        let mut buf = Vec::new();
        msg.emit(&mut buf);
        assert_eq!(buf.len() % 4, 0, "{msg:?}");
        let back = IpvsMessage::parse(msg.command(), &buf);
        assert_eq!(back.as_ref(), Ok(&msg), "{buf:02x?}");
    }
}

#[test]
fn every_message_round_trips_through_netlink_framing() {
    for (seq, msg) in (1..).zip(samples()) {
        let bytes = encode(&msg, 0x22, seq);
        let parsed = decode(&bytes).unwrap_or_else(|e| panic!("{msg:?}: {e}"));
        assert_eq!(parsed.header.message_type, 0x22);
        assert_eq!(parsed.header.sequence_number, seq);
        assert_eq!(
            usize::try_from(parsed.header.length).ok(),
            Some(bytes.len())
        );
        let NetlinkPayload::InnerMessage(genl) = parsed.payload else {
            panic!("{msg:?}: not an inner message");
        };
        assert_eq!(genl.header.cmd, msg.command());
        assert_eq!(genl.header.version, IPVS_GENL_VERSION);
        assert_eq!(genl.payload, msg);
    }
}

/// `ipvsadm -A -t 192.0.2.1:80 -s rr`, family id 0x21, seq 1: laid out from the uapi header in
/// libipvs's attribute order (AF, PROTOCOL, ADDR, PORT, SCHED_NAME, FLAGS, TIMEOUT, NETMASK).
#[rustfmt::skip]
static NEW_SERVICE_V4: [u8; 104] = [
    0x68, 0, 0, 0,  0x21, 0,  0x05, 0,  1, 0, 0, 0,  0, 0, 0, 0, // nlmsghdr: REQUEST|ACK
    IPVS_CMD_NEW_SERVICE, 1, 0, 0,                                // genlmsghdr
    84, 0, 1, 0,                                                  // IPVS_CMD_ATTR_SERVICE
    6, 0, 1, 0,  2, 0, 0, 0,                                      // AF = AF_INET
    6, 0, 2, 0,  6, 0, 0, 0,                                      // PROTOCOL = TCP
    20, 0, 3, 0,  192, 0, 2, 1,  0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0, // ADDR
    6, 0, 4, 0,  0, 80, 0, 0,                                     // PORT (BE)
    7, 0, 6, 0,  b'r', b'r', 0, 0,                                // SCHED_NAME "rr\0"
    12, 0, 7, 0,  0, 0, 0, 0,  0xff, 0xff, 0xff, 0xff,            // FLAGS {0, mask ~0}
    8, 0, 8, 0,  0, 0, 0, 0,                                      // TIMEOUT
    8, 0, 9, 0,  0xff, 0xff, 0xff, 0xff,                          // NETMASK 255.255.255.255
];

/// `ipvsadm -d -t [2001:db8::1]:443 -r [2001:db8::10]:8443`, family id 0x21, seq 7.
#[rustfmt::skip]
static DEL_DEST_V6: [u8; 108] = [
    108, 0, 0, 0,  0x21, 0,  0x05, 0,  7, 0, 0, 0,  0, 0, 0, 0,
    IPVS_CMD_DEL_DEST, 1, 0, 0,
    48, 0, 1, 0,                                                  // IPVS_CMD_ATTR_SERVICE
    6, 0, 1, 0,  10, 0, 0, 0,                                     // AF = AF_INET6
    6, 0, 2, 0,  6, 0, 0, 0,                                      // PROTOCOL = TCP
    20, 0, 3, 0,  0x20, 0x01, 0x0d, 0xb8,  0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 1,
    6, 0, 4, 0,  0x01, 0xbb, 0, 0,                                // PORT 443 (BE)
    40, 0, 2, 0,                                                  // IPVS_CMD_ATTR_DEST
    6, 0, 11, 0,  10, 0, 0, 0,                                    // ADDR_FAMILY
    20, 0, 1, 0,  0x20, 0x01, 0x0d, 0xb8,  0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0x10,
    6, 0, 2, 0,  0x20, 0xfb, 0, 0,                                // PORT 8443 (BE)
];

/// `ipvsadm -a -t 192.0.2.1:80 -r 198.51.100.10:8080 -m -w 100`, family id 0x21, seq 4, in
/// libipvs's order (ADDR_FAMILY, ADDR, PORT, FWD_METHOD, WEIGHT, U_THRESH, L_THRESH).
#[rustfmt::skip]
static NEW_DEST_V4: [u8; 140] = [
    140, 0, 0, 0,  0x21, 0,  0x05, 0,  4, 0, 0, 0,  0, 0, 0, 0,
    IPVS_CMD_NEW_DEST, 1, 0, 0,
    48, 0, 1, 0,                                                  // IPVS_CMD_ATTR_SERVICE
    6, 0, 1, 0,  2, 0, 0, 0,
    6, 0, 2, 0,  6, 0, 0, 0,
    20, 0, 3, 0,  192, 0, 2, 1,  0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,
    6, 0, 4, 0,  0, 80, 0, 0,
    72, 0, 2, 0,                                                  // IPVS_CMD_ATTR_DEST
    6, 0, 11, 0,  2, 0, 0, 0,                                     // ADDR_FAMILY
    20, 0, 1, 0,  198, 51, 100, 10,  0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,
    6, 0, 2, 0,  0x1f, 0x90, 0, 0,                                // PORT 8080 (BE)
    8, 0, 3, 0,  0, 0, 0, 0,                                      // FWD_METHOD MASQ
    8, 0, 4, 0,  100, 0, 0, 0,                                    // WEIGHT
    8, 0, 5, 0,  0, 0, 0, 0,                                      // U_THRESH
    8, 0, 6, 0,  0, 0, 0, 0,                                      // L_THRESH
];

/// `ipvsadm --set 900 120 300`, family id 0x21, seq 2.
#[rustfmt::skip]
static SET_CONFIG: [u8; 44] = [
    44, 0, 0, 0,  0x21, 0,  0x05, 0,  2, 0, 0, 0,  0, 0, 0, 0,
    IPVS_CMD_SET_CONFIG, 1, 0, 0,
    8, 0, 4, 0,  0x84, 0x03, 0, 0,                                // TIMEOUT_TCP 900
    8, 0, 5, 0,  120, 0, 0, 0,                                    // TIMEOUT_TCP_FIN
    8, 0, 6, 0,  0x2c, 0x01, 0, 0,                                // TIMEOUT_UDP 300
];

/// `ipvsadm -Ln` (service dump request), family id 0x21, seq 3: REQUEST|DUMP, no attributes.
#[rustfmt::skip]
static GET_SERVICES: [u8; 20] = [
    20, 0, 0, 0,  0x21, 0,  0x01, 0x03,  3, 0, 0, 0,  0, 0, 0, 0,
    IPVS_CMD_GET_SERVICE, 1, 0, 0,
];

#[cfg(target_endian = "little")]
#[test]
fn requests_match_golden_bytes() {
    assert_eq!(
        encode(
            &IpvsMessage::NewService(Service::new(tcp(V4, 80), "rr")),
            0x21,
            1
        ),
        NEW_SERVICE_V4
    );
    let del = IpvsMessage::DelDest {
        service: tcp(V6, 443),
        dest: DestKey {
            addr: V6_RS,
            port: 8443,
        },
    };
    assert_eq!(encode(&del, 0x21, 7), DEL_DEST_V6);
    let add = IpvsMessage::NewDest {
        service: tcp(V4, 80),
        dest: Destination::new(V4_RS, 8080, FwdMethod::Masq, 100),
    };
    assert_eq!(encode(&add, 0x21, 4), NEW_DEST_V4);
    let set = IpvsMessage::SetConfig(Timeouts {
        tcp: Some(900),
        tcp_fin: Some(120),
        udp: Some(300),
    });
    assert_eq!(encode(&set, 0x21, 2), SET_CONFIG);
    assert_eq!(
        encode(&IpvsMessage::GetService(None), 0x21, 3),
        GET_SERVICES
    );
}

/// One reply of a service dump as the kernel (ip_vs_genl_fill_service) builds it: NLM_F_MULTI,
/// cmd NEW_SERVICE, a fwmark IPv4 service with HASHED set and the 32-bit STATS nest only.
#[rustfmt::skip]
static DUMPED_FWMARK_SERVICE: [u8; 124] = [
    124, 0, 0, 0,  0x21, 0,  0x02, 0,  3, 0, 0, 0,  0x39, 0x30, 0, 0,
    IPVS_CMD_NEW_SERVICE, 1, 0, 0,
    104, 0, 1, 0,
    6, 0, 1, 0,  2, 0, 0, 0,                                      // AF
    8, 0, 5, 0,  42, 0, 0, 0,                                     // FWMARK 42
    8, 0, 6, 0,  b'w', b'r', b'r', 0,                             // SCHED_NAME "wrr"
    12, 0, 7, 0,  0x03, 0, 0, 0,  0xff, 0xff, 0xff, 0xff,         // FLAGS PERSISTENT|HASHED
    8, 0, 8, 0,  0x2c, 0x01, 0, 0,                                // TIMEOUT 300
    8, 0, 9, 0,  255, 255, 255, 0,                                // NETMASK 255.255.255.0
    32, 0, 10, 0,                                                 // STATS (32-bit)
    8, 0, 1, 0,  9, 0, 0, 0,                                      // CONNS 9
    12, 0, 4, 0,  0, 0, 0, 0,  1, 0, 0, 0,                        // INBYTES 1 << 32
    8, 0, 6, 0,  3, 0, 0, 0,                                      // CPS 3
    8, 0, 99, 0,  0, 0, 0, 0,                                     // unknown: skipped
    8, 0, 0x0d, 0x80,  0, 0, 0, 0,                                // unknown, nested flag: skipped
];

#[cfg(target_endian = "little")]
#[test]
fn kernel_dump_reply_decodes() {
    let msg = decode(&DUMPED_FWMARK_SERVICE).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(msg.header.flags, NLM_F_MULTI);
    let NetlinkPayload::InnerMessage(genl) = msg.payload else {
        panic!("not inner")
    };
    let IpvsMessage::NewService(svc) = genl.payload else {
        panic!("not a service")
    };
    assert_eq!(
        svc.key,
        ServiceKey::Fwmark {
            family: Family::Inet,
            mark: 42
        }
    );
    assert_eq!(svc.key.to_string(), "FWM 42");
    assert_eq!(svc.scheduler, "wrr");
    assert_eq!(svc.flags, IP_VS_SVC_F_PERSISTENT | IP_VS_SVC_F_HASHED);
    assert_eq!(svc.timeout, 300);
    assert_eq!(svc.netmask, netmask_v4(Ipv4Addr::new(255, 255, 255, 0)));
    assert_eq!(svc.pe_name, None);
    let want = Stats {
        conns: 9,
        inbytes: 1 << 32,
        cps: 3,
        ..Stats::default()
    };
    assert_eq!(svc.stats, Some(want));
}

/// The kernel's `NLMSG_ERROR` answer to a request: errno -17 (EEXIST) and the request's header.
#[rustfmt::skip]
static ERROR_EEXIST: [u8; 36] = [
    36, 0, 0, 0,  2, 0,  0, 0,  1, 0, 0, 0,  0x39, 0x30, 0, 0,
    0xef, 0xff, 0xff, 0xff,                                       // error = -17
    104, 0, 0, 0,  0x21, 0,  0x05, 0,  1, 0, 0, 0,  0, 0, 0, 0,   // the request's nlmsghdr
];

#[cfg(target_endian = "little")]
#[test]
fn kernel_error_decodes_with_errno() {
    let msg = decode(&ERROR_EEXIST).unwrap_or_else(|e| panic!("{e}"));
    let NetlinkPayload::Error(err) = msg.payload else {
        panic!("not an error")
    };
    assert_eq!(err.raw_code(), -17);
    assert_eq!(msg.header.sequence_number, 1);
}

#[test]
fn info_and_dest_entry_replies_decode() {
    // GET_INFO's answer: top-level attributes 1 and 2 are version and table size here.
    let mut b = Vec::new();
    IpvsMessage::SetInfo(Info {
        version: 0x010201,
        conn_tab_size: 4096,
    })
    .emit(&mut b);
    assert_eq!(b.len(), 16);
    // A dest dump reply has no service nest.
    let entry = IpvsMessage::DestEntry(Destination::new(V6_RS, 443, FwdMethod::Masq, 1));
    b.clear();
    entry.emit(&mut b);
    assert_eq!(IpvsMessage::parse(IPVS_CMD_NEW_DEST, &b), Ok(entry));
}

#[test]
fn names_and_display() {
    assert_eq!(tcp(V4, 80).to_string(), "TCP 192.0.2.1:80");
    assert_eq!(tcp(V6, 443).to_string(), "TCP [2001:db8::1]:443");
    let fwm = ServiceKey::Fwmark {
        family: Family::Inet6,
        mark: 3,
    };
    assert_eq!(fwm.to_string(), "FWM 3 IPv6");
    assert_eq!(
        DestKey {
            addr: V6_RS,
            port: 80
        }
        .to_string(),
        "[2001:db8::10]:80"
    );
    assert_eq!(FwdMethod::from_raw(0x1003), FwdMethod::DirectRoute);
    assert_eq!(
        netmask_v4(Ipv4Addr::new(255, 255, 255, 0)).to_ne_bytes(),
        [255, 255, 255, 0]
    );
}

#[test]
fn validate_refuses_what_the_kernel_would() {
    let long = IpvsMessage::NewService(Service::new(tcp(V4, 80), "a-sixteen-bytes!"));
    assert!(matches!(
        long.validate(),
        Err(IpvsEncodeError::BadName { .. })
    ));
    let ok = IpvsMessage::NewService(Service::new(tcp(V4, 80), "fifteen-bytes!!"));
    assert_eq!(ok.validate(), Ok(()));
    let neg = IpvsMessage::NewDest {
        service: tcp(V4, 80),
        dest: Destination::new(V4_RS, 80, FwdMethod::Masq, -1),
    };
    assert_eq!(neg.validate(), Err(IpvsEncodeError::NegativeWeight(-1)));
}

#[test]
fn broken_attributes_are_typed_errors() {
    // Attribute claims 12 bytes, 8 present.
    let bad = [12u8, 0, 1, 0, 0, 0, 0, 0];
    assert_eq!(
        IpvsMessage::parse(IPVS_CMD_GET_SERVICE, &bad),
        Err(IpvsDecodeError::BadAttrLength { len: 12, avail: 8 })
    );
    // Length below the header size.
    assert!(IpvsMessage::parse(IPVS_CMD_FLUSH, &[2, 0, 1, 0]).is_err());
    // Service without an address family.
    let mut b = Vec::new();
    IpvsMessage::DelService(tcp(V4, 80)).emit(&mut b);
    let no_af = {
        let mut v = b.clone();
        v[6] = 99; // AF attribute type 1 -> 99 (unknown, skipped)
        v
    };
    assert_eq!(
        IpvsMessage::parse(IPVS_CMD_DEL_SERVICE, &no_af),
        Err(IpvsDecodeError::Missing("service family"))
    );
    assert_eq!(
        IpvsMessage::parse(200, &[]),
        Err(IpvsDecodeError::UnknownCommand(200))
    );
    assert_eq!(
        IpvsMessage::parse(IPVS_CMD_NEW_DEST, &[]),
        Err(IpvsDecodeError::Missing("destination"))
    );
}

/// Truncations, bit flips and random bytes: parse and decode return, never panic, and what
/// parses re-encodes to something that parses the same.
#[test]
fn garbage_never_panics() {
    let mut rng = fastrand::Rng::with_seed(0x1b5);
    let encoded: Vec<Vec<u8>> = samples().iter().map(|m| encode(m, 0x21, 9)).collect();
    for round in 0..20_000 {
        let mut bytes = match round % 3 {
            0 => {
                let len = rng.usize(0..200);
                (0..len).map(|_| rng.u8(..)).collect()
            }
            _ => encoded[rng.usize(..encoded.len())].clone(),
        };
        if round % 3 != 0 {
            for _ in 0..rng.usize(1..4) {
                let i = rng.usize(..bytes.len());
                bytes[i] = rng.u8(..);
            }
            if rng.bool() {
                bytes.truncate(rng.usize(..=bytes.len()));
            }
        }
        let _ = decode(&bytes);
        let attrs = bytes.get(20..).unwrap_or(&[]);
        for cmd in 0..=18 {
            if let Ok(msg) = IpvsMessage::parse(cmd, attrs) {
                let mut again = Vec::new();
                msg.emit(&mut again);
                assert_eq!(IpvsMessage::parse(msg.command(), &again), Ok(msg));
            }
        }
    }
}
