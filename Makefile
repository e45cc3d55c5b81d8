# slotgraph: `make run` starts the service, `make test` runs the tests. Both set up
# everything they need (virtualenv, dependencies, embedded PostgreSQL) on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.DEFAULT_GOAL := help
.PHONY: help install run test check format format-check lint types migrate schema schema-print bench clean

help:
	@echo "make run      start the service with demo data on http://127.0.0.1:8000/graphql"
	@echo "make test     run the test suite against a real (embedded) PostgreSQL"
	@echo "make check    format check + lint + types + tests"
	@echo "make migrate  apply database migrations (DATABASE_URL, or the embedded server)"
	@echo "make schema   write the printed schema to schema.lock.graphql"
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

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

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

bench: install
	$(BIN)/python -m bench.registry
	$(BIN)/python -m bench.cluster

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
