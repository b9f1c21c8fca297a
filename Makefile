# Réseau — every target is idempotent.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
AXE_VERSION := 4.10.3
AXE_DIR := .cache/axe-core
export DJANGO_SETTINGS_MODULE := reseau.settings
# Production fails closed (DEBUG off unless set on): every target here is for development.
# Set DJANGO_DEBUG=false in the shell to try the production settings locally.
export DJANGO_DEBUG ?= true

.PHONY: setup run test test-browser bench quality format demo clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3.11 -m venv $(VENV) || python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[dev]'
	touch $@

# axe-core (accessibility rules) from the npm registry, pinned; injected into pages by the browser tests.
$(AXE_DIR)/axe.min.js:
	mkdir -p $(AXE_DIR)
	cd $(AXE_DIR) && npm pack --silent axe-core@$(AXE_VERSION) >/dev/null && tar -xzf axe-core-$(AXE_VERSION).tgz --strip-components=1 package/axe.min.js && rm -f axe-core-$(AXE_VERSION).tgz

# Debian's chromium drives the browser tests (Playwright cannot download its own browser here).
/usr/bin/chromium:
	@if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; fi

setup: $(VENV)/.installed $(AXE_DIR)/axe.min.js /usr/bin/chromium

demo: $(VENV)/.installed
	$(PY) manage.py migrate --no-input -v 0
	$(PY) manage.py load_referentials
	$(PY) manage.py load_communes
	$(PY) manage.py load_demo

# The web server and a task worker (e-mails) together; Ctrl-C stops both.
run: demo
	trap 'kill 0' EXIT; $(PY) manage.py db_worker & $(PY) manage.py runserver 127.0.0.1:8000

# Tasks (e-mails) run inline in tests (DJANGO_TASKS_IMMEDIATE=true, set by reseau/pytest_plugin.py).
test: setup
	$(PY) manage.py makemigrations --check --dry-run -v 0
	$(VENV)/bin/pytest $(PYTEST_ARGS)

test-browser: setup
	$(VENV)/bin/pytest -m browser $(PYTEST_ARGS)

# Search at national scale (150 000 services) on PostgreSQL: builds the bench database once (~6 min),
# then times /recherche/ against data·inclusion's own search query, routing and the fixed cost of a page
# (~6 min); then SQLite, the embedded default, at one département's size (10 000 services) and at the
# national one (150 000), each built once in .cache/ (~30 s and ~2 min), search and routing; then live
# search in chromium on the demo data; then the data·inclusion import (scripts/bench_import.py, ~15 min):
# 150 000 services into a fresh SQLite file and a fresh PostgreSQL database (import_bench, dropped each
# run), imported then re-imported unchanged, and one département imported next to the demo, its pages
# timed before/after; then relevance on real-world services (precision of the first 10 results, both
# databases, ~1.5 min; scripts/bench_relevance.py), then insight (below). Results in
# scripts/bench_results.md, one section per run. BENCH_ARGS=--rebuild to rebuild the databases.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/reseau_bench
IMPORT_BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/import_bench
# Insight: one network with 1 000 000 referrals in its own database (built once, then reused), each
# insight page timed (~2 min).
INSIGHT_BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/insight_bench
# The bench times production settings (DEBUG off, set by the script): they need a site URL.
BENCH_SITE_URL ?= http://127.0.0.1:8000
bench: setup
	@if ! pg_isready -q -h 127.0.0.1 -p 5432; then \
	  pg_ctlcluster --skip-systemctl-redirect "$$(ls /etc/postgresql)" main start; \
	  for _ in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; \
	fi
	DATABASE_URL=$(BENCH_DATABASE_URL) DJANGO_DEBUG=false DJANGO_SITE_URL=$(BENCH_SITE_URL) \
	  $(PY) scripts/bench_search.py $(BENCH_ARGS)
	DJANGO_DEBUG=false DJANGO_SITE_URL=$(BENCH_SITE_URL) $(PY) scripts/bench_search.py --sqlite 10000 $(BENCH_ARGS)
	DJANGO_DEBUG=false DJANGO_SITE_URL=$(BENCH_SITE_URL) $(PY) scripts/bench_search.py --sqlite 150000 $(BENCH_ARGS)
	DJANGO_DEBUG=false DJANGO_SITE_URL=$(BENCH_SITE_URL) $(PY) scripts/bench_live_search.py $(filter --rebuild,$(BENCH_ARGS))
	DJANGO_DEBUG=false DJANGO_SITE_URL=$(BENCH_SITE_URL) IMPORT_BENCH_DATABASE_URL=$(IMPORT_BENCH_DATABASE_URL) \
	  $(PY) scripts/bench_import.py
	$(PY) scripts/bench_relevance.py
	DATABASE_URL=$(INSIGHT_BENCH_DATABASE_URL) DJANGO_DEBUG=false DJANGO_SITE_URL=$(BENCH_SITE_URL) \
	  $(PY) scripts/bench_insight.py $(BENCH_ARGS)

quality: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run

format: $(VENV)/.installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) .cache db.sqlite3 staticfiles
