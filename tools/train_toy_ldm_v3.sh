#!/usr/bin/env bash
# Train the toy LDM v3 (configs/toy_ldm/ldm-v3_toy_3000it_toy-shapes.py, then
# ldm-v3-prompt-variants_toy_1000it_toy-shapes.py) in resumable parts, grade it on val against
# the shipped model, and ship it only when it is better.
#   bash tools/train_toy_ldm_v3.sh            # run or continue; safe to interrupt any time
# * The resumable state lives outside the work tree: $DIFFDET_RUNS/<part's config name>
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
# part 1: v2 + 3000 it of today's recipe; part 2: + 1000 it with colourless / count-free
# caption variants (part 1 alone fell short of v2 on colourless recall)
CFG1=configs/toy_ldm/ldm-v3_toy_3000it_toy-shapes.py
CFG2=configs/toy_ldm/ldm-v3-prompt-variants_toy_1000it_toy-shapes.py
RUNS=${DIFFDET_RUNS:-$HOME/.cache/diffdet_plugin/runs}

train_part() {  # CFG START: run or continue one part in $RUNS/<config name>
  local cfg=$1 start=$2 state
  state=$RUNS/$(basename "$cfg" .py)
  mkdir -p "$state"
  if [ -f "$state/diffusers/.done" ]; then
    echo "[v3] $(basename "$cfg" .py) already trained"
  elif [ -f "$state/last_checkpoint" ]; then
    echo "[v3] $(date +%H:%M) resuming $state"
    $PY tools/train.py "$cfg" --work-dir "$state" --resume && touch "$state/diffusers/.done"
  else
    echo "[v3] $(date +%H:%M) no resumable state: $(basename "$cfg" .py) starts from $start"
    $PY tools/train.py "$cfg" --work-dir "$state" --cfg-options "model.ldm.pretrained=$start" \
      && touch "$state/diffusers/.done"
  fi
}
train_part "$CFG1" "${START:-embedded:toy}"
train_part "$CFG2" "$RUNS/$(basename "$CFG1" .py)/diffusers"
STATE=$RUNS/$(basename "$CFG2" .py)
$PY tools/benchmark.py fidelity --ldm "v3=$STATE/diffusers" --ldm shipped=embedded:toy \
  --split val --num-images 200 --ratios 0.3 0.6 --colourless --out-dir "$STATE/fidelity_val"
$PY tools/export_ldm.py "$STATE/diffusers" diffdet_plugin/assets/toy_ldm --dtype fp16 \
  --max-mb 25 --fidelity "$STATE/fidelity_val/fidelity.json"
