#!/usr/bin/env bash
# Live demonstration (needs root): two keepalived-rs routers in network namespaces on this
# machine elect a master for VIP 192.0.2.100; the master is killed and the backup takes over.
# Prints who is master, who holds the VIP, and the measured failover time; then cleans up.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
    echo "demo.sh: needs root (it creates network namespaces)" >&2
    exit 1
fi
cargo build --release --bin keepalived-rs
bin="$PWD/target/release/keepalived-rs"

tag="kademo$$"
ha1="$tag-ha1"; ha2="$tag-ha2"
work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    ip netns del "$ha1" 2>/dev/null || true
    ip netns del "$ha2" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

ip netns add "$ha1"; ip netns add "$ha2"
ip link add eth0 netns "$ha1" type veth peer name eth0 netns "$ha2"
ip -n "$ha1" addr add 192.0.2.1/24 dev eth0
ip -n "$ha2" addr add 192.0.2.2/24 dev eth0
for ns in "$ha1" "$ha2"; do ip -n "$ns" link set lo up; ip -n "$ns" link set eth0 up; done

write_conf() { # name priority
    cat > "$work/$1.conf" <<CONF
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority $2
    advert_int 1
    virtual_ipaddress {
        192.0.2.100/24
    }
}
CONF
}
write_conf ha1 150
write_conf ha2 100

ip netns exec "$ha1" "$bin" -n -l -f "$work/ha1.conf" -p "$work/ha1.pid" -r "$work/ha1.vrrp.pid" -c "$work/ha1.chk.pid" > "$work/ha1.log" 2>&1 &
pids+=($!); master_pid=$!; disown
ip netns exec "$ha2" "$bin" -n -l -f "$work/ha2.conf" -p "$work/ha2.pid" -r "$work/ha2.vrrp.pid" -c "$work/ha2.chk.pid" > "$work/ha2.log" 2>&1 &
pids+=($!); disown

holds_vip() { ip -n "$1" -br addr show dev eth0 | grep -q '192\.0\.2\.100/'; }
now() { date +%s.%N; }

echo "== starting two routers: ha1 (priority 150) and ha2 (priority 100), VIP 192.0.2.100"
for _ in $(seq 1 100); do holds_vip "$ha1" && break; sleep 0.1; done
sleep 1.5
for ns in "$ha1" "$ha2"; do
    state=$(grep -o 'Entering [A-Z]* STATE' "$work/${ns##*-}.log" | tail -1 || true)
    vip=$(holds_vip "$ns" && echo "holds 192.0.2.100" || echo "no VIP")
    echo "   ${ns##*-}: ${state:-?} - $vip"
done
if ! holds_vip "$ha1" || holds_vip "$ha2"; then
    echo "unexpected: ha1 should be the only VIP holder" >&2
    cat "$work"/*.log >&2
    exit 1
fi

echo "== killing the master (SIGKILL to ha1's parent and VRRP engine: no goodbye advert, the backup must time out)"
t0=$(now)
kill -9 "$(cat "$work/ha1.vrrp.pid")" "$master_pid"
until holds_vip "$ha2"; do
    if awk -v a="$(now)" -v b="$t0" 'BEGIN { exit !(a - b > 10) }'; then echo "ha2 did not take over" >&2; cat "$work/ha2.log" >&2; exit 1; fi
    sleep 0.005
done
t1=$(now)
printf '   ha2 holds 192.0.2.100 after %.3f s (RFC 3768 Master_Down_Interval for priority 100: 3.609 s after the last advert)\n' "$(awk -v a="$t1" -v b="$t0" 'BEGIN { print a - b }')"
echo "== ha2's log:"
sed 's/^/   /' "$work/ha2.log"
echo "== cleaning up"
