# The two commands: `make run` (demo portal on SQLite) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CHROMIUM_PATH ?= /usr/bin/chromium
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install install-dev browser lint migrate

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

# The demo runs on SQLite with tasks executed in-process (an explicit choice: no broker).
run: install
	DEBUG=true $(BIN)/python manage.py migrate --no-input
	DEBUG=true $(BIN)/python manage.py loaddemo
	@echo "Portal: http://$(HOST):$(PORT)/admin/   API docs: http://$(HOST):$(PORT)/admin/api/docs/"
	DEBUG=true CELERY_TASK_ALWAYS_EAGER=true $(BIN)/python manage.py runserver $(HOST):$(PORT)

test: install-dev browser
	$(BIN)/pytest

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Browser tests drive Debian's Chromium; install it when missing and we may.
browser:
	@if [ ! -x "$(CHROMIUM_PATH)" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
		else \
			echo "Chromium not found at $(CHROMIUM_PATH): run 'sudo apt-get install chromium' or set CHROMIUM_PATH"; exit 1; \
		fi; \
	fi
