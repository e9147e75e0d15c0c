//! Lab topologies for the daemon's tests: two routers on a veth ([`veth_pair`], IPv4 only; or
//! [`two_hosts`], dual-stack without DAD), `n` on a bridge ([`bridged_hosts`]), who holds a
//! VIP, and a packet capture on a host's eth0 ([`tcpdump`]).

use std::fs::File;
use std::net::IpAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use lab::{Host, Lab, LabChild};

/// Two hosts on a veth: ha1 eth0 = 192.0.2.1/24, ha2 eth0 = 192.0.2.2/24 (IPv6 link-local
/// only, with the kernel's DAD).
pub fn veth_pair(lab: &Lab) -> (Host, Host) {
    lab.two_hosts("ha1", &["192.0.2.1/24"], "ha2", &["192.0.2.2/24"])
        .expect("two hosts")
}

/// A lab of hosts sharing one segment.
pub struct Net {
    /// The lab (dropped last: kills what is left and deletes the namespaces).
    pub lab: Lab,
    /// The hosts, ha1, ha2, ...
    pub hosts: Vec<Host>,
}

/// Creates host `name` with IPv6 DAD off (so link-local and global addresses are usable at
/// once) before any interface is added.
fn new_host(lab: &Lab, name: &str) -> Host {
    let host = lab.host(name).expect("host");
    for key in [
        "net.ipv6.conf.all.accept_dad",
        "net.ipv6.conf.default.accept_dad",
    ] {
        host.sysctl(key, "0").expect("sysctl");
    }
    host
}

fn address_host(host: &Host, i: usize) {
    host.add_addr("eth0", &format!("192.0.2.{i}/24"))
        .expect("ipv4 address");
    host.add_addr("eth0", &format!("2001:db8::{i}/64"))
        .expect("ipv6 address");
}

/// Waits until every host's eth0 has a usable (non-tentative) IPv6 link-local address: the
/// source of v3 IPv6 adverts.
pub fn wait_link_local(hosts: &[&Host]) {
    let ok = lab::wait_until(Duration::from_secs(10), Duration::from_millis(20), || {
        hosts.iter().all(|h| {
            h.ip(["-6", "addr", "show", "dev", "eth0", "scope", "link"])
                .is_ok_and(|out| out.contains("fe80") && !out.contains("tentative"))
        })
    });
    assert!(ok.is_some(), "link-local addresses never became usable");
}

/// Two hosts on a veth: ha1 eth0 = 192.0.2.1/24, 2001:db8::1/64; ha2 eth0 = 192.0.2.2/24,
/// 2001:db8::2/64 (IPv6 without DAD).
pub fn two_hosts(prefix: &str) -> Net {
    let lab = Lab::new(prefix).expect("lab");
    let ha1 = new_host(&lab, "ha1");
    let ha2 = new_host(&lab, "ha2");
    lab.veth(&ha1, "eth0", &ha2, "eth0").expect("veth");
    address_host(&ha1, 1);
    address_host(&ha2, 2);
    let hosts = vec![ha1, ha2];
    wait_link_local(&hosts.iter().collect::<Vec<_>>());
    Net { lab, hosts }
}

/// `n` hosts (ha1..haN, eth0 = 192.0.2.I/24, 2001:db8::I/64) on one bridge.
pub fn bridged_hosts(prefix: &str, n: usize) -> Net {
    let lab = Lab::new(prefix).expect("lab");
    let seg = lab.bridge("seg").expect("bridge");
    let mut hosts = Vec::new();
    for i in 1..=n {
        let h = new_host(&lab, &format!("ha{i}"));
        lab.attach(&seg, &h, "eth0").expect("attach");
        address_host(&h, i);
        hosts.push(h);
    }
    wait_link_local(&hosts.iter().collect::<Vec<_>>());
    Net { lab, hosts }
}

/// Removes `vip` from `host`'s eth0 if it is there (a killed router leaves it behind).
pub fn remove_vip(host: &Host, vip: IpAddr) {
    let prefix = if vip.is_ipv6() { 64 } else { 24 };
    let _ = host.del_addr("eth0", &format!("{vip}/{prefix}"));
}

/// The indices of the hosts holding `vip`.
pub fn holders(hosts: &[Host], vip: IpAddr) -> Vec<usize> {
    hosts
        .iter()
        .enumerate()
        .filter(|(_, h)| h.has_addr(vip))
        .map(|(i, _)| i)
        .collect()
}

/// Starts `tcpdump -i eth0 ARGS...` in `host` (the filter last in `args`), writing its lines to
/// `out`; the capture stops when the returned child is killed or dropped. Tests give it a few
/// hundred milliseconds to open the interface before anything is sent.
pub fn tcpdump(host: &Host, args: &[&str], out: &Path) -> LabChild {
    let mut cmd = host.command("tcpdump");
    cmd.args(["-i", "eth0"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(File::create(out).expect("capture file"))
        .stderr(Stdio::null());
    LabChild::spawn(&mut cmd).expect("tcpdump")
}
