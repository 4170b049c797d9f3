# turboapi: every target sets itself up from a fresh clone (venv, release build of the extension).
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.deps-stamp
EXT_STAMP := $(VENV)/.ext-stamp
PYLIBDIR := $(shell $(PYTHON) -c 'import sysconfig; print(sysconfig.get_config_var("LIBDIR"))')
RUST_SOURCES := $(shell find src -name '*.rs') Cargo.toml Cargo.lock
DOCS_ASSETS := python/turboapi/openapi/static/VERSION
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: help venv build-release run test test-rust test-python bench bench-download bench-websocket stress soak fuzz corpus lint fmt clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "maturin>=1.5,<2" "pydantic>=2.7,<3" "orjson>=3.9" "uvloop>=0.19" \
		"pytest>=8" "pytest-timeout>=2" "httpx>=0.27" "fastapi==0.141.1" "uvicorn[standard]>=0.30" "ruff>=0.6" \
		"selenium>=4.20" "jinja2>=3.1" "hypothesis>=6.100"
	touch $@

venv: $(STAMP) ## create .venv with the runtime and dev dependencies

$(EXT_STAMP): $(STAMP) $(RUST_SOURCES)
	VIRTUAL_ENV=$(abspath $(VENV)) PATH=$(abspath $(VENV))/bin:$$PATH maturin develop --release -q
	touch $@

# Swagger UI and ReDoc files for /docs and /redoc, from a pinned registry package (no CDN at run time).
$(DOCS_ASSETS): scripts/fetch_docs_assets.py $(STAMP)
	$(PY) scripts/fetch_docs_assets.py

build-release: $(EXT_STAMP) $(DOCS_ASSETS) ## build the Rust extension in release mode into .venv

run: build-release ## start examples/demo.py on $(HOST):$(PORT)
	$(PY) examples/demo.py --host $(HOST) --port $(PORT)

test-rust: ## cargo test (unit tests of the Rust core)
	LD_LIBRARY_PATH=$(PYLIBDIR) PYO3_PYTHON=$(PYTHON) cargo test --quiet

test-python: build-release ## pytest against the real server and the TestClient
	$(PY) -m pytest -q

test: build-release test-rust test-python ## build, then cargo test and pytest

bench: build-release ## load benchmark against FastAPI on uvicorn (needs wrk; writes bench/RESULTS.md)
	$(PY) bench/run.py

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

lint: $(STAMP) ## rustfmt --check, clippy -D warnings, ruff
	cargo fmt --check
	PYO3_PYTHON=$(PYTHON) cargo clippy --quiet --all-targets -- -D warnings
	$(VENV)/bin/ruff check python tests bench examples

fmt: $(STAMP) ## format Rust and Python sources
	cargo fmt
	$(VENV)/bin/ruff format python tests bench examples

clean: ## remove build outputs (keeps target/ unless FULL=1)
	rm -rf $(VENV) python/turboapi/*.so
	if [ "$(FULL)" = 1 ]; then cargo clean; fi
