# Everything a fresh machine needs, from nothing: `make demo`, `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
# CroatiaControl's asterix_decoder, the independent check of the ASTERIX codecs (tests
# only). It installs under the import name `asterix`, as libasterix does: its own venv.
ASTERIX_DECODER_VENV := .venv-asterix-decoder
ASTERIX_DECODER_STAMP := $(ASTERIX_DECODER_VENV)/.installed
# Browser tests drive Debian's Chromium (never a browser downloaded by a tool).
CHROMIUM ?= /usr/bin/chromium
SCENARIO ?= scenarios/pacific-shield.yaml
OUT ?= out/demo
# Scenario seconds per wall-clock second of the live picture `make demo` serves.
SPEED ?= 5

.PHONY: setup demo test lint typecheck unit bench clean

setup: $(PY_STAMP) $(NODE_STAMP) $(CHROMIUM) $(ASTERIX_DECODER_STAMP)

$(PY_STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { apt-get update -qq && apt-get install -y -qq python3 python3-venv; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $@

$(ASTERIX_DECODER_STAMP): $(PY_STAMP)
	@test -x $(ASTERIX_DECODER_VENV)/bin/python || $(PYTHON) -m venv $(ASTERIX_DECODER_VENV)
	$(ASTERIX_DECODER_VENV)/bin/pip install -q --disable-pip-version-check 'asterix_decoder==0.7.11'
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { apt-get update -qq && apt-get install -y -qq nodejs npm; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

# The whole job (outputs and report in $(OUT)), then the live picture of every
# nation at http://127.0.0.1:8000 until Ctrl-C (accounts are printed at start).
demo: setup
	$(BIN)/airpicture run $(SCENARIO) --out $(OUT)
	$(BIN)/airpicture serve $(SCENARIO) --speed $(SPEED)

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: setup
	$(BIN)/mypy

unit: setup
	$(BIN)/pytest -n 2 -q

test: lint typecheck unit

bench: setup
	$(BIN)/python bench/simulator.py
	$(BIN)/python bench/metrics.py
	$(BIN)/python bench/tracker.py
	$(BIN)/python bench/network.py
	$(BIN)/python bench/threat.py
	$(BIN)/python bench/web.py

clean:
	rm -rf $(VENV) $(ASTERIX_DECODER_VENV) node_modules out bench/results .mypy_cache .ruff_cache .pytest_cache
