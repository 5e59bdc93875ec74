# studentgroups — `make help` lists every task. Only python3 (3.11+) is needed: the first task
# you run makes the virtual environment (.venv) and installs everything into it.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres
FUZZ_EXAMPLES ?= 300
# Test processes (pytest-xdist): one per core; each has its own database and server.
TEST_WORKERS ?= auto
FUZZ_DB ?=

.DEFAULT_GOAL := help
.PHONY: help install run serve migrate demo test test-pg fuzz lint fmt bench soak clean screenshots

help: ## list every task
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-9s %s\n", $$1, $$2}' $(MAKEFILE_LIST) \
		| sed -e 's|$$(PG_URL)|$(PG_URL)|g'  # the variables' values, as the tasks will use them

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "studentgroups needs Python 3.11 or newer (set PYTHON=...)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing into $(VENV) (once; again when pyproject.toml or constraints.txt change)"
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) ## make .venv and install the service with its dev tools

# The browser tests drive Debian's Chromium (Playwright's own download cannot work offline).
CHROMIUM ?= /usr/bin/chromium
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's chromium for the browser tests (once)"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1 \
			|| { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }; \
	else \
		echo "the browser tests need Chromium at $(CHROMIUM): install Debian's chromium package (or set CHROMIUM=...)"; \
		exit 1; \
	fi

run: $(STAMP) ## start on the embedded SQLite database, with a demo instance and its key printed
	@$(BIN)/studentgroups migrate
	@$(BIN)/studentgroups demo
	@$(BIN)/studentgroups serve

serve: $(STAMP) ## start the service (no demo data)
	@$(BIN)/studentgroups serve

migrate: $(STAMP) ## upgrade the database to the newest migration
	@$(BIN)/studentgroups migrate

demo: $(STAMP) ## make a demo instance and print its key
	@$(BIN)/studentgroups demo

test: $(STAMP) $(CHROMIUM) ## run the whole test suite (embedded SQLite), a worker per core
	@STUDENTGROUPS_CHROMIUM=$(CHROMIUM) $(BIN)/pytest -q -n $(TEST_WORKERS) --dist worksteal

test-pg: $(STAMP) $(CHROMIUM) ## run the whole test suite on PostgreSQL (a fresh database on $(PG_URL))
	@STUDENTGROUPS_CHROMIUM=$(CHROMIUM) STUDENTGROUPS_TEST_DATABASE_URL=$(PG_URL) $(BIN)/pytest -q -n $(TEST_WORKERS) --dist worksteal

screenshots: $(STAMP) $(CHROMIUM) ## the console's pages as the browser tests see them, into docs/console/
	@STUDENTGROUPS_CHROMIUM=$(CHROMIUM) STUDENTGROUPS_SCREENSHOTS=docs/console $(BIN)/pytest -q tests/console -k "in_browser or phone" -p no:xdist

fuzz: $(STAMP) ## long schemathesis run: FUZZ_EXAMPLES (300) cases an operation; FUZZ_DB=$(PG_URL) for PostgreSQL
	@STUDENTGROUPS_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) STUDENTGROUPS_TEST_DATABASE_URL=$(FUZZ_DB) \
		$(BIN)/pytest -q tests/test_openapi.py -k fuzzing

lint: $(STAMP) ## ruff, mypy --strict, and the layers' import contracts (docs/architecture.md)
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@$(BIN)/mypy
	@$(BIN)/lint-imports --no-cache

fmt: $(STAMP) ## format and autofix
	@$(BIN)/ruff format .
	@$(BIN)/ruff check --fix .

BENCHMARKS := $(filter-out bench/harness.py bench/soak.py,$(wildcard bench/*.py))

bench: $(STAMP) ## run every benchmark but the soak (needs PostgreSQL at $(PG_URL))
	@for b in $(BENCHMARKS); do echo "== $$b"; $(BIN)/python $$b || exit 1; done

soak: $(STAMP) ## 5 minutes of mixed traffic, 4 instances, 2 workers: errors, latency, memory (PostgreSQL at $(PG_URL))
	@PG_URL=$(PG_URL) $(BIN)/python bench/soak.py

clean: ## remove the virtual environment and the embedded SQLite database
	@test -x $(BIN)/python && db=$$($(BIN)/python -c 'from studentgroups.settings import default_database_path as d; print(d())') \
		&& rm -f "$$db" "$$db-wal" "$$db-shm" && echo "removed $$db" || true
	rm -rf $(VENV)
