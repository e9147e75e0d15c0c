//! Differential test: the VMACs [`Vmacs`] creates must look like the ones Debian's keepalived
//! (`/usr/sbin/keepalived`, 2.2.7 in CI) creates for the same `use_vmac` instances, one IPv4
//! and one IPv6: name, MAC, kind and mode, `addr_gen_mode`, the sysctls on the VMAC and on its
//! parent, and the IPv6 addresses (address, prefix, scope, flags, preferred lifetime). Each
//! side runs in a fresh lab namespace. Needs root and keepalived; skips with a message
//! otherwise.

mod common;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use common::in_netns;
use keepalived_net::{IpFamily, Rtnl, VmacSpec, Vmacs, ifindex};
use lab::{Host, Lab};
use serde_json::{Value, json};

const KEEPALIVED_CONF: &str = "\
vrrp_instance V4 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    use_vmac
    virtual_ipaddress {
        192.0.2.100/24
    }
}
vrrp_instance V6 {
    state BACKUP
    interface eth0
    virtual_router_id 52
    priority 100
    advert_int 1
    use_vmac
    virtual_ipaddress {
        fe80::52/64
        2001:db8::52/64
    }
}
";

/// A host `ha1` with `eth0` (192.0.2.1/24) to `ha2`.
fn setup(prefix: &str) -> (Lab, Host) {
    let lab = Lab::new(prefix).unwrap();
    let ha1 = lab.host("ha1").unwrap();
    let ha2 = lab.host("ha2").unwrap();
    lab.veth(&ha1, "eth0", &ha2, "eth0").unwrap();
    ha1.add_addr("eth0", "192.0.2.1/24").unwrap();
    // Wait for eth0's own link-local address (it is the IPv6 VMAC's source).
    let ll = lab::wait_until(Duration::from_secs(3), Duration::from_millis(20), || {
        ha1.ip(["-6", "addr", "show", "dev", "eth0", "scope", "link"])
            .is_ok_and(|o| o.contains("fe80::") && !o.contains("tentative"))
    });
    assert!(ll.is_some(), "eth0 never got a link-local address");
    (lab, ha1)
}

fn sysctl(host: &Host, key: &str) -> Value {
    let out = host
        .run_ok("cat", [format!("/proc/sys/net/{key}")])
        .unwrap_or_else(|_| "missing".to_owned());
    Value::String(out.trim().to_owned())
}

