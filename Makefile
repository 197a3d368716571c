# The README's two commands. Each sets itself up from nothing (a virtualenv in .venv) and is
# safe to run again: setup is skipped while pyproject.toml, setup.py and the C source are
# unchanged.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA ?= var/dataset
BUILD_INPUTS := pyproject.toml setup.py src/askwell/data/_html.pyx

.PHONY: run test lint bench-ingest clean help

help:
	@echo "make run DUMP=<dump folder | Posts.xml | site .7z | SEDE .csv> [DUMP=...]"
	@echo "make test            lint, type-check and run the whole test suite"
	@echo "make bench-ingest    the ingestion benchmark (writes bench/results/)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python $(BUILD_INPUTS)
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(BIN)/python $(BUILD_INPUTS)
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	@if [ -z "$(DUMP)" ]; then \
		echo "usage: make run DUMP=<dump folder | Posts.xml | site .7z | SEDE .csv>"; exit 2; fi
	$(BIN)/askwell ingest $(DUMP) --out $(DATA)
	$(BIN)/askwell data check $(DATA)
	$(BIN)/askwell data profile $(DATA)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

bench-ingest: $(VENV)/.installed-dev
	$(BIN)/python -m bench.ingest

clean:
	rm -rf $(VENV) build src/*.egg-info src/askwell/data/_html.c src/askwell/data/*.so
