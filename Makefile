# diffdet_plugin: two commands on a fresh machine.
#   make test   install what is missing into .venv, then run the tests
#   make lint   ruff + isort (mmdet's linters; CI runs it before the tests)
#   make demo   install what is missing, then run the main job on the embedded default
#   make toy-ldm  retrain the embedded toy LDM from scratch (the recipe behind
#                 diffdet_plugin/assets/toy_ldm; docs/toy_ldm.md)
#   make judge    retrain the judge detector shipped in diffdet_plugin/assets/judge
#   make adapter  retrain the toy Detection-Adapter shipped in diffdet_plugin/assets/adapter
#                 (the one make demo loads; retrain it after make toy-ldm)
# Both are idempotent: with everything installed they go straight to the work.
#
# Variables:
#   TORCH_SPEC   torch requirement installed first (default torch==2.13.0, CPU on this kind of
#                machine; a GPU user sets e.g. TORCH_SPEC='torch==2.4.1').
#   PYTHON       the interpreter that creates .venv (default python3).
#   VENV         the virtual environment folder (default .venv).
#   PYTEST_ARGS  extra pytest arguments.
#   PYTEST_WORKERS  test processes (pytest-xdist; default: one per core, at most 4; 0 runs the
#                suite in this process, e.g. to use pdb). conftest.py gives each worker its
#                share of the cores' threads.
# A prebuilt mmcv 2.1.0 wheel is taken through PIP_FIND_LINKS when one matches torch/Python
# (../shared/wheels/cpu-torch2.13.0-py311 is added when it exists); otherwise mmcv is built
# from source with its C++ ops (about 7 minutes on 2 cores).

PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
PYTEST_ARGS ?=
PYTEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); [ $$n -gt 4 ] && n=4; echo $$n)
SHARED_WHEELS := $(abspath ../shared/wheels/cpu-torch2.13.0-py311)
export PIP_FIND_LINKS := $(strip $(PIP_FIND_LINKS) $(if $(wildcard $(SHARED_WHEELS)/*.whl),$(SHARED_WHEELS)))
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export MMCV_WITH_OPS := 1
export MAX_JOBS ?= $(shell nproc 2>/dev/null || echo 2)

PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.diffdet_installed

.PHONY: install test lint demo toy-ldm judge adapter clean-venv

TOY_DATA := data/toy_shapes
TOY_LDM := diffdet_plugin/assets/toy_ldm
VAE_CFG := vae_toy_2500it_toy-shapes
LDM_CFG := ldm_toy_6000it_toy-shapes

install: $(STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(PY) setup.py requirements/build.txt requirements/runtime.txt requirements/tests.txt
	$(PIP) install -q "$(TORCH_SPEC)" -r requirements/build.txt
	$(PIP) install -q --no-build-isolation "mmcv==2.1.0"
	$(PIP) install -q --no-build-isolation -r requirements/runtime.txt -r requirements/tests.txt
	$(PIP) install -q --no-build-isolation --no-deps -e .
	$(PY) -c "import mmcv.ops, mmdet, diffusers, transformers, diffdet_plugin; print('diffdet_plugin', diffdet_plugin.__version__, 'installed in $(VENV)')"
	touch $(STAMP)

test: install
	$(PY) -m pytest -q tests -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

demo: install
	$(PY) tools/demo.py

# ruff (pycodestyle + pyflakes) and isort with mmdet's settings (ruff.toml, setup.cfg)
lint: install
	$(PIP) install -q -r requirements/lint.txt
	$(VENV)/bin/ruff check .
	$(VENV)/bin/isort --check-only --diff .

$(TOY_DATA)/annotations/instances_train.json: | install
	$(PY) tools/make_toy_data.py --out $(TOY_DATA) --num-train 4000 --num-val 200 --num-test 500 --seed 0

# The judge detector (FCOS R18-half on 100 % toy train, about 7 min on 2 CPU cores), exported
# into the package (diffdet_plugin/assets/judge) with its cache key.
JUDGE_CFG := fcos_r18-half_fpn_3000it_toy-shapes
judge: install $(TOY_DATA)/annotations/instances_train.json
	$(PY) tools/train.py configs/judge/$(JUDGE_CFG).py
	$(PY) tools/export_judge.py configs/judge/$(JUDGE_CFG).py \
		--checkpoint work_dirs/$(JUDGE_CFG)/iter_3000.pth

# The toy Detection-Adapter (FCOS neck + head on the frozen embedded toy LDM, 100 % of toy
# train, 4500 iterations: about 30 min on 2 CPU cores), evaluated on the test split and
# exported into the package with its cache key and the LDM it was trained on.
ADAPTER_CFG := de_adapter_fcos_fpn_4500it_toy-shapes
adapter: install $(TOY_DATA)/annotations/instances_train.json
	$(PY) tools/train.py configs/diffusion_engine/$(ADAPTER_CFG).py --resume
	$(PY) tools/export_adapter.py configs/diffusion_engine/$(ADAPTER_CFG).py \
		--checkpoint work_dirs/$(ADAPTER_CFG)/iter_4500.pth

# Stage 1 (VAE), stage 1b (decoder fine-tuning on the fixed encoder), stage 2 (UNet + text
# encoder), an fp16 export into the package (stage 2's model with stage 1b's decoder), stage 3
# (v3: stage 2 continued in two parts, graded on val, exported only if better on every measure)
# and the model card's sample grid. Times on 2 CPU cores: docs/toy_ldm.md.
DEC_CFG := vae-decoder_toy_2500it_toy-shapes
toy-ldm: install $(TOY_DATA)/annotations/instances_train.json
	$(PY) tools/train.py configs/toy_ldm/$(VAE_CFG).py
	$(PY) tools/train.py configs/toy_ldm/$(DEC_CFG).py
	$(PY) tools/train.py configs/toy_ldm/$(LDM_CFG).py
	$(PY) tools/export_ldm.py work_dirs/$(LDM_CFG)/diffusers $(TOY_LDM) --dtype fp16 --max-mb 25 \
		--vae-decoder work_dirs/$(DEC_CFG)/diffusers
	DIFFDET_RUNS=work_dirs/toy_ldm_v3 PY=$(PY) bash tools/train_toy_ldm_v3.sh
	$(PY) tools/sample_ldm.py embedded:toy --out docs/toy_ldm_samples.png --num 16 \
		--captions $(TOY_DATA)/annotations/captions_test.json

clean-venv:
	rm -rf $(VENV)