/// What matters about VMAC `name` (and its parent `eth0`) on `host`.
fn snapshot(host: &Host, name: &str) -> Value {
    let out = host.ip(["-j", "-d", "link", "show", "dev", name]).unwrap();
    let link: Value = serde_json::from_str(&out).unwrap();
    let link = &link[0];
    let link_locals = |dev: &str| -> Vec<Value> {
        let out = host.ip(["-j", "-6", "addr", "show", "dev", dev]).unwrap();
        let addrs: Value = serde_json::from_str(&out).unwrap();
        addrs[0]["addr_info"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    let parent_ll: Vec<Value> = link_locals("eth0")
        .into_iter()
        .filter(|a| a["scope"] == "link")
        .map(|a| a["local"].clone())
        .collect();
    let out = host.ip(["-j", "-6", "addr", "show", "dev", name]).unwrap();
    let addrs: Value = serde_json::from_str(&out).unwrap();
    let mut v6: Vec<Value> = addrs[0]["addr_info"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        // Only the VRRP engine's VIPs would differ; the VMAC's own addresses are link-local.
        .filter(|a| a["scope"] == "link" && a["local"] != "fe80::52")
        .map(|a| {
            // The parent's address differs between labs (random MACs): name it.
            let local = if parent_ll.contains(&a["local"]) {
                json!("the parent's link-local")
            } else {
                a["local"].clone()
            };
            json!({
                "local": local, "prefixlen": a["prefixlen"], "scope": a["scope"],
                "nodad": a["nodad"], "preferred_life_time": a["preferred_life_time"],
            })
        })
        .collect();
    v6.sort_by_key(ToString::to_string);
    let mut out = json!({
        "address": link["address"],
        "link": link["link"],
        "kind": link["linkinfo"]["info_kind"],
        "mode": link["linkinfo"]["info_data"]["mode"],
        "addrgenmode": link["inet6_addr_gen_mode"],
        "up": link["flags"].as_array().unwrap().contains(&json!("UP")),
        "ipv6": v6,
    });
    for key in [
        "arp_ignore",
        "arp_filter",
        "accept_local",
        "rp_filter",
        "promote_secondaries",
    ] {
        out[format!("vmac.{key}")] = sysctl(host, &format!("ipv4/conf/{name}/{key}"));
    }
    out["vmac.disable_ipv6"] = sysctl(host, &format!("ipv6/conf/{name}/disable_ipv6"));
    for key in ["arp_ignore", "arp_filter"] {
        out[format!("parent.{key}")] = sysctl(host, &format!("ipv4/conf/eth0/{key}"));
    }
    out
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Starts keepalived on a fresh `ha1`, waits for both VMACs, and snapshots them.
fn keepalived_snapshots() -> (Value, Value) {
    let (_lab, ha1) = setup("kavmka");
    let dir = TempDir(std::env::temp_dir().join(format!("kavmka-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let conf = dir.0.join("keepalived.conf");
    std::fs::write(&conf, KEEPALIVED_CONF).unwrap();
    let p = |n: &str| dir.0.join(n).display().to_string();
    let mut cmd = ha1.command("keepalived");
    cmd.args(["-n", "-l", "-D", "-f"])
        .arg(&conf)
        .args([
            "-p",
            &p("ka.pid"),
            "-r",
            &p("vrrp.pid"),
            "-c",
            &p("chk.pid"),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = lab::LabChild::spawn(&mut cmd).unwrap();
    let ready = lab::wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
        let up = |n: &str| {
            ha1.ip(["-j", "link", "show", "dev", n])
                .is_ok_and(|o| o.contains("\"UP\""))
        };
        up("vrrp.51")
            && up("vrrp.52")
            && ha1
                .ip(["-6", "addr", "show", "dev", "vrrp.52"])
                .is_ok_and(|o| o.contains("fe80::"))
    });
    assert!(ready.is_some(), "keepalived did not create both VMACs");
    // Let it finish setting up (sysctls follow the link creation closely).
    std::thread::sleep(Duration::from_millis(300));
    let snaps = (snapshot(&ha1, "vrrp.51"), snapshot(&ha1, "vrrp.52"));
    let _ = child.signal("TERM");
    let _ = child.wait_timeout(Duration::from_secs(5));
    snaps
}

fn our_snapshots() -> (Value, Value) {
    let (_lab, ha1) = setup("kavmrs");
    let (vmacs, rtnl) = in_netns(&ha1, || {
        let mut rtnl = Rtnl::open().unwrap();
        let mut vmacs = Vmacs::new();
        let eth0 = ifindex("eth0").unwrap();
        vmacs
            .create(&mut rtnl, &VmacSpec::new(eth0, 51, IpFamily::V4))
            .unwrap();
        vmacs
            .create(&mut rtnl, &VmacSpec::new(eth0, 52, IpFamily::V6))
            .unwrap();
        (vmacs, rtnl)
    });
    let snaps = (snapshot(&ha1, "vrrp.51"), snapshot(&ha1, "vrrp.52"));
    in_netns(&ha1, move || {
        let (mut vmacs, mut rtnl) = (vmacs, rtnl);
        vmacs.remove_all(&mut rtnl).unwrap();
    });
    snaps
}

#[test]
fn vmacs_look_like_keepalived_ones() {
    lab::require_root!();
    if !lab::have_program("keepalived") {
        eprintln!("skipping: keepalived is not installed");
        return;
    }
    let (ka4, ka6) = keepalived_snapshots();
    let (rs4, rs6) = our_snapshots();
    eprintln!("keepalived IPv4 VMAC: {ka4}\nkeepalived IPv6 VMAC: {ka6}");
    assert_eq!(rs4, ka4, "IPv4 VMAC differs from keepalived's");
    assert_eq!(rs6, ka6, "IPv6 VMAC differs from keepalived's");
}
