# authapp: `make run` serves on http://127.0.0.1:5000 (`make run PORT=8000 HOST=0.0.0.0` elsewhere),
# `make test` runs the suite, `make flask ARGS="users list"` runs an admin command in the venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run serve flask test lint migrate clean bench

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/activate
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/activate
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed

migrate: $(VENV)/.installed
	$(FLASK) db upgrade

run: migrate
	@echo "Mail (verification and reset links) is written to instance/mail/ as .eml files."
	$(FLASK) run --host $(HOST) --port $(PORT)

# Any flask command inside the venv: make flask ARGS="users create alice"
flask: $(VENV)/.installed
	$(FLASK) $(ARGS)

# Production-like serving: needs AUTHAPP_ENV=production and real secrets in the environment.
serve: migrate
	$(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

# Two processes, each taking whole test files (module fixtures stay in one process).
TEST_WORKERS ?= 2

test: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# On-demand benchmark, never part of `make test` (~27 min on 2 cores). Installs wrk if missing,
# and baseline D's node modules (bench/node) when npm is there (without node, D is skipped);
# PostgreSQL rows need a server on 127.0.0.1:5432 (skipped if unreachable).
# Options: make bench BENCH_ARGS="--quick --databases sqlite"
bench: $(VENV)/.installed
	@command -v wrk >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq wrk; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq wrk; fi; }
	@if ! command -v npm >/dev/null 2>&1; then \
	  echo "npm not found: baseline D (Express + jsonwebtoken) will be skipped"; \
	elif [ ! bench/node/node_modules/.package-lock.json -nt bench/node/package-lock.json ]; then \
	  npm ci --prefix bench/node --no-audit --no-fund --loglevel=error \
	    || echo "npm ci failed: baseline D (Express + jsonwebtoken) will be skipped"; \
	fi
	$(BIN)/python -m bench.run $(BENCH_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
