# Two commands matter: `make run` (the main job on the embedded default) and `make test` (every test).
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test check lint typecheck unit bench cards reliability clean lock

# Headless Chromium renders the Teams cards and clicks the status page (tests/e2e): Debian's package, installed when
# missing and apt-get can (root, or sudo without a password); otherwise stop and name the fix.
ENSURE_CHROMIUM = command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
	|| command -v google-chrome >/dev/null 2>&1 || { \
	  SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO="sudo -n"; \
	  if command -v apt-get >/dev/null 2>&1 && $$SUDO true 2>/dev/null; then \
	    echo "chromium is missing: installing Debian's chromium (apt-get install chromium)"; \
	    $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	  fi; \
	  command -v chromium >/dev/null 2>&1 || { echo "chromium is required by the rendering tests and could not be installed here: run 'sudo apt-get install chromium' (Debian/Ubuntu), or put Chromium or Chrome on PATH as chromium" >&2; exit 2; }; }

# Python dependencies come from the hash-pinned lock files (make lock writes them from requirements*.txt).
$(STAMP): requirements.txt requirements-dev.txt requirements.lock requirements-dev.lock
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) is required (Python 3.11: the Functions runtime's version); or run make PYTHON=/path/to/python3.11" >&2; exit 2; }
	@for f in requirements.txt requirements-dev.txt; do lock=$${f%.txt}.lock; \
	  sed -e 's/#.*//' -e '/^-r/d' -e 's/[[:space:]]//g' -e '/^$$/d' $$f | tr 'A-Z_' 'a-z-' | while read -r pin; do \
	    tr 'A-Z_' 'a-z-' < $$lock | grep -q "^$$pin " || { echo "$$lock does not pin $$pin from $$f: run make lock" >&2; exit 1; }; \
	  done || exit 2; done
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.lock
	touch $(STAMP)

## Regenerate the lock files (every package, pinned with its hashes) after editing requirements*.txt.
## uv comes from requirements-dev.txt; installed on its own here, so a lock out of date never blocks its own fix.
lock:
	@test -x $(VENV)/bin/uv || { $(PYTHON) -m venv $(VENV) && $(PY) -m pip install --quiet --disable-pip-version-check "$$(grep -o '^uv==[^ ]*' requirements-dev.txt)"; }
	$(VENV)/bin/uv pip compile requirements.txt --generate-hashes --universal --python-version 3.11 --quiet -o requirements.lock
	$(VENV)/bin/uv pip compile requirements-dev.txt --generate-hashes --universal --python-version 3.11 --quiet -o requirements-dev.lock

node_modules/.bin/azurite-table: package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "npm is required (Azurite and the Teams card renderer run under node): install Node.js 20 with npm" >&2; exit 2; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

## The main job on the embedded default: real catalog history replayed through the watch cycle (SQLite state).
run: $(STAMP)
	$(PY) -m shared demo

## Every test: lint, types, unit, functional, integration (Azurite started by the test session).
test: $(STAMP) node_modules/.bin/azurite-table lint typecheck
	@$(ENSURE_CHROMIUM)
	$(PY) -m pytest

## The fast lane, under a minute: lint, types, unit and functional tests without Azurite or Chromium (docs/testing.md),
## on CHECK_WORKERS pytest-xdist workers (0: in this process).
CHECK_WORKERS ?= 2
check: $(STAMP) lint typecheck
	$(PY) -m pytest tests/unit tests/functional -q -m "not azurite and not chromium" -n $(CHECK_WORKERS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

unit: $(STAMP)
	$(PY) -m pytest tests/unit -q

## Render every message kind's Teams card in headless Chromium: docs/cards/*.png and results.json.
cards: $(STAMP) node_modules/.bin/azurite-table
	$(PY) scripts/render_cards.py --out docs/cards

## The fault and bad-input suites (tests/e2e, tests/fuzz), writing what held to docs/reliability.md.
reliability: $(STAMP) node_modules/.bin/azurite-table
	$(PY) -m pytest tests/e2e/test_pipeline_replay.py tests/fuzz -q --reliability-report docs/reliability.md

bench: $(STAMP)
	$(PY) scripts/benchmark.py --out docs/performance.md

clean:
	rm -rf $(VENV) node_modules .modelwatch .pytest_cache .mypy_cache .ruff_cache
