# turboapi: every target sets itself up from a fresh clone (venv, release build of the extension).
.DEFAULT_GOAL := help
SHELL := /bin/bash

# PYTHON picks the interpreter (3.11, 3.12 or 3.13), e.g. `make test PYTHON=python3.13`; each one
# gets its own venv (.venv for the default python3, .venv-3.13 for the others, .venv-3.13t for a
# free-threaded build: make python-ft).
PYTHON ?= python3
PYVER := $(shell $(PYTHON) -c 'import sys, sysconfig; print("%d.%d" % sys.version_info[:2] + ("t" if sysconfig.get_config_var("Py_GIL_DISABLED") else ""))' 2>/dev/null)
VENV ?= $(if $(filter python3,$(PYTHON)),.venv,.venv-$(PYVER))
# "t" on a free-threaded interpreter (PYVER 3.13t): some dependencies are installed another way.
FREE_THREADED := $(findstring t,$(PYVER))
PY := $(VENV)/bin/python
STAMP := $(VENV)/.deps-stamp
EXT_STAMP := $(VENV)/.ext-stamp
PYLIBDIR := $(shell $(PYTHON) -c 'import sysconfig; print(sysconfig.get_config_var("LIBDIR"))' 2>/dev/null)
RUST_SOURCES := $(shell find src -name '*.rs') Cargo.toml Cargo.lock
HOST ?= 127.0.0.1
PORT ?= 8000
# Programs some tests start, as COMMAND=DEBIAN-PACKAGE (installed by scripts/system_packages.sh when
# missing): Chromium and its driver (the /docs browser test), nginx (the proxy test), PostgreSQL
# (a database pool on loop shards; make bench-db).
TEST_PROGRAMS := chromium=chromium chromedriver=chromium-driver nginx=nginx pg_ctlcluster=postgresql
# pytest's arguments (default: every test); e.g. PYTEST_ARGS="tests/compat -x".
PYTEST_ARGS ?=

.PHONY: help venv build-release run test test-rust test-python test-core test-programs python-ft bench bench-db bench-h2 bench-h2-windows bench-ft bench-download \
	bench-websocket stress soak fuzz corpus lint fmt clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml scripts/requirements.py
	@[ -n "$(PYVER)" ] || { echo "make: PYTHON=$(PYTHON) is not a Python interpreter this shell can run"; exit 1; }
	@command -v cargo >/dev/null || { echo "make: building needs the Rust toolchain (cargo), from https://rustup.rs"; exit 1; }
	@PYTHON=$(PYTHON) scripts/system_packages.sh cc=gcc python:ensurepip=python$(subst t,,$(PYVER))-venv
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	@# The runtime and dev dependencies as pyproject.toml lists them, changed where 3.13t needs it.
	$(PY) scripts/requirements.py > $(VENV)/requirements.txt
	$(PY) -m pip install -q "maturin>=1.5,<2" -r $(VENV)/requirements.txt
	touch $@

venv: $(STAMP) ## create .venv with the runtime and dev dependencies

$(EXT_STAMP): $(STAMP) $(RUST_SOURCES)
ifeq ($(FREE_THREADED),t)
	@# Free-threaded: pyproject's orjson cannot install there and `maturin develop` would insist on
	@# it, so the same editable install through pip, with the dependencies the venv step chose.
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
else
	VIRTUAL_ENV=$(abspath $(VENV)) PATH=$(abspath $(VENV))/bin:$$PATH maturin develop --release -q
endif
	touch $@

build-release: $(EXT_STAMP) ## build the Rust extension in release mode into the venv

run: build-release ## start examples/demo.py on $(HOST):$(PORT)
	$(PY) examples/demo.py --host $(HOST) --port $(PORT)

test-rust: ## cargo test (unit tests of the Rust core)
	LD_LIBRARY_PATH=$(PYLIBDIR) PYO3_PYTHON=$(PYTHON) cargo test --quiet

test-programs: ## install the programs some tests start (Chromium, chromedriver, nginx, PostgreSQL) when missing
	@scripts/system_packages.sh $(TEST_PROGRAMS)

ECOSYSTEM_STAMP := $(VENV)/.ecosystem-stamp
$(ECOSYSTEM_STAMP): tests/ecosystem/requirements.txt $(STAMP)
	@# The FastAPI/Starlette libraries tests/ecosystem runs on turboapi, pinned there.
ifeq ($(FREE_THREADED),t)
	@# Free-threaded 3.13: some of them (or what they need) do not install there. Each is tried
	@# alone, with the venv's pins; the tests of those that do not install are skipped.
	$(PY) scripts/requirements.py --pins > $(VENV)/pins.txt
	@sed 's/#.*//' tests/ecosystem/requirements.txt | while read -r requirement; do \
		[ -z "$$requirement" ] || $(PY) -m pip install -q -c $(VENV)/pins.txt "$$requirement" >/dev/null 2>&1 \
		|| echo "ecosystem: $$requirement does not install on free-threaded 3.13: its tests are skipped"; \
	done
else
	$(PY) -m pip install -q -r tests/ecosystem/requirements.txt
endif
	touch $@

test-python: build-release test-programs $(ECOSYSTEM_STAMP) ## pytest against the real server and the TestClient
	$(PY) -m pytest -q $(PYTEST_ARGS)

test: build-release test-rust test-python ## build, then cargo test and pytest

