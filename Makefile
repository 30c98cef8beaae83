# The two commands of the README: `make repro` and `make test`.
# Both create .venv (if missing) and install the project into it first.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PROFILE ?= default
PYTEST_ARGS ?=

# Python writes the bytecode of every imported module once (into .venv and vcd/__pycache__,
# git-ignored) and reuses it in every later process: stages, kernels, test subprocesses.
# An environment that sets PYTHONDONTWRITEBYTECODE makes each of them recompile the ~4,800
# modules torch, diffusers, peft and transformers import (README, Performance: 14 s against 6 s).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: study-rerun setup repro pretrain rate test test-fast lint format lab sync-notebooks stage-deps constraints clean-venv benchmark check-official

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@# --no-compile: byte-compile only the modules that get imported, on first import (README, Performance)
	$(PY) -m pip install --quiet --no-compile -c constraints.txt -e ".[test]"
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (vcd)" >/dev/null
	@touch $(STAMP)

setup: $(STAMP)

# Run the DVC pipeline. PROFILE=paper first merges profiles/paper.yaml into params.yaml.
repro: setup
	@if [ "$(PROFILE)" != "default" ]; then $(PY) -m vcd.config apply-profile $(PROFILE); fi
	@# a hub model is referenced, not shipped: its base_model stage must run
	@if [ "$(PROFILE)" != "default" ]; then source $(VENV)/bin/activate && dvc unfreeze base_model; fi
	@# every setting checked before DVC puts any of them on a command line
	$(PY) -m vcd.preflight
	source $(VENV)/bin/activate && dvc repro

# Retrain the shipped toy base model from scratch (the frozen base_model stage; README,
# 'The base model'), then freeze it again; commit models/base, dvc.lock and the results.
# --force: on an unchanged checkout DVC would find the stage up to date and train nothing;
# --single-item: only this stage, not data_split before it.
pretrain: setup
	source $(VENV)/bin/activate && dvc unfreeze base_model && \
	  { dvc repro --force --single-item base_model; status=$$?; dvc freeze base_model; exit $$status; }

# The linter first (seconds), then the test suite.
test: lint
	$(PY) -m pytest $(PYTEST_ARGS)

# Unit tests only (skips the end-to-end `dvc repro` smoke test).
test-fast: lint
	$(PY) -m pytest -m "not pipeline" $(PYTEST_ARGS)

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

# Apply the linter's fixes and the formatter (then review the diff).
format: setup
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

lab: setup
	source $(VENV)/bin/activate && jupyter lab notebooks/

# Regenerate the .ipynb files from their reviewed jupytext .py twins.
sync-notebooks: setup
	source $(VENV)/bin/activate && jupytext --sync notebooks/*.py

# Regenerate the package dependencies of dvc.yaml's stages from the import graph.
stage-deps: setup
	$(PY) -m vcd.pipeline deps --write

# The official VBench-I2V path, checked on the CPU with VBench's released code (its own
# venv, .envs/vbench-cpu, ~7 GB, ~3 min to build): its loaders select each dimension's
# prompt subset with the right image, and its temporal_flickering of the pipeline's
# videos equals the project's. Needs the default pipeline's videos (`make repro`).
check-official: setup
	bash scripts/official/setup_envs.sh vbench-cpu
	VBENCH_PYTHON=.envs/vbench-cpu/bin/python $(PY) -m pytest -m official tests/test_official_vbench.py
	$(PY) -m vcd.official prepare
	.envs/vbench-cpu/bin/python scripts/official/run_vbench.py --pairs
	.envs/vbench-cpu/bin/python scripts/official/run_vbench.py --device cpu --dimensions temporal_flickering
	$(PY) -m vcd.official check --record benchmarks/results/official_cpu_check.json

# Rerun the whole study with another study seed (vcd/study.py): a fresh clone of HEAD,
# every seed of the study shifted by STUDY_SEED x 1000, `make repro` there (about as long
# as here), its claims kept in data/study_reruns/study-seed-<k>/. Then `make repro` (the
# report stage) sets the two studies' verdicts side by side; commit data/study_reruns.
STUDY_SEED ?= 1
study-rerun: setup
	$(PY) -m vcd.study rerun --study-seed $(STUDY_SEED)

benchmark: setup
	$(PY) benchmarks/bench_vcd.py

constraints: setup
	{ head -3 constraints.txt; $(PY) -m pip freeze --exclude-editable | sed 's/^torch==\(.*\)+cpu$$/torch==\1/'; } > constraints.new && mv constraints.new constraints.txt

clean-venv:
	rm -rf $(VENV)

# The human study's rating app (README, 'The human evaluation study'): brings the study's
# videos and design up to date (a no-op after `make repro`; on a fresh clone it runs the
# pipeline up to human_study), then prints the organiser's and every rater's link.
# HOST=0.0.0.0 serves the local network.
HOST ?= 127.0.0.1
PORT ?= 8765
rate: setup
	source $(VENV)/bin/activate && dvc repro human_study
	$(PY) -m vcd.rating_app serve --host $(HOST) --port $(PORT)
