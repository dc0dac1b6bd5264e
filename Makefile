# make run: everything for local development. make test: the whole suite. make bench: figures.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test chaos bench lint format venv services clean

$(STAMP): requirements/base.txt requirements/dev.txt requirements/production.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "Python 3.11 or newer is needed (PYTHON=$(PYTHON))"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements/dev.txt
	@touch $(STAMP)

venv: $(STAMP)

.env:
	cp .env.example .env
	@echo "Wrote .env from .env.example (development values for the local Twilio sandbox)."

run: $(STAMP) .env
	@set -a; . ./.env; set +a; bin/ensure-services
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) manage.py seed_demo
	@echo
	@echo "  Web          http://127.0.0.1:8000/      (admin: http://127.0.0.1:8000/admin/)"
	@echo "  Portal       http://127.0.0.1:8000/portal/"
	@echo "  API docs     http://127.0.0.1:8000/api/docs/"
	@echo "  Sandbox      http://127.0.0.1:8025/_sandbox/   (inbox: every SMS and verification code)"
	@echo "  Flower       http://127.0.0.1:5555/   (login: FLOWER_BASIC_AUTH in .env, admin:admin by default)"
	@echo "  Ctrl-C stops everything."
	@echo
	bin/run -f Procfile.dev

test: $(STAMP)
	@bin/ensure-services --postgres --rabbitmq
	@bin/ensure-browser
	@bin/ensure-tool /usr/bin/wrk wrk "The benchmarks"
	$(VENV)/bin/ruff check .
	DJANGO_ENV_FILE= $(VENV)/bin/pytest --cov --cov-report= -p no:cacheprovider --ignore=tests/reliability --ignore=tests/bench
	@# The reliability scenarios mostly wait (for leases, storms, restarts): three at a time,
	@# beside the benchmarks' smoke run (bench/run.py --quick).
	DJANGO_ENV_FILE= $(VENV)/bin/pytest --cov --cov-append --cov-report=term -p no:cacheprovider -n 3 --dist loadgroup tests/reliability tests/bench

# The reliability scenarios of tests/reliability with 10,000 messages each; prints their table
# and writes test-artifacts/reliability.json (about an hour on two cores).
chaos: $(STAMP)
	@bin/ensure-services --postgres --rabbitmq
	CHAOS_MESSAGES=$${CHAOS_MESSAGES:-10000} DJANGO_ENV_FILE= $(VENV)/bin/pytest tests/reliability -p no:cacheprovider -q -n 2 --dist loadgroup

# Every benchmark on the real stack (under 10 minutes on two cores): prints their tables, writes
# bench/results/latest.json and latest.png. make bench ARGS=--quick: the one-minute smoke run.
bench: $(STAMP)
	@bin/ensure-services --postgres
	@bin/ensure-tool /usr/bin/wrk wrk "The benchmarks"
	$(PY) bench/run.py $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) .run .pytest_cache .hypothesis .coverage htmlcov staticfiles test-artifacts
