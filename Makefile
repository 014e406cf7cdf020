# Two commands do all the set-up on a fresh machine:
#   make demo   - install into .venv, then run the whole pipeline on embedded Postgres and Redis
#   make test   - install into .venv (with test extras), then run the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test bench install

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $@

install: $(BIN)/.installed

demo: $(BIN)/.installed
	$(BIN)/transcrawl demo

test: $(BIN)/.installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(BIN)/.installed
	$(BIN)/python bench/extract.py
	$(BIN)/python bench/translate.py
