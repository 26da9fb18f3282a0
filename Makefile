# Reply Desk. `make run` starts the server; `make test` sets up everything and runs the whole suite.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
APT_PACKAGES := chromium xvfb xdotool imagemagick trayer libnotify-bin dbus-x11 notification-daemon postgresql

.PHONY: run venv dev-venv deps test test-fast lint bench tray extension contract clean
TEST_PREREQS :=
# Part-specific targets (extension zips, the tray's venv, ...) live in fragments of their own.
-include mk/*.mk

run: venv
	$(PY) -m server run

venv: $(STAMP)
$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

dev-venv: $(DEV_STAMP)
$(DEV_STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@ $(STAMP)

# Debian packages the real-browser and tray tests need; skipped when already present.
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends $$missing; \
	fi

lint: dev-venv
	$(PY) -m ruff check server tray tests bench

test: deps dev-venv $(TEST_PREREQS) lint
	$(PY) -m pytest -q -p no:cacheprovider --durations=15 tests
	if [ -f ../shared/checks/contract.py ]; then $(PY) ../shared/checks/contract.py; fi

# The quick loop: lint, then the unit and API tiers (no browser, no separate processes): about a third of `make test`.
test-fast: dev-venv lint
	$(PY) -m pytest -q -p no:cacheprovider --durations=10 tests/unit tests/api

bench: deps dev-venv
	$(PY) bench/run_all.py $(ONLY)

tray: venv
	$(PY) -m tray

contract: venv
	$(PY) ../shared/checks/contract.py

clean:
	rm -rf $(VENV) dist .pytest_cache

# `make bench ONLY=tone` runs the matching benchmarks only (and leaves RESULTS.md alone).
