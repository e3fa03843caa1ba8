# Two entry points for people: `make demo` and `make test`. Everything lives in .venv/.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
# torch==2.13.0 first: a CPU build of exactly that version is on local disk here, and the
# `examples` extra states a range that this install already satisfies (no multi-GB download).
TORCH  ?= torch==2.13.0

.PHONY: install install-test demo test test-fast bench lint js clean browser-deps pg-deps vscode-host

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

# Stamps make `make install` idempotent: re-run only when the project's metadata changes.
$(VENV)/.installed: $(PY) pyproject.toml js/package.json
	$(PIP) install "$(TORCH)"
	$(PIP) install -e ".[examples]"
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) install -e ".[test]"
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test browser-deps pg-deps

# Debian's Chromium for the browser tests (Playwright's own browser download is not reachable).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian chromium for the browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "WARNING: could not install chromium; browser tests will be skipped"; }

# Debian's PostgreSQL server for the PostgreSQL tests (started on loopback by the tests).
pg-deps:
	@command -v pg_ctl >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || { \
	  echo "installing Debian postgresql for the PostgreSQL tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) \
	  || echo "WARNING: could not install postgresql; PostgreSQL tests will be skipped"; }

# The npm packages of the browser tests' VS Code host (VS Code's ipywidgets 8 widget manager,
# RequireJS, @jupyterlab/services, esbuild): their own folder, not the panel's js/. Re-run
# only when its lock file changes.
VSCODE_HOST := tests/browser/vscode_host
$(VSCODE_HOST)/node_modules/.installed: $(VSCODE_HOST)/package-lock.json
	cd $(VSCODE_HOST) && npm ci --no-audit --no-fund
	touch $@

vscode-host: $(VSCODE_HOST)/node_modules/.installed

# Rebuild the panel bundle (the package build does this too, once).
js:
	cd js && npm ci --no-audit --no-fund && npm run build

demo: install
	$(PY) examples/run_demo.py

test: install-test js vscode-host
	cd js && npx vitest run
	$(PY) -m pytest

test-fast: install-test
	$(PY) -m pytest -m "not browser and not kernel"

$(VENV)/.installed-bench: $(VENV)/.installed-test
	$(PIP) install -e ".[bench]"
	touch $@

bench: install-test $(VENV)/.installed-bench
	$(PY) benchmarks/run.py

$(VENV)/.installed-dev: $(VENV)/.installed-test
	$(PIP) install -e ".[dev]"
	touch $@

lint: $(VENV)/.installed-dev
	$(PY) -m ruff check optuna_magic tests benchmarks
	$(PY) -m ruff format --check optuna_magic
	$(PY) -m mypy
	cd js && npx tsc --noEmit

clean:
	rm -rf $(VENV) js/node_modules $(VSCODE_HOST)/node_modules optuna_magic/static build dist
