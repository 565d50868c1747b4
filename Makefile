# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SERVE ?= 1

.PHONY: install stack-deps demo test lint unit integration bench synth cost clean

$(STAMP): requirements.txt requirements-dev.txt
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is needed: '$(PYTHON)' was not found (set PYTHON=...)"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || { echo "Python 3.11 is needed (the Lambda runtime); '$(PYTHON)' is $$($(PYTHON) --version)"; exit 1; }
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

demo: install
	$(PY) -m offline.demo $(if $(filter 0,$(SERVE)),--no-serve,)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

unit: $(STAMP)
	$(PY) -m pytest -q tests/unit

integration: install
	$(PY) -m pytest -q tests/integration

test: install lint
	$(PY) -m pytest -q

bench: install
	$(PY) -m bench

cost: install
	$(PY) -m offline.cost

synth: $(STAMP)
	$(PY) -m infra.synth

clean:
	rm -rf .local .pytest_cache .ruff_cache .hypothesis
