# Two commands do all the set-up: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
CACHE ?= $(HOME)/.cache/lakehouse-tui
export PIP_CACHE_DIR ?= $(HOME)/.cache/pip

.PHONY: run test test-fast test-compose test-stack lint bench services-up services-down clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.base: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[stack,spark,compose,dev]"
	touch $(VENV)/.base $@

## make run: create the venv, install, start the TUI on the embedded default
run: $(VENV)/.base
	$(BIN)/lakehouse-tui

## make test: install what tests need, start the services they use, run every test.
## The services start in the background while the fast tier (no services) runs; then the stack tier.
SERVICES_LOG := $(CACHE)/state/logs/services-up.log
PYTEST := $(BIN)/python -m pytest -q -p no:cacheprovider
test: $(VENV)/.dev
	mkdir -p $(dir $(SERVICES_LOG))
	status=0; \
	bash scripts/services.sh up >$(SERVICES_LOG) 2>&1 & up=$$!; \
	$(PYTEST) -m "not stack" --durations=15 || status=$$?; \
	wait $$up || { echo "services.sh up failed:"; status=1; }; cat $(SERVICES_LOG); \
	$(PYTEST) -m stack --durations=30 || status=$$?; \
	bash scripts/services.sh down; exit $$status

## make test-fast: unit + TUI tier, no external services (minutes)
test-fast: $(VENV)/.dev
	$(BIN)/python -m pytest -q -m "not stack"

## make test-compose: build the offline Compose stack and test it on the real engine (not in `make test`:
## a cold build of its images takes about half an hour on this machine)
test-compose: $(VENV)/.dev
	bash scripts/services.sh up docker
	LAKEHOUSE_TEST_COMPOSE_STACK=1 $(PYTEST) tests/stack/test_compose_platform.py tests/stack/test_compose_tui.py \
		tests/stack/test_compose_notebooks.py

test-stack: $(VENV)/.dev
	bash scripts/services.sh up
	$(BIN)/python -m pytest -q -m stack

lint: $(VENV)/.dev
	$(BIN)/ruff check lakehouse_core tui tests bench
	$(BIN)/lint-imports

services-up: $(VENV)/.dev
	bash scripts/services.sh up

services-down:
	bash scripts/services.sh down

bench: $(VENV)/.dev
	$(BIN)/python bench/pipeline.py --orders 1000000
	$(BIN)/python bench/tui.py

clean:
	rm -rf $(VENV) data .lakehouse
