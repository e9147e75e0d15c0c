//! Reachability checks between lab hosts: `ping` from iputils when it is
//! installed, otherwise an ICMP echo sent by a small `python3` script.

use std::net::IpAddr;
use std::path::Path;

use crate::host::Host;

/// One ICMP/ICMPv6 echo with a 1 s timeout; exit status 0 on reply.
const PY_PING: &str = r#"
import os, select, socket, struct, sys, time
dst = sys.argv[1]
v6 = ':' in dst
if v6:
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    req, rep = 128, 129
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    req, rep = 8, 0
ident = os.getpid() & 0xffff
data = b'keepalived-rs-lab'
def csum(b):
    if len(b) % 2:
        b += b'\0'
    t = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    t = (t >> 16) + (t & 0xffff)
    t += t >> 16
    return ~t & 0xffff
# The kernel fills in the ICMPv6 checksum itself.
c = 0 if v6 else csum(struct.pack('!BBHHH', req, 0, 0, ident, 1) + data)
s.sendto(struct.pack('!BBHHH', req, 0, c, ident, 1) + data, (dst, 0))
end = time.time() + 1.0
while True:
    left = end - time.time()
    if left <= 0 or not select.select([s], [], [], left)[0]:
        sys.exit(1)
    d = s.recv(4096)
    if not v6:
        d = d[(d[0] & 15) * 4:]
    if len(d) >= 8:
        t, _, _, i, _ = struct.unpack('!BBHHH', d[:8])
        if t == rep and i == ident:
            sys.exit(0)
"#;

/// Whether `program` is an executable found on `PATH`.
pub fn have_program(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| Path::new(&dir).join(program).is_file())
    })
}

/// Sends one ICMP echo request from `host` to `dst` and reports whether a
/// reply came within a second. Uses `ping -c1 -W1` when `ping` is on
/// `PATH`, else `python3` with a raw socket.
///
/// # Panics
/// If neither `ping` nor `python3` is installed.
pub fn ping(host: &Host, dst: IpAddr) -> bool {
    let dst = dst.to_string();
    let out = if have_program("ping") {
        host.run("ping", ["-c1", "-W1", "-n", &dst])
    } else if have_program("python3") {
        host.run("python3", ["-c", PY_PING, &dst])
    } else {
        panic!("lab: ping needs `ping` (iputils) or `python3` on PATH");
    };
    out.status.success()
}
