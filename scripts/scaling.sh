#!/usr/bin/env bash
# How training-step and control-step time grow with the work: image size, keypoints, predictor
# width, horizon and samples, one Markdown table each (build/benchmarks/jepa_mpc_profile; reach2d
# defaults otherwise, untrained weights, 2 threads). About 10 minutes on 2 cores.
#   scripts/scaling.sh [ROBOT]
set -euo pipefail
robot=${1:-reacher2d}
root="$(cd "$(dirname "$0")/.." && pwd)"
profile="$root/build/benchmarks/jepa_mpc_profile"
[ -x "$profile" ] || { echo "scaling.sh: build first ($profile is missing)" >&2; exit 1; }
train_row() {  # label, profile options...
  local label=$1; shift
  "$profile" --robot "$robot" --what train --reps 10 --top 1 "$@" | awk -v l="$label" '/ms per step/ {
    gsub(/,|;/, ""); printf "| %s | %s | %s | %s | %s |\n", l, $1, $5, $7, $17 }'
}
control_row() {
  local label=$1; shift
  "$profile" --robot "$robot" --what control --reps 30 --top 1 "$@" | awk -v l="$label" '/ms per step/ {
    gsub(/;/, ""); printf "| %s | %s | %s |\n", l, $1, $6 }'
}
echo "Training step ($robot, batch 32 x 4 frames):"
echo
echo "| setting | ms per step | samples/s | GFLOP per step | share of the ceiling |"
echo "|---|---|---|---|---|"
for s in 64 96 128; do train_row "image ${s}x${s}" --image-size "$s"; done
for k in 4 8 16; do train_row "keypoints $k" --keypoints "$k"; done
for h in 128 256 512; do train_row "predictor width $h" --hidden "$h"; done
echo
echo "Control step ($robot, CEM; default 64 samples x 2 iterations, horizon 8):"
echo
echo "| setting | ms per step | predictor GFLOP/s |"
echo "|---|---|---|"
for s in 64 96 128; do control_row "image ${s}x${s}" --image-size "$s"; done
for k in 4 8 16; do control_row "keypoints $k" --keypoints "$k"; done
for h in 128 256 512; do control_row "predictor width $h" --hidden "$h"; done
for H in 4 8 16; do control_row "horizon $H" --horizon "$H"; done
for n in 64 256 1024; do control_row "samples $n" --samples "$n"; done
