#!/usr/bin/env bash
# Distributed testing on torchrun: bash tools/dist_test.sh CONFIG CHECKPOINT NUM_PROCS [test.py args]
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR, PORT on every node (tools/dist_launch.sh).
exec bash "$(dirname "$0")/dist_launch.sh" test.py "$3" "$1" "$2" "${@:4}"
