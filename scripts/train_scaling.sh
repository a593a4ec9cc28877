#!/usr/bin/env bash
# Training throughput at 1, 2 and 4 ranks on this machine (docs/distributed.md): the same config
# and global batch each time, threads per rank = cores / ranks (at least 1). Prints one row per
# run from its quality.json: samples/s, ms per step, bytes all-reduced and gathered per step and
# the time spent in collectives.
#
#   scripts/train_scaling.sh data/push.h5 [STEPS=100] [RANKS="1 2 4"] [OUT=/tmp/jepa_scaling]
set -euo pipefail
data=${1:?usage: scripts/train_scaling.sh DATA.h5 [STEPS] [RANKS] [OUT]}
steps=${2:-100}
ranks=${3:-1 2 4}
out=${4:-/tmp/jepa_scaling}
root=$(cd "$(dirname "$0")/.." && pwd)
train=$root/build/examples/train
[ -x "$train" ] || { echo "build first: scripts/build.sh" >&2; exit 1; }
cores=$(nproc)
mkdir -p "$out"
printf "%-6s %-8s %12s %12s %16s %18s\n" ranks threads samples/s "ms/step" "MB/step comm" "ms/step in comm"
for n in $ranks; do
  threads=$(( cores / n > 0 ? cores / n : 1 ))
  run=$out/ranks$n
  rm -rf "$run"
  MASTER_PORT=$((29500 + n)) "$root/scripts/launch.sh" "$n" "$train" --data "$data" --out "$run" \
    --steps "$steps" --checkpoint-every "$steps" --threads "$threads" >"$run.log" 2>&1 ||
    { echo "ranks $n failed: see $run.log" >&2; exit 1; }
  field() { sed -n "s/^ *\"$1\": \([-0-9.e+]*\),\?$/\1/p" "$2" | head -1; }
  sps=$(field samples_per_second "$run/quality.json")
  batch=$(field batch_size "$run/config.json")
  bytes=$(field communicated_bytes_per_step "$run/quality.json")
  comm=$(field communication_seconds_per_step "$run/quality.json")
  awk -v n="$n" -v t="$threads" -v sps="$sps" -v b="$batch" -v by="${bytes:-0}" -v c="${comm:-0}" \
    'BEGIN { printf "%-6s %-8s %12.1f %12.1f %16.2f %18.1f\n", n, t, sps, 1e3 * b / sps, by / 1e6, 1e3 * c }'
done
