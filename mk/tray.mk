# The tray app. Its full backend (gtk: real menu, notifications) needs Debian's python3-gi, which pip cannot
# build, so the tray gets a venv of its own made from the system python with --system-site-packages.
# `make tray` runs it there when it exists, else in .venv with the xorg backend (no menu; notify-send).
APT_PACKAGES += python3-gi gir1.2-gtk-3.0 python3-venv
TRAY_VENV := .venv-tray
TRAY_PY := $(TRAY_VENV)/bin/python
TRAY_STAMP := $(TRAY_VENV)/.installed
SYSTEM_PYTHON ?= /usr/bin/python3

.PHONY: tray-venv
TEST_PREREQS += tray-venv

tray-venv: $(TRAY_STAMP)
$(TRAY_STAMP): requirements.txt mk/tray.mk
	@if $(SYSTEM_PYTHON) -c 'import gi; gi.require_version("Gtk", "3.0")' 2>/dev/null; then \
	  test -x $(TRAY_PY) || $(SYSTEM_PYTHON) -m venv --system-site-packages $(TRAY_VENV); \
	  $(TRAY_PY) -m pip install -q --disable-pip-version-check -r requirements.txt && touch $@; \
	else echo "tray: $(SYSTEM_PYTHON) has no python3-gi; the tray will use the xorg backend from .venv"; fi

tray: tray-venv
tray: private PY = $(if $(wildcard $(TRAY_STAMP)),$(TRAY_PY),$(VENV)/bin/python)
