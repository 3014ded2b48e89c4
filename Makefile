# MesoClinic. `make run` serves the demo clinic; `make test` checks everything. See README.md.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
HOST ?= 127.0.0.1
PORT ?= 8000
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Benchmarks run on their own PostgreSQL database, seeded at scale on first use.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/mesoclinic_bench

.DEFAULT_GOAL := help
.PHONY: help install browser ocr setup run test test-fast lint format migrations-check messages bench ci clean requirements

help:
	@echo "make run        set everything up and serve the demo clinic on http://$(HOST):$(PORT)"
	@echo "make test       install and run the whole test suite (browser and worker tests included)"
	@echo "make test-fast  the suite without the browser and worker tests"
	@echo "make lint       ruff check and format check, migrations check"
	@echo "make bench      benchmarks on PostgreSQL at scale (BENCH_DATABASE_URL)"
	@echo "make requirements  recompile the pinned requirements from requirements*.in"

$(BIN)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -r requirements.txt -r requirements-dev.txt
	touch $@

# The pinned files are compiled from the short lists of direct dependencies in the .in files.
# `make requirements` after editing a .in file; `make requirements UPGRADE=1` to take new releases.
PIP_COMPILE = CUSTOM_COMPILE_COMMAND="make requirements" $(BIN)/pip-compile --quiet --strip-extras \
	--no-emit-index-url --no-emit-find-links $(if $(UPGRADE),--upgrade)
requirements: $(BIN)/.installed
	$(PIP_COMPILE) --output-file requirements.txt requirements.in
	$(PIP_COMPILE) --output-file requirements-dev.txt requirements-dev.in

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(BIN)/.installed node_modules/.installed

# Browser tests use Debian's Chromium; Playwright cannot download its own here.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "Installing Debian's chromium for the browser tests..."; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq --no-install-recommends chromium >/dev/null; }

# The PDF glyph test (tests/core/test_pdf_glyphs.py) draws PDF pages with poppler and reads them
# back with Tesseract and its Turkish data: what a person sees, not the text layer.
ocr:
	@{ command -v pdftoppm && command -v pdffonts && command -v tesseract \
		&& tesseract --list-langs 2>/dev/null | grep -qx tur; } >/dev/null 2>&1 || { \
		echo "Installing Debian's poppler-utils and Tesseract (with Turkish) for the PDF glyph test..."; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq --no-install-recommends \
			poppler-utils tesseract-ocr tesseract-ocr-eng tesseract-ocr-tur >/dev/null; }

setup: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_knowledge
	$(PY) manage.py seed_demo

run: setup
	@echo "Serving on http://$(HOST):$(PORT) with a Celery worker (and beat) on the embedded broker. Ctrl-C stops both."
	@DJANGO_DEBUG=1 $(BIN)/celery -A mesoclinic worker --beat --concurrency=1 --loglevel=WARNING \
		--without-gossip --without-mingle --without-heartbeat & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	DJANGO_DEBUG=1 $(PY) manage.py runserver $(HOST):$(PORT)

# The fast part runs on every core (pytest-xdist: one database per process); the browser and
# real-worker tests share one Celery broker and the machine's screen time, so they run alone.
FAST ?= not e2e and not worker
JOBS ?= auto
test: install browser ocr
	$(PY) -m pytest -n $(JOBS) -m "$(FAST)"
	$(PY) -m pytest -m "e2e or worker"

test-fast: install
	$(PY) -m pytest -n $(JOBS) -m "$(FAST)"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrations-check: install
	$(PY) manage.py makemigrations --check --dry-run

# After changing patient-facing text (templates, aftercare fixtures): refresh the catalogue,
# translate the new entries in mesoclinic/locale/tr/LC_MESSAGES/django.po, then compile.
messages: install
	$(PY) manage.py migrate --noinput -v0
	$(PY) manage.py load_knowledge -v0
	$(PY) manage.py aftercare_strings
	$(BIN)/ruff format --quiet mesoclinic/aftercare/fixture_strings.py
	$(PY) manage.py makemessages -l tr --ignore=".venv/*" --ignore="node_modules/*" --ignore="tests/*" --ignore="var/*"
	$(PY) manage.py compilemessages -l tr

# The load benchmark drives gunicorn with Debian's wrk, from its own process. Everything runs in
# production mode (DJANGO_DEBUG=0; run.py supplies a key, hosts and the collected static files).
bench: install
	@command -v wrk >/dev/null 2>&1 || { \
		echo "Installing Debian's wrk for the load benchmark..."; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq --no-install-recommends wrk >/dev/null; }
	@# The first run seeds ten years of a clinic chain here, and a tenth of it in $(BENCH_DATABASE_URL)_tenth
	@# (minutes: README, Benchmarks). BENCH_ONLY=scale compares only the two; BENCH_ONLY=patients runs one.
	DATABASE_URL=$(BENCH_DATABASE_URL) DJANGO_DEBUG=0 $(PY) tests/benchmarks/run.py $(BENCH_ONLY)

ci:
	.ci/run

clean:
	rm -rf $(VENV) node_modules var db.sqlite3* .pytest_cache .ruff_cache
