# Two commands: `make run` starts the studio on embedded defaults; `make test` runs every test.
# Everything they need is installed here, from a fresh clone, with no manual step.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000
DEMO_CSV := examples/data/credit_default.csv

.PHONY: run test install demo-data migrate clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(STAMP)

$(DEMO_CSV): $(STAMP) operators/library/sample_data.py
	$(BIN)/python examples/make_demo_data.py $(DEMO_CSV)

demo-data: $(DEMO_CSV)

migrate: install
	$(BIN)/python manage.py migrate --noinput

run: install demo-data migrate
	@echo "Studio on http://$(HOST):$(PORT)/  (admin: /admin/, API docs: /api/docs/, health: /api/health)"
	$(BIN)/daphne -b $(HOST) -p $(PORT) studio.asgi:application

test: install demo-data
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) var .artifacts examples/data
