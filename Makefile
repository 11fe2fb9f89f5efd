# Every target installs what it needs first, so each works on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install system-deps demo airflow test test-quick bench requirements env clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.9
	$(BIN)/uv pip install --python $(BIN)/python --quiet -r requirements.txt
	$(BIN)/uv pip install --python $(BIN)/python --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

## Debian packages the full test suite needs: Chromium and its driver (the UI test);
## PostgreSQL and Redis servers (the distributed-topology test starts its own).
system-deps:
	./scripts/ci-browser-deps.sh
	./scripts/ci-system-deps.sh

## The main job on the embedded default: replay world + Airflow on embedded Postgres, backfill, report.
demo: $(STAMP)
	$(BIN)/newsmarkets demo

## A local Airflow (UI on http://localhost:8080, credentials printed) running the DAGs on the replay world;
## live on your own sources with CONFIG=my.yaml (no replay world).
airflow: $(STAMP)
	$(BIN)/newsmarkets airflow $(if $(CONFIG),--config $(CONFIG))

## The whole test suite (unit, integration, end-to-end through real Airflow).
test: $(STAMP) system-deps
	$(BIN)/python -m pytest

## The fast subset while you work: everything but the end-to-end Airflow runs.
test-quick: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

## Benchmarks; numbers go to BENCHMARKS.md.
bench: $(STAMP)
	$(BIN)/python bench/run_all.py

## Re-pin requirements.txt from requirements.in.
requirements: $(STAMP)
	$(BIN)/uv pip compile requirements.in -o requirements.txt --python-version 3.11

## Production stack: write .env with random secrets for docker-compose.yaml (docs/production.md).
env:
	./scripts/make-env.sh

clean:
	rm -rf .stack data
