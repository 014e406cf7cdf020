# Two commands do all the set-up on a fresh machine:
#   make demo   - install into .venv, then run the whole pipeline on embedded Postgres and Redis
#   make test   - install into .venv (with test extras), type-check (mypy --strict), run every tier
# One tier: make test-unit (no servers, under a minute), make test-integration, make test-chaos.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test test-unit test-integration test-chaos typecheck bench install browser

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $@

install: $(BIN)/.installed

# The reader page's browser test drives Debian's Chromium through its ChromeDriver (emoji font for
# the country flags). Installed once, with apt-get (as root, or with sudo where it asks no password).
/usr/bin/chromedriver:
	@SUDO=$$( [ "$$(id -u)" = 0 ] || echo "sudo -n" ); \
	$$SUDO apt-get install -y -q chromium chromium-driver fonts-noto-color-emoji >/dev/null 2>&1 || \
	{ $$SUDO apt-get update -q >/dev/null 2>&1 && $$SUDO apt-get install -y -q chromium chromium-driver fonts-noto-color-emoji >/dev/null; } || \
	echo "could not install chromium and chromium-driver: the browser test will skip"

browser: /usr/bin/chromedriver

demo: $(BIN)/.installed
	$(BIN)/transcrawl demo

test: typecheck browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

typecheck: $(BIN)/.installed
	$(BIN)/python -m mypy

test-unit test-integration test-chaos: test-%: $(BIN)/.installed browser
	$(BIN)/python -m pytest tests/$* $(PYTEST_ARGS)

bench: $(BIN)/.installed
	$(BIN)/python bench/extract.py
	$(BIN)/python bench/translate.py
	$(BIN)/python bench/pipeline.py
