#!/usr/bin/env bash
# Distributed synthesis on torchrun: each rank takes every N-th batch and writes its own
# shards; rank 0 merges them into annotations.json at the end.
#   bash tools/dist_synthesize.sh CONFIG NUM_PROCS --checkpoint ADAPTER --out DIR [...]
# Several nodes writing into one shared DIR: set NNODES, NODE_RANK, MASTER_ADDR, PORT;
# or run independent jobs and merge with tools/merge_shards.py DIR.
CONFIG=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
PYTHON=${PYTHON:-python}

PYTHONPATH="$(dirname "$0")/..":$PYTHONPATH \
$PYTHON -m torch.distributed.run \
    --nnodes=$NNODES --node_rank=$NODE_RANK --master_addr=$MASTER_ADDR \
    --nproc_per_node=$GPUS --master_port=$PORT \
    "$(dirname "$0")/synthesize.py" "$CONFIG" --launcher pytorch "${@:3}"
