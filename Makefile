# Two commands do everything: `make run` and `make test`. See README.md.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat setup.cfg pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test test-fast stop bench lint install system-packages test-system-packages clean

# On an empty database `assetmap demo` loads the real district from data/ and generated
# places on top (`assetmap demo --remove` takes the places away); otherwise it leaves it be.
run: install system-packages
	$(BIN)/assetmap db upgrade
	$(BIN)/assetmap demo
	$(BIN)/assetmap serve

test: install system-packages test-system-packages
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# While you work: the tests that need no database, no server and no browser (seconds).
test-fast: install
	$(BIN)/python -m pytest -m fast $(PYTEST_ARGS)

stop:
	@if [ -x $(BIN)/assetmap ]; then $(BIN)/assetmap stop; else echo "nothing to stop"; fi

# The peers (tipg, pygeoapi) get a virtualenv of their own: they pin their own
# dependencies, and pygeoapi installs a top-level `tests` package that would shadow ours.
BENCH_VENV := .venv-bench
bench: install system-packages
	@tools/system-packages bench
	[ -x $(BENCH_VENV)/bin/python ] || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install -q --upgrade pip
	$(BENCH_VENV)/bin/pip install -q -e '.[test,bench]'
	$(BENCH_VENV)/bin/python -m bench $(BENCH_ARGS)

lint: install
	$(BIN)/ruff check .

install: $(STAMP) node_modules/.installed

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

# Leaflet and its plugins, which the app serves itself from node_modules/ (mapping/core/assets.py);
# package-lock.json pins them by hash. Re-run when either file changes.
node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "npm is missing: apt-get install npm" >&2; exit 1; }
	npm ci --no-audit --no-fund
	touch $@

# PostgreSQL and PostGIS for the embedded cluster (skipped when DATABASE_URL is set).
system-packages:
	@tools/system-packages run

# Chromium for the browser tests, GDAL's ogrinfo for the OGC API client tests.
test-system-packages:
	@tools/system-packages test

clean: stop
	rm -rf $(VENV) var
