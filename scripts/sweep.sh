#!/usr/bin/env bash
# Success and planning time against CEM samples and iterations, learned model only, on the same
# goals. Prints a Markdown table; each run's files stay in OUT/s<samples>_i<iterations>.
#   scripts/sweep.sh CHECKPOINT [EPISODES] [OUT] [GOAL_SEED]
#   SAMPLES="32 64" ITERATIONS="1 2" scripts/sweep.sh ...    # other sizes (default 64 256 1024 x 1 2 4)
# Choose on one goal seed, then check the choice on another (docs/performance.md).
set -euo pipefail
ck=${1:?usage: scripts/sweep.sh CHECKPOINT [EPISODES] [OUT] [GOAL_SEED]}
episodes=${2:-50}
out=${3:-out/sweep}
seed=${4:-0}
root="$(cd "$(dirname "$0")/.." && pwd)"
echo "| samples | iterations | success | mean final distance (cm) | plan ms median | p95 |"
echo "|---|---|---|---|---|---|"
for samples in ${SAMPLES:-64 256 1024}; do
  for iterations in ${ITERATIONS:-1 2 4}; do
    dir="$out/s${samples}_i${iterations}"
    "$root/build/examples/evaluate" --checkpoint "$ck" --methods learned --episodes "$episodes" --seed "$seed" \
      --samples "$samples" --iterations "$iterations" --time-budget 0 --videos 0 --out "$dir" > /dev/null 2>&1
    awk -F, -v s="$samples" -v i="$iterations" 'NR == 2 {
      printf "| %s | %s | %.0f%% | %.2f | %.1f | %.1f |\n", s, i, 100 * $3, 100 * $5, $7, $8 }' "$dir/results.csv"
  done
done
