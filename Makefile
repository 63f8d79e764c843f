# The two commands: `make run` (demo portal on SQLite) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CHROMIUM_PATH ?= /usr/bin/chromium
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run serve test bench install install-dev browser wrk lint migrate screenshots

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

# The demo runs on SQLite with tasks executed in-process (an explicit choice: no broker)
# with fakes on loopback: a PTT Pro server (automatic site provisioning), the entitlement
# back end (the license pool), and Snom SRAPS, Gigaset GRAPE and Yealink YMCS (the ZTP
# card; the API keys to enter there are the ones given to the fakes here).
FAKE_PTT_PORT ?= 8081
FAKE_LICENSES_PORT ?= 8082
FAKE_SRAPS_PORT ?= 8083
FAKE_YMCS_PORT ?= 8084
FAKE_GRAPE_PORT ?= 8085
DEMO_ENV := DEBUG=true CELERY_TASK_ALWAYS_EAGER=true \
	PTT_SERVERS='{"demo-ptt": {"url": "http://127.0.0.1:$(FAKE_PTT_PORT)", "api_key": "demo-key"}}' \
	LICENSE_BACKEND=http LICENSE_BACKEND_URL=http://127.0.0.1:$(FAKE_LICENSES_PORT) \
	LICENSE_BACKEND_TOKEN=demo-token \
	ZTP_SNOM_API_URL=http://127.0.0.1:$(FAKE_SRAPS_PORT)/api/v1 \
	ZTP_GIGASET_API_URL=http://127.0.0.1:$(FAKE_GRAPE_PORT)/api/v1 \
	ZTP_YEALINK_API_URL=http://127.0.0.1:$(FAKE_YMCS_PORT)

run: install
	$(DEMO_ENV) $(BIN)/python manage.py migrate --no-input
	@$(DEMO_ENV) $(BIN)/python manage.py run_fake_ptt --port $(FAKE_PTT_PORT) --api-key demo-key \
		--department "North Warehouse" --department "South Store" > $(VENV)/fake-ptt.log 2>&1 & \
	ptt=$$!; \
	$(DEMO_ENV) $(BIN)/python manage.py run_fake_entitlements --port $(FAKE_LICENSES_PORT) \
		--token demo-token --account demo --seed > $(VENV)/fake-licenses.log 2>&1 & \
	licenses=$$!; \
	$(DEMO_ENV) $(BIN)/python manage.py run_fake_sraps --port $(FAKE_SRAPS_PORT) \
		--key-id demo-sraps-key --secret demo-sraps-secret > $(VENV)/fake-sraps.log 2>&1 & \
	sraps=$$!; \
	$(DEMO_ENV) $(BIN)/python manage.py run_fake_sraps --grape --port $(FAKE_GRAPE_PORT) \
		--key-id demo-grape-key --secret demo-grape-secret > $(VENV)/fake-grape.log 2>&1 & \
	grape=$$!; \
	$(DEMO_ENV) $(BIN)/python manage.py run_fake_ymcs --port $(FAKE_YMCS_PORT) \
		--client-id demo-ymcs-client --secret demo-ymcs-secret > $(VENV)/fake-ymcs.log 2>&1 & \
	ymcs=$$!; \
	trap 'kill $$ptt $$licenses $$sraps $$grape $$ymcs 2>/dev/null' EXIT INT TERM; \
	sleep 1; \
	$(DEMO_ENV) $(BIN)/python manage.py loaddemo && \
	echo "Portal: http://$(HOST):$(PORT)/admin/   API docs: http://$(HOST):$(PORT)/admin/api/docs/" && \
	$(DEMO_ENV) $(MAKE) --no-print-directory serve

# Serve the portal, the APIs and the device endpoints with the settings in the environment
# (make run calls it with the demo's), as production does: config/gunicorn.py. Threads per
# process so devices are answered while others wait on the database; WORKERS processes.
# Static files come from whitenoise.
WORKERS ?= 2
THREADS ?= 8
serve: install
	$(BIN)/gunicorn config.wsgi --config config/gunicorn.py --bind $(HOST):$(PORT) \
		--workers $(WORKERS) --threads $(THREADS) --graceful-timeout 5

# The whole suite in parallel, one process per core (at most 4): each has its own test
# database, data folder and Redis databases (tests/settings.py). Browser and server tests
# share the run with the rest rather than waiting for it, which keeps both cores busy.
test: install-dev browser
	$(BIN)/pytest -n auto --maxprocesses 4 --dist worksteal

# The README's screens: five pages at a phone's width (390 px) and a laptop's (1366 px),
# taken by the every-page browser test as a Super-Admin, into docs/screens/.
SCREENS_DIR ?= docs/screens
screenshots: install-dev browser
	SCREENS_DIR=$(SCREENS_DIR) $(BIN)/pytest -q -p no:randomly tests/browser/test_every_page.py -k super_admin

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The device endpoints under load, against a bare view (bench/device_endpoints.py): needs
# PostgreSQL and Redis on 127.0.0.1, as CI has them.
bench: install-dev wrk
	$(BIN)/python bench/device_endpoints.py

# The load generator of `make bench`: Debian's wrk, installed when missing and we may.
wrk:
	@if ! command -v wrk >/dev/null; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; \
		else \
			echo "wrk not found: run 'sudo apt-get install wrk'"; exit 1; \
		fi; \
	fi

# Browser tests drive Debian's Chromium; install it when missing and we may.
browser:
	@if [ ! -x "$(CHROMIUM_PATH)" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
		else \
			echo "Chromium not found at $(CHROMIUM_PATH): run 'sudo apt-get install chromium' or set CHROMIUM_PATH"; exit 1; \
		fi; \
	fi
