# Two commands for a new user: `make demo` and `make test`. Both run `make setup`
# first, which is idempotent: a second run only checks and takes seconds.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := $(CURDIR)/.venv
NODE_BIN := $(CURDIR)/node_modules/.bin
export SOLCX_BINARY_PATH := $(CURDIR)/.solcx
export PATH := $(VENV)/bin:$(NODE_BIN):$(PATH)

.PHONY: help setup setup-debian compile demo test lint gas bench-quick clean

help:
	@echo "make demo   set up, start the local chain and IPFS node, run the main job"
	@echo "make test   set up, then run the whole test suite (starts its own chain and IPFS node)"
	@echo "make setup  only the set-up: .venv, node_modules, solc front, Debian packages"
	@echo "make lint   static analysis: ruff (Python format and lint), mypy (Python types), slither (contracts)"
	@echo "make gas    gas report of the contracts (reports/gas.json)"
	@echo "make bench-quick  reduced benchmark vs Flower and centralized (reports/bench_quick.json, ~2 min)"
	@echo "make clean  remove build outputs (keeps .venv and node_modules)"

setup: setup-debian $(CURDIR)/node_modules/.setup-stamp $(VENV)/.setup-stamp $(VENV)/.hook-stamp $(SOLCX_BINARY_PATH)/.setup-stamp
	@echo "setup: done (python $$($(VENV)/bin/python --version | cut -d' ' -f2), node $$($(NODE_BIN)/node --version), anvil $$($(NODE_BIN)/anvil --version | head -n1 | awk '{print $$3}'), solc $$($(SOLCX_BINARY_PATH)/solc-v* --version | tail -n1 | cut -d' ' -f2))"

setup-debian:
	@tools/setup-debian.sh

$(CURDIR)/node_modules/.setup-stamp: package.json package-lock.json
	@echo "node: npm ci (anvil, forge, cast, solc-js, OpenZeppelin, Node 22, IPFS node packages)"
	@npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(VENV)/.setup-stamp: requirements.lock requirements-nodeps.txt pyproject.toml
	@echo "python: creating .venv and installing requirements.lock"
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	@# This machine's pip config names local indexes that may be absent: drop that noise, keep errors.
	@# Byte-compiled here on purpose (no --no-compile): these machines set PYTHONDONTWRITEBYTECODE=1, so a
	@# module left uncompiled is compiled again by every process that imports it (TensorFlow: 15 s each).
	@set -o pipefail; $(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.lock 2>&1 | { grep -v "is neither a file nor a directory" || true; }
	@set -o pipefail; $(VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps -r requirements-nodeps.txt 2>&1 | { grep -v "is neither a file nor a directory" || true; }
	@set -o pipefail; $(VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps -e . 2>&1 | { grep -v "is neither a file nor a directory" || true; }
	@touch $@

# The venv alone (activated or not) then finds the solc front and anvil, as `brownie` users expect.
$(VENV)/.hook-stamp: tools/venv/dfl_venv.py tools/venv/install.sh $(VENV)/.setup-stamp
	@tools/venv/install.sh $(VENV)
	@touch $@

$(SOLCX_BINARY_PATH)/.setup-stamp: tools/solc/install.sh tools/solc/solc-front.js $(CURDIR)/node_modules/.setup-stamp
	@tools/solc/install.sh $(SOLCX_BINARY_PATH)
	@touch $@

# Brownie recompiles only what changed; the artifacts in build/ feed the off-chain code.
compile: setup
	@out=$$(brownie compile 2>&1) || { echo "$$out"; exit 1; }; echo "$$out" | tail -n 1

demo: compile
	@dfl demo $(DEMO_ARGS)

test: compile
	@tools/run-tests.sh

lint: compile
	@tools/lint.sh

# Gas per operation (table + reports/gas.json), finalize at 10/100/1000 trainers, claims with 1000 leaves.
gas: compile
	@tools/test-contracts.sh --gas

# Flower gets its own virtualenv (bench/.venv-flower), created on first use.
bench-quick: compile
	@bench/quick.sh

clean:
	rm -rf build reports/*.tmp .pytest_cache .hypothesis crytic-export
