#!/usr/bin/env bash
# The toy LDM v3 convergence study (issue #21): every arm of configs/toy_ldm/study continues
# the v2 LDM for the same short budget, then `tools/benchmark.py fidelity` grades it on val
# (coloured and colourless captions, per-class recall, img2img at r = 0.3 / 0.6).
#   bash tools/toy_ldm_study.sh [ARM ...]      # default: every config in configs/toy_ldm/study
# Resumable: a finished arm (its diffusers folder at the last iteration) is not retrained, a
# graded arm not regraded; an interrupted training resumes from its last checkpoint.
# Needs the toy data with the LDM split: python tools/make_toy_data.py --num-ldm 20000.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
OUT=${OUT:-work_dirs/toy_ldm_study}
V2=work_dirs/ldm_toy_6000it_toy-shapes/diffusers
if [ ! -f "$V2/model_index.json" ]; then
  echo "no v2 stage-2 output at $V2: run make toy-ldm, or copy the shipped v2 there" >&2
  exit 2
fi
arms=("$@")
if [ ${#arms[@]} -eq 0 ]; then
  arms=($(ls configs/toy_ldm/study/*.py | xargs -n1 basename | sed 's/\.py$//'))
fi
mkdir -p "$OUT"
if [ ! -f work_dirs/ldm_toy-l2211_start/model_index.json ]; then  # the deeper arm's start
  $PY tools/export_ldm.py "$V2" work_dirs/ldm_toy-l2211_start --dtype fp32 \
    --layers-per-block 2 2 1 1
fi
if [ ! -f "$OUT/fidelity_v2/fidelity.json" ]; then
  $PY tools/benchmark.py fidelity --ldm "v2=$V2" --split val --num-images 200 --ratios 0.3 0.6 \
    --colourless --out-dir "$OUT/fidelity_v2" > "$OUT/fidelity_v2.log" 2>&1
fi
for arm in "${arms[@]}"; do
  wd="$OUT/$arm"
  if [ ! -f "$wd/done" ]; then
    echo "[study] $(date +%H:%M) training $arm"
    $PY tools/train.py "configs/toy_ldm/study/$arm.py" --work-dir "$wd" --resume \
      > "$OUT/$arm.train.log" 2>&1
    touch "$wd/done"
  fi
  if [ ! -f "$OUT/fidelity_$arm/fidelity.json" ]; then
    echo "[study] $(date +%H:%M) grading $arm"
    $PY tools/benchmark.py fidelity --ldm "$arm=$wd/diffusers" --split val --num-images 200 \
      --ratios 0.3 0.6 --colourless --out-dir "$OUT/fidelity_$arm" > "$OUT/fidelity_$arm.log" 2>&1
  fi
done
echo "[study] $(date +%H:%M) done"