# Free-threaded CPython 3.13 (issue 18), built once from Debian's source package into FT_PREFIX,
# kept between runs, and a venv on it (.venv-3.13t; scripts/requirements.py says what each
# dependency needs there). Then e.g. `make test PYTHON=$(FT_PYTHON)`.
FT_PREFIX ?= $(HOME)/.cache/turboapi/python-3.13t
FT_PYTHON := $(FT_PREFIX)/bin/python3.13t
python-ft: ## free-threaded CPython 3.13 from Debian's source (~3 min, once) and .venv-3.13t with turboapi on it
	scripts/python_ft.sh $(FT_PREFIX)
	$(MAKE) build-release PYTHON=$(FT_PYTHON)

# Every suite but the reliability suites (hypothesis, the malformed corpus, timeouts), the
# packaging and browser tests, which exercise what does not depend on the Python version, and the
# ecosystem suite (third-party libraries, run on the default Python).
CORE_SUITES := tests --ignore=tests/reliability --ignore=tests/test_packaging.py --ignore=tests/test_docs_browser.py \
	--ignore=tests/ecosystem
test-core: build-release test-programs ## the core, compatibility and server suites (CI: all on 3.13, a subset on 3.12 and 3.13t)
	$(PY) -m pytest -q $(CORE_SUITES)

bench: build-release $(ECOSYSTEM_STAMP) ## load benchmark against FastAPI on uvicorn (needs wrk; writes bench/RESULTS.md)
	$(PY) bench/run.py

bench-db: build-release ## TechEmpower's six test types on PostgreSQL, ours vs FastAPI (~13 min; writes bench/RESULTS-db.md)
	@scripts/system_packages.sh pg_ctlcluster=postgresql
	$(PY) bench/db.py

bench-h2: build-release ## /json over h2c, h2+TLS, HTTP/1.1+TLS and plain, against hypercorn and uvicorn (h2load; writes bench/RESULTS-h2.md)
	$(PY) bench/http2.py

bench-h2-windows: build-release ## HTTP/2 upload rate and memory for each flow-control window (~1 min; writes bench/RESULTS-h2-windows.md)
	$(PY) bench/http2_windows.py

# CPython 3.13 with the GIL, the free-threaded build's baseline (pyenv's, as CI uses it).
PY313 ?= $(lastword $(sort $(wildcard $(HOME)/.pyenv/versions/3.13.*/bin/python3.13)))
bench-ft: build-release ## 1 vs 2 shards and workers, CPython 3.13 against free-threaded 3.13t (~10 min; writes bench/RESULTS-ft.md)
	@[ -n "$(PY313)" ] || { echo "make: bench-ft needs CPython 3.13 with the GIL (pyenv's: PY313=path/to/python3.13)"; exit 1; }
	$(MAKE) build-release PYTHON=$(PY313)
	$(MAKE) python-ft
	$(PY) bench/free_threading.py

bench-download: build-release ## a 100 MiB FileResponse, ours against FastAPI on uvicorn (prints a table)
	$(PY) bench/download.py

bench-websocket: build-release ## WebSocket echo messages/s, ours against FastAPI on uvicorn (prints a table)
	$(PY) bench/websocket.py

stress: build-release ## c=1000 on 4 routes for 60 s, 10,000 idle keep-alive connections, the connection limit (~6 min)
	$(PY) bench/stress.py

soak: build-release ## 1,000,000 requests across the demo's routes; RSS growth after warm-up must stay under 10%
	$(PY) bench/soak.py

corpus: build-release ## the 418 malformed requests against the real server; answers by status into bench/RESULTS.md
	TURBOAPI_CORPUS_SUMMARY=1 $(PY) -m pytest -q tests/reliability/test_malformed_corpus.py

FUZZ_CASES ?= 20000
FUZZ_EXAMPLES ?= 1000
fuzz: build-release ## the core's parsers with 20,000 random inputs each (proptest), forms and coercion vs FastAPI (hypothesis)
	$(PY) bench/fuzz.py --cases $(FUZZ_CASES) --examples $(FUZZ_EXAMPLES)

lint: build-release ## rustfmt --check, clippy -D warnings, ruff, mypy --strict, the _core.pyi stub, no cycle in src/
	cargo fmt --check
	PYO3_PYTHON=$(PYTHON) cargo clippy --quiet --all-targets -- -D warnings
	$(VENV)/bin/ruff check python tests bench examples
	$(VENV)/bin/ruff format --check --quiet python tests bench examples
	@# Every name, signature, default and property of turboapi._core as the stub declares it
	@# (no allowlist: where PyO3 cannot render a Rust default, its signature and the stub say `...`).
	$(PY) -m mypy.stubtest turboapi._core
	$(PY) -m mypy --strict python/turboapi/_core.pyi
	@# The whole package, typed at the strictness pyproject.toml's [tool.mypy] sets (and says why).
	$(PY) -m mypy
	@# The core's modules stay in layers: no import cycle in src/ (ARCHITECTURE.md).
	$(PY) scripts/module_graph.py rust > /dev/null || { $(PY) scripts/module_graph.py rust | grep CYCLE; exit 1; }

fmt: $(STAMP) ## format Rust and Python sources
	cargo fmt
	$(VENV)/bin/ruff format python tests bench examples

clean: ## remove build outputs (keeps target/ unless FULL=1)
	rm -rf $(VENV) python/turboapi/*.so
	if [ "$(FULL)" = 1 ]; then cargo clean; fi
