#!/bin/bash
# 100 BFD sessions at 50 ms x 3: keepalived-rs (ha1) against keepalived 2.2.7 (ha2), CPU and PSS
# of each side's BFD process over DUR seconds.
set -u
# Usage (root): DUR=60 N=100 crates/bench/scripts/bfd-vs-keepalived.sh. Namespaces bb1 and bb2;
# 198.18.0.0/16 (benchmarking range). The figures are the BFD child processes of both daemons
# talking to each other, so both carry the same load; both cores may be loaded by others.
DUR=${DUR:-60}
N=${N:-100}
B=$(mktemp -d /tmp/bfd-bench.XXXXXX)
BIN=${BIN:-$(dirname "$0")/../../../target/release/keepalived-rs}
ip netns del bb1 2>/dev/null; ip netns del bb2 2>/dev/null
ip netns add bb1; ip netns add bb2
ip link add eth0 netns bb1 type veth peer name eth0 netns bb2
ip -n bb1 addr add 198.18.0.1/16 dev eth0
for i in $(seq 1 $N); do ip -n bb2 addr add 198.18.1.$i/16 dev eth0; done
for n in bb1 bb2; do ip -n $n link set lo up; ip -n $n link set eth0 up; done
rm -rf $B/a $B/b; mkdir -p $B/a $B/b
for i in $(seq 1 $N); do
  printf 'bfd_instance s%d {\n neighbor_ip 198.18.1.%d\n source_ip 198.18.0.1\n min_rx 50\n min_tx 50\n idle_tx 1000\n multiplier 3\n}\n' $i $i >> $B/a/k.conf
  printf 'bfd_instance s%d {\n neighbor_ip 198.18.0.1\n source_ip 198.18.1.%d\n min_rx 50\n min_tx 50\n idle_tx 1000\n multiplier 3\n}\n' $i $i >> $B/b/k.conf
done
ip netns exec bb2 /usr/sbin/keepalived -n -l -f $B/b/k.conf -p $B/b/ka.pid -r $B/b/v.pid -c $B/b/c.pid -b $B/b/b.pid > $B/b/log 2>&1 &
KPID=$!
ip netns exec bb1 $BIN -n -l -f $B/a/k.conf -p $B/a/ka.pid -r $B/a/v.pid -c $B/a/c.pid -b $B/a/b.pid > $B/a/log 2>&1 &
OPID=$!
sleep 8
ob=$(cat $B/a/b.pid); kb=$(cat $B/b/b.pid)
upo=$(grep -c "Entering Up state" $B/a/log); upk=$(grep -c "Entering Up state" $B/b/log)
cpu() { awk '{print $14+$15}' /proc/$1/stat; }
pss() { awk '/^Pss:/{print $2}' /proc/$1/smaps_rollup; }
o0=$(cpu $ob); k0=$(cpu $kb)
sleep $DUR
o1=$(cpu $ob); k1=$(cpu $kb)
hz=$(getconf CLK_TCK)
downo=$(grep -c "Entering Down state" $B/a/log); downk=$(grep -c "Entering Down state" $B/b/log)
echo "sessions up after 8 s: ours=$upo keepalived=$upk; Down transitions during the run: ours=$downo keepalived=$downk"
echo "cpu_ms ours=$(( (o1-o0)*1000/hz )) keepalived=$(( (k1-k0)*1000/hz )) over ${DUR}s"
echo "pss_kb ours=$(pss $ob) keepalived=$(pss $kb)"
kill $OPID $KPID; sleep 1; rm -rf "$B"
ip netns del bb1; ip netns del bb2
