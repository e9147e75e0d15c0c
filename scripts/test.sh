#!/usr/bin/env bash
# Installs what the tests need, builds everything, and runs every test.
# Run as root on a fresh Debian machine: the network tests build namespaces, and the
# differential tests run Debian's keepalived beside ours.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(keepalived iproute2 tcpdump python3 procps python3-aiosmtpd systemd
    qemu-system-x86 busybox-static cpio kmod ipvsadm  # these five: the IPVS VM (crates/lab/src/vm.rs)
    make util-linux groff-base  # make install, setpriv (capability test), man page check
    prometheus  # the metrics test: a real Prometheus scraping ours, and promtool
    nftables  # nft: the firewall tests read the ruleset and plant a stale table with it
    iptables ipset  # the legacy firewall (vrrp_iptables): tests/vrrp/firewall_iptables.rs
    frr  # BFD interop: FRR's bfdd, run alone in lab namespaces (tests/interop/bfd_frr.rs)
    dbus-daemon dbus-bin  # D-Bus interop: a private system bus, dbus-monitor (busctl: systemd)
    snmpd snmp)  # SNMP interop: net-snmp's master agent and snmpwalk (tests/interop/snmp.rs)
if [ "$(id -u)" = 0 ]; then
    missing=()
    for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
        # The tests run bfdd alone in their namespaces: stop the host service frr's package
        # starts where systemd runs (it was not running before this install).
        if [[ " ${missing[*]} " == *" frr "* ]]; then
            systemctl disable --now frr 2>/dev/null || true
        fi
        # Likewise snmpd: the SNMP test runs its own master agent in a lab namespace.
        if [[ " ${missing[*]} " == *" snmpd "* ]]; then
            systemctl disable --now snmpd 2>/dev/null || true
        fi
    fi
else
    echo "test.sh: not root: skipping package installation; network tests will skip" >&2
fi

if ! command -v cargo >/dev/null; then
    echo "test.sh: cargo is required (https://rustup.rs)" >&2
    exit 1
fi

# The Debian package test (scripts/test-package.sh) builds with cargo-deb.
command -v cargo-deb >/dev/null || cargo install cargo-deb --locked

cargo build --release --workspace --bins
# Tests that drive the binary use the release build (KEEPALIVED_RS_BIN), so it is built once.
export KEEPALIVED_RS_BIN="$PWD/target/release/keepalived-rs"
cargo test --workspace --release -- --test-threads="${TEST_THREADS:-2}"
# Each documented feature combination: its build, its -v line, its -t errors, no IPVS code
# without lvs (only the CLI and feature tests, not the whole suite again).
bash scripts/test-features.sh
# Build, install, run and purge the Debian package (root only; cleans up even on failure).
bash scripts/test-package.sh
