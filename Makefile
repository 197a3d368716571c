# The README's two commands. Each sets itself up from nothing (a virtualenv in .venv) and is
# safe to run again: setup is skipped while pyproject.toml, setup.py, the C source and the
# locks are unchanged.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA ?= var/dataset
BUILD_INPUTS := pyproject.toml setup.py src/askwell/data/_html.pyx

# The locks (make lock): every package at the version the suite passed on, with its hashes, for
# Python 3.11 on Linux x86_64. build.lock: pip and pyproject's [build-system] requires, which
# build the Cython extension and any locked package published only as source (lime), with
# exactly these versions rather than the newest (--no-build-isolation); runtime.lock: what
# `make run` needs; dev.lock: runtime plus the dev extra, for `make test`; spark.lock: runtime
# plus the spark extra (PySpark), installed on top of dev.lock for `make test`.
LOCKS := requirements
UV_VERSION := 0.13.9
LOCK_FLAGS ?=
COMPILE = $(BIN)/uv pip compile --quiet --python-version 3.11 \
	--python-platform x86_64-manylinux_2_28 --generate-hashes \
	--custom-compile-command "make lock" $(LOCK_FLAGS)

# The bundled models, trained by the project's own pipeline: the answer model on every dump in
# $(SHARED_DATA)/stackexchange (src/askwell/assets/default.card.md), the closing model on the
# Stack Overflow closing data with the recipe in configs/closing.yaml (closing.card.md). Both
# logistic regression, not the blend: its contributions are exact and additive, and for the
# answer model the blend was within validation noise (its trees score a non-question high).
# Their SHA-256 is pinned in $(ASSETS)/bundles.sha256: they load anywhere without a bundle key
# (a bundle is arrays and JSON, format 3, loaded without pickle; see README, Bundles and trust)
# while their bytes match it.
SHARED_DATA ?= ../shared/data
MODEL_WORK := var/model
ASSETS := src/askwell/assets

.PHONY: run data test lint lock model bench-ingest bench-quality bench-latency bench-serve clean help

help:
	@echo "make run             start the editor on the bundled model: http://localhost:8000/"
	@echo "make data DUMP=<dump folder | Posts.xml | site .7z | SEDE .csv> [DUMP=...]"
	@echo "make test            lint, type-check and run the whole test suite (starts PostgreSQL)"
	@echo "make lock            re-resolve requirements/*.lock from pyproject.toml, keeping the"
	@echo "                     pins it still allows (LOCK_FLAGS=--upgrade: the newest releases)"
	@echo "make model           retrain the bundled answer and closing models and their cards"
	@echo "make bench-ingest    the ingestion benchmark (writes bench/results/)"
	@echo "make bench-quality   the model quality benchmark (writes bench/results/)"
	@echo "make bench-latency   the explanation latency benchmark (writes bench/results/)"
	@echo "make bench-serve     the HTTP serving benchmark (writes bench/results/)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Exactly the locked packages (pip checks each one's hash), then askwell itself, built with the
# locked build tools.
$(VENV)/.installed: $(BIN)/python $(BUILD_INPUTS) $(LOCKS)/build.lock $(LOCKS)/runtime.lock
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCKS)/build.lock
	$(BIN)/python -m pip install --quiet --require-hashes --no-build-isolation -r $(LOCKS)/runtime.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

$(VENV)/.installed-dev: $(BIN)/python $(BUILD_INPUTS) $(LOCKS)/build.lock $(LOCKS)/dev.lock
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCKS)/build.lock
	$(BIN)/python -m pip install --quiet --require-hashes --no-build-isolation -r $(LOCKS)/dev.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@ $(VENV)/.installed

# The spark extra, for the Spark tests (Java comes from scripts/test-services).
$(VENV)/.installed-spark: $(VENV)/.installed-dev $(LOCKS)/spark.lock
	$(BIN)/python -m pip install --quiet --require-hashes --no-build-isolation -r $(LOCKS)/spark.lock
	touch $@

# Re-resolves the locks from pyproject.toml with uv (installed into .venv). An existing lock's
# pins are kept where pyproject still allows them; the runtime and build locks take the dev
# lock's pins for what they share, so `make run` and `make test` install the same versions.
lock: $(BIN)/python
	$(BIN)/python -m pip install --quiet uv==$(UV_VERSION)
	$(COMPILE) pyproject.toml --extra dev -o $(LOCKS)/dev.lock
	$(COMPILE) pyproject.toml -c $(LOCKS)/dev.lock -o $(LOCKS)/runtime.lock
	$(COMPILE) pyproject.toml --extra spark -c $(LOCKS)/dev.lock -o $(LOCKS)/spark.lock
	$(BIN)/python -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))\
		["build-system"]["requires"], "pip", sep="\n")' \
		| $(COMPILE) - -c $(LOCKS)/dev.lock -o $(LOCKS)/build.lock

# The editor and its API on the embedded defaults: the bundled model (or the registry's
# champion), a SQLite store in var/askwell.db. Settings: configs/askwell.yaml, ASKWELL_SERVE__*.
run: $(VENV)/.installed
	$(BIN)/askwell serve $(SERVE_FLAGS)

data: $(VENV)/.installed
	@if [ -z "$(DUMP)" ]; then \
		echo "usage: make data DUMP=<dump folder | Posts.xml | site .7z | SEDE .csv>"; exit 2; fi
	$(BIN)/askwell ingest $(DUMP) --out $(DATA)
	$(BIN)/askwell data check $(DATA)
	$(BIN)/askwell data profile $(DATA)

# mypy reads the Spark code with PySpark's own types: the spark lock is installed first.
lint: $(VENV)/.installed-spark
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

# PostgreSQL, Chromium and Java (for the Spark tests, with the spark lock) are installed and
# started if missing (scripts/test-services).
test: lint
	url="$$(bash scripts/test-services)" && POSTGRES_TEST_URL="$$url" $(BIN)/pytest

model: $(VENV)/.installed
	$(BIN)/askwell ingest $(SHARED_DATA)/stackexchange/*/ --out $(MODEL_WORK)/dataset
	$(BIN)/askwell data check $(MODEL_WORK)/dataset
	$(BIN)/askwell labels $(MODEL_WORK)/dataset --config configs/answer.yaml --out $(MODEL_WORK)/labels.json
	$(BIN)/askwell train $(MODEL_WORK)/dataset --config configs/answer.yaml \
		--labels $(MODEL_WORK)/labels.json --out $(ASSETS)/default.askwell
	$(BIN)/askwell ingest $(SHARED_DATA)/stackoverflow-closed/train-sample.csv \
		--out $(MODEL_WORK)/closing-dataset
	$(BIN)/askwell data check $(MODEL_WORK)/closing-dataset
	$(BIN)/askwell train $(MODEL_WORK)/closing-dataset --config configs/closing.yaml \
		--out $(ASSETS)/closing.askwell
	cd $(ASSETS) && sha256sum default.askwell closing.askwell > bundles.sha256

bench-ingest: $(VENV)/.installed-dev
	$(BIN)/python -m bench.ingest

bench-quality: $(VENV)/.installed-dev
	$(BIN)/python -m bench.quality

bench-latency: $(VENV)/.installed-dev
	$(BIN)/python -m bench.latency

bench-serve: $(VENV)/.installed-dev
	$(BIN)/python -m bench.serve

clean:
	rm -rf $(VENV) build src/*.egg-info src/askwell/data/_html.c src/askwell/data/*.so
