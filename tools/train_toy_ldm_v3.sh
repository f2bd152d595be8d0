#!/usr/bin/env bash
# Train the toy LDM v3 (configs/toy_ldm/ldm-v3_toy_3000it_toy-shapes.py) in resumable parts,
# grade it on val against the shipped model, and ship it only when it is better.
#   bash tools/train_toy_ldm_v3.sh            # run or continue; safe to interrupt any time
# * The resumable state lives outside the work tree: $DIFFDET_RUNS/ldm-v3_toy_3000it_toy-shapes
#   (default ~/.cache/diffdet_plugin/runs), so a later session on the same machine continues it
#   (mmengine --resume, checkpoints every 500 iterations).
# * When that state is gone, training starts again from the last exported weights: the shipped
#   embedded:toy (START=... to choose another), with the config's 100-iteration warm-up, so no
#   shipped part is lost.
# * After training: tools/benchmark.py fidelity on val (new vs shipped, colourless captions and
#   per-class recall), then tools/export_ldm.py, which refuses a model worse on any measure.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
CFG=configs/toy_ldm/ldm-v3_toy_3000it_toy-shapes.py
NAME=$(basename "$CFG" .py)
STATE=${DIFFDET_RUNS:-$HOME/.cache/diffdet_plugin/runs}/$NAME
mkdir -p "$STATE"
if [ -f "$STATE/last_checkpoint" ]; then
  echo "[v3] $(date +%H:%M) resuming $STATE"
  $PY tools/train.py "$CFG" --work-dir "$STATE" --resume
else
  START=${START:-embedded:toy}
  echo "[v3] $(date +%H:%M) no resumable state: starting from $START"
  $PY tools/train.py "$CFG" --work-dir "$STATE" --cfg-options "model.ldm.pretrained=$START"
fi
$PY tools/benchmark.py fidelity --ldm "v3=$STATE/diffusers" --ldm shipped=embedded:toy \
  --split val --num-images 200 --ratios 0.3 0.6 --colourless --out-dir "$STATE/fidelity_val"
$PY tools/export_ldm.py "$STATE/diffusers" diffdet_plugin/assets/toy_ldm --dtype fp16 \
  --max-mb 25 --fidelity "$STATE/fidelity_val/fidelity.json"
