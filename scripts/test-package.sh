#!/usr/bin/env bash
# Builds the Debian package (cargo-deb), installs it with dpkg, checks the installed files and
# runs the installed binaries (`keepalived-rs -t` on the installed config, `-v`,
# `genhash-rs -r`), installs it again (the upgrade path of the maintainer scripts), purges it
# and checks that nothing is left. Needs root (dpkg); skips otherwise. Whatever happens, the
# package is purged at the end and an /etc/keepalived/keepalived.conf that was there before is
# put back.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
    echo "test-package.sh: not root: skipping the Debian package test" >&2
    exit 0
fi
command -v cargo-deb >/dev/null || cargo install cargo-deb --locked

pkg=keepalived-rs
target="${CARGO_TARGET_DIR:-$PWD/target}"
deb="$target/debian/$pkg-test.deb"
conf=/etc/keepalived/keepalived.conf
work=$(mktemp -d)
backup="$work/keepalived.conf.orig"

installed() { dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed"; }
present() { dpkg-query -W -f='${Status}' "$pkg" >/dev/null 2>&1 &&
    ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "not-installed"; }

cleanup() {
    local rc=$?
    if present; then
        dpkg --purge "$pkg" >/dev/null 2>&1 || echo "test-package.sh: could not purge $pkg" >&2
    fi
    if [ -e "$backup" ]; then
        mkdir -p "$(dirname "$conf")"
        mv -f "$backup" "$conf"
    fi
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT

fail() {
    echo "test-package.sh: FAIL: $*" >&2
    exit 1
}

# A package left by an interrupted run goes first; a configuration of someone else is kept
# aside (purging the package would delete the conffile).
if present; then
    dpkg --purge "$pkg" >/dev/null
fi
if [ -e "$conf" ]; then
    mv "$conf" "$backup"
fi

cargo build --release --locked -p keepalived-rs -p genhash -p keepalived-ctl
mkdir -p "$(dirname "$deb")"
CARGO_TARGET_DIR="$target" cargo deb -p keepalived-rs --no-build -o "$deb"

files=(
    /usr/sbin/keepalived-rs
    /usr/bin/genhash-rs
    /usr/sbin/keepalived-ctl
    "$conf"
    /usr/share/man/man8/keepalived-rs.8.gz
    /usr/share/man/man5/keepalived-rs.conf.5.gz
    /usr/share/man/man1/genhash-rs.1.gz
    /usr/share/man/man1/keepalived-ctl.1.gz
    /usr/share/dbus-1/system.d/keepalived-rs.conf
    /usr/share/doc/keepalived-rs/copyright
)
if [ -f packaging/keepalived-rs.service ]; then
    files+=(/usr/lib/systemd/system/keepalived-rs.service)
fi

# No systemd here (test machines run without it as init): the maintainer scripts must still
# succeed.
DEBIAN_FRONTEND=noninteractive dpkg -i --force-confdef --force-confold "$deb"
installed || fail "$pkg is not installed after dpkg -i"
for f in "${files[@]}"; do
    [ -e "$f" ] || fail "$f missing after dpkg -i"
done
dpkg-query -W -f='${Conffiles}\n' "$pkg" | grep -q "$conf" || fail "$conf is not a conffile"

/usr/sbin/keepalived-rs -t -f "$conf" || fail "the installed keepalived-rs -t rejects $conf"
version=$(/usr/sbin/keepalived-rs -v)
echo "$version" | grep -q "^keepalived-rs " || fail "keepalived-rs -v printed: $version"
/usr/bin/genhash-rs -r 2>&1 | grep -q "genhash" || fail "genhash-rs -r"
/usr/sbin/keepalived-ctl --version | grep -q "^keepalived-ctl " || fail "keepalived-ctl --version"
echo "installed: $(echo "$version" | head -1)"

# Installing again runs the maintainer scripts' upgrade path; a changed config is kept.
echo "! changed by test-package.sh" >> "$conf"
DEBIAN_FRONTEND=noninteractive dpkg -i --force-confdef --force-confold "$deb"
grep -q "changed by test-package.sh" "$conf" || fail "reinstalling replaced the changed $conf"

dpkg --purge "$pkg"
present && fail "$pkg still known to dpkg after --purge"
for f in "${files[@]}"; do
    [ ! -e "$f" ] || fail "$f left after dpkg --purge"
done
left=$(find /etc/systemd/system -name "$pkg.service" 2>/dev/null || true)
[ -z "$left" ] || fail "unit links left after purge: $left"
echo "test-package.sh: the Debian package installs, runs -t and -v, reinstalls and purges cleanly"
