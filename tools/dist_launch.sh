#!/usr/bin/env bash
# The one torchrun launch behind tools/dist_*.sh:
#   bash tools/dist_launch.sh TOOL.py NUM_PROCS [TOOL ARGS...]
# runs tools/TOOL.py on NUM_PROCS processes with --launcher pytorch.
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR, PORT on every node.
TOOL=$1
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
    "$(dirname "$0")/$TOOL" "${@:3}" --launcher pytorch
