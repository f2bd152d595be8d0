#!/usr/bin/env bash
# Distributed synthesis on torchrun: each rank takes every N-th batch and writes its own
# shards; rank 0 merges them into annotations.json at the end.
#   bash tools/dist_synthesize.sh CONFIG NUM_PROCS --checkpoint ADAPTER --out DIR [...]
# Several nodes writing into one shared DIR: set NNODES, NODE_RANK, MASTER_ADDR, PORT
# (tools/dist_launch.sh); or run independent jobs and merge with tools/merge_shards.py DIR.
exec bash "$(dirname "$0")/dist_launch.sh" synthesize.py "$2" "$1" "${@:3}"
