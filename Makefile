# Two commands matter: `make run` (the main job on the embedded default) and `make test` (every test).
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test check lint typecheck unit bench cards reliability clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

node_modules/.bin/azurite-table: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

## The main job on the embedded default: real catalog history replayed through the watch cycle (SQLite state).
run: $(STAMP)
	$(PY) -m shared demo

## Every test: lint, types, unit, functional, integration (Azurite started by the test session).
test: $(STAMP) node_modules/.bin/azurite-table lint typecheck
	$(PY) -m pytest

## The fast lane, under a minute: lint, types, unit and functional tests without Azurite or Chromium (docs/testing.md).
check: $(STAMP) lint typecheck
	$(PY) -m pytest tests/unit tests/functional -q -m "not azurite and not chromium"

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
