# `make run` and `make test` each work on a fresh clone: they create .venv when needed.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: install run test lint check-ledger screenshots

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

# Options of the demo (manage.py run_demo --help), e.g. make run RUN_ARGS="--port 8001 --pomelo-port 8766"
RUN_ARGS ?=

# The demo talks to the stand-in Pomelo over plain HTTP on a laptop: DEBUG and the sandbox on.
run: install
	DEBUG=$${DEBUG:-true} SANDBOX_ENABLED=true $(PY) manage.py run_demo $(RUN_ARGS)

test: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	DJANGO_SETTINGS_MODULE=tests.settings $(PY) manage.py makemigrations --check --dry-run
	# A migration that would block a live system fails here (on PostgreSQL in CI, it reads the SQL
	# PostgreSQL would run): see the README's expand/contract policy.
	DJANGO_SETTINGS_MODULE=tests.migration_lint_settings $(PY) manage.py lintmigrations -q ok ignore
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

check-ledger: install
	DEBUG=$${DEBUG:-true} SANDBOX_ENABLED=$${SANDBOX_ENABLED:-true} $(PY) manage.py check_ledger

# The staff guide's pictures (docs/screenshots/), taken by the browser tests on the demo pages.
screenshots: install
	GUIDE_SCREENSHOTS_DIR=docs/screenshots $(PY) -m pytest -q -p no:cacheprovider tests/e2e -k screenshots_for_the_guide
