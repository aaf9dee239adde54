# `make run` and `make test` set everything up themselves on a fresh machine with Python 3.11+.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test lint typecheck pytest bench bench-web clean messages

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/reminders db upgrade
	$(BIN)/reminders demo --if-empty
	$(BIN)/reminders serve --host $(HOST) --port $(PORT)

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy reminders connectors scheduler tests bench

pytest: $(STAMP)
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) var reminders.db reminders.db-* reminders.worker.lock .mypy_cache .pytest_cache .ruff_cache

messages: $(STAMP)
	mkdir -p var
	$(BIN)/pybabel extract --no-location -F babel.cfg -k N_ -k gettext_for:2 -o var/messages.pot .

bench-web: $(STAMP)
	$(BIN)/python -m bench.web
