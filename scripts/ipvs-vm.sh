#!/usr/bin/env bash
# Runs a shell script inside the IPVS VM (Debian's kernel under QEMU, see
# crates/lab/src/vm.rs) and prints its output; exits with the script's code.
# With no argument, the smoke test: one rr service with one masqueraded real
# server, then `ipvsadm -Ln`.
#   scripts/ipvs-vm.sh                                   # smoke test
#   scripts/ipvs-vm.sh 'ipvsadm -Ln; ip -br link'
#   scripts/ipvs-vm.sh --bin /usr/sbin/keepalived 'keepalived --version'
#   scripts/ipvs-vm.sh --bin target/release/keepalived-rs:/usr/sbin/keepalived-rs \
#       --file my.conf:/etc/keepalived/keepalived.conf 'keepalived-rs -t'
# Needs: qemu-system-x86 busybox-static cpio kmod ipvsadm iproute2 (scripts/test.sh
# installs them); the kernel package is fetched once into target/ipvs-vm/.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$#" -eq 0 ]; then
    set -- "ipvsadm -A -t 192.0.2.10:80 -s rr
ipvsadm -a -t 192.0.2.10:80 -r 192.0.2.20:80 -m -w 3
ipvsadm -Ln"
fi
exec cargo run -q -p lab --example vm-run -- "$@"
