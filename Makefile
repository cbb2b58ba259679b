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
# Exercise seconds per wall-clock second of the live exercise `make demo` runs.
SPEED ?= 5
# The first nation's web page (the others follow: 8000, 8001, 8002).
PORT ?= 8000

.PHONY: setup demo test lint typecheck unit bench clean

setup: $(PY_STAMP) $(NODE_STAMP) $(CHROMIUM) $(ASTERIX_DECODER_STAMP)

$(PY_STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { apt-get update -qq && apt-get install -y -qq python3 python3-venv; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip 'setuptools>=77' wheel
	$(BIN)/pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $@

$(ASTERIX_DECODER_STAMP): $(PY_STAMP)
	@{ command -v g++ >/dev/null && test -e /usr/include/expat.h && \
	  $(PYTHON) -c 'import sysconfig, os, sys; sys.exit(not os.path.exists(sysconfig.get_paths()["include"] + "/Python.h"))'; } || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq g++ libexpat1-dev python3-dev; }
	@test -x $(ASTERIX_DECODER_VENV)/bin/python || $(PYTHON) -m venv $(ASTERIX_DECODER_VENV)
	$(ASTERIX_DECODER_VENV)/bin/pip install -q --disable-pip-version-check 'asterix_decoder==0.7.11'
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { apt-get update -qq && apt-get install -y -qq nodejs npm; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

# The allied network live on this machine: a NATS server with an account per nation,
# one node process per nation serving its own nation's picture (addresses and accounts
# are printed), the simulated sensors on the bus; the run's outputs in $(OUT) when it
# ends (Ctrl-C) and `airpicture evaluate $(OUT)` scores them.
demo: setup
	$(BIN)/airpicture exercise $(SCENARIO) --out $(OUT) --speed $(SPEED) --port $(PORT)

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: setup
	$(BIN)/mypy

unit: setup
	$(BIN)/pytest -n 2 -q --durations=25

test: lint typecheck unit

bench: setup
	$(BIN)/python bench/simulator.py
	$(BIN)/python bench/metrics.py
	$(BIN)/python bench/tracker.py
	$(BIN)/python bench/network.py
	$(BIN)/python bench/exercise.py
	$(BIN)/python bench/nats_links.py
	$(BIN)/python bench/interop_fuzz.py
	$(BIN)/python bench/threat.py
	$(BIN)/python bench/web.py

clean:
	rm -rf $(VENV) $(ASTERIX_DECODER_VENV) node_modules out bench/results .mypy_cache .ruff_cache .pytest_cache
