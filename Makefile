# Jinlin 近邻. A newcomer needs two commands: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
JINLIN := $(VENV)/bin/jinlin
STAMP := $(VENV)/.installed
NPM_STAMP := miniapp/node_modules/.package-lock.json
H5_INDEX := miniapp/dist/build/h5/index.html
HAVE_NODE := $(shell command -v npm >/dev/null 2>&1 && echo yes)
export JINLIN_PYTHON := $(abspath $(PY))

.PHONY: run test test-python test-miniapp bench openapi migrations check-migrations lint clean help

help:
	@echo "make run     run Jinlin (SQLite, demo data, the H5 app) at http://127.0.0.1:8000"
	@echo "make test    run every test (Python, vitest, browser, mini-program smoke)"
	@echo "make bench   run the benchmarks and update BENCHMARKS.md"

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev]"
	@touch $@

# npm ci only when the lockfile changed since the last install.
$(NPM_STAMP): miniapp/package-lock.json
	cd miniapp && npm ci --no-audit --no-fund
	@touch $@

$(H5_INDEX): $(NPM_STAMP) $(shell find miniapp/src miniapp/index.html miniapp/vite.config.ts -type f 2>/dev/null)
	cd miniapp && npm run --silent build:h5

ifeq ($(HAVE_NODE),yes)
run: $(STAMP) $(H5_INDEX)
else
run: $(STAMP)
	@echo "npm not found: the H5 app is not built; the API and /docs still run."
endif
	$(JINLIN) migrate
	$(JINLIN) seed-demo
	@echo ""
	@echo "  近邻 Jinlin 已启动：在浏览器打开 http://127.0.0.1:$${JINLIN_PORT:-8000}/"
	@echo "  （手机尺寸窗口效果最好；演示账号见上表；接口文档 http://127.0.0.1:$${JINLIN_PORT:-8000}/docs）"
	@echo ""
	$(JINLIN) serve

test: test-python test-miniapp

# The Python suite: SQLite + in-process bus, or PostgreSQL + Redis when JINLIN_TEST_DATABASE_URL /
# JINLIN_TEST_REDIS_URL are set (CI sets both and runs it again without them).
test-python: $(STAMP)
	$(PY) scripts/lint_scope.py
	$(PY) scripts/migrations.py check
	$(PY) -m pytest

ifeq ($(HAVE_NODE),yes)
test-miniapp: $(STAMP) $(NPM_STAMP)
	cd miniapp && npm run --silent gen:api -- --check
	cd miniapp && npm run --silent type-check
	cd miniapp && npm test --silent
	cd miniapp && npm run --silent test:mp
	cd miniapp && npm run --silent test:e2e
else
test-miniapp:
	@if [ "$$JINLIN_REQUIRE_BROWSER" = "1" ]; then echo "npm not found but JINLIN_REQUIRE_BROWSER=1"; exit 1; fi
	@echo "npm not found: mini-program tests skipped"
endif

bench: $(STAMP)
	$(PY) -m bench.run

openapi: $(STAMP)
	$(JINLIN) contracts --output shared
	@if [ "$(HAVE_NODE)" = yes ] && [ -d miniapp/node_modules ]; then cd miniapp && npm run --silent gen:api; fi

migrations: $(STAMP)
	$(PY) scripts/migrations.py make

check-migrations: $(STAMP)
	$(PY) scripts/migrations.py check

lint: $(STAMP)
	$(PY) scripts/lint_scope.py
	$(VENV)/bin/ruff check backend tests bench scripts

clean:
	rm -rf var miniapp/dist miniapp/test-artifacts .pytest_cache
