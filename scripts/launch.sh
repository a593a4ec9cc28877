#!/usr/bin/env bash
# Starts N ranks of a command on this machine, with the environment PyTorch's launchers set
# (WORLD_SIZE, RANK, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT): data-parallel
# training on one machine. Several machines: docs/distributed.md.
#
#   scripts/launch.sh 2 build/examples/train --data data/push.h5 --out runs/push
#
# MASTER_PORT (default 29500) and MASTER_ADDR (default 127.0.0.1) may be set beforehand. Exits with
# the first failing rank's status (0 when every rank succeeds).
set -uo pipefail

if [ $# -lt 2 ] || ! [[ "$1" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: scripts/launch.sh RANKS COMMAND [ARGS...]  (RANKS a positive integer)" >&2
  exit 2
fi
n=$1
shift
export WORLD_SIZE=$n LOCAL_WORLD_SIZE=$n
export MASTER_ADDR=${MASTER_ADDR:-127.0.0.1} MASTER_PORT=${MASTER_PORT:-29500}

pids=()
for ((r = 0; r < n; r++)); do
  RANK=$r LOCAL_RANK=$r "$@" &
  pids+=($!)
done
# Ctrl-C reaches every rank from the terminal (each stops after its step and rank 0 saves a
# checkpoint); a TERM sent to the launcher alone is passed on.
trap ':' INT
trap 'kill -TERM "${pids[@]}" 2>/dev/null' TERM

status=0
for p in "${pids[@]}"; do
  while :; do
    wait "$p"
    s=$?
    # wait returns early (status > 128) when a trapped signal arrives: wait again.
    if [ $s -gt 128 ] && kill -0 "$p" 2>/dev/null; then continue; fi
    break
  done
  if [ $s -ne 0 ] && [ $status -eq 0 ]; then status=$s; fi
done
exit $status
