#!/usr/bin/env bash
# P.A. Attr extraction on torchrun: image i goes to rank i % N, each rank writes its own
# resumable shard; rank 0 merges them into --out at the end.
#   bash tools/dist_extract_attributes.sh DETECTOR_CONFIG CHECKPOINT NUM_PROCS \
#       --ann-file ANN --img-dir DIR --out FILE [...]
CONFIG=$1
CHECKPOINT=$2
GPUS=$3
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
PYTHON=${PYTHON:-python}

PYTHONPATH="$(dirname "$0")/..":$PYTHONPATH \
$PYTHON -m torch.distributed.run \
    --nnodes=$NNODES --node_rank=$NODE_RANK --master_addr=$MASTER_ADDR \
    --nproc_per_node=$GPUS --master_port=$PORT \
    "$(dirname "$0")/extract_attributes.py" "$CONFIG" "$CHECKPOINT" --launcher pytorch "${@:4}"
