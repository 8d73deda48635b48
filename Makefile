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
# pytest with a throwaway Redis on 127.0.0.1:6379, which it stops afterwards.
test: install-test
	scripts/ensure-postgres.sh
	scripts/ensure-test-services.sh -- $(BIN)/python -m pytest
