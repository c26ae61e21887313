# One entry point for people and CI. Needs only python3 and the package registries:
# uv is installed on first use, then uv installs the locked dependencies into .venv.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null)
ifeq ($(UV),)
UV := python3 -m uv
endif
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1

.PHONY: setup demo test check format bench

setup:  ## install uv if missing, then the locked environment
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 \
		|| python3 -m pip install --quiet --disable-pip-version-check uv
	$(UV) sync --locked --quiet

demo: setup  ## crawl the bundled replica into demo.duckdb and query it
	$(UV) run scraper demo --db demo.duckdb

test: setup check  ## every check: format, lint, types, tests

check:
	$(UV) run ruff format --check .
	$(UV) run ruff check .
	$(UV) run mypy
	$(UV) run pytest -n 2 --dist loadfile

format: setup
	$(UV) run ruff format .
	$(UV) run ruff check --fix .

bench: setup  ## benchmarks (not part of the test suite)
	$(UV) run python -m bench
