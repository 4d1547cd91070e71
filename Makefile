# Two commands: `make run` starts the studio on embedded defaults; `make test` runs every test.
# Everything they need is installed here, from a fresh clone, with no manual step.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000
SERVING_PORT ?= $(shell expr $(PORT) + 1)
# Published models answer only callers holding their deployment's key; `make run SERVING_REQUIRE_KEYS=0` turns
# that off.
SERVING_REQUIRE_KEYS ?= 1
DEMO_CSV := examples/data/credit_default.csv

.PHONY: deploy-tools jdbc-drivers run test lint test-studio-postgres install demo-data migrate clean frontend test-frontend chromium

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(STAMP)

# Spark's JDBC drivers come from Debian (pipelines/engines.py puts the jars on Spark's class path); `make test`
# installs them only when missing.
jdbc-drivers:
	@if [ ! -f /usr/share/java/postgresql.jar ] || [ ! -f /usr/share/java/mariadb-java-client.jar ]; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y \
			libpostgresql-jdbc-java libmariadb-java; \
	fi

# docker/'s checks and topology test: a real compose implementation (Debian's docker-compose, for
# `docker-compose config`), kubectl (`kubectl kustomize` builds the k8s overlays; from the machine's apt sources)
# and nginx (the load balancer in front of the serving replicas), only when missing.
deploy-tools:
	@if ! command -v docker-compose >/dev/null || ! command -v kubectl >/dev/null || [ ! -x /usr/sbin/nginx ]; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y --no-install-recommends \
			docker-compose nginx-light kubectl; \
	fi

$(DEMO_CSV): $(STAMP) operators/library/sample_data.py
	$(BIN)/python examples/make_demo_data.py $(DEMO_CSV)

demo-data: $(DEMO_CSV)

migrate: install
	$(BIN)/python manage.py migrate --noinput

# Web (uvicorn), the run worker (huey), the scheduler and the model server, declared in supervisord.conf: supervisord
# restarts a process that dies alone, the others go on. The demo admin and project are created on the first
# run. SIGTERM or Ctrl-C stops them all.
RUN_DIR = $(abspath $(or $(STUDIO_DATA_DIR),var))

run: install demo-data migrate frontend
	$(BIN)/python manage.py studio_demo
	@echo "Studio on http://$(HOST):$(PORT)/  (admin: /admin/, API docs: /api/docs/, health: /api/health)"
	@echo "Published models on http://$(HOST):$(SERVING_PORT)/v2/models/<name>/infer"
	mkdir -p $(RUN_DIR)
	STUDIO_HOST=$(HOST) STUDIO_PORT=$(PORT) SERVING_PORT=$(SERVING_PORT) SERVING_URL=http://$(HOST):$(SERVING_PORT) \
		SERVING_REQUIRE_KEYS=$(SERVING_REQUIRE_KEYS) STUDIO_RUN_DIR=$(RUN_DIR) exec $(BIN)/supervisord -c supervisord.conf

# Each pytest pass runs in two processes (pytest-xdist; the machine CI gives it has two cores, and much of the suite
# waits on subprocesses: live studios, Spark, serving replicas). --dist loadgroup sends one test at a time to the
# worker with the least left, except the Spark suite (tests/spark/), one group that one worker runs, so one
# local[2] SparkSession serves it instead of two fighting for the cores (tests/conftest.py,
# pytest_xdist_make_scheduler). Each worker has its own test database (pytest-django's _gw0 / _gw1 suffix) and
# its own queue and channel names (tests/worker_names.py); the live tests name their own with a uuid.
XDIST := -n 2 --dist loadgroup

# The shared registry lock is a PostgreSQL advisory lock: its test runs in the PostgreSQL pass only (never skipped).
# Each pytest pass ends with its slowest tests (--durations), so the suite's time is watched where it is spent.
test: lint install demo-data frontend jdbc-drivers deploy-tools
	$(BIN)/python -m pytest $(XDIST) --durations=60 --ignore tests/studio/test_shared_registry_lock.py
	$(MAKE) test-studio-postgres
	$(MAKE) test-frontend

# The studio suite again on PostgreSQL + Redis (RedisHuey, channels-redis). The database name and the Redis
# key prefixes carry this shell's pid, so concurrent runs do not collide (and each xdist worker adds its id to the
# prefixes); pytest-django creates and drops test_<name>_gw0 and _gw1, and the live tests create and drop
# databases of their own.
# The rule for what runs twice: every studio test that reaches the session's database or broker, however
# plainly (the ORM, a live studio's web and worker), runs again here. Only a test marked backend_independent is
# left out: one whose assertions cannot change with the backend, because it uses no database or queue at all
# (cron arithmetic) or its subprocesses are given theirs (`make run`'s embedded defaults, the settings checks, the
# schedulers' race on a PostgreSQL of its own, the 500 MB upload on an embedded studio). tests/conftest.py
# refuses the marker on a test that uses pytest-django's database.
test-studio-postgres: install demo-data
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/studio_backend_$$$$ REDIS_URL=redis://127.0.0.1:6379/7 \
		STUDIO_QUEUE_NAME=studio_backend_$$$$ STUDIO_CHANNEL_PREFIX=studio_backend_$$$$ \
		$(BIN)/python -m pytest $(XDIST) --durations=20 tests/studio -m "not backend_independent"

# The canvas (frontend/): npm ci when the lock file changes, a production build when a source is newer than it.
FRONTEND_STAMP := frontend/node_modules/.installed
FRONTEND_SRC   := $(shell find frontend/src -type f 2>/dev/null) frontend/index.html frontend/vite.config.ts \
                  frontend/tsconfig.json frontend/package-lock.json

$(FRONTEND_STAMP): frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund
	touch $@

frontend/dist/index.html: $(FRONTEND_STAMP) $(FRONTEND_SRC)
	cd frontend && npm run build

frontend: frontend/dist/index.html

# The canvas's TypeScript types of the API, generated from the OpenAPI schema; run after changing the API.
api-types: install $(FRONTEND_STAMP)
	mkdir -p var && $(BIN)/python manage.py spectacular --file var/openapi.yaml
	cd frontend && npm run api-types

# Lint first in `make test`, the cheapest check: ruff over the Python (pyproject.toml [tool.ruff]: pyflakes, bugbear,
# complexity <= 15), then tsc and eslint over the canvas (frontend/eslint.config.js: the rules of hooks, components
# of at most 200 lines). It needs the venv and the canvas's node_modules, not a build. Fix what they find instead of
# silencing it.
lint: install $(FRONTEND_STAMP)
	$(BIN)/ruff check .
	cd frontend && npx tsc --noEmit -p tsconfig.json
	cd frontend && npx eslint .

# Browser tests drive Debian's Chromium (Playwright's own browser download does not work here).
chromium:
	test -x /usr/bin/chromium || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium)

test-frontend: install demo-data frontend chromium
	cd frontend && npx vitest run && npx playwright test

clean:
	rm -rf $(VENV) var .artifacts examples/data frontend/node_modules frontend/dist
