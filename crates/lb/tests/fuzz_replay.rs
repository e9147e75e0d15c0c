//! Replays the `ipvs_nl_parse` fuzz seeds (`fuzz/seeds/ipvs_nl_parse/`) whole, truncated and
//! damaged through the fuzz target's checks. `KEEPALIVED_UPDATE_GOLDEN=1` rewrites the
//! generated seeds (`gen-*.bin`) from the messages below.

#![allow(
    clippy::disallowed_methods,
    reason = "reads the fuzz seeds from fuzz/seeds (and rewrites the generated ones on request)"
)]

mod fuzzing;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use keepalived_lb::ipvs::{
    DaemonState, DestConns, Destination, Family, FwdMethod, Info, IpvsMessage, Protocol, Service,
    ServiceKey, Stats, SyncDaemon, Timeouts, TunnelOpts, TunnelType, encode,
};

fn seeds_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/ipvs_nl_parse")
}

fn generated() -> Vec<(&'static str, IpvsMessage)> {
    let v4 = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    let v6 = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1));
    let rs = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 2));
    let key = ServiceKey::Addr {
        protocol: Protocol::Tcp,
        addr: v4,
        port: 80,
    };
    let mut svc = Service::new(
        ServiceKey::Addr {
            protocol: Protocol::Udp,
            addr: v6,
            port: 53,
        },
        "wlc",
    );
    svc.flags = 1;
    svc.timeout = 300;
    svc.netmask = 64;
    svc.pe_name = Some("sip".into());
    svc.stats = Some(Stats {
        conns: 3,
        inbytes: 1 << 33,
        ..Stats::default()
    });
    let mut dest = Destination::new(v6, 0, FwdMethod::Tunnel, 5);
    dest.tunnel = Some(TunnelOpts {
        kind: TunnelType::Gue,
        port: 6080,
        flags: 1,
    });
    dest.conns = Some(DestConns {
        active: 1,
        inactive: 2,
        persistent: 3,
    });
    vec![
        (
            "gen-new-service-v4",
            IpvsMessage::NewService(Service::new(key, "rr")),
        ),
        ("gen-service-entry-v6", IpvsMessage::NewService(svc)),
        (
            "gen-new-dest-nat",
            IpvsMessage::NewDest {
                service: key,
                dest: Destination::new(rs, 8080, FwdMethod::Masq, 1),
            },
        ),
        ("gen-dest-entry-tun", IpvsMessage::DestEntry(dest)),
        (
            "gen-get-dest-fwmark",
            IpvsMessage::GetDest(ServiceKey::Fwmark {
                family: Family::Inet,
                mark: 9,
            }),
        ),
        (
            "gen-new-daemon",
            IpvsMessage::NewDaemon(SyncDaemon {
                state: DaemonState::Backup,
                mcast_ifn: "eth0".into(),
                sync_id: 7,
                sync_maxlen: Some(1472),
                mcast_group: Some(IpAddr::V4(Ipv4Addr::new(224, 0, 0, 81))),
                mcast_port: Some(8848),
                mcast_ttl: Some(1),
            }),
        ),
        (
            "gen-set-config",
            IpvsMessage::SetConfig(Timeouts {
                tcp: Some(900),
                tcp_fin: None,
                udp: Some(300),
            }),
        ),
        (
            "gen-set-info",
            IpvsMessage::SetInfo(Info {
                version: 0x010201,
                conn_tab_size: 4096,
            }),
        ),
    ]
}

#[test]
fn seeds_whole_truncated_and_damaged() {
    let dir = seeds_dir();
    if std::env::var_os("KEEPALIVED_UPDATE_GOLDEN").is_some() {
        for (name, msg) in generated() {
            let path = dir.join(format!("{name}.bin"));
            std::fs::write(&path, encode(&msg, 0x21, 1)).expect("write seed");
        }
    }
    let mut inputs: Vec<Vec<u8>> = generated()
        .iter()
        .map(|(_, m)| encode(m, 0x21, 1))
        .collect();
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).expect("seed directory") {
        let path = entry.expect("entry").path();
        inputs.push(std::fs::read(&path).expect("seed"));
        files += 1;
    }
    assert!(
        files >= generated().len(),
        "seeds missing in {}",
        dir.display()
    );
    let mut rng = fastrand::Rng::with_seed(6);
    for input in &inputs {
        fuzzing::parse_roundtrip(input);
        for cut in 0..input.len() {
            fuzzing::parse_roundtrip(&input[..cut]);
        }
        for _ in 0..500 {
            let mut damaged = input.clone();
            for _ in 0..rng.usize(1..4) {
                let i = rng.usize(..damaged.len());
                damaged[i] = rng.u8(..);
            }
            fuzzing::parse_roundtrip(&damaged);
        }
    }
}
