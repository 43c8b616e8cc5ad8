# Two commands set seedbed up: `make up` serves the demo, `make test` checks everything.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
WORKSPACE ?= workspace
PORT ?= 8765

.PHONY: up test check bench install install-dev system-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[all]"

install-dev: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"

## up: create .venv, install seedbed with all extras, serve the demo workspace
up: install
	$(BIN)/seedbed up --demo --workspace $(WORKSPACE) --port $(PORT)

## system-deps: Debian packages the tests need (Chromium, PostgreSQL, Redis), installed only if missing
system-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

## test: install dev dependencies and system packages, then run the whole suite
test: install-dev system-deps
	@$(BIN)/python -m pytest $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: that is a failure." >&2; exit 1; fi; \
	exit $$status

check: install-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

bench: install-dev
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/data.py
	$(BIN)/python bench/profiling.py
	$(BIN)/python bench/tracking.py
	$(BIN)/python bench/runs_table.py
	$(BIN)/python bench/compute.py --ray
	$(BIN)/python bench/notebooks.py
	$(BIN)/python bench/pii.py
	$(BIN)/python bench/features.py
	$(BIN)/python bench/evaluation.py
	$(BIN)/python bench/serving.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache test-artifacts
