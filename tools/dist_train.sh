#!/usr/bin/env bash
# Distributed training on torchrun: bash tools/dist_train.sh CONFIG NUM_PROCS [train.py args]
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR, PORT on every node (tools/dist_launch.sh).
exec bash "$(dirname "$0")/dist_launch.sh" train.py "$2" "$1" "${@:3}"
