# Two commands on a fresh machine: `make run` and `make test`. See README.md.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
SEED_FIXTURES := regions_seed news_seed

.PHONY: run serve test install install-test migrate seed superuser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements.txt requirements-test.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-test.txt
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

migrate: install
	DJANGO_DEBUG=$${DJANGO_DEBUG:-1} $(BIN)/python manage.py migrate --noinput

# Fixtures use natural keys, so loading them again updates rows instead of duplicating them.
seed: migrate
	DJANGO_DEBUG=$${DJANGO_DEBUG:-1} $(BIN)/python manage.py loaddata $(SEED_FIXTURES)

run: seed
	@echo
	@echo "BaltMet Inno is at http://127.0.0.1:$(PORT)/"
	@echo "For an admin login, run 'make superuser' in another terminal (same DATABASE_URL),"
	@echo "then sign in at http://127.0.0.1:$(PORT)/admin/"
	@echo
	DJANGO_DEBUG=$${DJANGO_DEBUG:-1} $(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

superuser: migrate
	DJANGO_DEBUG=$${DJANGO_DEBUG:-1} $(BIN)/python manage.py createsuperuser

serve: seed
	PORT=$(PORT) scripts/serve.sh

# ensure-test-services.sh installs the Debian packages the tests need (redis-server) and runs
# pytest with a throwaway Redis on 127.0.0.1:6379 (a free port where that one is taken), which
# it stops afterwards.
# The checkers the browser tests run, exactly as package-lock.json pins them: axe-core and the
# Nu HTML Checker (vnu-jar). --ignore-scripts: vnu-jar's install script would download a Java
# runtime; the system's Java runs it.
node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "make test: npm is missing. Install Node.js with npm (Debian: apt-get install nodejs npm); the browser tests need axe-core and the Nu HTML Checker from npm." >&2; exit 1; }
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

# One pytest run: the whole suite, browser tests (tests/browser/, marker `browser`) included.
# ensure-test-services.sh installs Chromium (and Java, where there is none) as root, or stops
# with a message saying what to install: the browser tests never pass by being left out.
# A statement past two minutes fails its test (PostgreSQL cancels it, naming the query) rather
# than holding the run: a plan misled by statistics from before a test's bulk load once ran
# for over twelve minutes.
#
# The suite runs in one pytest-xdist worker per core, at most four (TEST_WORKERS=0 runs it in
# this process), each with a test database of its own (test_baltmet_gw0, ...). xdist's default
# distribution hands each worker its tests in pytest-django's order, the tests that empty the
# database (transactional ones) after the others: `--dist loadfile` would not, and the data the
# migrations made (the Editors group) would be gone for a worker's later files. A worker that
# crashes fails the test it ran and is not replaced (--max-worker-restart=0): a replacement
# would have a worker number past those the tests provide for (gw0 to gw3).
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); [ "$$n" -gt 4 ] && n=4; echo $$n)

test: install-test node_modules/.installed
	scripts/ensure-postgres.sh
	DATABASE_STATEMENT_TIMEOUT=$${DATABASE_STATEMENT_TIMEOUT:-120000} \
	  scripts/ensure-test-services.sh $$(command -v java >/dev/null || echo default-jre-headless) -- \
	  $(BIN)/python -m pytest -n $(TEST_WORKERS) --max-worker-restart=0
