# slotgraph: `make run` starts the service, `make test` runs the tests. Both set up
# everything they need (virtualenv, dependencies, embedded PostgreSQL) on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.DEFAULT_GOAL := help
.PHONY: help install run test check format format-check lint types migrate schema schema-print bench clean \
	schema-check changelog changelog-draft browser-deps

help:
	@echo "make run      start the service with demo data on http://127.0.0.1:8000/graphql"
	@echo "make test     run the test suite against a real (embedded) PostgreSQL"
	@echo "make check    format check + lint + types + tests"
	@echo "make migrate  apply database migrations (DATABASE_URL, or the embedded server)"
	@echo "make schema   write the printed schema to schema.lock.graphql"
	@echo "make schema-check [BASE=ref]  fail on breaking schema changes since BASE"
	@echo "make changelog  compile changes/ into CHANGES.md (at release)"
	@echo "make format   format the code"
	@echo "make bench    run the benchmarks (never part of the tests)"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
		|| { echo "slotgraph needs Python 3.11 or newer (set PYTHON=python3.x)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/python -m app serve --demo

test: install browser-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The playground test drives Debian's chromium through chromium-driver. As root with apt-get
# (CI, a fresh container) they are installed here; elsewhere the test says what to install.
browser-deps:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing chromium and chromium-driver for the playground test"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else \
		echo "note: the playground test needs Debian's chromium and chromium-driver: sudo apt-get install chromium chromium-driver"; \
	fi

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

format-check: install
	$(BIN)/ruff format --check .

lint: install
	$(BIN)/ruff check .

types: install
	$(BIN)/mypy

check: format-check lint types test

migrate: install
	$(BIN)/python -m app migrate

schema: install
	$(BIN)/python -m app schema write

schema-print: install
	@$(BIN)/python -m app schema print

# Without BASE: the latest release tag, else origin/main (unless it is HEAD), else HEAD~ (see app/schema_tools.py).
schema-check: install
	$(BIN)/python -m app schema check $(if $(BASE),--base '$(BASE)')

# At release: compiles changes/ into CHANGES.md under the package version, then removes the
# fragments (towncrier stages both with git).
changelog: install
	$(BIN)/towncrier build --yes --version "$$($(BIN)/python -c 'import importlib.metadata as m; print(m.version("slotgraph"))')"

changelog-draft: install
	@$(BIN)/towncrier build --draft --version "$$($(BIN)/python -c 'import importlib.metadata as m; print(m.version("slotgraph"))')"

# About 6 minutes (plus about 2 the first time, to build the cluster data set);
# BENCH_ARGS=--quick is a smoke run of about 3. BENCH_ARGS goes to both benchmarks,
# BENCH_CLUSTER_ARGS to bench.cluster only. wrk drives the load: as root with apt-get it is
# installed here; without it the benchmarks fall back to an httpx loop and say so.
bench: install
	@if command -v wrk >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing wrk for the benchmarks"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; \
	else \
		echo "note: wrk is not installed (sudo apt-get install wrk); the benchmarks use a slower httpx loop"; \
	fi
	$(BIN)/python -m bench.registry $(BENCH_ARGS)
	$(BIN)/python -m bench.cluster $(BENCH_ARGS) $(BENCH_CLUSTER_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
