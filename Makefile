# Build, install and uninstall keepalived-rs.
#
#   make                      build the release binaries (cargo)
#   sudo make install         install under PREFIX (default /usr/local)
#   sudo make uninstall       remove what install put there (a modified config is kept)
#
# Variables: PREFIX, DESTDIR (staging root, for packagers), SYSCONFDIR (default /etc),
# UNITDIR (systemd units), CARGO_TARGET_DIR, BIN_DIR (where the built binaries are; default
# $(CARGO_TARGET_DIR)/release). `make install` does not build: run `make` first as yourself.

PREFIX ?= /usr/local
DESTDIR ?=
SYSCONFDIR ?= /etc
SBINDIR ?= $(PREFIX)/sbin
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
UNITDIR ?= $(PREFIX)/lib/systemd/system
# The D-Bus policy (enable_dbus): where the system bus reads it whatever the PREFIX.
DBUSDIR ?= $(SYSCONFDIR)/dbus-1/system.d
CARGO ?= cargo
# Build options, e.g. CARGO_FLAGS="--no-default-features --features vrrp" (README, "Build options").
CARGO_FLAGS ?=
CARGO_TARGET_DIR ?= target
BIN_DIR ?= $(CARGO_TARGET_DIR)/release

CONF_DIR := $(SYSCONFDIR)/keepalived
CONF := $(CONF_DIR)/keepalived.conf
DEFAULT_CONF := packaging/keepalived.conf
UNIT := packaging/keepalived-rs.service
MAN8 := man/keepalived-rs.8
MAN5 := man/keepalived-rs.conf.5
MAN1 := man/genhash.1
MAN1_CTL := man/keepalived-ctl.1
DBUS_POLICY := packaging/dbus-keepalived-rs.conf

INSTALL ?= install

.PHONY: all build man install uninstall

all: build

build:
	$(CARGO) build --release --locked $(CARGO_FLAGS) -p keepalived-rs
	$(CARGO) build --release --locked -p genhash -p keepalived-ctl

# Regenerates man/ from the clap definitions and docs/man (the committed pages are checked by
# `cargo test -p xtask`).
man:
	$(CARGO) run --locked -p xtask -- man

install:
	@test -x "$(BIN_DIR)/keepalived-rs" -a -x "$(BIN_DIR)/genhash" -a -x "$(BIN_DIR)/keepalived-ctl" || \
	    { echo "make install: no binaries in $(BIN_DIR): run 'make' first" >&2; exit 1; }
	$(INSTALL) -d "$(DESTDIR)$(SBINDIR)" "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(CONF_DIR)" \
	    "$(DESTDIR)$(MANDIR)/man8" "$(DESTDIR)$(MANDIR)/man5" "$(DESTDIR)$(MANDIR)/man1" \
	    "$(DESTDIR)$(DBUSDIR)"
	$(INSTALL) -m 0755 "$(BIN_DIR)/keepalived-rs" "$(DESTDIR)$(SBINDIR)/keepalived-rs"
	$(INSTALL) -m 0755 "$(BIN_DIR)/genhash" "$(DESTDIR)$(BINDIR)/genhash"
	$(INSTALL) -m 0755 "$(BIN_DIR)/keepalived-ctl" "$(DESTDIR)$(SBINDIR)/keepalived-ctl"
	$(INSTALL) -m 0644 $(MAN8) "$(DESTDIR)$(MANDIR)/man8/keepalived-rs.8"
	$(INSTALL) -m 0644 $(MAN5) "$(DESTDIR)$(MANDIR)/man5/keepalived-rs.conf.5"
	$(INSTALL) -m 0644 $(MAN1) "$(DESTDIR)$(MANDIR)/man1/genhash.1"
	$(INSTALL) -m 0644 $(MAN1_CTL) "$(DESTDIR)$(MANDIR)/man1/keepalived-ctl.1"
	$(INSTALL) -m 0644 $(DBUS_POLICY) "$(DESTDIR)$(DBUSDIR)/keepalived-rs.conf"
	@if [ -e "$(DESTDIR)$(CONF)" ]; then \
	    echo "keeping the existing $(DESTDIR)$(CONF)"; \
	else \
	    echo "$(INSTALL) -m 0644 $(DEFAULT_CONF) $(DESTDIR)$(CONF)"; \
	    $(INSTALL) -m 0644 $(DEFAULT_CONF) "$(DESTDIR)$(CONF)"; \
	fi
	@if [ -f $(UNIT) ]; then \
	    $(INSTALL) -d "$(DESTDIR)$(UNITDIR)"; \
	    echo "$(UNIT) -> $(DESTDIR)$(UNITDIR)/keepalived-rs.service (ExecStart in $(SBINDIR))"; \
	    sed 's|/usr/sbin/keepalived-rs|$(SBINDIR)/keepalived-rs|g' $(UNIT) \
	        > "$(DESTDIR)$(UNITDIR)/keepalived-rs.service"; \
	    chmod 0644 "$(DESTDIR)$(UNITDIR)/keepalived-rs.service"; \
	    if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi; \
	fi

uninstall:
	rm -f "$(DESTDIR)$(SBINDIR)/keepalived-rs" "$(DESTDIR)$(BINDIR)/genhash" \
	    "$(DESTDIR)$(SBINDIR)/keepalived-ctl" "$(DESTDIR)$(MANDIR)/man1/keepalived-ctl.1" \
	    "$(DESTDIR)$(MANDIR)/man8/keepalived-rs.8" "$(DESTDIR)$(MANDIR)/man5/keepalived-rs.conf.5" \
	    "$(DESTDIR)$(MANDIR)/man1/genhash.1" "$(DESTDIR)$(UNITDIR)/keepalived-rs.service" \
	    "$(DESTDIR)$(DBUSDIR)/keepalived-rs.conf"
	@if [ -f "$(DESTDIR)$(CONF)" ] && cmp -s $(DEFAULT_CONF) "$(DESTDIR)$(CONF)"; then \
	    echo "rm -f $(DESTDIR)$(CONF)"; rm -f "$(DESTDIR)$(CONF)"; \
	    rmdir "$(DESTDIR)$(CONF_DIR)" 2>/dev/null || true; \
	elif [ -e "$(DESTDIR)$(CONF)" ]; then \
	    echo "keeping $(DESTDIR)$(CONF): it was modified"; \
	fi
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
