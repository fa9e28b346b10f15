# Northstar: the make targets are the interface; CI (.ci/run) runs the same ones.
#   make setup   virtualenv in .venv with the package and its dev tools (idempotent)
#   make run     the whole suite locally, without Docker (Ctrl-C stops it)
#   make test    the test suite (starts its own PostgreSQL and Kafka-protocol broker)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.DEFAULT_GOAL := help
.PHONY: help setup prometheus-tools run test lint format bench migrate clean

help:
	@echo "make setup    create $(VENV) and install northstar with dev tools (+ Prometheus as root)"
	@echo "make run      database, broker, migrations, services, demo data and traffic"
	@echo "make test     the test suite"
	@echo "make lint     ruff check, ruff format --check, mypy"
	@echo "make format   ruff format and ruff check --fix"
	@echo "make bench    the benchmarks"
	@echo "make migrate  alembic upgrade head on NORTHSTAR_DATABASE_URL"
	@echo "make clean    remove caches, build output and devstack logs"

# Reinstall only when the dependency list changed; the stamp lives inside the venv.
setup: $(VENV)/.installed prometheus-tools

# The observability tests run the real `prometheus` and `promtool` (Debian package
# `prometheus`). Installed here when we are root with apt; otherwise say how.
prometheus-tools:
	@if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Prometheus (apt-get install prometheus) for the observability tests"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y -qq --no-install-recommends prometheus >/dev/null 2>&1 || { \
			apt-get update -qq && apt-get install -y -qq --no-install-recommends prometheus; }; \
	else \
		echo "note: prometheus and promtool are not on PATH; 'make test' needs them." >&2; \
		echo "      install them with: sudo apt-get install -y prometheus" >&2; \
	fi

$(VENV)/.installed: pyproject.toml
	@py=$(PYTHON); test -x $(BIN)/python && py=$(BIN)/python; \
	$$py -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
		echo "Northstar needs Python 3.11 or newer; '$$py' is $$($$py --version 2>&1)." >&2; \
		echo "Install one (apt-get install python3.11 python3.11-venv) and run:" >&2; \
		echo "  rm -rf $(VENV) && make setup PYTHON=python3.11" >&2; \
		exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { \
		echo "Creating the virtualenv failed; on Debian/Ubuntu: apt-get install python3-venv" >&2; \
		exit 1; }
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

run: setup
	$(BIN)/python -m devstack.run

test: setup
	$(BIN)/pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: setup
	$(BIN)/python -m bench

migrate: setup
	@test -n "$$NORTHSTAR_DATABASE_URL" || { echo "set NORTHSTAR_DATABASE_URL first" >&2; exit 1; }
	$(BIN)/python -m alembic upgrade head

clean:
	rm -rf .pytest_cache .mypy_cache .ruff_cache .hypothesis .devstack build
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
