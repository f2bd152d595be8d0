#!/usr/bin/env bash
# P.A. Attr extraction on torchrun: image i goes to rank i % N, each rank writes its own
# resumable shard; rank 0 merges them into --out at the end.
#   bash tools/dist_extract_attributes.sh DETECTOR_CONFIG CHECKPOINT NUM_PROCS \
#       --ann-file ANN --img-dir DIR --out FILE [...]
exec bash "$(dirname "$0")/dist_launch.sh" extract_attributes.py "$3" "$1" "$2" "${@:4}"
