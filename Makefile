# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
# Python 3.13: the newest Lambda Python runtime that chalice 1.34 and every pinned dependency support here
# (chalice packages for the runtime matching the Python it runs on). pyenv's 3.13 when pyenv has one.
PYTHON ?= $(or $(shell pyenv root >/dev/null 2>&1 && ls -d "$$(pyenv root)"/versions/3.13.*/bin/python3.13 2>/dev/null | tail -1),python3.13)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SERVE ?= 1

.PHONY: install stack-deps browser-deps demo test lint unit integration contracts faults bench synth cost check deploy destroy secrets connect clean

$(STAMP): requirements.txt requirements-dev.txt
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.13 is needed: '$(PYTHON)' was not found (set PYTHON=...)"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' || { echo "Python 3.13 is needed (the Lambda runtime); '$(PYTHON)' is $$($(PYTHON) --version)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check "pip==24.3.1"
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP) stack-deps

stack-deps: $(STAMP)
	@if command -v java >/dev/null && java -version >/dev/null 2>&1; then \
		java -version 2>&1 | head -1; \
	else \
		echo "WARNING: Java not found: moto's DynamoDB will stand in for DynamoDB Local (install Java 17 for the real one)"; \
	fi
	@command -v npm >/dev/null || echo "WARNING: npm not found: DynamoDB Local cannot be fetched unless it is cached already"
	$(PY) -m offline.stack --ensure

# The browser tests render emails, digests and action pages in Debian's chromium (no browser download).
CHROMIUM ?= /usr/bin/chromium
browser-deps:
	@if [ -x "$(CHROMIUM)" ]; then \
		$(CHROMIUM) --version 2>/dev/null | head -1; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		echo "Installing Debian's chromium for the browser tests (once)"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
		{ echo "Could not install chromium with apt-get: the browser tests need it"; exit 1; }; \
	elif command -v apt-get >/dev/null; then \
		echo "Chromium is needed for the browser tests: run 'sudo apt-get install chromium' (or set CHROMIUM=...)"; exit 1; \
	else \
		echo "Chromium is needed for the browser tests: install it and set CHROMIUM=/path/to/chromium"; exit 1; \
	fi
	@[ -f node_modules/axe-core/axe.min.js ] || npm ci --no-audit --no-fund --silent  # axe-core, pinned in package.json

demo: install
	$(PY) -m offline.demo $(if $(filter 0,$(SERVE)),--no-serve,) $(if $(LISTEN_CONFIG),--config $(LISTEN_CONFIG),)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

# One process per core (pytest-xdist; at most 4): the unit suite is CPU-bound (~19 s of CPU in one process).
# `make test` still runs every suite, the unit tests included, in one process.
unit: $(STAMP)
	$(PY) -m pytest -q -n auto --maxprocesses 4 tests/unit

integration: install
	$(PY) -m pytest -q tests/integration

# The fault matrix (issue 13) alone; `make test` runs it too and prints the same table and totals.
faults: install
	$(PY) -m pytest -q tests/faults

# Public labelled corpora for the triage figures, fetched once into the cache (offline/corpora.py).
# The tests do not need them, so a failed fetch is reported and skipped; make bench then names what is missing.
.PHONY: corpora
corpora: $(STAMP)
	-$(PY) -m offline.corpora --ensure

test: install browser-deps corpora lint
	CHROMIUM=$(CHROMIUM) $(PY) -m pytest -q

# Every connector over its network's own published payloads (chalicelib/networks/<network>/contract/README.md cites them).
contracts: install
	$(PY) -m pytest -q tests/contracts

bench: install browser-deps corpora
	CHROMIUM=$(CHROMIUM) $(PY) -m bench

cost: install
	$(PY) -m offline.cost

# One read-only pass of listen.yaml (or $$LISTEN_CONFIG, or CONFIG=path) against the real networks from this
# machine: what would have been alerted in the last 24 hours, per rule and network. No AWS; nothing is sent.
.PHONY: preview
preview: install
	$(PY) -m offline.preview $(CONFIG)

# Validates listen.yaml (or $$LISTEN_CONFIG, or CONFIG=path) as deploy and the Lambdas do; no AWS needed.
check: $(STAMP)
	$(PY) -m offline.check $(CONFIG)

synth: $(STAMP)
	$(PY) -m infra.synth

# Your own AWS account (see README "Deploy to your AWS account"): the first run guides, later runs deploy.
STAGE ?= prod
deploy: $(STAMP)
	$(PY) -m infra.deploy --stage $(STAGE) $(if $(YES),--yes,)

# Removes the stack but keeps the table (your mentions) unless DELETE_DATA=1 (you type the stage name to confirm).
destroy: $(STAMP)
	$(PY) -m infra.deploy --stage $(STAGE) --destroy $(if $(DELETE_DATA),--delete-data,)

# Adds missing secrets (network tokens, the signing key) to SSM as SecureStrings; never printed.
secrets: $(STAMP)
	$(PY) -m infra.secret_setup --stage $(STAGE)

# The owner's consent for a network that needs one (Google reviews, YouTube replies, Instagram, Facebook Page),
# on this machine through a loopback redirect; the credential goes to SSM as a SecureString, never printed.
connect: $(STAMP)
	$(PY) -m infra.connect --stage $(STAGE) --network "$(NETWORK)"

clean:
	rm -rf .local .pytest_cache .ruff_cache .hypothesis
